-- The unassigned and ΑΜΚΑ counts data_quality counts on the loaded rows agree with the counts
-- ingest wrote in the load log for the same current loads (rows_unassigned,
-- rows_without_valid_amka). Returns the slots where they differ.
with

data_quality as (

    select * from {{ ref('data_quality') }}

),

load_log as (

    select * from {{ ref('stg_ingest__load_log') }}

),

load_log_by_slot as (

    select
        load_log.municipality_code,
        load_log.source,
        load_log.entity,
        load_log.period_month,
        sum(coalesce(load_log.rows_unassigned, 0)) as rows_unassigned,
        sum(coalesce(load_log.rows_without_valid_amka, 0)) as rows_without_valid_amka
    from load_log
    where load_log.is_current
    group by
        load_log.municipality_code,
        load_log.source,
        load_log.entity,
        load_log.period_month

)

select
    data_quality.municipality_code,
    data_quality.source,
    data_quality.entity,
    data_quality.period_month,
    data_quality.rows_unassigned,
    load_log_by_slot.rows_unassigned as load_log_rows_unassigned,
    data_quality.rows_loaded_without_valid_amka,
    load_log_by_slot.rows_without_valid_amka as load_log_rows_without_valid_amka
from data_quality
left join load_log_by_slot
    on data_quality.municipality_code = load_log_by_slot.municipality_code
    and data_quality.source = load_log_by_slot.source
    and data_quality.entity = load_log_by_slot.entity
    and data_quality.period_month = load_log_by_slot.period_month
where data_quality.files_loaded > 0
    and (
        load_log_by_slot.rows_unassigned is null
        or data_quality.rows_unassigned <> load_log_by_slot.rows_unassigned
        or data_quality.rows_loaded_without_valid_amka <> load_log_by_slot.rows_without_valid_amka
    )
