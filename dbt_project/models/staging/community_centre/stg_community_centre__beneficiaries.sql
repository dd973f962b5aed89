-- One row per beneficiary registration at the Community Centre (ΚΚ), as loaded by ingest:
-- identifiers already pseudonymised, the address already geocoded to a neighbourhood.
with

source as (

    select * from {{ source('community_centre', 'beneficiaries') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- people and records (keyed pseudonyms)
        person_key,
        person_key_type,
        amka_status,
        afm_status,
        beneficiary_code_key as beneficiary_key,

        -- attributes
        sex,
        birth_year,
        citizenship as citizenship_group,
        household_size,
        household_minors,
        employment_status,
        education,
        vulnerable_groups,
        kea_recipient as is_kea_recipient,
        structure,

        -- geography
        neighbourhood_id,
        geocode_method,
        geocode_score,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates
        registered_on

    from source

)

select * from renamed
