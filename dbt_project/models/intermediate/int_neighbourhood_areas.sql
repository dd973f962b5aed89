-- One row per neighbourhood and area containing it (itself, its community, municipal unit and
-- municipality): the roll-up a count at neighbourhood level is summed over. Records with no
-- neighbourhood are counted at municipality level only (see int_record_areas).
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

)

select * from expanded
