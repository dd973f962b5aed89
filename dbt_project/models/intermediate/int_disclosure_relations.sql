-- The additive relations of the indicator values that disclosure control protects: each is a
-- total and the parts that add up to it, one row per cell and relation (group_id, is_total).
--   area relations: an area and its child areas (a community and its neighbourhoods, a
--     municipal unit and its communities, a municipality and its units) for one indicator and
--     period, where the indicator's counts add up over areas (catalogue is_additive_over_areas);
--   time relations: a quarter and its months, a year and its quarters, for one indicator and
--     area, where its counts add up over time (is_additive_over_time: events, not persons).
-- Relations whose total has no parts are left out. A cell is keyed by cell_id (indicator, area
-- level, area, period type and start, joined by '|'), as in the mart indicator_values.
-- Built by municipality (incremental): every relation here lies inside one municipality. The
-- relations of the national level (the nation and its municipalities; the national periods)
-- are handled by int_indicator_suppression_national.
{{ config(**municipality_partitioned()) }}
with

values_all as (

    select * from {{ ref('int_indicator_values') }}
    where municipality_code is not null and {{ in_municipality_partitions('municipality_code') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

areas as (

    select * from {{ ref('int_areas') }}

),

periods as (

    select * from {{ ref('int_periods') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

cells as (

    {{ indicator_disclosure_cells('values_all', controlled_only=true) }}

),

area_parents as (

    select
        area_level,
        area_id,
        parent_area_id,
        case area_level
            when 'neighbourhood' then 'community'
            when 'community' then 'municipal_unit'
            when 'municipal_unit' then 'municipality'
        end as parent_area_level
    from areas
    where parent_area_id is not null and area_level not in ('municipality', 'national')

),

period_parents as (

    {{ period_parents('periods', keys=['municipality_code']) }}

),

area_relations as (

    -- each area's cell is a part of its parent area's relation, for the same indicator and
    -- period; the parent's cell is the relation's total
    select
        {{ dbt.concat(["'area|'", 'cells.indicator_id', "'|'", 'area_parents.parent_area_level', "'|'",
                       'area_parents.parent_area_id', "'|'", 'cells.period_type', "'|'",
                       dbt.cast('cells.period_start', dbt.type_string())]) }} as group_id,
        cells.cell_id,
        false as is_total
    from cells
    inner join area_parents
        on cells.area_level = area_parents.area_level and cells.area_id = area_parents.area_id
    where cells.is_additive_over_areas
    union all
    select
        {{ dbt.concat(["'area|'", 'cells.indicator_id', "'|'", 'cells.area_level', "'|'",
                       'cells.area_id', "'|'", 'cells.period_type', "'|'",
                       dbt.cast('cells.period_start', dbt.type_string())]) }} as group_id,
        cells.cell_id,
        true as is_total
    from cells
    where cells.is_additive_over_areas and cells.area_level <> 'neighbourhood'

),

time_relations as (

    select
        {{ dbt.concat(["'time|'", 'cells.indicator_id', "'|'", 'cells.area_level', "'|'", 'cells.area_id',
                       "'|'", 'period_parents.parent_period_type', "'|'",
                       dbt.cast('period_parents.parent_period_start', dbt.type_string())]) }} as group_id,
        cells.cell_id,
        false as is_total
    from cells
    inner join period_parents
        on
            cells.municipality_code = period_parents.municipality_code
            and cells.period_type = period_parents.period_type
            and cells.period_start = period_parents.period_start
    where cells.is_additive_over_time
    union all
    select
        {{ dbt.concat(["'time|'", 'cells.indicator_id', "'|'", 'cells.area_level', "'|'", 'cells.area_id',
                       "'|'", 'cells.period_type', "'|'", dbt.cast('cells.period_start', dbt.type_string())]) }}
            as group_id,
        cells.cell_id,
        true as is_total
    from cells
    where cells.is_additive_over_time and cells.period_type <> 'month'

),

relations as (

    select * from area_relations
    union all
    select * from time_relations

),

-- relations whose total has no parts protect nothing and are dropped
relations_with_parts as (

    {{ relations_with_parts('relations') }}

),

-- records with no neighbourhood count in the municipality only: a municipality's count is
-- then more than the sum of its units', and the difference is a part of the relation that is
-- never published (a residual cell, always suppressed), so a suppressed municipality among
-- published units of count 0 cannot be worked out
with_counts as (

    select
        relations_with_parts.group_id,
        relations_with_parts.is_total,
        cells.municipality_code,
        cells.indicator_id,
        cells.area_id,
        cells.period_type,
        cells.period_start,
        cells.period_end,
        cells.cell_count
    from relations_with_parts
    inner join cells
        on relations_with_parts.cell_id = cells.cell_id
    where relations_with_parts.group_id like 'area|%'

),

residuals as (

    select
        group_id,
        max(municipality_code) as municipality_code,
        max(indicator_id) as indicator_id,
        max(case when is_total then area_id end) as area_id,
        max(period_type) as period_type,
        max(period_start) as period_start,
        max(period_end) as period_end,
        sum(case when is_total then coalesce(cell_count, 0) else -coalesce(cell_count, 0) end)
            as residual_count
    from with_counts
    group by group_id
    having sum(case when is_total then coalesce(cell_count, 0) else -coalesce(cell_count, 0) end) > 0

),

final as (

    select
        relations_with_parts.group_id,
        relations_with_parts.is_total,
        cells.cell_id,
        cells.municipality_code,
        cells.indicator_id,
        cells.area_level,
        cells.area_id,
        cells.period_type,
        cells.period_start,
        cells.period_end,
        cast(null as {{ stats_double_type() }}) as residual_count
    from relations_with_parts
    inner join cells
        on relations_with_parts.cell_id = cells.cell_id
    union all
    select
        group_id,
        false as is_total,
        {{ dbt.concat(["'residual|'", 'group_id']) }} as cell_id,
        municipality_code,
        indicator_id,
        cast('residual' as {{ dbt.type_string() }}) as area_level,
        area_id,
        period_type,
        period_start,
        period_end,
        cast(residual_count as {{ stats_double_type() }}) as residual_count
    from residuals

)

select * from final
