-- The reporting periods of the national level: the union of the municipalities' periods.
with

periods as (

    select * from {{ ref('int_periods') }}

),

final as (

    select
        period_type,
        period_start,
        max(period_end) as period_end,
        max(months_in_period) as months_in_period,
        max(months_covered) as months_covered,
        min(case when is_complete then 1 else 0 end) = 1 as is_complete,
        count(*) as municipalities_count
    from periods
    group by period_type, period_start

)

select * from final
