-- One row per linked person (int_person_spine), with the structures the person is known to and
-- the municipality of the person's latest record. The person key the spine links on is not
-- carried: person_id (a hash of it) is the person's id in every mart.
with

person_spine as (

    select * from {{ ref('int_person_spine') }}

),

person_records as (

    select * from {{ ref('int_person_records') }}

),

areas as (

    select * from {{ ref('int_areas') }}
    where area_level = 'neighbourhood'

),

latest_record as (

    select
        person_key,
        municipality_code,
        row_number() over (
            partition by person_key
            order by period_month desc, row_id desc
        ) as recency_rank
    from person_records

),

final as (

    select
        person_spine.person_id,
        person_spine.person_key_type,
        person_spine.sex,
        person_spine.birth_year,
        person_spine.neighbourhood_id,
        coalesce(areas.municipality_code, latest_record.municipality_code) as municipality_code,
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
    left join latest_record
        on
            person_spine.person_key = latest_record.person_key
            and latest_record.recency_rank = 1
    left join areas
        on person_spine.neighbourhood_id = areas.neighbourhood_id

)

select * from final
