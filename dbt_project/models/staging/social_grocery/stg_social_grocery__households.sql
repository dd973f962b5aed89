-- One row per application of a household to the Social Grocery, with its decision.
with

source as (

    select * from {{ source('social_grocery', 'households') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- people and records (keyed pseudonyms)
        person_key,
        person_key_type,
        amka_status,
        registry_no_key as registry_key,

        -- attributes
        members as household_size,
        minors as household_minors,
        disabled_members as household_disabled_members,
        annual_income_eur,
        points as eligibility_points,
        decision,

        -- geography
        neighbourhood_id,
        geocode_method,
        geocode_score,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates
        applied_on,
        decision_on,
        membership_end_on

    from source

)

select * from renamed
