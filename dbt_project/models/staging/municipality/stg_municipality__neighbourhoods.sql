-- One row per neighbourhood of a municipality, as the municipality supplied it once
-- (reference/neighbourhoods.csv and .geojson).
with

source as (

    select * from {{ source('municipality', 'neighbourhoods') }}

),

renamed as (

    select
        -- ids
        neighbourhood_id,
        municipality_code,
        municipal_unit_code,
        community_code,

        -- names
        neighbourhood_name_el,
        neighbourhood_name_en,
        municipal_unit_name_el,
        community_name_el,

        -- population
        population_2011,
        population_2021,
        population_2011_source,
        population_2021_source,

        -- geometry (WGS84)
        cast(centroid_lon as {{ dbt.type_float() }}) as centroid_lon,
        cast(centroid_lat as {{ dbt.type_float() }}) as centroid_lat,
        geometry_geojson,

        -- flags
        is_illustrative

    from source

)

select * from renamed
