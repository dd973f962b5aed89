-- One row per client on the Help at Home (Βοήθεια στο Σπίτι) register, per monthly snapshot:
-- every client active at any time in the month appears in that month's export.
with

source as (

    select * from {{ source('home_help', 'clients') }}

),

renamed as (

    select
        -- row identity and load bookkeeping
        {{ raw_bookkeeping_columns() }}

        -- people (keyed pseudonyms)
        person_key,
        person_key_type,
        amka_status,

        -- attributes
        sex,
        birth_year,
        lives_alone as is_living_alone,
        disability_pct,
        monthly_income_eur,
        exit_reason,

        -- geography
        neighbourhood_id,
        geocode_method,
        geocode_score,

        -- data quality
        {{ raw_repair_columns() }},

        -- dates
        enrolled_on,
        exited_on

    from source

)

select * from renamed
