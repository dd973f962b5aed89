-- Disclosure control of the indicator values inside each municipality (macro
-- disclosure_suppression): one row per cell of int_indicator_values below the national level,
-- with its count and whether it is suppressed (primary: a small count; secondary: to protect a
-- suppressed cell of one of its relations, int_disclosure_relations). Built by municipality
-- (incremental): no relation crosses a municipality's boundary here. The national level, whose
-- relation with the municipalities does, is added by int_indicator_suppression_national without
-- changing a municipality's cells.
{{ config(**municipality_partitioned()) }}

with

values_all as (

    select * from {{ ref('int_indicator_values') }}
    where municipality_code is not null and {{ in_municipality_partitions('municipality_code') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

relations_with_parts as (

    select * from {{ ref('int_disclosure_relations') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

cells as (

    {{ indicator_disclosure_cells('values_all') }}
    union all
    -- the never-published residual of a municipality's relation with its units (records
    -- with no neighbourhood): always suppressed
    select
        cell_id,
        municipality_code,
        indicator_id,
        area_level,
        area_id,
        period_type,
        period_start,
        period_end,
        true as is_additive_over_areas,
        false as is_additive_over_time,
        residual_count as cell_count,
        true as is_primary_suppressed
    from relations_with_parts
    where area_level = 'residual'

),

disclosure_links as (

    {{ indicator_disclosure_links('cells') }}

),

{{ disclosure_suppression('cells', 'relations_with_parts', rounds=var('disclosure_rounds', 10),
                          links='disclosure_links') }},

final as (

    select
        cells.cell_id,
        cells.municipality_code,
        cells.indicator_id,
        cells.area_level,
        cells.area_id,
        cells.period_type,
        cells.period_start,
        cells.cell_count,
        disclosure_final.is_suppressed,
        disclosure_final.suppression
    from cells
    inner join disclosure_final
        on cells.cell_id = disclosure_final.cell_id
    where cells.area_level <> 'residual'

)

select * from final
