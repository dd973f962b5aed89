-- One row per walk-in visit of the Community Centre's daily intake log (current loads). The log
-- names no one, so visits link to no person or neighbourhood.
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

intake as (

    select * from {{ ref('stg_community_centre__intake') }}

),

current_visits as (

    select intake.*
    from intake
    inner join load_log
        on intake.load_id = load_log.load_id

),

final as (

    select
        row_id as visit_id,
        municipality_code,
        visit_on,
        visit_time,
        cast({{ dbt.date_trunc('month', 'visit_on') }} as date) as period_month,
        structure,
        is_new_visitor,
        visit_reason,
        period_month as export_period_month
    from current_visits

)

select * from final
