-- One row per distribution of goods by the Social Grocery to a household (current loads), placed
-- in the household's neighbourhood (dim_household: its latest application with one).
{{ config(**municipality_partitioned()) }}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}
    where is_current and {{ in_municipality_partitions('municipality_code') }}

),

distributions as (

    select * from {{ ref('stg_social_grocery__distributions') }}

),

households as (

    select * from {{ ref('dim_household') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

current_distributions as (

    select distributions.*
    from distributions
    inner join load_log
        on distributions.load_id = load_log.load_id

),

final as (

    select
        current_distributions.row_id as distribution_id,
        {{ dbt.hash('current_distributions.registry_key') }} as household_id,
        current_distributions.municipality_code,
        households.neighbourhood_id,
        current_distributions.distributed_on,
        cast({{ dbt.date_trunc('month', 'current_distributions.distributed_on') }} as date)
            as period_month,
        current_distributions.goods_category,
        current_distributions.quantity,
        current_distributions.quantity_unit,
        current_distributions.value_eur,
        current_distributions.period_month as export_period_month
    from current_distributions
    left join households
        on
            current_distributions.municipality_code = households.municipality_code
            and {{ dbt.hash('current_distributions.registry_key') }} = households.household_id

)

select * from final
