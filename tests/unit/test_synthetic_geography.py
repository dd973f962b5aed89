"""Tests of synthetic.geography: tiling, populations, gazetteer uniqueness, written files."""

from __future__ import annotations

import csv
import json
import time
import unicodedata
from datetime import date

import numpy as np
import polars as pl
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from synthetic.geography import (
    ESP_AGE_BANDS,
    HERAKLION,
    apportion,
    build_geography,
    load_municipality_spec,
    locate_true,
    lookup_address,
    population_by_band,
    validate_gazetteer,
    write_reference,
    write_truth_areas,
)
from synthetic.model import AREAS_SCHEMA, GAZETTEER_SCHEMA, check_schema

SEED = 20260101
CITY = "71010101"

# Published figures (ELSTAT), typed in independently of the data files.
POP_2011_TOTAL = 173_993
POP_2021_TOTAL = 177_064
POP_2011_CITY = 144_422
POP_2011_NEA_ALIKARNASSOS = 13_030


@pytest.fixture(scope="module")
def spec():
    return load_municipality_spec(HERAKLION)


@pytest.fixture(scope="module")
def geo(spec):
    return build_geography(spec, np.random.default_rng(SEED))


@pytest.fixture(scope="module")
def polygons(geo):
    return [shapely.from_wkt(w) for w in geo.areas["geometry_wkt"]]


@pytest.fixture(scope="module")
def boundary():
    with open(HERAKLION / "boundary.geojson", encoding="utf-8") as fh:
        gj = json.load(fh)
    return shape(gj["features"][0]["geometry"])


def _census_communities() -> dict[str, int]:
    with open(HERAKLION / "communities.csv", encoding="utf-8") as fh:
        return {r["community_code"]: int(r["population_2011"]) for r in csv.DictReader(fh)}


# --- data files ------------------------------------------------------------------------------


def test_data_files_are_the_crete_municipality():
    with open(HERAKLION / "municipality.csv", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["municipality_code"] == "7101"
    assert int(row["population_2011"]) == POP_2011_TOTAL
    assert int(row["population_2021"]) == POP_2021_TOTAL
    assert int(row["population_2021_men"]) + int(row["population_2021_women"]) == POP_2021_TOTAL
    census = _census_communities()
    assert len(census) == 21
    assert sum(census.values()) == POP_2011_TOTAL
    assert census[CITY] == POP_2011_CITY
    assert census["71010301"] == POP_2011_NEA_ALIKARNASSOS
    assert all(code.startswith("7101") and len(code) == 8 for code in census)


# --- polygons --------------------------------------------------------------------------------


def test_schemas(geo):
    check_schema(geo.areas, AREAS_SCHEMA, "areas")
    check_schema(geo.gazetteer, GAZETTEER_SCHEMA, "gazetteer")
    assert geo.municipality_code == "7101"


def test_polygons_tile_the_boundary(polygons, boundary):
    assert all(p.is_valid and not p.is_empty for p in polygons)
    union = shapely.union_all(polygons)
    b_area = boundary.area
    assert abs(union.area - b_area) / b_area < 1e-3
    assert shapely.symmetric_difference(union, boundary).area / b_area < 1e-3
    # no overlaps: the areas add up to the union, and every pair intersects in (almost) nothing
    assert abs(sum(p.area for p in polygons) - union.area) / b_area < 1e-6
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            assert polygons[i].intersection(polygons[j]).area < 1e-9 * b_area


def test_city_neighbourhoods_tile_one_contiguous_city(geo, polygons):
    city = [p for p, c in zip(polygons, geo.areas["community_code"], strict=True) if c == CITY]
    assert shapely.union_all(city).geom_type == "Polygon"


def test_every_seed_lies_in_its_own_polygon(spec, geo, polygons):
    seeds = spec.neighbourhoods.sort("neighbourhood_id")
    assert seeds["neighbourhood_id"].to_list() == geo.areas["neighbourhood_id"].to_list()
    for k, (lon, lat) in enumerate(zip(seeds["seed_lon"], seeds["seed_lat"], strict=True)):
        pt = Point(lon, lat)
        inside = [i for i, p in enumerate(polygons) if p.covers(pt)]
        assert inside == [k]


def test_seeds_on_land_inside_boundary(spec, boundary):
    for lon, lat in zip(
        spec.neighbourhoods["seed_lon"], spec.neighbourhoods["seed_lat"], strict=True
    ):
        assert boundary.contains(Point(lon, lat))


def test_centroids_match_polygons(geo, polygons):
    for p, x, y in zip(polygons, geo.areas["centroid_lon"], geo.areas["centroid_lat"], strict=True):
        assert p.centroid.distance(Point(x, y)) < 1e-6


# --- neighbourhoods and populations -------------------------------------------------------


def test_neighbourhood_counts_and_ids(geo):
    a = geo.areas
    city = a.filter(pl.col("community_code") == CITY)
    assert 15 <= city.height <= 25
    assert city["is_illustrative"].all()
    others = a.filter(pl.col("community_code") != CITY)
    assert others.height == 20  # one per other community
    assert not others["is_illustrative"].any()
    assert 35 <= a.height <= 46
    assert a["neighbourhood_id"].n_unique() == a.height
    for nid, code in zip(a["neighbourhood_id"], a["community_code"], strict=True):
        assert nid.startswith(code + "-") and len(nid) == 11 and nid[-2:].isdigit()
    names = set(city["neighbourhood_name_el"])
    assert {"Δειλινά", "Φορτέτσα", "Μασταμπάς"} <= names


def test_populations_add_up_exactly(geo):
    a = geo.areas
    census = _census_communities()
    by_comm = dict(a.group_by("community_code").agg(pl.col("population_2011").sum()).iter_rows())
    assert by_comm == census
    assert a["population_2011"].sum() == POP_2011_TOTAL
    assert a["population_2021"].sum() == POP_2021_TOTAL
    assert (a["population_2011"] > 0).all() and (a["population_2021"] > 0).all()
    # 2021 is proportional to 2011 up to rounding
    ratio = POP_2021_TOTAL / POP_2011_TOTAL
    assert (abs(a["population_2021"] - a["population_2011"] * ratio) < 1).all()


def test_latent_levels(geo):
    a = geo.areas
    for col in ("latent_deprivation", "latent_ageing"):
        x = a[col].to_numpy()
        assert abs(x.mean()) < 1e-9
        assert abs(x.std() - 1) < 1e-9
    by_name = {r["neighbourhood_name_el"]: r for r in a.iter_rows(named=True)}
    med_dep = float(np.median(a["latent_deprivation"]))
    for name in ("Δειλινά", "Φορτέτσα", "Μασταμπάς"):
        assert by_name[name]["latent_deprivation"] > med_dep
    assert by_name["Κέντρο"]["latent_ageing"] > float(np.median(a["latent_ageing"]))
    # Roma: highest at Nea Alikarnassos; a few hundred people there
    roma = a.sort("roma_share", descending=True)
    assert roma["neighbourhood_name_el"][0] == "Νέα Αλικαρνασσός"
    na = by_name["Νέα Αλικαρνασσός"]
    assert 300 < na["roma_share"] * na["population_2021"] < 1200
    assert ((a["roma_share"] >= 0) & (a["roma_share"] < 0.2)).all()
    # migrants: about 7% overall, more where deprivation is higher
    m = a["migrant_share"].to_numpy()
    w = a["population_2021"].to_numpy()
    assert abs((m * w).sum() / w.sum() - 0.07) < 1e-6
    rank_corr = np.corrcoef(
        np.argsort(np.argsort(m)), np.argsort(np.argsort(a["latent_deprivation"]))
    )
    assert rank_corr[0, 1] > 0.95


# --- gazetteer -------------------------------------------------------------------------------


def _expand(gaz: pl.DataFrame) -> pl.DataFrame:
    return gaz.with_columns(
        pl.int_ranges("number_from", pl.col("number_to") + 1).alias("number")
    ).explode("number")


def test_gazetteer_every_address_has_one_neighbourhood(geo):
    houses = _expand(geo.gazetteer)
    per_address = houses.group_by("street_name", "number", "postcode").agg(
        pl.len().alias("segments"), pl.col("neighbourhood_id").n_unique().alias("nbs")
    )
    assert per_address["segments"].max() == 1
    assert per_address["nbs"].max() == 1
    validate_gazetteer(geo.gazetteer, geo.areas)


def test_validate_gazetteer_catches_an_overlap(geo):
    gaz = geo.gazetteer
    seg = gaz.filter(pl.col("neighbourhood_id") == f"{CITY}-07").row(0, named=True)
    clash = pl.DataFrame(
        [
            {
                **seg,
                "street_id": gaz["street_id"].max() + 1,
                "number_from": seg["number_to"],
                "number_to": seg["number_to"] + 4,
                "neighbourhood_id": f"{CITY}-08",
            }
        ],
        schema=GAZETTEER_SCHEMA,
    )
    with pytest.raises(ValueError, match="overlapping"):
        validate_gazetteer(pl.concat([gaz, clash]))


def test_gazetteer_size_and_shape(geo):
    gaz, a = geo.gazetteer, geo.areas
    per_nb = gaz.group_by("neighbourhood_id").len()
    assert per_nb.height == a.height
    assert per_nb["len"].min() >= 3
    assert gaz.height >= 0.9 * POP_2021_TOTAL / 150
    assert (gaz["number_from"] >= 1).all() and (gaz["number_to"] >= gaz["number_from"]).all()
    types = gaz["street_type"].value_counts()
    counts = dict(types.iter_rows())
    assert set(counts) == {"Οδός", "Λεωφόρος", "Πλατεία"}
    assert counts["Οδός"] > 0.8 * gaz.height
    assert 0 < counts["Πλατεία"] < counts["Λεωφόρος"]
    assert gaz["street_name"].n_unique() >= 250


def test_street_names_are_greek_with_accents(geo):
    names = geo.gazetteer["street_name"].unique().to_list()
    accented = 0
    for n in names:
        assert unicodedata.is_normalized("NFC", n)
        assert n == n.strip() and "  " not in n
        letters = [c for c in n if c.isalpha()]
        if not letters:  # a year, e.g. Οδός 1866
            assert n.isdigit() and len(n) == 4
            continue
        assert all("GREEK" in unicodedata.name(c) for c in letters)
        if any("0301" in unicodedata.decomposition(c) for c in n):
            accented += 1
        assert not n.startswith(("Οδός", "Λεωφόρος", "Πλατεία"))
    worded = [n for n in names if not n.isdigit()]
    assert accented / len(worded) > 0.95
    for n in ("Κνωσού", "Ικάρου", "62 Μαρτύρων", "25ης Αυγούστου", "Έβανς", "Καλοκαιρινού"):
        assert n in names


def test_postcodes(geo):
    gaz = geo.gazetteer.join(
        geo.areas.select("neighbourhood_id", "community_code", "municipal_unit_code"),
        on="neighbourhood_id",
    )
    assert gaz["postcode"].str.contains(r"^\d{5}$").all()
    city = gaz.filter(pl.col("community_code") == CITY)
    assert city["postcode"].str.slice(0, 3).is_in(["712", "713", "714"]).all()
    per_nb = city.group_by("neighbourhood_id").agg(pl.col("postcode").n_unique())
    assert per_nb["postcode"].is_between(1, 2).all()
    # villages share one postcode per municipal unit, distinct from the city's
    villages = gaz.filter(pl.col("community_code") != CITY)
    per_unit = villages.group_by("municipal_unit_code").agg(pl.col("postcode").n_unique())
    assert (per_unit["postcode"] == 1).all()
    assert not set(villages["postcode"]) & set(city["postcode"])


def test_street_names_recur_across_villages_with_other_postcodes(geo):
    villages = geo.gazetteer.filter(~pl.col("neighbourhood_id").str.starts_with(CITY))
    recurring = villages.group_by("street_name").agg(
        pl.col("postcode").n_unique().alias("pcs"),
        pl.col("neighbourhood_id").n_unique().alias("nbs"),
    )
    # common village names (Γ. Παπανδρέου, 25ης Μαρτίου, ...) recur in several municipal units
    assert recurring.filter(pl.col("pcs") >= 3).height >= 3
    # within one village postcode an ordinary street name belongs to one village (an avenue,
    # Λεωφόρος Αιγαίου, crosses from Nea Alikarnassos into Kallithea)
    streets = villages.filter(pl.col("street_type") == "Οδός")
    per_pc = streets.group_by("street_name", "postcode").agg(pl.col("neighbourhood_id").n_unique())
    assert per_pc["neighbourhood_id"].max() == 1


def test_long_avenue_crosses_several_neighbourhoods(geo):
    knossou = geo.gazetteer.filter(
        (pl.col("street_name") == "Κνωσού") & (pl.col("street_type") == "Λεωφόρος")
    ).sort("number_from")
    assert knossou["neighbourhood_id"].n_unique() >= 3
    assert (knossou["number_from"].to_numpy()[1:] > knossou["number_to"].to_numpy()[:-1]).all()


def test_settlement_names(geo):
    gaz = geo.gazetteer.join(
        geo.areas.select("neighbourhood_id", "neighbourhood_name_el", "is_illustrative"),
        on="neighbourhood_id",
    )
    city = gaz.filter(pl.col("is_illustrative"))
    assert (city["settlement_name"] == city["neighbourhood_name_el"]).all()
    vas = gaz.filter(pl.col("neighbourhood_name_el") == "Βασιλειές")
    assert "Βασιλειές" in set(vas["settlement_name"])
    # an area name a clerk writes points to one neighbourhood
    per_area = gaz.group_by("settlement_name").agg(pl.col("neighbourhood_id").n_unique())
    assert per_area["neighbourhood_id"].max() == 1


def test_locate_true_and_lookup(geo):
    gaz = geo.gazetteer
    for row in gaz.sample(50, seed=1).iter_rows(named=True):
        mid = (row["number_from"] + row["number_to"]) // 2
        assert locate_true(gaz, row["street_id"], mid) == row["neighbourhood_id"]
        assert (
            lookup_address(gaz, row["street_name"], mid, row["postcode"]) == row["neighbourhood_id"]
        )
    row = gaz.row(0, named=True)
    with pytest.raises(ValueError):
        locate_true(gaz, row["street_id"], row["number_to"] + 1_000_000)
    assert lookup_address(gaz, "Ανύπαρκτης Οδού", 1, "71202") is None


# --- determinism and speed -------------------------------------------------------------------


def test_deterministic_for_a_seed(spec, geo):
    again = build_geography(spec, np.random.default_rng(SEED))
    assert again.areas.equals(geo.areas)
    assert again.gazetteer.equals(geo.gazetteer)
    other = build_geography(spec, np.random.default_rng(SEED + 1))
    assert not np.allclose(other.areas["latent_deprivation"], geo.areas["latent_deprivation"])
    assert other.areas["geometry_wkt"].equals(geo.areas["geometry_wkt"])  # polygons need no draws


def test_build_time_reported(spec, capsys):
    t0 = time.perf_counter()
    build_geography(spec, np.random.default_rng(1))
    elapsed = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\nbuild_geography: {elapsed:.3f} s")


# --- apportionment ---------------------------------------------------------------------------


@given(
    total=st.integers(0, 10**7),
    weights=st.lists(st.floats(0.01, 1000, allow_nan=False), min_size=1, max_size=40),
)
def test_apportion_sums_exactly_and_stays_within_one(total, weights):
    out = apportion(total, weights)
    assert out.dtype == np.int64
    assert int(out.sum()) == total
    quota = total * np.asarray(weights) / np.sum(weights)
    assert (out >= np.floor(quota) - 1e-6).all() and (out <= np.ceil(quota) + 1e-6).all()


def test_apportion_known_values():
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3]
    assert apportion(100, [2, 1]).tolist() == [67, 33]
    with pytest.raises(ValueError):
        apportion(5, [0, 0])


# --- written files ---------------------------------------------------------------------------


def _signed_area(ring: list[list[float]]) -> float:
    xy = np.asarray(ring, dtype=float)
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _persons() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "neighbourhood_id": [
                f"{CITY}-01",
                f"{CITY}-01",
                f"{CITY}-07",
                f"{CITY}-07",
                "71010404-01",
                f"{CITY}-02",
            ],
            "sex": ["F", "M", "F", "F", "M", "M"],
            "birth_date": [
                date(2000, 6, 15),  # 19 on 2020-06-14
                date(2000, 6, 14),  # 20 on 2020-06-14
                date(1925, 1, 1),  # 95
                date(2020, 6, 14),  # 0, born on the day
                date(1960, 3, 1),  # 60, but dead
                date(2021, 1, 1),  # not yet born
            ],
            "death_on": [None, None, None, None, date(2019, 5, 1), None],
        },
        schema_overrides={"death_on": pl.Date},
    )


def test_population_by_band():
    ref = date(2020, 6, 14)
    ids = [f"{CITY}-01", f"{CITY}-02", f"{CITY}-07", "71010404-01"]
    pop = population_by_band(_persons(), ref, ids)
    assert pop.columns == ["neighbourhood_id", "sex", "age_band", "population"]
    assert pop.height == len(ids) * 2 * 19
    assert len(ESP_AGE_BANDS) == 19 and ESP_AGE_BANDS[0] == "0-4" and ESP_AGE_BANDS[-1] == "90+"
    got = {(r[0], r[1], r[2]): r[3] for r in pop.filter(pl.col("population") > 0).iter_rows()}
    assert got == {
        (f"{CITY}-01", "F", "15-19"): 1,
        (f"{CITY}-01", "M", "20-24"): 1,
        (f"{CITY}-07", "F", "90+"): 1,
        (f"{CITY}-07", "F", "0-4"): 1,
    }


def test_write_reference_and_truth(geo, tmp_path):
    folder = tmp_path / "7101" / "reference"
    written = write_reference(geo, _persons(), date(2020, 6, 14), folder)
    assert {p.name for p in written} == {
        "neighbourhoods.csv",
        "neighbourhoods.geojson",
        "gazetteer.csv",
        "population.csv",
    }
    assert all(p.parent == folder for p in written)

    nb = pl.read_csv(folder / "neighbourhoods.csv", schema_overrides={"community_code": pl.String})
    assert not [c for c in nb.columns if c.startswith("latent") or c.endswith("_share")]
    assert {
        "neighbourhood_id",
        "neighbourhood_name_el",
        "community_code",
        "population_2011",
        "population_2021",
        "is_illustrative",
    } <= set(nb.columns)
    assert nb["population_2011"].sum() == POP_2011_TOTAL

    gaz = pl.read_csv(folder / "gazetteer.csv", schema_overrides=GAZETTEER_SCHEMA)
    assert gaz.sort("street_id").equals(geo.gazetteer.sort("street_id"))

    pop = pl.read_csv(folder / "population.csv")
    assert pop.height == geo.areas.height * 2 * 19
    assert pop["population"].sum() == 4

    text = (folder / "neighbourhoods.geojson").read_text(encoding="utf-8")
    gj = json.loads(text)
    assert gj["type"] == "FeatureCollection"
    assert [f["properties"]["neighbourhood_id"] for f in gj["features"]] == geo.areas[
        "neighbourhood_id"
    ].to_list()
    for f in gj["features"]:
        assert f["id"] == f["properties"]["neighbourhood_id"]
        assert f["properties"]["neighbourhood_name_el"]
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for rings in polys:
            assert _signed_area(rings[0]) < 0  # outer ring clockwise
            assert not bool(shapely.is_ccw(shapely.LinearRing(rings[0])))
            for hole in rings[1:]:
                assert _signed_area(hole) > 0
            for ring in rings:
                assert ring[0] == ring[-1]
                for x, y in ring:
                    assert round(x, 6) == x and round(y, 6) == y
        # the written polygon is the neighbourhood's polygon
        written_geom = shape(g)
        truth = shapely.from_wkt(
            geo.areas.filter(pl.col("neighbourhood_id") == f["id"])["geometry_wkt"][0]
        )
        assert written_geom.symmetric_difference(truth).area < 1e-3 * truth.area

    path = write_truth_areas(geo, tmp_path / "truth")
    assert path == tmp_path / "truth" / "neighbourhoods.csv"
    truth = pl.read_csv(path)
    assert set(truth.columns) == set(AREAS_SCHEMA) - {"geometry_wkt"}


def test_write_reference_without_persons(geo, tmp_path):
    written = write_reference(geo, None, date(2020, 1, 1), tmp_path)
    assert "population.csv" not in {p.name for p in written}
