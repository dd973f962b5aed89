-- Disclosure control of the national level: one row per national cell of int_indicator_values.
-- The municipalities' cells keep the suppression int_indicator_suppression gave them (frozen),
-- so that a new month of one municipality never changes another's published values. Relations:
--   the nation and its municipalities (for one indicator and period, where counts add up over
--     areas): when exactly one municipality is suppressed, the national cell is suppressed too
--     (it is the only cell not frozen), else the nation's total would reveal it;
--   a national quarter and its months, a national year and its quarters (counts of events):
--     a complement is chosen first among national cells whose own relation with the
--     municipalities already has a suppressed municipality (priority 0), since a national cell
--     without one could be worked out as the sum of the published municipalities.
with

values_all as (

    select * from {{ ref('int_indicator_values') }}
    where municipality_code is null

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

national_cells as (

    {{ indicator_disclosure_cells('values_all') }}

),

municipality_cells as (

    select * from {{ ref('int_indicator_suppression') }}
    where area_level = 'municipality'

),

protected_by_a_municipality as (

    select
        indicator_id,
        period_type,
        period_start
    from municipality_cells
    where is_suppressed
    group by indicator_id, period_type, period_start

),

cells as (

    select
        national_cells.cell_id,
        national_cells.indicator_id,
        national_cells.area_level,
        national_cells.area_id,
        national_cells.period_type,
        national_cells.period_start,
        national_cells.is_additive_over_areas,
        national_cells.is_additive_over_time,
        national_cells.cell_count,
        national_cells.is_primary_suppressed,
        false as is_frozen,
        case when protected_by_a_municipality.indicator_id is null then 1 else 0 end
            as candidate_priority
    from national_cells
    left join protected_by_a_municipality
        on
            national_cells.indicator_id = protected_by_a_municipality.indicator_id
            and national_cells.period_type = protected_by_a_municipality.period_type
            and national_cells.period_start = protected_by_a_municipality.period_start
    union all
    select
        municipality_cells.cell_id,
        municipality_cells.indicator_id,
        municipality_cells.area_level,
        municipality_cells.area_id,
        municipality_cells.period_type,
        municipality_cells.period_start,
        catalogue.is_additive_over_areas,
        catalogue.is_additive_over_time,
        municipality_cells.cell_count,
        municipality_cells.is_suppressed as is_primary_suppressed,
        true as is_frozen,
        0 as candidate_priority
    from municipality_cells
    inner join catalogue
        on municipality_cells.indicator_id = catalogue.indicator_id

),

relations_with_parts as (

    select * from {{ ref('int_disclosure_relations_national') }}

),

disclosure_links as (

    {{ indicator_disclosure_links('national_cells') }}

),

{{ disclosure_suppression('cells', 'relations_with_parts', rounds=var('disclosure_rounds', 10),
                          links='disclosure_links', frozen='is_frozen',
                          priority='candidate_priority') }},

final as (

    select
        national_cells.cell_id,
        cast(null as {{ dbt.type_string() }}) as municipality_code,
        national_cells.indicator_id,
        national_cells.area_level,
        national_cells.area_id,
        national_cells.period_type,
        national_cells.period_start,
        national_cells.cell_count,
        disclosure_final.is_suppressed,
        disclosure_final.suppression
    from national_cells
    inner join disclosure_final
        on national_cells.cell_id = disclosure_final.cell_id

)

select * from final
