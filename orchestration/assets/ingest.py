"""One asset per raw table (<source>__<entity>), partitioned by reporting month.

Materialising a partition ingests the landing files of that entity and month that are not in
the load log yet (ingest.pipeline.ingest_files: one transaction per file; an identical file is
skipped, a corrected re-send replaces the month), after loading the reference data of the
municipalities concerned, so that addresses are geocoded against their current gazetteer.
"""

import time

import dagster as dg

from ingest.landing import LandingFile, reference_folders, scan
from ingest.pipeline import IngestContext, RunSummary, ingest_files, load_reference
from ingest.warehouse import LoadRecord, table_name
from orchestration.checks import check_results, check_specs
from orchestration.partitions import (
    MONTHLY,
    WAREHOUSE_POOL,
    asset_key,
    contracts,
    entities,
    file_month,
)
from orchestration.resources import WarehouseResource, raw_table

LOAD_LOG_KEY = dg.AssetKey(["raw", "load_log"])
REFERENCE_KEYS = [dg.AssetKey(["raw", "ref_gazetteer"]), dg.AssetKey(["raw", "ref_neighbourhoods"])]

# raw.load_log is written by every ingest asset (one row per file), so no single asset owns it:
# it is declared here so that the dbt source `ingest.load_log` has a node in the graph.
load_log = dg.AssetSpec(
    LOAD_LOG_KEY,
    group_name="ingest",
    description=(
        "The load log: one row per landing file processed (loaded or refused) with its counts "
        "and reasons, appended to by every ingest asset."
    ),
    kinds={"duckdb"},
)


def files_for(
    source: str, entity: str, month: str, landing_files: list[LandingFile]
) -> list[LandingFile]:
    """The landing files of one asset's partition, in ingest's order (originals before their
    corrected re-sends)."""
    return [
        lf
        for lf in landing_files
        if lf.source == source and lf.entity == entity and file_month(lf) == month
    ]


def _files_table(records: list[LoadRecord], skipped: list[LandingFile]) -> str:
    lines = [
        "| file | status | read | loaded | rejected | repaired | unassigned | reason |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        lines.append(
            f"| {r.landing_path} | {r.status} | {r.rows_read} | {r.rows_loaded} | "
            f"{r.rows_rejected} | {r.rows_repaired} | {r.rows_unassigned} | "
            f"{r.reason_code or ''} |"
        )
    lines += [f"| {lf.relative} | skipped (already loaded) | | | | | | |" for lf in skipped]
    return "\n".join(lines)


def ingest_partition(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: str, entity: str
) -> dg.MaterializeResult:
    """Ingest one entity's landing files for one month; the counts as metadata."""
    t0 = time.perf_counter()
    month = context.partition_key
    paths = warehouse.paths()
    files = files_for(source, entity, month, scan(paths.landing))
    context.log.info(f"{len(files)} landing file(s) of {source}/{entity} for {month}")
    pseudonymiser = warehouse.pseudonymiser()
    references = reference_folders(paths.landing)

    def on_file(lf: LandingFile, rec: LoadRecord | None) -> None:
        if rec is None:
            context.log.info(f"{lf.relative}: already loaded, skipped")
        elif rec.status == "refused":
            context.log.warning(f"{lf.relative}: refused ({rec.reason_code}): {rec.message_en}")
        else:
            context.log.info(
                f"{lf.relative}: {rec.rows_loaded} of {rec.rows_read} rows loaded, "
                f"{rec.rows_rejected} rejected"
            )

    with warehouse.open_warehouse() as wh:
        ctx = IngestContext(
            warehouse=wh,
            pseudonymiser=pseudonymiser,
            archive_dir=paths.archive,
            run_id=context.run.run_id,
            contracts=dict(contracts()),
        )
        reference = {
            m: load_reference(ctx, m, references[m])
            for m in sorted({lf.municipality_code for lf in files})
            if m in references
        }
        records, skipped = ingest_files(files, ctx, on_file=on_file)
        name = table_name(source, entity)
        partition_rows = (
            wh.con.execute(
                f"select count(*) from {raw_table(name)} where _period = ?", [f"{month}-01"]
            ).fetchone()[0]
            if wh.table_exists(name)
            else 0
        )
        checks = check_results(
            wh.con, source, entity, month, set(context.selected_asset_check_keys)
        )
    summary = RunSummary(ctx.run_id, records, skipped, reference, time.perf_counter() - t0)
    totals = summary.totals()
    if records:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=LOAD_LOG_KEY,
                description=f"{len(records)} file(s) of {source}/{entity} {month} logged",
                metadata={"files_logged": len(records)},
            )
        )
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in totals.items()},
            "dagster/partition_row_count": dg.MetadataValue.int(int(partition_rows)),
            "reference_reloaded": dg.MetadataValue.text(", ".join(sorted(reference)) or "-"),
            "files": dg.MetadataValue.md(_files_table(records, skipped)),
            "seconds": dg.MetadataValue.float(round(summary.seconds, 3)),
        },
        check_results=checks,
    )


def build_ingest_asset(source: str, entity: str) -> dg.AssetsDefinition:
    contract = contracts()[f"{source}.{entity}"]

    @dg.asset(
        key=asset_key(source, entity),
        group_name="ingest",
        partitions_def=MONTHLY,
        deps=REFERENCE_KEYS,
        pool=WAREHOUSE_POOL,
        check_specs=check_specs(source, entity),
        kinds={"python", "duckdb"},
        description=(
            f"{contract.title['en']} ({contract.title['el']}): the landing files of "
            f"{source}/{entity}, validated, pseudonymised and geocoded into "
            f"raw.{table_name(source, entity)} (rejected rows into "
            f"raw.{table_name(source, entity)}__rejects), one partition per reporting month."
        ),
        metadata={"contract": contract.id, "period_rule": contract.period_rule},
        tags={"source": source},
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return ingest_partition(context, warehouse, source, entity)

    return _ingest


ingest_assets: list[dg.AssetsDefinition] = [build_ingest_asset(s, e) for s, e in entities()]
