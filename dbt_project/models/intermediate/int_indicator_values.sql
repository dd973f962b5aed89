-- Every indicator of the catalogue for every area of its area levels and every period, before
-- disclosure control: numerator, denominator, value, 95% and 99.8% intervals by the indicator's
-- method, and the comparison with the municipality's value (for areas inside a municipality;
-- a municipality is compared with the national level in the mart). Internal: the published
-- mart indicator_values applies disclosure control to this. Areas and periods with nothing
-- counted have a numerator of 0. Built by municipality (incremental); the national rows
-- (municipality_code null) are recomputed on every run from the municipality totals.
{{ config(**municipality_partitioned()) }}
{%- set levels = ['0.95', '0.998'] %}

with

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

areas as (

    select * from {{ ref('int_areas') }}
    where {{ in_municipality_partitions('municipality_code', national=true) }}

),

periods as (

    select
        municipality_code,
        period_type,
        period_start,
        period_end
    from {{ ref('int_periods') }}
    where {{ in_municipality_partitions('municipality_code') }}
    union all
    select
        cast(null as {{ dbt.type_string() }}) as municipality_code,
        period_type,
        period_start,
        period_end
    from {{ ref('int_periods_national') }}

),

counts as (

    select * from {{ ref('int_indicator_counts') }}
    where {{ in_municipality_partitions('municipality_code') }}
    union all
    select * from {{ ref('int_indicator_counts_national') }}

),

population as (

    select * from {{ ref('int_area_population') }}

),

population_by_band as (

    select * from {{ ref('int_area_population_by_band') }}
    where age_from >= 65

),

neighbourhood_areas as (

    select * from {{ ref('int_neighbourhood_areas') }}

),

hh_active as (

    -- every municipality's clients: the national level's strata need them all
    select * from {{ ref('int_person_period_activity') }}
    where structure = 'home_help' and age_at_period_end >= 65

),

scaffold as (

    select
        catalogue.indicator_id,
        catalogue.method as catalogue_method,
        catalogue.multiplier,
        catalogue.denominator_population,
        areas.area_level,
        areas.area_id,
        areas.municipality_code,
        periods.period_type,
        periods.period_start,
        periods.period_end
    from catalogue
    inner join areas
        on {{ dbt.position(dbt.concat(["';'", 'areas.area_level', "';'"]),
                           dbt.concat(["';'", 'catalogue.area_levels', "';'"])) }} > 0
    inner join periods
        on
            coalesce(areas.municipality_code, '{{ national_area_id() }}')
            = coalesce(periods.municipality_code, '{{ national_area_id() }}')

),

-- directly age-standardised rate: clients 65+ by ESP band of their age at the period end
hh_clients_by_band as (

    select
        neighbourhood_areas.area_level,
        neighbourhood_areas.area_id,
        hh_active.period_type,
        hh_active.period_start,
        case
            when hh_active.age_at_period_end >= 90 then 90
            else hh_active.age_at_period_end - mod(hh_active.age_at_period_end, 5)
        end as age_from,
        count(*) as clients
    from hh_active
    inner join neighbourhood_areas
        on {{ area_lookup_key('hh_active.neighbourhood_id', 'hh_active.municipality_code') }}
            = neighbourhood_areas.neighbourhood_id
    where
        neighbourhood_areas.area_level = 'national'
        or {{ in_municipality_partitions('hh_active.municipality_code') }}
    group by 1, 2, 3, 4, 5

),

dsr_strata as (

    select
        scaffold.area_level,
        scaffold.area_id,
        scaffold.period_type,
        scaffold.period_start,
        population_by_band.age_from,
        population_by_band.esp_weight,
        population_by_band.residents,
        coalesce(hh_clients_by_band.clients, 0) as clients
    from scaffold
    inner join population_by_band
        on
            scaffold.area_level = population_by_band.area_level
            and scaffold.area_id = population_by_band.area_id
    left join hh_clients_by_band
        on
            scaffold.area_level = hh_clients_by_band.area_level
            and scaffold.area_id = hh_clients_by_band.area_id
            and scaffold.period_type = hh_clients_by_band.period_type
            and scaffold.period_start = hh_clients_by_band.period_start
            and population_by_band.age_from = hh_clients_by_band.age_from
    where scaffold.indicator_id = 'hh_clients_per_1000_aged_65_plus_dsr'

),

dsr as (

    select
        area_level,
        area_id,
        period_type,
        period_start,
        sum(clients) as total_count,
        sum(residents) as residents,
        {{ dsr_rate('clients', 'residents', 'esp_weight', 1000) }} as dsr_value,
        {{ dsr_variance('clients', 'residents', 'esp_weight', 1000) }} as dsr_var
    from dsr_strata
    group by area_level, area_id, period_type, period_start

),

joined as (

    select
        scaffold.*,
        coalesce(counts.numerator, case when scaffold.catalogue_method = 'median' then null else 0 end)
            as numerator_raw,
        case
            when scaffold.denominator_population in ('beneficiaries', 'requests', 'referrals', 'rows')
                then coalesce(counts.denominator_count, 0)
            when scaffold.denominator_population = 'none' then null
            when scaffold.catalogue_method = 'dsr_dobson' then dsr.residents
            else population.population
        end as denominator,
        scaffold.denominator_population in ('beneficiaries', 'requests', 'referrals', 'rows')
            as is_counted_denominator,
        counts.value_direct,
        dsr.total_count as dsr_total_count,
        dsr.dsr_value,
        dsr.dsr_var
    from scaffold
    left join counts
        on
            scaffold.indicator_id = counts.indicator_id
            and scaffold.area_level = counts.area_level
            and scaffold.area_id = counts.area_id
            and scaffold.period_type = counts.period_type
            and scaffold.period_start = counts.period_start
    left join population
        on
            scaffold.area_level = population.area_level
            and scaffold.area_id = population.area_id
            and scaffold.denominator_population = population.population_group
    left join dsr
        on
            scaffold.catalogue_method = 'dsr_dobson'
            and scaffold.area_level = dsr.area_level
            and scaffold.area_id = dsr.area_id
            and scaffold.period_type = dsr.period_type
            and scaffold.period_start = dsr.period_start

),

computed as (

    select
        indicator_id,
        area_level,
        area_id,
        municipality_code,
        period_type,
        period_start,
        period_end,
        case when catalogue_method = 'dsr_dobson' then dsr_total_count else numerator_raw end
            as numerator,
        denominator,
        is_counted_denominator,
        case
            when catalogue_method = 'rate_byar' and numerator_raw >= 10 then 'rate_byar'
            when catalogue_method = 'rate_byar' then 'rate_exact_poisson'
            else catalogue_method
        end as method,
        case
            when catalogue_method in ('rate_byar', 'proportion_wilson') and denominator > 0
                then numerator_raw / denominator * multiplier
            when catalogue_method = 'count' then numerator_raw
            when catalogue_method = 'median' then value_direct
            when catalogue_method = 'dsr_dobson' then dsr_value
        end as value,
        {%- for c in levels %}
        {%- set suffix = '95' if c == '0.95' else '998' %}
        case
            when catalogue_method = 'rate_byar' and denominator > 0
                then {{ rate_ci_lower('numerator_raw', 'denominator', 'multiplier', c | float) }}
            when catalogue_method = 'proportion_wilson' and denominator > 0
                then {{ proportion_ci_lower('numerator_raw', 'denominator', c | float) }} * multiplier
            when catalogue_method = 'count'
                then {{ poisson_count_lower('numerator_raw', c | float) }}
            when catalogue_method = 'dsr_dobson'
                then {{ dsr_ci_lower('dsr_total_count', 'dsr_value', 'dsr_var', c | float) }}
        end as lower_{{ suffix }},
        case
            when catalogue_method = 'rate_byar' and denominator > 0
                then {{ rate_ci_upper('numerator_raw', 'denominator', 'multiplier', c | float) }}
            when catalogue_method = 'proportion_wilson' and denominator > 0
                then {{ proportion_ci_upper('numerator_raw', 'denominator', c | float) }} * multiplier
            when catalogue_method = 'count'
                then {{ poisson_count_upper('numerator_raw', c | float) }}
            when catalogue_method = 'dsr_dobson'
                then {{ dsr_ci_upper('dsr_total_count', 'dsr_value', 'dsr_var', c | float) }}
        end as upper_{{ suffix }},
        {%- endfor %}
        catalogue_method
    from joined

),

with_benchmark as (

    select
        computed.*,
        benchmark.value as benchmark_value,
        case
            when computed.area_level in ('municipality', 'national') then 'not_compared'
            when computed.catalogue_method in ('count', 'median') then 'not_compared'
            else {{ compared_to_benchmark('computed', 'benchmark.value') }}
        end as compared_to_benchmark
    from computed
    left join computed as benchmark
        on
            computed.indicator_id = benchmark.indicator_id
            and computed.period_type = benchmark.period_type
            and computed.period_start = benchmark.period_start
            and benchmark.area_level = 'municipality'
            and computed.municipality_code = benchmark.area_id

)

select * from with_benchmark
