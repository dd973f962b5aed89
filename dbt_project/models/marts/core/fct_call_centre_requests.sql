-- One row per request to Help at Home (call centre, web or in person). request_no is the
-- municipality's own number, so a request is (municipality_code, request_no). Each month's
-- file lists the requests made in the month with their status as of the export; should a
-- request appear in several months' files (its status carried forward), the row of the latest
-- export is kept (latest reporting month, then latest load, then last row in the file), since it
-- has the most recent status, and exports_count says in how many files it appeared.
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

requests as (

    select * from {{ ref('stg_home_help__requests') }}

),

current_requests as (

    select requests.*
    from requests
    inner join load_log
        on requests.load_id = load_log.load_id

),

ranked as (

    select
        current_requests.*,
        row_number() over (
            partition by municipality_code, request_no
            order by period_month desc, loaded_at desc, load_id desc, source_row desc
        ) as recency_rank,
        count(*) over (partition by municipality_code, request_no) as exports_count,
        min(period_month) over (partition by municipality_code, request_no)
            as first_export_period_month
    from current_requests

),

latest as (

    select
        ranked.*,
        cast(requested_at as date) as requested_on
    from ranked
    where recency_rank = 1

),

final as (

    select
        {{ dbt.hash(dbt.concat(["municipality_code", "'|'", "request_no"])) }} as request_id,
        case when person_key is not null then {{ dbt.hash('person_key') }} end as person_id,
        municipality_code,
        neighbourhood_id,
        geocode_method,
        requested_at,
        requested_on,
        cast({{ dbt.date_trunc('month', 'requested_on') }} as date) as period_month,
        request_channel,
        need_type,
        request_status,
        request_status = 'fulfilled' as is_fulfilled,
        fulfilled_on,
        case
            when fulfilled_on is not null
                then {{ dbt.datediff('requested_on', 'fulfilled_on', 'day') }}
        end as days_to_fulfil,
        exports_count,
        first_export_period_month,
        period_month as export_period_month
    from latest

)

select * from final
