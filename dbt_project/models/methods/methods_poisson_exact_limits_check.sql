{{ config(materialized='view', schema='methods', tags=['methods']) }}
-- The exact Poisson limits the macros render from _stats_constants.sql, beside the seed
-- stat_poisson_exact_limits: both are written by scripts/build_chisq_seed.py and must agree
-- (data test on is_consistent). One row per seed row.
with

seed_limits as (
    select * from {{ ref('stat_poisson_exact_limits') }}
),

macro_limits as (
    select
        confidence,
        x,
        lower_count,
        upper_count,
        {{ stats_by_confidence(poisson_count_lower, ['x']) }} as macro_lower_count,
        {{ stats_by_confidence(poisson_count_upper, ['x']) }} as macro_upper_count
    from seed_limits
),

checked as (
    select
        *,
        (
            {{ stats_within_tolerance('macro_lower_count', 'lower_count', 1e-14, 0) }}
            and {{ stats_within_tolerance('macro_upper_count', 'upper_count', 1e-14, 0) }}
        ) as is_consistent
    from macro_limits
)

select * from checked
