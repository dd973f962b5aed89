{#-
  poisson_count_lower(x, confidence=0.95), poisson_count_upper(x, confidence=0.95)

  Confidence limits for a Poisson count, on the count scale (events, not a rate). Shared by
  rate_ci_* (divided by the population) and dsr_ci_* (Dobson's method).

  x: SQL expression for the observed count (a non-negative integer). Rendered several times,
     so pass a column or a cheap expression.
  confidence: literal 0.95, 0.99 or 0.998 (compile-time; anything else fails to compile).

  x >= 10: Byar's approximation (Breslow & Day 1987), with z = z_value(confidence):
      lower = x (1 − 1/(9x) − z/(3√x))³
      upper = (x+1) (1 − 1/(9(x+1)) + z/(3√(x+1)))³
  x in 0..9: the exact (Garwood) limits qchisq((1−c)/2, 2x)/2 and qchisq(1−(1−c)/2, 2x+2)/2,
     lower 0 when x = 0, taken from the literals scripts/build_chisq_seed.py computed with scipy
     (the seed stat_poisson_exact_limits holds the same values), rendered as a CASE.
  Null when x is null, negative, or not an integer below 10.
  Portable SQL: case, cast, sqrt, power.
-#}

{% macro poisson_count_lower(x, confidence=0.95) -%}
    {%- set key = stats_confidence_key(confidence, 'poisson_count_lower') -%}
    {%- set consts = stats_constants() -%}
    {%- set z = consts['z'][key] -%}
    {%- set xd = stats_as_double(x) -%}
    (case
        when ({{ x }}) >= {{ consts['exact_below'] }}
            then {{ xd }} * power(1 - 1 / (9 * {{ xd }}) - {{ z }} / (3 * sqrt({{ xd }})), 3)
        {%- for limit in consts['poisson_exact'][key]['lower'] %}
        when ({{ x }}) = {{ loop.index0 }} then {{ stats_double_literal(limit) }}
        {%- endfor %}
    end)
{%- endmacro %}


{% macro poisson_count_upper(x, confidence=0.95) -%}
    {%- set key = stats_confidence_key(confidence, 'poisson_count_upper') -%}
    {%- set consts = stats_constants() -%}
    {%- set z = consts['z'][key] -%}
    {%- set x1 = '(' ~ stats_as_double(x) ~ ' + 1)' -%}
    (case
        when ({{ x }}) >= {{ consts['exact_below'] }}
            then {{ x1 }} * power(1 - 1 / (9 * {{ x1 }}) + {{ z }} / (3 * sqrt({{ x1 }})), 3)
        {%- for limit in consts['poisson_exact'][key]['upper'] %}
        when ({{ x }}) = {{ loop.index0 }} then {{ stats_double_literal(limit) }}
        {%- endfor %}
    end)
{%- endmacro %}
