-- One row per home visit by Help at Home staff (current loads), placed in the neighbourhood of
-- the client's latest enrolment in the same municipality (fct_home_help_enrolments: latest
-- enrolled_on, then latest snapshot). Visits carry no address of their own.
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

visits as (

    select * from {{ ref('stg_home_help__visits') }}

),

enrolments as (

    select * from {{ ref('fct_home_help_enrolments') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

current_visits as (

    select
        visits.*,
        case when visits.person_key is not null then {{ dbt.hash('visits.person_key') }} end
            as person_id
    from visits
    inner join load_log
        on visits.load_id = load_log.load_id

),

latest_enrolment as (

    select
        person_id,
        municipality_code,
        enrolment_id,
        neighbourhood_id,
        row_number() over (
            partition by municipality_code, person_id
            order by enrolled_on desc, last_snapshot_month desc, enrolment_id desc
        ) as recency_rank
    from enrolments
    where person_id is not null

),

final as (

    select
        current_visits.row_id as visit_id,
        current_visits.person_id,
        current_visits.municipality_code,
        latest_enrolment.neighbourhood_id,
        latest_enrolment.enrolment_id is not null as has_enrolment,
        current_visits.visit_on,
        cast({{ dbt.date_trunc('month', 'current_visits.visit_on') }} as date) as period_month,
        current_visits.staff_role,
        current_visits.service_type,
        current_visits.duration_minutes,
        current_visits.period_month as export_period_month
    from current_visits
    left join latest_enrolment
        on
            current_visits.municipality_code = latest_enrolment.municipality_code
            and current_visits.person_id = latest_enrolment.person_id
            and latest_enrolment.recency_rank = 1

)

select * from final
