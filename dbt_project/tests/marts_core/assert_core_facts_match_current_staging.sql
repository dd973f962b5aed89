-- Every core fact has one row per current staged row of its entity (one per distinct request
-- for requests, one per (municipality, person, enrolled_on) for Help at Home enrolments), and
-- fct_cc_referrals is exactly the referral rows of fct_cc_services. Returns the facts whose
-- count differs.
{%- set pairs = [
    ('fct_cc_registrations', 'stg_community_centre__beneficiaries', 'count(*)'),
    ('fct_cc_services', 'stg_community_centre__services', 'count(*)'),
    ('fct_cc_intake_visits', 'stg_community_centre__intake', 'count(*)'),
    ('fct_grocery_decisions', 'stg_social_grocery__households', 'count(*)'),
    ('fct_grocery_distributions', 'stg_social_grocery__distributions', 'count(*)'),
    ('fct_home_help_visits', 'stg_home_help__visits', 'count(*)'),
    (
        'fct_home_help_enrolments', 'stg_home_help__clients',
        "count(distinct " ~ dbt.concat([
            "staged.municipality_code", "'|'", "coalesce(staged.person_key, staged.row_id)", "'|'",
            "cast(staged.enrolled_on as " ~ dbt.type_string() ~ ")",
        ]) ~ ")",
    ),
    (
        'fct_call_centre_requests', 'stg_home_help__requests',
        "count(distinct " ~ dbt.concat(["staged.municipality_code", "'|'", "staged.request_no"]) ~ ")",
    ),
] %}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current

),

counts as (

    {%- for fact, staging, expected in pairs %}
    select
        '{{ fact }}' as fact_name,
        (select count(*) from {{ ref(fact) }}) as fact_rows,
        (
            select {{ expected }}
            from {{ ref(staging) }} as staged
            inner join load_log
                on staged.load_id = load_log.load_id
        ) as expected_rows
    union all
    {%- endfor %}
    select
        'fct_cc_referrals' as fact_name,
        (select count(*) from {{ ref('fct_cc_referrals') }}) as fact_rows,
        (
            select count(*)
            from {{ ref('fct_cc_services') }}
            where service_category = 'referral'
        ) as expected_rows

)

select *
from counts
where fact_rows <> expected_rows
