"""National mode of the generator: several municipalities, one output folder, one ground truth.

Three (and four) municipalities at the small scale's population factor (one resident in ten),
over the national scale's five years.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
from stdnum.gr import amka as stdnum_amka
from stdnum.gr import vat as stdnum_vat

from synthetic import national
from synthetic.config import SCALES, GeneratorConfig
from synthetic.generate import generate
from synthetic.geography import load_municipality_spec

SEED = 11
SMALL_FACTOR = SCALES["small"].population_factor
REPO = Path(__file__).resolve().parents[2]
HIERARCHY = REPO / "dbt_project" / "seeds" / "reference" / "ref_geography_hierarchy.csv"


def _cfg(n: int) -> GeneratorConfig:
    return GeneratorConfig.for_scale(
        "national", seed=SEED, municipalities=n, population_factor=SMALL_FACTOR
    )


@pytest.fixture(scope="module")
def nat3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("national3")
    generate(_cfg(3), out)
    return out


@pytest.fixture(scope="module")
def nat4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("national4")
    generate(_cfg(4), out)
    return out


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)


def _code_of(col: str) -> pl.Expr:
    return pl.col(col).str.slice(0, 4)


# --- geography ------------------------------------------------------------------------------------


def test_distinct_codes_and_layout(nat3: Path) -> None:
    manifest = json.loads((nat3 / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["municipalities"] == ["7101", "9001", "9002"]
    assert sorted(p.name for p in (nat3 / "exports").iterdir()) == ["7101", "9001", "9002"]
    assert not (nat3 / "truth" / national.PARTS).exists()
    details = {d["code"]: d for d in manifest["municipality_details"]}
    assert details["7101"]["name_en"] == "Municipality of Heraklion"
    assert not details["7101"]["is_synthetic"]
    for code in ("9001", "9002"):
        assert details[code]["is_synthetic"]
        assert "Synthetic" in details[code]["name_en"]
        assert "Συνθετικός" in details[code]["name_el"]
    # no synthetic code is a real ELSTAT code
    real = {r["area_code"] for r in csv.DictReader(HIERARCHY.open(encoding="utf-8"))}
    assert not {"9001", "9002"} & real


def test_each_municipality_has_its_own_geography(nat3: Path) -> None:
    census = {
        r["area_code"]: int(r["pop_2011_resident"])
        for r in csv.DictReader(HIERARCHY.open(encoding="utf-8"))
    }
    shapes: dict[str, shapely.Geometry] = {}
    ids: list[str] = []
    for code in ("7101", "9001", "9002"):
        ref = nat3 / "exports" / code / "reference"
        nb = pl.read_csv(
            ref / "neighbourhoods.csv",
            schema_overrides={"community_code": pl.String, "municipal_unit_code": pl.String},
        )
        assert (nb["municipality_code"].cast(pl.String) == code).all()
        assert nb["neighbourhood_id"].str.starts_with(code).all()
        assert nb["community_code"].str.starts_with(code).all()
        assert nb["municipal_unit_code"].str.starts_with(code).all()
        # same community structure, same size (factor 1.0): Heraklion's census figures
        by_comm = dict(
            nb.group_by(pl.col("community_code").str.slice(4))
            .agg(pl.col("population_2011").sum())
            .iter_rows()
        )
        assert by_comm == {k[4:]: v for k, v in census.items() if len(k) == 8}
        ids += nb["neighbourhood_id"].to_list()
        gj = json.loads((ref / "neighbourhoods.geojson").read_text(encoding="utf-8"))
        polys = [shapely.geometry.shape(f["geometry"]) for f in gj["features"]]
        shapes[code] = shapely.union_all(polys)
        gaz = pl.read_csv(ref / "gazetteer.csv", infer_schema_length=0)
        assert gaz["neighbourhood_id"].str.starts_with(code).all()
    assert len(ids) == len(set(ids))
    codes = list(shapes)
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            assert shapes[a].intersection(shapes[b]).area == 0, (a, b)
    # a clone is Heraklion's shape moved east
    h, c = shapes["7101"], shapes["9001"]
    assert c.area == pytest.approx(h.area, rel=1e-3)
    assert c.centroid.x - h.centroid.x == pytest.approx(national.LON_STEP, abs=1e-4)
    assert c.centroid.y == pytest.approx(h.centroid.y, abs=1e-4)


def test_latent_levels_are_redrawn_per_municipality(nat3: Path) -> None:
    nb = pl.read_csv(nat3 / "truth" / "neighbourhoods.csv", infer_schema_length=10_000)
    nb = nb.with_columns(
        code=pl.col("neighbourhood_id").str.slice(0, 4),
        local=pl.col("neighbourhood_id").str.slice(4),
    )
    wide = nb.pivot(on="code", index="local", values="latent_deprivation")
    assert wide.height == nb.height // 3
    assert not np.allclose(wide["7101"], wide["9001"])
    assert not np.allclose(wide["9001"], wide["9002"])
    # the same priors: the patterns stay alike
    assert np.corrcoef(wide["7101"], wide["9001"])[0, 1] > 0.5


# --- identifiers ----------------------------------------------------------------------------------


def test_identifiers_unique_and_valid_across_municipalities(nat3: Path) -> None:
    persons = pl.read_parquet(nat3 / "truth" / "persons.parquet")
    households = pl.read_parquet(nat3 / "truth" / "households.parquet")
    expected = sum(
        int(np.floor(p * SMALL_FACTOR + 0.5))
        for p in pl.read_csv(nat3 / "truth" / "neighbourhoods.csv")["population_2011"]
    )
    assert persons.height == expected
    assert persons["person_id"].n_unique() == persons.height
    assert households["household_id"].n_unique() == households.height
    assert set(persons["household_id"]) <= set(households["household_id"])
    amka = persons["amka"].drop_nulls().to_list()
    afm = persons["afm"].drop_nulls().to_list()
    assert len(set(amka)) == len(amka)
    assert len(set(afm)) == len(afm)
    assert all(stdnum_amka.is_valid(a) for a in amka)
    assert all(stdnum_vat.is_valid(a) for a in afm)
    # each municipality holds its own block of ids; persons live in their municipality
    muni = persons.select(
        (pl.col("person_id") // national.ID_STRIDE).alias("k"),
        (pl.col("household_id") // national.ID_STRIDE).alias("kh"),
        _code_of("neighbourhood_id").alias("code"),
    )
    assert (muni["k"] == muni["kh"]).all()
    assert dict(muni.select("k", "code").unique().sort("k").iter_rows()) == {
        0: "7101",
        1: "9001",
        2: "9002",
    }


def test_records_point_at_people_of_their_municipality(nat3: Path) -> None:
    records = pl.read_parquet(nat3 / "truth" / "records.parquet")
    persons = pl.read_parquet(nat3 / "truth" / "persons.parquet").select(
        "person_id", "household_id", _code_of("neighbourhood_id").alias("p_code")
    )
    with_people = records.filter(pl.col("person_id").is_not_null()).join(
        persons, on="person_id", how="left"
    )
    assert with_people["p_code"].null_count() == 0
    assert (with_people.select(_code_of("file") == pl.col("p_code")).to_series()).all()
    hh = with_people.filter(pl.col("household_id").is_not_null())
    assert (hh["household_id"] == hh["household_id_right"]).all()


# --- the combined truth ---------------------------------------------------------------------------


def test_combined_truth_references_existing_files(nat3: Path) -> None:
    exports = nat3 / "exports"
    files = _csv(nat3 / "truth" / "files.csv")
    faults = _csv(nat3 / "truth" / "faults.csv")
    records = pl.read_parquet(nat3 / "truth" / "records.parquet", columns=["file"])
    paths = set(files["path"])
    assert files["path"].n_unique() == files.height
    assert set(files["path"].str.slice(0, 4)) == {"7101", "9001", "9002"}
    assert set(records["file"].unique()) <= paths
    assert set(faults["file"].unique()) <= paths
    for path, sha in files.select("path", "sha256").iter_rows():
        assert hashlib.sha256((exports / path).read_bytes()).hexdigest() == sha, path
    on_disk = {
        str(p.relative_to(exports))
        for p in exports.rglob("*")
        if p.is_file() and p.parent.name != "reference"
    }
    assert on_disk == paths
    ids = faults["fault_id"].cast(pl.Int64)
    assert ids.to_list() == list(range(1, faults.height + 1))
    manifest = json.loads((nat3 / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == files.height
    assert manifest["faults"] == faults.height
    assert manifest["rows"] == records.height


def test_fault_rates_hold_per_municipality(nat3: Path) -> None:
    cfg = _cfg(3)
    row_faults = cfg.faults["row_faults"]
    stats = pl.read_csv(
        nat3 / "truth" / "fault_stats.csv", schema_overrides={"municipality_code": pl.String}
    )
    assert set(stats["municipality_code"]) == {"7101", "9001", "9002"}
    for row in stats.iter_rows(named=True):
        spec = row_faults[row["fault"]]
        rate = spec.get("entity_rates", {}).get(row["entity"], spec["rate"])
        assert row["realised"] == int(rate * row["eligible"] + 0.5), row


def test_header_profiles_differ_between_municipalities(nat3: Path) -> None:
    files = _csv(nat3 / "truth" / "files.csv").filter(pl.col("wrong_folder_of").is_null())
    profiles = {
        code: set(
            files.filter(pl.col("path").str.starts_with(code))
            .select(pl.concat_str("source", pl.lit("."), "entity", pl.lit(":"), "header_profile"))
            .to_series()
        )
        for code in ("7101", "9001", "9002")
    }
    assert len({frozenset(v) for v in profiles.values()}) >= 2


# --- independence of N and determinism ------------------------------------------------------------


def test_municipality_k_does_not_depend_on_n(nat3: Path, nat4: Path) -> None:
    for code in ("7101", "9001", "9002"):
        assert _digest(nat3 / "exports" / code) == _digest(nat4 / "exports" / code), code
    assert (nat4 / "exports" / "9003").is_dir()
    # the combined CSVs of N=3 are the first part of those of N=4, byte for byte
    for name in ("faults.csv", "files.csv", "fault_stats.csv", "neighbourhoods.csv"):
        a = (nat3 / "truth" / name).read_bytes()
        b = (nat4 / "truth" / name).read_bytes()
        assert len(b) > len(a) and b.startswith(a), name
    for name in ("records.parquet", "persons.parquet", "households.parquet"):
        a = pl.read_parquet(nat3 / "truth" / name)
        b = pl.read_parquet(nat4 / "truth" / name)
        assert b.height > a.height
        assert b.head(a.height).equals(a), name


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    # (the test above already compares two runs municipality by municipality; this one compares
    # whole trees, combined Parquet files included, on a quick two-municipality year)
    cfg = GeneratorConfig.for_scale("small", seed=SEED, municipalities=2, population_factor=0.03)
    a, b = tmp_path / "a", tmp_path / "b"
    generate(cfg, a)
    generate(cfg, b)
    assert _digest(a) == _digest(b)
    assert sorted(p.name for p in (a / "exports").iterdir()) == ["7101", "9001"]


# --- building blocks ------------------------------------------------------------------------------


def test_clone_spec_recodes_shifts_and_scales() -> None:
    template = load_municipality_spec()
    plan = national.plan_municipality(SEED, 23)  # j = 22: row 1, column 2 of the grid
    assert plan.code == "9022"
    assert plan.lon_shift == pytest.approx(2 * national.LON_STEP)
    assert plan.lat_shift == pytest.approx(national.LAT_STEP)
    half = national.clone_spec(template, replace(plan, size_factor=0.5))
    assert half.code == "9022"
    assert half.communities["community_code"].str.starts_with("9022").all()
    assert half.settlements["settlement_code"].str.starts_with("9022").all()
    assert half.population_2011 == half.communities["population_2011"].sum()
    assert abs(half.population_2011 - template.population_2011 / 2) <= half.communities.height
    dx = half.boundary.centroid.x - template.boundary.centroid.x
    dy = half.boundary.centroid.y - template.boundary.centroid.y
    assert (dx, dy) == (pytest.approx(plan.lon_shift), pytest.approx(plan.lat_shift))
    legs = {i for s in half.main_streets["neighbourhood_ids"] for i in s.split(";")}
    assert legs <= set(half.neighbourhoods["neighbourhood_id"])


def test_size_factors_vary_only_when_asked() -> None:
    same = [national.plan_municipality(SEED, k).size_factor for k in range(1, 30)]
    assert same == [1.0] * 29
    varied = [national.plan_municipality(SEED, k, size_sd=0.5).size_factor for k in range(2, 30)]
    lo, hi = national.SIZE_FACTOR_RANGE
    assert len(set(varied)) > 20 and all(lo <= f <= hi for f in varied)
    assert national.plan_municipality(SEED, 1, size_sd=0.5).size_factor == 1.0
    with pytest.raises(ValueError):
        national.plan_municipality(SEED, national.MAX_MUNICIPALITIES + 1)
