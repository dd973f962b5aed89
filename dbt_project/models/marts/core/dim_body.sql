-- One row per body of the registry of bodies (seed bodies): the structures that record or
-- receive people and every referral destination, with how many spellings of it the referral
-- matching knows (seed body_spellings) and the programmes that fund it (seed programme_bodies).
with

bodies as (

    select * from {{ ref('bodies') }}

),

body_spellings as (

    select * from {{ ref('body_spellings') }}

),

programme_bodies as (

    select * from {{ ref('programme_bodies') }}

),

spellings_per_body as (

    select
        body_id,
        count(*) as spellings_count
    from body_spellings
    group by body_id

),

programmes_per_body as (

    select
        body_id,
        count(*) as programmes_count
    from programme_bodies
    group by body_id

),

final as (

    select
        bodies.body_id,
        bodies.name_el,
        bodies.name_en,
        bodies.body_type,
        bodies.is_municipal,
        bodies.parent_body_id,
        bodies.source,
        bodies.structure_code,
        bodies.structure_id,
        bodies.is_referral_destination,
        bodies.is_illustrative,
        coalesce(spellings_per_body.spellings_count, 0) as spellings_count,
        coalesce(programmes_per_body.programmes_count, 0) as programmes_count,
        bodies.note
    from bodies
    left join spellings_per_body
        on bodies.body_id = spellings_per_body.body_id
    left join programmes_per_body
        on bodies.body_id = programmes_per_body.body_id

)

select * from final
