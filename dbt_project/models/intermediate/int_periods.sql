-- One row per municipality and reporting period the indicators are computed for: every month
-- between the first and the last month a current load of that municipality covers, and every
-- quarter and calendar year overlapping that range. is_complete is false for a quarter or year
-- the data covers only in part (the first or last, while the year is still running): such
-- values count fewer months. Each municipality has its own range, so that a new month of one
-- municipality adds periods to it alone (incremental builds by municipality); the national
-- level covers the union of the municipalities' periods (int_periods_national).
{%- set max_months = 1200 %}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current

),

data_range as (

    select
        municipality_code,
        min(period_month) as first_month,
        max(period_month) as last_month
    from load_log
    where period_month is not null
    group by municipality_code

),

numbers as (

    {{ dbt.generate_series(max_months) }}

),

months as (

    select
        data_range.municipality_code,
        {{ dbt.dateadd('month', 'numbers.generated_number - 1', 'data_range.first_month') }}
            as month_start
    from numbers
    cross join data_range
    where numbers.generated_number - 1
        <= {{ dbt.datediff('data_range.first_month', 'data_range.last_month', 'month') }}

),

month_periods as (

    select
        municipality_code,
        cast('month' as {{ dbt.type_string() }}) as period_type,
        cast(month_start as date) as period_start,
        cast({{ dbt.last_day('month_start', 'month') }} as date) as period_end,
        1 as months_in_period,
        1 as months_covered
    from months

),

quarter_periods as (

    select
        municipality_code,
        cast('quarter' as {{ dbt.type_string() }}) as period_type,
        cast({{ dbt.date_trunc('quarter', 'month_start') }} as date) as period_start,
        cast({{ dbt.last_day(dbt.date_trunc('quarter', 'month_start'), 'quarter') }} as date)
            as period_end,
        3 as months_in_period,
        count(*) as months_covered
    from months
    group by municipality_code, {{ dbt.date_trunc('quarter', 'month_start') }}

),

year_periods as (

    select
        municipality_code,
        cast('year' as {{ dbt.type_string() }}) as period_type,
        cast({{ dbt.date_trunc('year', 'month_start') }} as date) as period_start,
        cast({{ dbt.last_day(dbt.date_trunc('year', 'month_start'), 'year') }} as date)
            as period_end,
        12 as months_in_period,
        count(*) as months_covered
    from months
    group by municipality_code, {{ dbt.date_trunc('year', 'month_start') }}

),

unioned as (

    select * from month_periods
    union all
    select * from quarter_periods
    union all
    select * from year_periods

),

final as (

    select
        municipality_code,
        period_type,
        period_start,
        period_end,
        months_in_period,
        months_covered,
        months_covered = months_in_period as is_complete
    from unioned

)

select * from final
