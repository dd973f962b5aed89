-- The national level of int_indicator_counts: one row per indicator and period over all
-- municipalities in the warehouse. Counts (numerators and counted denominators) are the sums of
-- the municipality rows: every count places a person, household or event in one municipality,
-- so they add up. A median does not add up: the median of days to fulfil a request is taken
-- again over the requests of every municipality (the same requests the municipality rows use:
-- fulfilled within one of the municipality's periods).
with

counts as (

    select * from {{ ref('int_indicator_counts') }}
    where area_level = 'municipality'

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

summed as (

    select
        counts.indicator_id,
        counts.period_type,
        counts.period_start,
        sum(counts.numerator) as numerator,
        sum(counts.denominator_count) as denominator_count,
        cast(null as {{ stats_double_type() }}) as value_direct
    from counts
    inner join catalogue
        on counts.indicator_id = catalogue.indicator_id
    where catalogue.method <> 'median'
    group by counts.indicator_id, counts.period_type, counts.period_start

),

requests_fulfilled as (

    {{ requests_fulfilled_in_periods('periods') }}

),

medians as (

    select
        cast('hh_request_days_to_fulfil_median' as {{ dbt.type_string() }}) as indicator_id,
        period_type,
        period_start,
        cast(null as {{ stats_double_type() }}) as numerator,
        cast(count(*) as {{ stats_double_type() }}) as denominator_count,
        cast({{ median('days_to_fulfil') }} as {{ stats_double_type() }}) as value_direct
    from requests_fulfilled
    group by period_type, period_start

),

unioned as (

    select * from summed
    union all
    select * from medians

),

final as (

    select
        indicator_id,
        cast('national' as {{ dbt.type_string() }}) as area_level,
        cast('{{ national_area_id() }}' as {{ dbt.type_string() }}) as area_id,
        cast(null as {{ dbt.type_string() }}) as municipality_code,
        period_type,
        period_start,
        numerator,
        denominator_count,
        value_direct
    from unioned

)

select * from final
