{{ config(materialized='view', schema='methods', tags=['methods']) }}
-- Hosts the dbt unit test of normal_quantile (Acklam's approximation of the inverse standard
-- normal): computes it on the cases' probability and flags agreement with expected_value
-- (scipy.stats.norm.ppf; relative 1e-8, absolute 1e-8 near 0).
with

cases as (

    select * from {{ ref('methods_interval_cases') }}

),

checked as (

    select
        case_id,
        probability,
        {{ normal_quantile('probability') }} as quantile,
        {{ stats_within_tolerance(normal_quantile('probability'), 'expected_value', 1e-8, 1e-8) }}
            as is_value_ok
    from cases

)

select * from checked
