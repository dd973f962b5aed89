"""PUBLISH: copy the published marts from the warehouse into an immutable snapshot file.

    $GEITONIA_HOME/snapshots/
        20261122T071500Z_ab12cd3.duckdb   one snapshot: <UTC time>_<short git revision>.duckdb
        CURRENT                           the current snapshot's file name (one line)
        current.duckdb -> 20261122T071500Z_ab12cd3.duckdb   the same, as a relative symlink

A snapshot holds the published tables under the warehouse's schema and table names (so a
dashboard reads `marts.indicator_values` from either), plus `publish.manifest` (one row: where
the snapshot came from) and `publish.tables` (one row per table: its row count and columns).

Which tables: the dbt models and seeds tagged `published` in the dbt manifest (their schema and
alias); when none is tagged (or there is no manifest), every table of the `marts` schema and
the reference seeds in FALLBACK_SEEDS; or the names given.

A snapshot is written under a temporary name, checkpointed, closed, made read-only (0o444) and
renamed; only then does the pointer move (CURRENT written to CURRENT.tmp, fsynced and renamed
over CURRENT; the symlink likewise), so a reader sees the old snapshot or the new one, never a
half-written one. A refused or failed publish leaves the current snapshot as it was and no
temporary file behind. Publishes are serialised by a lock file in the snapshots folder.

The warehouse is attached READ_ONLY: it can be read while other processes read it, but not
while a process writes it (DuckDB: one writing process per file), so the pipeline closes its
connection before publishing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from geitonia.config import DBT_PROJECT_DIR, PROJECT_ROOT, Paths

TAG = "published"
FALLBACK_SCHEMA = "marts"
FALLBACK_SEED_SCHEMA = "reference"
FALLBACK_SEEDS = ("indicator_catalogue", "needs_index_domains", "service_catalogue")
PUBLISH_SCHEMA = "publish"
CURRENT = "CURRENT"
CURRENT_LINK = "current.duckdb"
SUFFIX = ".duckdb"
TEMP_PREFIX = ".tmp-"
LOCK_FILE = ".publish.lock"
DEFAULT_DISCLOSURE_THRESHOLD = 10
# dbt result statuses that make a build unfit to publish
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
LOCK_TIMEOUT_SECONDS = 600.0

_SNAPSHOT_NAME = re.compile(r"^(\d{8}T\d{6}Z)_([0-9A-Za-z]+)(?:_(\d+))?\.duckdb$")
_WH = "wh"  # fallback catalog alias of the attached warehouse


class PublishError(RuntimeError):
    """The warehouse cannot be published (nothing was changed)."""


class WarehouseLocked(PublishError):
    """Another process is writing the warehouse (try again when it has finished)."""


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    table: str
    row_count: int
    columns: tuple[str, ...]
    unique_id: str | None = None  # the dbt node, when known

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class PublishResult:
    snapshot_id: str
    path: Path
    published_at: datetime  # UTC (naive)
    git_revision: str
    git_dirty: bool
    dbt_invocation_id: str | None
    dbt_generated_at: datetime | None
    disclosure_threshold: int
    selection: str  # tagged | explicit | fallback
    tables: tuple[PublishedTable, ...]
    pruned: tuple[Path, ...]

    @property
    def rows(self) -> int:
        return sum(t.row_count for t in self.tables)


@dataclass(frozen=True)
class _Relation:
    schema: str
    table: str
    unique_id: str | None = None


# --- readers ---------------------------------------------------------------------------------


def list_snapshots(paths: Paths) -> list[Path]:
    """The complete snapshots, newest first (temporary files and the pointers excluded)."""
    folder = paths.snapshots
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _SNAPSHOT_NAME.match(p.name)
        if m and p.is_file() and not p.is_symlink():
            found.append((m.group(1), int(m.group(3) or 1), p.stat().st_mtime_ns, p.name, p))
    return [f[-1] for f in sorted(found, reverse=True)]


def current_snapshot(paths: Paths) -> Path | None:
    """The current snapshot (from CURRENT, else the current.duckdb symlink), or None when
    nothing has been published yet."""
    folder = paths.snapshots
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        name = ""
    if not name:
        try:
            name = os.readlink(folder / CURRENT_LINK)
        except OSError:
            return None
    # a name, never a path: a pointer cannot lead out of the snapshots folder
    if not _SNAPSHOT_NAME.match(Path(name).name) or Path(name).name != name:
        return None
    path = folder / name
    return path if path.is_file() else None


# --- dbt artefacts ---------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PublishError(f"the dbt {what} {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise PublishError(f"the dbt {what} {path} cannot be read: {exc}") from exc


def tagged_relations(manifest: dict[str, Any], tag: str = TAG) -> list[_Relation]:
    """The models and seeds tagged `tag` (enabled, not ephemeral): schema and alias."""
    out = []
    for uid, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") not in ("model", "seed"):
            continue
        config = node.get("config") or {}
        tags = set(config.get("tags") or []) | set(node.get("tags") or [])
        if tag not in tags or config.get("enabled") is False:
            continue
        if config.get("materialized") == "ephemeral":
            continue
        out.append(_Relation(node["schema"], node.get("alias") or node["name"], uid))
    return sorted(out, key=lambda r: (r.schema, r.table))


def publish_layout(manifest: dict[str, Any] | None, unique_id: str | None) -> dict[str, Any]:
    """How a published table is laid out in the snapshot, from its dbt config
    `meta: {publish: {order_by: [columns], indexes: [[columns], ...]}}`: rows sorted so that
    DuckDB's zone maps skip most row groups for the dashboards' filters, and ART indexes for
    their selective lookups. {} when the model says nothing."""
    if not manifest or not unique_id:
        return {}
    node = (manifest.get("nodes") or {}).get(unique_id) or {}
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    layout = meta.get("publish") or {}
    return {
        "order_by": [str(c) for c in layout.get("order_by") or []],
        "indexes": [[str(c) for c in cols] for cols in layout.get("indexes") or []],
    }


def published_node_ids(manifest: dict[str, Any]) -> list[str]:
    """The dbt unique ids publish() copies with this manifest: the tagged models and seeds;
    when no model is tagged, the models of the marts schema, the FALLBACK_SEEDS and any tagged
    seed (for an orchestrator's dependencies; publish() itself goes by the warehouse)."""
    tagged = [r.unique_id for r in tagged_relations(manifest) if r.unique_id]
    if any(uid.startswith("model.") for uid in tagged):
        return sorted(tagged)
    out = set(tagged)
    for uid, node in (manifest.get("nodes") or {}).items():
        kind = node.get("resource_type")
        if (kind == "model" and node.get("schema") == FALLBACK_SCHEMA) or (
            kind == "seed" and node.get("name") in FALLBACK_SEEDS
        ):
            out.add(uid)
    return sorted(out)


def failed_results(run_results: dict[str, Any]) -> list[str]:
    """'<unique_id>: <status>' of every result with an error or failure status."""
    return [
        f"{r.get('unique_id')}: {r.get('status')}"
        for r in run_results.get("results") or []
        if str(r.get("status", "")).lower() in FAILED_STATUSES
    ]


def _disclosure_threshold(run_results: dict[str, Any] | None, manifest: dict | None) -> int:
    """The dbt var disclosure_threshold: --vars of the run, else the project's
    dbt_project.yml vars, else DEFAULT_DISCLOSURE_THRESHOLD."""
    args = (run_results or {}).get("args") or {}
    given = args.get("vars")
    if isinstance(given, str):
        with contextlib.suppress(yaml.YAMLError):
            given = yaml.safe_load(given)
    candidates: list[Any] = []
    if isinstance(given, dict):
        candidates.append(given.get("disclosure_threshold"))
    for source in (manifest or {}).get("vars"), (manifest or {}).get("metadata", {}).get("vars"):
        if isinstance(source, dict):
            candidates.append(source.get("disclosure_threshold"))
    project_dir = Path(args["project_dir"]) if args.get("project_dir") else DBT_PROJECT_DIR
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
        candidates.append(((project or {}).get("vars") or {}).get("disclosure_threshold"))
    except (OSError, yaml.YAMLError):
        pass
    for value in candidates:
        with contextlib.suppress(TypeError, ValueError):
            if value is not None:
                return int(value)
    return DEFAULT_DISCLOSURE_THRESHOLD


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


# --- git -------------------------------------------------------------------------------------


def git_state(root: Path = PROJECT_ROOT) -> tuple[str, bool]:
    """(HEAD's full revision, whether the checkout has changes), ('unknown', False) when
    `root` is not a git checkout or git is missing. Reads only (no optional locks)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "--no-optional-locks", "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    if not head or not re.fullmatch(r"[0-9a-f]{40,64}", head.strip()):
        return "unknown", False
    status = git("status", "--porcelain")
    return head.strip(), bool(status and status.strip())


# --- the publish -----------------------------------------------------------------------------


@contextlib.contextmanager
def _publish_lock(folder: Path, timeout: float) -> Iterator[None]:
    with open(folder / LOCK_FILE, "a+b") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PublishError(f"another publish holds {folder / LOCK_FILE}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _remove_database(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        _remove(p)


def _snapshot_id(folder: Path, now: datetime, revision: str) -> str:
    """<UTC time>_<short revision>, with _<n> after the highest n of that second's snapshots
    (the newest of them is never pruned, so an id is never reused and ids sort by time)."""
    short = revision[:7] if revision != "unknown" else "unknown"
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    used = [
        int(m.group(3) or 1)
        for p in folder.iterdir()
        if (m := _SNAPSHOT_NAME.match(p.name.removeprefix(TEMP_PREFIX))) and m.group(1) == stamp
    ]
    n = max(used, default=0) + 1
    return f"{stamp}_{short}" if n == 1 else f"{stamp}_{short}_{n}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _warehouse_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> set[tuple[str, str]]:
    rows = con.execute(
        """
        select schema_name, table_name from duckdb_tables()
        where database_name = ? and not temporary
        union all
        select schema_name, view_name from duckdb_views()
        where database_name = ? and not internal and not temporary
        """,
        [catalog, catalog],
    ).fetchall()
    return {(s, t) for s, t in rows}


def _explicit_relations(
    models: Sequence[str], manifest: dict | None, available: set[tuple[str, str]]
) -> list[_Relation]:
    """'schema.table' as given; a bare name through the manifest (model or seed of that
    name), else the one warehouse table of that name."""
    by_name: dict[str, list[_Relation]] = {}
    for uid, node in ((manifest or {}).get("nodes") or {}).items():
        if node.get("resource_type") in ("model", "seed"):
            rel = _Relation(node["schema"], node.get("alias") or node["name"], uid)
            by_name.setdefault(node["name"], []).append(rel)
    out = []
    for name in models:
        if "." in name:
            schema, _, table = name.partition(".")
            out.append(_Relation(schema, table))
            continue
        found = by_name.get(name) or [_Relation(s, t) for s, t in available if t == name]
        if len(found) != 1:
            why = "is not in the manifest or the warehouse" if not found else "is ambiguous"
            raise PublishError(f"the table {name!r} {why}; name it as schema.table")
        out.append(found[0])
    return out


def _resolve(
    models: Sequence[str] | None,
    manifest: dict | None,
    available: set[tuple[str, str]],
) -> tuple[list[_Relation], str]:
    if models is not None:
        return _explicit_relations(models, manifest, available), "explicit"
    tagged = tagged_relations(manifest) if manifest else []
    if any(r.unique_id and r.unique_id.startswith("model.") for r in tagged):
        return tagged, "tagged"
    # no model tagged yet: the marts schema, the reference seeds, and any seed tagged
    seeds = {
        n["name"]: _Relation(n["schema"], n.get("alias") or n["name"], uid)
        for uid, n in ((manifest or {}).get("nodes") or {}).items()
        if n.get("resource_type") == "seed"
    }
    marts = [_Relation(s, t) for s, t in sorted(available) if s == FALLBACK_SCHEMA]
    refs = [seeds.get(n, _Relation(FALLBACK_SEED_SCHEMA, n)) for n in FALLBACK_SEEDS]
    out: dict[tuple[str, str], _Relation] = {}
    for r in [*marts, *refs, *tagged]:
        out.setdefault((r.schema, r.table), r)
    return list(out.values()), "fallback"


def _write_pointer(folder: Path, name: str) -> None:
    """CURRENT and current.duckdb -> `name`, each replaced in one rename."""
    tmp = folder / f"{CURRENT}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / CURRENT)
    link_tmp = folder / f"{CURRENT_LINK}.tmp"
    _remove(link_tmp)
    os.symlink(name, link_tmp)  # relative: the folder can move
    os.replace(link_tmp, folder / CURRENT_LINK)
    _fsync_dir(folder)


def _prune(paths: Paths, keep: int, current: Path) -> list[Path]:
    removed = []
    for old in list_snapshots(paths)[keep:]:
        if old.name == current.name:
            continue
        _remove_database(old)
        removed.append(old)
    return removed


def _copy(
    snapshot: Path,
    warehouse: Path,
    models: Sequence[str] | None,
    manifest: dict | None,
    meta: dict[str, Any],
) -> tuple[list[PublishedTable], str]:
    """Write the snapshot database at `snapshot` (a new file); closed on return."""
    from ingest.warehouse import connect

    con = connect(snapshot)
    try:
        # the warehouse under its own catalog name: dbt's views name their tables with it
        alias = warehouse.stem if warehouse.stem != snapshot.stem else _WH
        try:
            con.execute(f"attach '{_sql_str(str(warehouse))}' as {_q(alias)} (read_only)")
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseLocked(
                    f"the warehouse {warehouse} is being written by another process "
                    "(close it, or wait for dbt/ingest to finish)"
                ) from exc
            raise PublishError(f"the warehouse {warehouse} cannot be opened: {exc}") from exc
        available = _warehouse_relations(con, alias)
        relations, selection = _resolve(models, manifest, available)
        if not relations:
            raise PublishError("there is nothing to publish (no table selected)")
        names = [(r.schema, r.table) for r in relations]
        dupes = sorted({f"{s}.{t}" for s, t in names if names.count((s, t)) > 1})
        if dupes:
            raise PublishError(f"tables listed twice: {', '.join(dupes)}")
        reserved = [f"{r.schema}.{r.table}" for r in relations if r.schema == PUBLISH_SCHEMA]
        if reserved:
            raise PublishError(f"the schema {PUBLISH_SCHEMA!r} is reserved: {reserved}")
        missing = [
            f"{r.schema}.{r.table}" for r in relations if (r.schema, r.table) not in available
        ]
        if missing:
            raise PublishError(
                f"{len(missing)} table(s) to publish are not in the warehouse: "
                f"{', '.join(missing)} (run dbt build first)"
            )
        tables = []
        for r in relations:
            s, t = _q(r.schema), _q(r.table)
            layout = publish_layout(manifest, r.unique_id)
            order = ", ".join(_q(c) for c in layout.get("order_by", []))
            con.execute(f"create schema if not exists {s}")
            con.execute(
                f"create table {s}.{t} as select * from {_q(alias)}.{s}.{t}"
                + (f" order by {order}" if order else "")
            )
            for i, cols in enumerate(layout.get("indexes", [])):
                index = _q(f"{r.table}__idx{i}")
                con.execute(f"create index {index} on {s}.{t} ({', '.join(_q(c) for c in cols)})")
            count = con.execute(f"select count(*) from {s}.{t}").fetchone()[0]
            cols = con.execute(
                """
                select column_name from duckdb_columns()
                where database_name = current_database() and schema_name = ? and table_name = ?
                order by column_index
                """,
                [r.schema, r.table],
            ).fetchall()
            tables.append(
                PublishedTable(
                    r.schema, r.table, int(count), tuple(c[0] for c in cols), r.unique_id
                )
            )
        con.execute(f"detach {_q(alias)}")
        _write_publish_tables(con, tables, meta | {"selection": selection})
        con.execute("checkpoint")
    finally:
        con.close()
    return tables, selection


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def _write_publish_tables(
    con: duckdb.DuckDBPyConnection, tables: list[PublishedTable], meta: dict[str, Any]
) -> None:
    con.execute(f"create schema {PUBLISH_SCHEMA}")
    con.execute(
        f"""
        create table {PUBLISH_SCHEMA}.manifest (
            snapshot_id varchar not null,
            published_at timestamp not null,   -- UTC
            git_revision varchar not null,     -- 'unknown' outside a git checkout
            git_dirty boolean not null,
            dbt_invocation_id varchar,
            dbt_generated_at timestamp,        -- UTC, when the dbt run finished
            dbt_version varchar,
            disclosure_threshold integer not null,
            selection varchar not null,        -- tagged | explicit | fallback
            table_count integer not null,
            row_count bigint not null
        )
        """
    )
    con.execute(
        f"insert into {PUBLISH_SCHEMA}.manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            meta["snapshot_id"],
            meta["published_at"],
            meta["git_revision"],
            meta["git_dirty"],
            meta["dbt_invocation_id"],
            meta["dbt_generated_at"],
            meta["dbt_version"],
            meta["disclosure_threshold"],
            meta["selection"],
            len(tables),
            sum(t.row_count for t in tables),
        ],
    )
    con.execute(
        f"""
        create table {PUBLISH_SCHEMA}.tables (
            table_schema varchar not null,
            table_name varchar not null,
            row_count bigint not null,
            column_count integer not null,
            columns varchar[] not null,
            dbt_unique_id varchar,
            primary key (table_schema, table_name)
        )
        """
    )
    if tables:
        con.executemany(
            f"insert into {PUBLISH_SCHEMA}.tables values (?, ?, ?, ?, ?, ?)",
            [
                [t.schema, t.table, t.row_count, len(t.columns), list(t.columns), t.unique_id]
                for t in tables
            ],
        )


def publish(
    paths: Paths,
    *,
    keep: int = 5,
    models: list[str] | None = None,
    manifest_path: Path | None = None,
    run_results_path: Path | None = None,
) -> PublishResult:
    """Publish the warehouse's published tables as a new snapshot and make it current.

    models: 'schema.table' or dbt model/seed names instead of the tagged ones.
    manifest_path: dbt's manifest.json (which models are tagged `published`); without it,
        the fallback selection (the marts schema and FALLBACK_SEEDS).
    run_results_path: dbt's run_results.json of the build; refused when it has a failure.
    keep: how many snapshots to keep (the current one is never removed).
    Raises PublishError (nothing changed) when the warehouse or a table is missing, the build
    failed, or the warehouse is being written.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    warehouse = paths.warehouse
    if not warehouse.is_file():
        raise PublishError(f"there is no warehouse at {warehouse} (run ingest and dbt first)")
    manifest = _read_json(manifest_path, "manifest") if manifest_path is not None else None
    run_results = None
    if run_results_path is not None:
        run_results = _read_json(run_results_path, "run results")
        failed = failed_results(run_results)
        if failed:
            shown = "; ".join(failed[:10]) + (" …" if len(failed) > 10 else "")
            raise PublishError(
                f"the last dbt run ({run_results_path}) has {len(failed)} failure(s): {shown}"
            )

    folder = paths.snapshots
    folder.mkdir(parents=True, exist_ok=True)
    revision, dirty = git_state()
    rr_meta = (run_results or {}).get("metadata") or {}
    with _publish_lock(folder, LOCK_TIMEOUT_SECONDS):
        # a temporary file here is left by a publish that was killed: nobody else writes now
        for stale in folder.glob(f"{TEMP_PREFIX}*"):
            _remove(stale)
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        sid = _snapshot_id(folder, now, revision)
        final = folder / f"{sid}{SUFFIX}"
        tmp = folder / f"{TEMP_PREFIX}{sid}{SUFFIX}"
        meta = {
            "snapshot_id": sid,
            "published_at": now,
            "git_revision": revision,
            "git_dirty": dirty,
            "dbt_invocation_id": rr_meta.get("invocation_id"),
            "dbt_generated_at": _parse_time(rr_meta.get("generated_at")),
            "dbt_version": rr_meta.get("dbt_version")
            or ((manifest or {}).get("metadata") or {}).get("dbt_version"),
            "disclosure_threshold": _disclosure_threshold(run_results, manifest),
        }
        try:
            tables, selection = _copy(tmp, warehouse, models, manifest, meta)
            wal = tmp.with_name(tmp.name + ".wal")
            if wal.exists():  # checkpointed and closed: there is none
                raise PublishError(f"{wal} left after closing the snapshot")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
            _fsync_dir(folder)
        except BaseException:
            _remove_database(tmp)
            raise
        _write_pointer(folder, final.name)
        pruned = _prune(paths, keep, final)
    return PublishResult(
        snapshot_id=sid,
        path=final,
        published_at=now,
        git_revision=revision,
        git_dirty=dirty,
        dbt_invocation_id=meta["dbt_invocation_id"],
        dbt_generated_at=meta["dbt_generated_at"],
        disclosure_threshold=meta["disclosure_threshold"],
        selection=selection,
        tables=tuple(tables),
        pruned=tuple(pruned),
    )


def default_dbt_target(paths: Paths) -> Path:
    """Where `geitonia build` has dbt write its artefacts: $GEITONIA_HOME/dbt/target."""
    return paths.home / "dbt" / "target"
