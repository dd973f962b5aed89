"""Service use of the synthetic municipality (synthetic/services.py).

The tests run on a small fake geography and population built here (following AREAS_SCHEMA,
HOUSEHOLDS_SCHEMA and PERSONS_SCHEMA), whose people's attributes are drawn independently of the
neighbourhoods' latent levels: any link between a neighbourhood's latent level and its service
use must therefore come from the service model itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from synthetic.config import GeneratorConfig, Scale
from synthetic.model import (
    AREAS_SCHEMA,
    GAZETTEER_SCHEMA,
    HOUSEHOLDS_SCHEMA,
    PERSONS_SCHEMA,
    SERVICE_SCHEMAS,
    Geography,
    Population,
    check_schema,
)
from synthetic.services import (
    REFERRAL_BODIES,
    STRUCTURES,
    capacities,
    load_rates,
    simulate_services,
)
from synthetic.services_common import greek_holidays, orthodox_easter
from synthetic.services_sg import household_points

CITY = "71010101"
WORLD_FACTOR = 0.5


def fake_geography(n_neigh: int, rng: np.random.Generator, n_villages: int = 4) -> Geography:
    """Neighbourhoods of one city community plus a few village communities."""
    dep = rng.normal(size=n_neigh)
    age = rng.normal(size=n_neigh)
    dep = (dep - dep.mean()) / dep.std()
    age = age - age.mean()
    age = age - (age @ dep) / (dep @ dep) * dep  # uncorrelated with deprivation
    age = age / age.std()
    ids, comm, pop11 = [], [], []
    for i in range(n_neigh):
        if i < n_neigh - n_villages:
            ids.append(f"{CITY}-{i + 1:02d}")
            comm.append(CITY)
            pop11.append(5000)
        else:
            c = f"710102{i:02d}"
            ids.append(f"{c}-01")
            comm.append(c)
            pop11.append(800)
    areas = pl.DataFrame(
        {
            "neighbourhood_id": ids,
            "neighbourhood_name_el": [f"Γειτονιά {i}" for i in range(n_neigh)],
            "neighbourhood_name_en": [f"Neighbourhood {i}" for i in range(n_neigh)],
            "community_code": comm,
            "community_name_el": ["Κοινότητα"] * n_neigh,
            "municipal_unit_code": [c[:6] for c in comm],
            "municipal_unit_name_el": ["Ενότητα"] * n_neigh,
            "municipality_code": ["7101"] * n_neigh,
            "is_illustrative": [c == CITY for c in comm],
            "population_2011": pop11,
            "population_2021": pop11,
            "latent_deprivation": dep,
            "latent_ageing": age,
            "roma_share": [0.01] * n_neigh,
            "migrant_share": [0.06] * n_neigh,
            "centroid_lon": [25.13] * n_neigh,
            "centroid_lat": [35.33] * n_neigh,
            "geometry_wkt": ["POLYGON EMPTY"] * n_neigh,
        },
        schema=AREAS_SCHEMA,
    )
    gaz = pl.DataFrame(schema=GAZETTEER_SCHEMA)
    return Geography("7101", "Ηράκλειο", "Heraklion", areas, gaz, "POLYGON EMPTY")


def fake_population(
    geo: Geography, n_households: int, rng: np.random.Generator, start: date, end: date
) -> Population:
    """Households spread evenly over neighbourhoods; attributes independent of the latents."""
    areas = geo.areas
    nb = rng.integers(0, len(areas), n_households)
    size = rng.choice([1, 2, 3, 4, 5, 6], size=n_households, p=[0.27, 0.3, 0.19, 0.15, 0.06, 0.03])
    poor = rng.random(n_households) < 0.2
    # members: 1st and 2nd adults, from the 3rd on minors
    hh = np.repeat(np.arange(n_households), size)
    pos = np.arange(len(hh)) - np.repeat(np.cumsum(size) - size, size)
    n = len(hh)
    elderly_hh = rng.random(n_households) < 0.3
    adult_age = np.where(elderly_hh[hh], rng.uniform(65, 95, n), rng.uniform(20, 64, n))
    age_years = np.where(pos >= 2, rng.uniform(0, 17.9, n), adult_age)
    # a few babies born during the period
    born_later = (pos >= 2) & (rng.random(n) < 0.05)
    start_day = (start - date(1970, 1, 1)).days
    end_day = (end - date(1970, 1, 1)).days
    birth = np.where(
        born_later,
        rng.integers(start_day, end_day, n),
        start_day - np.round(age_years * 365.25).astype(np.int64),
    )
    minors = np.bincount(hh, weights=(pos >= 2), minlength=n_households).astype(np.int64)
    disability = np.where(rng.random(n) < 0.08, rng.choice([50, 67, 80, 100], n), 0)
    disabled_members = np.bincount(hh, weights=disability > 0, minlength=n_households)
    adults = size - minors
    income = np.where(
        poor,
        rng.uniform(1500, 6000, n_households),
        rng.uniform(9000, 40000, n_households),
    ) * (1 + 0.5 * (adults - 1) + 0.3 * minors)
    is_adult = pos < 2
    emp = np.where(
        age_years >= 67,
        "retired",
        rng.choice(
            ["employed", "unemployed", "long_term_unemployed", "inactive"],
            n,
            p=[0.6, 0.08, 0.1, 0.22],
        ),
    ).astype(object)
    emp[~is_adult] = None
    educ = rng.choice(["primary", "lower_secondary", "upper_secondary", "tertiary"], n).astype(
        object
    )
    educ[~is_adult] = None
    old = age_years >= 65
    care = old & (rng.random(n) < np.where(age_years >= 80, 0.35, 0.12))
    # deaths: elderly die at ~6% a year, more with care need
    years = (end_day - start_day + 1) / 365.25
    hazard = np.where(old, 0.06, 0.002) * np.where(care, 2.0, 1.0)
    t = rng.exponential(1.0 / hazard)
    death = np.where(t < years, start_day + np.round(t * 365.25).astype(np.int64), -1)
    death = np.maximum(death, birth + 1)
    migrant = rng.random(n) < 0.06
    households = pl.DataFrame(
        {
            "household_id": np.arange(1, n_households + 1),
            "neighbourhood_id": areas["neighbourhood_id"].to_numpy()[nb],
            "street_id": np.arange(n_households),
            "street_number": rng.integers(1, 200, n_households),
            "street_number_suffix": [""] * n_households,
            "postcode": ["71305"] * n_households,
            "size": size,
            "minors": minors,
            "disabled_members": disabled_members.astype(np.int64),
            "annual_income_eur": income,
            "is_single_parent": (adults == 1) & (minors > 0),
            "is_large_family": minors >= 3,
            "is_poor": poor,
        },
        schema=HOUSEHOLDS_SCHEMA,
    )
    death_s = pl.Series(np.where(death < 0, 0, death)).cast(pl.Date)
    persons = pl.DataFrame(
        {
            "person_id": np.arange(1, n + 1) * 10,
            "household_id": hh + 1,
            "neighbourhood_id": areas["neighbourhood_id"].to_numpy()[nb[hh]],
            "sex": rng.choice(["M", "F"], n),
            "birth_date": pl.Series(birth).cast(pl.Date),
            "citizenship": np.where(migrant, "AL", "GR"),
            "citizenship_group": np.where(migrant, "non_eu", "greek"),
            "is_roma": rng.random(n) < 0.015,
            "is_migrant": migrant,
            "is_refugee": migrant & (rng.random(n) < 0.15),
            "is_homeless": (size[hh] == 1) & (rng.random(n) < 0.01),
            "disability_pct": disability.astype(np.int64),
            "employment_status": pl.Series(emp, dtype=pl.String),
            "education": pl.Series(educ, dtype=pl.String),
            "lives_alone": size[hh] == 1,
            "care_need": care,
            "death_on": pl.Series(death_s).set(pl.Series(death < 0), None),
            "surname": ["Παπαδάκης"] * n,
            "first_name": ["Γιώργος"] * n,
            "father_name": ["Νίκος"] * n,
            "amka": pl.Series(
                [None if m else f"{i:011d}" for i, m in enumerate(migrant & (pos == 0))],
                dtype=pl.String,
            ),
            "afm": ["000000000"] * n,
            "phone": ["2810000000"] * n,
        },
        schema=PERSONS_SCHEMA,
    )
    return Population(households=households, persons=persons)


def make_cfg(start: date, end: date, factor: float) -> GeneratorConfig:
    return GeneratorConfig(
        seed=1, scale=Scale("test", factor, start, end), rates={}, faults={}, headers={}
    )


@pytest.fixture(scope="module")
def world():
    """A 2-year world, 30 neighbourhoods, ≈40,000 residents, volumes of half of Heraklion."""
    start, end = date(2019, 1, 1), date(2020, 12, 31)
    rng = np.random.default_rng(7)
    geo = fake_geography(30, rng)
    pop = fake_population(geo, 16_000, rng, start, end)
    cfg = make_cfg(start, end, WORLD_FACTOR)
    svc = simulate_services(geo, pop, cfg, np.random.default_rng(11))
    return geo, pop, cfg, svc


@pytest.fixture(scope="module")
def small():
    start, end = date(2020, 1, 1), date(2020, 12, 31)
    rng = np.random.default_rng(3)
    geo = fake_geography(12, rng)
    pop = fake_population(geo, 2_500, rng, start, end)
    return geo, pop, make_cfg(start, end, 0.03)


# --- calendar ---------------------------------------------------------------------------------


def test_orthodox_easter_known_dates():
    known = {
        2019: date(2019, 4, 28),
        2020: date(2020, 4, 19),
        2021: date(2021, 5, 2),
        2022: date(2022, 4, 24),
        2023: date(2023, 4, 16),
        2024: date(2024, 5, 5),
    }
    for y, d in known.items():
        assert orthodox_easter(y) == d


def test_greek_holidays_2020():
    cal = load_rates()["calendar"]
    hol = {d.item() for d in greek_holidays(range(2020, 2021), **_hol_args(cal))}
    expected = {
        date(2020, 1, 1),
        date(2020, 1, 6),
        date(2020, 3, 2),  # Clean Monday
        date(2020, 3, 25),
        date(2020, 4, 17),  # Good Friday
        date(2020, 4, 20),  # Easter Monday
        date(2020, 5, 1),
        date(2020, 6, 8),  # Whit Monday
        date(2020, 8, 15),
        date(2020, 10, 28),
        date(2020, 12, 25),
        date(2020, 12, 26),
    }
    assert hol == expected


def _hol_args(cal):
    return {"fixed": cal["fixed_holidays"], "easter_offsets": cal["easter_offsets"]}


# --- registries ---------------------------------------------------------------------------------


def test_registries():
    ids = [b.id for b in REFERRAL_BODIES]
    assert len(ids) == len(set(ids)) >= 11
    assert all(b.spellings and b.name_el and b.name_en and b.body_type for b in REFERRAL_BODIES)
    assert any("ΟΑΕΔ" in s for b in REFERRAL_BODIES for s in b.spellings)
    by_id = {s.id: s for s in STRUCTURES}
    assert {by_id[i].structure for i in ("cc_main", "cc_roma", "cc_mobile")} == {
        "main",
        "roma_branch",
        "mobile_unit",
    }
    assert by_id["hh_units"].capacity == 12 * 80
    cfg = make_cfg(date(2020, 1, 1), date(2020, 12, 31), 0.03)
    cap = capacities(cfg)
    assert cap["hh_units"] == round(960 * 0.03) and cap["sg_main"] == 9
    assert min(cap.values()) >= 1


def test_referral_bodies_cover_the_rates():
    rules = load_rates()["community_centre"]["services"]["referral_bodies"]
    assert set(rules) == {b.id for b in REFERRAL_BODIES}


# --- the world -----------------------------------------------------------------------------------


def test_schemas_and_nonempty(world):
    *_, svc = world
    for name, schema in SERVICE_SCHEMAS.items():
        df = getattr(svc, name)
        check_schema(df, schema, name)
        assert df.height > 0, name


def test_small_scale_runs(small):
    geo, pop, cfg = small
    svc = simulate_services(geo, pop, cfg, np.random.default_rng(5))
    for name, schema in SERVICE_SCHEMAS.items():
        check_schema(getattr(svc, name), schema, name)
    assert svc.hh_clients.height > 0 and svc.cc_intake.height > 0


DATE_COLUMNS = {
    "cc_beneficiaries": ["registered_on"],
    "cc_services": ["service_on", "outcome_on"],
    "cc_intake": ["visit_on"],
    "sg_households": ["applied_on", "decision_on"],
    "sg_distributions": ["distributed_on"],
    "hh_clients": ["exited_on"],
    "hh_visits": ["visit_on"],
    "hh_requests": ["fulfilled_on", "closed_on"],
}


def test_event_dates_inside_period(world):
    *_, cfg, svc = world
    s, e = cfg.scale.start, cfg.scale.end
    for name, cols in DATE_COLUMNS.items():
        df = getattr(svc, name)
        for c in cols:
            d = df[c].drop_nulls()
            assert d.min() >= s and d.max() <= e, (name, c)
    req = svc.hh_requests["requested_at"].dt.date()
    assert req.min() >= s and req.max() <= e
    # enrolments may precede the start (the register is full from the first month), not follow the end
    enr = svc.hh_clients["enrolled_on"]
    assert enr.max() <= e and enr.min() < s


def test_working_days_only(world):
    *_, cfg, svc = world
    hol = {
        d.item() for d in greek_holidays(range(2019, 2021), **_hol_args(load_rates()["calendar"]))
    }
    for name, col in [
        ("cc_intake", "visit_on"),
        ("cc_beneficiaries", "registered_on"),
        ("cc_services", "service_on"),
        ("hh_visits", "visit_on"),
        ("sg_distributions", "distributed_on"),
    ]:
        days = set(getattr(svc, name)[col].unique().to_list())
        assert not any(d.weekday() >= 5 for d in days), name
        assert not days & hol, name


def _deaths(pop: Population) -> pl.DataFrame:
    return pop.persons.select("person_id", "death_on")


def test_no_event_after_death(world):
    _, pop, _, svc = world
    deaths = _deaths(pop)
    checks = [
        ("cc_beneficiaries", ["registered_on"]),
        ("cc_services", ["service_on", "outcome_on"]),
        ("hh_clients", ["enrolled_on"]),
        ("hh_visits", ["visit_on"]),
        ("hh_requests", ["fulfilled_on", "closed_on"]),
        ("sg_households", ["applied_on", "decision_on"]),
    ]
    for name, cols in checks:
        df = getattr(svc, name).join(deaths, on="person_id", how="left")
        for c in cols:
            bad = df.filter(pl.col("death_on").is_not_null() & (pl.col(c) >= pl.col("death_on")))
            assert bad.height == 0, (name, c)
    req = svc.hh_requests.join(deaths, on="person_id")
    assert req.filter(pl.col("requested_at").dt.date() >= pl.col("death_on")).height == 0
    cl = svc.hh_clients.join(deaths, on="person_id")
    assert cl.filter(pl.col("exited_on") > pl.col("death_on")).height == 0
    # a client who dies in the period leaves on the day of death, for that reason
    died = cl.filter(pl.col("death_on") <= pl.lit(date(2020, 12, 31)))
    assert died.height > 0
    assert (died["exited_on"] <= died["death_on"]).all()
    assert died.filter(pl.col("exit_reason") == "death").height > 0
    # grocery distributions stop when the applicant dies
    app = svc.sg_households.select("registry_no", "person_id").unique()
    dist = svc.sg_distributions.join(app, on="registry_no").join(deaths, on="person_id")
    assert dist.filter(pl.col("distributed_on") >= pl.col("death_on")).height == 0


def _rate_by_neighbourhood(geo, num: pl.DataFrame, den: pl.DataFrame) -> pl.DataFrame:
    return (
        geo.areas.select("neighbourhood_id", "latent_deprivation", "latent_ageing")
        .join(num, on="neighbourhood_id", how="left")
        .join(den, on="neighbourhood_id", how="left")
        .with_columns((pl.col("num").fill_null(0) / pl.col("den")).alias("rate"))
    )


def test_registration_rate_rises_with_deprivation(world):
    geo, pop, _, svc = world
    num = (
        svc.cc_beneficiaries.join(pop.persons, on="person_id")
        .group_by("neighbourhood_id")
        .agg(pl.col("person_id").n_unique().alias("num"))
    )
    den = pop.persons.group_by("neighbourhood_id").agg(pl.len().alias("den"))
    t = _rate_by_neighbourhood(geo, num, den)
    rho = spearmanr(t["latent_deprivation"], t["rate"]).statistic
    assert rho > 0.5
    # and not with the ageing level, which registration does not depend on
    assert abs(spearmanr(t["latent_ageing"], t["rate"]).statistic) < 0.5


def test_grocery_application_rate_rises_with_deprivation(world):
    geo, pop, _, svc = world
    num = (
        svc.sg_households.join(pop.households, on="household_id")
        .group_by("neighbourhood_id")
        .agg(pl.col("household_id").n_unique().alias("num"))
    )
    den = pop.households.group_by("neighbourhood_id").agg(pl.len().alias("den"))
    t = _rate_by_neighbourhood(geo, num, den)
    assert spearmanr(t["latent_deprivation"], t["rate"]).statistic > 0.4


def test_home_help_enrolment_rises_with_ageing(world):
    geo, pop, cfg, svc = world
    num = (
        svc.hh_clients.join(pop.persons, on="person_id")
        .group_by("neighbourhood_id")
        .agg(pl.len().alias("num"))
    )
    old = pop.persons.filter(
        pl.col("birth_date") <= pl.lit(cfg.scale.start - timedelta(days=round(65 * 365.25)))
    )
    den = old.group_by("neighbourhood_id").agg(pl.len().alias("den"))
    t = _rate_by_neighbourhood(geo, num, den)
    assert spearmanr(t["latent_ageing"], t["rate"]).statistic > 0.4


def _active_per_day(start_col, end_col, s: date, e: date) -> np.ndarray:
    """Number active on each day of [s, e]: start <= day < end (null end: still active)."""
    n = (e - s).days + 1
    s0 = np.array([(max(d, s) - s).days for d in start_col])
    e0 = np.array([n if d is None else (d - s).days for d in end_col])
    delta = np.zeros(n + 1)
    np.add.at(delta, np.clip(s0, 0, n), 1)
    np.add.at(delta, np.clip(e0, 0, n), -1)
    return np.cumsum(delta)[:n]


def test_home_help_capacity_never_exceeded_and_register_full(world):
    *_, cfg, svc = world
    cap = capacities(cfg)["hh_units"]
    cl = svc.hh_clients
    active = _active_per_day(
        cl["enrolled_on"].to_list(), cl["exited_on"].to_list(), cfg.scale.start, cfg.scale.end
    )
    assert active.max() <= cap
    assert active[0] >= 0.9 * cap  # full from the first month
    assert active.mean() >= 0.85 * cap  # places freed are taken up from the waiting list
    assert cl["person_id"].n_unique() == cl.height
    assert set(cl["exit_reason"].drop_nulls()) <= {"death", "moved", "institution", "other"}


def test_grocery_decisions_follow_points_and_capacity(world):
    _, pop, cfg, svc = world
    thr = load_rates()["social_grocery"]["points"]["threshold"]
    hh = svc.sg_households
    decided = hh.filter(pl.col("decision_on").is_not_null())
    assert (
        decided.filter((pl.col("decision") == "rejected") & (pl.col("points") >= thr)).height == 0
    )
    assert decided.filter((pl.col("decision") != "rejected") & (pl.col("points") < thr)).height == 0
    appr = hh.filter(pl.col("decision") == "approved")
    assert appr["membership_end_on"].null_count() == 0
    assert hh.filter(pl.col("decision") != "approved")["membership_end_on"].null_count() == (
        hh.height - appr.height
    )
    lag = (appr["decision_on"] - appr["applied_on"]).dt.total_days()
    assert lag.min() >= 14 and lag.max() <= 42 + 4
    months = (appr["membership_end_on"] - appr["decision_on"]).dt.total_days()
    assert set(((months / 30.4).round()).cast(pl.Int64).unique().to_list()) <= {6, 12}
    cap = capacities(cfg)["sg_main"]
    # a membership ends at its end date, at the applicant's death, or when renewed
    eff = (
        appr.join(_deaths(pop), on="person_id", how="left")
        .sort("registry_no", "decision_on")
        .with_columns(pl.col("decision_on").shift(-1).over("registry_no").alias("renewed_on"))
        .with_columns(
            pl.min_horizontal("membership_end_on", "death_on", "renewed_on").alias("until")
        )
    )
    active = _active_per_day(
        eff["decision_on"].to_list(), eff["until"].to_list(), cfg.scale.start, cfg.scale.end
    )
    assert active.max() <= cap
    assert active[120:].mean() > 0.75 * cap  # the register stays nearly full
    assert hh.filter(pl.col("decision") == "pending").height > 0  # a waiting list forms


def test_grocery_points_by_hand():
    """Points of hand-made households, worked out from the rule in rates_services.yaml."""
    from synthetic.services_common import Ctx, People

    r = load_rates()["social_grocery"]
    # one poor single unemployed person (€1,800 → 40 + 3 + 10 = 53) and a family of four,
    # two adults and two minors, €21,000 (eq. 2.1 → €10,000: 0 + 12 + 10 = 22)
    n_hh = 2
    people = People.__new__(People)
    object.__setattr__(people, "hh_size", np.array([1, 4]))
    object.__setattr__(people, "hh_minors", np.array([0, 2]))
    object.__setattr__(people, "hh_income", np.array([1800.0, 21000.0]))
    object.__setattr__(people, "hh_disabled", np.array([0, 0]))
    object.__setattr__(people, "hh_single_parent", np.array([False, False]))
    object.__setattr__(people, "hh", np.array([0, 1, 1, 1, 1]))
    object.__setattr__(
        people, "employment", np.array(["unemployed", "employed", "inactive", "", ""])
    )
    ctx = Ctx(
        cal=None, people=people, rates={}, factor=1.0, capacity={}, capacity_exact={}, rng=None
    )
    assert n_hh == 2
    assert household_points(ctx, r).tolist() == [53, 22]


def test_grocery_distributions(world):
    _, pop, _, svc = world
    d = svc.sg_distributions
    assert set(d["category"].unique()) == {"food", "hygiene", "baby"}
    food = d.filter(pl.col("category") == "food")
    assert food["value_eur"].min() >= 20 and food["value_eur"].max() <= 95
    assert set(d["unit"].unique()) <= {"pieces", "kg", "boxes"}
    # every distribution falls within an approved membership of its household
    appr = svc.sg_households.filter(pl.col("decision") == "approved").select(
        "registry_no", "decision_on", "membership_end_on"
    )
    j = d.join(appr, on="registry_no").filter(
        (pl.col("distributed_on") >= pl.col("decision_on"))
        & (pl.col("distributed_on") < pl.col("membership_end_on"))
    )
    assert j.select(pl.struct(d.columns).n_unique()).item() == d.unique().height
    # about one food distribution per active household-month (plus Easter and Christmas)
    per = food.group_by("registry_no", pl.col("distributed_on").dt.month_start()).len()
    assert per["len"].max() <= 2
    # baby items only to households with a child under 3 on the day
    baby = d.filter(pl.col("category") == "baby").join(
        pop.persons.select("household_id", "birth_date"), on="household_id"
    )
    young = baby.filter(
        (pl.col("birth_date") <= pl.col("distributed_on"))
        & ((pl.col("distributed_on") - pl.col("birth_date")).dt.total_days() < 3 * 365.25)
    )
    n_baby = d.filter(pl.col("category") == "baby").height
    assert young.select("registry_no", "distributed_on").unique().height == n_baby


def test_community_centre_details(world):
    _, pop, _, svc = world
    b = svc.cc_beneficiaries
    assert b["beneficiary_code"].n_unique() == b.height
    assert b["beneficiary_code"].str.contains(r"^ΚΚ-\d{6}$").all()
    dup_share = 1 - b["person_id"].n_unique() / b.height
    assert 0.005 < dup_share < 0.05
    j = b.join(pop.persons.select("person_id", "is_roma", "neighbourhood_id"), on="person_id")
    assert (j.filter(pl.col("is_roma"))["structure"] == "roma_branch").all()
    assert (j.filter(~pl.col("is_roma"))["structure"] != "roma_branch").all()
    village = j.filter(~pl.col("neighbourhood_id").str.starts_with(CITY) & ~pl.col("is_roma"))
    assert village.height > 0 and (village["structure"] == "mobile_unit").all()
    s = svc.cc_services
    ref = s.filter(pl.col("service_category") == "referral")
    assert 0.18 < ref.height / s.height < 0.32
    assert ref["referral_body_id"].null_count() == 0
    assert s.filter(pl.col("service_category") != "referral")["referral_body_id"].null_count() == (
        s.height - ref.height
    )
    assert set(ref["referral_body_id"]) <= {x.id for x in REFERRAL_BODIES}
    done = ref.filter(pl.col("referral_status") != "in_progress")
    assert done["outcome_on"].null_count() == 0
    lag = (done["outcome_on"] - done["service_on"]).dt.total_days()
    assert lag.min() >= 5 and lag.max() <= 94
    share = ref["referral_status"].value_counts(normalize=True)
    completed = share.filter(pl.col("referral_status") == "completed")["proportion"].item()
    assert 0.45 < completed < 0.7
    # services come after the registration of their beneficiary code
    sb = s.join(b.select("beneficiary_code", "registered_on"), on="beneficiary_code")
    assert sb.height == s.height and (sb["service_on"] >= sb["registered_on"]).all()
    # profiles: job counselling goes mostly to the unemployed
    jc = s.filter(pl.col("service_category") == "job_counselling").join(
        pop.persons.select("person_id", "employment_status"), on="person_id"
    )
    unemp = jc["employment_status"].is_in(["unemployed", "long_term_unemployed"]).mean()
    assert unemp > 0.6


def test_intake(world):
    *_, svc = world
    it = svc.cc_intake
    t = it["visit_time"]
    assert t.str.contains(r"^(0[89]|1[0-4]):[0-5]\d$").all()
    per_day = it.group_by("visit_on").len()
    by_month = it.group_by(pl.col("visit_on").dt.strftime("%Y-%m").alias("m")).len().sort("m")
    m = dict(zip(by_month["m"], by_month["len"], strict=True))
    assert m["2019-08"] < 0.75 * m["2019-10"]  # August low
    assert m["2020-04"] < 0.6 * m["2019-04"]  # the first lockdown
    assert 0.6 * 30 * WORLD_FACTOR < per_day["len"].mean() < 1.4 * 30 * WORLD_FACTOR  # ≈30 a day
    assert 0.15 < it["is_new"].mean() < 0.3


def test_requests_spring_2020_spike(world):
    *_, svc = world
    r = svc.hh_requests
    spring = r.filter(pl.col("requested_at").dt.month().is_in([3, 4, 5]))
    y = spring.group_by(pl.col("requested_at").dt.year().alias("y")).len()
    n = dict(zip(y["y"], y["len"], strict=True))
    assert n[2020] > 1.6 * n[2019]
    food = spring.filter(pl.col("need_type").is_in(["food", "medicine"]))
    yf = food.group_by(pl.col("requested_at").dt.year().alias("y")).len()
    nf = dict(zip(yf["y"], yf["len"], strict=True))
    assert nf[2020] > 2.3 * nf[2019]
    # fulfilled within 0-20 days, median about 3
    f = r.filter(pl.col("status") == "fulfilled")
    lag = (f["fulfilled_on"] - f["requested_at"].dt.date()).dt.total_days()
    assert lag.min() >= 0 and lag.max() <= 20 and 2 <= lag.median() <= 4
    assert (f["closed_on"] == f["fulfilled_on"]).all()
    assert 0.7 < r["status"].eq("fulfilled").mean() < 0.88
    assert r.filter(pl.col("status").is_in(["new", "in_progress"]))["closed_on"].null_count() == (
        r.filter(pl.col("status").is_in(["new", "in_progress"])).height
    )
    assert r["request_no"].n_unique() == r.height
    assert r["channel"].value_counts().sort("count")["channel"][-1] == "phone"


def test_requests_mostly_elderly_or_disabled(world):
    _, pop, cfg, svc = world
    j = svc.hh_requests.join(pop.persons, on="person_id")
    old = j["birth_date"] <= cfg.scale.start - timedelta(days=round(64 * 365.25))
    share = (old | (j["disability_pct"] > 0)).mean()
    assert share > 0.8


def test_home_help_visits(world):
    *_, cfg, svc = world
    v = svc.hh_visits
    assert v["duration_minutes"].min() >= 30 and v["duration_minutes"].max() <= 180
    roles = v["staff_role"].value_counts(sort=True)
    assert roles["staff_role"][0] == "family_carer"
    # visits only while the person is an active client
    cl = svc.hh_clients.select("person_id", "enrolled_on", "exited_on")
    j = v.join(cl, on="person_id", how="left")
    assert j["enrolled_on"].null_count() == 0
    assert (j["visit_on"] >= j["enrolled_on"]).all()
    assert (
        j.filter(
            pl.col("exited_on").is_not_null() & (pl.col("visit_on") >= pl.col("exited_on"))
        ).height
        == 0
    )
    # ≈60-70k visits a year for 960 clients → 5-7 per client-month
    months = (cfg.scale.end.year - cfg.scale.start.year + 1) * 12
    per_client_month = v.height / (capacities(cfg)["hh_units"] * months)
    assert 4.5 < per_client_month < 7.5
    pairs = set(zip(v["staff_role"], v["service_type"], strict=True))
    assert ("family_carer", "nursing_care") not in pairs and ("nurse", "home_help") not in pairs


def test_determinism(small):
    geo, pop, cfg = small
    a = simulate_services(geo, pop, cfg, np.random.default_rng(42))
    b = simulate_services(geo, pop, cfg, np.random.default_rng(42))
    c = simulate_services(geo, pop, cfg, np.random.default_rng(43))
    for name in SERVICE_SCHEMAS:
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not all(getattr(a, name).equals(getattr(c, name)) for name in SERVICE_SCHEMAS)


def test_volumes_scale_with_population_factor():
    """Registrations follow ≈700 a year × population_factor (a year without crisis)."""
    start, end = date(2019, 1, 1), date(2019, 12, 31)
    rng = np.random.default_rng(9)
    geo = fake_geography(10, rng)
    pop = fake_population(geo, 12_000, rng, start, end)
    for f in (0.1, 0.3):
        cfg = make_cfg(start, end, f)
        svc = simulate_services(geo, pop, cfg, np.random.default_rng(1))
        people = svc.cc_beneficiaries["person_id"].n_unique()
        expected = 700 * f
        assert abs(people - expected) < 4 * expected**0.5 + 0.05 * expected, (f, people)
        intake = svc.cc_intake.height / 250  # ≈250 working days
        assert abs(intake - 30 * f) < 0.15 * 30 * f, (f, intake)


def test_rates_override_through_config(small):
    geo, pop, cfg = small
    rates = load_rates()
    rates["home_help"]["requests"]["per_month"] = 0.0
    rates["home_help"]["requests"]["crisis"] = []
    cfg2 = replace(cfg, rates={"services": rates})
    svc = simulate_services(geo, pop, cfg2, np.random.default_rng(1))
    assert svc.hh_requests.height == 0
    check_schema(svc.hh_requests, SERVICE_SCHEMAS["hh_requests"], "hh_requests")


def test_community_centre_monthly_capacity(world):
    *_, cfg, svc = world
    first = (
        svc.cc_beneficiaries.sort("registered_on")
        .unique(["person_id", "structure"], keep="first", maintain_order=True)
        .group_by("structure", pl.col("registered_on").dt.strftime("%Y-%m").alias("m"))
        .len()
    )
    by_code = {s.structure: s for s in STRUCTURES if s.source == "community_centre"}
    for (code,), g in first.group_by("structure"):
        cap = by_code[code].capacity * cfg.scale.population_factor
        assert g["len"].max() <= np.ceil(cap), code
    # the crisis queue: the main centre works at capacity through spring 2020
    main = first.filter(pl.col("structure") == "main")
    m = dict(zip(main["m"], main["len"], strict=True))
    cap = np.ceil(by_code["main"].capacity * cfg.scale.population_factor)
    assert all(m[f"2020-{k:02d}"] >= cap - 1 for k in (4, 5, 6))


def test_municipal_scale_volumes():
    """Heraklion-sized fake population, five years: the calibrated yearly volumes."""
    start, end = date(2019, 1, 1), date(2023, 12, 31)
    rng = np.random.default_rng(21)
    geo = fake_geography(40, rng, n_villages=6)
    pop = fake_population(geo, 68_000, rng, start, end)
    svc = simulate_services(geo, pop, make_cfg(start, end, 1.0), np.random.default_rng(2))
    y2019 = pl.col("registered_on").dt.year() == 2019
    regs = svc.cc_beneficiaries.filter(y2019)["person_id"].n_unique()
    assert 600 < regs < 760  # ≈700 a year
    visits = svc.hh_visits.group_by(pl.col("visit_on").dt.year()).len()["len"]
    assert visits.min() > 58_000 and visits.max() < 75_000  # ≈60-70k a year
    assert 300_000 < svc.hh_visits.height < 370_000
    intake = svc.cc_intake.filter(pl.col("visit_on").dt.year() == 2019).height / 250
    assert 25 < intake < 35  # ≈30 a day
