"""People and households of the synthetic municipality, built on a small fake Geography.

The fake geography follows AREAS_SCHEMA / GAZETTEER_SCHEMA (synthetic/model.py) so these tests do
not depend on synthetic/geography.py. Expected values are worked out here from the published
figures (calibration notes) and the age table, not read back from the generator.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr
from stdnum.gr import amka as std_amka
from stdnum.gr import vat as std_vat

from synthetic.config import SCALES, GeneratorConfig, Scale, load_yaml
from synthetic.model import (
    AREAS_SCHEMA,
    GAZETTEER_SCHEMA,
    HOUSEHOLDS_SCHEMA,
    PERSONS_SCHEMA,
    Geography,
    Population,
    check_schema,
)
from synthetic.population import DATA_DIR, build_population

START, END = date(2019, 1, 1), date(2023, 12, 31)
BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]


def make_fake_geography(total: int = 174_000, n_nb: int = 24, seed: int = 7) -> Geography:
    """A municipality of `n_nb` neighbourhoods with standardised latent levels and 6 street
    segments each (numbers 1..240, one postcode per neighbourhood)."""
    rng = np.random.default_rng(seed)
    dep = rng.standard_normal(n_nb)
    dep = (dep - dep.mean()) / dep.std()
    ageing = 0.3 * dep + rng.standard_normal(n_nb)
    ageing = (ageing - ageing.mean()) / ageing.std()
    w = rng.gamma(4.0, 1.0, n_nb)
    pop = np.floor(w / w.sum() * total).astype(np.int64)
    pop[0] += total - pop.sum()
    roma = np.where(np.arange(n_nb) == 3, 0.15, 0.002)
    migrant = np.clip(0.08 + 0.04 * dep, 0.01, 0.4)
    ids = [f"71010101-{i + 1:02d}" for i in range(n_nb)]
    areas = pl.DataFrame(
        {
            "neighbourhood_id": ids,
            "neighbourhood_name_el": [f"Γειτονιά {i + 1}" for i in range(n_nb)],
            "neighbourhood_name_en": [f"Neighbourhood {i + 1}" for i in range(n_nb)],
            "community_code": "71010101",
            "community_name_el": "Δημοτική Κοινότητα Ηρακλείου",
            "municipal_unit_code": "710101",
            "municipal_unit_name_el": "Δημοτική Ενότητα Ηρακλείου",
            "municipality_code": "7101",
            "is_illustrative": True,
            "population_2011": pop,
            "population_2021": pop,
            "latent_deprivation": dep,
            "latent_ageing": ageing,
            "roma_share": roma,
            "migrant_share": migrant,
            "centroid_lon": 25.13,
            "centroid_lat": 35.33,
            "geometry_wkt": "POLYGON ((25.1 35.3, 25.2 35.3, 25.2 35.4, 25.1 35.3))",
        },
        schema=AREAS_SCHEMA,
    )
    rows = []
    sid = 1
    for i, nid in enumerate(ids):
        for j in range(6):
            lo = 1 + 40 * j
            rows.append((sid, f"Οδός {i}-{j}", "Οδός", lo, lo + 39, f"71{i:03d}", "Ηράκλειο", nid))
            sid += 1
    gaz = pl.DataFrame(rows, schema=GAZETTEER_SCHEMA, orient="row")
    return Geography("7101", "Δήμος Ηρακλείου", "Municipality of Heraklion", areas, gaz, "")


def make_cfg(factor: float, seed: int = 1) -> GeneratorConfig:
    scale = Scale("test", factor, START, END)
    return GeneratorConfig(seed=seed, scale=scale, rates=load_yaml("rates"), faults={}, headers={})


@pytest.fixture(scope="module")
def geo() -> Geography:
    return make_fake_geography()


@pytest.fixture(scope="module")
def built(geo: Geography) -> tuple[Population, GeneratorConfig]:
    cfg = make_cfg(0.3)
    return build_population(geo, cfg, np.random.default_rng(12345)), cfg


def _with_age(persons: pl.DataFrame, on: date = START) -> pl.DataFrame:
    bd = pl.col("birth_date")
    age = (on.year - bd.dt.year().cast(pl.Int32)) - (
        (bd.dt.month().cast(pl.Int32) * 100 + bd.dt.day().cast(pl.Int32))
        > (on.month * 100 + on.day)
    ).cast(pl.Int32)
    return persons.with_columns(age.alias("age"))


# --- structure -----------------------------------------------------------------------------------


def test_schemas(built: tuple[Population, GeneratorConfig]) -> None:
    pop, _ = built
    check_schema(pop.households, HOUSEHOLDS_SCHEMA, "households")
    check_schema(pop.persons, PERSONS_SCHEMA, "persons")
    assert pop.persons["person_id"].is_unique().all()
    assert pop.households["household_id"].is_unique().all()


def test_counts_per_neighbourhood_exact(
    geo: Geography, built: tuple[Population, GeneratorConfig]
) -> None:
    pop, cfg = built
    expected = {
        nid: int(np.floor(p * cfg.scale.population_factor + 0.5))
        for nid, p in zip(geo.areas["neighbourhood_id"], geo.areas["population_2011"], strict=True)
    }
    got = dict(pop.persons.group_by("neighbourhood_id").len().iter_rows())
    assert got == expected


def test_households_consistent_with_members(built: tuple[Population, GeneratorConfig]) -> None:
    pop, _ = built
    p = _with_age(pop.persons)
    agg = p.group_by("household_id").agg(
        pl.len().alias("n"),
        (pl.col("age") < 18).sum().alias("n_minors"),
        (pl.col("disability_pct") > 0).sum().alias("n_disabled"),
        pl.col("neighbourhood_id").n_unique().alias("n_nb"),
        pl.col("neighbourhood_id").first().alias("nb"),
    )
    h = pop.households.join(agg, on="household_id", how="left")
    assert h["n"].null_count() == 0
    assert (h["size"] == h["n"]).all()
    assert (h["minors"] == h["n_minors"]).all()
    assert (h["disabled_members"] == h["n_disabled"]).all()
    assert (h["n_nb"] == 1).all() and (h["neighbourhood_id"] == h["nb"]).all()
    # a single-parent family has minors; a large family has 3+ children (so 4+ members)
    assert (h.filter("is_single_parent")["minors"] >= 1).all()
    assert (h.filter("is_large_family")["size"] >= 4).all()
    # lives alone ⇔ one-person household with a home
    hs = p.join(pop.households.select("household_id", "size"), on="household_id")
    expect_alone = (hs["size"] == 1) & ~hs["is_homeless"]
    assert (hs["lives_alone"] == expect_alone).all()


def test_household_sizes_like_census(built: tuple[Population, GeneratorConfig]) -> None:
    """Greece 2011: 25.7% of households had one member, 29.5% two (ELSTAT, as reported)."""
    h = built[0].households
    one = (h["size"] == 1).mean()
    two = (h["size"] == 2).mean()
    assert abs(one - 0.257) < 0.04
    assert abs(two - 0.295) < 0.04
    assert 2.3 < h["size"].mean() < 2.9


def test_addresses_from_gazetteer(
    geo: Geography, built: tuple[Population, GeneratorConfig]
) -> None:
    h = built[0].households
    homeless_ids = built[0].persons.filter("is_homeless")["household_id"]
    housed = h.filter(~pl.col("household_id").is_in(homeless_ids.implode()))
    assert housed["street_id"].null_count() == 0
    j = housed.join(geo.gazetteer, on="street_id", how="left", suffix="_g")
    assert (j["neighbourhood_id"] == j["neighbourhood_id_g"]).all()
    assert (j["postcode"] == j["postcode_g"]).all()
    assert ((j["street_number"] >= j["number_from"]) & (j["street_number"] <= j["number_to"])).all()
    assert set(h["street_number_suffix"].unique()) <= {"", "Α", "Β"}
    assert 0.005 < (housed["street_number_suffix"] != "").mean() < 0.1


def test_homeless(built: tuple[Population, GeneratorConfig]) -> None:
    pop, cfg = built
    p = pop.persons
    hl = p.filter("is_homeless")
    # 119 counted in Heraklion (173,993 residents), 2018 → expected here, Poisson-ish spread
    expected = 119 / 173_993 * p.height
    assert abs(hl.height - expected) < 4 * np.sqrt(expected) + 2
    hh = pop.households.filter(pl.col("household_id").is_in(hl["household_id"].implode()))
    assert (hh["size"] == 1).all()
    assert hh["street_id"].null_count() == hh.height
    assert (hl["amka"].null_count() / hl.height) > 0.4  # most have no ΑΜΚΑ on record
    assert (pop.households.filter(pl.col("street_id").is_null()).height) == hl.height


# --- ages ----------------------------------------------------------------------------------------


def test_age_structure_close_to_table(built: tuple[Population, GeneratorConfig]) -> None:
    table = pl.read_csv(DATA_DIR / "age_structure.csv")
    assert table.height == 38 and set(table["age_band"]) == set(BANDS)
    # the stand-in is rescaled to Heraklion's 2011 census residents by sex (ELSTAT)
    by_sex = dict(table.group_by("sex").agg(pl.col("persons").sum()).iter_rows())
    assert by_sex == {"M": 85_133, "F": 88_860}
    want = table.with_columns((pl.col("persons") / pl.col("persons").sum()).alias("want"))
    p = _with_age(built[0].persons)
    band = pl.when(pl.col("age") >= 90).then(pl.lit("90+"))
    band = band.otherwise(
        (pl.col("age") // 5 * 5).cast(pl.String)
        + "-"
        + (pl.col("age") // 5 * 5 + 4).cast(pl.String)
    )
    got = p.group_by(band.alias("age_band"), "sex").len()
    got = got.with_columns((pl.col("len") / pl.col("len").sum()).alias("got"))
    j = want.join(got, on=["age_band", "sex"], how="left").fill_null(0)
    tvd = 0.5 * float((j["want"] - j["got"]).abs().sum())
    assert tvd < 0.05, tvd
    assert p["age"].min() >= 0 and p["age"].max() <= 110


def test_roles_plausible(built: tuple[Population, GeneratorConfig]) -> None:
    p = _with_age(built[0].persons)
    # every household has an adult
    adults = p.group_by("household_id").agg((pl.col("age") >= 18).any().alias("has_adult"))
    assert adults["has_adult"].all()
    # one-person households with a home are adults
    alone = p.filter("lives_alone")
    assert (alone["age"] >= 18).all()


# --- attributes ----------------------------------------------------------------------------------


def test_poverty_share_and_gradient(
    geo: Geography, built: tuple[Population, GeneratorConfig]
) -> None:
    pop, _ = built
    p = pop.persons.join(pop.households.select("household_id", "is_poor"), on="household_id")
    assert abs(p["is_poor"].mean() - 0.185) < 0.01  # AROPE Crete 2023: 18.5%
    by_nb = p.group_by("neighbourhood_id").agg(pl.col("is_poor").mean().alias("poor"))
    j = geo.areas.join(by_nb, on="neighbourhood_id")
    rho = spearmanr(j["latent_deprivation"], j["poor"]).statistic
    assert rho > 0.5, rho
    # Roma and single-parent households are poorer than the rest
    ph = p.join(pop.households.select("household_id", "is_single_parent"), on="household_id")
    assert (
        ph.filter("is_roma")["is_poor"].mean() > 2 * ph.filter(~pl.col("is_roma"))["is_poor"].mean()
    )
    assert (
        ph.filter("is_single_parent")["is_poor"].mean()
        > ph.filter(~pl.col("is_single_parent"))["is_poor"].mean()
    )


def test_income_below_poverty_line_iff_poor(built: tuple[Population, GeneratorConfig]) -> None:
    # OECD-modified scale: 1 + 0.5 per other member aged 14+ + 0.3 per child under 14; the
    # published lines are €6,030 (one person) and €12,663 (2 adults + 2 children), 2023
    assert round(6030 * (1 + 0.5 + 0.3 + 0.3)) == 12663
    pop, _ = built
    p = _with_age(pop.persons)
    eq = p.group_by("household_id").agg(
        (pl.col("age") >= 14).sum().alias("n14"), (pl.col("age") < 14).sum().alias("n_child")
    )
    h = pop.households.join(eq, on="household_id")
    line = 6030 * (1 + 0.5 * (h["n14"] - 1) + 0.3 * h["n_child"])
    below = h["annual_income_eur"] < line
    assert (below == h["is_poor"]).all()
    assert (h["annual_income_eur"] >= 0).all()
    med = h.filter(~pl.col("is_poor"))["annual_income_eur"].median()
    assert 10_000 < med < 40_000


def test_employment(built: tuple[Population, GeneratorConfig]) -> None:
    p = _with_age(built[0].persons)
    kids = p.filter(pl.col("age") < 18)
    assert kids["employment_status"].null_count() == kids.height
    assert kids["education"].null_count() == kids.height
    adults = p.filter(pl.col("age") >= 18)
    assert adults["employment_status"].null_count() == 0
    assert adults["education"].null_count() == 0
    codes = {"employed", "unemployed", "long_term_unemployed", "inactive", "retired"}
    assert set(adults["employment_status"].unique()) <= codes
    edu = {"none", "primary", "lower_secondary", "upper_secondary", "tertiary"}
    assert set(adults["education"].unique()) <= edu
    lf = adults.filter(pl.col("employment_status").is_in(["employed", "unemployed",
                                                          "long_term_unemployed"]))  # fmt: skip
    unemp = lf["employment_status"].is_in(["unemployed", "long_term_unemployed"])
    assert 0.16 <= unemp.mean() <= 0.20  # Crete LFS 16.5%-19.9%
    ltu = (lf.filter(unemp)["employment_status"] == "long_term_unemployed").mean()
    assert abs(ltu - 0.59) < 0.05  # 58.7-59.9% of the unemployed
    old = adults.filter(pl.col("age") >= 65)
    assert (old["employment_status"] == "retired").mean() > 0.75


def test_disability_and_care_need(
    geo: Geography, built: tuple[Population, GeneratorConfig]
) -> None:
    p = _with_age(built[0].persons)
    d = p["disability_pct"]
    assert ((d == 0) | ((d >= 50) & (d <= 100))).all()
    young = p.filter(pl.col("age").is_between(18, 44))
    old = p.filter(pl.col("age") >= 75)
    assert (old["disability_pct"] > 0).mean() > 3 * (young["disability_pct"] > 0).mean()
    care = p.filter("care_need")
    assert (care["age"] >= 65).mean() > 0.8
    share65 = p.filter(pl.col("age") >= 65)["care_need"].mean()
    assert 0.08 < share65 < 0.16
    by_nb = p.group_by("neighbourhood_id").agg(pl.col("care_need").mean().alias("care"))
    j = geo.areas.join(by_nb, on="neighbourhood_id")
    rho = spearmanr(j["latent_ageing"], j["care"]).statistic
    assert rho > 0.3, rho


def test_deaths(built: tuple[Population, GeneratorConfig]) -> None:
    p = _with_age(built[0].persons)
    dead = p.filter(pl.col("death_on").is_not_null())
    assert ((dead["death_on"] >= START) & (dead["death_on"] <= END)).all()
    assert (dead["death_on"] >= dead["birth_date"]).all()
    rate_old = p.filter(pl.col("age") >= 80)["death_on"].is_not_null().mean()
    rate_young = p.filter(pl.col("age").is_between(20, 59))["death_on"].is_not_null().mean()
    assert rate_old > 10 * rate_young
    # crude death rate of a Greek population: roughly 8-14 per 1,000 a year
    per_year = dead.height / p.height / 5 * 1000
    assert 6 < per_year < 16, per_year


def test_citizenship(geo: Geography, built: tuple[Population, GeneratorConfig]) -> None:
    p = built[0].persons
    assert (p["is_migrant"] == (p["citizenship"] != "GR")).all()
    grp = {"greek", "eu", "non_eu", "stateless_unknown"}
    assert set(p["citizenship_group"].unique()) <= grp
    assert (p.filter(pl.col("citizenship") == "GR")["citizenship_group"] == "greek").all()
    assert (p.filter(pl.col("citizenship") == "BG")["citizenship_group"] == "eu").all()
    assert (p.filter(pl.col("citizenship") == "AL")["citizenship_group"] == "non_eu").all()
    by_nb = p.group_by("neighbourhood_id").agg(
        pl.col("is_migrant").mean().alias("mig"), pl.col("is_roma").mean().alias("roma")
    )
    j = geo.areas.join(by_nb, on="neighbourhood_id")
    assert (j["mig"] - j["migrant_share"]).abs().max() < 0.05
    assert abs(j["mig"].mean() - j["migrant_share"].mean()) < 0.015
    roma_nb = j.filter(pl.col("roma_share") > 0.1)
    assert roma_nb["roma"].min() > 0.08
    # Roma are Greek citizens here; 68% of non-EU permit holders in Iraklio are Albanian
    assert (p.filter("is_roma")["citizenship"] == "GR").all()
    non_eu_hh = p.filter(pl.col("citizenship_group") == "non_eu").unique("household_id")
    al = (non_eu_hh["citizenship"] == "AL").mean()
    assert abs(al - 0.68) < 0.07, al
    assert 0 < p["is_refugee"].sum() < 0.02 * p.height
    assert (~p.filter("is_refugee")["citizenship"].is_in(["GR"])).all()


def test_identifiers(built: tuple[Population, GeneratorConfig]) -> None:
    p = _with_age(built[0].persons)
    amka = p.filter(pl.col("amka").is_not_null())
    assert amka["amka"].is_unique().all()
    assert 0.003 < p["amka"].is_null().mean() < 0.05
    for a, bd, sex in amka.select("amka", "birth_date", "sex").iter_rows():
        assert std_amka.is_valid(a)
        assert std_amka.get_gender(a) == sex
        got = std_amka.get_birth_date(a)
        assert (got.day, got.month, got.year % 100) == (bd.day, bd.month, bd.year % 100)
    assert amka["amka"].str.starts_with("0").mean() > 0.2  # birth days 01-09
    # migrants without social security and the homeless lack ΑΜΚΑ more often
    assert p.filter(pl.col("citizenship_group") == "non_eu")["amka"].is_null().mean() > 3 * (
        p.filter(pl.col("citizenship_group") == "greek")["amka"].is_null().mean()
    )
    afm = p.filter(pl.col("afm").is_not_null())
    assert (afm["age"] >= 18).all()
    assert afm["afm"].is_unique().all()
    assert all(std_vat.is_valid(v) for v in afm["afm"])
    assert 0.03 < afm["afm"].str.starts_with("0").mean() < 0.08
    assert p.filter(pl.col("age") >= 18)["afm"].is_null().mean() < 0.15
    phones = p["phone"].drop_nulls()
    assert phones.str.contains(r"^(69\d{8}|2810\d{6})$").all()
    adults = p.filter(pl.col("age") >= 18)
    assert adults["phone"].is_null().mean() < 0.1
    # a mobile belongs to one person; a landline to one household
    mob = p.filter(pl.col("phone").str.starts_with("69") & (pl.col("age") >= 18))
    assert mob.group_by("phone").agg(pl.col("household_id").n_unique().alias("h"))["h"].max() == 1


def test_names(built: tuple[Population, GeneratorConfig]) -> None:
    p = _with_age(built[0].persons)
    sur = pl.read_csv(DATA_DIR / "names" / "surnames.csv")
    first = pl.read_csv(DATA_DIR / "names" / "first_names.csv")
    masc, fem = set(sur["masculine"]), set(sur["feminine"])
    men, women = p.filter(pl.col("sex") == "M"), p.filter(pl.col("sex") == "F")
    assert set(men["surname"]) <= masc
    assert set(women["surname"]) <= fem
    # the gendered forms of Greek surnames: no woman is "…άκης" or "…όπουλος"
    assert not women["surname"].str.contains("(άκης|όπουλος)$").any()
    assert not men["surname"].str.contains("(οπούλου)$").any()
    female_first = set(first.filter(pl.col("sex") == "F")["name"])
    male_first = set(first.filter(pl.col("sex") == "M")["name"])
    assert set(women["first_name"]) <= female_first
    assert set(men["first_name"]) <= male_first
    assert set(p["father_name"]) <= male_first
    for col in ("surname", "first_name", "father_name"):
        s = p[col]
        assert s.null_count() == 0
        sample = s.unique().to_list()
        assert all(unicodedata.normalize("NFC", x) == x for x in sample)
        assert all(x[0].isupper() and not x.isupper() for x in sample if len(x) > 2)
    # Greek households: Cretan -άκης names are common
    greek = p.filter((pl.col("citizenship") == "GR") & ~pl.col("is_roma"))
    assert greek["surname"].str.contains("άκης?$").mean() > 0.3
    # migrants carry names of their group: few Albanians called Παπαδάκης
    al = p.filter(pl.col("citizenship") == "AL")
    assert (
        al["surname"].is_in(sur.filter(pl.col("group") == "albanian")["masculine"].implode()).all()
    )
    # children of couples carry their father's first name as father_name and his surname line
    hh_first = p.sort("person_id").group_by("household_id", maintain_order=True).first()
    kids = p.filter(pl.col("age") < 10).join(
        hh_first.select(
            "household_id",
            pl.col("first_name").alias("head_first"),
            pl.col("sex").alias("head_sex"),
        ),  # fmt: skip
        on="household_id",
    )
    with_father = kids.filter(pl.col("head_sex") == "M")
    assert (with_father["father_name"] == with_father["head_first"]).mean() > 0.95


def test_deterministic(geo: Geography) -> None:
    cfg = make_cfg(0.05)
    a = build_population(geo, cfg, np.random.default_rng(99))
    b = build_population(geo, cfg, np.random.default_rng(99))
    c = build_population(geo, cfg, np.random.default_rng(100))
    assert a.persons.equals(b.persons) and a.households.equals(b.households)
    assert not a.persons.equals(c.persons)


def test_small_scale_and_rounding(geo: Geography) -> None:
    cfg = GeneratorConfig(scale=SCALES["tiny"], rates=load_yaml("rates"), faults={}, headers={})
    pop = build_population(geo, cfg, np.random.default_rng(3))
    want = np.floor(geo.areas["population_2011"].to_numpy() * 0.03 + 0.5).astype(int)
    assert pop.persons.height == int(want.sum())
    check_schema(pop.persons, PERSONS_SCHEMA, "persons")


def test_missing_gazetteer_is_an_error(geo: Geography) -> None:
    nid = geo.areas["neighbourhood_id"][0]
    broken = Geography(
        geo.municipality_code,
        geo.municipality_name_el,
        geo.municipality_name_en,
        geo.areas,
        geo.gazetteer.filter(pl.col("neighbourhood_id") != nid),
        geo.boundary_wkt,
    )
    with pytest.raises(ValueError, match="gazetteer"):
        build_population(broken, make_cfg(0.05), np.random.default_rng(1))


def test_speed_at_full_scale(capsys: pytest.CaptureFixture[str]) -> None:
    """Heraklion's 173,993 residents (factor 1): report the time, never fail on it."""
    geo_full = make_fake_geography(total=173_993, n_nb=60, seed=3)
    cfg = GeneratorConfig(
        scale=SCALES["municipal"], rates=load_yaml("rates"), faults={}, headers={}
    )
    t0 = time.perf_counter()
    pop = build_population(geo_full, cfg, np.random.default_rng(2026))
    secs = time.perf_counter() - t0
    with capsys.disabled():
        print(
            f"\n[population] {pop.persons.height:,} persons, {pop.households.height:,} households"
            f" built in {secs:.2f} s"
        )
    assert pop.persons.height == 173_993
