"""Ingest the small synthetic municipality and hold the warehouse against its ground truth."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.landing import scan
from ingest.pipeline import IngestContext, ingest_landing
from ingest.pseudonymise import Pseudonymiser
from ingest.warehouse import Warehouse, query_pl

pytestmark = pytest.mark.slow

TEST_KEY = bytes(range(32))
TEST_KEY_HEX = TEST_KEY.hex()


def _ingest(landing: Path, home: Path) -> None:
    with Warehouse.open(home / "warehouse" / "geitonia.duckdb") as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(TEST_KEY), archive_dir=home / "archive"
        )
        ingest_landing(landing, ctx)


@pytest.fixture(scope="module")
def ingested(small_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ingest_home")
    _ingest(small_world_dir / "exports", home)
    return home


def _con(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' order by 1, 2"
    ).fetchall()


def _fingerprint(db: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for schema, name in _tables(con):
            n, h = con.execute(
                f'select count(*), coalesce(sum(hash(t)::hugeint), 0) from {schema}."{name}" t'
            ).fetchone()
            out[f"{schema}.{name}"] = (n, int(h))
        return out
    finally:
        con.close()


def _loaded_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every loaded row of every raw table with its file (landing path) and row number."""
    frames = []
    for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' and table_name like '%\\_\\_%' escape '\\' and table_name not like '%rejects' and table_name not like 'ref\\_%' escape '\\'"
    ).fetchall():
        cols = {r[0] for r in con.execute(f'describe raw."{name}"').fetchall()}
        nb = "t.neighbourhood_id" if "neighbourhood_id" in cols else "null::varchar"
        rep = "t._repairs" if "_repairs" in cols else "null::varchar"
        st = "t.amka_status" if "amka_status" in cols else "null::varchar"
        frames.append(
            query_pl(
                con,
                f"""select l.landing_path as file, l.sheet, t._source_row as source_row,
                           {nb} as neighbourhood_id, {rep} as repairs, {st} as amka_status
                    from raw."{name}" t join raw.load_log l on l.load_id = t._load_id""",
            )
        )
    return pl.concat(frames)


def _rejects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    frames = []
    for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' and table_name like '%rejects'"
    ).fetchall():
        frames.append(
            query_pl(
                con,
                f"""select l.landing_path as file, r.sheet, r.source_row, r.reason_code, r.reasons,
                           r.reason_el, r.reason_en, r.column_name
                    from raw."{name}" r join raw.load_log l on l.load_id = r._load_id""",
            )
        )
    return pl.concat(frames)


def test_rows_read_equal_loaded_plus_rejected(ingested: Path) -> None:
    con = _con(ingested)
    log = query_pl(con, "select * from raw.load_log where status = 'loaded'")
    assert log.height > 80
    assert (log["rows_read"] == log["rows_loaded"] + log["rows_rejected"]).all()
    loaded = _loaded_rows(con).group_by("file").len()
    rejected = _rejects(con).group_by("file").len()
    check = (
        log.filter(pl.col("superseded_by").is_null())
        .select(pl.col("landing_path").alias("file"), "rows_loaded", "rows_rejected")
        .join(loaded.rename({"len": "n_loaded"}), on="file", how="left")
        .join(rejected.rename({"len": "n_rejected"}), on="file", how="left")
        .fill_null(0)
    )
    assert (check["rows_loaded"] == check["n_loaded"]).all()
    assert (check["rows_rejected"] == check["n_rejected"]).all()


def _current_faults(world: Path, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    faults = pl.read_csv(world / "truth" / "faults.csv", infer_schema_length=0).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )
    log = query_pl(con, "select landing_path as file, status, superseded_by from raw.load_log")
    live = log.filter(pl.col("status") == "loaded", pl.col("superseded_by").is_null())["file"]
    return faults, set(live.to_list())


def test_every_row_fault_ends_where_the_truth_says(small_world_dir: Path, ingested: Path) -> None:
    con = _con(ingested)
    faults, live = _current_faults(small_world_dir, con)
    rejects = _rejects(con)
    loaded = _loaded_rows(con)
    keys = ["file", "source_row"]
    row_faults = faults.filter(pl.col("source_row").is_not_null(), pl.col("file").is_in(list(live)))
    assert row_faults.height > 100
    problems = []
    rej = row_faults.filter(pl.col("expected_action") == "reject_row").join(
        rejects, on=keys, how="left"
    )
    bad = rej.filter(
        pl.col("reason_code").is_null() | (pl.col("reason_code") != pl.col("expected_reason"))
    )
    problems += [
        ("reject", r["fault"], r["file"], r["source_row"], r["reason_code"])
        for r in bad.iter_rows(named=True)
    ]
    assert rej.filter(pl.col("reason_code").is_not_null())["reason_en"].str.len_chars().min() > 5

    # and no row is rejected that the truth does not expect to be
    unexpected = rejects.filter(pl.col("file").is_in(list(live))).join(faults, on=keys, how="anti")
    problems += [
        ("unexpected reject", None, r["file"], r["source_row"], r["reason_code"])
        for r in unexpected.iter_rows(named=True)
    ]

    rep = row_faults.filter(pl.col("expected_action") == "repair_row").join(
        loaded, on=keys, how="left"
    )
    bad = rep.filter(
        ~pl.col("repairs").fill_null("").str.contains(pl.col("expected_reason"), literal=True)
    )
    problems += [
        ("repair", r["fault"], r["file"], r["source_row"], r["repairs"])
        for r in bad.iter_rows(named=True)
    ]

    ld = row_faults.filter(pl.col("expected_action") == "load_row").join(
        loaded, on=keys, how="left"
    )
    problems += [
        ("load", r["fault"], r["file"], r["source_row"], None)
        for r in ld.filter(
            pl.col("source_row").is_null()
            | pl.col("amka_status").is_null() & (pl.col("expected_reason") == "amka_missing")
        ).iter_rows(named=True)
    ]
    missing = ld.filter(pl.col("expected_reason") == "amka_missing")
    assert (missing["amka_status"] == "missing").all()

    skipped = con.execute(
        "select landing_path, skipped_rows from raw.load_log where skipped_rows is not null"
    ).fetchall()
    skipped_set = {
        (f, int(x.split(":")[0]))
        for f, s in skipped
        for x in s.split(";")
        if x.endswith("totals_row")
    }
    tot = row_faults.filter(pl.col("expected_action") == "skip_row")
    problems += [
        ("skip", r["fault"], r["file"], r["source_row"], None)
        for r in tot.iter_rows(named=True)
        if (r["file"], r["source_row"]) not in skipped_set
    ]
    assert not problems, problems[:20]


def test_every_file_fault_ends_where_the_truth_says(small_world_dir: Path, ingested: Path) -> None:
    con = _con(ingested)
    faults = pl.read_csv(small_world_dir / "truth" / "faults.csv", infer_schema_length=0)
    log = query_pl(con, "select * from raw.load_log")
    by_file = {r["landing_path"]: r for r in log.iter_rows(named=True)}
    refused = faults.filter(pl.col("expected_action") == "refuse_file")
    assert refused.height >= 2
    for f in refused.iter_rows(named=True):
        entry = by_file[f["file"]]
        assert entry["status"] == "refused" and entry["reason_code"] == f["expected_reason"], entry
        assert entry["message_el"] and entry["message_en"]
    resent = faults.filter(pl.col("expected_action") == "replace_period")
    assert resent.height >= 1
    for f in resent.iter_rows(named=True):
        new = by_file[f["file"]]
        assert new["status"] == "loaded" and new["replaces"], new
        old = log.filter(pl.col("load_id").is_in(new["replaces"].split(",")))
        assert (old["superseded_by"] == new["load_id"]).all()
        # the month now holds the re-sent rows only
        table = f'raw."{new["source"]}__{new["entity"]}"'
        ids = {
            r[0]
            for r in con.execute(
                f"select distinct _load_id from {table} where _period = ?", [new["period"]]
            ).fetchall()
        }
        assert new["load_id"] in ids and not (ids & set(old["load_id"].to_list()))


def test_records_are_placed_in_their_true_neighbourhood(
    small_world_dir: Path, ingested: Path
) -> None:
    con = _con(ingested)
    records = pl.read_parquet(small_world_dir / "truth" / "records.parquet").filter(
        pl.col("true_neighbourhood_id").is_not_null()
    )
    loaded = _loaded_rows(con).filter(
        pl.col("neighbourhood_id").is_not_null()
        | pl.col("file").str.contains("beneficiaries|households|clients|requests")
    )
    j = records.select("file", pl.col("source_row").cast(pl.Int64), "true_neighbourhood_id").join(
        loaded.select("file", "source_row", "neighbourhood_id"), on=["file", "source_row"]
    )
    assert j.height > 1000
    share = (j["neighbourhood_id"] == j["true_neighbourhood_id"]).fill_null(False).mean()
    assert share >= 0.98, share


def _find_leaks(
    con: duckdb.DuckDBPyConnection, persons: pl.DataFrame
) -> list[tuple[str, str, str]]:
    """Every (table, column, kind) holding a person's ΑΜΚΑ, ΑΦΜ or phone (also without its
    leading zero), or a value carrying both a person's surname and first name."""
    from ingest.text import normalise_greek

    digits = (
        set(persons["amka"].drop_nulls())
        | set(persons["afm"].drop_nulls())
        | set(persons["phone"].drop_nulls())
    )
    digits |= {d.lstrip("0") for d in digits}
    full_names = {
        (normalise_greek(s), normalise_greek(f))
        for s, f in persons.select("surname", "first_name").iter_rows()
    }
    surnames = {s for s, _ in full_names if s}
    leaks = []
    for schema, name in _tables(con):
        for col, dtype, *_ in con.execute(f'describe {schema}."{name}"').fetchall():
            values = [
                v
                for (v,) in con.execute(
                    f'select distinct cast("{col}" as varchar) from {schema}."{name}"'
                ).fetchall()
                if v
            ]
            for v in values:
                if any(run in digits for run in re.findall(r"\d{7,11}", v)):
                    leaks.append((name, col, "number"))
                if dtype == "VARCHAR" and any(ch.isalpha() for ch in v):
                    tokens = set(normalise_greek(v).split())
                    if tokens & surnames and any(
                        s in tokens and f in tokens for s, f in full_names if s and f
                    ):
                        leaks.append((name, col, "name"))
    return leaks


def test_no_identifier_is_stored_anywhere(small_world_dir: Path, ingested: Path) -> None:
    persons = pl.read_parquet(small_world_dir / "truth" / "persons.parquet")
    assert _find_leaks(_con(ingested), persons) == []


def test_the_identifier_scan_finds_a_planted_leak(
    small_world_dir: Path, ingested: Path, tmp_path: Path
) -> None:
    persons = pl.read_parquet(small_world_dir / "truth" / "persons.parquet").drop_nulls("amka")
    p = persons.row(0, named=True)
    db = tmp_path / "copy.duckdb"
    shutil.copy(ingested / "warehouse" / "geitonia.duckdb", db)
    con = duckdb.connect(str(db))
    con.execute("create table raw.planted (note varchar, code varchar)")
    con.execute(
        "insert into raw.planted values (?, ?)",
        [f"{p['surname'].upper()} {p['first_name']}", f"ref {p['amka']}"],
    )
    leaks = _find_leaks(con, persons)
    con.close()
    assert ("planted", "note", "name") in leaks and ("planted", "code", "number") in leaks


def test_ingesting_twice_changes_nothing(small_world_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _ingest(small_world_dir / "exports", home)
    before = _fingerprint(home / "warehouse" / "geitonia.duckdb")
    _ingest(small_world_dir / "exports", home)
    after = _fingerprint(home / "warehouse" / "geitonia.duckdb")
    assert before == after


def test_a_load_killed_mid_file_leaves_the_warehouse_unchanged(
    small_world_dir: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    src = small_world_dir / "exports" / "7101"
    shutil.copytree(src / "reference", landing / "7101" / "reference")
    visits = sorted((src / "home_help" / "visits").iterdir())
    first, second = visits[0], visits[1]
    (landing / "7101" / "home_help" / "visits").mkdir(parents=True)
    shutil.copy(first, landing / "7101" / "home_help" / "visits" / first.name)
    home = tmp_path / "home"
    env = {**os.environ, "GEITONIA_HOME": str(home), "GEITONIA_PSEUDONYM_KEY": TEST_KEY_HEX}
    cli = [sys.executable, "-m", "geitonia.cli", "ingest", str(landing)]
    subprocess.run(cli, env=env, check=True, capture_output=True)
    db = home / "warehouse" / "geitonia.duckdb"
    before = _fingerprint(db)

    shutil.copy(second, landing / "7101" / "home_help" / "visits" / second.name)
    marker = tmp_path / "in_transaction"
    slow = {
        **env,
        "GEITONIA_TEST_PAUSE_BEFORE_COMMIT": "60",
        "GEITONIA_TEST_PAUSE_MARKER": str(marker),
    }
    proc = subprocess.Popen(cli, env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the load never reached its commit"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _fingerprint(db) == before

    subprocess.run(cli, env=env, check=True, capture_output=True)
    con = duckdb.connect(str(db), read_only=True)
    names = {
        r[0]
        for r in con.execute(
            "select file_name from raw.load_log where status = 'loaded'"
        ).fetchall()
    }
    con.close()
    assert {first.name, second.name} <= names


def test_the_scan_sees_every_export(small_world_dir: Path) -> None:
    files = pl.read_csv(small_world_dir / "truth" / "files.csv", infer_schema_length=0)
    seen = {lf.relative for lf in scan(small_world_dir / "exports")}
    assert set(files["path"].to_list()) <= seen


def test_a_file_named_without_its_month_is_loaded_once(
    small_world_dir: Path, tmp_path: Path
) -> None:
    src = small_world_dir / "exports" / "7101"
    landing = tmp_path / "landing"
    shutil.copytree(src / "reference", landing / "7101" / "reference")
    target = landing / "7101" / "home_help" / "visits"
    target.mkdir(parents=True)
    shutil.copy(sorted((src / "home_help" / "visits").glob("*.csv"))[2], target / "visits.csv")
    home = tmp_path / "home"
    with Warehouse.open(home / "warehouse" / "geitonia.duckdb") as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(TEST_KEY), archive_dir=home / "archive"
        )
        first = ingest_landing(landing, ctx)
        second = ingest_landing(landing, ctx)
    assert [r.status for r in first.records] == ["loaded"] and first.records[0].period
    assert second.records == [] and len(second.skipped) == 1
