"""Benchmark: `dbt build` over an ingested warehouse, and the same SQL run directly in DuckDB.

Targets (issue): at the municipal scale `dbt build` in under 60 s on this machine, and the
transformation within 2× of the same SQL run directly in one DuckDB connection.

    python benchmarks/bench_dbt.py [--home DIR | --world DIR | --scale municipal] [--seed 42]
                                   [--repeats 3] [--no-cache] [--keep]

Input, one of:

- `--home DIR`: a GEITONIA_HOME holding an ingested warehouse (`DIR/warehouse/geitonia.duckdb`;
  the file is copied, never written).
- `--world DIR`: a generated world; `geitonia ingest DIR/exports` into a temporary home first.
- neither: `geitonia generate --scale <scale> --seed <seed>` (default municipal, 42), then ingest
  as above. The generated world is cached under benchmarks/out/cache/, keyed by scale, seed and
  a hash of the generator's source (synthetic/), so an unchanged generator is not re-run.

Preparation (not timed). The dbt project is copied into the temporary directory once, so that
every run sees the same models even while the project is being edited. Every dbt invocation
runs with the same GEITONIA_HOME (a temporary "run home"; its warehouse file is replaced before
each run) and `--target-path`/`--log-path` under it: dbt's partial parsing stays warm (the
profile does not change between runs) and dbt_project/target is never touched.

1. The source warehouse is copied and every relation of a dbt model or seed is dropped from it:
   the "ingested" state (what `geitonia ingest` leaves behind).
2. Warm-up, untimed: `dbt build` on the ingested state. If it fails, the benchmark stops with
   the failing nodes and their messages (the project does not build at the moment). Its
   manifest gives the compiled SQL of every model for C.
3. `dbt seed` on a copy of the ingested state: the "seeded" state.

Measured, `--repeats` times, alternating A, B, C (each on a fresh copy of its starting state,
each a subprocess: wall time and peak RSS of its process tree, `benchmarks.harness`):

- A `dbt build`, from the ingested state: process start, partial parse, seeds, every model,
  every data test and unit test, artifacts.
- B `dbt run`, from the seeded state: process start, partial parse, every model; no seeds, no
  tests.
- C direct SQL, from the seeded state: a Python process that opens ONE DuckDB connection to the
  warehouse (the profile's memory_limit and preserve_insertion_order=false), creates the
  schemas and runs, for every model in topological order (manifest `depends_on`),
  `create or replace <table|view> <relation> as (<compiled SQL>)`, then closes the connection.
  `C sql only` is the part from connect to close, timed inside that process (no interpreter
  start, no `import duckdb`).

The ratio B ÷ C is the "transformation within 2×" figure (both process wall times); B ÷ C sql
only is given too. After the first B and the first C the row counts of every model table are
compared (they must agree, or C did not do the same work). The ten slowest models come from
B's run_results.json (median over the repeats of dbt's execution time per model), beside the
same model's time in C. Reports: benchmarks/out/bench_dbt.{md,json} (with --home/--world,
bench_dbt_<folder name>).
"""

from __future__ import annotations

import argparse
import graphlib
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_ingest import KEY, _geitonia  # noqa: E402
from benchmarks.harness import OUT_DIR, Measurement, run_measured, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "dbt_project"
DB_NAME = "geitonia.duckdb"  # the DuckDB catalog is named after the file: keep the name
TARGETS = {"dbt_build_seconds": 60, "ratio_dbt_run_vs_direct": 2.0}
FAILED = {"error", "fail", "runtime error"}


class DbtFailed(RuntimeError):
    """A dbt invocation exited non-zero; the message names the failing nodes."""


# --- input: a warehouse to start from -------------------------------------------------------


def _source_hash(folder: Path) -> str:
    """A hash of every file under `folder` (path and content), caches left out."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def generated_world(scale: str, seed: int, cache: bool, tmp: Path) -> Path:
    """`geitonia generate` once; cached under benchmarks/out/cache while synthetic/ is unchanged."""
    name = f"world_{scale}_seed{seed}_{_source_hash(ROOT / 'synthetic')}"
    cache_dir = OUT_DIR / "cache"
    if cache and (cache_dir / name / "exports").is_dir():
        print(f"world: cached {cache_dir / name}", file=sys.stderr)
        return cache_dir / name
    if cache:  # one cached world per scale and seed: drop those of older generators
        for old in cache_dir.glob(f"world_{scale}_seed{seed}_*"):
            shutil.rmtree(old, ignore_errors=True)
    dest = (cache_dir if cache else tmp) / name
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*_geitonia(None), "generate", "--scale", scale, "--seed", str(seed)]
    print(f"generating the {scale} world (seed {seed}) ...", file=sys.stderr)
    s, _ = run_measured([*cmd, "--out", str(partial)])
    print(f"  generated in {s:.1f} s", file=sys.stderr)
    partial.rename(dest)
    return dest


def ingest_world(world: Path, home: Path) -> tuple[Path, float]:
    """`geitonia ingest <world>/exports` into a new GEITONIA_HOME; its warehouse and seconds."""
    env = {**os.environ, "GEITONIA_HOME": str(home), "GEITONIA_PSEUDONYM_KEY": KEY}
    print(f"ingesting {world / 'exports'} ...", file=sys.stderr)
    s, _ = run_measured([*_geitonia(None), "ingest", str(world / "exports")], env=env)
    print(f"  ingested in {s:.1f} s", file=sys.stderr)
    return home / "warehouse" / DB_NAME, s


# --- states of the warehouse -----------------------------------------------------------------


def copy_db(src: Path, dest: Path) -> None:
    """Copy a DuckDB file (and its WAL, if any) over `dest`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    wal, dest_wal = Path(f"{src}.wal"), Path(f"{dest}.wal")
    if wal.exists():
        shutil.copyfile(wal, dest_wal)
    else:
        dest_wal.unlink(missing_ok=True)


def drop_dbt_relations(db: Path, manifest: dict) -> int:
    """Drop every relation of a dbt model or seed from `db`; how many were there."""
    import duckdb

    wanted = {
        (n["schema"], n["alias"])
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed")
    }
    con = duckdb.connect(str(db))
    try:
        present = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
        dropped = 0
        for kind in ("VIEW", "BASE TABLE"):  # views first: they read the tables
            for schema, name, typ in present:
                if typ == kind and (schema, name) in wanted:
                    what = "view" if kind == "VIEW" else "table"
                    con.execute(f'drop {what} if exists "{schema}"."{name}"')
                    dropped += 1
        con.execute("checkpoint")
    finally:
        con.close()
    return dropped


def model_plan(manifest: dict, built: set[str]) -> list[dict[str, str]]:
    """The models in `built`, in topological order:
    [{unique_id, relation, schema, materialized, sql}]."""
    models = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if uid in built and n["config"].get("materialized") != "ephemeral"
    }
    graph = graphlib.TopologicalSorter()
    for uid in sorted(models):
        graph.add(uid, *sorted(d for d in models[uid]["depends_on"]["nodes"] if d in models))
    plan = []
    for uid in graph.static_order():
        n = models[uid]
        mat = n["config"]["materialized"]
        if mat not in ("table", "view", "incremental"):
            raise SystemExit(f"{uid}: materialisation {mat!r} is not handled by the baseline")
        if not n.get("compiled_code"):
            raise SystemExit(f"{uid}: no compiled SQL in the manifest")
        plan.append(
            {
                "unique_id": uid,
                "relation": n["relation_name"],
                "schema": f'"{n["database"]}"."{n["schema"]}"',
                # an incremental model's first build is a table
                "materialized": "view" if mat == "view" else "table",
                "sql": n["compiled_code"].strip().rstrip(";"),
            }
        )
    return plan


def table_counts(db: Path, plan: list[dict[str, str]]) -> dict[str, int]:
    """Rows in every model table (views are not counted: that would run them)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            p["unique_id"]: con.execute(f"select count(*) from {p['relation']}").fetchone()[0]
            for p in plan
            if p["materialized"] == "table"
        }
    finally:
        con.close()


# --- dbt -------------------------------------------------------------------------------------


class Dbt:
    """dbt invocations against one project copy, one run home, one target path."""

    def __init__(self, project: Path, home: Path, exclude: str | None = None) -> None:
        self.project, self.home, self.exclude = project, home, exclude
        self.target, self.logs = home / "target", home / "logs"
        self.db = home / "warehouse" / DB_NAME
        self.env = {**os.environ, "GEITONIA_HOME": str(home)}

    def __call__(self, command: str) -> tuple[float, float, dict | None]:
        """Run `dbt <command>`: (seconds, peak MB, run_results or None)."""
        results = self.target / "run_results.json"
        results.unlink(missing_ok=True)
        cmd = [str(Path(sys.executable).parent / "dbt"), command]
        cmd += ["--project-dir", str(self.project), "--profiles-dir", str(self.project)]
        cmd += ["--target-path", str(self.target), "--log-path", str(self.logs)]
        if self.exclude and command in ("build", "run", "seed"):
            cmd += ["--exclude", *self.exclude.split()]
        try:
            s, mb = run_measured(cmd, env=self.env)
        except RuntimeError:
            raise DbtFailed(self.failure(command)) from None
        rr = json.loads(results.read_text(encoding="utf-8")) if results.exists() else None
        return s, mb, rr

    def failure(self, command: str) -> str:
        """What went wrong: the failing nodes from run_results.json, else the log's tail."""
        head = f"`dbt {command}` failed (project copy {self.project}, home {self.home})"
        results = self.target / "run_results.json"
        if results.exists():
            rr = json.loads(results.read_text(encoding="utf-8"))["results"]
            bad = [r for r in rr if r["status"] in FAILED]
            skipped = sum(r["status"] == "skipped" for r in rr)
            lines = [
                f"  {r['unique_id']}: {r['status']}: {(r['message'] or '').strip()}" for r in bad
            ]
            return "\n".join([f"{head}: {len(bad)} failed, {skipped} skipped", *lines])
        log = self.logs / "dbt.log"
        tail = (
            log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
            if log.exists()
            else []
        )
        return "\n".join([f"{head} before running any node; end of dbt.log:", *tail])


def model_times(rr: dict) -> dict[str, float]:
    return {
        r["unique_id"]: r["execution_time"]
        for r in rr["results"]
        if r["unique_id"].startswith("model.")
    }


# --- the baseline (run in a subprocess) ------------------------------------------------------


def direct(db: Path, plan_file: Path, result: Path) -> None:
    """One DuckDB connection; create or replace every model from its compiled SQL, in order."""
    import duckdb

    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    config = {
        "memory_limit": os.environ.get("GEITONIA_DUCKDB_MEMORY_LIMIT", "4GB"),
        "preserve_insertion_order": False,
    }
    t0 = time.perf_counter()
    con = duckdb.connect(str(db), config=config)
    times: dict[str, float] = {}
    try:
        for schema in sorted({p["schema"] for p in plan}):
            con.execute(f"create schema if not exists {schema}")
        for p in plan:
            t = time.perf_counter()
            con.execute(
                f"create or replace {p['materialized']} {p['relation']} as (\n{p['sql']}\n)"
            )
            times[p["unique_id"]] = time.perf_counter() - t
    finally:
        con.close()
    seconds = time.perf_counter() - t0
    result.write_text(json.dumps({"seconds": seconds, "models": times}), encoding="utf-8")


# --- measuring -------------------------------------------------------------------------------


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _row(m: Measurement, includes: str, dbt_elapsed: list[float], base: float | None) -> dict:
    return {
        "workload": m.name,
        "includes": includes,
        "runs": len(m.seconds),
        "median_s": round(m.median_s, 2),
        "min_s": round(min(m.seconds), 2),
        "max_s": round(max(m.seconds), 2),
        "dbt_elapsed_s": round(_med(dbt_elapsed), 2) if dbt_elapsed else "",
        "peak_rss_mb": round(m.peak_mb, 1) if m.peak_rss_mb else "",
        "÷ C": f"{m.median_s / base:.2f}×" if base else "",
    }


def run_benchmark(source_db: Path, repeats: int, tmp: Path, exclude: str | None) -> dict:
    project = tmp / "project"
    shutil.copytree(
        PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    dbt = Dbt(project, tmp / "run_home", exclude)
    ingested, seeded = tmp / "state_ingested" / DB_NAME, tmp / "state_seeded" / DB_NAME
    plan_file = tmp / "plan.json"

    print("preparing: parse, drop dbt relations, warm-up build, seed ...", file=sys.stderr)
    copy_db(source_db, dbt.db)
    dbt("parse")
    manifest = json.loads((dbt.target / "manifest.json").read_text(encoding="utf-8"))
    dropped = drop_dbt_relations(dbt.db, manifest)
    copy_db(dbt.db, ingested)
    warm_s, _, warm_rr = dbt("build")
    print(f"  warm-up dbt build: {warm_s:.1f} s", file=sys.stderr)
    manifest = json.loads((dbt.target / "manifest.json").read_text(encoding="utf-8"))
    built = {r["unique_id"] for r in warm_rr["results"] if r["unique_id"].startswith("model.")}
    plan = model_plan(manifest, built)
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    copy_db(ingested, dbt.db)
    dbt("seed")
    copy_db(dbt.db, seeded)
    # what A runs: the warm-up build's nodes by kind
    nodes = {
        k: sum(r["unique_id"].startswith(f"{k}.") for r in warm_rr["results"])
        for k in ("model", "seed", "test", "unit_test")
    }

    a, b, c = Measurement("A dbt build"), Measurement("B dbt run"), Measurement("C direct SQL")
    c_sql = Measurement("C sql only")
    a_el: list[float] = []
    b_el: list[float] = []
    b_models: dict[str, list[float]] = {}
    c_models: dict[str, list[float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for i in range(repeats):
        copy_db(ingested, dbt.db)
        s, mb, rr = dbt("build")
        a.seconds.append(s)
        a.peak_rss_mb.append(mb)
        a_el.append(rr["elapsed_time"])
        print(f"  {a.name}: {s:.2f} s, peak {mb:.0f} MB", file=sys.stderr)

        copy_db(seeded, dbt.db)
        s, mb, rr = dbt("run")
        b.seconds.append(s)
        b.peak_rss_mb.append(mb)
        b_el.append(rr["elapsed_time"])
        for uid, t in model_times(rr).items():
            b_models.setdefault(uid, []).append(t)
        print(f"  {b.name}: {s:.2f} s, peak {mb:.0f} MB", file=sys.stderr)
        if i == 0:
            counts["B"] = table_counts(dbt.db, plan)

        copy_db(seeded, dbt.db)
        result = tmp / "direct.json"
        cmd = [sys.executable, __file__, "_direct", str(dbt.db), str(plan_file), str(result)]
        s, mb = run_measured(cmd, env=dbt.env)
        c.seconds.append(s)
        c.peak_rss_mb.append(mb)
        res = json.loads(result.read_text(encoding="utf-8"))
        c_sql.seconds.append(res["seconds"])
        for uid, t in res["models"].items():
            c_models.setdefault(uid, []).append(t)
        print(
            f"  {c.name}: {s:.2f} s ({res['seconds']:.2f} s sql), peak {mb:.0f} MB", file=sys.stderr
        )
        if i == 0:
            counts["C"] = table_counts(dbt.db, plan)

    mismatch = {
        uid: {"B": counts["B"].get(uid), "C": n}
        for uid, n in counts["C"].items()
        if counts["B"].get(uid) != n
    }
    mats = {p["unique_id"]: p["materialized"] for p in plan}
    slowest = sorted(b_models, key=lambda u: _med(b_models[u]), reverse=True)[:10]
    top = [
        {
            "model": uid.removeprefix("model.geitonia."),
            "materialized": mats.get(uid, ""),
            "rows": counts["B"].get(uid, ""),
            "dbt_run_s": round(_med(b_models[uid]), 2),
            "direct_s": round(_med(c_models.get(uid, [])), 2),
        }
        for uid in slowest
    ]
    return {
        "a": a,
        "b": b,
        "c": c,
        "c_sql": c_sql,
        "a_elapsed": a_el,
        "b_elapsed": b_el,
        "top": top,
        "nodes": nodes,
        "dropped": dropped,
        "warm_up_build_s": round(warm_s, 2),
        "row_count_mismatches": mismatch,
        "tables_compared": len(counts["C"]),
        "model_seconds_sum": {
            "B": round(sum(_med(v) for v in b_models.values()), 2),
            "C": round(sum(_med(v) for v in c_models.values()), 2),
        },
    }


def _md_table(rows: list[dict]) -> list[str]:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return lines + ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_direct":
        direct(*(Path(a) for a in sys.argv[2:5]))
        return
    ap = argparse.ArgumentParser(description="Benchmark dbt build against the same SQL in DuckDB")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--home", type=Path, help="a GEITONIA_HOME with an ingested warehouse")
    src.add_argument("--world", type=Path, help="a generated world, ingested first")
    ap.add_argument("--scale", default="municipal", help="generated when no --home/--world")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-cache", action="store_true", help="do not cache the generated world")
    ap.add_argument(
        "--exclude",
        help="dbt --exclude for build, run and seed (e.g. 'my_model+' while it is being "
        "written); C runs the models the warm-up build ran",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_dbt_"))
    ingest_s = None
    try:
        if args.home is not None:
            source_db, label = args.home / "warehouse" / DB_NAME, f"home {args.home}"
            if not source_db.exists():
                raise SystemExit(f"no warehouse at {source_db}")
            stem = f"bench_dbt_{args.home.resolve().name}"
        else:
            if args.world is not None:
                world, stem = args.world, f"bench_dbt_{args.world.resolve().name}"
                label = f"world {args.world}"
            else:
                world = generated_world(args.scale, args.seed, not args.no_cache, tmp)
                stem, label = "bench_dbt", f"generated: {args.scale}, seed {args.seed}"
            source_db, ingest_s = ingest_world(world, tmp / "source_home")
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        try:
            r = run_benchmark(source_db, args.repeats, tmp, args.exclude)
        except DbtFailed as e:
            print(f"\nbench_dbt: the dbt project does not build on {label}:\n{e}", file=sys.stderr)
            sys.exit(2)
        wall = time.perf_counter() - t0
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    base = r["c"].median_s
    rows = [
        _row(r["a"], "seeds + models + data tests + unit tests", r["a_elapsed"], base),
        _row(r["b"], "models (seeded before timing)", r["b_elapsed"], base),
        _row(r["c"], "models, 1 DuckDB connection (python process)", [], None),
        _row(r["c_sql"], "C from connect to close", [], None),
    ]
    ratio = r["b"].median_s / base
    ratio_sql = r["b"].median_s / r["c_sql"].median_s
    n = r["nodes"]
    extra = {
        "targets": TARGETS,
        "dbt_build_median_s": round(r["a"].median_s, 2),
        "ratio_dbt_run_over_direct": round(ratio, 3),
        "ratio_dbt_run_over_direct_sql_only": round(ratio_sql, 3),
        "slowest_models_dbt_run": r["top"],
        "model_seconds_sum": r["model_seconds_sum"],
        "row_count_check": {
            "tables_compared": r["tables_compared"],
            "mismatches": r["row_count_mismatches"],
        },
        "project": n,
        "dbt_exclude": args.exclude,
        "input": label,
        "ingest_seconds": round(ingest_s, 2) if ingest_s is not None else None,
        "dbt_relations_dropped_from_input": r["dropped"],
        "warm_up_build_s": r["warm_up_build_s"],
        "dbt_threads": int(os.environ.get("GEITONIA_DBT_THREADS", "2")),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": round(load, 2),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "benchmark_wall_s": round(wall, 1),
        "what": {
            "A": "`dbt build` subprocess from the ingested state (dbt relations dropped): "
            "interpreter start, partial parse (warm), seeds, models, data tests, unit tests",
            "B": "`dbt run` subprocess from the seeded state: interpreter start, partial parse "
            "(warm), models only",
            "C": "python subprocess from the seeded state: import duckdb, one connection, "
            "create schemas, create or replace <table|view> per model (topological order, "
            "compiled SQL from the manifest), close",
            "C sql only": "C from connect to close, timed inside the process",
            "dbt_elapsed_s": "run_results.json elapsed_time (dbt's own clock, after startup)",
        },
        "command": "python benchmarks/bench_dbt.py " + " ".join(sys.argv[1:]),
    }
    md = write_report(stem, rows, extra)
    lines = [
        "",
        f"Input: {label}; project: {n['model']} models, {n['seed']} seeds, {n['test']} data "
        f"tests, {n['unit_test']} unit tests"
        + (f" (--exclude {args.exclude})" if args.exclude else "")
        + f"; dbt threads {extra['dbt_threads']}, "
        f"{os.cpu_count()} CPUs, load {load:.2f} at start, "
        f"{extra['load_average_at_end']:.2f} at end.",
        "",
        f"- A `dbt build` median {r['a'].median_s:.2f} s "
        f"(target < {TARGETS['dbt_build_seconds']} s)",
        f"- B ÷ C (dbt run ÷ direct SQL, both processes) = {ratio:.2f}× "
        f"(target ≤ {TARGETS['ratio_dbt_run_vs_direct']}×); B ÷ C sql only = {ratio_sql:.2f}×",
        f"- row counts of {r['tables_compared']} model tables, B against C: "
        + ("identical" if not r["row_count_mismatches"] else f"DIFFER {r['row_count_mismatches']}"),
        "",
        "A: `dbt build` from the ingested state (seeds, models, data tests, unit tests). "
        "B: `dbt run` from the seeded state (models only). C: the compiled SQL of every model, "
        "`create or replace` in topological order in one DuckDB connection (Python process), "
        "from the seeded state. All include process start; dbt's partial parse is warm.",
        "",
        "Slowest models in B (median dbt execution time) and the same model in C:",
        "",
        *_md_table(r["top"]),
    ]
    with md.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
