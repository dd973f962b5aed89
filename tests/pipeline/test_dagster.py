"""The Dagster definitions: one graph, ingest partitions materialised in-process and from the
CLI, the landing sensor, and the warehouse lock; against the small synthetic municipality.

Expected counts come from the generator's ground truth (truth/records.parquet, faults.csv),
not from ingest's own log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.landing import period_from_name

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
BIN = Path(sys.executable).parent
KEY_HEX = "ab" * 32
MONTH = "2020-03"
ENTITIES = [
    ("community_centre", "beneficiaries"),
    ("community_centre", "intake"),
    ("community_centre", "services"),
    ("home_help", "clients"),
    ("home_help", "requests"),
    ("home_help", "visits"),
    ("social_grocery", "distributions"),
    ("social_grocery", "households"),
]
WITH_ADDRESS = {
    ("community_centre", "beneficiaries"),
    ("home_help", "clients"),
    ("home_help", "requests"),
    ("social_grocery", "households"),
}


# --- fixtures -------------------------------------------------------------------------------


def _dbt_sources() -> list[Path]:
    return [
        p
        for folder in ("models", "seeds", "macros", "tests", "analyses")
        for p in (DBT_PROJECT / folder).rglob("*")
        if p.is_file()
    ] + [DBT_PROJECT / "dbt_project.yml", DBT_PROJECT / "profiles.yml"]


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """dbt_project/target/manifest.json, made by `dbt parse` when missing or older than the
    project (@dbt_assets reads it when orchestration.definitions is imported)."""
    newest = max(p.stat().st_mtime for p in _dbt_sources())
    if not MANIFEST.exists() or MANIFEST.stat().st_mtime < newest:
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        done = subprocess.run(
            [
                str(BIN / "dbt"),
                "parse",
                "--project-dir",
                str(DBT_PROJECT),
                "--profiles-dir",
                str(DBT_PROJECT),
                "--quiet",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return MANIFEST


@pytest.fixture()
def defs(dbt_manifest: Path):  # noqa: ANN201
    from orchestration.definitions import defs

    return defs


@pytest.fixture()
def home(tmp_path: Path, small_world_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GEITONIA_HOME whose landing folder holds the small municipality's exports."""
    home = tmp_path / "home"
    shutil.copytree(small_world_dir / "exports", home / "landing")
    monkeypatch.setenv("GEITONIA_HOME", str(home))
    monkeypatch.setenv("GEITONIA_PSEUDONYM_KEY", KEY_HEX)
    return home


@pytest.fixture(scope="session")
def truth(small_world_dir: Path) -> pl.DataFrame:
    """One row per data row of every export file: its folder, month, and what ingest must do
    with it (rejected: a reject_row fault; refused: its file is refused; current: not replaced
    by a corrected re-send)."""
    records = pl.read_parquet(small_world_dir / "truth" / "records.parquet")
    faults = pl.read_csv(small_world_dir / "truth" / "faults.csv", infer_schema_length=0)
    rejected = (
        faults.filter(pl.col("expected_action") == "reject_row")
        .select("file", pl.col("source_row").cast(pl.Int64))
        .unique()
        .with_columns(pl.lit(True).alias("rejected"))
    )
    refused = faults.filter(pl.col("expected_action") == "refuse_file")["file"].to_list()
    parts = pl.col("file").str.split("/")
    return (
        records.join(rejected, on=["file", "source_row"], how="left")
        .with_columns(
            parts.list.get(1).alias("folder_source"),
            parts.list.get(2).alias("folder_entity"),
            pl.col("file")
            .map_elements(period_from_name, return_dtype=pl.String)
            .alias("file_month"),
            pl.col("rejected").fill_null(False),
            pl.col("file").is_in(refused).alias("refused"),
        )
        .filter(~pl.col("refused"))
    )


def _expected(truth: pl.DataFrame, source: str, entity: str, month: str) -> dict[str, int]:
    rows = truth.filter(
        (pl.col("folder_source") == source)
        & (pl.col("folder_entity") == entity)
        & (pl.col("file_month") == month)
    )
    return {
        "rows_read": rows.height,
        "rows_rejected": int(rows["rejected"].sum()),
        "in_raw": rows.filter(pl.col("is_current") & ~pl.col("rejected")).height,
    }


def _con(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)


# --- the definitions ------------------------------------------------------------------------


def test_definitions_make_one_graph(defs) -> None:  # noqa: ANN001
    import dagster as dg

    dg.Definitions.validate_loadable(defs)
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    graph = defs.resolve_asset_graph()
    raw_keys = [dg.AssetKey(["raw", f"{s}__{e}"]) for s, e in ENTITIES]
    for key in raw_keys:
        spec = specs[key]
        assert spec.group_name == "ingest"
        assert isinstance(spec.partitions_def, dg.MonthlyPartitionsDefinition)
        keys = spec.partitions_def.get_partition_keys()
        assert keys[0] == "2019-01" and MONTH in keys
    for table in ("ref_neighbourhoods", "ref_gazetteer", "ref_population", "load_log"):
        assert dg.AssetKey(["raw", table]) in specs

    # every raw table feeds its staging model: the dbt sources are the ingest assets
    for source, entity in ENTITIES:
        stg = dg.AssetKey(["staging", f"stg_{source}__{entity}"])
        assert specs[stg].group_name == "staging"
        assert graph.get(stg).parent_keys == {dg.AssetKey(["raw", f"{source}__{entity}"])}
    rejects = graph.get(dg.AssetKey(["staging", "stg_ingest__rejects"])).parent_keys
    assert rejects == set(raw_keys)
    assert graph.get(dg.AssetKey(["staging", "stg_ingest__load_log"])).parent_keys == {
        dg.AssetKey(["raw", "load_log"])
    }
    assert graph.get(dg.AssetKey(["staging", "stg_municipality__gazetteer"])).parent_keys == {
        dg.AssetKey(["raw", "ref_gazetteer"])
    }
    # no dbt source left as a stray node: every upstream of a dbt asset is defined here
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            assert parent in specs, f"{key.to_user_string()} depends on undefined {parent}"
    # dbt groups follow the folders
    dbt_groups = {
        s.group_name for k, s in specs.items() if k.path[0] in ("staging", "intermediate", "marts")
    }
    assert "staging" in dbt_groups

    # the quality checks of every ingest asset
    checks = {k.to_user_string() for k in graph.asset_check_keys if k.asset_key in raw_keys}
    for source, entity in ENTITIES:
        assert f"raw/{source}__{entity}:rejected_rows_share" in checks
        has = f"raw/{source}__{entity}:unassigned_addresses_share" in checks
        assert has == ((source, entity) in WITH_ADDRESS)

    for name in ("ingest_job", "reference_job", "transform_job"):
        assert defs.resolve_job_def(name).executor_def.name == "in_process"


# --- ingest ---------------------------------------------------------------------------------


def test_materialise_one_month_in_process(defs, home: Path, truth: pl.DataFrame) -> None:  # noqa: ANN001
    import dagster as dg

    from orchestration.assets.dbt import dbt_resource, geitonia_dbt
    from orchestration.assets.ingest import ingest_assets
    from orchestration.assets.reference import municipality_reference
    from orchestration.checks import REJECTED_SHARE_MAX
    from orchestration.resources import WarehouseResource

    resources = {"warehouse": WarehouseResource(), "dbt": dbt_resource()}
    result = dg.materialize(ingest_assets, partition_key=MONTH, resources=resources)
    assert result.success
    events = {
        e.asset_key.path[-1]: e
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] != "load_log"
    }
    assert set(events) == {f"{s}__{e}" for s, e in ENTITIES}
    checks = {
        (c.asset_check_key.asset_key.path[-1], c.asset_check_key.name): c
        for c in result.get_asset_check_evaluations()
    }
    with _con(home) as con:
        for source, entity in ENTITIES:
            name = f"{source}__{entity}"
            want = _expected(truth, source, entity, MONTH)
            assert want["rows_read"] > 0
            event = events[name]
            assert event.partition == MONTH
            meta = {k: v.value for k, v in event.materialization.metadata.items()}
            assert meta["rows_read"] == want["rows_read"], name
            assert meta["rows_rejected"] == want["rows_rejected"], name
            assert meta["dagster/partition_row_count"] == want["in_raw"], name
            months = con.execute(f'select distinct _period from raw."{name}"').fetchall()
            assert [str(m[0]) for m in months] == [f"{MONTH}-01"]
            count = con.execute(f'select count(*) from raw."{name}"').fetchone()[0]
            assert count == want["in_raw"], name
            # the Dagster run is the ingest run of the load log
            run_ids = con.execute(
                "select distinct run_id from raw.load_log where source = ? and entity = ?",
                [source, entity],
            ).fetchall()
            assert run_ids == [(result.run_id,)]
            check = checks[(name, "rejected_rows_share")]
            share = want["rows_rejected"] / want["rows_read"]
            assert check.passed == (share <= REJECTED_SHARE_MAX), name
            assert check.severity == dg.AssetCheckSeverity.WARN
        logged = {
            period_from_name(f)
            for (f,) in con.execute("select file_name from raw.load_log").fetchall()
        }
        assert logged == {MONTH}

    # the same month again: every file is skipped, nothing changes
    again = dg.materialize(ingest_assets[:1], partition_key=MONTH, resources=resources)
    meta = again.get_asset_materialization_events()[0].materialization.metadata
    assert meta["files_loaded"].value == 0 and meta["files_skipped"].value >= 1

    # the reference tables, then dbt's staging layer in a subprocess that opens the same file:
    # possible only because no step keeps a connection open
    ref = dg.materialize([municipality_reference], resources=resources)
    assert ref.success
    staging = dg.materialize(
        [geitonia_dbt], resources=resources, selection=dg.AssetSelection.groups("staging")
    )
    assert staging.success
    with _con(home) as con:
        for source, entity in ENTITIES:
            n = con.execute(f"select count(*) from staging.stg_{source}__{entity}").fetchone()[0]
            assert n == _expected(truth, source, entity, MONTH)["in_raw"]
        by_entity = dict(
            con.execute(
                "select entity, count(*) from staging.stg_ingest__rejects group by entity"
            ).fetchall()
        )
    for source, entity in ENTITIES:
        assert by_entity.get(entity, 0) == _expected(truth, source, entity, MONTH)["rows_rejected"]


def test_materialise_from_the_cli(dbt_manifest: Path, home: Path, truth: pl.DataFrame) -> None:
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "GEITONIA_HOME": str(home),
        "GEITONIA_PSEUDONYM_KEY": KEY_HEX,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "orchestration.definitions",
            "--select",
            "raw/community_centre__beneficiaries",
            "--partition",
            MONTH,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    want = _expected(truth, "community_centre", "beneficiaries", MONTH)
    with _con(home) as con:
        rows = con.execute(
            "select _period, count(*) from raw.community_centre__beneficiaries group by 1"
        ).fetchall()
        assert [(str(p), n) for p, n in rows] == [(f"{MONTH}-01", want["in_raw"])]
        loads = con.execute("select source, entity, period from raw.load_log").fetchall()
    assert {(s, e, str(p)) for s, e, p in loads} == {
        ("community_centre", "beneficiaries", f"{MONTH}-01")
    }


# --- the landing sensor ---------------------------------------------------------------------


def _tick(cursor: str | None):  # noqa: ANN202
    import dagster as dg

    from orchestration.resources import WarehouseResource
    from orchestration.sensors import landing_sensor

    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": WarehouseResource()})
    return landing_sensor(context)


def _requests(result) -> dict[str | None, set[str]]:  # noqa: ANN001
    return {
        r.partition_key: {k.path[-1] for k in (r.asset_selection or [])}
        for r in result.run_requests
    }


def test_sensor_requests_new_files_once(defs, home: Path, small_world_dir: Path) -> None:  # noqa: ANN001
    import dagster as dg

    from orchestration.assets.ingest import ingest_assets
    from orchestration.resources import WarehouseResource

    # every export file the generator wrote (refused ones too: their refusal must be logged)
    files = pl.read_csv(small_world_dir / "truth" / "files.csv", infer_schema_length=0)
    by_month: dict[str, set[str]] = {}
    for path in files["path"]:
        _, source, entity, name = path.split("/")
        by_month.setdefault(period_from_name(name), set()).add(f"{source}__{entity}")
    assert MONTH in by_month and len(by_month) > 1

    first = _tick(None)
    requested = _requests(first)
    reference = [r for r in first.run_requests if r.job_name == "reference_job"]
    assert len(reference) == 1 and reference[0].partition_key is None
    del requested[None]
    assert requested == by_month
    assert all(r.job_name == "ingest_job" for r in first.run_requests if r.partition_key)
    assert len({r.run_key for r in first.run_requests}) == len(first.run_requests)

    second = _tick(first.cursor)
    assert second.run_requests == []

    # once a month is in the load log it is not new even to a sensor without a cursor
    key = dg.AssetKey(["raw", "community_centre__beneficiaries"])
    asset = next(a for a in ingest_assets if a.key == key)
    assert dg.materialize(
        [asset], partition_key=MONTH, resources={"warehouse": WarehouseResource()}
    ).success
    fresh = _requests(_tick(None))
    assert fresh[MONTH] == by_month[MONTH] - {"community_centre__beneficiaries"}
    later = max(by_month)
    assert fresh[later] == by_month[later]

    # a corrected re-send arriving later: one run, for its asset and month only
    folder = home / "landing" / "7101" / "community_centre" / "beneficiaries"
    original = next(p for p in sorted(folder.iterdir()) if period_from_name(p.name) == MONTH)
    resent = folder / f"{original.stem}_corrected{original.suffix}"
    resent.write_bytes(original.read_bytes() + b"\n")
    third = _tick(second.cursor)
    assert _requests(third) == {MONTH: {"community_centre__beneficiaries"}}
    assert _tick(third.cursor).run_requests == []


def test_sensor_and_writer_wait_for_the_lock(defs, home: Path) -> None:  # noqa: ANN001
    """DuckDB lets one process write the file: a second writer waits (here: gives up at once),
    and the sensor skips its tick instead of failing."""
    import dagster as dg

    from orchestration.resources import WarehouseBusy, WarehouseResource, open_with_retry

    db = home / "warehouse" / "geitonia.duckdb"
    db.parent.mkdir(parents=True)
    duckdb.connect(str(db)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseBusy):
            open_with_retry(db, read_only=False, timeout=0)
        with pytest.raises(WarehouseBusy):
            WarehouseResource().query("select 1", timeout=0)
        tick = _tick(None)
        assert isinstance(tick, dg.SkipReason)
        assert "being written" in (tick.skip_message or "")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    # the lock released, the sensor sees the landing folder again
    assert _tick(None).run_requests


def test_month_of_a_file_without_one_in_its_name(dbt_manifest: Path, home: Path) -> None:
    """A file named without its month goes to the month of its dates, as ingest decides; an
    unreadable one to the month it arrived, so that its refusal is still logged."""
    from ingest.landing import scan
    from orchestration.partitions import file_month

    folder = home / "landing" / "7101" / "home_help" / "visits"
    original = next(p for p in sorted(folder.iterdir()) if period_from_name(p.name) == MONTH)
    shutil.copy(original, folder / f"export{original.suffix}")
    (folder / "export_empty.csv").write_bytes(b"")
    arrived = 1_620_000_000  # 2021-05-03 UTC
    os.utime(folder / "export_empty.csv", (arrived, arrived))
    months = {lf.name: file_month(lf) for lf in scan(home / "landing") if lf.entity == "visits"}
    assert months[f"export{original.suffix}"] == MONTH
    assert months["export_empty.csv"] == "2021-05"
    assert months[original.name] == MONTH
