-- One row per service given or referral made by the Community Centre.
with

source as (

    select * from {{ source('community_centre', 'services') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ dbt.concat(["_load_id", "'-'", "cast(_source_row as " ~ dbt.type_string() ~ ")"]) }} as row_id,
        _load_id as load_id,
        _municipality_code as municipality_code,
        _period as period_month,
        _source_row as source_row,
        _loaded_at as loaded_at,

        -- records (keyed pseudonyms)
        beneficiary_code_key as beneficiary_key,

        -- attributes
        service_category,
        service as service_description,
        referral_body,
        referral_status,

        -- data quality
        _repairs as repair_codes,
        _repairs is not null as is_repaired,

        -- dates
        service_on,
        outcome_on

    from source

)

select * from renamed
