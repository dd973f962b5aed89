{#-
  rate_ci_lower(x, n, multiplier, confidence=0.95), rate_ci_upper(x, n, multiplier, confidence=0.95)

  Confidence limits for a rate x / n × multiplier (e.g. per 1,000 residents: multiplier 1000):
  the Poisson limits of the count x (poisson_count_lower/upper: Byar's approximation for
  x >= 10, exact limits for x < 10, lower 0 when x = 0), divided by n and multiplied.
  x: SQL expression for the count of events (non-negative integer); n: the population (or
     person-time); multiplier: SQL expression or number. x and n are rendered several times.
  confidence: literal 0.95, 0.99 or 0.998 (compile-time).
  Null when n is null or not positive, or x is null, negative or a non-integer below 10.
  Portable SQL: case, cast, sqrt, power.
-#}

{% macro rate_ci_lower(x, n, multiplier, confidence=0.95) -%}
    (case
        when ({{ n }}) > 0
            then {{ poisson_count_lower(x, confidence) }} / {{ stats_as_double(n) }} * ({{ multiplier }})
    end)
{%- endmacro %}


{% macro rate_ci_upper(x, n, multiplier, confidence=0.95) -%}
    (case
        when ({{ n }}) > 0
            then {{ poisson_count_upper(x, confidence) }} / {{ stats_as_double(n) }} * ({{ multiplier }})
    end)
{%- endmacro %}
