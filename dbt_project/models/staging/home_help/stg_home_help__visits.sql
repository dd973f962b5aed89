-- One row per home visit by Help at Home staff.
with

source as (

    select * from {{ source('home_help', 'visits') }}

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

        -- people (keyed pseudonyms)
        person_key,
        person_key_type,
        amka_status,

        -- attributes
        staff_role,
        service_type,
        duration_minutes,

        -- data quality
        _repairs as repair_codes,
        _repairs is not null as is_repaired,

        -- dates
        visit_on

    from source

)

select * from renamed
