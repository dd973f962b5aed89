-- One row per request to Help at Home (call centre, web or in person), status as of the export.
with

source as (

    select * from {{ source('home_help', 'requests') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- people and records
        person_key,
        person_key_type,
        amka_status,
        request_no,

        -- attributes
        channel as request_channel,
        need_type,
        status as request_status,

        -- geography
        neighbourhood_id,
        geocode_method,
        geocode_score,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates and times
        requested_at,
        fulfilled_on

    from source

)

select * from renamed
