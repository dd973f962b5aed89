-- One row per home visit by Help at Home staff.
with

source as (

    select * from {{ source('home_help', 'visits') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- people (keyed pseudonyms)
        person_key,
        person_key_type,
        amka_status,

        -- attributes
        staff_role,
        service_type,
        duration_minutes,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates
        visit_on

    from source

)

select * from renamed
