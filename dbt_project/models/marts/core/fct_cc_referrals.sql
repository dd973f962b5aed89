-- One row per referral the Community Centre made (the referral rows of fct_cc_services, same
-- keys), with whether it was completed as of the latest export and the days to its outcome.
{{ config(**municipality_partitioned()) }}

with

services as (

    select * from {{ ref('fct_cc_services') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

final as (

    select
        service_id,
        municipality_code,
        person_id,
        neighbourhood_id,
        has_registration,
        service_on,
        period_month,
        has_referral_body,
        referral_body_id,
        referral_status,
        coalesce(referral_status = 'completed', false) as is_completed,
        coalesce(referral_status = 'rejected', false) as is_rejected,
        outcome_on,
        case
            when outcome_on is not null
                then {{ dbt.datediff('service_on', 'outcome_on', 'day') }}
        end as days_to_outcome,
        export_period_month
    from services
    where is_referral

)

select * from final
