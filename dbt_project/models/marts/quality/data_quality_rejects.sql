-- Rejected rows per municipality, source, entity, reporting month and reason, over the current
-- loads. A rejected row may have several reasons (reason_codes, ';'-separated, the first one in
-- reason_code): rejected_rows counts each row once, under its first reason, so rejected_rows
-- adds up to data_quality.rows_rejected; rows_with_reason counts the rows that have the reason
-- among any of their reasons, so a reason hidden behind another still shows.
{#- The row-level reasons of ingest (ingest/reasons.py); a first reason outside the list is kept too. #}
{%- set row_reason_codes = [
    'row_incomplete', 'required_missing', 'date_invalid', 'date_out_of_range', 'time_invalid',
    'number_invalid', 'code_invalid', 'date_order', 'count_order', 'amka_invalid', 'afm_invalid',
] %}

with

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}

),

rejects as (

    select * from {{ ref('stg_ingest__rejects') }}

),

current_rejects as (

    select
        rejects.municipality_code,
        rejects.source,
        rejects.entity,
        rejects.period_month,
        rejects.reason_code,
        rejects.reason_codes,
        rejects.reason_el,
        rejects.reason_en
    from rejects
    inner join load_log
        on rejects.load_id = load_log.load_id
    where load_log.is_current

),

known_reason_codes as (

    {%- for code in row_reason_codes %}
    select cast('{{ code }}' as {{ dbt.type_string() }}) as reason_code
    union
    {%- endfor %}
    select distinct current_rejects.reason_code
    from current_rejects

),

-- one row per rejected row and each reason it has
reject_reasons as (

    select
        current_rejects.municipality_code,
        current_rejects.source,
        current_rejects.entity,
        current_rejects.period_month,
        known_reason_codes.reason_code,
        case
            when known_reason_codes.reason_code = current_rejects.reason_code then 1 else 0
        end as is_first_reason,
        case
            when known_reason_codes.reason_code = current_rejects.reason_code
                then current_rejects.reason_el
        end as reason_el,
        case
            when known_reason_codes.reason_code = current_rejects.reason_code
                then current_rejects.reason_en
        end as reason_en
    from current_rejects
    inner join known_reason_codes
        on known_reason_codes.reason_code = current_rejects.reason_code
        or {{ dbt.position(
            dbt.concat(["';'", "known_reason_codes.reason_code", "';'"]),
            dbt.concat(["';'", "current_rejects.reason_codes", "';'"])
        ) }} > 0

),

final as (

    select
        reject_reasons.municipality_code,
        reject_reasons.source,
        reject_reasons.entity,
        reject_reasons.period_month,
        reject_reasons.reason_code,
        cast(sum(reject_reasons.is_first_reason) as {{ dbt.type_bigint() }}) as rejected_rows,
        cast(count(*) as {{ dbt.type_bigint() }}) as rows_with_reason,
        max(reject_reasons.reason_el) as reason_el,
        max(reject_reasons.reason_en) as reason_en
    from reject_reasons
    group by
        reject_reasons.municipality_code,
        reject_reasons.source,
        reject_reasons.entity,
        reject_reasons.period_month,
        reject_reasons.reason_code

)

select * from final
