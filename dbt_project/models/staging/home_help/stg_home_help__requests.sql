-- One row per request to Help at Home (call centre, web or in person), status as of the export.
with

source as (

    select * from {{ source('home_help', 'requests') }}

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
        _repairs as repair_codes,
        _repairs is not null as is_repaired,

        -- dates and times
        requested_at,
        fulfilled_on

    from source

)

select * from renamed
