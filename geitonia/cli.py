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
def generate(
    scale: Annotated[str, typer.Option(help="small | municipal | national")] = "small",
    out: Annotated[
        Path | None, typer.Option(help="output folder (default $GEITONIA_HOME/demo)")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="random seed; one seed gives identical files")
    ] = 20260101,
    municipalities: Annotated[
        int | None, typer.Option(help="number of municipalities (national scale)")
    ] = None,
) -> None:
    """Generate the synthetic municipality: exports, reference files and ground truth."""
    from synthetic.config import SCALES, GeneratorConfig
    from synthetic.generate import generate as run

    if scale not in SCALES:
        raise typer.BadParameter(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    overrides = {} if municipalities is None else {"municipalities": municipalities}
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
