-- One row per person-bearing record: every loaded row, from the five entities that name a
-- person, that carries a person key (the ΑΜΚΑ pseudonym, else the weaker name + birth date
-- pseudonym). Rows without any key cannot be linked and are left out; rows of loads that a
-- corrected re-send has replaced are left out too.
{%- set person_entities = [
    ('community_centre', 'beneficiaries', true, true),
    ('social_grocery', 'households', false, true),
    ('home_help', 'clients', true, true),
    ('home_help', 'visits', false, false),
    ('home_help', 'requests', false, true),
] %}

{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

{% for src, ent, has_person_attributes, has_neighbourhood in person_entities %}
{{ src }}__{{ ent }} as (

    select * from {{ ref('stg_' ~ src ~ '__' ~ ent) }}

),

{% endfor %}
unioned as (

    {%- for src, ent, has_person_attributes, has_neighbourhood in person_entities %}

    select
        cast('{{ src }}' as {{ dbt.type_string() }}) as source,
        cast('{{ ent }}' as {{ dbt.type_string() }}) as entity,
        row_id,
        load_id,
        source_row,
        municipality_code,
        period_month,
        person_key,
        person_key_type,
        amka_status,
        {%- if has_person_attributes %}
        sex,
        birth_year,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as sex,
        cast(null as {{ dbt.type_bigint() }}) as birth_year,
        {%- endif %}
        {%- if has_neighbourhood %}
        neighbourhood_id
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as neighbourhood_id
        {%- endif %}
    from {{ src }}__{{ ent }}
    where person_key is not null
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

current_records as (

    select unioned.*
    from unioned
    inner join load_log
        on unioned.load_id = load_log.load_id
    where load_log.is_current

)

select * from current_records
