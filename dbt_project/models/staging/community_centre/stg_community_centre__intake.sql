-- One row per walk-in visit to the Community Centre (the daily intake log: no identity).
with

source as (

    select * from {{ source('community_centre', 'intake') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- attributes
        structure,
        is_new as is_new_visitor,
        reason as visit_reason,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates and times
        visit_on,
        visit_time

    from source

)

select * from renamed
