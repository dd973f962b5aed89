{#-
  stats_within_tolerance(actual, expected, relative=1e-6, absolute=1e-12) -> boolean SQL
  True when both are null, or |actual − expected| <= relative·|expected| + absolute; false
  otherwise (never null). Used by the models in models/methods/ that host the unit tests of the
  statistical macros, since dbt unit tests compare values exactly.
-#}
{% macro stats_within_tolerance(actual, expected, relative=1e-6, absolute=1e-12) -%}
    (case
        when ({{ actual }}) is null and ({{ expected }}) is null then true
        when abs(({{ actual }}) - ({{ expected }})) <= {{ relative }} * abs({{ expected }}) + {{ absolute }} then true
        else false
    end)
{%- endmacro %}
