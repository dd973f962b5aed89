-- One row per linked person and municipality (int_person_spine), with the structures of that
-- municipality the person is known to. The person key the spine links on is not
-- carried: person_id (a hash of it) is the person's id in every mart.
{{ config(**municipality_partitioned()) }}

with

person_spine as (

    select * from {{ ref('int_person_spine') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

final as (

    select
        person_spine.person_id,
        person_spine.person_key_type,
        person_spine.sex,
        person_spine.birth_year,
        person_spine.neighbourhood_id,
        person_spine.municipality_code,
        person_spine.first_seen_month,
        person_spine.last_seen_month,
        person_spine.has_community_centre,
        person_spine.has_social_grocery,
        person_spine.has_home_help,
        case when person_spine.has_community_centre then 1 else 0 end
        + case when person_spine.has_social_grocery then 1 else 0 end
        + case when person_spine.has_home_help then 1 else 0 end as structures_count,
        person_spine.records_count
    from person_spine

)

select * from final
