-- One row per calendar day, from 1 January of the earliest year to 31 December of the latest
-- year that any staged date falls in, and at least 2015-01-01 to 2030-12-31 (Help at Home
-- enrolment dates reach years before the exports begin). Calendar parts are computed with the
-- dbt cross-database date macros and standard extract(), so the model ports: the ISO day of
-- the week is counted from Monday 1900-01-01, the ISO week from the week's Thursday.
{%- set max_days = 36600 %}
{%- set dated = [
    ('stg_community_centre__beneficiaries', ['registered_on']),
    ('stg_community_centre__services', ['service_on', 'outcome_on']),
    ('stg_community_centre__intake', ['visit_on']),
    ('stg_social_grocery__households', ['applied_on', 'decision_on', 'membership_end_on']),
    ('stg_social_grocery__distributions', ['distributed_on']),
    ('stg_home_help__clients', ['enrolled_on', 'exited_on']),
    ('stg_home_help__visits', ['visit_on']),
    ('stg_home_help__requests', ['requested_at', 'fulfilled_on']),
] %}
{%- set month_names = [
    ('Ιανουάριος', 'January'), ('Φεβρουάριος', 'February'), ('Μάρτιος', 'March'),
    ('Απρίλιος', 'April'), ('Μάιος', 'May'), ('Ιούνιος', 'June'), ('Ιούλιος', 'July'),
    ('Αύγουστος', 'August'), ('Σεπτέμβριος', 'September'), ('Οκτώβριος', 'October'),
    ('Νοέμβριος', 'November'), ('Δεκέμβριος', 'December'),
] %}
{%- set day_names = [
    ('Δευτέρα', 'Monday'), ('Τρίτη', 'Tuesday'), ('Τετάρτη', 'Wednesday'),
    ('Πέμπτη', 'Thursday'), ('Παρασκευή', 'Friday'), ('Σάββατο', 'Saturday'),
    ('Κυριακή', 'Sunday'),
] %}

with

{% for model, columns in dated %}
{{ model }} as (

    select * from {{ ref(model) }}

),

{% endfor %}
observed_dates as (

    select cast('2015-01-01' as date) as observed_on
    union all
    select cast('2030-12-31' as date) as observed_on
    {%- for model, columns in dated %}
    {%- for column in columns %}
    union all
    select cast(min({{ column }}) as date) as observed_on from {{ model }}
    union all
    select cast(max({{ column }}) as date) as observed_on from {{ model }}
    {%- endfor %}
    {%- endfor %}

),

date_range as (

    select
        cast({{ dbt.date_trunc('year', 'min(observed_on)') }} as date) as first_day,
        cast({{ dbt.last_day(dbt.date_trunc('year', 'max(observed_on)'), 'year') }} as date)
            as last_day
    from observed_dates
    where observed_on is not null

),

numbers as (

    {{ dbt.generate_series(max_days) }}

),

days as (

    select
        cast(
            {{ dbt.dateadd('day', 'numbers.generated_number - 1', 'date_range.first_day') }}
            as date
        ) as date_day
    from numbers
    cross join date_range
    where
        numbers.generated_number - 1
        <= {{ dbt.datediff('date_range.first_day', 'date_range.last_day', 'day') }}

),

with_weekday as (

    select
        date_day,
        mod({{ dbt.datediff("cast('1900-01-01' as date)", 'date_day', 'day') }}, 7) + 1
            as iso_day_of_week
    from days

),

with_thursday as (

    select
        date_day,
        iso_day_of_week,
        cast({{ dbt.dateadd('day', '4 - iso_day_of_week', 'date_day') }} as date)
            as week_thursday
    from with_weekday

),

with_week_offset as (

    select
        date_day,
        iso_day_of_week,
        week_thursday,
        {{ dbt.datediff(dbt.date_trunc('year', 'week_thursday'), 'week_thursday', 'day') }}
            as thursday_day_of_year_offset
    from with_thursday

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter,
        cast(extract(month from date_day) as integer) as month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end,
        cast(extract(year from week_thursday) as integer) as iso_year,
        cast(
            (thursday_day_of_year_offset - mod(thursday_day_of_year_offset, 7)) / 7 + 1
            as integer
        ) as iso_week,
        cast({{ dbt.dateadd('day', '1 - iso_day_of_week', 'date_day') }} as date)
            as iso_week_start,
        iso_day_of_week,
        iso_day_of_week >= 6 as is_weekend,
        case cast(extract(month from date_day) as integer)
            {%- for el, en in month_names %}
            when {{ loop.index }} then '{{ el }}'
            {%- endfor %}
        end as month_name_el,
        case cast(extract(month from date_day) as integer)
            {%- for el, en in month_names %}
            when {{ loop.index }} then '{{ en }}'
            {%- endfor %}
        end as month_name_en,
        case iso_day_of_week
            {%- for el, en in day_names %}
            when {{ loop.index }} then '{{ el }}'
            {%- endfor %}
        end as day_name_el,
        case iso_day_of_week
            {%- for el, en in day_names %}
            when {{ loop.index }} then '{{ en }}'
            {%- endfor %}
        end as day_name_en
    from with_week_offset

)

select * from final
