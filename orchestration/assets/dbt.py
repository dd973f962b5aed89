"""The dbt project as Dagster assets: one graph with the ingest assets.

dbt sources in the raw schema map to the ingest assets' keys (raw/<table>; an entity's reject
table to its entity's asset, which writes both), dbt folders to asset groups (staging,
intermediate, marts; seeds to `reference`), and every dbt test becomes an asset check.
`dbt build` runs through DbtCliResource in a subprocess that opens the DuckDB file itself, so
nothing in this process may hold a connection to it meanwhile (ingest steps close theirs).
"""

import os
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.dbt_project import using_dagster_dev

from geitonia.build import plan_build, record_build
from geitonia.config import DBT_PROJECT_DIR
from orchestration.partitions import WAREHOUSE_POOL
from orchestration.resources import HOME_ENV, geitonia_home

REJECTS_SUFFIX = "__rejects"


def dbt_executable() -> str:
    """The dbt installed with this Python (the virtual environment's), else `dbt` on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@cache
def dbt_project() -> DbtProject:
    """The one DbtProject (dbt_project/, its profiles.yml).

    The manifest is made by `dbt parse` before Dagster starts (`make` does it); under
    `dagster dev` it is re-made here so that model changes show up, and when it is missing.
    (DbtProject.prepare_if_dev would look for `dbt` on PATH, not in the virtual environment.)"""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if using_dagster_dev() or not project.manifest_path.exists():
        DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
            ["parse", "--quiet"], target_path=project.target_path
        ).wait()
    return project


class GeitoniaDbtTranslator(DagsterDbtTranslator):
    """Raw-schema sources -> ingest asset keys; dbt folders -> asset groups (staging,
    intermediate, marts, ...; seeds -> reference)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if (
            dbt_resource_props["resource_type"] == "source"
            and dbt_resource_props.get("schema") == "raw"
        ):
            table = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return dg.AssetKey(["raw", table.removesuffix(REJECTS_SUFFIX)])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # fqn: [project, <folder>, ..., <name>]; the top folder (staging, intermediate, marts)
        # is the group
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = GeitoniaDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        # an entity's rows and its rejects are two dbt sources written by one ingest asset
        enable_duplicate_source_asset_keys=True,
    )
)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=TRANSLATOR,
    name="geitonia_dbt",
    pool=WAREHOUSE_POOL,
)
def geitonia_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` (models, seeds, data and unit tests) of the selected dbt assets."""
    home = os.environ.get(HOME_ENV, "")
    if home and not os.path.isabs(home):
        # dbt runs in dbt_project/, where a relative path names another folder than here
        raise dg.Failure(f"{HOME_ENV} must be an absolute path for dbt (it is {home!r})")
    # dbt's artefacts and logs of the run are state: under GEITONIA_HOME, not in the repository
    target = geitonia_home() / "dbt" / "runs" / context.run.run_id
    # cautious: a test runs only when every model it reads is in the selection, so that a
    # subset (e.g. the staging group) does not run tests of models it did not build
    # incremental by municipality (geitonia/build.py): only what new loads touched, unless the
    # project changed or nothing was built yet
    warehouse = geitonia_home() / "warehouse" / "geitonia.duckdb"
    plan = plan_build(warehouse)
    context.log.info(f"dbt build: {plan.mode} {', '.join(plan.municipalities)} ({plan.reason})")
    args = ["build", "--indirect-selection", "cautious", *plan.dbt_args(unit_tests=True)]
    yield from dbt.cli(args, context=context, target_path=target).stream()
    # the state of a build covers the whole project: a subset leaves the next build to redo
    if set(context.selected_asset_keys) == set(context.assets_def.keys):
        record_build(warehouse, plan)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable())
