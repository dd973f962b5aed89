{#-
    The columns every staging model of a raw ingest table starts with: a row id unique across
    loads, and the load bookkeeping (which file load, municipality, reporting month, physical row
    in the file, when it was loaded). Used inside a select list; emits a trailing comma.
-#}
{% macro raw_bookkeeping_columns() -%}
        {{ dbt.concat(["_load_id", "'-'", "cast(_source_row as " ~ dbt.type_string() ~ ")"]) }} as row_id,
        _load_id as load_id,
        _municipality_code as municipality_code,
        _period as period_month,
        _source_row as source_row,
        _loaded_at as loaded_at,
{%- endmacro %}

{#- The data-quality columns of a raw ingest row: the repairs ingest made to it. -#}
{% macro raw_repair_columns() -%}
        _repairs as repair_codes,
        _repairs is not null as is_repaired
{%- endmacro %}
