{{ config(materialized='view', schema='methods', tags=['methods']) }}
-- Hosts the dbt unit tests of poisson_count_lower/upper:
-- computes them on the cases of methods_interval_cases at each supported
-- confidence level and flags agreement with the expected values
-- (stats_within_tolerance: relative 1e-6).
with

cases as (
    select * from {{ ref('methods_interval_cases') }}
),

computed as (
    select
        case_id,
        confidence,
        expected_lower,
        expected_upper,
        case
            {%- for c in stats_confidence_levels() %}
            when confidence = {{ c }} then {{ poisson_count_lower('x', c) }}
            {%- endfor %}
        end as lower_limit,
        case
            {%- for c in stats_confidence_levels() %}
            when confidence = {{ c }} then {{ poisson_count_upper('x', c) }}
            {%- endfor %}
        end as upper_limit
    from cases
),

checked as (
    select
        case_id,
        confidence,
        lower_limit,
        upper_limit,
        expected_lower,
        expected_upper,
        {{ stats_within_tolerance('lower_limit', 'expected_lower') }} as is_lower_ok,
        {{ stats_within_tolerance('upper_limit', 'expected_upper') }} as is_upper_ok
    from computed
)

select * from checked
