-- One row per Social Grocery household (municipality and registry number): every household with
-- an application or a distribution in a current load. Household attributes come from its latest
-- application (applied_on, then row_id); the applicant from the latest application that names a
-- person; the neighbourhood from the latest application with one. A household seen only in
-- distributions (it applied before the data begins, or its application row was rejected) has
-- has_application false and no attributes.
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

households as (

    select * from {{ ref('stg_social_grocery__households') }}

),

distributions as (

    select * from {{ ref('stg_social_grocery__distributions') }}

),

current_applications as (

    select households.*
    from households
    inner join load_log
        on households.load_id = load_log.load_id

),

current_distributions as (

    select distributions.*
    from distributions
    inner join load_log
        on distributions.load_id = load_log.load_id

),

ranked_applications as (

    select
        current_applications.*,
        row_number() over (
            partition by municipality_code, registry_key
            order by applied_on desc, row_id desc
        ) as recency_rank
    from current_applications

),

application_summary as (

    select
        municipality_code,
        registry_key,
        count(*) as applications_count,
        min(applied_on) as first_applied_on,
        max(applied_on) as latest_applied_on,
        max(case when decision = 'approved' then 1 else 0 end) = 1 as has_approval
    from current_applications
    group by municipality_code, registry_key

),

latest_applicant as (

    select
        municipality_code,
        registry_key,
        person_key,
        row_number() over (
            partition by municipality_code, registry_key
            order by applied_on desc, row_id desc
        ) as recency_rank
    from current_applications
    where person_key is not null

),

latest_neighbourhood as (

    select
        municipality_code,
        registry_key,
        neighbourhood_id,
        row_number() over (
            partition by municipality_code, registry_key
            order by applied_on desc, row_id desc
        ) as recency_rank
    from current_applications
    where neighbourhood_id is not null

),

distribution_summary as (

    select
        municipality_code,
        registry_key,
        count(*) as distributions_count,
        min(distributed_on) as first_distributed_on,
        max(distributed_on) as latest_distributed_on
    from current_distributions
    group by municipality_code, registry_key

),

household_keys as (

    select
        municipality_code,
        registry_key
    from application_summary
    union
    select
        municipality_code,
        registry_key
    from distribution_summary

),

final as (

    select
        {{ dbt.hash('household_keys.registry_key') }} as household_id,
        household_keys.municipality_code,
        case
            when latest_applicant.person_key is not null
                then {{ dbt.hash('latest_applicant.person_key') }}
        end as applicant_person_id,
        latest_neighbourhood.neighbourhood_id,
        latest_application.household_size,
        latest_application.household_minors,
        latest_application.household_disabled_members,
        application_summary.first_applied_on,
        application_summary.latest_applied_on,
        latest_application.decision as latest_decision,
        latest_application.decision_on as latest_decision_on,
        latest_application.membership_end_on as latest_membership_end_on,
        application_summary.registry_key is not null as has_application,
        coalesce(application_summary.applications_count, 0) as applications_count,
        coalesce(application_summary.has_approval, false) as has_approval,
        coalesce(distribution_summary.distributions_count, 0) as distributions_count,
        distribution_summary.first_distributed_on,
        distribution_summary.latest_distributed_on
    from household_keys
    left join application_summary
        on
            household_keys.municipality_code = application_summary.municipality_code
            and household_keys.registry_key = application_summary.registry_key
    left join ranked_applications as latest_application
        on
            household_keys.municipality_code = latest_application.municipality_code
            and household_keys.registry_key = latest_application.registry_key
            and latest_application.recency_rank = 1
    left join latest_applicant
        on
            household_keys.municipality_code = latest_applicant.municipality_code
            and household_keys.registry_key = latest_applicant.registry_key
            and latest_applicant.recency_rank = 1
    left join latest_neighbourhood
        on
            household_keys.municipality_code = latest_neighbourhood.municipality_code
            and household_keys.registry_key = latest_neighbourhood.registry_key
            and latest_neighbourhood.recency_rank = 1
    left join distribution_summary
        on
            household_keys.municipality_code = distribution_summary.municipality_code
            and household_keys.registry_key = distribution_summary.registry_key

)

select * from final
