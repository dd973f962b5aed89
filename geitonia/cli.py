"""The `geitonia` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geitonia.config import paths

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Geitonia: analytics and needs assessment for municipal social services.",
)
console = Console()


@app.callback()
def _root() -> None:
    """Geitonia: analytics and needs assessment for municipal social services."""


@app.command()
def init() -> None:
    """Create the folders under GEITONIA_HOME and a pseudonymisation key if there is none."""
    from ingest.pseudonymise import ensure_key

    p = paths().ensure()
    existed = p.key_file.exists()
    path = ensure_key(p)
    console.print(f"GEITONIA_HOME = {p.home}")
    if path is None:
        console.print("pseudonymisation key: from GEITONIA_PSEUDONYM_KEY")
    elif existed:
        console.print(f"pseudonymisation key: {path}")
    else:
        console.print(
            f"created a new pseudonymisation key at {path} (mode 0600): keep it secret, back it up"
        )


@app.command()
def generate(
    scale: Annotated[str, typer.Option(help="small | municipal | national")] = "small",
    out: Annotated[
        Path | None, typer.Option(help="output folder (default $GEITONIA_HOME/demo)")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="random seed; one seed gives identical files")
    ] = 20260101,
    municipalities: Annotated[
        int | None, typer.Option(help="number of municipalities (national scale; at most 100)")
    ] = None,
    population_factor: Annotated[
        float | None,
        typer.Option(help="residents simulated per census resident (overrides the scale's)"),
    ] = None,
) -> None:
    """Generate the synthetic municipality: exports, reference files and ground truth."""
    from synthetic.config import SCALES, GeneratorConfig
    from synthetic.generate import generate as run

    if scale not in SCALES:
        raise typer.BadParameter(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    overrides: dict = {} if municipalities is None else {"municipalities": municipalities}
    if population_factor is not None:
        if not 0 < population_factor <= 1:
            raise typer.BadParameter("--population-factor must be in (0, 1]")
        overrides["population_factor"] = population_factor
    cfg = GeneratorConfig.for_scale(scale, seed=seed, **overrides)
    out_dir = out if out is not None else paths().demo
    with console.status(f"Generating the {scale} municipality into {out_dir} …"):
        s = run(cfg, out_dir)
    t = Table(title=f"Synthetic municipality ({s.scale}, seed {s.seed})")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("residents", f"{s.residents:,}".replace(",", "."))
    t.add_row("export files", str(s.files))
    t.add_row("export rows", f"{s.rows:,}".replace(",", "."))
    t.add_row("injected faults", f"{s.faults:,}".replace(",", "."))
    for k, v in s.seconds.items():
        t.add_row(f"time: {k} (s)", f"{v:.2f}".replace(".", ","))
    console.print(t)
    console.print(f"exports: {out_dir / 'exports'}\nground truth (tests only): {out_dir / 'truth'}")


def _fmt_int(n: int) -> str:
    """Thousands with a dot, as a Greek reader expects (12.345)."""
    return f"{n:,}".replace(",", ".")


@app.command()
def ingest(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="landing folder (<municipality>/<source>/<entity>/files); default $GEITONIA_HOME/landing"
        ),
    ] = None,
    all_files: Annotated[
        bool, typer.Option("--all-files", help="list every file, not only those with problems")
    ] = False,
) -> None:
    """Ingest every new export under a landing folder into the warehouse."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.landing import scan
    from ingest.pipeline import IngestContext, ingest_landing
    from ingest.pseudonymise import Pseudonymiser, load_key
    from ingest.warehouse import Warehouse

    p = paths().ensure()
    root = folder if folder is not None else p.landing
    if (root / "exports").is_dir():  # the generator's output folder
        root = root / "exports"
    if not root.is_dir():
        raise typer.BadParameter(f"{root} is not a folder")
    files = scan(root)
    with Warehouse.open(p.warehouse) as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(load_key(p)), archive_dir=p.archive
        )
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("ingest", total=len(files))

            def step(lf, rec) -> None:  # noqa: ANN001
                bar.update(task, advance=1, description=f"{lf.source}/{lf.entity} {lf.name[:40]}")

            run = ingest_landing(root, ctx, on_file=step, files=files)
    _print_run(run, all_files)


def _print_run(run, all_files: bool) -> None:  # noqa: ANN001
    t = Table(title=f"Ingest {run.run_id}: files")
    for c in (
        "source/entity",
        "file",
        "period",
        "status",
        "read",
        "loaded",
        "rejected",
        "repaired",
        "unassigned",
        "reason",
    ):
        t.add_column(
            c,
            justify="right"
            if c in ("read", "loaded", "rejected", "repaired", "unassigned")
            else "left",
        )
    shown = 0
    for r in run.records:
        if not all_files and r.status == "loaded" and r.rows_rejected == 0:
            continue
        shown += 1
        t.add_row(
            f"{r.source}/{r.entity}",
            r.file_name,
            r.period or "",
            r.status,
            _fmt_int(r.rows_read),
            _fmt_int(r.rows_loaded),
            _fmt_int(r.rows_rejected),
            _fmt_int(r.rows_repaired),
            _fmt_int(r.rows_unassigned),
            (r.reason_code or "") + (f": {r.message_en}" if r.message_en else ""),
        )
    if shown:
        console.print(t)
    by: dict[str, list[int]] = {}
    for r in run.records:
        row = by.setdefault(f"{r.source}/{r.entity}", [0] * 7)
        vals = [
            r.status == "loaded",
            r.status == "refused",
            r.rows_read,
            r.rows_loaded,
            r.rows_rejected,
            r.rows_repaired,
            r.rows_unassigned,
        ]
        by[f"{r.source}/{r.entity}"] = [a + int(b) for a, b in zip(row, vals, strict=True)]
    s = Table(title="Ingest summary by source")
    for c in (
        "source/entity",
        "files loaded",
        "files refused",
        "rows read",
        "loaded",
        "rejected",
        "repaired",
        "unassigned",
    ):
        s.add_column(c, justify="left" if c == "source/entity" else "right")
    for k in sorted(by):
        s.add_row(k, *[_fmt_int(v) for v in by[k]])
    tot = run.totals()
    s.add_row(
        "Σύνολο / total",
        _fmt_int(tot["files_loaded"]),
        _fmt_int(tot["files_refused"]),
        _fmt_int(tot["rows_read"]),
        _fmt_int(tot["rows_loaded"]),
        _fmt_int(tot["rows_rejected"]),
        _fmt_int(tot["rows_repaired"]),
        _fmt_int(tot["rows_unassigned"]),
    )
    console.print(s)
    console.print(
        f"{len(run.skipped)} file(s) already loaded were skipped; reference data for "
        f"{', '.join(run.reference) or 'no municipality'}; {run.seconds:.1f} s".replace(".", ",", 1)
    )


def _dbt_artefacts(p) -> tuple[Path | None, Path | None]:  # noqa: ANN001
    """The manifest and run results `geitonia publish` goes by: those of `geitonia build`
    ($GEITONIA_HOME/dbt/target), else the project's parsed manifest (no run results)."""
    from geitonia.config import DBT_PROJECT_DIR
    from geitonia.publish import default_dbt_target

    target = default_dbt_target(p)
    if (target / "manifest.json").is_file():
        results = target / "run_results.json"
        return target / "manifest.json", results if results.is_file() else None
    parsed = DBT_PROJECT_DIR / "target" / "manifest.json"
    return (parsed if parsed.is_file() else None), None


def _publish(p, keep: int, manifest: Path | None, run_results: Path | None) -> None:  # noqa: ANN001
    from geitonia.publish import PublishError, publish

    try:
        res = publish(p, keep=keep, manifest_path=manifest, run_results_path=run_results)
    except PublishError as exc:
        console.print(f"[red]not published:[/red] {exc}")
        console.print("the current snapshot is unchanged")
        raise typer.Exit(1) from exc
    t = Table(title=f"Snapshot {res.snapshot_id} ({res.selection} tables)")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("columns", justify="right")
    for tab in res.tables:
        t.add_row(tab.name, str(tab.row_count), str(len(tab.columns)))
    t.add_row("total", str(res.rows), "")
    console.print(t)
    dirty = " (with uncommitted changes)" if res.git_dirty else ""
    console.print(f"snapshot: {res.path}\nrevision: {res.git_revision}{dirty}")
    if res.pruned:
        console.print(f"removed {len(res.pruned)} old snapshot(s)")


@app.command(name="publish")
def publish_cmd(
    keep: Annotated[
        int, typer.Option(min=1, help="snapshots to keep (the current one always)")
    ] = 5,
) -> None:
    """Copy the published marts into a new snapshot and make it the current one."""
    p = paths()
    manifest, run_results = _dbt_artefacts(p)
    _publish(p, keep, manifest, run_results)


@app.command()
def build(
    keep: Annotated[
        int, typer.Option(min=1, help="snapshots to keep (the current one always)")
    ] = 5,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="recompute every municipality (default: only those with new data)",
        ),
    ] = False,
) -> None:
    """dbt build (staging, intermediate, marts and their tests), then publish.

    Incremental: only the municipalities with new loads or reference data since the last build
    are recomputed (geitonia/build.py); the first build, a changed dbt project or
    --full-refresh recompute all."""
    import os
    import subprocess
    import sys

    from geitonia.build import plan_build, record_build
    from geitonia.config import DBT_PROJECT_DIR
    from geitonia.publish import default_dbt_target

    p = paths().ensure()
    plan = plan_build(p.warehouse, full_refresh=full_refresh)
    if plan.mode == "nothing":
        console.print(f"Nothing to build: {plan.reason}. / Τίποτα νέο από την τελευταία κατασκευή.")
        return
    what = ", ".join(plan.municipalities) if plan.mode == "incremental" else "all municipalities"
    console.print(f"Build ({plan.mode}: {what}) — {plan.reason}")
    beside = Path(sys.executable).parent / "dbt"
    dbt = str(beside) if beside.exists() else "dbt"
    target = default_dbt_target(p)
    # the profile reads GEITONIA_HOME: absolute, since dbt resolves it from dbt_project/
    env = {**os.environ, "GEITONIA_HOME": str(p.home)}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # a failed build must not be published by way of an older run's results
    (target / "run_results.json").unlink(missing_ok=True)
    cmd = [
        dbt,
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(p.home / "dbt" / "logs"),
        *plan.dbt_args(),
    ]
    console.print(" ".join(cmd))
    done = subprocess.run(cmd, env=env)
    if done.returncode != 0:
        console.print(f"[red]dbt build failed (exit {done.returncode}):[/red] nothing published")
        raise typer.Exit(done.returncode)
    record_build(p.warehouse, plan)
    _publish(p, keep, target / "manifest.json", target / "run_results.json")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
