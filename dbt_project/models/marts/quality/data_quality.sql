-- Data quality per municipality, source, entity and reporting month: what became of the rows of
-- the month's current loads (read, loaded, rejected, repaired, skipped), how many loaded rows
-- with an address geocoding left without a neighbourhood, how many rows lack a valid ΑΜΚΑ, and
-- the shares the dq_* indicators publish. Files refused for the slot and loads replaced by a
-- corrected re-send are counted beside the current loads, never in the row counts.
--
-- Row counts come from ingest's load log (one row per file); the unassigned and ΑΜΚΑ counts are
-- counted on the loaded rows themselves (the staging models), and the rejected rows with an
-- invalid ΑΜΚΑ on the reject tables. The load log invariant is rows_read = rows_loaded +
-- rows_rejected: totals rows are skipped before they are read (ingest/pipeline.py).
{%- set entities = [
    ('community_centre', 'beneficiaries', true, true),
    ('community_centre', 'services', false, false),
    ('community_centre', 'intake', false, false),
    ('social_grocery', 'households', true, true),
    ('social_grocery', 'distributions', false, false),
    ('home_help', 'clients', true, true),
    ('home_help', 'visits', false, true),
    ('home_help', 'requests', true, true),
] %}
{#- (source, entity, carries an address, carries an ΑΜΚΑ column): as the ingest contracts say #}
{%- set amka_entities = [] %}
{%- for src, ent, has_address, has_amka in entities if has_amka %}
    {%- do amka_entities.append("'" ~ src ~ '/' ~ ent ~ "'") %}
{%- endfor %}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}

),

rejects as (

    select * from {{ ref('stg_ingest__rejects') }}

),
{% for src, ent, has_address, has_amka in entities %}
{{ src }}__{{ ent }} as (

    select * from {{ ref('stg_' ~ src ~ '__' ~ ent) }}

),
{% endfor %}
-- per load: the loaded rows in the warehouse, those with an unassigned address, those without
-- a valid ΑΜΚΑ (missing, or a status other than valid)
loaded_rows_by_load as (

    {%- for src, ent, has_address, has_amka in entities %}

    select
        {{ src }}__{{ ent }}.load_id,
        count(*) as rows_in_warehouse,
        {%- if has_address %}
        count(*) as rows_with_address,
        sum(case when {{ src }}__{{ ent }}.geocode_method = 'unassigned' then 1 else 0 end) as rows_unassigned,
        {%- else %}
        0 as rows_with_address,
        0 as rows_unassigned,
        {%- endif %}
        {%- if has_amka %}
        sum(case when {{ src }}__{{ ent }}.amka_status = 'valid' then 0 else 1 end) as rows_loaded_without_valid_amka
        {%- else %}
        0 as rows_loaded_without_valid_amka
        {%- endif %}
    from {{ src }}__{{ ent }}
    group by {{ src }}__{{ ent }}.load_id
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

-- per load: rejected rows with an invalid ΑΜΚΑ among their reasons (first or not)
rejects_by_load as (

    select
        rejects.load_id,
        count(*) as rejects_in_warehouse,
        sum(
            case
                when {{ dbt.position(
                    "';amka_invalid;'", dbt.concat(["';'", "rejects.reason_codes", "';'"])
                ) }} > 0
                    then 1
                else 0
            end
        ) as rows_rejected_invalid_amka
    from rejects
    group by rejects.load_id

),

loads as (

    select
        load_log.municipality_code,
        load_log.source,
        load_log.entity,
        load_log.period_month,
        load_log.load_status,
        load_log.is_loaded,
        load_log.is_current,
        ({{ dbt.concat(["load_log.source", "'/'", "load_log.entity"]) }}) in (
            {{ amka_entities | join(', ') }}
        ) as has_amka_column,
        coalesce(load_log.rows_read, 0) as rows_read,
        coalesce(load_log.rows_loaded, 0) as rows_loaded,
        coalesce(load_log.rows_rejected, 0) as rows_rejected,
        coalesce(load_log.rows_repaired, 0) as rows_repaired,
        coalesce(load_log.rows_skipped, 0) as rows_skipped,
        coalesce(loaded_rows_by_load.rows_in_warehouse, 0) as rows_in_warehouse,
        coalesce(loaded_rows_by_load.rows_with_address, 0) as rows_with_address,
        coalesce(loaded_rows_by_load.rows_unassigned, 0) as rows_unassigned,
        coalesce(loaded_rows_by_load.rows_loaded_without_valid_amka, 0) as rows_loaded_without_valid_amka,
        coalesce(rejects_by_load.rejects_in_warehouse, 0) as rejects_in_warehouse,
        coalesce(rejects_by_load.rows_rejected_invalid_amka, 0) as rows_rejected_invalid_amka
    from load_log
    left join loaded_rows_by_load
        on load_log.load_id = loaded_rows_by_load.load_id
    left join rejects_by_load
        on load_log.load_id = rejects_by_load.load_id

),

-- one row per slot; row counts over its current loads only
slots as (

    select
        loads.municipality_code,
        loads.source,
        loads.entity,
        loads.period_month,
        {%- set current_sums = [
            'rows_read', 'rows_loaded', 'rows_rejected', 'rows_repaired', 'rows_skipped',
            'rows_in_warehouse', 'rejects_in_warehouse', 'rows_with_address', 'rows_unassigned',
            'rows_loaded_without_valid_amka', 'rows_rejected_invalid_amka',
        ] %}
        sum(case when loads.is_current then 1 else 0 end) as files_loaded,
        sum(case when loads.load_status = 'refused' then 1 else 0 end) as files_refused,
        sum(case when loads.is_loaded and not loads.is_current then 1 else 0 end) as files_superseded,
        {%- for col in current_sums %}
        sum(case when loads.is_current then loads.{{ col }} else 0 end) as {{ col }},
        {%- endfor %}
        sum(
            case when loads.is_current and loads.has_amka_column then loads.rows_read else 0 end
        ) as rows_with_amka_column
    from loads
    group by
        loads.municipality_code,
        loads.source,
        loads.entity,
        loads.period_month

),

final as (

    select
        -- grain
        slots.municipality_code,
        slots.source,
        slots.entity,
        slots.period_month,

        -- files
        cast(slots.files_loaded as {{ dbt.type_bigint() }}) as files_loaded,
        cast(slots.files_refused as {{ dbt.type_bigint() }}) as files_refused,
        cast(slots.files_superseded as {{ dbt.type_bigint() }}) as files_superseded,

        -- rows of the current loads
        cast(slots.rows_read as {{ dbt.type_bigint() }}) as rows_read,
        cast(slots.rows_loaded as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(slots.rows_rejected as {{ dbt.type_bigint() }}) as rows_rejected,
        cast(slots.rows_repaired as {{ dbt.type_bigint() }}) as rows_repaired,
        cast(slots.rows_skipped as {{ dbt.type_bigint() }}) as rows_skipped,
        cast(slots.rows_in_warehouse as {{ dbt.type_bigint() }}) as rows_in_warehouse,
        cast(slots.rejects_in_warehouse as {{ dbt.type_bigint() }}) as rejects_in_warehouse,

        -- addresses
        cast(slots.rows_with_address as {{ dbt.type_bigint() }}) as rows_with_address,
        cast(slots.rows_unassigned as {{ dbt.type_bigint() }}) as rows_unassigned,

        -- ΑΜΚΑ
        cast(slots.rows_with_amka_column as {{ dbt.type_bigint() }}) as rows_with_amka_column,
        cast(slots.rows_loaded_without_valid_amka as {{ dbt.type_bigint() }}) as rows_loaded_without_valid_amka,
        cast(slots.rows_rejected_invalid_amka as {{ dbt.type_bigint() }}) as rows_rejected_invalid_amka,
        cast(
            slots.rows_loaded_without_valid_amka + slots.rows_rejected_invalid_amka
            as {{ dbt.type_bigint() }}
        ) as rows_without_valid_amka,

        -- shares (null when there is nothing to divide by)
        cast(slots.rows_rejected as {{ stats_double_type() }})
        / nullif(slots.rows_read, 0) as rejected_share,
        cast(slots.rows_unassigned as {{ stats_double_type() }})
        / nullif(slots.rows_with_address, 0) as unassigned_share,
        cast(slots.rows_loaded_without_valid_amka + slots.rows_rejected_invalid_amka as {{ stats_double_type() }})
        / nullif(slots.rows_with_amka_column, 0) as invalid_amka_share

    from slots

)

select * from final
