-- One row per client on the Help at Home (Βοήθεια στο Σπίτι) register, per monthly snapshot:
-- every client active at any time in the month appears in that month's export.
with

source as (

    select * from {{ source('home_help', 'clients') }}

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
        _repairs as repair_codes,
        _repairs is not null as is_repaired,

        -- dates
        enrolled_on,
        exited_on

    from source

)

select * from renamed
