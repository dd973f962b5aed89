-- Every row ingest rejected, from the reject tables of all eight entities, with the entity it
-- came from. A reject table exists only once its entity has had a rejected row: the ones not
-- there yet are left out (looked up through the adapter, so portable), which is why this view
-- is rebuilt after every ingest, as `dbt build` does.
{%- set entities = [
    ('community_centre', 'beneficiaries'),
    ('community_centre', 'services'),
    ('community_centre', 'intake'),
    ('social_grocery', 'households'),
    ('social_grocery', 'distributions'),
    ('home_help', 'clients'),
    ('home_help', 'visits'),
    ('home_help', 'requests'),
] %}

{%- set present = [] %}
{%- for src, ent in entities %}
    {#- source() is called at parse time too, so every reject table is a declared dependency #}
    {%- set rel = source('ingest', src ~ '__' ~ ent ~ '__rejects') %}
    {%- if execute %}
        {%- set found = adapter.get_relation(
            database=rel.database, schema=rel.schema, identifier=rel.identifier
        ) %}
        {%- if found is not none %}
            {%- do present.append((src, ent, rel)) %}
        {%- endif %}
    {%- endif %}
{%- endfor %}

with
{% for src, ent, rel in present %}
{{ src }}__{{ ent }}__rejects as (

    select * from {{ rel }}

),
{% endfor %}
unioned as (

    {%- for src, ent, rel in present %}

    select
        cast('{{ src }}' as {{ dbt.type_string() }}) as source,
        cast('{{ ent }}' as {{ dbt.type_string() }}) as entity,
        _load_id,
        _municipality_code,
        _period,
        file_name,
        sheet,
        source_row,
        column_name,
        reason_code,
        reasons,
        reason_el,
        reason_en,
        row_json
    from {{ src }}__{{ ent }}__rejects
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- else %}

    -- no reject table yet: an empty relation with the same columns
    select
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as entity,
        cast(null as {{ dbt.type_string() }}) as _load_id,
        cast(null as {{ dbt.type_string() }}) as _municipality_code,
        cast(null as date) as _period,
        cast(null as {{ dbt.type_string() }}) as file_name,
        cast(null as {{ dbt.type_string() }}) as sheet,
        cast(null as {{ dbt.type_bigint() }}) as source_row,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as reason_code,
        cast(null as {{ dbt.type_string() }}) as reasons,
        cast(null as {{ dbt.type_string() }}) as reason_el,
        cast(null as {{ dbt.type_string() }}) as reason_en,
        cast(null as {{ dbt.type_string() }}) as row_json
    where 1 = 0
    {%- endfor %}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ dbt.concat(["_load_id", "'-'", "cast(source_row as " ~ dbt.type_string() ~ ")"]) }} as row_id,
        _load_id as load_id,
        source,
        entity,
        _municipality_code as municipality_code,
        _period as period_month,

        -- where in the file
        file_name,
        sheet,
        source_row,
        column_name,

        -- why
        reason_code,
        reasons as reason_codes,
        reason_el,
        reason_en,

        -- the row as written (direct identifiers replaced by pseudonyms or left out)
        row_json

    from unioned

)

select * from renamed
