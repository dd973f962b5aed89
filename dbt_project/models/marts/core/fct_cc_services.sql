-- One row per service given or referral made by the Community Centre (current loads). The person
-- comes from the beneficiary registrations of the same municipality that carry the service's
-- beneficiary code: the latest one with a person key gives person_id, the latest one with a
-- neighbourhood gives neighbourhood_id; both are null when no registration carries the code
-- (registered before the data begins, or the registration row was rejected).
-- The referral body is free text: it is normalised in SQL as ingest.text.normalise_greek does
-- (macro normalise_greek) and matched on equality to the seed body_spellings.
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

services as (

    select * from {{ ref('stg_community_centre__services') }}

),

beneficiaries as (

    select * from {{ ref('stg_community_centre__beneficiaries') }}

),

body_spellings as (

    select * from {{ ref('body_spellings') }}

),

current_services as (

    select services.*
    from services
    inner join load_log
        on services.load_id = load_log.load_id

),

current_registrations as (

    select beneficiaries.*
    from beneficiaries
    inner join load_log
        on beneficiaries.load_id = load_log.load_id

),

registration_person as (

    select
        municipality_code,
        beneficiary_key,
        person_key,
        row_number() over (
            partition by municipality_code, beneficiary_key
            order by registered_on desc, row_id desc
        ) as recency_rank
    from current_registrations
    where person_key is not null

),

registration_neighbourhood as (

    select
        municipality_code,
        beneficiary_key,
        neighbourhood_id,
        row_number() over (
            partition by municipality_code, beneficiary_key
            order by registered_on desc, row_id desc
        ) as recency_rank
    from current_registrations
    where neighbourhood_id is not null

),

registered_codes as (

    select distinct
        municipality_code,
        beneficiary_key
    from current_registrations

),

referral_bodies as (

    select distinct
        referral_body,
        {{ normalise_greek('referral_body') }} as referral_body_normalised
    from current_services
    where referral_body is not null

),

matched_bodies as (

    select
        referral_bodies.referral_body,
        body_spellings.body_id
    from referral_bodies
    inner join body_spellings
        on referral_bodies.referral_body_normalised = body_spellings.spelling_normalised

),

final as (

    select
        current_services.row_id as service_id,
        current_services.municipality_code,
        case
            when registration_person.person_key is not null
                then {{ dbt.hash('registration_person.person_key') }}
        end as person_id,
        registration_neighbourhood.neighbourhood_id,
        registered_codes.beneficiary_key is not null as has_registration,
        current_services.service_on,
        cast({{ dbt.date_trunc('month', 'current_services.service_on') }} as date) as period_month,
        current_services.service_category,
        current_services.service_category = 'referral' as is_referral,
        current_services.referral_body is not null as has_referral_body,
        matched_bodies.body_id as referral_body_id,
        current_services.referral_status,
        current_services.outcome_on,
        current_services.period_month as export_period_month
    from current_services
    left join registration_person
        on
            current_services.municipality_code = registration_person.municipality_code
            and current_services.beneficiary_key = registration_person.beneficiary_key
            and registration_person.recency_rank = 1
    left join registration_neighbourhood
        on
            current_services.municipality_code = registration_neighbourhood.municipality_code
            and current_services.beneficiary_key = registration_neighbourhood.beneficiary_key
            and registration_neighbourhood.recency_rank = 1
    left join registered_codes
        on
            current_services.municipality_code = registered_codes.municipality_code
            and current_services.beneficiary_key = registered_codes.beneficiary_key
    left join matched_bodies
        on current_services.referral_body = matched_bodies.referral_body

)

select * from final
