-- The published long table of indicator values (indicators.md, "One long table of indicator
-- values"): one row per indicator, area and period, with exactly the columns listed there.
-- Disclosure control: a row whose count (the numerator; for a median, the number of requests it
-- is taken over; for a proportion also a counted denominator) is between 1 and the threshold
-- (dbt variable disclosure_threshold) is suppressed, as is an age-standardised rate over fewer
-- than 10 events; then secondary suppression protects each suppressed row from being worked out
-- from a total: the areas inside an area (for one indicator and period) and, for counts of
-- events, the months of a quarter and the quarters of a year (for one indicator and area).
-- Suppressed rows keep their keys and population denominator and lose every value computed from
-- the count. Internal data-quality indicators (counts of file rows, no minimum in the catalogue)
-- are not suppressed.
with

values_all as (

    select * from {{ ref('int_indicator_values') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

cells as (

    select
        {{ indicator_cell_id('values_all') }} as cell_id,
        values_all.indicator_id,
        values_all.area_level,
        values_all.area_id,
        values_all.period_type,
        values_all.period_start,
        catalogue.is_additive_over_areas,
        catalogue.is_additive_over_time,
        case
            when values_all.catalogue_method = 'median' then values_all.denominator
            else values_all.numerator
        end as cell_count,
        case
            when catalogue.min_count_for_publication = 0 then false
            when values_all.catalogue_method = 'dsr_dobson'
                then coalesce(values_all.numerator, 0) < 10 or values_all.value is null
                    or {{ is_small_count('values_all.numerator') }}
            when values_all.catalogue_method = 'median'
                then {{ is_small_count('values_all.denominator') }}
            else
                {{ is_small_count('values_all.numerator') }}
                or (values_all.is_counted_denominator and {{ is_small_count('values_all.denominator') }})
        end as is_primary_suppressed
    from values_all
    inner join catalogue
        on values_all.indicator_id = catalogue.indicator_id

),

relations_with_parts as (

    select * from {{ ref('int_disclosure_relations') }}

),

disclosure_links as (

    select
        cells.cell_id,
        linked.cell_id as linked_cell_id
    from cells
    inner join catalogue
        on cells.indicator_id = catalogue.indicator_id
    inner join cells as linked
        on
            catalogue.suppress_with_indicator_id = linked.indicator_id
            and cells.area_level = linked.area_level
            and cells.area_id = linked.area_id
            and cells.period_type = linked.period_type
            and cells.period_start = linked.period_start

),

{{ disclosure_suppression('cells', 'relations_with_parts', rounds=var('disclosure_rounds', 10),
                          links='disclosure_links') }},

final as (

    select
        values_all.indicator_id,
        values_all.area_level,
        values_all.area_id,
        values_all.period_start,
        values_all.period_end,
        case when disclosure_final.is_suppressed then null else values_all.numerator end
            as numerator,
        case
            when disclosure_final.is_suppressed and values_all.is_counted_denominator then null
            else values_all.denominator
        end as denominator,
        case when disclosure_final.is_suppressed then null else values_all.value end as value,
        case when disclosure_final.is_suppressed then null else values_all.lower_95 end as lower_95,
        case when disclosure_final.is_suppressed then null else values_all.upper_95 end as upper_95,
        case when disclosure_final.is_suppressed then null else values_all.lower_998 end as lower_998,
        case when disclosure_final.is_suppressed then null else values_all.upper_998 end as upper_998,
        case
            when disclosure_final.is_suppressed or benchmark_disclosure.is_suppressed
                then 'not_compared'
            else values_all.compared_to_benchmark
        end as compared_to_benchmark,
        disclosure_final.is_suppressed as suppressed,
        values_all.method
    from values_all
    inner join cells
        on
            values_all.indicator_id = cells.indicator_id
            and values_all.area_level = cells.area_level
            and values_all.area_id = cells.area_id
            and values_all.period_type = cells.period_type
            and values_all.period_start = cells.period_start
    inner join disclosure_final
        on cells.cell_id = disclosure_final.cell_id
    left join cells as benchmark_cells
        on
            values_all.indicator_id = benchmark_cells.indicator_id
            and benchmark_cells.area_level = 'municipality'
            and values_all.municipality_code = benchmark_cells.area_id
            and values_all.period_type = benchmark_cells.period_type
            and values_all.period_start = benchmark_cells.period_start
    left join disclosure_final as benchmark_disclosure
        on benchmark_cells.cell_id = benchmark_disclosure.cell_id

)

select * from final
