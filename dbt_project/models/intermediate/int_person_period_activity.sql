-- One row per person, structure and reporting period (month, quarter, year) in which the person
-- was active in the structure, with the person's neighbourhood and attributes as of the period:
--   community_centre: registered or served in the period (duplicate registrations linked by the
--       person spine); attributes from the latest registration on or before the period end
--       (else the first one);
--   social_grocery: applicant of a household with an approved membership overlapping the period
--       (decision date to membership end; only the applicant is identified in the export);
--   home_help: client with an enrolment overlapping the period (enrolled by its end, not exited
--       before its start); attributes from the latest such enrolment.
-- Each person has one row per structure and period, and one neighbourhood in it, so counts of
-- persons add up over areas.
{{ config(**municipality_partitioned()) }}

with

periods as (

    select * from {{ ref('int_periods') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

registrations as (

    select * from {{ ref('fct_cc_registrations') }}
    where person_id is not null and {{ in_municipality_partitions('municipality_code') }}

),

services as (

    select * from {{ ref('fct_cc_services') }}
    where person_id is not null and {{ in_municipality_partitions('municipality_code') }}

),

grocery_decisions as (

    select * from {{ ref('fct_grocery_decisions') }}
    where is_approved and applicant_person_id is not null and {{ in_municipality_partitions('municipality_code') }}

),

enrolments as (

    select * from {{ ref('fct_home_help_enrolments') }}
    where person_id is not null and {{ in_municipality_partitions('municipality_code') }}

),

cc_events as (

    select
        person_id,
        municipality_code,
        registered_on as activity_on
    from registrations
    union all
    select
        person_id,
        municipality_code,
        service_on as activity_on
    from services

),

cc_active as (

    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        cc_events.person_id,
        cc_events.municipality_code,
        max(cc_events.activity_on) as last_activity_on
    from cc_events
    inner join periods
        on
            cc_events.municipality_code = periods.municipality_code
            and cc_events.activity_on between periods.period_start and periods.period_end
    group by
        periods.period_type,
        periods.period_start,
        periods.period_end,
        cc_events.person_id,
        cc_events.municipality_code

),

cc_as_of as (

    select
        cc_active.period_type,
        cc_active.period_start,
        cc_active.period_end,
        cc_active.person_id,
        cc_active.municipality_code,
        cc_active.last_activity_on,
        registrations.neighbourhood_id,
        registrations.sex,
        registrations.birth_year,
        registrations.is_kea_recipient,
        registrations.employment_status,
        registrations.is_roma,
        registrations.is_migrant or registrations.is_refugee as is_migrant_or_refugee,
        registrations.has_disability,
        registrations.is_homeless,
        registrations.is_single_parent,
        row_number() over (
            partition by
                cc_active.period_type,
                cc_active.period_start,
                cc_active.person_id,
                cc_active.municipality_code
            order by
                case when registrations.registered_on <= cc_active.period_end then 0 else 1 end,
                case
                    when registrations.registered_on <= cc_active.period_end
                        then {{ dbt.datediff('registrations.registered_on', 'cc_active.period_end', 'day') }}
                    else {{ dbt.datediff('cc_active.period_end', 'registrations.registered_on', 'day') }}
                end,
                registrations.registration_id desc
        ) as registration_rank
    from cc_active
    inner join registrations
        on
            cc_active.person_id = registrations.person_id
            and cc_active.municipality_code = registrations.municipality_code

),

cc_rows as (

    select
        cast('community_centre' as {{ dbt.type_string() }}) as structure,
        period_type,
        period_start,
        period_end,
        person_id,
        municipality_code,
        neighbourhood_id,
        last_activity_on,
        sex,
        birth_year,
        is_kea_recipient,
        employment_status,
        is_roma,
        is_migrant_or_refugee,
        has_disability,
        is_homeless,
        is_single_parent,
        cast(null as boolean) as is_living_alone
    from cc_as_of
    where registration_rank = 1

),

sg_overlaps as (

    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        grocery_decisions.applicant_person_id as person_id,
        grocery_decisions.municipality_code,
        grocery_decisions.neighbourhood_id,
        grocery_decisions.decision_on,
        row_number() over (
            partition by
                periods.period_type,
                periods.period_start,
                grocery_decisions.applicant_person_id,
                grocery_decisions.municipality_code
            order by grocery_decisions.decision_on desc, grocery_decisions.application_id desc
        ) as decision_rank
    from grocery_decisions
    inner join periods
        on
            grocery_decisions.municipality_code = periods.municipality_code
            and grocery_decisions.decision_on <= periods.period_end
            and (
                grocery_decisions.membership_end_on is null
                or grocery_decisions.membership_end_on >= periods.period_start
            )

),

sg_rows as (

    select
        cast('social_grocery' as {{ dbt.type_string() }}) as structure,
        period_type,
        period_start,
        period_end,
        person_id,
        municipality_code,
        neighbourhood_id,
        case when decision_on > period_start then decision_on else period_start end
            as last_activity_on,
        cast(null as {{ dbt.type_string() }}) as sex,
        cast(null as {{ dbt.type_bigint() }}) as birth_year,
        cast(null as boolean) as is_kea_recipient,
        cast(null as {{ dbt.type_string() }}) as employment_status,
        cast(null as boolean) as is_roma,
        cast(null as boolean) as is_migrant_or_refugee,
        cast(null as boolean) as has_disability,
        cast(null as boolean) as is_homeless,
        cast(null as boolean) as is_single_parent,
        cast(null as boolean) as is_living_alone
    from sg_overlaps
    where decision_rank = 1

),

hh_overlaps as (

    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        enrolments.person_id,
        enrolments.municipality_code,
        enrolments.neighbourhood_id,
        enrolments.enrolled_on,
        enrolments.exited_on,
        enrolments.sex,
        enrolments.birth_year,
        enrolments.is_living_alone,
        row_number() over (
            partition by
                periods.period_type,
                periods.period_start,
                enrolments.person_id,
                enrolments.municipality_code
            order by enrolments.enrolled_on desc, enrolments.enrolment_id desc
        ) as enrolment_rank
    from enrolments
    inner join periods
        on
            enrolments.municipality_code = periods.municipality_code
            and enrolments.enrolled_on <= periods.period_end
            and (enrolments.exited_on is null or enrolments.exited_on >= periods.period_start)

),

hh_rows as (

    select
        cast('home_help' as {{ dbt.type_string() }}) as structure,
        period_type,
        period_start,
        period_end,
        person_id,
        municipality_code,
        neighbourhood_id,
        case
            when exited_on is not null and exited_on < period_end then exited_on
            else period_end
        end as last_activity_on,
        sex,
        birth_year,
        cast(null as boolean) as is_kea_recipient,
        cast(null as {{ dbt.type_string() }}) as employment_status,
        cast(null as boolean) as is_roma,
        cast(null as boolean) as is_migrant_or_refugee,
        cast(null as boolean) as has_disability,
        cast(null as boolean) as is_homeless,
        cast(null as boolean) as is_single_parent,
        is_living_alone
    from hh_overlaps
    where enrolment_rank = 1

),

unioned as (

    select * from cc_rows
    union all
    select * from sg_rows
    union all
    select * from hh_rows

),

final as (

    select
        unioned.*,
        extract(year from period_end) - birth_year as age_at_period_end
    from unioned

)

select * from final
