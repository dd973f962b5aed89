-- One row per street segment (a range of house numbers on one street) of a municipality's
-- gazetteer, with the neighbourhood it lies in: what ingest geocodes addresses against.
with

source as (

    select * from {{ source('municipality', 'gazetteer') }}

),

renamed as (

    select
        -- ids
        street_id as street_segment_id,
        municipality_code,
        neighbourhood_id,

        -- the segment
        street_type,
        street_name,
        number_from,
        number_to,
        postcode,
        settlement_name

    from source

)

select * from renamed
