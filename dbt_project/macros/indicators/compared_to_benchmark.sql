{#-
  compared_to_benchmark(row, benchmark_value) -> SQL string expression
  The comparison of an indicator value with its benchmark (indicators.md): much_higher or
  much_lower when the 99.8% interval of `row` (a relation with value, lower_95, upper_95,
  lower_998, upper_998) lies wholly above or below the benchmark value, higher or lower when
  the 95% interval does, similar otherwise, and not_compared when either value or the 95%
  interval is missing. Callers add their own not_compared cases (counts, medians, areas with no
  benchmark) before it.
-#}
{% macro compared_to_benchmark(row, benchmark_value) -%}
    case
        when {{ row }}.value is null or {{ benchmark_value }} is null then 'not_compared'
        when {{ row }}.lower_95 is null or {{ row }}.upper_95 is null then 'not_compared'
        when {{ row }}.lower_998 > {{ benchmark_value }} then 'much_higher'
        when {{ row }}.upper_998 < {{ benchmark_value }} then 'much_lower'
        when {{ row }}.lower_95 > {{ benchmark_value }} then 'higher'
        when {{ row }}.upper_95 < {{ benchmark_value }} then 'lower'
        else 'similar'
    end
{%- endmacro %}
