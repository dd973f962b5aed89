-- One row per Community Centre beneficiary registration of a current load. Vulnerable groups
-- (staged as a sorted ';'-separated list) become one flag each; a registration with no group
-- recorded has every flag false. is_first_registration marks the person's earliest registration
-- in the municipality (ties broken by row_id); registrations with no person key are grouped by
-- the centre's beneficiary code instead, so each still has one first registration.
{%- set vulnerable_groups = [
    'roma', 'migrant', 'refugee', 'disability', 'homeless', 'single_parent', 'large_family',
] %}
{%- set flag_names = {
    'roma': 'is_roma', 'migrant': 'is_migrant', 'refugee': 'is_refugee',
    'disability': 'has_disability', 'homeless': 'is_homeless',
    'single_parent': 'is_single_parent', 'large_family': 'is_large_family',
} %}

{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

beneficiaries as (

    select * from {{ ref('stg_community_centre__beneficiaries') }}

),

current_registrations as (

    select beneficiaries.*
    from beneficiaries
    inner join load_log
        on beneficiaries.load_id = load_log.load_id

),

ranked as (

    select
        current_registrations.*,
        {{ dbt.concat(["';'", "coalesce(vulnerable_groups, '')", "';'"]) }} as groups_delimited,
        row_number() over (
            partition by municipality_code, coalesce(person_key, beneficiary_key)
            order by registered_on asc, row_id asc
        ) as registration_order
    from current_registrations

),

final as (

    select
        row_id as registration_id,
        case when person_key is not null then {{ dbt.hash('person_key') }} end as person_id,
        municipality_code,
        neighbourhood_id,
        geocode_method,
        registered_on,
        cast({{ dbt.date_trunc('month', 'registered_on') }} as date) as period_month,
        structure,
        sex,
        birth_year,
        citizenship_group,
        employment_status,
        education,
        household_size,
        household_minors,
        is_kea_recipient,
        {%- for group in vulnerable_groups %}
        groups_delimited like '%;{{ group }};%' as {{ flag_names[group] }},
        {%- endfor %}
        registration_order = 1 as is_first_registration,
        person_key_type,
        period_month as export_period_month
    from ranked

)

select * from final
