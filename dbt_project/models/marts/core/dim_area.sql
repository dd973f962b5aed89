-- One row per area at every level of the geography (int_areas), with its resident population:
-- the municipality's own estimates for neighbourhoods, summed over the neighbourhoods of a
-- community, municipal unit or municipality.
with

areas as (

    select * from {{ ref('int_areas') }}

),

neighbourhood_areas as (

    select * from {{ ref('int_neighbourhood_areas') }}
    where not is_unassigned

),

neighbourhoods as (

    select * from {{ ref('stg_municipality__neighbourhoods') }}

),

area_population as (

    select
        {{ municipality_of_area('neighbourhood_areas') }} as municipality_code,
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id,
        count(*) as neighbourhoods_count,
        sum(neighbourhoods.population_2011) as population_2011,
        sum(neighbourhoods.population_2021) as population_2021
    from neighbourhood_areas
    inner join neighbourhoods
        on
            neighbourhood_areas.neighbourhood_id = neighbourhoods.neighbourhood_id
            and neighbourhood_areas.municipality_code = neighbourhoods.municipality_code
    group by
        {{ municipality_of_area('neighbourhood_areas') }},
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id

),

final as (

    select
        areas.area_level,
        areas.area_level_order,
        areas.area_id,
        areas.area_name_el,
        areas.area_name_en,
        areas.parent_area_id,
        areas.municipality_code,
        areas.municipal_unit_code,
        areas.community_code,
        areas.neighbourhood_id,
        areas.is_illustrative,
        coalesce(area_population.neighbourhoods_count, 0) as neighbourhoods_count,
        area_population.population_2011,
        area_population.population_2021
    from areas
    left join area_population
        on
            areas.area_level = area_population.area_level
            and areas.area_id = area_population.area_id

)

select * from final
