-- One row per area at every level of the geography: neighbourhood, community, municipal unit,
-- municipality, and the national level above them (area_id 'EL': all municipalities in the
-- warehouse, so national and per-municipality indicators come from one build). Built from the neighbourhoods each municipality supplies, so it covers any
-- municipality; names in English come from the ELSTAT hierarchy seed where it knows the code.
with

neighbourhoods as (

    select * from {{ ref('stg_municipality__neighbourhoods') }}

),

hierarchy as (

    select * from {{ ref('ref_geography_hierarchy') }}

),

crete as (

    select * from {{ ref('ref_crete_municipalities_2021') }}

),

neighbourhood_level as (

    select
        cast('neighbourhood' as {{ dbt.type_string() }}) as area_level,
        4 as area_level_order,
        neighbourhood_id as area_id,
        neighbourhood_name_el as area_name_el,
        neighbourhood_name_en as area_name_en,
        community_code as parent_area_id,
        municipality_code,
        municipal_unit_code,
        community_code,
        neighbourhood_id,
        is_illustrative
    from neighbourhoods

),

communities as (

    select
        community_code,
        min(community_name_el) as community_name_el,
        min(municipal_unit_code) as municipal_unit_code,
        min(municipality_code) as municipality_code
    from neighbourhoods
    group by community_code

),

community_level as (

    select
        cast('community' as {{ dbt.type_string() }}) as area_level,
        3 as area_level_order,
        communities.community_code as area_id,
        communities.community_name_el as area_name_el,
        coalesce(hierarchy.name_en, communities.community_name_el) as area_name_en,
        communities.municipal_unit_code as parent_area_id,
        communities.municipality_code,
        communities.municipal_unit_code,
        communities.community_code,
        cast(null as {{ dbt.type_string() }}) as neighbourhood_id,
        false as is_illustrative
    from communities
    left join hierarchy
        on
            hierarchy.area_level = 'community'
            and communities.community_code = hierarchy.area_code

),

units as (

    select
        municipal_unit_code,
        min(municipal_unit_name_el) as municipal_unit_name_el,
        min(municipality_code) as municipality_code
    from neighbourhoods
    group by municipal_unit_code

),

unit_level as (

    select
        cast('municipal_unit' as {{ dbt.type_string() }}) as area_level,
        2 as area_level_order,
        units.municipal_unit_code as area_id,
        units.municipal_unit_name_el as area_name_el,
        coalesce(hierarchy.name_en, units.municipal_unit_name_el) as area_name_en,
        units.municipality_code as parent_area_id,
        units.municipality_code,
        units.municipal_unit_code,
        cast(null as {{ dbt.type_string() }}) as community_code,
        cast(null as {{ dbt.type_string() }}) as neighbourhood_id,
        false as is_illustrative
    from units
    left join hierarchy
        on
            hierarchy.area_level = 'municipal_unit'
            and units.municipal_unit_code = hierarchy.area_code

),

municipalities as (

    select distinct municipality_code
    from neighbourhoods

),

municipality_level as (

    select
        cast('municipality' as {{ dbt.type_string() }}) as area_level,
        1 as area_level_order,
        municipalities.municipality_code as area_id,
        coalesce(crete.name_el, 'Δήμος ' || municipalities.municipality_code) as area_name_el,
        coalesce(crete.name_en, 'Municipality ' || municipalities.municipality_code)
            as area_name_en,
        cast('{{ national_area_id() }}' as {{ dbt.type_string() }}) as parent_area_id,
        municipalities.municipality_code,
        cast(null as {{ dbt.type_string() }}) as municipal_unit_code,
        cast(null as {{ dbt.type_string() }}) as community_code,
        cast(null as {{ dbt.type_string() }}) as neighbourhood_id,
        false as is_illustrative
    from municipalities
    left join crete
        on municipalities.municipality_code = crete.municipality_code

),

national_level as (

    select
        cast('national' as {{ dbt.type_string() }}) as area_level,
        0 as area_level_order,
        cast('{{ national_area_id() }}' as {{ dbt.type_string() }}) as area_id,
        cast('Σύνολο δήμων' as {{ dbt.type_string() }}) as area_name_el,
        cast('All municipalities' as {{ dbt.type_string() }}) as area_name_en,
        cast(null as {{ dbt.type_string() }}) as parent_area_id,
        cast(null as {{ dbt.type_string() }}) as municipality_code,
        cast(null as {{ dbt.type_string() }}) as municipal_unit_code,
        cast(null as {{ dbt.type_string() }}) as community_code,
        cast(null as {{ dbt.type_string() }}) as neighbourhood_id,
        false as is_illustrative
    where exists (select 1 from municipalities)

),

unioned as (

    select * from national_level
    union all
    select * from municipality_level
    union all
    select * from unit_level
    union all
    select * from community_level
    union all
    select * from neighbourhood_level

)

select * from unioned
