"""National mode: many municipalities in one output folder, with one combined ground truth.

`geitonia generate --scale national --municipalities N --out DIR` (or any scale with
`municipalities > 1`) writes

    DIR/exports/<code>/<source>/<entity>/<file>     every municipality's exports
    DIR/exports/<code>/reference/                    and its reference files
    DIR/truth/                                       one ground truth for all of them

Municipality 1 is Heraklion (ELSTAT 7101, real geography and census figures). Municipalities
2..N are **synthetic clones, plainly marked**: built from the Heraklion template
(`synthetic/data/heraklion`) with

- code `9000 + (k - 1)` (9001, 9002, …): ELSTAT municipality codes are `<regional unit 01-74><NN>`,
  so 9xxx is outside every real code (dbt_project/seeds/reference has 7101 only); community,
  municipal-unit, settlement and neighbourhood codes are the template's with the first four
  digits replaced (71010101-03 → 90010101-03); Kallikratis codes are left empty;
- the name "Συνθετικός Δήμος 001" / "Synthetic Municipality 001" (region and regional unit
  "Συνθετική …"); community, settlement, neighbourhood and street names and postcodes are the
  template's (the geocoder works per municipality, so this does not mix them up);
- the template's boundary and seed points translated on a grid of `GRID_COLUMNS` columns
  `LON_STEP` degrees apart and rows `LAT_STEP` degrees apart (Heraklion spans 0.26° × 0.21°), so
  that no two municipalities' polygons overlap;
- every census figure (communities, settlements, the municipality) multiplied by a size factor:
  1.0 by default (W2 wants many municipalities of the same size), or, with `size_sd > 0`, drawn
  per municipality as exp(Normal(0, size_sd)) clipped to [0.25, 3]; service volumes and
  capacities follow the same factor;
- their own random streams for everything (geography: latent levels and gazetteer; population;
  services; exports: header profiles, formats, faults).

Independence of N: municipality k draws only from `SeedSequence(seed, spawn_key=(NATIONAL_KEY,
k))`; its ΑΜΚΑ serials are those ≡ k-1 (mod `AMKA_PARTITIONS`, a constant, so N ≤ 100); its
ΑΦΜ avoid those of municipalities 1..k-1; its person and household ids are offset by
`(k - 1) × ID_STRIDE`; its fault ids follow those of municipalities 1..k-1. So municipality k
is the same whether N = 4 or N = 60.

Memory: one municipality is built, written and dropped at a time; its truth goes into
`truth/_parts/<code>/` and the parts are joined at the end (Parquet lazily with
`scan_parquet(...).sink_parquet`, CSV by concatenating bytes), then removed. What is kept across
municipalities is the set of ΑΦΜ in use (8 bytes each) and the small per-municipality summaries.

Combined truth: the single-municipality files, concatenated in municipality order;
`fault_stats.csv` gains a first column `municipality_code`; `manifest.json` lists the
municipalities (`municipalities`: codes; `municipality_details`: name, template, size factor,
shift, id offset, ΑΜΚΑ partition and counts of each).
"""

from __future__ import annotations

import gc
import json
import resource
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import shapely

from synthetic.config import GeneratorConfig
from synthetic.geography import HERAKLION, MunicipalitySpec
from synthetic.model import Population, Services, World

AMKA_PARTITIONS = 100  # fixed (not N): municipality k uses ΑΜΚΑ serials ≡ k-1 (mod 100)
MAX_MUNICIPALITIES = AMKA_PARTITIONS
ID_STRIDE = 10_000_000  # person_id / household_id of municipality k start at (k-1)·ID_STRIDE + 1
SYNTHETIC_CODE_BASE = 9000  # clone j (= k-1) gets code 9000 + j: outside ELSTAT's 01xx-74xx
LON_STEP = 0.6  # degrees between clones east-west (Heraklion is 0.26° wide)
LAT_STEP = 0.4  # degrees between rows of clones (Heraklion is 0.21° high)
GRID_COLUMNS = 20
SIZE_FACTOR_RANGE = (0.25, 3.0)
NATIONAL_KEY = 0x4E4154  # spawn-key namespace of the national streams ("NAT")
_STAGES = ("spec", "geography", "population", "services", "exports")
PARTS = "_parts"


@dataclass(frozen=True)
class MunicipalityPlan:
    """Who municipality `index` (1-based) of a national run is; depends on (seed, index) only."""

    index: int
    code: str
    name_el: str | None  # None: the template's own name
    name_en: str | None
    is_synthetic: bool
    template_code: str
    size_factor: float
    lon_shift: float
    lat_shift: float
    id_offset: int
    amka_partition: tuple[int, int]


def municipality_streams(seed: int, index: int) -> dict[str, np.random.Generator]:
    """Independent random streams of municipality `index` (1-based), one per stage."""
    ss = np.random.SeedSequence(seed, spawn_key=(NATIONAL_KEY, index))
    children = ss.spawn(len(_STAGES))
    return {name: np.random.default_rng(s) for name, s in zip(_STAGES, children, strict=True)}


def plan_municipality(
    seed: int, index: int, *, template_code: str = "7101", size_sd: float = 0.0
) -> MunicipalityPlan:
    """The plan of municipality `index`: 1 is the template itself, 2.. are synthetic clones."""
    if not 1 <= index <= MAX_MUNICIPALITIES:
        raise ValueError(f"municipality index {index} outside 1..{MAX_MUNICIPALITIES}")
    j = index - 1
    common = {
        "index": index,
        "template_code": template_code,
        "id_offset": j * ID_STRIDE,
        "amka_partition": (j, AMKA_PARTITIONS),
    }
    if j == 0:
        return MunicipalityPlan(
            code=template_code,
            name_el=None,
            name_en=None,
            is_synthetic=False,
            size_factor=1.0,
            lon_shift=0.0,
            lat_shift=0.0,
            **common,
        )
    z = float(municipality_streams(seed, index)["spec"].standard_normal())
    lo, hi = SIZE_FACTOR_RANGE
    factor = round(float(np.clip(np.exp(size_sd * z), lo, hi)), 4) if size_sd > 0 else 1.0
    return MunicipalityPlan(
        code=str(SYNTHETIC_CODE_BASE + j),
        name_el=f"Συνθετικός Δήμος {j:03d}",
        name_en=f"Synthetic Municipality {j:03d}",
        is_synthetic=True,
        size_factor=factor,
        lon_shift=round(LON_STEP * (j % GRID_COLUMNS), 6),
        lat_shift=round(LAT_STEP * (j // GRID_COLUMNS), 6),
        **common,
    )


def _recode(s: pl.Expr, old: str, new: str) -> pl.Expr:
    """Replace the leading municipality code `old` of a code column by `new` (same name)."""
    return s.str.replace(f"^{old}", new)


def _scaled(col: str, factor: float) -> pl.Expr:
    if factor == 1.0:
        return pl.col(col)
    return (pl.col(col).cast(pl.Float64) * factor).round(0).cast(pl.Int64)


def clone_spec(template: MunicipalitySpec, plan: MunicipalityPlan) -> MunicipalitySpec:
    """A synthetic municipality built from `template` as `plan` says (see the module docstring)."""
    from synthetic.geography import _check_spec

    old, new, f = template.code, plan.code, plan.size_factor
    if len(old) != len(new):
        raise ValueError("a clone's code must have as many digits as the template's")
    communities = template.communities.with_columns(
        _recode(pl.col("community_code"), old, new),
        _recode(pl.col("municipal_unit_code"), old, new),
        pl.lit(None, pl.String).alias("kallikratis_code"),
        _scaled("population_2011", f),
        _scaled("population_2001", f),
        _scaled("population_1991", f),
    )
    settlements = template.settlements.with_columns(
        _recode(pl.col("settlement_code"), old, new),
        _recode(pl.col("community_code"), old, new),
        _scaled("population_2011", f),
    )
    neighbourhoods = template.neighbourhoods.with_columns(
        _recode(pl.col("neighbourhood_id"), old, new),
        _recode(pl.col("community_code"), old, new),
        pl.col("seed_lon") + plan.lon_shift,
        pl.col("seed_lat") + plan.lat_shift,
    ).sort("neighbourhood_id")
    main_streets = template.main_streets.with_columns(
        pl.col("neighbourhood_ids")
        .str.split(";")
        .list.eval(_recode(pl.element(), old, new))
        .list.join(";")
    )
    m = dict(template.municipality)
    pop2011 = int(communities["population_2011"].sum())

    def scale(v: Any) -> Any:
        return v if v is None or f == 1.0 else int(round(float(v) * f))

    m.update(
        municipality_code=new,
        kallikratis_code=None,
        municipality_name_el=plan.name_el or f"Συνθετικός Δήμος {new}",
        municipality_name_en=plan.name_en or f"Synthetic Municipality {new}",
        regional_unit_el="Συνθετική Περιφερειακή Ενότητα",
        region_el="Συνθετική Περιφέρεια",
        population_2011=pop2011,
        population_2011_men=scale(m.get("population_2011_men")),
        population_2011_women=scale(m.get("population_2011_women")),
        population_2021=scale(m.get("population_2021")),
        population_2021_men=scale(m.get("population_2021_men")),
        population_2021_women=scale(m.get("population_2021_women")),
        population_2021_status=(
            f"synthetic: municipality {old} × {f:g}, shifted {plan.lon_shift:g}° E "
            f"{plan.lat_shift:g}° N"
        ),
    )
    shift = np.array([plan.lon_shift, plan.lat_shift])
    boundary = shapely.transform(template.boundary, lambda c: c + shift)
    spec = MunicipalitySpec(
        folder=template.folder,
        municipality=m,
        communities=communities,
        settlements=settlements,
        neighbourhoods=neighbourhoods,
        street_names=template.street_names,
        main_streets=main_streets,
        params=template.params,
        boundary=boundary,
    )
    _check_spec(spec)
    return spec


def _add(df: pl.DataFrame, offset: int) -> pl.DataFrame:
    cols = [c for c in ("person_id", "household_id") if c in df.columns]
    return df.with_columns(pl.col(c) + offset for c in cols) if cols and offset else df


def offset_world_ids(world: World, offset: int) -> World:
    """`world` with every person_id and household_id (population and services) + `offset`."""
    if offset == 0:
        return world
    pop = Population(
        households=_add(world.population.households, offset),
        persons=_add(world.population.persons, offset),
    )
    svc = Services(
        **{
            name: _add(getattr(world.services, name), offset)
            for name in Services.__dataclass_fields__
        }
    )
    return replace(world, population=pop, services=svc)


def build_municipality(
    cfg: GeneratorConfig,
    plan: MunicipalityPlan,
    template: MunicipalitySpec,
    afm_in_use: np.ndarray | None = None,
) -> tuple[World, dict[str, float]]:
    """Build municipality `plan.index` of a national run in memory, ids already offset."""
    from synthetic import geography, population, services

    rng = municipality_streams(cfg.seed, plan.index)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    spec = clone_spec(template, plan) if plan.is_synthetic else template
    geo = geography.build_geography(spec, rng["geography"])
    seconds["geography"] = time.perf_counter() - t
    t = time.perf_counter()
    pop = population.build_population(
        geo,
        cfg,
        rng["population"],
        amka_partition=plan.amka_partition,
        afm_exclude=afm_in_use,
    )
    if pop.persons.height >= ID_STRIDE or pop.households.height >= ID_STRIDE:
        raise ValueError(f"municipality {plan.code}: more than {ID_STRIDE} persons")
    seconds["population"] = time.perf_counter() - t
    t = time.perf_counter()
    svc_cfg = cfg
    if plan.size_factor != 1.0:  # volumes and capacities follow the municipality's size
        factor = cfg.scale.population_factor * plan.size_factor
        svc_cfg = replace(cfg, scale=replace(cfg.scale, population_factor=factor))
    svc = services.simulate_services(geo, pop, svc_cfg, rng["services"])
    seconds["services"] = time.perf_counter() - t
    world = World(
        geography=geo, population=pop, services=svc, start=cfg.scale.start, end=cfg.scale.end
    )
    return offset_world_ids(world, plan.id_offset), seconds


def _afm_ints(persons: pl.DataFrame) -> np.ndarray:
    return persons["afm"].drop_nulls().cast(pl.Int64).to_numpy()


def _concat_csv(parts: list[Path], out: Path) -> None:
    """Concatenate CSV files with the same header, keeping the first header only (bytes)."""
    with open(out, "wb") as dst:
        for i, p in enumerate(parts):
            data = p.read_bytes()
            if i:
                data = data[data.index(b"\n") + 1 :] if b"\n" in data else b""
            dst.write(data)


def _concat_parquet(parts: list[Path], out: Path) -> None:
    pl.scan_parquet(parts).sink_parquet(out, statistics=False, row_group_size=256 * 1024)


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


def generate_national(
    cfg: GeneratorConfig,
    out_dir: Path,
    *,
    size_sd: float = 0.0,
    template_dir: Path | None = None,
    overwrite: bool = True,
) -> Any:
    """Write `cfg.scale.municipalities` municipalities into `out_dir` (see the module docstring).

    Returns a `synthetic.generate.GenerateSummary` (totals; `per_municipality` and
    `peak_rss_mb` filled)."""
    from synthetic import exports, geography
    from synthetic.generate import GenerateSummary, write_reference_and_truth

    n = int(cfg.scale.municipalities)
    if not 1 <= n <= MAX_MUNICIPALITIES:
        raise ValueError(f"national mode supports 1..{MAX_MUNICIPALITIES} municipalities, not {n}")
    out_dir = Path(out_dir)
    if out_dir.exists() and overwrite:
        for sub in ("exports", "truth"):
            shutil.rmtree(out_dir / sub, ignore_errors=True)
    truth = out_dir / "truth"
    parts_root = truth / PARTS
    parts_root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    template = geography.load_municipality_spec(template_dir or HERAKLION)

    seconds: dict[str, float] = dict.fromkeys(
        ("geography", "population", "services", "exports", "reference"), 0.0
    )
    afm_in_use = np.empty(0, dtype=np.int64)
    fault_offset = 0
    details: list[dict[str, Any]] = []
    part_dirs: list[Path] = []
    for index in range(1, n + 1):
        tm = time.perf_counter()
        plan = plan_municipality(cfg.seed, index, template_code=template.code, size_sd=size_sd)
        world, secs = build_municipality(cfg, plan, template, afm_in_use)
        geo, pop = world.geography, world.population
        part = parts_root / geo.municipality_code
        part.mkdir(parents=True, exist_ok=True)
        part_dirs.append(part)

        t = time.perf_counter()
        rng = municipality_streams(cfg.seed, index)
        result = exports.write_exports(world, cfg, out_dir, rng["exports"], truth_dir=part)
        faults = result.faults.with_columns(pl.col("fault_id") + fault_offset)
        faults.write_csv(part / "faults.csv")
        result.fault_stats.select(
            pl.lit(geo.municipality_code).alias("municipality_code"), pl.all()
        ).write_csv(part / "fault_stats.csv")
        secs["exports"] = time.perf_counter() - t

        t = time.perf_counter()
        write_reference_and_truth(world, cfg, out_dir, part)
        secs["reference"] = time.perf_counter() - t
        for k, v in secs.items():
            seconds[k] += v

        afm_in_use = np.concatenate([afm_in_use, _afm_ints(pop.persons)])
        fault_offset += faults.height
        b = shapely.bounds(shapely.from_wkt(geo.boundary_wkt))
        details.append(
            {
                **{k: v for k, v in asdict(plan).items() if k not in ("name_el", "name_en")},
                "amka_partition": list(plan.amka_partition),
                "name_el": geo.municipality_name_el,
                "name_en": geo.municipality_name_en,
                "bounds": [round(float(x), 6) for x in b],
                "neighbourhoods": geo.areas.height,
                "residents": pop.persons.height,
                "households": pop.households.height,
                "files": result.files.height,
                "rows": result.records.height,
                "faults": faults.height,
                "export_result": result.summary,
                "_seconds": round(time.perf_counter() - tm, 3),
                "_peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
        del world, geo, pop, result, faults
        gc.collect()

    # one truth for all: concatenate the parts in municipality order
    t = time.perf_counter()
    for name in ("records.parquet", "persons.parquet", "households.parquet"):
        _concat_parquet([p / name for p in part_dirs], truth / name)
    for name in ("faults.csv", "files.csv", "fault_stats.csv", "neighbourhoods.csv"):
        _concat_csv([p / name for p in part_dirs], truth / name)
    shutil.rmtree(parts_root)
    seconds["combine"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0

    totals = {k: sum(int(d[k]) for d in details) for k in ("residents", "files", "rows", "faults")}
    per_municipality = [
        {
            "code": d["code"],
            "residents": d["residents"],
            "seconds": d.pop("_seconds"),
            "peak_rss_mb": d.pop("_peak_rss_mb"),
        }
        for d in details
    ]
    summary = GenerateSummary(
        out_dir=out_dir,
        scale=cfg.scale.name,
        seed=cfg.seed,
        municipalities=[d["code"] for d in details],
        residents=totals["residents"],
        files=totals["files"],
        rows=totals["rows"],
        faults=totals["faults"],
        seconds={k: round(v, 3) for k, v in seconds.items()},
        per_municipality=per_municipality,
        peak_rss_mb=round(peak_rss_mb(), 1),
    )
    manifest = {
        "generator": "geitonia synthetic municipality (national mode)",
        "warning": (
            "Synthetic data. Neighbourhoods inside the city are an illustrative partition. "
            f"Only municipality {template.code} has a real geography; codes "
            f"{SYNTHETIC_CODE_BASE + 1}.. are synthetic clones of it."
        ),
        "scale": asdict(cfg.scale) | {"start": str(cfg.scale.start), "end": str(cfg.scale.end)},
        "seed": cfg.seed,
        "size_sd": size_sd,
        "id_stride": ID_STRIDE,
        "amka_partitions": AMKA_PARTITIONS,
        "municipalities": summary.municipalities,
        "municipality_details": details,
        **totals,
    }
    (truth / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return summary


__all__ = [
    "AMKA_PARTITIONS",
    "GRID_COLUMNS",
    "ID_STRIDE",
    "LAT_STEP",
    "LON_STEP",
    "MAX_MUNICIPALITIES",
    "MunicipalityPlan",
    "SYNTHETIC_CODE_BASE",
    "build_municipality",
    "clone_spec",
    "generate_national",
    "municipality_streams",
    "offset_world_ids",
    "peak_rss_mb",
    "plan_municipality",
]
