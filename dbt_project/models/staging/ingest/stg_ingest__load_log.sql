-- One row per file ingest processed (loaded or refused): what it was, how it was read, what
-- became of its rows, and whether a corrected re-send has replaced it.
with

source as (

    select * from {{ source('ingest', 'load_log') }}

),

renamed as (

    select
        -- ids
        load_id,
        run_id,
        superseded_by as superseded_by_load_id,
        replaces as replaced_load_ids,

        -- what the file is
        municipality_code,
        source,
        entity,
        contract_id,
        file_name,
        landing_path,
        sha256 as file_sha256,
        size_bytes,
        period as period_month,

        -- outcome
        status as load_status,
        status = 'loaded' as is_loaded,
        status = 'loaded' and superseded_by is null as is_current,
        reason_code,
        message_el,
        message_en,

        -- how it was read
        encoding,
        delimiter,
        sheet,
        header_row,
        unknown_columns,
        missing_columns,

        -- row counts
        rows_read,
        rows_loaded,
        rows_rejected,
        rows_repaired,
        rows_skipped,
        skipped_rows,
        rows_unassigned,
        rows_without_valid_amka,

        -- times
        started_at,
        finished_at

    from source

)

select * from renamed
