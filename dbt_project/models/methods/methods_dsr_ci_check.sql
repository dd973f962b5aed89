{{ config(materialized='view', schema='methods', tags=['methods']) }}
-- Hosts the dbt unit tests of dsr_ci_lower/upper (Dobson; x is the total count):
-- computes them on the cases of methods_interval_cases at each supported
-- confidence level and flags agreement with the expected values
-- (stats_within_tolerance: relative 1e-6; scaffold in macros/stats/stats_check_model.sql).
{{ stats_check_model(
    ref('methods_interval_cases'), dsr_ci_lower, dsr_ci_upper, ['x', 'dsr', 'dsr_variance']
) }}
