{#-
  counts_add_up(total, parts)
  Rows where the count in `total` is not the sum of the counts in `parts` (nulls taken as 0),
  e.g. total rows_read, parts [rows_loaded, rows_rejected]: the load log's balance of rows.
-#}
{% test counts_add_up(model, total, parts) %}

select *
from {{ model }}
where coalesce({{ total }}, 0) <> (
    {%- for part in parts %}
    coalesce({{ part }}, 0){% if not loop.last %} +{% endif %}
    {%- endfor %}
)

{% endtest %}
