"""Incremental monthly loads on a small national warehouse: the result equals a full rebuild.

A national world of three small municipalities (Heraklion and two synthetic clones, five
years) is generated. The warehouse is built as a municipality would feed it:

1. every file but one municipality's last month is ingested, and `geitonia build` builds all
   (no build recorded yet: full);
2. that month arrives: `geitonia build` recomputes that municipality only (incremental);
3. an earlier month of the same municipality is re-sent with one row fewer: ingest replaces
   the month, and the next build again recomputes that municipality only.

A copy of the warehouse is then rebuilt from scratch (`geitonia build --full-refresh`) and every
table and view of the intermediate and marts schemas must hold the same rows in both (floating
point columns compared to 1e-9 relative: a sum's last bits depend on the order DuckDB's threads
add in). The same national build is checked for the national level: one area above the
municipalities whose counts are their sums, and municipalities compared with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.landing import period_from_name

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GEITONIA = Path(sys.executable).with_name("geitonia")
SEED = 42  # its clones have records with no neighbourhood (residual cells of disclosure control)
MUNICIPALITIES = 3
LATE = "9001"  # the municipality whose last month arrives late
LAST_MONTH = "2023-12"
RESENT_MONTH = "2023-11"
RESENT_ENTITY = ("home_help", "requests")
COMPARED_SCHEMAS = ("intermediate", "marts")
REL_TOL = 1e-9


def _geitonia(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GEITONIA_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("GEITONIA_PSEUDONYM_KEY", None)
    done = subprocess.run(
        [str(GEITONIA), *args], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    return done


def _copy_tree(src: Path, dest: Path, keep) -> int:  # noqa: ANN001
    n = 0
    for f in sorted(src.rglob("*")):
        if f.is_file() and keep(f.relative_to(src)):
            target = dest / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
            n += 1
    return n


def _is_late(rel: Path) -> bool:
    return (
        rel.parts[0] == LATE
        and rel.parts[1] != "reference"
        and (period_from_name(rel.name) == LAST_MONTH)
    )


def _last_build(home: Path) -> tuple[str, str | None]:
    con = duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)
    try:
        row = con.execute(
            "select mode, municipalities from meta.build_state order by built_at desc limit 1"
        ).fetchone()
    finally:
        con.close()
    return row[0], row[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synthetic.config import SCALES, GeneratorConfig
    from synthetic.generate import generate

    out = tmp_path_factory.mktemp("national_incremental")
    cfg = GeneratorConfig.for_scale(
        "national",
        seed=SEED,
        municipalities=MUNICIPALITIES,
        population_factor=SCALES["small"].population_factor,
    )
    generate(cfg, out)
    return out / "exports"


@pytest.fixture(scope="module")
def homes(world: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the warehouse fed month by month, a copy of it rebuilt from scratch)."""
    base = tmp_path_factory.mktemp("incremental")
    home = base / "home"
    _geitonia(home, "init")

    # 1. everything but the late month; the first build is full
    first = base / "landing1"
    assert _copy_tree(world, first, lambda rel: not _is_late(rel)) > 0
    _geitonia(home, "ingest", str(first))
    _geitonia(home, "build")
    assert _last_build(home) == ("full", None)

    # 2. the late month arrives: only its municipality is recomputed
    second = base / "landing2"
    assert _copy_tree(world, second, _is_late) >= 5
    _geitonia(home, "ingest", str(second))
    out = _geitonia(home, "build")
    assert _last_build(home) == ("incremental", LATE), out.stdout[-2000:]

    # 3. an earlier month re-sent with its last row removed
    source, entity = RESENT_ENTITY
    folder = world / LATE / source / entity
    original = next(f for f in sorted(folder.iterdir()) if period_from_name(f.name) == RESENT_MONTH)
    third = base / "landing3" / LATE / source / entity
    third.mkdir(parents=True)
    raw = original.read_bytes()
    lines = raw.rstrip(b"\r\n").splitlines(keepends=True)
    assert len(lines) > 3, original
    (third / original.name).write_bytes(b"".join(lines[:-1]))
    _geitonia(home, "ingest", str(base / "landing3"))
    _geitonia(home, "build")
    assert _last_build(home) == ("incremental", LATE)
    # nothing new: no dbt run at all
    again = _geitonia(home, "build")
    assert "Nothing to build" in again.stdout

    # the same raw data, rebuilt from scratch
    full = base / "full"
    (full / "warehouse").mkdir(parents=True)
    shutil.copy2(home / "warehouse" / "geitonia.duckdb", full / "warehouse" / "geitonia.duckdb")
    _geitonia(full, "build", "--full-refresh")
    assert _last_build(full) == ("full", None)
    return home, full


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        """
        select table_schema || '.' || table_name, column_name, data_type
        from information_schema.columns
        where table_catalog = ? and table_schema in (select unnest(?))
        order by table_schema, table_name, ordinal_position
        """,
        [catalog, list(COMPARED_SCHEMAS)],
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for name, col, dtype in rows:
        out.setdefault(name, []).append((col, dtype))
    return out


def _select(catalog: str, name: str, columns: list[tuple[str, str]]) -> str:
    exprs = []
    for col, dtype in columns:
        q = f'"{col}"'
        if dtype in ("DOUBLE", "FLOAT", "REAL") or dtype.startswith("DECIMAL"):
            # 10 significant digits, whatever the magnitude
            exprs.append(
                f"case when {q} is null or {q} = 0 or isnan({q}) or isinf({q}) then {q} "
                f"else round({q}, 9 - cast(floor(log10(abs({q}))) as integer)) end as {q}"
            )
        else:
            exprs.append(q)
    schema, table = name.split(".")
    return f'select {", ".join(exprs)} from {catalog}."{schema}"."{table}"'


def test_incremental_builds_equal_a_full_rebuild(homes: tuple[Path, Path]) -> None:
    home, full = homes
    con = duckdb.connect()
    con.execute(f"attach '{home / 'warehouse' / 'geitonia.duckdb'}' as inc (read_only)")
    con.execute(f"attach '{full / 'warehouse' / 'geitonia.duckdb'}' as ful (read_only)")
    inc, ful = _relations(con, "inc"), _relations(con, "ful")
    assert sorted(inc) == sorted(ful)
    assert "marts.indicator_values" in inc and "intermediate.int_indicator_counts" in inc
    differences = {}
    for name, columns in sorted(inc.items()):
        assert columns == ful[name], name
        a, b = _select("inc", name, columns), _select("ful", name, columns)
        n_a = con.execute(f"select count(*) from ({a})").fetchone()[0]
        n_b = con.execute(f"select count(*) from ({b})").fetchone()[0]
        only_a = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
        only_b = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
        if (n_a, only_a, only_b) != (n_b, 0, 0):
            differences[name] = {
                "rows": (n_a, n_b),
                "only_incremental": only_a,
                "only_full": only_b,
            }
    assert not differences, differences


def test_the_late_month_and_the_resent_month_are_in(homes: tuple[Path, Path]) -> None:
    home, _ = homes
    con = duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)
    months = con.execute(
        """
        select max(period_start) from marts.indicator_values
        where area_id = ? and period_end - period_start < 31
        """,
        [LATE],
    ).fetchone()[0]
    assert str(months) == f"{LAST_MONTH}-01"
    replaced = con.execute(
        "select count(*) from raw.load_log where municipality_code = ? and superseded_by is not null",
        [LATE],
    ).fetchone()[0]
    assert replaced >= 1


def test_national_level_sums_the_municipalities(homes: tuple[Path, Path]) -> None:
    home, _ = homes
    con = duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)
    areas = con.execute(
        "select area_id, population_2021, parent_area_id from marts.dim_area "
        "where area_level in ('national', 'municipality') order by area_level_order, area_id"
    ).fetchall()
    national, municipalities = areas[0], areas[1:]
    assert national[0] == "EL" and len(municipalities) == MUNICIPALITIES
    assert all(m[2] == "EL" for m in municipalities)
    assert national[1] == sum(m[1] for m in municipalities)
    # unsuppressed counts of an additive indicator: the nation is the sum of its municipalities
    rows = con.execute(
        """
        with v as (
            select * from intermediate.int_indicator_values
            where indicator_id = 'cc_contacts_per_1000' and period_type = 'year'
        )
        select n.period_start, n.numerator, sum(m.numerator), count(m.numerator)
        from v as n
        inner join v as m
            on m.period_start = n.period_start and m.area_level = 'municipality'
        where n.area_level = 'national'
        group by n.period_start, n.numerator
        """
    ).fetchall()
    assert len(rows) == 5
    for _, total, parts, n in rows:
        assert n == MUNICIPALITIES and total == parts and total > 0
    # municipalities are compared with the nation, in the published mart
    compared = con.execute(
        """
        select count(*) from marts.indicator_values
        where area_level = 'municipality' and compared_to_benchmark <> 'not_compared'
        """
    ).fetchone()[0]
    assert compared > 0
