-- Households of each neighbourhood, as the municipality supplied them: the denominator
-- of per-household rates (e.g. social-grocery households per 1,000 households).
with

source as (

    select * from {{ source('municipality', 'households') }}

),

renamed as (

    select
        -- ids
        municipality_code,
        neighbourhood_id,

        -- count
        households

    from source

)

select * from renamed
