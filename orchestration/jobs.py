"""Jobs. Every step opens the one DuckDB file, so every job runs its steps one after another
in one process (in_process_executor)."""

import dagster as dg

from orchestration.assets.dbt import geitonia_dbt
from orchestration.assets.ingest import ingest_assets
from orchestration.assets.publish import published_snapshot
from orchestration.assets.reference import municipality_reference

ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=dg.AssetSelection.assets(*ingest_assets),
    executor_def=dg.in_process_executor,
    description="Ingest one month of landing files into the raw tables (with the quality checks).",
)

reference_job = dg.define_asset_job(
    name="reference_job",
    selection=dg.AssetSelection.assets(municipality_reference),
    executor_def=dg.in_process_executor,
    description="Reload the municipalities' reference tables from landing/<municipality>/reference/.",
)

transform_job = dg.define_asset_job(
    name="transform_job",
    selection=dg.AssetSelection.assets(geitonia_dbt, published_snapshot),
    executor_def=dg.in_process_executor,
    description=(
        "dbt build: staging, intermediate and marts, with the dbt tests; then publish the "
        "marts as a new snapshot (not when the build failed)."
    ),
)
