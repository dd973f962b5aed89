"""The synthetic municipality's geography: neighbourhood polygons, populations, latent levels and a
street gazetteer.

A municipality is described by one folder of plain files (see ``synthetic/data/heraklion`` and its
``SOURCES.md``):

- ``municipality.csv``   one row: ELSTAT code, names, census 2011 and provisional 2021 population
- ``communities.csv``    ELSTAT 2011 communities with their census populations
- ``settlements.csv``    census settlements (the names a clerk writes under "Περιοχή")
- ``neighbourhoods.csv`` neighbourhoods with seed points, size weights and latent priors
- ``boundary.geojson``   the municipality boundary (WGS84)
- ``street_names.csv``   street-name pools (``city``, ``village``, ``village_square``)
- ``main_streets.csv``   avenues, long streets and squares with the neighbourhoods they cross
- ``parameters.yaml``    the remaining tunable numbers

``build_geography`` turns such a folder into a :class:`synthetic.model.Geography`; ``write_reference``
and ``write_truth_areas`` write what a municipality supplies and what only the evaluation sees.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import shapely
import yaml

from synthetic.model import AREAS_SCHEMA, GAZETTEER_SCHEMA, Geography, check_schema

HERAKLION = Path(__file__).parent / "data" / "heraklion"

STREET_TYPES = ("Οδός", "Λεωφόρος", "Πλατεία")

# The 19 age bands of the 2013 European Standard Population.
ESP_AGE_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)

_CODE = pl.String
_NEIGHBOURHOOD_COLUMNS: dict[str, pl.DataType] = {
    "neighbourhood_id": pl.String,
    "community_code": _CODE,
    "neighbourhood_name_el": pl.String,
    "neighbourhood_name_en": pl.String,
    "seed_lon": pl.Float64,
    "seed_lat": pl.Float64,
    "weight": pl.Float64,
    "deprivation_prior": pl.Float64,
    "ageing_prior": pl.Float64,
    "roma_share": pl.Float64,
    "postcodes": pl.String,
    "is_illustrative": pl.Boolean,
}
_COMMUNITY_COLUMNS: dict[str, pl.DataType] = {
    "community_code": _CODE,
    "community_name_el": pl.String,
    "municipal_unit_code": _CODE,
    "municipal_unit_name_el": pl.String,
    "kallikratis_code": pl.String,
    "population_2011": pl.Int64,
    "population_2001": pl.Int64,
    "population_1991": pl.Int64,
}
_SETTLEMENT_COLUMNS: dict[str, pl.DataType] = {
    "settlement_code": _CODE,
    "community_code": _CODE,
    "settlement_name_census": pl.String,
    "settlement_name": pl.String,
    "population_2011": pl.Int64,
}
_MAIN_STREET_COLUMNS: dict[str, pl.DataType] = {
    "street_name": pl.String,
    "street_type": pl.String,
    "neighbourhood_ids": pl.String,
    "segments_per_leg": pl.Int64,
}


@dataclass(frozen=True, eq=False)
class MunicipalitySpec:
    """Everything needed to build one municipality's geography, read from one folder."""

    folder: Path
    municipality: dict[str, Any]  # the single row of municipality.csv
    communities: pl.DataFrame
    settlements: pl.DataFrame
    neighbourhoods: pl.DataFrame
    street_names: pl.DataFrame  # street_name, pool, weight (how common the name is)
    main_streets: pl.DataFrame
    params: dict[str, Any]
    boundary: shapely.Geometry  # WGS84 (multi)polygon

    @property
    def code(self) -> str:
        return str(self.municipality["municipality_code"])

    @property
    def population_2011(self) -> int:
        return int(self.municipality["population_2011"])

    @property
    def population_2021(self) -> int:
        return int(self.municipality["population_2021"])


# --- loading --------------------------------------------------------------------------------


def _read_csv(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    df = pl.read_csv(path, schema_overrides=schema, encoding="utf8")
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}")
    return df.select(list(schema))


def load_municipality_spec(folder: Path = HERAKLION) -> MunicipalitySpec:
    """Read and cross-check a municipality folder (see the module docstring for its files)."""
    folder = Path(folder)
    mun_df = pl.read_csv(
        folder / "municipality.csv",
        schema_overrides={"municipality_code": pl.String, "kallikratis_code": pl.String},
    )
    if mun_df.height != 1:
        raise ValueError("municipality.csv must have exactly one row")
    municipality = mun_df.row(0, named=True)
    communities = _read_csv(folder / "communities.csv", _COMMUNITY_COLUMNS)
    settlements = _read_csv(folder / "settlements.csv", _SETTLEMENT_COLUMNS)
    neighbourhoods = _read_csv(folder / "neighbourhoods.csv", _NEIGHBOURHOOD_COLUMNS).sort(
        "neighbourhood_id"
    )
    street_names = _read_csv(
        folder / "street_names.csv",
        {"street_name": pl.String, "pool": pl.String, "weight": pl.Float64},
    )
    main_streets = _read_csv(folder / "main_streets.csv", _MAIN_STREET_COLUMNS)
    with open(folder / "parameters.yaml", encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    with open(folder / "boundary.geojson", encoding="utf-8") as fh:
        gj = json.load(fh)
    feats = gj["features"] if gj.get("type") == "FeatureCollection" else [gj]
    boundary = shapely.union_all([shapely.from_geojson(json.dumps(f["geometry"])) for f in feats])
    if not boundary.is_valid:
        boundary = shapely.make_valid(boundary)

    spec = MunicipalitySpec(
        folder=folder,
        municipality=municipality,
        communities=communities,
        settlements=settlements,
        neighbourhoods=neighbourhoods,
        street_names=street_names,
        main_streets=main_streets,
        params=params,
        boundary=boundary,
    )
    _check_spec(spec)
    return spec


def _check_spec(spec: MunicipalitySpec) -> None:
    nb, com = spec.neighbourhoods, spec.communities
    code = spec.code
    if com["population_2011"].sum() != spec.population_2011:
        raise ValueError("communities' 2011 populations do not add up to the municipality's")
    if not com["community_code"].str.starts_with(code).all():
        raise ValueError("a community code does not start with the municipality code")
    ids = nb["neighbourhood_id"]
    if ids.n_unique() != nb.height:
        raise ValueError("duplicate neighbourhood_id")
    expected_prefix = nb["community_code"] + "-"
    if not (
        (ids.str.slice(0, 9) == expected_prefix).all() and ids.str.contains(r"^\d{8}-\d{2}$").all()
    ):
        raise ValueError("neighbourhood_id must be '<community_code>-NN'")
    missing = set(com["community_code"]) - set(nb["community_code"])
    unknown = set(nb["community_code"]) - set(com["community_code"])
    if missing or unknown:
        raise ValueError(f"communities without neighbourhoods {missing}, unknown {unknown}")
    if (nb["weight"] <= 0).any():
        raise ValueError("neighbourhood weights must be positive")
    if not nb["postcodes"].str.contains(r"^\d{5}(;\d{5})*$").all():
        raise ValueError("postcodes must be 5-digit codes separated by ';'")
    pts = shapely.points(nb["seed_lon"].to_numpy(), nb["seed_lat"].to_numpy())
    outside = nb.filter(~pl.Series(shapely.contains(spec.boundary, pts)))
    if outside.height:
        raise ValueError(
            f"seed points outside the boundary: {outside['neighbourhood_id'].to_list()}"
        )
    if len({(p.x, p.y) for p in pts}) != len(pts):
        raise ValueError("duplicate seed points")
    bad_types = set(spec.main_streets["street_type"]) - set(STREET_TYPES)
    if bad_types:
        raise ValueError(f"unknown street types {bad_types}")
    legs = {i for s in spec.main_streets["neighbourhood_ids"] for i in s.split(";")}
    if legs - set(ids):
        raise ValueError(f"main_streets name unknown neighbourhoods {legs - set(ids)}")


# --- helpers ---------------------------------------------------------------------------------


def apportion(total: int, weights: np.ndarray | list[float]) -> np.ndarray:
    """Split the integer `total` in proportion to `weights` by largest remainder (Hamilton).

    The result is int64, non-negative and sums exactly to `total`; ties go to the earlier index.
    """
    w = np.asarray(weights, dtype=np.float64)
    if total < 0 or w.ndim != 1 or len(w) == 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError("apportion needs total >= 0 and non-negative weights with a positive sum")
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = int(total - base.sum())
    order = np.lexsort((np.arange(len(w)), -(quota - base)))
    base[order[:rest]] += 1
    return base


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def tessellate(
    boundary: shapely.Geometry, lon: np.ndarray, lat: np.ndarray
) -> list[shapely.Geometry]:
    """Voronoi cells of the seed points clipped to `boundary`, in the order of the seeds.

    Computed on a locally equidistant plane (longitude scaled by cos(latitude)), so that cells
    follow ground distance; the scaling is linear, so the cells map back exactly. Parts of a
    clipped cell cut off from its seed (e.g. slices of a breakwater) are given to the cell they
    share the longest border with, so that every neighbourhood is one piece where possible. The
    cells tile the boundary without gaps or overlaps.
    """
    k = math.cos(math.radians(boundary.centroid.y))
    scale = np.array([k, 1.0])
    bp = shapely.transform(boundary, lambda c: c * scale)
    pts = shapely.points(np.column_stack([np.asarray(lon) * k, np.asarray(lat)]))
    vor = shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=shapely.envelope(bp).buffer(1.0), ordered=True
    )
    raw = list(shapely.get_parts(vor))
    # match cells to seeds explicitly (do not rely on the ordering alone)
    cells: list[shapely.Geometry] = [None] * len(pts)  # type: ignore[list-item]
    for cell in raw:
        hit = np.flatnonzero(shapely.intersects(cell, pts))
        if len(hit) != 1:
            raise ValueError("Voronoi cell does not contain exactly one seed")
        cells[int(hit[0])] = shapely.intersection(cell, bp)
    if any(c is None for c in cells):
        raise ValueError("a seed has no Voronoi cell")
    cells = _absorb_stray_parts(cells, pts)
    return [shapely.transform(c, lambda c: c / scale) for c in cells]


def _absorb_stray_parts(cells: list[shapely.Geometry], pts: np.ndarray) -> list[shapely.Geometry]:
    for _ in range(10):
        moved = False
        for i, cell in enumerate(cells):
            parts = list(shapely.get_parts(cell))
            if len(parts) < 2:
                continue
            keep = [p for p in parts if shapely.intersects(p, pts[i])]
            stray = [p for p in parts if not shapely.intersects(p, pts[i])]
            for part in stray:
                shared = np.array(
                    [
                        0.0
                        if j == i
                        else shapely.length(shapely.intersection(part.boundary, cells[j].boundary))
                        for j in range(len(cells))
                    ]
                )
                if shared.max() <= 0:
                    keep.append(part)  # an island: leave it where it is
                    continue
                j = int(shared.argmax())
                cells[j] = shapely.union(cells[j], part)
                moved = True
            cells[i] = shapely.union_all(keep)
        if not moved:
            break
    return cells


# --- building ----------------------------------------------------------------------------------


def build_geography(spec: MunicipalitySpec, rng: np.random.Generator) -> Geography:
    """Neighbourhood polygons, populations, latent levels and street gazetteer of `spec`."""
    nb = spec.neighbourhoods.join(spec.communities, on="community_code", how="left").sort(
        "neighbourhood_id"
    )
    n = nb.height
    params = spec.params

    # polygons
    polys = tessellate(spec.boundary, nb["seed_lon"].to_numpy(), nb["seed_lat"].to_numpy())
    polys = [shapely.set_precision(p, 1e-7) for p in polys]
    centroids = shapely.centroid(polys)

    # populations: 2011 = census per community split by weight; 2021 = 2011 shares scaled to the
    # municipality's provisional 2021 total (an estimate)
    pop2011 = np.zeros(n, dtype=np.int64)
    comm = nb["community_code"].to_numpy()
    weights = nb["weight"].to_numpy()
    census = dict(
        zip(spec.communities["community_code"], spec.communities["population_2011"], strict=True)
    )
    for code in dict.fromkeys(comm):
        idx = np.flatnonzero(comm == code)
        pop2011[idx] = apportion(int(census[code]), weights[idx])
    pop2021 = apportion(spec.population_2021, pop2011)

    # latent levels
    sd = float(params.get("latent_noise_sd", 0.25))
    dep = _standardise(nb["deprivation_prior"].to_numpy() + rng.normal(0.0, sd, n))
    age = _standardise(nb["ageing_prior"].to_numpy() + rng.normal(0.0, sd, n))
    migrant = _migrant_share(
        dep,
        pop2021,
        mean=float(params.get("migrant_share_mean", 0.07)),
        slope=float(params.get("migrant_deprivation_slope", 0.5)),
        cap=float(params.get("migrant_share_max", 0.35)),
    )

    areas = pl.DataFrame(
        {
            "neighbourhood_id": nb["neighbourhood_id"],
            "neighbourhood_name_el": nb["neighbourhood_name_el"],
            "neighbourhood_name_en": nb["neighbourhood_name_en"],
            "community_code": nb["community_code"],
            "community_name_el": nb["community_name_el"],
            "municipal_unit_code": nb["municipal_unit_code"],
            "municipal_unit_name_el": nb["municipal_unit_name_el"],
            "municipality_code": [spec.code] * n,
            "is_illustrative": nb["is_illustrative"],
            "population_2011": pop2011,
            "population_2021": pop2021,
            "latent_deprivation": dep,
            "latent_ageing": age,
            "roma_share": nb["roma_share"].cast(pl.Float64),
            "migrant_share": migrant,
            "centroid_lon": shapely.get_x(centroids),
            "centroid_lat": shapely.get_y(centroids),
            "geometry_wkt": shapely.to_wkt(polys, rounding_precision=7),
        },
        schema=AREAS_SCHEMA,
    )
    check_schema(areas, AREAS_SCHEMA, "areas")

    gazetteer = build_gazetteer(spec, areas, polys, rng)
    validate_gazetteer(gazetteer, areas)

    b = shapely.set_precision(spec.boundary, 1e-7)
    return Geography(
        municipality_code=spec.code,
        municipality_name_el=str(spec.municipality["municipality_name_el"]),
        municipality_name_en=str(spec.municipality["municipality_name_en"]),
        areas=areas,
        gazetteer=gazetteer,
        boundary_wkt=shapely.to_wkt(b, rounding_precision=7),
    )


def _migrant_share(
    dep: np.ndarray, pop: np.ndarray, *, mean: float, slope: float, cap: float
) -> np.ndarray:
    """Shares proportional to exp(slope·deprivation), capped, with population-weighted `mean`."""
    raw = np.exp(slope * dep)
    w = pop / pop.sum()
    share = raw * mean / (w @ raw)
    for _ in range(50):  # re-scale the uncapped ones until the weighted mean is met
        share = np.minimum(share, cap)
        free = share < cap
        gap = mean - w @ share
        if abs(gap) < 1e-12 or not free.any():
            break
        share[free] *= 1 + gap / (w[free] @ share[free])
    return share


# --- gazetteer ---------------------------------------------------------------------------------


@dataclass
class _Nb:
    id: str
    community: str
    name: str
    illustrative: bool
    postcodes: list[str]
    population: int
    settlements: list[str]
    settlement_weights: np.ndarray
    quota: int
    count: int = 0


def build_gazetteer(
    spec: MunicipalitySpec,
    areas: pl.DataFrame,
    polygons: list[shapely.Geometry],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Street segments with number ranges and postcodes, each in exactly one neighbourhood.

    Invariant (see `validate_gazetteer`): within one (street_name, postcode) the number ranges
    never overlap, so every (street_name, number, postcode) maps to at most one segment and so to
    one neighbourhood. City streets keep one name across the city (a street may cross into an
    adjacent neighbourhood, its numbers continuing); village street names recur across villages
    with different postcodes.
    """
    p = spec.params
    rps = float(p.get("residents_per_segment", 150))
    min_seg = int(p.get("min_segments_per_neighbourhood", 3))
    town = int(p.get("town_population", 5000))
    min_settlement = int(p.get("min_settlement_population", 30))
    p_continue = float(p.get("continue_probability", 0.3))

    spec_nb = spec.neighbourhoods.sort("neighbourhood_id")
    pops = areas.select(
        "neighbourhood_id", pl.max_horizontal("population_2011", "population_2021").alias("pop")
    )
    pop_of = dict(zip(pops["neighbourhood_id"], pops["pop"], strict=True))
    per_community = spec_nb.group_by("community_code").len()
    multi = set(per_community.filter(pl.col("len") > 1)["community_code"])

    nbs: dict[str, _Nb] = {}
    for row in spec_nb.iter_rows(named=True):
        code = row["community_code"]
        if row["is_illustrative"] or code in multi:
            names, sw = [row["neighbourhood_name_el"]], np.array([1.0])
        else:
            st = spec.settlements.filter(
                (pl.col("community_code") == code) & (pl.col("population_2011") >= min_settlement)
            ).sort("population_2011", descending=True)
            if st.height == 0:
                names, sw = [row["neighbourhood_name_el"]], np.array([1.0])
            else:
                names = st["settlement_name"].to_list()
                sw = st["population_2011"].to_numpy().astype(float)
                sw = sw / sw.sum()
        pop = int(pop_of[row["neighbourhood_id"]])
        nbs[row["neighbourhood_id"]] = _Nb(
            id=row["neighbourhood_id"],
            community=code,
            name=row["neighbourhood_name_el"],
            illustrative=bool(row["is_illustrative"]),
            postcodes=row["postcodes"].split(";"),
            population=pop,
            settlements=names,
            settlement_weights=sw,
            quota=max(min_seg, round(pop / rps)),
        )

    # postcodes whose street names must be distinct from those of a neighbourhood
    community_postcodes: dict[str, set[str]] = defaultdict(set)
    for nbh in nbs.values():
        community_postcodes[nbh.community].update(nbh.postcodes)

    def name_group(nbh: _Nb) -> tuple[str, ...]:
        pcs = community_postcodes[nbh.community] if nbh.community in multi else nbh.postcodes
        return tuple(sorted(pcs))

    # adjacency of neighbourhoods within multi-neighbourhood communities (for continuing streets)
    ids = list(nbs)
    poly_of = dict(zip(areas["neighbourhood_id"], polygons, strict=True))
    adjacent: dict[str, list[str]] = defaultdict(list)
    for a_i, a in enumerate(ids):
        for b in ids[a_i + 1 :]:
            if nbs[a].community != nbs[b].community or nbs[a].community not in multi:
                continue
            if shapely.length(shapely.intersection(poly_of[a].boundary, poly_of[b].boundary)) > 0:
                adjacent[a].append(b)
                adjacent[b].append(a)

    rows: list[tuple[str, str, int, int, str, str, str]] = []
    last_no: dict[tuple[str, str], int] = defaultdict(int)
    used: dict[str, set[str]] = defaultdict(set)

    def add(
        name: str, stype: str, nbh: _Nb, pc: str, length: int, settlement: str, after: int
    ) -> int:
        start = max(after, last_no[(name, pc)]) + 1
        end = start + int(length) - 1
        rows.append((name, stype, start, end, pc, settlement, nbh.id))
        last_no[(name, pc)] = end
        used[pc].add(name)
        nbh.count += 1
        return end

    def pick_settlement(nbh: _Nb) -> str:
        if len(nbh.settlements) == 1:
            return nbh.settlements[0]
        return nbh.settlements[int(rng.choice(len(nbh.settlements), p=nbh.settlement_weights))]

    # 1. avenues, long streets and squares named in main_streets.csv
    for ms in spec.main_streets.iter_rows(named=True):
        name, stype, k = ms["street_name"], ms["street_type"], int(ms["segments_per_leg"])
        lo, hi = {"Λεωφόρος": (40, 121), "Οδός": (20, 61), "Πλατεία": (8, 31)}[stype]
        cursor = 0
        for nid in ms["neighbourhood_ids"].split(";"):
            nbh = nbs[nid]
            for s in range(k):
                pc = nbh.postcodes[s * len(nbh.postcodes) // k]
                cursor = add(name, stype, nbh, pc, rng.integers(lo, hi), nbh.settlements[0], cursor)

    # 2. fill every neighbourhood up to its quota
    pools: dict[str, tuple[list[str], np.ndarray]] = {}
    for pool in ("city", "village", "village_square"):
        df = spec.street_names.filter(pl.col("pool") == pool)
        if df.height == 0:
            df = spec.street_names.filter(pl.col("pool") == "city")
        w = df["weight"].fill_null(1.0).to_numpy()
        pools[pool] = (df["street_name"].to_list(), w / w.sum())
    queues: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def next_name(pool: str, group: tuple[str, ...]) -> str:
        names, w = pools[pool]
        key = (pool, group)
        if key not in queues:  # a weighted random order: common names tend to come first
            order = rng.choice(len(names), size=len(names), replace=False, p=w)
            queues[key] = [names[i] for i in order[::-1]]  # popped from the end
        q = queues[key]
        while q:
            cand = q.pop()
            if not any(cand in used[pc] for pc in group):
                return cand
        # pool exhausted: reuse a name; its numbers continue after the ones already used
        return names[int(rng.integers(len(names)))]

    for nbh in nbs.values():
        group = name_group(nbh)
        city_like = nbh.community in multi or nbh.population >= town
        pool = "city" if city_like else "village"
        if not city_like and nbh.count < nbh.quota and rng.random() < 0.6:
            name = next_name("village_square", group)
            add(name, "Πλατεία", nbh, nbh.postcodes[0], rng.integers(6, 25), nbh.settlements[0], 0)
        while nbh.count < nbh.quota:
            name = next_name(pool, group)
            pc = nbh.postcodes[int(rng.integers(len(nbh.postcodes)))]
            settlement = pick_settlement(nbh)
            lam, lo, hi = (2.0, 10, 51) if city_like else (0.8, 6, 31)
            k = min(1 + int(rng.poisson(lam)), nbh.quota - nbh.count)
            cursor = 0
            for _ in range(k):
                cursor = add(name, "Οδός", nbh, pc, rng.integers(lo, hi), settlement, cursor)
            if nbh.community in multi and rng.random() < p_continue:
                open_nbs = [nbs[m] for m in adjacent[nbh.id] if nbs[m].count < nbs[m].quota]
                if open_nbs:
                    other = max(open_nbs, key=lambda o: (o.quota - o.count, o.id))
                    pc2 = other.postcodes[int(rng.integers(len(other.postcodes)))]
                    k2 = min(1 + int(rng.integers(2)), other.quota - other.count)
                    for _ in range(k2):
                        cursor = add(
                            name, "Οδός", other, pc2, rng.integers(lo, hi), other.name, cursor
                        )

    gaz = pl.DataFrame(
        rows,
        schema=[
            ("street_name", pl.String),
            ("street_type", pl.String),
            ("number_from", pl.Int64),
            ("number_to", pl.Int64),
            ("postcode", pl.String),
            ("settlement_name", pl.String),
            ("neighbourhood_id", pl.String),
        ],
        orient="row",
    ).sort("neighbourhood_id", "street_name", "postcode", "number_from")
    gaz = gaz.with_columns(pl.int_range(1, gaz.height + 1, dtype=pl.Int64).alias("street_id"))
    gaz = gaz.select(list(GAZETTEER_SCHEMA))
    check_schema(gaz, GAZETTEER_SCHEMA, "gazetteer")
    return gaz


def gazetteer_overlaps(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """Segments whose number range overlaps an earlier one of the same (street_name, postcode)."""
    return (
        gazetteer.sort("street_name", "postcode", "number_from", "number_to")
        .with_columns(
            pl.col("number_to")
            .cum_max()
            .shift(1)
            .over(["street_name", "postcode"])
            .alias("_prev_to")
        )
        .filter(pl.col("_prev_to").is_not_null() & (pl.col("number_from") <= pl.col("_prev_to")))
        .drop("_prev_to")
    )


def validate_gazetteer(gazetteer: pl.DataFrame, areas: pl.DataFrame | None = None) -> None:
    """Raise ValueError unless every (street_name, number, postcode) maps to one neighbourhood.

    Checks the schema, unique street_id, 1 <= number_from <= number_to, 5-digit postcodes, known
    street types, non-overlapping number ranges within each (street_name, postcode), and, with
    `areas`, that every segment names a known neighbourhood and every neighbourhood has one.
    """
    check_schema(gazetteer, GAZETTEER_SCHEMA, "gazetteer")
    problems: list[str] = []
    if gazetteer["street_id"].n_unique() != gazetteer.height:
        problems.append("street_id not unique")
    if gazetteer.null_count().sum_horizontal().item() > 0:
        problems.append("null values")
    if ((gazetteer["number_from"] < 1) | (gazetteer["number_to"] < gazetteer["number_from"])).any():
        problems.append("bad number range")
    if not gazetteer["postcode"].str.contains(r"^\d{5}$").all():
        problems.append("postcode not 5 digits")
    if not gazetteer["street_type"].is_in(list(STREET_TYPES)).all():
        problems.append("unknown street_type")
    overlaps = gazetteer_overlaps(gazetteer)
    if overlaps.height:
        problems.append(f"{overlaps.height} overlapping number ranges, e.g. {overlaps.row(0)}")
    if areas is not None:
        known = set(areas["neighbourhood_id"])
        got = set(gazetteer["neighbourhood_id"])
        if got - known:
            problems.append(f"unknown neighbourhoods {sorted(got - known)[:5]}")
        if known - got:
            problems.append(f"neighbourhoods without streets {sorted(known - got)[:5]}")
    if problems:
        raise ValueError("gazetteer: " + "; ".join(problems))


def locate_true(gazetteer: pl.DataFrame, street_id: int, number: int) -> str:
    """The neighbourhood of house `number` on segment `street_id` (raises if out of range)."""
    seg = gazetteer.filter(pl.col("street_id") == street_id)
    if seg.height != 1:
        raise KeyError(f"unknown street_id {street_id}")
    row = seg.row(0, named=True)
    lo, hi, nid = row["number_from"], row["number_to"], row["neighbourhood_id"]
    if not lo <= number <= hi:
        raise ValueError(f"number {number} outside segment {street_id} ({lo}-{hi})")
    return str(nid)


def lookup_address(
    gazetteer: pl.DataFrame, street_name: str, number: int, postcode: str
) -> str | None:
    """The neighbourhood of an exact canonical address, or None when the gazetteer has none."""
    hit = gazetteer.filter(
        (pl.col("street_name") == street_name)
        & (pl.col("postcode") == postcode)
        & (pl.col("number_from") <= number)
        & (pl.col("number_to") >= number)
    )
    if hit.height > 1:  # cannot happen for a valid gazetteer
        raise ValueError(f"ambiguous address {street_name} {number} {postcode}")
    return None if hit.height == 0 else str(hit["neighbourhood_id"][0])


# --- writing -----------------------------------------------------------------------------------


def residents_at(
    persons: pl.DataFrame, ref_date: date, neighbourhood_ids: list[str] | pl.Series | None = None
) -> pl.DataFrame:
    """The persons living at `ref_date`: born on or before it and, if `persons` has death_on,
    not dead on or before it. Everyone else counts, the homeless included (they are residents
    of their neighbourhood). With `neighbourhood_ids`, a living person in a neighbourhood not
    listed is an error."""
    p = persons.filter(pl.col("birth_date") <= ref_date)
    if "death_on" in p.columns:
        p = p.filter(pl.col("death_on").is_null() | (pl.col("death_on") > ref_date))
    if neighbourhood_ids is not None:
        unknown = set(p["neighbourhood_id"].unique().drop_nulls()) - set(neighbourhood_ids)
        if unknown:
            raise ValueError(f"persons in unknown neighbourhoods: {sorted(unknown)[:5]}")
    return p


def households_by_neighbourhood(
    persons: pl.DataFrame, ref_date: date, neighbourhood_ids: list[str] | pl.Series
) -> pl.DataFrame:
    """Households at `ref_date` per neighbourhood (columns neighbourhood_id, households; every
    id of `neighbourhood_ids` in that order, zeros included).

    A household counts in a neighbourhood when at least one of its members living at
    `ref_date` (`residents_at`, as for `population_by_band`) is resident there. `persons`
    needs household_id, neighbourhood_id and birth_date (death_on optional). Homeless persons
    count as population_by_band counts them: each is a one-person household of the
    neighbourhood they are recorded in (the social grocery takes their applications too).
    Persons without a household_id or neighbourhood_id are not counted."""
    ids = list(neighbourhood_ids)
    p = residents_at(persons, ref_date, ids).drop_nulls(["household_id", "neighbourhood_id"])
    counts = p.group_by("neighbourhood_id").agg(
        pl.col("household_id").n_unique().alias("households")
    )
    grid = pl.DataFrame({"neighbourhood_id": ids}, schema={"neighbourhood_id": pl.String})
    out = grid.join(counts, on="neighbourhood_id", how="left", maintain_order="left")
    return out.select(
        "neighbourhood_id", pl.col("households").fill_null(0).cast(pl.Int64).alias("households")
    )


def population_by_band(
    persons: pl.DataFrame, ref_date: date, neighbourhood_ids: list[str] | pl.Series
) -> pl.DataFrame:
    """Residents at `ref_date` by neighbourhood × sex × ESP-2013 age band, zeros included.

    `persons` needs neighbourhood_id, sex (M/F) and birth_date; if it has death_on, people who
    died on or before `ref_date` are left out, as are people born after it (`residents_at`).
    """
    ids = list(neighbourhood_ids)
    p = residents_at(persons, ref_date, ids)
    bd = pl.col("birth_date")
    age = (ref_date.year - bd.dt.year()).cast(pl.Int32) - (
        (bd.dt.month().cast(pl.Int32) * 100 + bd.dt.day().cast(pl.Int32))
        > (ref_date.month * 100 + ref_date.day)
    ).cast(pl.Int32)
    band_idx = pl.min_horizontal(age // 5, pl.lit(len(ESP_AGE_BANDS) - 1))
    labels = pl.Series("age_band", ESP_AGE_BANDS, dtype=pl.String)
    counts = (
        p.select("neighbourhood_id", "sex", band_idx.alias("_b"))
        .group_by("neighbourhood_id", "sex", "_b")
        .len()
        .with_columns(
            pl.col("_b")
            .replace_strict(dict(enumerate(ESP_AGE_BANDS)), return_dtype=pl.String)
            .alias("age_band")
        )
        .drop("_b")
    )
    grid = (
        pl.DataFrame({"neighbourhood_id": ids}, schema={"neighbourhood_id": pl.String})
        .join(pl.DataFrame({"sex": ["M", "F"]}), how="cross")
        .join(pl.DataFrame({"age_band": labels}), how="cross")
    )
    out = grid.join(counts, on=["neighbourhood_id", "sex", "age_band"], how="left")
    return out.select(
        "neighbourhood_id",
        "sex",
        "age_band",
        pl.col("len").fill_null(0).cast(pl.Int64).alias("population"),
    )


def _ring(coords: Any) -> list[list[float]]:
    return [[round(float(x), 6), round(float(y), 6)] for x, y in np.asarray(coords)[:, :2]]


def geojson_geometry(geom: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON geometry with outer rings clockwise and holes counter-clockwise (as Plotly's
    d3-geo expects), coordinates on a 1e-6 degree grid."""
    g = shapely.set_precision(geom, 1e-6)
    g = shapely.orient_polygons(g, exterior_cw=True)
    polys = [
        [_ring(p.exterior.coords)] + [_ring(r.coords) for r in p.interiors]
        for p in shapely.get_parts(g)
        if p.geom_type == "Polygon" and not p.is_empty
    ]
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def neighbourhoods_geojson(areas: pl.DataFrame) -> dict[str, Any]:
    features = []
    for row in areas.iter_rows(named=True):
        features.append(
            {
                "type": "Feature",
                "id": row["neighbourhood_id"],
                "properties": {
                    "neighbourhood_id": row["neighbourhood_id"],
                    "neighbourhood_name_el": row["neighbourhood_name_el"],
                    "neighbourhood_name_en": row["neighbourhood_name_en"],
                    "community_code": row["community_code"],
                    "municipal_unit_code": row["municipal_unit_code"],
                    "is_illustrative": row["is_illustrative"],
                },
                "geometry": geojson_geometry(shapely.from_wkt(row["geometry_wkt"])),
            }
        )
    return {"type": "FeatureCollection", "features": features}


REFERENCE_NEIGHBOURHOOD_COLUMNS = [
    "neighbourhood_id",
    "neighbourhood_name_el",
    "neighbourhood_name_en",
    "community_code",
    "community_name_el",
    "municipal_unit_code",
    "municipal_unit_name_el",
    "municipality_code",
    "is_illustrative",
    "population_2011",
    "population_2021",
    "population_2011_source",
    "population_2021_source",
    "centroid_lon",
    "centroid_lat",
]


def write_reference(
    geo: Geography, persons: pl.DataFrame | None, ref_date: date, out_dir: Path
) -> list[Path]:
    """Write what a municipality supplies once into `out_dir` (the landing layout puts it in
    <landing>/<municipality_code>/reference/): neighbourhoods.csv (no latent levels),
    neighbourhoods.geojson, gazetteer.csv and, when `persons` is given, population.csv
    (residents at `ref_date` by neighbourhood × sex × ESP age band) and, when `persons` also
    has household_id, households.csv (households at `ref_date` per neighbourhood,
    `households_by_neighbourhood`)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    nb = geo.areas.with_columns(
        pl.when(pl.col("is_illustrative"))
        .then(
            pl.lit(
                "ELSTAT census 2011 community resident population, split by illustrative weights"
            )
        )
        .otherwise(pl.lit("ELSTAT census 2011 resident population"))
        .alias("population_2011_source"),
        pl.lit(
            "estimate: 2011 shares scaled to the ELSTAT provisional 2021 municipal population"
        ).alias("population_2021_source"),
    ).select(REFERENCE_NEIGHBOURHOOD_COLUMNS)
    path = folder / "neighbourhoods.csv"
    nb.write_csv(path)
    written.append(path)

    path = folder / "neighbourhoods.geojson"
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(neighbourhoods_geojson(geo.areas), fh, ensure_ascii=False, separators=(",", ":"))
    written.append(path)

    path = folder / "gazetteer.csv"
    geo.gazetteer.sort("street_id").write_csv(path)
    written.append(path)

    if persons is not None:
        path = folder / "population.csv"
        population_by_band(persons, ref_date, geo.areas["neighbourhood_id"]).write_csv(path)
        written.append(path)
        if "household_id" in persons.columns:
            path = folder / "households.csv"
            households_by_neighbourhood(persons, ref_date, geo.areas["neighbourhood_id"]).write_csv(
                path
            )
            written.append(path)
    return written


def write_truth_areas(geo: Geography, out_dir: Path) -> Path:
    """Write neighbourhoods.csv into the truth folder `out_dir`: every AREAS_SCHEMA column
    except the geometry (latent levels included: for evaluation only)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "neighbourhoods.csv"
    geo.areas.drop("geometry_wkt").write_csv(path)
    return path


__all__ = [
    "ESP_AGE_BANDS",
    "HERAKLION",
    "MunicipalitySpec",
    "apportion",
    "build_gazetteer",
    "build_geography",
    "gazetteer_overlaps",
    "geojson_geometry",
    "households_by_neighbourhood",
    "load_municipality_spec",
    "locate_true",
    "lookup_address",
    "neighbourhoods_geojson",
    "population_by_band",
    "residents_at",
    "tessellate",
    "validate_gazetteer",
    "write_reference",
    "write_truth_areas",
]
