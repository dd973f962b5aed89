-- One row per neighbourhood and area containing it (itself, its community, municipal unit,
-- municipality and the national level): the roll-up a count at neighbourhood level is summed
-- over. Records with no neighbourhood are counted at municipality (and national) level only:
-- each municipality has one more pseudo-neighbourhood, '<municipality>-unassigned' (macro
-- area_lookup_key), that rolls up to the municipality alone. Models built by municipality
-- (incremental) leave the national rows out and sum municipality totals instead.
with

areas as (

    select * from {{ ref('int_areas') }}

),

neighbourhoods as (

    select * from areas
    where area_level = 'neighbourhood'

),

expanded as (

    {%- for level, column in [
        ('neighbourhood', 'neighbourhood_id'),
        ('community', 'community_code'),
        ('municipal_unit', 'municipal_unit_code'),
        ('municipality', 'municipality_code'),
        ('national', "cast('" ~ national_area_id() ~ "' as " ~ dbt.type_string() ~ ")"),
    ] %}
    select
        neighbourhood_id,
        municipality_code,
        cast('{{ level }}' as {{ dbt.type_string() }}) as area_level,
        {{ column }} as area_id
    from neighbourhoods
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

unassigned as (

    {%- for level, column in [
        ('municipality', 'municipality_code'),
        ('national', "cast('" ~ national_area_id() ~ "' as " ~ dbt.type_string() ~ ")"),
    ] %}
    select distinct
        {{ area_lookup_key('cast(null as ' ~ dbt.type_string() ~ ')', 'municipality_code') }}
            as neighbourhood_id,
        municipality_code,
        cast('{{ level }}' as {{ dbt.type_string() }}) as area_level,
        {{ column }} as area_id
    from neighbourhoods
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        neighbourhood_id,
        municipality_code,
        area_level,
        area_id,
        false as is_unassigned
    from expanded
    union all
    select
        neighbourhood_id,
        municipality_code,
        area_level,
        area_id,
        true as is_unassigned
    from unassigned

)

select * from final
