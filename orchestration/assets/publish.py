"""PUBLISH as a Dagster asset: the snapshot the dashboards read, made after the dbt marts.

`published_snapshot` depends on the dbt assets that geitonia.publish copies (the models and
seeds tagged `published` in the dbt manifest; before any model is tagged, the marts and the
reference seeds). It checks the dbt run of the same Dagster run (its run_results.json, under
$GEITONIA_HOME/dbt/runs/<run id>/) and refuses to publish a failed build; the current snapshot
is then left as it was. It reads the warehouse READ_ONLY, in the warehouse pool, after the dbt
subprocess has closed the file.
"""

import json
import time
from functools import cache

import dagster as dg

from geitonia.publish import PublishError, WarehouseLocked, publish, published_node_ids
from orchestration.assets.dbt import TRANSLATOR, dbt_project, geitonia_dbt
from orchestration.partitions import WAREHOUSE_POOL
from orchestration.resources import WarehouseResource, geitonia_home


@cache
def published_dbt_keys() -> list[dg.AssetKey]:
    """The asset keys of the dbt models and seeds that a publish copies."""
    manifest = json.loads(dbt_project().manifest_path.read_text(encoding="utf-8"))
    keys = {
        TRANSLATOR.get_asset_key(manifest["nodes"][uid]) for uid in published_node_ids(manifest)
    }
    return sorted(keys & set(geitonia_dbt.keys), key=lambda k: k.to_user_string())


class PublishConfig(dg.Config):
    keep: int = 5  # snapshots kept (the current one always)


@dg.asset(
    name="published_snapshot",
    group_name="publish",
    deps=published_dbt_keys(),
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description=(
        "The published snapshot: the marts copied from the warehouse into a new read-only "
        "DuckDB file under $GEITONIA_HOME/snapshots/, made current atomically (CURRENT)."
    ),
)
def published_snapshot(
    context: dg.AssetExecutionContext, config: PublishConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Copy the published tables into a new snapshot and make it current."""
    run_results = geitonia_home() / "dbt" / "runs" / context.run.run_id / "run_results.json"
    if not run_results.is_file():
        context.log.info("no dbt build in this run: publishing the warehouse as it is")
    deadline = time.monotonic() + warehouse.lock_timeout_seconds
    while True:
        try:
            res = publish(
                warehouse.paths(),
                keep=config.keep,
                manifest_path=dbt_project().manifest_path,
                run_results_path=run_results if run_results.is_file() else None,
            )
            break
        except WarehouseLocked as exc:
            if time.monotonic() > deadline:
                raise dg.Failure(str(exc)) from exc
            context.log.info(f"{exc}; waiting")
            time.sleep(5.0)
        except PublishError as exc:
            raise dg.Failure(
                description=f"not published (the current snapshot is unchanged): {exc}"
            ) from exc
    rows = {t.name: t.row_count for t in res.tables}
    context.log.info(f"published {res.path.name}: {len(rows)} tables, {res.rows} rows")
    return dg.MaterializeResult(
        metadata={
            "snapshot": dg.MetadataValue.path(str(res.path)),
            "snapshot_id": dg.MetadataValue.text(res.snapshot_id),
            "git_revision": dg.MetadataValue.text(res.git_revision),
            "git_dirty": dg.MetadataValue.bool(res.git_dirty),
            "dbt_invocation_id": dg.MetadataValue.text(res.dbt_invocation_id or ""),
            "selection": dg.MetadataValue.text(res.selection),
            "disclosure_threshold": dg.MetadataValue.int(res.disclosure_threshold),
            "row_counts": dg.MetadataValue.json(rows),
            "dagster/row_count": dg.MetadataValue.int(res.rows),
            "snapshots_removed": dg.MetadataValue.int(len(res.pruned)),
        }
    )
