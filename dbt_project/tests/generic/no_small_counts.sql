{#-
  no_small_counts(columns, threshold=var('disclosure_threshold'), suppressed_column=none)
  For public marts: rows with a count between 1 and the disclosure threshold (inclusive, as
  macro is_small_count in macros/disclosure/) in any of the given count columns. A 0 passes (it
  discloses nothing), so does a null (a suppressed value). With suppressed_column, rows flagged
  suppressed (true) are not checked: their values are not published. Applies at model level
  (columns: [...]) or under a column (the column itself).
-#}
{% test no_small_counts(model, column_name=none, columns=none, threshold=none, suppressed_column=none) %}
{%- set checked = (columns if columns is not none else []) + ([column_name] if column_name is not none else []) %}
{%- if not checked %}
    {{ exceptions.raise_compiler_error('no_small_counts: give columns (model ' ~ model ~ ')') }}
{%- endif %}
{%- set t = threshold if threshold is not none else var('disclosure_threshold') %}

select *
from {{ model }}
where (
    {%- for col in checked %}
    {{ is_small_count(col, t) }}{% if not loop.last %} or{% endif %}
    {%- endfor %}
)
{%- if suppressed_column is not none %}
    and not coalesce({{ suppressed_column }}, false)
{%- endif %}

{% endtest %}
