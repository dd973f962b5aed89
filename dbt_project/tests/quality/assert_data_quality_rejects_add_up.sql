-- Rejected rows by first reason add up to data_quality.rows_rejected in every slot
-- (municipality, source, entity, month), and every reason's rows_with_reason lies between its
-- rejected_rows and the slot's rows_rejected. Returns the slots that break either.
with

data_quality as (

    select * from {{ ref('data_quality') }}

),

data_quality_rejects as (

    select * from {{ ref('data_quality_rejects') }}

),

rejects_by_slot as (

    select
        data_quality_rejects.municipality_code,
        data_quality_rejects.source,
        data_quality_rejects.entity,
        data_quality_rejects.period_month,
        sum(data_quality_rejects.rejected_rows) as rejected_rows,
        max(data_quality_rejects.rows_with_reason) as max_rows_with_reason,
        sum(
            case
                when data_quality_rejects.rows_with_reason < data_quality_rejects.rejected_rows
                    then 1
                else 0
            end
        ) as reasons_below_first_count
    from data_quality_rejects
    group by
        data_quality_rejects.municipality_code,
        data_quality_rejects.source,
        data_quality_rejects.entity,
        data_quality_rejects.period_month

),

compared as (

    select
        coalesce(data_quality.municipality_code, rejects_by_slot.municipality_code) as municipality_code,
        coalesce(data_quality.source, rejects_by_slot.source) as source,
        coalesce(data_quality.entity, rejects_by_slot.entity) as entity,
        coalesce(data_quality.period_month, rejects_by_slot.period_month) as period_month,
        coalesce(data_quality.rows_rejected, 0) as rows_rejected,
        coalesce(rejects_by_slot.rejected_rows, 0) as rejected_rows_by_reason,
        coalesce(rejects_by_slot.max_rows_with_reason, 0) as max_rows_with_reason,
        coalesce(rejects_by_slot.reasons_below_first_count, 0) as reasons_below_first_count
    from data_quality
    full outer join rejects_by_slot
        on data_quality.municipality_code = rejects_by_slot.municipality_code
        and data_quality.source = rejects_by_slot.source
        and data_quality.entity = rejects_by_slot.entity
        and data_quality.period_month = rejects_by_slot.period_month

)

select *
from compared
where compared.rows_rejected <> compared.rejected_rows_by_reason
    or compared.max_rows_with_reason > compared.rows_rejected
    or compared.reasons_below_first_count > 0
