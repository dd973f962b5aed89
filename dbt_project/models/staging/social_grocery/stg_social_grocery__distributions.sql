-- One row per distribution of goods by the Social Grocery to a registered household.
with

source as (

    select * from {{ source('social_grocery', 'distributions') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- records (keyed pseudonyms)
        registry_no_key as registry_key,

        -- attributes
        category as goods_category,
        quantity,
        unit as quantity_unit,
        value_eur,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates
        distributed_on

    from source

)

select * from renamed
