-- One row per distribution of goods by the Social Grocery to a registered household.
with

source as (

    select * from {{ source('social_grocery', 'distributions') }}

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
        registry_no_key as registry_key,

        -- attributes
        category as goods_category,
        quantity,
        unit as quantity_unit,
        value_eur,

        -- data quality
        _repairs as repair_codes,
        _repairs is not null as is_repaired,

        -- dates
        distributed_on

    from source

)

select * from renamed
