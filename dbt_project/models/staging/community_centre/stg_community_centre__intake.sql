-- One row per walk-in visit to the Community Centre (the daily intake log: no identity).
with

source as (

    select * from {{ source('community_centre', 'intake') }}

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

        -- attributes
        structure,
        is_new as is_new_visitor,
        reason as visit_reason,

        -- data quality
        _repairs as repair_codes,
        _repairs is not null as is_repaired,

        -- dates and times
        visit_on,
        visit_time

    from source

)

select * from renamed
