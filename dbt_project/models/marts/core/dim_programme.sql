-- One row per programme of the registry of programmes (seed programmes), with the number of
-- bodies it funds (seed programme_bodies) and, for each landing source, whether it funds a body
-- that sends that source's exports: the join from a fact's source to the programmes behind it.
with

programmes as (

    select * from {{ ref('programmes') }}

),

programme_bodies as (

    select * from {{ ref('programme_bodies') }}

),

bodies as (

    select * from {{ ref('bodies') }}

),

funded as (

    select
        programme_bodies.programme_id,
        count(*) as funded_bodies_count,
        max(case when bodies.source = 'community_centre' then 1 else 0 end) = 1
            as funds_community_centre,
        max(case when bodies.source = 'social_grocery' then 1 else 0 end) = 1
            as funds_social_grocery,
        max(case when bodies.source = 'home_help' then 1 else 0 end) = 1 as funds_home_help
    from programme_bodies
    inner join bodies
        on programme_bodies.body_id = bodies.body_id
    group by programme_bodies.programme_id

),

final as (

    select
        programmes.programme_id,
        programmes.name_el,
        programmes.name_en,
        programmes.funding,
        programmes.operational_programme,
        programmes.start_year,
        programmes.end_year,
        programmes.end_year is null as is_open_ended,
        programmes.funded_body_ids,
        coalesce(funded.funded_bodies_count, 0) as funded_bodies_count,
        coalesce(funded.funds_community_centre, false) as funds_community_centre,
        coalesce(funded.funds_social_grocery, false) as funds_social_grocery,
        coalesce(funded.funds_home_help, false) as funds_home_help,
        programmes.esf_output_indicator_codes,
        programmes.is_illustrative,
        programmes.note
    from programmes
    left join funded
        on programmes.programme_id = funded.programme_id

)

select * from final
