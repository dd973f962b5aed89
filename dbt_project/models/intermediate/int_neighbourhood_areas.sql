-- One row per neighbourhood and area containing it (itself, its community, municipal unit and
-- municipality): the roll-up a count at neighbourhood level is summed over. Records with no
-- neighbourhood are counted at municipality level only: each municipality has one more
-- pseudo-neighbourhood, '<municipality>-unassigned' (macro area_lookup_key), that rolls up to the
-- municipality alone.
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

    select distinct
        {{ area_lookup_key('cast(null as ' ~ dbt.type_string() ~ ')', 'municipality_code') }}
            as neighbourhood_id,
        municipality_code,
        cast('municipality' as {{ dbt.type_string() }}) as area_level,
        municipality_code as area_id
    from neighbourhoods

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
