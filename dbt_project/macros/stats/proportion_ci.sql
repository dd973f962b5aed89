{#-
  proportion_ci_lower(x, n, confidence=0.95), proportion_ci_upper(x, n, confidence=0.95)

  Wilson score interval for a proportion x/n, as a proportion in [0, 1] (multiply by 100 for a
  percentage):
      (2x + z² ± z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²)),   z = z_value(confidence)
  x, n: SQL expressions (counts; x may be a weighted count). Each is rendered several times, so
     pass columns or cheap expressions. Computed in 8-byte floats (no integer division).
  confidence: literal 0.95, 0.99 or 0.998 (compile-time).
  Null when n is null or 0, or x is null, negative or above n. The lower limit is exactly 0 when
  x = 0 and the upper exactly 1 when x = n (their closed forms), free of rounding residue.
  Portable SQL: case, cast, sqrt.
-#}

{% macro _wilson_limit(x, n, confidence, sign, caller_name) -%}
    {%- set z = z_value(stats_confidence_key(confidence, caller_name)) -%}
    {%- set z2 = z * z -%}
    {%- set xd = stats_as_double(x) -%}
    {%- set nd = stats_as_double(n) -%}
    (case
        when ({{ n }}) > 0 and ({{ x }}) >= 0 and ({{ x }}) <= ({{ n }}) then
            {%- if sign == '-' %}
            case when ({{ x }}) = 0 then {{ stats_double_literal(0) }} else
            {%- else %}
            case when ({{ x }}) = ({{ n }}) then {{ stats_double_literal(1) }} else
            {%- endif %}
                (2 * {{ xd }} + {{ z2 }} {{ sign }} {{ z }} * sqrt({{ z2 }} + 4 * {{ xd }} * (1 - {{ xd }} / {{ nd }})))
                / (2 * ({{ nd }} + {{ z2 }}))
            end
    end)
{%- endmacro %}


{% macro proportion_ci_lower(x, n, confidence=0.95) -%}
    {{ _wilson_limit(x, n, confidence, '-', 'proportion_ci_lower') }}
{%- endmacro %}


{% macro proportion_ci_upper(x, n, confidence=0.95) -%}
    {{ _wilson_limit(x, n, confidence, '+', 'proportion_ci_upper') }}
{%- endmacro %}
