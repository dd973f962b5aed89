-- One row per service given or referral made by the Community Centre.
with

source as (

    select * from {{ source('community_centre', 'services') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- records (keyed pseudonyms)
        beneficiary_code_key as beneficiary_key,

        -- attributes
        service_category,
        service as service_description,
        referral_body,
        referral_status,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates
        service_on,
        outcome_on

    from source

)

select * from renamed
