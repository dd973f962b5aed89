-- One row per application of a household to the Social Grocery (current loads), with its
-- decision as exported: approved, rejected or pending.
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

households as (

    select * from {{ ref('stg_social_grocery__households') }}

),

current_applications as (

    select households.*
    from households
    inner join load_log
        on households.load_id = load_log.load_id

),

final as (

    select
        row_id as application_id,
        {{ dbt.hash('registry_key') }} as household_id,
        case when person_key is not null then {{ dbt.hash('person_key') }} end
            as applicant_person_id,
        municipality_code,
        neighbourhood_id,
        geocode_method,
        applied_on,
        cast({{ dbt.date_trunc('month', 'applied_on') }} as date) as period_month,
        decision,
        decision_on,
        membership_end_on,
        decision = 'approved' as is_approved,
        case
            when decision_on is not null
                then {{ dbt.datediff('applied_on', 'decision_on', 'day') }}
        end as days_to_decision,
        household_size,
        household_minors,
        household_disabled_members,
        annual_income_eur,
        eligibility_points,
        person_key_type,
        period_month as export_period_month
    from current_applications

)

select * from final
