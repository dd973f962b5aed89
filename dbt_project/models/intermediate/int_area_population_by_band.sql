-- Residents of every area (all levels) by five-year age band of the 2013 European Standard
-- Population, with the band's standard weight: the strata of directly age-standardised rates.
with

population as (

    select * from {{ ref('stg_municipality__population') }}

),

bands as (

    select * from {{ ref('esp2013') }}

),

neighbourhood_areas as (

    select * from {{ ref('int_neighbourhood_areas') }}

),

rolled_up as (

    select
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id,
        {{ municipality_of_area('neighbourhood_areas') }} as municipality_code,
        bands.age_band,
        bands.age_from,
        bands.age_to,
        bands.esp_weight,
        sum(population.residents) as residents
    from population
    inner join bands
        on population.age_band = bands.age_band
    inner join neighbourhood_areas
        on population.neighbourhood_id = neighbourhood_areas.neighbourhood_id
    group by
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id,
        {{ municipality_of_area('neighbourhood_areas') }},
        bands.age_band,
        bands.age_from,
        bands.age_to,
        bands.esp_weight

)

select * from rolled_up
