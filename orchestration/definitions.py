"""Geitonia's Dagster definitions: one graph from the landing folder to the marts.

    raw/<source>__<entity>  (ingest, monthly partitions)  --+
    raw/ref_*               (municipality reference)      --+--> dbt: staging -> intermediate -> marts
    raw/load_log            (written by every ingest step) -+
                                                              marts --> published_snapshot

Load with `dagster dev -m orchestration.definitions` (`make dagster`) or
`dagster asset materialize -m orchestration.definitions --select raw/<table> --partition YYYY-MM`.
"""

import dagster as dg

from orchestration.assets.dbt import dbt_resource, geitonia_dbt
from orchestration.assets.ingest import ingest_assets, load_log
from orchestration.assets.publish import published_snapshot
from orchestration.assets.reference import municipality_reference
from orchestration.jobs import ingest_job, reference_job, transform_job
from orchestration.resources import WarehouseResource
from orchestration.sensors import landing_sensor

defs = dg.Definitions(
    assets=[*ingest_assets, municipality_reference, load_log, geitonia_dbt, published_snapshot],
    jobs=[ingest_job, reference_job, transform_job],
    sensors=[landing_sensor],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_resource()},
    # every step opens the one DuckDB file: steps of a run go one after another
    executor=dg.in_process_executor,
)
