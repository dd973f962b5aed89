-- The additive relations of the national level that disclosure control protects (as
-- int_disclosure_relations inside a municipality), one row per cell and relation:
--   the nation (total) and its municipalities (parts), for one indicator and period, where the
--     indicator's counts add up over areas;
--   a national quarter and its months, a national year and its quarters, where they add up
--     over time.
-- Relations whose total has no parts are left out. Rebuilt on every run (it is small).
with

values_all as (

    select * from {{ ref('int_indicator_values') }}
    where area_level in ('national', 'municipality')

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

periods as (

    select * from {{ ref('int_periods_national') }}

),

controlled as (

    {{ indicator_disclosure_cells('values_all', controlled_only=true) }}

),

period_parents as (

    {{ period_parents('periods', keys=[]) }}

),

relations as (

    -- the nation (total) and its municipalities (parts)
    select
        {{ dbt.concat(["'area|'", 'controlled.indicator_id', "'|national|" ~ national_area_id() ~ "|'",
                       'controlled.period_type', "'|'", dbt.cast('controlled.period_start', dbt.type_string())]) }}
            as group_id,
        controlled.cell_id,
        controlled.area_level = 'national' as is_total
    from controlled
    where controlled.is_additive_over_areas
    union all
    -- a national quarter or year (total) and its months or quarters (parts)
    select
        {{ dbt.concat(["'time|'", 'controlled.indicator_id', "'|national|" ~ national_area_id() ~ "|'",
                       'period_parents.parent_period_type', "'|'",
                       dbt.cast('period_parents.parent_period_start', dbt.type_string())]) }}
            as group_id,
        controlled.cell_id,
        false as is_total
    from controlled
    inner join period_parents
        on
            controlled.period_type = period_parents.period_type
            and controlled.period_start = period_parents.period_start
    where controlled.area_level = 'national' and controlled.is_additive_over_time
    union all
    select
        {{ dbt.concat(["'time|'", 'controlled.indicator_id', "'|national|" ~ national_area_id() ~ "|'",
                       'controlled.period_type', "'|'", dbt.cast('controlled.period_start', dbt.type_string())]) }}
            as group_id,
        controlled.cell_id,
        true as is_total
    from controlled
    where
        controlled.area_level = 'national'
        and controlled.is_additive_over_time
        and controlled.period_type <> 'month'

),

relations_with_parts as (

    {{ relations_with_parts('relations') }}

),

final as (

    select
        relations_with_parts.group_id,
        relations_with_parts.is_total,
        controlled.cell_id,
        controlled.indicator_id,
        controlled.area_level,
        controlled.area_id,
        controlled.period_type,
        controlled.period_start,
        controlled.period_end
    from relations_with_parts
    inner join controlled
        on relations_with_parts.cell_id = controlled.cell_id

)

select * from final
