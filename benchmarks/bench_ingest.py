"""Benchmark: `geitonia ingest` at the municipal scale against DuckDB's own `read_csv`.

Targets (issue): all files in under 60 s on 2 cores, peak memory under 2 GB, and within 3× of
DuckDB reading the same CSV files.

    python benchmarks/bench_ingest.py [--repeats 3] [--world DIR] [--scale municipal] [--seed N]
                                      [--source-tree DIR] [--skip-all]

Without --world the world is generated once (not timed). Three workloads, each in a
subprocess (wall time and peak RSS of the process tree, `benchmarks.harness`), `--repeats`
times:

- `ingest all`: `geitonia ingest <world>/exports` (CSV and XLSX), a fresh GEITONIA_HOME for
  every repeat.
- `ingest csv`: the same, over a landing folder holding only the CSV exports (and the
  municipality's reference folder: ingest geocodes through it; DuckDB does not read it).
- `duckdb read_csv`: one `CREATE TABLE t<i> AS SELECT * FROM read_csv(<file>, encoding=...,
  null_padding=true)` per CSV export into a fresh DuckDB database file, DuckDB's type
  sniffing otherwise left to itself (`null_padding` lets it read the files cut short). DuckDB
  2.0 reads UTF-8 and UTF-16 itself; Windows-1253 and ISO-8859-7 need its `encodings`
  extension, which cannot be downloaded here, so those files are decoded to UTF-8 in Python
  (written to a temporary file) inside the measured process: the decode is part of the
  baseline's time. Each file's encoding is taken from the generator's manifest
  (`truth/files.csv`), so the baseline does no detection of its own.

The ratio compares like with like: `ingest csv` ÷ `duckdb read_csv`. Reports go to
benchmarks/out/ingest_<scale>.{md,json} (with --source-tree, ingest_<scale>_<tree name>).

To compare with another revision in the same conditions, unpack it and point --source-tree at
it: `git archive <rev> | tar -x -C /tmp/old && python benchmarks/bench_ingest.py
--world /tmp/world --source-tree /tmp/old` runs that tree's `geitonia ingest` (same venv).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Measurement, run_measured, write_report  # noqa: E402

KEY = "ab" * 32
TARGETS = {"seconds": 60, "peak_rss_mb": 2048, "ratio_vs_duckdb": 3.0}
DUCKDB_NATIVE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16", "ascii": "utf-8"}


# --- the CSV subset ------------------------------------------------------------------------------


def csv_files(world: Path) -> list[dict[str, str]]:
    """The world's CSV exports with their encodings: [{path, encoding}], path relative to
    exports/. From the manifest when there is one, else by content (`decode_bytes`)."""
    exports = world / "exports"
    manifest = world / "truth" / "files.csv"
    if manifest.exists():
        import polars as pl

        f = pl.read_csv(manifest, infer_schema_length=0).filter(pl.col("format") == "csv")
        return [
            {"path": r["path"], "encoding": r["encoding"] or "utf-8"}
            for r in f.select("path", "encoding").iter_rows(named=True)
        ]
    from ingest.landing import scan
    from ingest.readers import UnreadableFile, decode_bytes

    out = []
    for lf in scan(exports):
        raw = lf.path.read_bytes()
        if raw[:4] == b"PK\x03\x04":
            continue
        try:
            enc = decode_bytes(raw)[1] if raw.strip() else "utf-8"
        except UnreadableFile:
            enc = "utf-8"
        out.append({"path": lf.relative, "encoding": enc})
    return out


def csv_landing(world: Path, files: list[dict[str, str]], dest: Path) -> Path:
    """A landing folder with only the CSV exports, plus every municipality's reference folder."""
    exports = world / "exports"
    for f in files:
        target = dest / f["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(exports / f["path"], target)
    for ref in exports.glob("*/reference"):
        shutil.copytree(ref, dest / ref.parent.name / "reference", dirs_exist_ok=True)
    return dest


# --- the baseline (run in a subprocess) ------------------------------------------------------


def baseline(exports: Path, file_list: Path, db: Path, result: Path) -> None:
    """One read_csv per file into its own table (see the module docstring)."""
    import duckdb

    files = json.loads(file_list.read_text(encoding="utf-8"))
    scratch = Path(tempfile.mkdtemp(prefix="bench_utf8_"))
    con = duckdb.connect(str(db))
    rows = decoded = 0
    try:
        for i, f in enumerate(files):
            path = exports / f["path"]
            enc = f["encoding"].lower()
            if enc not in DUCKDB_NATIVE:  # cp1253, iso-8859-7: decode in Python first
                tmp = scratch / f"{i}.csv"
                tmp.write_text(path.read_bytes().decode(enc), encoding="utf-8")
                path, enc, decoded = tmp, "utf-8", decoded + 1
            else:
                enc = DUCKDB_NATIVE[enc]
            quoted = str(path).replace("'", "''")
            con.execute(
                f"create table t{i} as select * from read_csv('{quoted}', "
                f"encoding = '{enc}', null_padding = true)"
            )
            rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    result.write_text(
        json.dumps({"files": len(files), "rows": rows, "decoded_in_python": decoded}),
        encoding="utf-8",
    )


# --- measuring -----------------------------------------------------------------------------------


def _ingest_rows(home: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)
    try:
        files, read, refused = con.execute(
            "select count(*), coalesce(sum(rows_read), 0), count(*) filter (status = 'refused') "
            "from raw.load_log"
        ).fetchone()
    finally:
        con.close()
    return {"files": int(files), "rows": int(read), "refused": int(refused)}


def _geitonia(source_tree: Path | None) -> list[str]:
    """The CLI: this checkout's, or another source tree's with the same interpreter."""
    if source_tree is None:
        return [str(Path(sys.executable).parent / "geitonia")]
    code = (
        f"import sys; sys.path.insert(0, {str(source_tree)!r}); from geitonia.cli import app; app()"
    )
    return [sys.executable, "-c", code]


def measure_ingest(
    name: str, landing: Path, tmp: Path, repeats: int, source_tree: Path | None = None
) -> tuple[Measurement, dict]:
    cli = _geitonia(source_tree)
    m = Measurement(name)
    info: dict[str, int] = {}
    for i in range(repeats):
        home = tmp / f"home_{name.replace(' ', '_')}_{i}"
        env = {**os.environ, "GEITONIA_HOME": str(home), "GEITONIA_PSEUDONYM_KEY": KEY}
        s, mb = run_measured([*cli, "ingest", str(landing)], env=env)
        m.seconds.append(s)
        m.peak_rss_mb.append(mb)
        print(f"  {name}: {s:.2f} s, peak {mb:.0f} MB", file=sys.stderr)
        info = _ingest_rows(home)
        shutil.rmtree(home, ignore_errors=True)
    return m, info


def measure_baseline(
    exports: Path, files: list[dict[str, str]], tmp: Path, repeats: int
) -> tuple[Measurement, dict]:
    file_list = tmp / "csv_files.json"
    file_list.write_text(json.dumps(files), encoding="utf-8")
    m = Measurement("duckdb read_csv")
    info: dict = {}
    for i in range(repeats):
        db, result = tmp / f"baseline_{i}.duckdb", tmp / f"baseline_{i}.json"
        cmd = [sys.executable, __file__, "_baseline", str(exports), str(file_list), str(db)]
        s, mb = run_measured([*cmd, str(result)])
        m.seconds.append(s)
        m.peak_rss_mb.append(mb)
        print(f"  {m.name}: {s:.2f} s, peak {mb:.0f} MB", file=sys.stderr)
        info = json.loads(result.read_text(encoding="utf-8"))
        for p in (db, Path(f"{db}.wal"), result):
            p.unlink(missing_ok=True)
    return m, info


def _row(m: Measurement, info: dict, ratio: float | None) -> dict:
    r = m.row()
    return {
        "workload": r["workload"],
        "files": info.get("files", ""),
        "rows": info.get("rows", ""),
        "runs": r["runs"],
        "median_s": r["median_s"],
        "min_s": r["min_s"],
        "max_s": r["max_s"],
        "spread_s": round(m.spread_s, 2),
        "peak_rss_mb": r["peak_rss_mb"],
        "÷ duckdb": f"{ratio:.2f}×" if ratio is not None else "",
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_baseline":
        baseline(*(Path(a) for a in sys.argv[2:6]))
        return
    ap = argparse.ArgumentParser(description="Benchmark geitonia ingest against DuckDB read_csv")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--world", type=Path, help="a generated world (default: generate one)")
    ap.add_argument("--scale", default="municipal")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--skip-all", action="store_true", help="skip the all-files ingest")
    ap.add_argument(
        "--source-tree",
        type=Path,
        help="measure the ingest of another checkout of the repository (e.g. an older revision)",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as t:
        tmp = Path(t)
        world = args.world
        if world is None:
            world = tmp / "world"
            cmd = [str(Path(sys.executable).parent / "geitonia"), "generate"]
            cmd += ["--scale", args.scale, "--out", str(world)]
            if args.seed is not None:
                cmd += ["--seed", str(args.seed)]
            print(f"generating {args.scale} world ...", file=sys.stderr)
            t0 = time.perf_counter()
            run_measured(cmd)
            print(f"  generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        files = csv_files(world)
        landing = csv_landing(world, files, tmp / "csv_landing")
        load = os.getloadavg()[0]

        results = []
        if not args.skip_all:
            results.append(
                measure_ingest("ingest all", world / "exports", tmp, args.repeats, args.source_tree)
            )
        ing_csv = measure_ingest("ingest csv", landing, tmp, args.repeats, args.source_tree)
        base = measure_baseline(world / "exports", files, tmp, args.repeats)
        ratio = ing_csv[0].median_s / base[0].median_s

    rows = [_row(m, info, None) for m, info in results]
    rows += [_row(ing_csv[0], ing_csv[1], ratio), _row(base[0], base[1], None)]
    stem = f"ingest_{args.scale}"
    if args.source_tree is not None:
        stem += f"_{args.source_tree.resolve().name}"
    write_report(
        stem,
        rows,
        {
            "targets": TARGETS,
            "ratio_ingest_csv_over_duckdb": round(ratio, 3),
            "world": str(args.world) if args.world else f"generated: {args.scale}",
            "source_tree": str(args.source_tree or Path(__file__).resolve().parent.parent),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": round(load, 2),
            "baseline": "one CREATE TABLE AS read_csv(file, encoding, null_padding=true) per "
            "CSV file; cp1253 / ISO-8859-7 files decoded to UTF-8 in Python inside the timed "
            f"process ({base[1].get('decoded_in_python', 0)} files)",
            "command": "python benchmarks/bench_ingest.py " + " ".join(sys.argv[1:]),
        },
    )
    print(f"\ningest csv ÷ duckdb read_csv = {ratio:.2f}× (target ≤ {TARGETS['ratio_vs_duckdb']}×)")


if __name__ == "__main__":
    main()
