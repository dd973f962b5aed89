-- Resident population of each neighbourhood by sex and 5-year age band (19 bands, the bands of
-- the European Standard Population 2013), as the municipality supplied it.
with

source as (

    select * from {{ source('municipality', 'population') }}

),

renamed as (

    select
        -- ids
        municipality_code,
        neighbourhood_id,

        -- strata
        sex,
        age_band,

        -- count
        population as residents

    from source

)

select * from renamed
