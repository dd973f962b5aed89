"""Check that a change to ingest leaves its result unchanged: snapshot every raw table, compare.

    # before the change
    python benchmarks/ingest_equivalence.py capture /tmp/eq_before [--world DIR]
    # after it
    python benchmarks/ingest_equivalence.py capture /tmp/eq_after --world DIR
    python benchmarks/ingest_equivalence.py compare /tmp/eq_before /tmp/eq_after

`capture` ingests the world's exports (default: generates the small world, seed 7) with a fixed
pseudonym key into a fresh GEITONIA_HOME (the CLI, in a subprocess) and writes every table of
the warehouse's `raw` schema as Parquet, sorted by all its columns, without the columns that
differ from run to run by design (load and run ids, timestamps; a `superseded_by` /
`replaces` load id is kept only as whether it is set). `compare` reports every table whose
rows or columns differ. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import polars as pl

KEY = "ab" * 32
VOLATILE = {"_load_id", "_loaded_at", "load_id", "run_id", "started_at", "finished_at"}
ID_LISTS = {"superseded_by", "replaces"}  # load ids: only whether they are set is stable


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def generate_small(out: Path, seed: int = 7) -> Path:
    subprocess.run(
        [_bin("geitonia"), "generate", "--scale", "small", "--seed", str(seed), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def ingest(world: Path, home: Path) -> Path:
    env = {**os.environ, "GEITONIA_HOME": str(home), "GEITONIA_PSEUDONYM_KEY": KEY}
    subprocess.run(
        [_bin("geitonia"), "ingest", str(world)], check=True, env=env, stdout=subprocess.DEVNULL
    )
    return home / "warehouse" / "geitonia.duckdb"


def snapshot(db: Path, out: Path) -> list[str]:
    """Every raw table, stable columns only, sorted, as <out>/<table>.parquet."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' order by table_name"
            ).fetchall()
        ]
        for name in names:
            df = con.sql(f'select * from raw."{name}"').pl()
            df = df.drop([c for c in df.columns if c in VOLATILE])
            df = df.with_columns(pl.col(c).is_not_null() for c in df.columns if c in ID_LISTS)
            df = df.sort(df.columns, nulls_last=True)
            df.write_parquet(out / f"{name}.parquet")
    finally:
        con.close()
    return names


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two snapshots, one line each (empty when identical)."""
    problems: list[str] = []
    ta = {p.stem for p in a.glob("*.parquet")}
    tb = {p.stem for p in b.glob("*.parquet")}
    for t in sorted(ta ^ tb):
        problems.append(f"{t}: only in {'first' if t in ta else 'second'}")
    for t in sorted(ta & tb):
        x = pl.read_parquet(a / f"{t}.parquet")
        y = pl.read_parquet(b / f"{t}.parquet")
        if x.columns != y.columns:
            problems.append(f"{t}: columns differ: {set(x.columns) ^ set(y.columns)}")
            continue
        if x.schema != y.schema:
            diff = {c: (x.schema[c], y.schema[c]) for c in x.columns if x.schema[c] != y.schema[c]}
            problems.append(f"{t}: types differ: {diff}")
            continue
        if x.height != y.height:
            problems.append(f"{t}: {x.height} rows vs {y.height}")
            continue
        if not x.equals(y, null_equal=True):
            cols = [c for c in x.columns if not x[c].equals(y[c], null_equal=True)]
            problems.append(f"{t}: values differ in {cols}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("out", type=Path)
    cap.add_argument("--world", type=Path, help="a generated world (default: small, seed 7)")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("a", type=Path)
    cmp_.add_argument("b", type=Path)
    args = ap.parse_args()
    if args.cmd == "capture":
        with tempfile.TemporaryDirectory() as tmp:
            world = args.world or generate_small(Path(tmp) / "world")
            db = ingest(world, Path(tmp) / "home")
            names = snapshot(db, args.out)
        print(f"{len(names)} tables -> {args.out}")
        return
    problems = compare(args.a, args.b)
    for p in problems:
        print(p)
    n = len(list(args.a.glob("*.parquet")))
    print("identical" if not problems else f"{len(problems)} difference(s)", f"({n} tables)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
