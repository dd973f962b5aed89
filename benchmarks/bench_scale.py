"""Benchmark for the "Scale" issue: the whole pipeline from one municipality to a country.

    python benchmarks/bench_scale.py            # everything (hours at the full scale)
    python benchmarks/bench_scale.py --quick    # N = 1, 2, 4 at a tenth of the population,
                                                # W2/W3/W4 at N = 4: about 8 minutes here
    python benchmarks/bench_scale.py --municipalities 1,4 --national 4 --skip-ratios
    make bench                                  # bench_generate, bench_ingest, bench_dbt, this
    make bench BENCH_SCALE_ARGS=--quick

Options: `--municipalities 1,4,16,60` (scaling points), `--national N` (W2, W3, W4; default 60),
`--repeats R` (pipeline runs at N = 1, default 3), `--national-repeats` (runs at every N > 1,
default 1), `--ratio-repeats` (default R), `--queries` (W4: timed queries of each kind, default
200), `--seed` (42), `--population-factor` (default: the scale's, 1.0), `--skip-w1`,
`--skip-w2` (and so W3, W4), `--skip-w3`, `--skip-w4`, `--skip-scaling` (only N = 1 and
N = --national), `--skip-ratios`, `--workdir DIR` and `--keep` (the temporary folder: worlds,
homes, logs), `--source-tree DIR` (run another checkout's CLI and dbt project with this venv, e.g.
after `git archive <rev> | tar -x -C /tmp/rev`; the ratios take their dbt project from it too).

Every stage is its own process, run through the CLI with its own GEITONIA_HOME in the temporary
folder (DBT_SEND_ANONYMOUS_USAGE_STATS=false; no GEITONIA_PSEUDONYM_KEY: `geitonia init` makes a
key). Each process is sampled every 50 ms for the RSS summed over its process tree
(`benchmarks.harness._tree_rss`, psutil: harness.run_measured's sampler, here also logging the
output to a file and noting whether the process has a child); a failing stage is reported with
the end of its log (and dbt's failing nodes) and the parts that need it are skipped.

- Pipeline at N municipalities (a point of the scaling curve): `geitonia generate` (N = 1:
  `--scale municipal`; N > 1: `--scale national --municipalities N`), `geitonia init`,
  `geitonia ingest <world>/exports`, `geitonia build`. `geitonia build` runs `dbt build` in a
  subprocess and then publishes in its own process: it is split where its last child process
  exits into "dbt build" (CLI start, build plan, dbt) and "publish" (the build's bookkeeping
  and the snapshot). The whole is the sum of the stages, its peak the largest stage peak. Every
  repeat generates again (generation is measured); the first repeat's world is kept for the
  ratios (N = 1) and W3 (N = --national), the homes of W1 and W2 likewise.
- W1 municipal is the point N = 1, W2 national the point N = --national: the points are
  --municipalities plus those two, so W2 is built once and is also a scaling point.
- W3 monthly, on the W2 home. W2's landing folder (hard links to the generated exports) holds
  every file but those of the last month of one municipality (the first code; a file's month
  from its name, `ingest.landing.period_from_name`, else from the generator's manifest;
  reference files always included). Then those files are copied into a fresh landing folder
  (data files only: a municipality sends its reference files once) and `geitonia ingest
  <folder>` + `geitonia build` are timed; then the same month is re-sent with one file changed
  (the last data row of its largest plain CSV removed; the other files identical, which ingest
  skips), timed again. Reported: the load-log entries the step added, the build plan
  `geitonia build` printed (incremental: which municipalities) and dbt's nodes and elapsed time.
- W4 queries, on the W2 home's current snapshot after W3 (`geitonia.publish.current_snapshot`),
  in a Python process with one read-only DuckDB connection: (a) one indicator for every area in
  one month, (b) every indicator for one area over all periods; parameters drawn at random
  (seeded) from the snapshot; 20 warm-up queries of each kind, then --queries timed ones of
  each, rows fetched as Python tuples; p50 and p95 in ms.
- Ratios, measured in this run, right after W1, on W1's world and warehouse, with the functions
  of bench_ingest.py (`geitonia ingest` of the CSV exports ÷ DuckDB `read_csv` of the same files)
  and bench_dbt.py (`dbt run` ÷ the compiled SQL of every model in one DuckDB connection): see
  their docstrings. Their own detailed reports (all files, slowest models) come from the
  bench_ingest and bench_dbt lines that `make bench` runs before this one.
- Scaling: per stage, median time and peak memory against N, drawn log-log with a
  linear-growth line through the smallest N and the W1/W2 targets (benchmarks/out/
  bench_scale.png); the exponent b of a least-squares fit (t ∝ N^b). "Linear or better" is met
  when b ≤ 1.1 (10% for noise).

Reports: benchmarks/out/bench_scale.{md,json,png}, rewritten after every part (a long run that
stops leaves what it measured). Each target is stated with its value, the ratio to it and
whether it is met; the targets are the issue's, at the full scale: with --quick or
--population-factor they are reported but do not apply. Benchmarks report figures; this script
never fails on time. Keep the machine otherwise idle: the load average is in the report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_dbt, bench_ingest  # noqa: E402
from benchmarks.harness import OUT_DIR, Measurement, _tree_rss  # noqa: E402

STEM = "bench_scale"
STAGES = ("generate", "init", "ingest", "dbt build", "publish")
PLOTTED = ("generate", "ingest", "dbt build", "publish")
TARGETS = {
    "w1_seconds": 120.0,
    "w1_peak_mb": 2048.0,
    "w2_seconds": 1200.0,
    "w2_peak_mb": 8192.0,
    "w3_seconds": 30.0,
    "w4_p95_ms": 100.0,
    "ratio_ingest_vs_read_csv": 3.0,
    "ratio_dbt_run_vs_direct": 2.0,
    "scaling_exponent": 1.1,  # "linear or better", with 10% for noise
}
QUICK = {
    "municipalities": [1, 2, 4],
    "national": 4,
    "population_factor": 0.1,  # the small scale's
    "repeats": 2,
    "ratio_repeats": 1,
}
SAMPLE_INTERVAL = 0.05
WARMUP_QUERIES = 20
MONTH = "period_end - period_start < 31"  # a month (a quarter is ≥ 89 days)
QUERY_A = (
    f"select * from marts.indicator_values where indicator_id = ? and period_start = ? and {MONTH}"
)
QUERY_B = "select * from marts.indicator_values where area_level = ? and area_id = ?"
ASCII_COMPATIBLE = {"utf-8", "utf-8-sig", "ascii", "cp1253", "windows-1253", "iso-8859-7"}


# --- running a stage ---------------------------------------------------------------------------


@dataclass
class StageResult:
    stage: str
    seconds: float
    peak_mb: float
    ok: bool = True
    error: str = ""


@dataclass
class _Sample:
    t: float
    rss: int
    has_child: bool


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, without terminal colours."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return ANSI.sub("", "\n".join(text.splitlines()[-lines:]))


def build_plan(log: Path) -> str:
    """What `geitonia build` said it would do ("Build (incremental: 7101) — …" or "Nothing to
    build: …"), from its log."""
    with contextlib.suppress(OSError):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("Build (", "Nothing to build")):
                return ANSI.sub("", line).strip()
    return ""


def run_stage(
    stage: str, cmd: list[str], env: dict[str, str], log: Path
) -> tuple[StageResult, list[_Sample]]:
    """Run `cmd` (output to `log`), sampling the RSS of its process tree (harness._tree_rss) and
    whether it has a child process at that moment."""
    log.parent.mkdir(parents=True, exist_ok=True)
    samples: list[_Sample] = []
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                has_child = bool(ps.children())
            except psutil.NoSuchProcess:
                has_child = False
            samples.append(_Sample(time.perf_counter() - t0, _tree_rss(ps), has_child))
            time.sleep(SAMPLE_INTERVAL)
        seconds = time.perf_counter() - t0
    peak = max((s.rss for s in samples), default=0) / 2**20
    ok = proc.returncode == 0
    error = "" if ok else f"exit {proc.returncode}; log {log}:\n{_tail(log)}"
    print(
        f"  {stage}: {seconds:.2f} s, peak {peak:.0f} MB" + ("" if ok else " FAILED"),
        file=sys.stderr,
    )
    return StageResult(stage, seconds, peak, ok, error), samples


def split_build(build: StageResult, samples: list[_Sample]) -> list[StageResult]:
    """`geitonia build` as two stages, split where its last child process (dbt) exits:
    "dbt build" (CLI start and dbt) and "publish" (the rest). Without a child seen, or when the
    build failed (nothing is published), the whole counts as "dbt build"."""
    last = max((i for i, s in enumerate(samples) if s.has_child), default=None)
    if last is None or not build.ok:
        return [StageResult("dbt build", build.seconds, build.peak_mb, build.ok, build.error)]
    before, after = samples[: last + 1], samples[last + 1 :]
    t_split = after[0].t if after else build.seconds
    peak_after = max(s.rss for s in after) if after else samples[-1].rss
    return [
        StageResult("dbt build", t_split, max(s.rss for s in before) / 2**20),
        StageResult("publish", build.seconds - t_split, peak_after / 2**20),
    ]


# --- facts about a GEITONIA_HOME ----------------------------------------------------------------


def dbt_summary(home: Path) -> dict[str, Any]:
    """dbt's run_results.json of the last `geitonia build`: elapsed time, nodes by status, and
    the failing nodes."""
    results = home / "dbt" / "target" / "run_results.json"
    if not results.is_file():
        return {}
    rr = json.loads(results.read_text(encoding="utf-8"))
    res = rr.get("results", [])
    failing = [
        f"{r['unique_id']}: {r['status']}: {(r.get('message') or '').strip()[:300]}"
        for r in res
        if r["status"] in bench_dbt.FAILED
    ]
    return {
        "elapsed_s": round(rr.get("elapsed_time", 0.0), 2),
        "nodes": len(res),
        "models": sum(r["unique_id"].startswith("model.") for r in res),
        "by_status": dict(Counter(r["status"] for r in res)),
        "failing": failing,
    }


def load_log_counts(home: Path) -> dict[str, int]:
    """Entries of the warehouse's load log: all, loaded, refused, replacing an earlier load of
    the same month, rows read ({} when it cannot be read)."""
    import duckdb

    try:
        con = duckdb.connect(str(home / "warehouse" / bench_dbt.DB_NAME), read_only=True)
        try:
            row = con.execute(
                "select count(*), count(*) filter (status = 'loaded'), "
                "count(*) filter (status = 'refused'), "
                "count(*) filter (coalesce(replaces, '') <> ''), coalesce(sum(rows_read), 0) "
                "from raw.load_log"
            ).fetchone()
        finally:
            con.close()
    except duckdb.Error as e:
        print(f"  load log not read: {e}", file=sys.stderr)
        return {}
    keys = ("entries", "loaded", "refused", "replacing_earlier", "rows_read")
    return dict(zip(keys, (int(v) for v in row), strict=True))


def snapshot_of(home: Path) -> Path | None:
    try:
        from geitonia.config import Paths
        from geitonia.publish import current_snapshot

        return current_snapshot(Paths(home))
    except Exception:  # the module is being edited: fall back to the symlink
        link = home / "snapshots" / "current.duckdb"
        return link if link.exists() else None


# --- the world and its landing folders ----------------------------------------------------------


def last_month_files(world: Path) -> tuple[str, str, list[str]]:
    """(municipality code, 'YYYY-MM', files relative to exports/) of the last month of the
    first municipality: a file's month from its name, else from the generator's manifest."""
    from ingest.landing import period_from_name

    exports = world / "exports"
    code = sorted(p.name for p in exports.iterdir() if p.is_dir())[0]
    manifest: dict[str, str] = {}
    files_csv = world / "truth" / "files.csv"
    if files_csv.is_file():
        import polars as pl

        m = pl.read_csv(files_csv, infer_schema_length=0)
        manifest = {r["path"]: r["period"] or "" for r in m.iter_rows(named=True)}
    periods: dict[str, str] = {}
    for p in (exports / code).rglob("*"):
        rel = p.relative_to(exports).as_posix()
        if p.is_file() and rel.split("/")[1] != "reference":
            periods[rel] = period_from_name(p.name) or manifest.get(rel, "")
    last = max(v for v in periods.values() if v)
    return code, last, sorted(rel for rel, v in periods.items() if v == last)


def link_tree(src: Path, dest: Path, exclude: set[str]) -> int:
    """A landing folder of hard links to every file under `src` but those in `exclude`."""
    n = 0
    for dirpath, _dirs, files in os.walk(src):
        for f in files:
            p = Path(dirpath) / f
            rel = p.relative_to(src).as_posix()
            if rel in exclude:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(p, target)
            except OSError:
                shutil.copy2(p, target)
            n += 1
    return n


def copy_files(src: Path, rels: list[str], dest: Path) -> None:
    for rel in rels:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest / rel)


def change_one_file(world: Path, rels: list[str], landing: Path) -> str:
    """Make one file of the re-sent month differ: the last data row of the largest plain CSV
    (per the generator's manifest: ASCII-compatible encoding, no title or totals rows, whole);
    without a manifest, a line ending appended to the first CSV. What was done, for the report."""
    files_csv = world / "truth" / "files.csv"
    if files_csv.is_file():
        import polars as pl

        m = pl.read_csv(files_csv, infer_schema_length=0).filter(
            pl.col("path").is_in(rels)
            & (pl.col("format") == "csv")
            & pl.col("encoding").str.to_lowercase().is_in(list(ASCII_COMPATIBLE))
            & (pl.col("title_rows").cast(pl.Int64, strict=False) == 0)
            & (pl.col("totals_row") == "false")
            & (pl.col("is_truncated") == "false")
            & (pl.col("is_empty") == "false")
            & (pl.col("n_data_rows").cast(pl.Int64, strict=False) >= 2)
        )
        if m.height:
            rel = m.sort(pl.col("n_data_rows").cast(pl.Int64), descending=True)["path"][0]
            path = landing / rel
            raw = path.read_bytes().rstrip(b"\r\n")
            path.write_bytes(raw[: raw.rfind(b"\n") + 1])
            return f"{rel}: last data row removed"
    rel = next(r for r in rels if r.lower().endswith(".csv"))
    with (landing / rel).open("ab") as fh:
        fh.write(b"\r\n")
    return f"{rel}: a line ending appended"


# --- W4: the dashboard's queries (run in a subprocess) ------------------------------------------


def queries(snapshot: Path, runs: int, seed: int, result: Path) -> None:
    """Time QUERY_A and QUERY_B on one read-only connection; write the figures to `result`."""
    import duckdb
    import numpy as np

    t0 = time.perf_counter()
    con = duckdb.connect(str(snapshot), read_only=True)
    open_s = time.perf_counter() - t0
    rng = random.Random(seed)
    pools = {
        "a": con.execute(
            f"select distinct indicator_id, period_start from marts.indicator_values where {MONTH}"
        ).fetchall(),
        "b": con.execute(
            "select distinct area_level, area_id from marts.indicator_values"
        ).fetchall(),
    }
    total_rows = con.execute("select count(*) from marts.indicator_values").fetchone()[0]
    out: dict[str, Any] = {
        "open_connection_ms": round(open_s * 1000, 2),
        "indicator_values_rows": int(total_rows),
        "snapshot_mb": round(snapshot.stat().st_size / 2**20, 1),
    }
    for name, sql in (("a", QUERY_A), ("b", QUERY_B)):
        pool = pools[name]
        for p in rng.sample(pool, min(WARMUP_QUERIES, len(pool))):
            con.execute(sql, list(p)).fetchall()
        times, rows = [], []
        for p in (rng.choice(pool) for _ in range(runs)):
            t = time.perf_counter()
            r = con.execute(sql, list(p)).fetchall()
            times.append((time.perf_counter() - t) * 1000)
            rows.append(len(r))
        out[name] = {
            "sql": sql,
            "parameter_pool": len(pool),
            "runs": runs,
            "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
            "max_ms": round(max(times), 2),
            "rows_median": int(np.median(rows)),
        }
    con.close()
    result.write_text(json.dumps(out), encoding="utf-8")


# --- the benchmark -------------------------------------------------------------------------------


@dataclass
class PipelineRun:
    n: int
    repeat: int
    stages: list[StageResult] = field(default_factory=list)
    dbt: dict[str, Any] = field(default_factory=dict)
    landing_files: int | None = None
    withheld_files: int = 0
    built: bool = False  # `geitonia build` (dbt build and publish) succeeded

    @property
    def ok(self) -> bool:
        return self.built and all(s.ok for s in self.stages)

    @property
    def total_s(self) -> float:
        return sum(s.seconds for s in self.stages)

    @property
    def peak_mb(self) -> float:
        return max((s.peak_mb for s in self.stages), default=0.0)


class ScaleBench:
    """The pipeline runs, W3, W4 and the ratios of one invocation, and their report."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.cli = bench_ingest._geitonia(args.source_tree)
        self.worlds: dict[int, Path] = {}  # kept for the parts after the pipeline runs
        self.homes: dict[int, Path] = {}
        self.runs: list[PipelineRun] = []
        self.results: dict[str, Any] = {}
        self.notes: list[str] = []
        self.withheld: tuple[str, str, list[str]] | None = None

    # -- helpers

    def env(self, home: Path) -> dict[str, str]:
        env = {**os.environ, "GEITONIA_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        for k in ("GEITONIA_PSEUDONYM_KEY", "DAGSTER_HOME"):
            env.pop(k, None)
        return env

    def generate_cmd(self, n: int, out: Path) -> list[str]:
        cmd = [*self.cli, "generate", "--seed", str(self.args.seed), "--out", str(out)]
        cmd += ["--scale", "municipal"] if n == 1 else ["--scale", "national"]
        if n > 1:
            cmd += ["--municipalities", str(n)]
        if self.args.population_factor is not None:
            cmd += ["--population-factor", str(self.args.population_factor)]
        return cmd

    def repeats_for(self, n: int) -> int:
        return self.args.repeats if n == 1 else self.args.national_repeats

    def needs_world(self, n: int) -> bool:
        return (n == 1 and not self.args.skip_ratios) or (n == self.args.national and self.w3_on)

    @property
    def w3_on(self) -> bool:
        return not (self.args.skip_w2 or self.args.skip_w3)

    # -- the pipeline at N municipalities

    def pipeline(self, n: int, repeat: int, keep_home: bool) -> PipelineRun:
        print(
            f"pipeline: {n} municipalit{'y' if n == 1 else 'ies'}, run {repeat + 1}",
            file=sys.stderr,
        )
        tag = f"n{n}_r{repeat}"
        run = PipelineRun(n, repeat)
        logs = self.work / "logs"
        world = self.work / "worlds" / f"n{n}_seed{self.args.seed}_{tag}"
        home = self.work / "homes" / tag
        shutil.rmtree(world, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        env = self.env(home)
        try:
            gen, _ = run_stage(
                "generate", self.generate_cmd(n, world), env, logs / f"{tag}_generate.log"
            )
            run.stages.append(gen)
            if not gen.ok:
                return run
            init, _ = run_stage("init", [*self.cli, "init"], env, logs / f"{tag}_init.log")
            run.stages.append(init)
            if not init.ok:
                return run
            landing = world / "exports"
            if n == self.args.national and self.w3_on:
                self.withheld = last_month_files(world)
                landing = self.work / "landing" / tag
                shutil.rmtree(landing, ignore_errors=True)
                run.landing_files = link_tree(world / "exports", landing, set(self.withheld[2]))
                run.withheld_files = len(self.withheld[2])
            ing, _ = run_stage(
                "ingest", [*self.cli, "ingest", str(landing)], env, logs / f"{tag}_ingest.log"
            )
            run.stages.append(ing)
            if not ing.ok:
                return run
            build, samples = run_stage(
                "build", [*self.cli, "build"], env, logs / f"{tag}_build.log"
            )
            run.stages += split_build(build, samples)
            run.built = build.ok
            run.dbt = dbt_summary(home)
            if not build.ok and run.dbt.get("failing"):
                run.stages[-1].error += "\nfailing dbt nodes:\n" + "\n".join(run.dbt["failing"])
            return run
        finally:
            shutil.rmtree(self.work / "landing" / tag, ignore_errors=True)
            if repeat == 0 and self.needs_world(n) and world.exists():
                self.worlds[n] = world
            elif not self.args.keep:
                shutil.rmtree(world, ignore_errors=True)
            if keep_home and run.ok:
                old = self.homes.get(n)
                self.homes[n] = home
                if old and old != home and not self.args.keep:
                    shutil.rmtree(old, ignore_errors=True)
            elif not self.args.keep:
                shutil.rmtree(home, ignore_errors=True)

    def points(self) -> list[int]:
        a = self.args
        pts = set() if a.skip_scaling else set(a.municipalities)
        pts |= {1}
        pts |= {a.national}
        if a.skip_w1:
            pts.discard(1)
        if a.skip_w2:
            pts.discard(a.national)
        return sorted(pts)

    def run_pipelines(self) -> None:
        for n in self.points():
            # homes the later parts need: W1's for the dbt ratio, W2's for W3 and W4
            keep_home = (n == 1 and not self.args.skip_ratios) or (
                n == self.args.national and not (self.args.skip_w3 and self.args.skip_w4)
            )
            for r in range(self.repeats_for(n)):
                run = self.pipeline(n, r, keep_home)
                self.runs.append(run)
                self.write()
                if not run.ok:
                    print(f"  pipeline at N={n} failed: {self.first_error(run)}", file=sys.stderr)
                    break
            if n == 1 and not self.args.skip_ratios:
                self.ratios()
                self.write()
        if 1 not in self.points() and not self.args.skip_ratios:
            self.ratios()
            self.write()

    @staticmethod
    def first_error(run: PipelineRun) -> str:
        bad = next((s for s in run.stages if not s.ok), None)
        return (
            f"{bad.stage}: {bad.error.splitlines()[0] if bad.error else ''}"
            if bad
            else "incomplete"
        )

    # -- ratios (bench_ingest, bench_dbt)

    def ratios(self) -> None:
        print("ratios: ingest ÷ read_csv, dbt run ÷ direct SQL ...", file=sys.stderr)
        reps = self.args.ratio_repeats
        tmp = self.work / "ratios"
        tmp.mkdir(parents=True, exist_ok=True)
        world = self.worlds.get(1)
        if world is None:  # W1 was not run: generate the world, untimed
            world = self.work / "worlds" / f"n1_seed{self.args.seed}_ratios"
            shutil.rmtree(world, ignore_errors=True)
            res, _ = run_stage(
                "generate (untimed)",
                self.generate_cmd(1, world),
                self.env(tmp / "gen_home"),
                self.work / "logs" / "ratios_generate.log",
            )
            if not res.ok:
                self.results["ratios"] = {"error": res.error}
                return
            self.worlds[1] = world
        out: dict[str, Any] = {"repeats": reps, "world": "the W1 world (N = 1)"}
        try:
            files = bench_ingest.csv_files(world)
            landing = bench_ingest.csv_landing(world, files, tmp / "csv_landing")
            ing, ing_info = bench_ingest.measure_ingest(
                "ingest csv", landing, tmp, reps, self.args.source_tree
            )
            base, base_info = bench_ingest.measure_baseline(world / "exports", files, tmp, reps)
            out["ingest"] = {
                "ingest_csv": ing.row()
                | {"files": ing_info.get("files"), "rows": ing_info.get("rows")},
                "duckdb_read_csv": base.row() | base_info,
                "ratio": round(ing.median_s / base.median_s, 3),
            }
        except Exception as e:  # reported, the rest goes on
            out["ingest"] = {"error": f"{type(e).__name__}: {e}"[:2000]}
        finally:
            shutil.rmtree(tmp / "csv_landing", ignore_errors=True)
        home = self.homes.get(1)
        try:
            if home is not None:
                source_db = home / "warehouse" / bench_dbt.DB_NAME
            else:
                source_db, _ = bench_dbt.ingest_world(world, tmp / "source_home")
            if self.args.source_tree is not None:
                bench_dbt.PROJECT = self.args.source_tree / "dbt_project"
            r = bench_dbt.run_benchmark(source_db, reps, tmp / "dbt", None)
            out["dbt"] = {
                "dbt_build": r["a"].row(),
                "dbt_run": r["b"].row(),
                "direct_sql": r["c"].row(),
                "direct_sql_only": _seconds_row(r["c_sql"]),  # timed in the process
                "ratio": round(r["b"].median_s / r["c"].median_s, 3),
                "row_count_mismatches": r["row_count_mismatches"],
                "slowest_models_dbt_run": r["top"],
            }
        except bench_dbt.DbtFailed as e:
            out["dbt"] = {"error": f"the dbt project does not build: {e}"[:4000]}
        except Exception as e:
            out["dbt"] = {"error": f"{type(e).__name__}: {e}"[:2000]}
        finally:
            if not self.args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        self.results["ratios"] = out

    # -- W3: one new month, then the same month re-sent

    def w3(self) -> None:
        n = self.args.national
        home, world = self.homes.get(n), self.worlds.get(n)
        if home is None or world is None or self.withheld is None:
            self.results["w3"] = {
                "error": f"not measured: the pipeline at N={n} (W2) did not complete"
            }
            return
        code, month, rels = self.withheld
        print(f"W3: municipality {code}, month {month} ({len(rels)} files) ...", file=sys.stderr)
        out: dict[str, Any] = {
            "municipality": code,
            "month": month,
            "files": len(rels),
            "steps": [],
        }
        steps = [("new month", False), ("same month re-sent, one file changed", True)]
        for i, (name, change) in enumerate(steps):
            landing = self.work / "landing" / f"w3_{i}"
            shutil.rmtree(landing, ignore_errors=True)
            copy_files(world / "exports", rels, landing)
            change_note = change_one_file(world, rels, landing) if change else ""
            before = load_log_counts(home)
            env, tag = self.env(home), f"w3_{i}"
            ing, _ = run_stage(
                "ingest",
                [*self.cli, "ingest", str(landing)],
                env,
                self.work / "logs" / f"{tag}_ingest.log",
            )
            stages, built, plan = [ing], False, ""
            if ing.ok:
                build, samples = run_stage(
                    "build", [*self.cli, "build"], env, self.work / "logs" / f"{tag}_build.log"
                )
                stages += split_build(build, samples)
                built = build.ok
                plan = build_plan(self.work / "logs" / f"{tag}_build.log")
            after = load_log_counts(home)
            shutil.rmtree(landing, ignore_errors=True)
            out["steps"].append(
                {
                    "step": name,
                    "changed": change_note,
                    "stages": [asdict(s) for s in stages],
                    "ok": built,
                    "total_s": round(sum(s.seconds for s in stages), 2),
                    "peak_mb": round(max(s.peak_mb for s in stages), 1),
                    "load_log_new": {k: after[k] - before.get(k, 0) for k in after},
                    "files_sent": len(rels),
                    "build_plan": plan,
                    "dbt": dbt_summary(home),
                }
            )
            self.results["w3"] = out
            self.write()
            if not out["steps"][-1]["ok"]:
                break

    # -- W4

    def w4(self) -> None:
        home = self.homes.get(self.args.national)
        snap = snapshot_of(home) if home is not None else None
        if snap is None:
            self.results["w4"] = {
                "error": f"not measured: no published W2 snapshot (N={self.args.national})"
            }
            return
        print(f"W4: queries on {snap} ...", file=sys.stderr)
        result = self.work / "w4.json"
        cmd = [
            sys.executable,
            __file__,
            "_queries",
            str(snap),
            str(self.args.queries),
            str(self.args.seed),
            str(result),
        ]
        res, _ = run_stage("queries", cmd, dict(os.environ), self.work / "logs" / "w4_queries.log")
        if not res.ok:
            self.results["w4"] = {"error": res.error}
            return
        self.results["w4"] = json.loads(result.read_text(encoding="utf-8")) | {
            "process_s": round(res.seconds, 2),
            "peak_mb": round(res.peak_mb, 1),
            "snapshot": snap.name,
        }

    # -- aggregation, targets, report

    def aggregate(self) -> dict[int, dict[str, Measurement]]:
        """Per N: a Measurement per stage and for the whole, over the completed runs."""
        agg: dict[int, dict[str, Measurement]] = {}
        for run in self.runs:
            if not run.ok:
                continue
            per = agg.setdefault(run.n, {})
            for s in run.stages:
                m = per.setdefault(s.stage, Measurement(s.stage))
                m.seconds.append(s.seconds)
                m.peak_rss_mb.append(s.peak_mb)
            m = per.setdefault("whole", Measurement("whole"))
            m.seconds.append(run.total_s)
            m.peak_rss_mb.append(run.peak_mb)
        return agg

    def scaling_fit(self, agg: dict[int, dict[str, Measurement]]) -> dict[str, dict[str, float]]:
        import numpy as np

        ns = sorted(agg)
        if len(ns) < 2:
            return {}
        fit: dict[str, dict[str, float]] = {}
        for stage in [*PLOTTED, "whole"]:
            pts = [(n, agg[n][stage]) for n in ns if stage in agg[n]]
            if len(pts) < 2:
                continue
            x = np.log([n for n, _ in pts])
            fit[stage] = {
                "time_exponent": round(
                    float(np.polyfit(x, np.log([m.median_s for _, m in pts]), 1)[0]), 3
                ),
                "memory_exponent": round(
                    float(np.polyfit(x, np.log([m.peak_mb for _, m in pts]), 1)[0]), 3
                ),
            }
        return fit

    def targets(self, agg: dict[int, dict[str, Measurement]], fit: dict) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []

        def add(workload: str, measure: str, value: float | None, target: float, unit: str) -> None:
            """A target row: "≤" for ratios and exponents (unit "×" or ""), "<" for the rest."""
            suffix = unit if unit in ("×", "") else f" {unit}"
            row: dict[str, Any] = {
                "workload": workload,
                "measure": measure,
                "value": "not measured",
                "target": f"{'≤' if unit in ('×', '') else '<'} {target:g}{suffix}",
                "÷ target": "",
                "met": "",
            }
            if value is not None:
                ratio = value / target
                row["value"] = f"{value:,.2f}{suffix}"
                row["÷ target"] = f"{ratio:.2f}×"
                row["met"] = "yes" if value <= target else f"NO ({(ratio - 1) * 100:.0f}% over)"
            rows.append(row)

        a = self.args
        w1 = agg.get(1, {}).get("whole")
        add(
            "W1 municipal",
            "end to end, median",
            w1.median_s if w1 else None,
            TARGETS["w1_seconds"],
            "s",
        )
        add("W1 municipal", "peak RSS", w1.peak_mb if w1 else None, TARGETS["w1_peak_mb"], "MB")
        w2 = agg.get(a.national, {}).get("whole")
        w2name = f"W2 national ({a.national})"
        add(w2name, "end to end, median", w2.median_s if w2 else None, TARGETS["w2_seconds"], "s")
        add(w2name, "peak RSS", w2.peak_mb if w2 else None, TARGETS["w2_peak_mb"], "MB")
        steps = self.results.get("w3", {}).get("steps", [])
        for step in steps:
            total = step["total_s"] if step["ok"] else None
            add("W3 monthly", f"{step['step']}: ingest + build", total, TARGETS["w3_seconds"], "s")
        if not steps:
            add("W3 monthly", "ingest + build", None, TARGETS["w3_seconds"], "s")
        w4 = self.results.get("w4", {})
        for q, label in (
            ("a", "(a) one indicator, every area, one month"),
            ("b", "(b) every indicator, one area"),
        ):
            add(
                "W4 queries",
                f"{label}: p95",
                w4[q]["p95_ms"] if q in w4 else None,
                TARGETS["w4_p95_ms"],
                "ms",
            )
        ratios = self.results.get("ratios", {})
        ri = ratios.get("ingest", {}).get("ratio")
        add("ratio", "ingest csv ÷ DuckDB read_csv", ri, TARGETS["ratio_ingest_vs_read_csv"], "×")
        rd = ratios.get("dbt", {}).get("ratio")
        add("ratio", "dbt run ÷ direct SQL", rd, TARGETS["ratio_dbt_run_vs_direct"], "×")
        for stage in [*PLOTTED, "whole"]:
            if stage in fit:
                add(
                    "scaling",
                    f"{stage}: time exponent b (t ∝ N^b)",
                    fit[stage]["time_exponent"],
                    TARGETS["scaling_exponent"],
                    "",
                )
        if "whole" in fit:
            add(
                "scaling",
                "peak memory exponent (max over stages)",
                fit["whole"]["memory_exponent"],
                TARGETS["scaling_exponent"],
                "",
            )
        return rows

    def write(self) -> None:
        """Write the JSON, the Markdown and the PNG with what has been measured so far."""
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        agg = self.aggregate()
        fit = self.scaling_fit(agg)
        targets = self.targets(agg, fit)
        payload = {
            "meta": self.meta,
            "targets": TARGETS,
            "target_results": targets,
            "pipeline": {
                str(n): {stage: m.row() for stage, m in per.items()}
                for n, per in sorted(agg.items())
            },
            "pipeline_runs": [
                {
                    **asdict(r),
                    "ok": r.ok,
                    "total_s": round(r.total_s, 2),
                    "peak_mb": round(r.peak_mb, 1),
                }
                for r in self.runs
            ],
            "scaling_fit": fit,
            **self.results,
            "notes": self.notes,
        }
        (OUT_DIR / f"{STEM}.json").write_text(
            json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        if agg:
            try:
                plot(agg, OUT_DIR / f"{STEM}.png", self.meta, self.args.national)
            except Exception as e:  # the figures matter more than the picture
                print(f"  plot failed: {type(e).__name__}: {e}", file=sys.stderr)
        (OUT_DIR / f"{STEM}.md").write_text(self.markdown(agg, fit, targets), encoding="utf-8")

    def markdown(
        self, agg: dict[int, dict[str, Measurement]], fit: dict, targets: list[dict]
    ) -> str:
        lines = [
            *self.md_header(),
            "## Targets",
            "",
            *(md_table(targets) or ["nothing measured yet"]),
            "",
            *self.md_pipeline(agg, fit),
            *self.md_w3(),
            *self.md_w4(),
            *self.md_ratios(),
        ]
        if self.notes:
            lines += ["## Notes", "", *[f"- {n}" for n in self.notes], ""]
        return "\n".join(lines)

    def md_header(self) -> list[str]:
        meta, a = self.meta, self.args
        mach, git = meta["machine"], meta["git"]
        revision = git["revision"]
        if git.get("dirty"):
            revision += " with uncommitted changes"
        if a.source_tree:
            revision += f" (source tree {a.source_tree})"
        load = f"load average {meta['load_average_at_start']} at start"
        if "load_average_at_end" in meta:
            load += f", {meta['load_average_at_end']} at end"
        factor = a.population_factor if a.population_factor is not None else "the scale's (1.0)"
        lines = [
            "# Scale benchmark",
            "",
            f"- command: `{meta['command']}`",
            f"- date: {meta['started_utc']} UTC; benchmark wall time "
            f"{meta.get('benchmark_wall_s', '(running)')} s",
            f"- revision: {revision}",
            f"- machine: {mach['cpu_logical']} logical CPUs ({mach['cpu_physical']} cores, "
            f"{mach['cpu_model']}), {mach['ram_gb']} GB RAM; {load}",
            f"- versions: Python {mach['python']}, DuckDB {mach['duckdb']}, dbt-core "
            f"{mach['dbt-core']}, dbt-duckdb {mach['dbt-duckdb']}, polars {mach['polars']}; "
            f"dbt threads {meta['dbt_threads']}",
            f"- settings: points N = {', '.join(map(str, self.points()))}; W2, W3 and W4 at "
            f"N = {a.national}; runs: {a.repeats} at N = 1, {a.national_repeats} at N > 1, "
            f"{a.ratio_repeats} for the ratios; seed {a.seed}; population factor {factor}",
        ]
        if meta["reduced"]:
            lines.append(
                "- **reduced run** (--quick or --population-factor): the targets are stated at "
                "the full scale; they are reported here but do not apply"
            )
        return [*lines, ""]

    def md_pipeline(self, agg: dict[int, dict[str, Measurement]], fit: dict) -> list[str]:
        lines = [
            "## Pipeline by number of municipalities N (W1: N = 1; W2: N = "
            f"{self.args.national}; scaling)",
            "",
            "Median over the runs and spread (min, max); peak RSS of the stage's process tree, "
            "largest over the runs. `dbt build` is `geitonia build` until its dbt subprocess "
            "exits, `publish` the rest of it (the build's bookkeeping and the snapshot); "
            "`whole` is the sum of the stages.",
            "",
        ]
        rows = [
            {
                "N": n,
                "stage": stage,
                "runs": len(m.seconds),
                "median s": f"{m.median_s:.2f}",
                "min s": f"{min(m.seconds):.2f}",
                "max s": f"{max(m.seconds):.2f}",
                "s per municipality": f"{m.median_s / n:.2f}",
                "peak MB": f"{m.peak_mb:.0f}",
            }
            for n, per in sorted(agg.items())
            for stage, m in sorted(per.items(), key=lambda kv: [*STAGES, "whole"].index(kv[0]))
        ]
        lines += md_table(rows) or ["no pipeline run has completed"]
        for r in self.runs:
            if not r.ok:
                err = next((s.error for s in r.stages if not s.ok), "")
                done = ", ".join(
                    f"{s.stage} {s.seconds:.1f} s{'' if s.ok else ' (failed)'}" for s in r.stages
                )
                lines += [
                    "",
                    f"**Pipeline at N = {r.n} (run {r.repeat + 1}) failed**: {self.first_error(r)}"
                    f" ({done})",
                    "",
                    "```",
                    err.split("\n", 1)[-1][-3000:],
                    "```",
                ]
        w2 = next((r for r in self.runs if r.n == self.args.national and r.withheld_files), None)
        if w2 is not None:
            lines += [
                "",
                f"W2's landing folder held {w2.landing_files} files: all but the "
                f"{w2.withheld_files} of the month W3 sends.",
            ]
        if agg:
            lines += ["", f"![scaling]({STEM}.png)"]
        if fit:
            lines += ["", "Fitted exponents b (median time ∝ N^b, peak memory ∝ N^b; 1 = linear):"]
            lines += [""] + md_table(
                [
                    {"stage": s, "time b": v["time_exponent"], "memory b": v["memory_exponent"]}
                    for s, v in fit.items()
                ]
            )
        return [*lines, ""]

    def md_w3(self) -> list[str]:
        lines = ["## W3: one new month into the national warehouse", ""]
        w3 = self.results.get("w3")
        if not w3:
            return [*lines, "not run", ""]
        if "error" in w3:
            return [*lines, w3["error"], ""]
        lines += [
            f"Municipality {w3['municipality']}, month {w3['month']}: {w3['files']} files. "
            "Each step: `geitonia ingest <folder with the month's files>`, then `geitonia build`.",
            "",
        ]
        rows = []
        for st in w3["steps"]:
            s = {x["stage"]: x for x in st["stages"]}
            new, dbt = st["load_log_new"], st["dbt"]
            new = {k: new.get(k, "?") for k in ("loaded", "replacing_earlier", "rows_read")}

            def sec(stage: str, s: dict = s) -> str:
                return f"{s[stage]['seconds']:.2f}" if stage in s else ""

            rows.append(
                {
                    "step": st["step"],
                    "ingest s": sec("ingest"),
                    "dbt build s": sec("dbt build"),
                    "publish s": sec("publish"),
                    "total s": f"{st['total_s']:.2f}" + ("" if st["ok"] else " FAILED"),
                    "peak MB": f"{st['peak_mb']:.0f}",
                    "files loaded / sent": f"{new['loaded']} / {st['files_sent']}",
                    "loads replacing one": new["replacing_earlier"],
                    "rows read": new["rows_read"],
                    "dbt nodes (models)": f"{dbt.get('nodes', '')} ({dbt.get('models', '')})",
                    "dbt elapsed s": dbt.get("elapsed_s", ""),
                }
            )
        lines += md_table(rows)
        lines += [""] + [f"- {st['step']}: `{st['build_plan']}`" for st in w3["steps"]]
        for st in w3["steps"]:
            if st["changed"]:
                lines += ["", f"Re-sent: {st['changed']}; the other files identical."]
            if not st["ok"]:
                err = next((x["error"] for x in st["stages"] if not x["ok"]), "")
                lines += ["", f"**{st['step']} failed**", "", "```", err[-3000:], "```"]
        return [*lines, ""]

    def md_w4(self) -> list[str]:
        lines = ["## W4: dashboard queries on the published national snapshot", ""]
        w4 = self.results.get("w4")
        if not w4:
            return [*lines, "not run", ""]
        if "error" in w4:
            return [*lines, w4["error"], ""]
        lines += [
            f"Snapshot {w4['snapshot']} ({w4['snapshot_mb']} MB, "
            f"{w4['indicator_values_rows']:,} rows in marts.indicator_values), one read-only "
            f"connection (opened in {w4['open_connection_ms']} ms); {WARMUP_QUERIES} warm-up "
            "queries of each kind, then the timed ones with random parameters from the data "
            "(rows fetched as Python tuples).",
            "",
        ]
        rows = [
            {
                "query": f"({q}) `{w4[q]['sql']}`",
                "runs": w4[q]["runs"],
                "p50 ms": w4[q]["p50_ms"],
                "p95 ms": w4[q]["p95_ms"],
                "max ms": w4[q]["max_ms"],
                "rows (median)": w4[q]["rows_median"],
                "parameter values": w4[q]["parameter_pool"],
            }
            for q in ("a", "b")
        ]
        return [*lines, *md_table(rows), ""]

    def md_ratios(self) -> list[str]:
        lines = ["## Ratios (measured in this run on the W1 world)", ""]
        ratios = self.results.get("ratios")
        if not ratios:
            return [*lines, "not run", ""]
        ing, dbt = ratios.get("ingest", {}), ratios.get("dbt", {})
        rows = []
        if "ratio" in ing:
            rows += [
                {"what": "`geitonia ingest` of the CSV exports", **_ms(ing["ingest_csv"])},
                {"what": "DuckDB `read_csv` of the same files", **_ms(ing["duckdb_read_csv"])},
            ]
        if "ratio" in dbt:
            rows += [
                {"what": "`dbt build` (seeds, models, tests)", **_ms(dbt["dbt_build"])},
                {"what": "`dbt run` (models)", **_ms(dbt["dbt_run"])},
                {"what": "the same SQL in one DuckDB connection", **_ms(dbt["direct_sql"])},
                {"what": "… its part from connect to close", **_ms(dbt["direct_sql_only"])},
            ]
        lines += [*md_table(rows), ""] if rows else []
        target_i, target_d = TARGETS["ratio_ingest_vs_read_csv"], TARGETS["ratio_dbt_run_vs_direct"]
        if "ratio" in ing:
            lines.append(f"- ingest ÷ read_csv = {ing['ratio']:.2f}× (target ≤ {target_i:g}×)")
        else:
            lines += ["- ingest ratio not measured:", "", "```", ing.get("error", "")[:3000], "```"]
        if "ratio" in dbt:
            mm = dbt["row_count_mismatches"]
            counts = "identical" if not mm else f"DIFFER: {mm}"
            lines.append(
                f"- dbt run ÷ direct SQL = {dbt['ratio']:.2f}× (target ≤ {target_d:g}×); "
                f"row counts of the model tables {counts}"
            )
        else:
            lines += ["- dbt ratio not measured:", "", "```", dbt.get("error", "")[:3000], "```"]
        return [*lines, ""]

    # -- everything

    def run(self) -> None:
        self.meta = meta(self.args)
        if self.meta["load_average_at_start"] > 0.5 * (os.cpu_count() or 1):
            self.notes.append(
                f"the machine was busy at the start (load average "
                f"{self.meta['load_average_at_start']} on {os.cpu_count()} CPUs): times are noisy"
            )
        t0 = time.perf_counter()
        self.write()
        self.run_pipelines()
        if self.w3_on:
            self.w3()
            self.write()
        if not (self.args.skip_w2 or self.args.skip_w4):
            self.w4()
        self.meta["benchmark_wall_s"] = round(time.perf_counter() - t0, 1)
        self.meta["load_average_at_end"] = round(os.getloadavg()[0], 2)
        self.write()


def _seconds_row(m: Measurement) -> dict[str, Any]:
    """Measurement.row() for a measurement without memory figures."""
    return {
        "workload": m.name,
        "runs": len(m.seconds),
        "median_s": round(m.median_s, 2),
        "min_s": round(min(m.seconds), 2),
        "max_s": round(max(m.seconds), 2),
        "peak_rss_mb": "",
    }


def _ms(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "runs": row["runs"],
        "median s": row["median_s"],
        "min s": row["min_s"],
        "max s": row["max_s"],
        "peak MB": row["peak_rss_mb"],
    }


def md_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return lines + ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]


def plot(
    agg: dict[int, dict[str, Measurement]], path: Path, meta: dict[str, Any], national: int
) -> None:
    """Median time and peak memory per stage against N, log-log, with linear growth from the
    smallest N; the W1 and W2 targets as red crosses (full-scale runs only)."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ns = sorted(agg)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5))
    panels = (
        (ax_t, "median_s", "median time (s)", "whole pipeline", ("w1_seconds", "w2_seconds")),
        (ax_m, "peak_mb", "peak RSS (MB)", "largest stage peak", ("w1_peak_mb", "w2_peak_mb")),
    )
    for ax, attr, ylabel, whole_label, (t1, t2) in panels:
        for stage in ["whole", *PLOTTED]:
            pts = [(n, getattr(agg[n][stage], attr)) for n in ns if stage in agg[n]]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            if stage == "whole":
                ax.plot(xs, ys, marker="o", lw=4, color="black", alpha=0.35, label=whole_label)
            else:
                ax.plot(xs, ys, marker="o", lw=1.4, label=stage)
        whole = [(n, getattr(agg[n]["whole"], attr)) for n in ns if "whole" in agg[n]]
        if len(whole) > 1:
            (n0, y0), n1 = whole[0], whole[-1][0]
            ax.plot([n0, n1], [y0, y0 * n1 / n0], ls="--", color="grey", label="linear growth")
        if not meta.get("reduced"):
            ax.plot(
                [1, national],
                [TARGETS[t1], TARGETS[t2]],
                "x",
                color="red",
                ms=9,
                mew=2,
                ls="none",
                label="target (W1, W2)",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(plain)
        lo, hi = ax.get_ylim()
        ax.yaxis.set_minor_formatter(plain if math.log10(hi / lo) < 1.5 else NullFormatter())
        ax.set_xlabel("municipalities N")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax_t.set_title("time per stage")
    ax_m.set_title("peak memory per stage (RSS of the process tree)")
    rev = meta["git"]["revision"]
    rev = rev[:10] if meta["git"].get("dirty") is not None else "revision unknown"
    reduced = " (reduced run)" if meta.get("reduced") else ""
    fig.suptitle(f"Geitonia pipeline scaling{reduced}: {meta['started_utc']} UTC, {rev}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def meta(args: argparse.Namespace) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    tree = args.source_tree or ROOT

    def git(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(tree), *a], capture_output=True, text=True, check=False
        )

    rev = git("rev-parse", "HEAD")
    git_state: dict[str, Any] = (
        {"revision": rev.stdout.strip(), "dirty": bool(git("status", "--porcelain").stdout.strip())}
        if rev.returncode == 0 and (tree / ".git").exists()
        else {"revision": "unknown (not a git checkout)", "dirty": None}
    )
    return {
        "command": "python benchmarks/bench_scale.py " + " ".join(sys.argv[1:]),
        "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "git": git_state,
        "source_tree": str(tree),
        "machine": {
            "cpu_logical": psutil.cpu_count(),
            "cpu_physical": psutil.cpu_count(logical=False),
            "cpu_model": model or platform.processor(),
            "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": _version("duckdb"),
            "dbt-core": _version("dbt-core"),
            "dbt-duckdb": _version("dbt-duckdb"),
            "polars": _version("polars"),
        },
        "dbt_threads": os.environ.get("GEITONIA_DBT_THREADS", "4 (profile default)"),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "reduced": bool(args.quick or args.population_factor is not None),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--municipalities", default="1,4,16,60", help="scaling points, e.g. 1,4,16,60")
    ap.add_argument("--national", type=int, default=None, help="N for W2, W3 and W4 (default 60)")
    ap.add_argument("--repeats", type=int, default=None, help="pipeline runs at N = 1 (default 3)")
    ap.add_argument("--national-repeats", type=int, default=1, help="pipeline runs at N > 1")
    ap.add_argument("--ratio-repeats", type=int, default=None, help="default: --repeats")
    ap.add_argument("--queries", type=int, default=200, help="W4: timed queries of each kind")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--population-factor", type=float, default=None)
    ap.add_argument("--quick", action="store_true", help="N = 1, 2, 4 at a tenth of the population")
    for part in ("w1", "w2", "w3", "w4", "scaling", "ratios"):
        ap.add_argument(f"--skip-{part}", action="store_true")
    ap.add_argument("--workdir", type=Path, help="the temporary folder (default: in $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep worlds, homes and logs")
    ap.add_argument("--source-tree", type=Path, help="run another checkout's CLI and dbt project")
    args = ap.parse_args(argv)
    explicit_points = any(a.split("=")[0] == "--municipalities" for a in argv)
    if args.quick:
        if not explicit_points:
            args.municipalities = ",".join(map(str, QUICK["municipalities"]))
        args.national = args.national or QUICK["national"]
        if args.population_factor is None:
            args.population_factor = QUICK["population_factor"]
        args.repeats = args.repeats or QUICK["repeats"]
        args.ratio_repeats = args.ratio_repeats or QUICK["ratio_repeats"]
    args.municipalities = sorted({int(x) for x in str(args.municipalities).split(",") if x.strip()})
    args.national = args.national or 60
    args.repeats = args.repeats or 3
    args.ratio_repeats = args.ratio_repeats or args.repeats
    if args.source_tree is not None:
        args.source_tree = args.source_tree.resolve()
    if not 2 <= args.national <= 100 or not all(1 <= n <= 100 for n in args.municipalities):
        ap.error("municipalities: 1 to 100 (the generator's limit); --national at least 2")
    return args


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_queries":
        snap, runs, seed, result = sys.argv[2:6]
        queries(Path(snap), int(runs), int(seed), Path(result))
        return
    args = parse_args(sys.argv[1:])
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="bench_scale_", dir=args.workdir))
    else:
        work = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    print(f"working in {work}", file=sys.stderr)
    bench = ScaleBench(args, work)
    try:
        bench.run()
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print((OUT_DIR / f"{STEM}.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
