-- Denominators: residents of every area (all levels) by population group, and private
-- households. One snapshot per municipality (the reference population it supplied), used for
-- every period: the source and date of each denominator are described in the catalogue.
-- Groups: total, age_0_17 (bands 0-4 to 10-14, plus 3/5 of the 15-19 band, as only five-year
-- bands exist), age_0_4, age_15_64, age_65_plus, and households.
with

population as (

    select * from {{ ref('stg_municipality__population') }}

),

households as (

    select * from {{ ref('stg_municipality__households') }}

),

bands as (

    select * from {{ ref('esp2013') }}

),

neighbourhood_areas as (

    select * from {{ ref('int_neighbourhood_areas') }}

),

by_band as (

    select
        population.neighbourhood_id,
        bands.age_from,
        sum(population.residents) as residents
    from population
    inner join bands
        on population.age_band = bands.age_band
    group by population.neighbourhood_id, bands.age_from

),

neighbourhood_groups as (

    select
        neighbourhood_id,
        cast(sum(residents) as {{ stats_double_type() }}) as total,
        cast(sum(case when age_from < 15 then residents else 0 end)
            + 0.6 * sum(case when age_from = 15 then residents else 0 end)
            as {{ stats_double_type() }}) as age_0_17,
        cast(sum(case when age_from = 0 then residents else 0 end)
            as {{ stats_double_type() }}) as age_0_4,
        cast(sum(case when age_from between 15 and 60 then residents else 0 end)
            as {{ stats_double_type() }}) as age_15_64,
        cast(sum(case when age_from >= 65 then residents else 0 end)
            as {{ stats_double_type() }}) as age_65_plus
    from by_band
    group by neighbourhood_id

),

neighbourhood_long as (

    {%- for group in ['total', 'age_0_17', 'age_0_4', 'age_15_64', 'age_65_plus'] %}
    select
        neighbourhood_id,
        cast('{{ group }}' as {{ dbt.type_string() }}) as population_group,
        {{ group }} as population
    from neighbourhood_groups
    union all
    {%- endfor %}
    select
        neighbourhood_id,
        cast('households' as {{ dbt.type_string() }}) as population_group,
        cast(households as {{ stats_double_type() }}) as population
    from households

),

rolled_up as (

    select
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id,
        {{ municipality_of_area('neighbourhood_areas') }} as municipality_code,
        neighbourhood_long.population_group,
        sum(neighbourhood_long.population) as population
    from neighbourhood_long
    inner join neighbourhood_areas
        on neighbourhood_long.neighbourhood_id = neighbourhood_areas.neighbourhood_id
    group by
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id,
        {{ municipality_of_area('neighbourhood_areas') }},
        neighbourhood_long.population_group

)

select * from rolled_up
