{#- Rows of `model` whose combination of `columns` is not unique (the grain of the model). -#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as rows_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
