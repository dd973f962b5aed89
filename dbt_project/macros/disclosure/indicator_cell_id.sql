{#- indicator_cell_id(relation): the key of one indicator value (indicator, area level, area,
    period type and start joined by '|'), as disclosure control and its tests use it. -#}
{% macro indicator_cell_id(relation) -%}
    {{ dbt.concat([
        relation ~ '.indicator_id', "'|'", relation ~ '.area_level', "'|'", relation ~ '.area_id',
        "'|'", relation ~ '.period_type', "'|'", dbt.cast(relation ~ '.period_start', dbt.type_string())
    ]) }}
{%- endmacro %}
