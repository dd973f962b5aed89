{#-
  stats_by_confidence(limit_macro, args) -> SQL expression
  `case when confidence = c then limit_macro(*args, c) ... end` over stats_confidence_levels():
  a limit macro evaluated at the confidence level held in the column `confidence` (the level
  must be a compile-time literal for the macros, hence one branch per supported level).
  limit_macro is the macro itself (e.g. poisson_count_lower), args its SQL arguments before the
  confidence (e.g. ['x', 'n']).
-#}
{% macro stats_by_confidence(limit_macro, args) -%}
case
            {%- for c in stats_confidence_levels() %}
            when confidence = {{ c }} then {{ limit_macro(*(args + [c])) }}
            {%- endfor %}
        end
{%- endmacro %}


{#-
  stats_check_model(cases, lower_macro, upper_macro, args) -> a whole select statement
  The body of the models in models/methods/ that host the dbt unit tests of a pair of interval
  macros: computes lower_macro/upper_macro(*args, confidence) on each row of `cases` (the
  relation methods_interval_cases) at its confidence level and flags agreement with
  expected_lower/expected_upper (stats_within_tolerance: relative 1e-6). Columns: case_id,
  confidence, lower_limit, upper_limit, expected_lower, expected_upper, is_lower_ok,
  is_upper_ok.
-#}
{% macro stats_check_model(cases, lower_macro, upper_macro, args) -%}
with

cases as (
    select * from {{ cases }}
),

computed as (
    select
        case_id,
        confidence,
        expected_lower,
        expected_upper,
        {{ stats_by_confidence(lower_macro, args) }} as lower_limit,
        {{ stats_by_confidence(upper_macro, args) }} as upper_limit
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
{%- endmacro %}
