{{ config(materialized='view', schema='methods', tags=['methods']) }}
-- Hosts the dbt unit tests of the aggregates dsr_rate/dsr_variance, chained into
-- dsr_ci_lower/upper: one case is one group of age-band rows of methods_interval_cases
-- (x count, n population, standard_population); its expected values and confidence sit on one
-- of its rows. Multiplier 1000.
with

bands as (
    select * from {{ ref('methods_interval_cases') }}
),

standardised as (
    select
        case_id,
        max(confidence) as confidence,
        sum(x) as total_count,
        {{ dsr_rate('x', 'n', 'standard_population', 1000) }} as dsr,
        {{ dsr_variance('x', 'n', 'standard_population', 1000) }} as dsr_variance,
        max(expected_value) as expected_value,
        max(expected_variance) as expected_variance,
        max(expected_lower) as expected_lower,
        max(expected_upper) as expected_upper
    from bands
    group by case_id
),

intervals as (
    select
        *,
        {{ stats_by_confidence(dsr_ci_lower, ['total_count', 'dsr', 'dsr_variance']) }} as lower_limit,
        {{ stats_by_confidence(dsr_ci_upper, ['total_count', 'dsr', 'dsr_variance']) }} as upper_limit
    from standardised
),

checked as (
    select
        case_id,
        confidence,
        total_count,
        dsr,
        dsr_variance,
        lower_limit,
        upper_limit,
        {{ stats_within_tolerance('dsr', 'expected_value') }} as is_value_ok,
        {{ stats_within_tolerance('dsr_variance', 'expected_variance') }} as is_variance_ok,
        {{ stats_within_tolerance('lower_limit', 'expected_lower') }} as is_lower_ok,
        {{ stats_within_tolerance('upper_limit', 'expected_upper') }} as is_upper_ok
    from intervals
)

select * from checked
