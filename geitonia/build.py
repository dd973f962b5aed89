"""Incremental builds: which municipalities a `dbt build` has to recompute.

The dbt models that grow with the number of municipalities are partitioned by municipality
(dbt_project/macros/incremental/municipality_partitions.sql): a build with the dbt variable
`municipalities` recomputes those municipalities' rows and keeps the others'. This module
decides what to pass:

- **full**: no build recorded yet, `--full-refresh` asked, or the dbt project changed since the
  last build (its fingerprint: every model, macro, seed and the project file), or the national
  area id changed. dbt runs with `--full-refresh`, so that incremental tables are re-created
  with their current columns.
- **incremental**: the municipalities that have new loads in the load log since the last build
  (any status: a refused or superseded file changes data quality, a re-sent month replaces
  rows) or whose reference files (neighbourhoods, gazetteer, population, households) changed.
  dbt runs with `--vars {municipalities: [...]}`; the data tests look at the recomputed rows
  only (macro get_where_subquery); seeds, method checks, unit tests and the tests of the
  staging views are left out (unchanged since the last full build ran them, or reading the
  whole raw layer, which ingest validates row by row).
- **nothing**: no new loads, no changed reference, same project: no dbt run.

The state of the last successful build is one row of `meta.build_state` in the warehouse
(written after dbt succeeds): the project fingerprint, the load-log watermark (the latest
`finished_at` it saw) and a checksum of each municipality's reference rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from geitonia.config import DBT_PROJECT_DIR

META = "meta"
STATE_TABLE = f"{META}.build_state"
REFERENCE_TABLES = ("ref_neighbourhoods", "ref_gazetteer", "ref_population", "ref_households")
FINGERPRINT_DIRS = ("models", "macros", "seeds", "snapshots", "analyses")
FINGERPRINT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")
INCREMENTAL_EXCLUDE = (
    "resource_type:seed",
    "path:seeds",
    "path:models/methods",
    "resource_type:test,path:models/staging",
)


@dataclass(frozen=True)
class BuildPlan:
    mode: str  # full | incremental | nothing
    municipalities: tuple[str, ...] = ()
    reason: str = ""
    fingerprint: str = ""
    watermark: str | None = None
    reference: dict[str, str] = field(default_factory=dict)

    def dbt_args(self, *, unit_tests: bool = False) -> list[str]:
        """The arguments to add to `dbt build` for this plan. For "nothing", those of an
        incremental build of no municipality (only the national rows are recomputed), for
        callers that must run dbt anyway (a Dagster materialisation)."""
        if self.mode == "full":
            return ["--full-refresh"]
        args = ["--vars", json.dumps({"municipalities": list(self.municipalities)})]
        # what has not changed since the last full build is not redone: the seeds and their
        # tests, the statistical-method checks, the unit tests; nor are the tests of the
        # staging views, which read the whole raw layer (ingest validated the new rows, and the
        # full build tests them all)
        args += ["--exclude", *INCREMENTAL_EXCLUDE]
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        return args


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A hash of everything in the dbt project that shapes a table (not its tests' outputs)."""
    h = hashlib.sha256()
    files: list[Path] = []
    for d in FINGERPRINT_DIRS:
        if (project_dir / d).is_dir():
            files.extend(p for p in (project_dir / d).rglob("*") if p.is_file())
    files.extend(project_dir / f for f in FINGERPRINT_FILES if (project_dir / f).is_file())
    for p in sorted(files):
        h.update(str(p.relative_to(project_dir)).encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def reference_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """municipality_code -> a checksum of its rows in every reference table."""
    present = _tables(con, "raw")
    sums: dict[str, list[str]] = {}
    for table in REFERENCE_TABLES:
        if table not in present:
            continue
        rows = con.execute(
            f"""
            select municipality_code, count(*), sum(hash(to_json(t)))
            from raw."{table}" as t
            group by municipality_code
            """
        ).fetchall()
        for code, n, s in rows:
            sums.setdefault(str(code), []).append(f"{table}:{n}:{s}")
    return {code: hashlib.sha256("|".join(v).encode()).hexdigest() for code, v in sums.items()}


def last_state(con: duckdb.DuckDBPyConnection) -> dict | None:
    if "build_state" not in _tables(con, META):
        return None
    row = con.execute(
        f"select fingerprint, watermark, reference from {STATE_TABLE} order by built_at desc limit 1"
    ).fetchone()
    if row is None:
        return None
    return {"fingerprint": row[0], "watermark": row[1], "reference": json.loads(row[2] or "{}")}


def plan_build(
    warehouse: Path, *, full_refresh: bool = False, project_dir: Path = DBT_PROJECT_DIR
) -> BuildPlan:
    """What the next build must recompute (see the module docstring)."""
    fingerprint = project_fingerprint(project_dir)
    if not warehouse.exists():
        return BuildPlan("full", reason="no warehouse yet", fingerprint=fingerprint)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        has_log = "load_log" in _tables(con, "raw")
        watermark_row = (
            con.execute("select cast(max(finished_at) as varchar) from raw.load_log").fetchone()
            if has_log
            else None
        )
        watermark = watermark_row[0] if watermark_row else None
        reference = reference_checksums(con)
        state = last_state(con)
        base = {"fingerprint": fingerprint, "watermark": watermark, "reference": reference}
        if full_refresh:
            return BuildPlan("full", reason="a full rebuild was asked for", **base)
        if state is None:
            return BuildPlan("full", reason="no earlier build recorded", **base)
        if state["fingerprint"] != fingerprint:
            return BuildPlan("full", reason="the dbt project changed since the last build", **base)
        changed: set[str] = set()
        if has_log:
            since = state["watermark"]
            rows = con.execute(
                """
                select distinct municipality_code from raw.load_log
                where municipality_code is not null
                  and (? is null or finished_at > cast(? as timestamp))
                """,
                [since, since],
            ).fetchall()
            changed |= {str(r[0]) for r in rows}
        old_ref = state["reference"]
        changed |= {c for c in set(reference) | set(old_ref) if reference.get(c) != old_ref.get(c)}
        if not changed:
            return BuildPlan("nothing", reason="nothing loaded since the last build", **base)
        return BuildPlan(
            "incremental",
            municipalities=tuple(sorted(changed)),
            reason=f"new loads or reference data for {len(changed)} municipality(ies)",
            **base,
        )
    finally:
        con.close()


def record_build(warehouse: Path, plan: BuildPlan) -> None:
    """Remember a successful build (after dbt has closed the warehouse)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"create schema if not exists {META}")
        con.execute(
            f"""
            create table if not exists {STATE_TABLE} (
                built_at timestamp, mode varchar, municipalities varchar,
                fingerprint varchar, watermark varchar, reference varchar
            )
            """
        )
        con.execute(
            f"insert into {STATE_TABLE} values (?, ?, ?, ?, ?, ?)",
            [
                datetime.now(UTC).replace(tzinfo=None),
                plan.mode,
                ",".join(plan.municipalities) or None,
                plan.fingerprint,
                plan.watermark,
                json.dumps(plan.reference, sort_keys=True),
            ],
        )
    finally:
        con.close()
