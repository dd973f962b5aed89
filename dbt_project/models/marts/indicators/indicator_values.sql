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
-- are not suppressed. The control runs inside each municipality (int_indicator_suppression),
-- then for the national level (int_indicator_suppression_national). A municipality is compared
-- with the national level, every other area with its municipality.
-- A view over the incremental tables: building it costs nothing, and the published snapshot
-- holds it as a table.
{{ config(materialized='view') }}
with

values_all as (

    select * from {{ ref('int_indicator_values') }}

),

suppression as (

    select * from {{ ref('int_indicator_suppression') }}
    union all
    select * from {{ ref('int_indicator_suppression_national') }}

),

benchmarks as (

    -- the benchmark of each row: its municipality, or for a municipality the national level
    select
        values_all.indicator_id,
        values_all.area_level,
        values_all.area_id,
        values_all.period_type,
        values_all.period_start,
        values_all.value,
        suppression.is_suppressed
    from values_all
    inner join suppression
        on
            values_all.indicator_id = suppression.indicator_id
            and values_all.area_level = suppression.area_level
            and values_all.area_id = suppression.area_id
            and values_all.period_type = suppression.period_type
            and values_all.period_start = suppression.period_start
    where values_all.area_level in ('municipality', 'national')

),

final as (

    select
        values_all.indicator_id,
        values_all.area_level,
        values_all.area_id,
        values_all.period_start,
        values_all.period_end,
        case when suppression.is_suppressed then null else values_all.numerator end
            as numerator,
        case
            when suppression.is_suppressed and values_all.is_counted_denominator then null
            else values_all.denominator
        end as denominator,
        case when suppression.is_suppressed then null else values_all.value end as value,
        case when suppression.is_suppressed then null else values_all.lower_95 end as lower_95,
        case when suppression.is_suppressed then null else values_all.upper_95 end as upper_95,
        case when suppression.is_suppressed then null else values_all.lower_998 end as lower_998,
        case when suppression.is_suppressed then null else values_all.upper_998 end as upper_998,
        case
            when suppression.is_suppressed or benchmark.is_suppressed then 'not_compared'
            when values_all.area_level = 'municipality'
                and values_all.catalogue_method not in ('count', 'median')
                then {{ compared_to_benchmark('values_all', 'benchmark.value') }}
            else values_all.compared_to_benchmark
        end as compared_to_benchmark,
        suppression.is_suppressed as suppressed,
        values_all.method
    from values_all
    inner join suppression
        on
            values_all.indicator_id = suppression.indicator_id
            and values_all.area_level = suppression.area_level
            and values_all.area_id = suppression.area_id
            and values_all.period_type = suppression.period_type
            and values_all.period_start = suppression.period_start
    left join benchmarks as benchmark
        on
            values_all.indicator_id = benchmark.indicator_id
            and values_all.period_type = benchmark.period_type
            and values_all.period_start = benchmark.period_start
            and (
                (
                    values_all.area_level = 'municipality'
                    and benchmark.area_level = 'national'
                )
                or (
                    values_all.area_level not in ('municipality', 'national')
                    and benchmark.area_level = 'municipality'
                    and values_all.municipality_code = benchmark.area_id
                )
            )

)

select * from final
