"""`geitonia generate`: build the synthetic world and write its exports, reference files and truth."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from synthetic.config import GeneratorConfig
from synthetic.model import World

# independent random streams per stage, so that a change in one stage does not shift the others
_STAGES = ("geography", "population", "services", "exports")


@dataclass
class GenerateSummary:
    out_dir: Path
    scale: str
    seed: int
    municipalities: list[str]
    residents: int
    files: int
    rows: int
    faults: int
    seconds: dict[str, float]
    per_municipality: list[dict] = field(default_factory=list)  # national mode
    peak_rss_mb: float | None = None  # national mode


def is_national(cfg: GeneratorConfig) -> bool:
    """National mode: the national scale, or any scale with more than one municipality."""
    return cfg.scale.name == "national" or cfg.scale.municipalities > 1


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STAGES))
    return {name: np.random.default_rng(s) for name, s in zip(_STAGES, children, strict=True)}


def build_world(
    cfg: GeneratorConfig, spec_dir: Path | None = None
) -> tuple[World, dict[str, float]]:
    """Build one municipality's world (geography, people, service use) in memory."""
    from synthetic import geography, population, services

    rng = _streams(cfg.seed)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    spec = geography.load_municipality_spec(spec_dir or geography.HERAKLION)
    geo = geography.build_geography(spec, rng["geography"])
    seconds["geography"] = time.perf_counter() - t
    t = time.perf_counter()
    pop = population.build_population(geo, cfg, rng["population"])
    seconds["population"] = time.perf_counter() - t
    t = time.perf_counter()
    svc = services.simulate_services(geo, pop, cfg, rng["services"])
    seconds["services"] = time.perf_counter() - t
    world = World(
        geography=geo, population=pop, services=svc, start=cfg.scale.start, end=cfg.scale.end
    )
    return world, seconds


def write_reference_and_truth(
    world: World, cfg: GeneratorConfig, out_dir: Path, truth: Path
) -> None:
    """Write a municipality's reference files (which travel with its exports, in
    <m>/reference/) and its areas, persons and households into the truth folder `truth`."""
    from synthetic import geography

    geo, pop = world.geography, world.population
    ref_dir = out_dir / "exports" / geo.municipality_code / "reference"
    geography.write_reference(geo, pop.persons, cfg.scale.start, ref_dir)
    geography.write_truth_areas(geo, truth)
    pop.persons.write_parquet(truth / "persons.parquet")
    pop.households.write_parquet(truth / "households.parquet")


def generate(cfg: GeneratorConfig, out_dir: Path, *, overwrite: bool = True) -> GenerateSummary:
    """Generate the synthetic municipality into `out_dir` (exports/, reference/, truth/).

    In national mode (`is_national`) this writes `cfg.scale.municipalities` municipalities with
    one combined truth (synthetic/national.py)."""
    from synthetic import exports

    if is_national(cfg):
        from synthetic.national import generate_national

        return generate_national(cfg, out_dir, overwrite=overwrite)

    out_dir = Path(out_dir)
    if out_dir.exists() and overwrite:
        for sub in ("exports", "truth"):
            shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world, seconds = build_world(cfg)
    rng = _streams(cfg.seed)
    geo, pop = world.geography, world.population

    t = time.perf_counter()
    result = exports.write_exports(world, cfg, out_dir, rng["exports"])
    truth = out_dir / "truth"
    result.fault_stats.write_csv(truth / "fault_stats.csv")
    seconds["exports"] = time.perf_counter() - t
    t = time.perf_counter()
    write_reference_and_truth(world, cfg, out_dir, truth)
    seconds["reference"] = time.perf_counter() - t

    seconds["total"] = time.perf_counter() - t0

    files = pl.read_csv(truth / "files.csv", infer_schema_length=0)
    records = pl.scan_parquet(truth / "records.parquet").select(pl.len()).collect().item()
    faults = pl.read_csv(truth / "faults.csv", infer_schema_length=0).height
    summary = GenerateSummary(
        out_dir=out_dir,
        scale=cfg.scale.name,
        seed=cfg.seed,
        municipalities=[geo.municipality_code],
        residents=pop.persons.height,
        files=files.height,
        rows=records,
        faults=faults,
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )
    manifest = {
        "generator": "geitonia synthetic municipality",
        "warning": "Synthetic data. Neighbourhoods inside the city are an illustrative partition.",
        "scale": asdict(cfg.scale) | {"start": str(cfg.scale.start), "end": str(cfg.scale.end)},
        "seed": cfg.seed,
        "municipalities": summary.municipalities,
        "residents": summary.residents,
        "files": summary.files,
        "rows": summary.rows,
        "faults": summary.faults,
        "export_result": getattr(result, "summary", None),
    }
    (truth / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return summary
