"""geitonia.publish against a tiny warehouse made here: which tables, the snapshot's contents,
the atomic pointer, pruning, and refusals that leave the current snapshot as it was."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from geitonia.config import Paths
from geitonia.publish import (
    CURRENT,
    CURRENT_LINK,
    PublishError,
    WarehouseLocked,
    _prune,
    current_snapshot,
    git_state,
    list_snapshots,
    publish,
    published_node_ids,
)

# rows of each warehouse table (worked out here, not read back from publish)
ROWS = {
    ("marts", "indicator_values"): 120,
    ("marts", "needs_index_v2"): 7,
    ("reference", "indicator_catalogue"): 32,
    ("reference", "needs_index_domains"): 3,
    ("reference", "service_catalogue"): 29,
    ("reference", "bodies"): 4,
    ("intermediate", "int_person_spine"): 50,
}
TAGGED = {
    ("marts", "indicator_values"),
    ("marts", "needs_index_v2"),
    ("reference", "indicator_catalogue"),
}


def _node(kind: str, name: str, schema: str, *, alias: str | None = None, tags=()) -> dict:  # noqa: ANN001
    return {
        "resource_type": kind,
        "name": name,
        "schema": schema,
        "alias": alias or name,
        "config": {"tags": list(tags), "enabled": True, "materialized": "table"},
        "tags": list(tags),
        "fqn": ["geitonia", schema, name],
    }


def _manifest(tagged: bool = True) -> dict:
    t = ("published",) if tagged else ()
    nodes = {
        "model.geitonia.indicator_values": _node("model", "indicator_values", "marts", tags=t),
        # the relation is named by the alias, not the model name
        "model.geitonia.needs_index": _node(
            "model", "needs_index", "marts", alias="needs_index_v2", tags=t
        ),
        "model.geitonia.int_person_spine": _node("model", "int_person_spine", "intermediate"),
        "seed.geitonia.indicator_catalogue": _node(
            "seed", "indicator_catalogue", "reference", tags=t
        ),
        "seed.geitonia.needs_index_domains": _node("seed", "needs_index_domains", "reference"),
        "seed.geitonia.service_catalogue": _node("seed", "service_catalogue", "reference"),
        "seed.geitonia.bodies": _node("seed", "bodies", "reference"),
        "test.geitonia.not_null_x": _node("test", "not_null_x", "marts", tags=("published",)),
    }
    return {"metadata": {"dbt_version": "1.11.0", "invocation_id": "parse"}, "nodes": nodes}


@pytest.fixture()
def paths(tmp_path: Path) -> Paths:
    p = Paths(tmp_path / "home")
    p.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(p.warehouse))
    for (schema, table), n in ROWS.items():
        con.execute(f"create schema if not exists {schema}")
        con.execute(
            f"create table {schema}.{table} as select range as id, "
            f"'v' || range::varchar as label, range * 0.5 as value from range({n})"
        )
    # a dbt-style view naming its table with the warehouse's catalog name
    con.execute(
        'create view marts.indicator_view as select id, label from "geitonia"."marts"."indicator_values" where id < 10'
    )
    con.close()
    return p


@pytest.fixture()
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "target" / "manifest.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_manifest()))
    return path


def _run_results(tmp_path: Path, statuses: list[str], vars_: dict | None = None) -> Path:
    path = tmp_path / "target" / "run_results.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "metadata": {
                    "dbt_version": "1.11.16",
                    "invocation_id": "inv-123",
                    "generated_at": "2026-11-22T07:21:00.945344Z",
                },
                "results": [
                    {"unique_id": f"model.geitonia.m{i}", "status": s}
                    for i, s in enumerate(statuses)
                ],
                "args": {"vars": vars_ or {}},
            }
        )
    )
    return path


def _state(p: Paths) -> tuple[str | None, list[str], list[str]]:
    """(CURRENT's content, the folder's files, temporary files)."""
    folder = p.snapshots
    cur = (folder / CURRENT).read_text() if (folder / CURRENT).exists() else None
    names = sorted(x.name for x in folder.iterdir()) if folder.exists() else []
    temps = [n for n in names if n.startswith(".tmp-") or n.endswith(".tmp") or n.endswith(".wal")]
    return cur, names, temps


def _tables(path: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name <> 'publish'"
        ).fetchall()
        return {
            (s, t): con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in names
        }


# --- what is published -----------------------------------------------------------------------


def test_publishes_the_tagged_tables(paths: Paths, manifest: Path) -> None:
    res = publish(paths, manifest_path=manifest)
    assert res.selection == "tagged"
    assert {(t.schema, t.table) for t in res.tables} == TAGGED
    assert {(t.schema, t.table): t.row_count for t in res.tables} == {k: ROWS[k] for k in TAGGED}
    assert res.rows == sum(ROWS[k] for k in TAGGED)
    # the snapshot has the same schema.table names and rows as the warehouse, and nothing else
    assert _tables(res.path) == {k: ROWS[k] for k in TAGGED}
    with duckdb.connect(str(res.path), read_only=True) as con:
        assert con.execute("select sum(value) from marts.indicator_values").fetchone()[0] == (
            sum(range(120)) * 0.5
        )
        listed = con.execute(
            "select table_schema, table_name, row_count, column_count, columns, dbt_unique_id "
            "from publish.tables order by all"
        ).fetchall()
        man = con.execute(
            "select snapshot_id, git_revision, git_dirty, disclosure_threshold, selection, "
            "table_count, row_count, dbt_invocation_id from publish.manifest"
        ).fetchall()
    assert listed == sorted(
        (s, t, ROWS[(s, t)], 3, ["id", "label", "value"], uid)
        for (s, t), uid in {
            ("marts", "indicator_values"): "model.geitonia.indicator_values",
            ("marts", "needs_index_v2"): "model.geitonia.needs_index",
            ("reference", "indicator_catalogue"): "seed.geitonia.indicator_catalogue",
        }.items()
    )
    revision, dirty = git_state()
    assert man == [
        (res.snapshot_id, revision, dirty, 10, "tagged", 3, sum(ROWS[k] for k in TAGGED), None)
    ]
    # the name: UTC time and short revision
    short = revision[:7] if revision != "unknown" else "unknown"
    assert res.path.name == f"{res.published_at:%Y%m%dT%H%M%SZ}_{short}.duckdb"
    assert res.snapshot_id == res.path.stem


def test_pointer_and_file_mode(paths: Paths, manifest: Path) -> None:
    assert current_snapshot(paths) is None and list_snapshots(paths) == []
    res = publish(paths, manifest_path=manifest)
    folder = paths.snapshots
    assert (folder / CURRENT).read_text().strip() == res.path.name
    link = folder / CURRENT_LINK
    assert link.is_symlink() and os.readlink(link) == res.path.name  # relative
    assert link.resolve() == res.path.resolve()
    assert current_snapshot(paths) == res.path
    assert stat.S_IMODE(res.path.stat().st_mode) == 0o444
    cur, names, temps = _state(paths)
    assert temps == []
    assert names == sorted([".publish.lock", CURRENT, CURRENT_LINK, res.path.name])
    # readable read-only (no WAL written next to it)
    with duckdb.connect(str(link), read_only=True) as con:
        assert con.execute("select count(*) from marts.indicator_values").fetchone()[0] == 120
    assert _state(paths)[2] == []


def test_fallback_without_tags(paths: Paths, tmp_path: Path) -> None:
    untagged = tmp_path / "untagged.json"
    untagged.write_text(json.dumps(_manifest(tagged=False)))
    want = {
        ("marts", "indicator_values"): 120,
        ("marts", "needs_index_v2"): 7,
        ("marts", "indicator_view"): 10,  # a view of the marts schema, copied as a table
        ("reference", "indicator_catalogue"): 32,
        ("reference", "needs_index_domains"): 3,
        ("reference", "service_catalogue"): 29,
    }
    for path in (untagged, None):
        res = publish(paths, manifest_path=path)
        assert res.selection == "fallback"
        assert {(t.schema, t.table): t.row_count for t in res.tables} == want
        assert _tables(res.path) == want


def test_explicit_models(paths: Paths, manifest: Path) -> None:
    res = publish(
        paths, manifest_path=manifest, models=["intermediate.int_person_spine", "needs_index"]
    )
    assert res.selection == "explicit"
    assert _tables(res.path) == {
        ("intermediate", "int_person_spine"): 50,
        ("marts", "needs_index_v2"): 7,
    }
    with pytest.raises(PublishError, match="not in the manifest"):
        publish(paths, manifest_path=manifest, models=["no_such_model"])


def test_published_node_ids() -> None:
    assert published_node_ids(_manifest()) == [
        "model.geitonia.indicator_values",
        "model.geitonia.needs_index",
        "seed.geitonia.indicator_catalogue",
    ]
    # no model tagged: the marts models and the reference seeds (tests are never nodes here)
    assert published_node_ids(_manifest(tagged=False)) == [
        "model.geitonia.indicator_values",
        "model.geitonia.needs_index",
        "seed.geitonia.indicator_catalogue",
        "seed.geitonia.needs_index_domains",
        "seed.geitonia.service_catalogue",
    ]


# --- pruning -----------------------------------------------------------------------------------


def test_keeps_the_newest_n(paths: Paths, manifest: Path) -> None:
    made = [publish(paths, manifest_path=manifest, keep=3).path for _ in range(6)]
    assert len(set(made)) == 6  # unique names even within one second
    assert list_snapshots(paths) == made[::-1][:3]
    assert current_snapshot(paths) == made[-1]
    assert not any(p.exists() for p in made[:3])
    res = publish(paths, manifest_path=manifest, keep=1)
    assert list_snapshots(paths) == [res.path]
    assert set(res.pruned) == set(made[3:])
    with pytest.raises(ValueError):
        publish(paths, manifest_path=manifest, keep=0)


def test_prune_never_removes_the_current_one(paths: Paths, manifest: Path) -> None:
    made = [publish(paths, manifest_path=manifest, keep=10).path for _ in range(4)]
    removed = _prune(paths, 1, current=made[0])
    assert set(removed) == set(made[1:3])
    assert list_snapshots(paths) == [made[3], made[0]]


# --- refusals ----------------------------------------------------------------------------------


def test_refuses_without_a_warehouse(tmp_path: Path, manifest: Path) -> None:
    p = Paths(tmp_path / "empty")
    with pytest.raises(PublishError, match="no warehouse"):
        publish(p, manifest_path=manifest)
    assert list_snapshots(p) == []


def test_refusals_leave_the_current_snapshot(paths: Paths, manifest: Path, tmp_path: Path) -> None:
    first = publish(paths, manifest_path=manifest)
    before = _state(paths)

    # a tagged table missing from the warehouse
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("drop table marts.needs_index_v2")
    with pytest.raises(PublishError, match=r"marts\.needs_index_v2"):
        publish(paths, manifest_path=manifest)
    assert _state(paths) == before

    # a dbt run with a failure
    failed = _run_results(tmp_path, ["success", "pass", "fail", "error"])
    with pytest.raises(PublishError, match="2 failure"):
        publish(paths, models=["marts.indicator_values"], run_results_path=failed)
    assert _state(paths) == before

    # a manifest that is not there
    with pytest.raises(PublishError, match="does not exist"):
        publish(paths, manifest_path=tmp_path / "nowhere.json")
    assert _state(paths) == before

    # the warehouse gone
    paths.warehouse.unlink()
    with pytest.raises(PublishError, match="no warehouse"):
        publish(paths, manifest_path=manifest)
    assert _state(paths) == before
    assert current_snapshot(paths) == first.path


def test_a_failure_while_writing_leaves_nothing(
    paths: Paths, manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = publish(paths, manifest_path=manifest)
    before = _state(paths)
    import geitonia.publish as mod

    def boom(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise RuntimeError("disk full")

    monkeypatch.setattr(mod, "_write_publish_tables", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        publish(paths, manifest_path=manifest)
    assert _state(paths) == before
    monkeypatch.undo()
    # a temporary file left by a killed publish is removed by the next one
    (paths.snapshots / ".tmp-20200101T000000Z_dead.duckdb").write_bytes(b"partial")
    second = publish(paths, manifest_path=manifest)
    assert _state(paths)[2] == []
    assert list_snapshots(paths) == [second.path, first.path]


def test_run_results_are_recorded(paths: Paths, manifest: Path, tmp_path: Path) -> None:
    ok = _run_results(tmp_path, ["success", "pass", "warn", "skipped"], {"disclosure_threshold": 5})
    res = publish(paths, manifest_path=manifest, run_results_path=ok)
    assert res.dbt_invocation_id == "inv-123" and res.disclosure_threshold == 5
    with duckdb.connect(str(res.path), read_only=True) as con:
        row = con.execute(
            "select dbt_invocation_id, dbt_generated_at::varchar, dbt_version, "
            "disclosure_threshold from publish.manifest"
        ).fetchone()
    assert row == ("inv-123", "2026-11-22 07:21:00.945344", "1.11.16", 5)


def test_refuses_while_the_warehouse_is_written(paths: Paths, manifest: Path) -> None:
    first = publish(paths, manifest_path=manifest)
    before = _state(paths)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(paths.warehouse),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLocked):
            publish(paths, manifest_path=manifest)
        assert _state(paths) == before
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert current_snapshot(paths) == first.path


# --- readers -----------------------------------------------------------------------------------

_READER = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
q = "select count(*), sum(id) from marts.indicator_values"
print(*con.execute(q).fetchone(), flush=True)
sys.stdin.readline()
print(*con.execute(q).fetchone(), flush=True)
"""


def test_readers_are_not_disturbed_by_a_publish(paths: Paths, manifest: Path) -> None:
    """A dashboard holding the current snapshot (and another reading the warehouse) keeps
    reading while a new snapshot is published and the old one pruned."""
    first = publish(paths, manifest_path=manifest)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", _READER, str(target)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for target in (paths.snapshots / CURRENT_LINK, paths.warehouse)
    ]
    want = f"120 {sum(range(120))}"
    try:
        for r in readers:
            assert r.stdout is not None and r.stdout.readline().strip() == want
        second = publish(paths, manifest_path=manifest, keep=1)
        assert not first.path.exists() and current_snapshot(paths) == second.path
        for r in readers:
            assert r.stdin is not None
            r.stdin.write("\n")
            r.stdin.flush()
            assert r.stdout is not None and r.stdout.readline().strip() == want
    finally:
        for r in readers:
            if r.stdin is not None:
                r.stdin.close()
            r.wait(timeout=60)
    assert all(r.returncode == 0 for r in readers)


def test_git_state_outside_a_checkout(tmp_path: Path) -> None:
    assert git_state(tmp_path) == ("unknown", False)
