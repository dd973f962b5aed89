{#-
  Directly standardised rates (DSR) and their Dobson confidence intervals
  (Dobson, Kuulasmaa, Eberle, Scherer 1991, Statistics in Medicine 10:457-462; as used by
  PHE Fingertips / PHEindicatormethods::calculate_dsr).

  Aggregates, to be used with GROUP BY over one row per (area, period, age band):

  dsr_rate(count, population, standard_population, multiplier=100000)
      = multiplier × Σ wᵢ xᵢ / nᵢ / Σ wᵢ
  dsr_variance(count, population, standard_population, multiplier=100000)
      = multiplier² × Σ wᵢ² xᵢ / nᵢ² / (Σ wᵢ)²      (variance of dsr_rate, same scale)
  with xᵢ the band's count, nᵢ its population, wᵢ its standard population (e.g. the 2013
  European Standard Population). Every band of the standard must be present with nᵢ > 0
  (merge bands first): if any band's population is 0 or negative both are null.

  Intervals, on an already computed DSR (plain expressions, not aggregates):

  dsr_ci_lower(total_count, dsr, dsr_variance, confidence=0.95)
      = dsr + sqrt(dsr_variance / total_count) × (poisson_count_lower(total_count) − total_count)
  dsr_ci_upper(total_count, dsr, dsr_variance, confidence=0.95)
      = dsr + sqrt(dsr_variance / total_count) × (poisson_count_upper(total_count) − total_count)
  total_count: Σ xᵢ, the observed events (non-negative integer); dsr and dsr_variance on the same
     scale (dsr per multiplier, variance per multiplier²), e.g. from dsr_rate/dsr_variance.
  The count limits are Byar's for total_count >= 10 and exact below (poisson_count_*); the
  methods spec does not publish a DSR whose total count is under 10.
  Null when total_count is null or 0 (the interval is undefined) or dsr_variance is negative.
  dobson_ci_lower / dobson_ci_upper are the same macros under the method's name.
  With one band whose standard population equals its population the interval equals
  rate_ci_lower/upper(x, n, multiplier) (unit-tested).
-#}

{% macro dsr_rate(count, population, standard_population, multiplier=100000) -%}
    (case
        when min({{ population }}) > 0 then
            sum({{ stats_as_double(standard_population) }} * ({{ count }}) / {{ stats_as_double(population) }})
            / sum({{ stats_as_double(standard_population) }}) * ({{ multiplier }})
    end)
{%- endmacro %}


{% macro dsr_variance(count, population, standard_population, multiplier=100000) -%}
    (case
        when min({{ population }}) > 0 then
            sum(
                {{ stats_as_double(standard_population) }} * {{ stats_as_double(standard_population) }}
                * ({{ count }})
                / ({{ stats_as_double(population) }} * {{ stats_as_double(population) }})
            )
            / (sum({{ stats_as_double(standard_population) }}) * sum({{ stats_as_double(standard_population) }}))
            * ({{ multiplier }}) * ({{ multiplier }})
    end)
{%- endmacro %}


{% macro _dobson_limit(total_count, dsr, dsr_variance, count_limit) -%}
    (case
        when ({{ total_count }}) > 0 and ({{ dsr_variance }}) >= 0 then
            {{ stats_as_double(dsr) }}
            + sqrt({{ stats_as_double(dsr_variance) }} / {{ stats_as_double(total_count) }})
            * ({{ count_limit }} - {{ stats_as_double(total_count) }})
    end)
{%- endmacro %}


{% macro dsr_ci_lower(total_count, dsr, dsr_variance, confidence=0.95) -%}
    {{ _dobson_limit(total_count, dsr, dsr_variance, poisson_count_lower(total_count, confidence)) }}
{%- endmacro %}


{% macro dsr_ci_upper(total_count, dsr, dsr_variance, confidence=0.95) -%}
    {{ _dobson_limit(total_count, dsr, dsr_variance, poisson_count_upper(total_count, confidence)) }}
{%- endmacro %}


{% macro dobson_ci_lower(total_count, dsr, dsr_variance, confidence=0.95) -%}
    {{ dsr_ci_lower(total_count, dsr, dsr_variance, confidence) }}
{%- endmacro %}


{% macro dobson_ci_upper(total_count, dsr, dsr_variance, confidence=0.95) -%}
    {{ dsr_ci_upper(total_count, dsr, dsr_variance, confidence) }}
{%- endmacro %}
