{#-
  Incremental processing by municipality (issue "Scale"). The models that grow with the number
  of municipalities are incremental tables partitioned by municipality_code: a run that sets the
  dbt variable `municipalities` (a list of codes, or one code) recomputes those municipalities'
  rows only and keeps every other municipality's rows as they are; a run without it (or a full
  refresh) recomputes every municipality. Since every such model works within one municipality
  (its persons, areas, periods and reference rates), the result equals a full rebuild exactly
  (tests/pipeline/test_incremental.py compares the two).

  Rows of the national level (municipality_code null) depend on every municipality: models that
  hold them recompute them on every run (they are few, and computed from municipality totals).

  Usage, in a model:
      {{ config(**municipality_partitioned()) }}
      ...
      from {{ ref('upstream') }}
      where {{ in_municipality_partitions('municipality_code') }}

  municipality_partitioned()  -> the config: materialized incremental, the strategy
      replace_municipalities below, partition column municipality_code.
  in_municipality_partitions(column, national=false) -> SQL boolean: true for the rows this run
      recomputes (every row on a full build; with national=true also rows whose column is null).
  selected_municipalities()   -> the list of codes of the variable, or none for "all" (the
      variable unset); an empty list recomputes no municipality, only the national rows.
  get_incremental_replace_municipalities_sql(arg_dict): deletes the recomputed partitions from
      the table (the selected municipalities and the national rows; every row when no
      selection) and inserts the new rows, in one transaction. Plain SQL (delete + insert), so
      it ports to any adapter; engines with partition overwrite (Spark's insert_overwrite,
      Databricks' replace_where) can dispatch to that instead.
-#}

{% macro municipality_partitioned() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'replace_municipalities',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}


{% macro selected_municipalities() -%}
    {%- set selected = var('municipalities', none) -%}
    {%- if selected is none or selected == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if selected is string -%}
        {%- set selected = selected.split(',') -%}
    {%- elif selected is number -%}
        {%- set selected = [selected] -%}
    {%- endif -%}
    {%- set codes = [] -%}
    {%- for code in selected -%}
        {%- set code = (code | string).strip() -%}
        {%- if not (code | length > 0 and code.replace('-', '').isalnum()) -%}
            {{ exceptions.raise_compiler_error("var municipalities: not a municipality code: '" ~ code ~ "'") }}
        {%- endif -%}
        {%- do codes.append(code) -%}
    {%- endfor -%}
    {{ return(codes) }}
{%- endmacro %}


{% macro municipality_list_sql(codes) -%}
    ({%- for code in codes -%}'{{ code }}'{{ ', ' if not loop.last }}{%- endfor -%})
{%- endmacro %}


{% macro in_municipality_partitions(column='municipality_code', national=false, for_test=false) -%}
    {%- set codes = selected_municipalities() -%}
    {%- if codes is none or (not for_test and not is_incremental()) -%}
        (1 = 1)
    {%- elif codes | length == 0 -%}
        ({{ column }} is null and {{ 'true' if national else 'false' }})
    {%- elif national -%}
        ({{ column }} in {{ municipality_list_sql(codes) }} or {{ column }} is null)
    {%- else -%}
        ({{ column }} in {{ municipality_list_sql(codes) }})
    {%- endif -%}
{%- endmacro %}


{% macro get_incremental_replace_municipalities_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set column = config.get('partition_column', 'municipality_code') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set codes = selected_municipalities() -%}
    delete from {{ target }}
    {%- if codes is not none and codes | length == 0 %}
    where {{ column }} is null
    {%- elif codes is not none %}
    where {{ column }} in {{ municipality_list_sql(codes) }} or {{ column }} is null
    {%- endif %};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}


{#- national_area_id() -> the area_id of the national level (all municipalities in the warehouse;
    'EL', Greece's code in NUTS and in the EU's statistics). -#}
{% macro national_area_id() -%}
    {{- var('national_area_id', 'EL') -}}
{%- endmacro %}


{#- municipality_of_area(relation) -> the municipality an area row of int_neighbourhood_areas
    belongs to: its municipality_code, null for the national level (which spans them all). -#}
{% macro municipality_of_area(relation) -%}
    case when {{ relation }}.area_level = 'national' then null else {{ relation }}.municipality_code end
{%- endmacro %}


{#-
  Data tests of an incremental build look at the rows it recomputed: dbt wraps the relation a
  generic test reads in get_where_subquery (its `where` config); this override adds, for a
  model partitioned by municipality, the selected municipalities (and the national rows), and
  for a model whose config says meta: {municipality_scope: area_id}, the areas of those
  municipalities. The other municipalities' rows were tested when they were built. A full
  build tests every row.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set scope = municipality_test_scope(relation) -%}
    {%- if where or scope -%}
        {%- set filtered -%}
            (select * from {{ relation }} where ({{ where if where else '1 = 1' }}) and {{ scope if scope else '(1 = 1)' }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}


{% macro municipality_test_scope(relation) -%}
    {%- set codes = selected_municipalities() -%}
    {%- if codes is none or not execute or relation is string -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
              and (node.alias or node.name) | lower == (relation.identifier or '') | lower
              and node.schema | lower == (relation.schema or '') | lower -%}
            {%- if node.config.get('incremental_strategy') == 'replace_municipalities' -%}
                {{ return(in_municipality_partitions('municipality_code', national=true, for_test=true)) }}
            {%- elif (node.config.get('meta') or {}).get('municipality_scope') == 'area_id' -%}
                {#- not ref(): a test's dependencies are fixed at parse time -#}
                {%- set n = graph.nodes['model.geitonia.int_areas'] -%}
                {%- set areas_relation = api.Relation.create(database=n.database, schema=n.schema, identifier=(n.alias or n.name)) -%}
                {%- set areas -%}
                    (area_id in (select area_id from {{ areas_relation }}
                                 where {{ in_municipality_partitions('municipality_code', national=true, for_test=true) }}))
                {%- endset -%}
                {{ return(areas) }}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
