-- One row per Help at Home enrolment: a person's stay on the register from enrolled_on, in one
-- municipality. Clients come as monthly snapshots (each month's file lists every client active
-- in the month), so the snapshot rows of the same municipality, person and enrolled_on are one
-- enrolment. Each attribute is the latest non-null value among its snapshots (by reporting
-- month, then row_id). A snapshot row with no person key cannot be linked to the person's other
-- snapshots and is an enrolment on its own.
{%- set latest_attributes = [
    'neighbourhood_id', 'geocode_method', 'sex', 'birth_year', 'is_living_alone',
    'disability_pct', 'monthly_income_eur', 'exited_on', 'exit_reason',
] %}

{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

clients as (

    select * from {{ ref('stg_home_help__clients') }}

),

current_snapshots as (

    select
        clients.*,
        {{ dbt.concat([
            "clients.municipality_code",
            "'|'",
            "coalesce(clients.person_key, clients.row_id)",
            "'|'",
            "cast(clients.enrolled_on as " ~ dbt.type_string() ~ ")",
        ]) }} as enrolment_key
    from clients
    inner join load_log
        on clients.load_id = load_log.load_id

),

enrolments as (

    select
        enrolment_key,
        min(municipality_code) as municipality_code,
        min(person_key) as person_key,
        min(enrolled_on) as enrolled_on,
        min(period_month) as first_snapshot_month,
        max(period_month) as last_snapshot_month,
        count(*) as snapshots_count
    from current_snapshots
    group by enrolment_key

),

{% for attribute in latest_attributes %}
latest_{{ attribute }} as (

    select
        enrolment_key,
        {{ attribute }},
        row_number() over (
            partition by enrolment_key
            order by period_month desc, row_id desc
        ) as recency_rank
    from current_snapshots
    where {{ attribute }} is not null

),

{% endfor %}
final as (

    select
        {{ dbt.hash('enrolments.enrolment_key') }} as enrolment_id,
        case
            when enrolments.person_key is not null then {{ dbt.hash('enrolments.person_key') }}
        end as person_id,
        enrolments.municipality_code,
        {%- for attribute in latest_attributes %}
        latest_{{ attribute }}.{{ attribute }},
        {%- endfor %}
        enrolments.enrolled_on,
        latest_exited_on.exited_on is not null as has_exited,
        enrolments.first_snapshot_month,
        enrolments.last_snapshot_month,
        enrolments.snapshots_count
    from enrolments
    {%- for attribute in latest_attributes %}
    left join latest_{{ attribute }}
        on
            enrolments.enrolment_key = latest_{{ attribute }}.enrolment_key
            and latest_{{ attribute }}.recency_rank = 1
    {%- endfor %}

)

select * from final
