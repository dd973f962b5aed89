-- One row per linked person across the structures. Records are linked on their person key:
-- the ΑΜΚΑ pseudonym where the record has a valid ΑΜΚΑ, else the weaker name + birth date
-- pseudonym. A raw row carries one key only, so a person seen once with an ΑΜΚΑ and once
-- without is two spine rows (the cost is recall, never precision).
-- Keyed by municipality: one row per person and municipality whose structures know the person
-- (person_id, the hash of the key, is the same in every municipality), so that each
-- municipality's persons are built on their own (incremental by municipality) and a person who
-- moved is counted by each municipality that served them.
{{ config(**municipality_partitioned()) }}
with

person_records as (

    select * from {{ ref('int_person_records') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

per_person as (

    select
        person_key,
        municipality_code,
        min(person_key_type) as person_key_type,
        min(period_month) as first_seen_month,
        max(period_month) as last_seen_month,
        max(case when source = 'community_centre' then 1 else 0 end) = 1 as has_community_centre,
        max(case when source = 'social_grocery' then 1 else 0 end) = 1 as has_social_grocery,
        max(case when source = 'home_help' then 1 else 0 end) = 1 as has_home_help,
        count(*) as records_count
    from person_records
    group by person_key, municipality_code

),

sex_counts as (

    select
        person_key,
        municipality_code,
        sex,
        count(*) as records_count
    from person_records
    where sex is not null
    group by person_key, municipality_code, sex

),

modal_sex as (

    select
        person_key,
        municipality_code,
        sex,
        row_number() over (
            partition by person_key, municipality_code
            order by records_count desc, sex asc
        ) as sex_rank
    from sex_counts

),

birth_year_counts as (

    select
        person_key,
        municipality_code,
        birth_year,
        count(*) as records_count
    from person_records
    where birth_year is not null
    group by person_key, municipality_code, birth_year

),

modal_birth_year as (

    select
        person_key,
        municipality_code,
        birth_year,
        row_number() over (
            partition by person_key, municipality_code
            order by records_count desc, birth_year asc
        ) as birth_year_rank
    from birth_year_counts

),

latest_neighbourhood as (

    select
        person_key,
        municipality_code,
        neighbourhood_id,
        row_number() over (
            partition by person_key, municipality_code
            order by period_month desc, row_id desc
        ) as recency_rank
    from person_records
    where neighbourhood_id is not null

),

spine as (

    select
        {{ dbt.hash('per_person.person_key') }} as person_id,
        per_person.person_key,
        per_person.municipality_code,
        per_person.person_key_type,
        per_person.first_seen_month,
        per_person.last_seen_month,
        per_person.has_community_centre,
        per_person.has_social_grocery,
        per_person.has_home_help,
        per_person.records_count,
        modal_sex.sex,
        modal_birth_year.birth_year,
        latest_neighbourhood.neighbourhood_id
    from per_person
    left join modal_sex
        on
            per_person.person_key = modal_sex.person_key
            and per_person.municipality_code = modal_sex.municipality_code
            and modal_sex.sex_rank = 1
    left join modal_birth_year
        on
            per_person.person_key = modal_birth_year.person_key
            and per_person.municipality_code = modal_birth_year.municipality_code
            and modal_birth_year.birth_year_rank = 1
    left join latest_neighbourhood
        on
            per_person.person_key = latest_neighbourhood.person_key
            and per_person.municipality_code = latest_neighbourhood.municipality_code
            and latest_neighbourhood.recency_rank = 1

)

select * from spine
