-- No table of the marts schema has a column carrying a keyed pseudonym of an identifier
-- (person_key, beneficiary_key, registry_key): marts use person_id and household_id, hashes of
-- them. person_key_type (amka / name, the kind of key, not a key) is allowed. Reads the adapter's
-- standard information_schema.columns; returns the offending columns.
-- It runs after every core mart (depends_on below), so it sees their current columns.
-- depends_on: {{ ref('dim_person') }}
-- depends_on: {{ ref('dim_household') }}
-- depends_on: {{ ref('dim_area') }}
-- depends_on: {{ ref('dim_body') }}
-- depends_on: {{ ref('dim_programme') }}
-- depends_on: {{ ref('dim_date') }}
-- depends_on: {{ ref('fct_cc_registrations') }}
-- depends_on: {{ ref('fct_cc_services') }}
-- depends_on: {{ ref('fct_cc_referrals') }}
-- depends_on: {{ ref('fct_cc_intake_visits') }}
-- depends_on: {{ ref('fct_grocery_decisions') }}
-- depends_on: {{ ref('fct_grocery_distributions') }}
-- depends_on: {{ ref('fct_home_help_enrolments') }}
-- depends_on: {{ ref('fct_home_help_visits') }}
-- depends_on: {{ ref('fct_call_centre_requests') }}
{%- set marts = ref('dim_person') %}

with

marts_columns as (

    select
        table_name,
        column_name
    from information_schema.columns
    where
        lower(table_catalog) = lower('{{ marts.database }}')
        and lower(table_schema) = lower('{{ marts.schema }}')

),

offending as (

    select
        table_name,
        column_name
    from marts_columns
    where
        (
            lower(column_name) like '%person_key%'
            or lower(column_name) like '%beneficiary_key%'
            or lower(column_name) like '%registry_key%'
        )
        and lower(column_name) <> 'person_key_type'

)

select * from offending
