"""The indicator marts, built by dbt on the small synthetic municipality, against its ground truth.

The small world (seed 7, the year 2020) is generated, ingested and built by one full `dbt build`
(the session fixture dbt_built_home). The tests check marts.indicator_values four ways.

1. Against the truth, worked out here with polars and nothing from the warehouse. The world's
   service tables (each event with its true dates, person and household) are rebuilt in memory
   with the generator's build_world (same seed: the test first checks that every export row of
   truth/records.parquet points at a world row of the same person), and each export row is kept
   if ingest must load it: a current file (not superseded, not misplaced) and not a row that
   truth/faults.csv says ingest rejects, refuses or skips. A status column is taken as the export
   wrote it (as known on the export day: a grocery decision made after the day its month was
   exported stays "pending" in the files). Areas are the rows' true neighbourhoods, rolled up by
   the truth hierarchy (truth/neighbourhoods.csv).
   - Denominators come from the municipality's reference files (population.csv, households.csv)
     and must be equal for every area and period (to float rounding: 0-17 includes 3/5 of the
     15-19 band).
   - Numerators, at every area and period of 2020 (12 months, 4 quarters, the year), of Help
     at Home clients 65+ (persons active in the period, age from the birth year at its end),
     call-centre requests (events), new community-centre registrations (persons) and approved
     social-grocery households (households). A person is counted as the warehouse can link
     them: one key per raw row, the ΑΜΚΑ pseudonym or else the name + birth date one
     (int_person_spine), so a client whose ΑΜΚΑ is missing in one monthly snapshot is two
     persons; the truth applies the same rule (with_linked_person) and also reports the number
     of true persons.
     Measured on this world: requests, registrations and grocery households agree exactly in
     every one of the 1,139 area-period cells; clients 65+ agree exactly for the year at every
     area (130 linked persons; 111 true persons, 19 split by the one-key linkage), and differ by
     at most 2 at the municipality and 1 in a neighbourhood in months and quarters (Σ|diff| over
     the neighbourhoods at most 2 a period): an enrolment whose exit the warehouse never sees
     (the snapshot row carrying it was rejected, or the person's name-key half was listed only
     before the exit) stays open to the end of the data.
     Tolerance: |diff| <= 2 at the municipality, <= 1 in a neighbourhood, Σ|diff| <= 3 over
     the neighbourhoods, in every period. Wrong definitions give, for the year at the
     municipality: client rows instead of persons 1,097 (not 130); clients of all ages 137
     (+7); 70+ 126 (-4); requesting persons instead of requests 204 (-6); grocery decisions as
     finally made rather than as exported 35 (+9, of 26).
   - The age-standardised rate (ESP 2013 65+ bands, Dobson limits) is recomputed for the year
     from the truth's clients by band and the reference population by band.
2. Statistics, exactly (relative 1e-9): every unsuppressed row's value and four limits are
   recomputed with scipy from its numerator and denominator (Byar for counts >= 10, exact
   chi-square Poisson limits below, Wilson for proportions, Poisson limits on the count scale
   for counts), the method label (rate_exact_poisson for a rate from fewer than 10 events), and
   compared_to_benchmark from its limits and the municipality's value of the same indicator and
   period (95% for higher/lower, 99.8% for much_*; not_compared for counts, medians, the
   municipality itself and rows without limits).
3. Disclosure control: no published count from 1 to the indicator's threshold (catalogue
   min_count_for_publication; also a counted denominator) outside the data-quality indicators,
   and every such count of intermediate.int_indicator_values suppressed; suppressed rows carry no
   numerator, value or limits; and no relation (an area and its child areas; a year and its
   quarters, a quarter and its months for indicators additive over time) has exactly one
   suppressed cell, worked out here over the published rows.
4. The needs index ranks neighbourhoods in the direction of the truth's latent deprivation
   (Spearman clearly positive over the 40 neighbourhoods, 2020). The small world has too few
   events per neighbourhood for the 0.85 bar of the issue (about 0.4 is measured here); that bar
   is checked at the municipal scale by test_needs_index_municipal.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from ingest.warehouse import query_pl
from tests.conftest import SMALL_SEED

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "dbt_project" / "seeds" / "catalogue" / "indicator_catalogue.csv"

YEAR = 2020
YEAR_START, YEAR_END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
HIERARCHY_COLUMNS = {
    "neighbourhood": "neighbourhood_id",
    "community": "community_code",
    "municipal_unit": "municipal_unit_code",
    "municipality": "municipality_code",
}
NOT_LOADED = ("reject_row", "refuse_file", "skip_row")
Z95 = float(stats.norm.isf(0.025))
Z998 = float(stats.norm.isf(0.001))
REL = 1e-9
# small scale only: positive and significant at 1% (one-sided); 0.85 is the municipal bar
SPEARMAN_MIN_SMALL = 0.2
SPEARMAN_P_MAX = 0.01

# numerator tolerances against the truth (see the module docstring)
MAX_ABS_DIFF_MUNICIPALITY = 2  # |published − truth| at the municipality, per indicator
MAX_ABS_DIFF_NEIGHBOURHOOD = 1  # per neighbourhood
MAX_L1_DIFF_NEIGHBOURHOODS = 3  # Σ |warehouse − truth| over the 40 neighbourhoods


# --- the ground truth ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    hierarchy: pl.DataFrame  # neighbourhood_id, community_code, municipal_unit_code, ...
    neighbourhoods: pl.DataFrame  # truth/neighbourhoods.csv
    persons: pl.DataFrame
    loaded: pl.DataFrame  # export rows ingest must load, with world_table / world_row
    world_tables: dict[str, pl.DataFrame]  # the world's service tables, with world_row
    export_lag_days: int
    reference_dir: Path


def _loaded_rows(world_dir: Path) -> pl.DataFrame:
    records = pl.read_parquet(world_dir / "truth" / "records.parquet")
    faults = pl.read_csv(world_dir / "truth" / "faults.csv", infer_schema_length=0)
    actions = faults.select("fault", "expected_action").unique()
    assert actions["fault"].is_unique().all(), "a fault kind with two expected actions"
    records = records.join(actions, on="fault", how="left")
    keep = pl.col("is_current") & ~pl.col("expected_action").is_in(NOT_LOADED).fill_null(False)
    return records.filter(keep)


@pytest.fixture(scope="module")
def truth(small_world_dir: Path) -> Truth:
    from synthetic.config import GeneratorConfig
    from synthetic.generate import build_world

    cfg = GeneratorConfig.for_scale("small", seed=SMALL_SEED)
    world, _ = build_world(cfg)
    tables = {
        name: getattr(world.services, name)
        .with_row_index("world_row")
        .with_columns(pl.col("world_row").cast(pl.Int64))
        for name in ("cc_beneficiaries", "sg_households", "hh_clients", "hh_requests")
    }
    loaded = _loaded_rows(small_world_dir)
    # the rebuilt world is the one the exports were written from: same person on every row
    for name, table in tables.items():
        rows = loaded.filter(pl.col("world_table") == name).join(
            table.select("world_row", pl.col("person_id").alias("world_person")),
            on="world_row",
            how="left",
        )
        assert rows.height > 0 and (rows["person_id"] == rows["world_person"]).all(), name
    neighbourhoods = pl.read_csv(
        small_world_dir / "truth" / "neighbourhoods.csv",
        schema_overrides={
            "neighbourhood_id": pl.String,
            "community_code": pl.String,
            "municipal_unit_code": pl.String,
            "municipality_code": pl.String,
        },
    )
    municipality = neighbourhoods["municipality_code"].unique().to_list()
    assert len(municipality) == 1
    return Truth(
        hierarchy=neighbourhoods.select(*HIERARCHY_COLUMNS.values()),
        neighbourhoods=neighbourhoods,
        persons=pl.read_parquet(small_world_dir / "truth" / "persons.parquet"),
        loaded=loaded,
        world_tables=tables,
        export_lag_days=int(cfg.faults.get("export_lag_days", 20)),
        reference_dir=small_world_dir / "exports" / municipality[0] / "reference",
    )


def _areas_of(frame: pl.DataFrame, hierarchy: pl.DataFrame) -> pl.DataFrame:
    """One row per row of `frame` (with neighbourhood_id) and area containing its neighbourhood:
    area_level, area_id. A row without a neighbourhood counts at the municipality only."""
    municipality = hierarchy["municipality_code"][0]
    with_parents = frame.join(hierarchy, on="neighbourhood_id", how="left")
    parts = []
    for level, column in HIERARCHY_COLUMNS.items():
        area = pl.col(column)
        if level == "municipality":
            area = pl.lit(municipality)
        part = with_parents.with_columns(area_level=pl.lit(level), area_id=area)
        parts.append(part.filter(pl.col("area_id").is_not_null()))
    return pl.concat(parts, how="diagonal_relaxed")


def distinct_by_area(
    frame: pl.DataFrame, key: str, hierarchy: pl.DataFrame, true_key: str | None = None
) -> pl.DataFrame:
    """Distinct `key` values per area (every level) and period of `frame` (period_type,
    period_start): area_level, area_id, period_type, period_start, expected, and the distinct
    `true_key` values (default: `key`) as true_count."""
    return (
        _areas_of(frame, hierarchy)
        .group_by("area_level", "area_id", "period_type", "period_start")
        .agg(
            pl.col(key).n_unique().alias("expected"),
            pl.col(true_key or key).n_unique().alias("true_count"),
        )
    )


def year_periods(year: int) -> pl.DataFrame:
    """The year's 12 months, 4 quarters and the year: period_type, period_start, period_end."""
    rows = [("year", dt.date(year, 1, 1), dt.date(year, 12, 31))]
    for q in range(4):
        start = dt.date(year, 3 * q + 1, 1)
        end = dt.date(year + (q == 3), (3 * q + 3) % 12 + 1, 1) - dt.timedelta(days=1)
        rows.append(("quarter", start, end))
    for m in range(1, 13):
        end = dt.date(year + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
        rows.append(("month", dt.date(year, m, 1), end))
    return pl.DataFrame(rows, schema=["period_type", "period_start", "period_end"], orient="row")


def with_linked_person(rows: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """The person as the warehouse can know them: a raw row carries one person key, the ΑΜΚΑ
    pseudonym when the row has an ΑΜΚΑ, else the name + birth date pseudonym, and the spine
    links on that key alone (int_person_spine). So a person whose ΑΜΚΑ is missing from some of
    their rows (fault amka_missing; invalid ones are rejected) is two linked persons."""
    keyed = rows.join(persons.select("person_id", "amka"), on="person_id", how="left")
    by_amka = pl.col("amka").is_not_null() & (pl.col("fault").fill_null("") != "amka_missing")
    return keyed.with_columns(
        linked_person=pl.concat_str(
            pl.col("person_id").cast(pl.String),
            pl.when(by_amka).then(pl.lit("amka")).otherwise(pl.lit("name")),
            separator=":",
        )
    )


def expected_populations(truth: Truth) -> pl.DataFrame:
    """Reference denominators per area and population group: area_level, area_id,
    population_group (total, age_65_plus, age_0_17, households), expected."""
    pop = pl.read_csv(
        truth.reference_dir / "population.csv", schema_overrides={"neighbourhood_id": pl.String}
    )
    lower = pl.col("age_band").str.extract(r"^(\d+)").cast(pl.Int64)
    per_nb = pop.group_by("neighbourhood_id").agg(
        pl.col("population").sum().cast(pl.Float64).alias("total"),
        pl.col("population").filter(lower >= 65).sum().cast(pl.Float64).alias("age_65_plus"),
        (
            pl.col("population").filter(lower < 15).sum()
            + pl.col("population").filter(lower == 15).sum() * 3 / 5
        ).alias("age_0_17"),
    )
    households = pl.read_csv(
        truth.reference_dir / "households.csv", schema_overrides={"neighbourhood_id": pl.String}
    ).select("neighbourhood_id", pl.col("households").cast(pl.Float64))
    long = pl.concat(
        [
            per_nb.unpivot(index="neighbourhood_id", variable_name="population_group"),
            households.unpivot(index="neighbourhood_id", variable_name="population_group"),
        ]
    )
    return (
        _areas_of(long, truth.hierarchy)
        .group_by("area_level", "area_id", "population_group")
        .agg(pl.col("value").sum().alias("expected"))
    )


def _loaded_world(truth: Truth, table: str, keep: list[str]) -> pl.DataFrame:
    rows = truth.loaded.filter(pl.col("world_table") == table).select(
        "world_row", "period", pl.col("true_neighbourhood_id").alias("neighbourhood_id"), *keep
    )
    world = truth.world_tables[table]
    return rows.join(world.drop([c for c in keep if c in world.columns]), on="world_row")


def truth_hh_clients_65_plus(truth: Truth, periods: pl.DataFrame) -> pl.DataFrame:
    """Help at Home clients (linked persons) active in the period (enrolled by its end, not
    exited before its start) and aged 65+ at its end, age from the birth year (the warehouse
    holds birth years only)."""
    rows = _loaded_world(truth, "hh_clients", ["person_id", "fault"])
    rows = rows.join(truth.persons.select("person_id", "birth_date"), on="person_id")
    rows = with_linked_person(rows, truth.persons).join(periods, how="cross")
    active = (pl.col("enrolled_on") <= pl.col("period_end")) & (
        pl.col("exited_on").is_null() | (pl.col("exited_on") >= pl.col("period_start"))
    )
    aged = pl.col("period_end").dt.year() - pl.col("birth_date").dt.year() >= 65
    return distinct_by_area(
        rows.filter(active & aged), "linked_person", truth.hierarchy, true_key="person_id"
    )


def truth_hh_requests(truth: Truth, periods: pl.DataFrame) -> pl.DataFrame:
    """Call-centre and web requests made in the period (events, any age)."""
    rows = _loaded_world(truth, "hh_requests", ["person_id"]).join(periods, how="cross")
    made = pl.col("requested_at").dt.date().is_between("period_start", "period_end")
    return distinct_by_area(rows.filter(made), "world_row", truth.hierarchy)


def truth_cc_new_registrations(truth: Truth, periods: pl.DataFrame) -> pl.DataFrame:
    """Linked persons whose first loaded registration is dated in the period, placed where that
    registration puts them."""
    rows = with_linked_person(
        _loaded_world(truth, "cc_beneficiaries", ["person_id", "fault"]), truth.persons
    )
    first = rows.sort("registered_on", "world_row").unique("linked_person", keep="first")
    first = first.join(periods, how="cross").filter(
        pl.col("registered_on").is_between("period_start", "period_end")
    )
    return distinct_by_area(first, "linked_person", truth.hierarchy, true_key="person_id")


def truth_sg_households(truth: Truth, periods: pl.DataFrame) -> pl.DataFrame:
    """Households with an approved grocery membership (decision date to membership end) that
    overlaps the period, the approval being known on the day the application's month was
    exported (month end + export lag; later decisions stay "pending" in the files)."""
    rows = _loaded_world(truth, "sg_households", ["household_id"]).join(periods, how="cross")
    export_day = (
        (pl.col("period") + "-01")
        .str.to_date()
        .dt.month_end()
        .dt.offset_by(f"{truth.export_lag_days}d")
    )
    approved = (
        (pl.col("decision") == "approved")
        & (pl.col("decision_on") <= export_day)
        & (pl.col("decision_on") <= pl.col("period_end"))
        & (pl.col("membership_end_on") >= pl.col("period_start"))
    )
    return distinct_by_area(rows.filter(approved), "household_id", truth.hierarchy)


TRUTH_NUMERATORS = {
    "hh_clients_per_1000_aged_65_plus": truth_hh_clients_65_plus,
    "hh_requests_per_1000_aged_65_plus": truth_hh_requests,
    "cc_new_registrations": truth_cc_new_registrations,
    "sg_households_per_1000_households": truth_sg_households,
}


# --- the warehouse ------------------------------------------------------------------------------


def _query(home: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)
    try:
        return query_pl(con, sql)
    finally:
        con.close()


def _period_type(frame: pl.DataFrame) -> pl.DataFrame:
    months = (pl.col("period_end").dt.year() - pl.col("period_start").dt.year()) * 12 + (
        pl.col("period_end").dt.month().cast(pl.Int32) - pl.col("period_start").dt.month()
    )
    kind = (
        pl.when(months == 0)
        .then(pl.lit("month"))
        .when(months == 2)
        .then(pl.lit("quarter"))
        .when(months == 11)
        .then(pl.lit("year"))
    )
    return frame.with_columns(period_type=kind)


@pytest.fixture(scope="module")
def published_all(dbt_built_home: Path) -> pl.DataFrame:
    frame = _query(dbt_built_home, "select * from marts.indicator_values")
    frame = _period_type(frame.with_columns(pl.col("period_start", "period_end").cast(pl.Date)))
    assert frame["period_type"].null_count() == 0, "a period neither month, quarter nor year"
    return frame


@pytest.fixture(scope="module")
def published(published_all: pl.DataFrame) -> pl.DataFrame:
    """The published rows of the levels the truth's geography has (the national level, all
    municipalities of the warehouse, is checked against the municipality on its own)."""
    return published_all.filter(pl.col("area_level") != "national")


@pytest.fixture(scope="module")
def unsuppressed(dbt_built_home: Path) -> pl.DataFrame:
    frame = _query(
        dbt_built_home,
        """select indicator_id, area_level, area_id, cast(period_start as date) as period_start,
                  cast(period_end as date) as period_end, numerator, denominator, value
           from intermediate.int_indicator_values
           where area_level <> 'national'""",
    )
    return _period_type(frame)


@pytest.fixture(scope="module")
def catalogue() -> pl.DataFrame:
    return pl.read_csv(CATALOGUE, infer_schema_length=0).with_columns(
        pl.col("multiplier").cast(pl.Float64),
        pl.col("min_count_for_publication").cast(pl.Int64),
        (pl.col("is_additive_over_areas") == "true").alias("is_additive_over_areas"),
        (pl.col("is_additive_over_time") == "true").alias("is_additive_over_time"),
    )


@pytest.fixture(scope="module")
def areas(dbt_built_home: Path) -> pl.DataFrame:
    return _query(
        dbt_built_home, "select area_level, area_id, parent_area_id from intermediate.int_areas"
    )


def _year_rows(frame: pl.DataFrame, indicator_id: str) -> pl.DataFrame:
    return frame.filter(
        (pl.col("indicator_id") == indicator_id)
        & (pl.col("period_type") == "year")
        & (pl.col("period_start") == YEAR_START)
    )


# --- 1. against the truth -----------------------------------------------------------------------


def test_every_area_and_period_is_published(
    published_all: pl.DataFrame, catalogue: pl.DataFrame, truth: Truth
) -> None:
    """Each indicator has one row per area of each of its catalogue levels, for the year."""
    keys = ["indicator_id", "area_level", "area_id", "period_start", "period_end"]
    assert published_all.select(keys).is_unique().all()
    n_areas = {lvl: truth.hierarchy[col].n_unique() for lvl, col in HIERARCHY_COLUMNS.items()}
    n_areas["national"] = 1
    counts = (
        published_all.filter(pl.col("period_type") == "year")
        .group_by("indicator_id", "area_level")
        .len()
    )
    for row in catalogue.iter_rows(named=True):
        for level in row["area_levels"].split(";"):
            got = counts.filter(
                (pl.col("indicator_id") == row["indicator_id"]) & (pl.col("area_level") == level)
            )["len"]
            assert got.to_list() == [n_areas[level]], (row["indicator_id"], level)


def test_population_denominators_equal_the_reference(
    published: pl.DataFrame, catalogue: pl.DataFrame, truth: Truth
) -> None:
    expected = expected_populations(truth)
    groups = ("total", "age_65_plus", "age_0_17", "households")
    indicators = catalogue.filter(pl.col("denominator_population").is_in(groups)).select(
        "indicator_id", pl.col("denominator_population").alias("population_group")
    )
    assert indicators["population_group"].n_unique() == len(groups)
    rows = published.join(indicators, on="indicator_id").join(
        expected, on=["area_level", "area_id", "population_group"], how="left"
    )
    assert rows.height > 0 and rows["expected"].null_count() == 0
    bad = rows.filter(
        ~((pl.col("denominator") - pl.col("expected")).abs() <= 1e-9 * pl.col("expected").abs())
        | pl.col("denominator").is_null()
    )
    assert bad.height == 0, bad.select(
        "indicator_id", "area_level", "area_id", "period_start", "denominator", "expected"
    ).head(10)
    # the spot checks the reference files allow by hand: the whole municipality
    municipality = expected.filter(pl.col("area_level") == "municipality")
    assert municipality.filter(pl.col("population_group") == "total")["expected"].item() == (
        truth.persons.height
    ), "the reference population is the world's residents"


def _numerator_comparison(
    indicator_id: str, truth: Truth, published: pl.DataFrame, unsuppressed: pl.DataFrame
) -> pl.DataFrame:
    """Every area and period of YEAR: warehouse (unsuppressed), published, expected, diff."""
    keys = ["area_level", "area_id", "period_type", "period_start"]
    expected = TRUTH_NUMERATORS[indicator_id](truth, year_periods(YEAR))
    in_year = (pl.col("indicator_id") == indicator_id) & (pl.col("period_start").dt.year() == YEAR)
    got = unsuppressed.filter(in_year).select(*keys, pl.col("numerator").alias("warehouse"))
    pub = published.filter(in_year).select(*keys, pl.col("numerator").alias("published"))
    return (
        got.join(pub, on=keys, how="left")
        .join(expected, on=keys, how="left")
        .with_columns(pl.col("expected", "true_count").fill_null(0))
        .with_columns(diff=pl.col("warehouse") - pl.col("expected"))
    )


@pytest.mark.parametrize("indicator_id", sorted(TRUTH_NUMERATORS))
def test_numerators_agree_with_the_truth(
    indicator_id: str, truth: Truth, published: pl.DataFrame, unsuppressed: pl.DataFrame
) -> None:
    rows = _numerator_comparison(indicator_id, truth, published, unsuppressed)
    n_periods = year_periods(YEAR).height
    municipality = rows.filter(pl.col("area_level") == "municipality")
    neighbourhoods = rows.filter(pl.col("area_level") == "neighbourhood")
    assert municipality.height == n_periods
    assert neighbourhoods.height == truth.hierarchy.height * n_periods
    year = municipality.filter(pl.col("period_type") == "year")
    per_period = neighbourhoods.group_by("period_type", "period_start").agg(
        pl.col("diff").abs().sum().alias("l1")
    )
    print(
        f"\n{indicator_id} {YEAR}: municipality warehouse {year['warehouse'].item()},"
        f" truth {year['expected'].item()} (true entities {year['true_count'].item()});"
        f" over all {n_periods} periods: municipality max |diff|"
        f" {municipality['diff'].abs().max()}, neighbourhood max |diff|"
        f" {neighbourhoods['diff'].abs().max()}, max Σ|diff| over neighbourhoods"
        f" {per_period['l1'].max()}; differing cells at any level {(rows['diff'] != 0).sum()}"
        f" of {rows.height}"
    )
    assert year["expected"].item() >= 20, "too few to tell definitions apart"
    # the published numerator is the unsuppressed one wherever it is published
    shown = rows.filter(pl.col("published").is_not_null())
    assert (shown["published"] == shown["warehouse"]).all()
    assert year["published"].is_not_null().all()
    bad = municipality.filter(pl.col("diff").abs() > MAX_ABS_DIFF_MUNICIPALITY)
    assert bad.height == 0, bad
    bad = neighbourhoods.filter(pl.col("diff").abs() > MAX_ABS_DIFF_NEIGHBOURHOOD)
    assert bad.height == 0, bad
    assert per_period["l1"].max() <= MAX_L1_DIFF_NEIGHBOURHOODS


# --- 2. statistics ------------------------------------------------------------------------------


def poisson_limits(x: np.ndarray, z: float, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a Poisson count: Byar for x >= 10, exact (chi-square) below."""
    x = np.asarray(x, dtype=float)
    xs = np.maximum(x, 1.0)
    byar_lo = xs * (1 - 1 / (9 * xs) - z / (3 * np.sqrt(xs))) ** 3
    x1 = x + 1
    byar_hi = x1 * (1 - 1 / (9 * x1) + z / (3 * np.sqrt(x1))) ** 3
    alpha = 1 - confidence
    exact_lo = np.where(x > 0, stats.chi2.ppf(alpha / 2, 2 * xs) / 2, 0.0)
    exact_hi = stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2
    small = x < 10
    return np.where(small, exact_lo, byar_lo), np.where(small, exact_hi, byar_hi)


def wilson_limits(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    centre = 2 * x + z * z
    half = z * np.sqrt(z * z + 4 * x * (1 - x / n))
    den = 2 * (n + z * z)
    return (centre - half) / den, (centre + half) / den


def test_wilson_and_poisson_helpers_on_worked_examples() -> None:
    # Wilson 95%, 10/100: 0.0552 .. 0.1744 (by hand from the formula)
    lo, hi = wilson_limits(np.array([10.0]), np.array([100.0]), Z95)
    assert lo[0] == pytest.approx(0.05522914, abs=1e-7) and hi[0] == pytest.approx(
        0.17436566, abs=1e-7
    )
    # exact Poisson 95% for x = 0: 0 .. 3.6889; x = 5: 1.6235 .. 11.6683
    lo, hi = poisson_limits(np.array([0.0, 5.0]), Z95, 0.95)
    assert lo.tolist() == pytest.approx([0.0, 1.6234864], abs=1e-6)
    assert hi.tolist() == pytest.approx([3.6888795, 11.6683321], abs=1e-6)
    # Byar 95% for x = 100: 81.36 .. 121.63 (by hand from the formula)
    lo, hi = poisson_limits(np.array([100.0]), Z95, 0.95)
    assert lo[0] == pytest.approx(81.3621, abs=1e-3) and hi[0] == pytest.approx(121.6279, abs=1e-3)


def _expected_statistics(rows: pl.DataFrame) -> pl.DataFrame:
    """value and the four limits recomputed from numerator, denominator and multiplier."""
    x = rows["numerator"].to_numpy().astype(float)
    n = rows["denominator"].fill_null(np.nan).to_numpy().astype(float)
    n = np.where(n > 0, n, np.nan)  # no rate or proportion on an empty denominator
    mult = rows["multiplier"].to_numpy()
    method = rows["method"].to_numpy()
    out = {
        name: np.full(rows.height, np.nan)
        for name in ("e_value", "e_l95", "e_u95", "e_l998", "e_u998")
    }
    for conf, z, lo_name, hi_name in (
        (0.95, Z95, "e_l95", "e_u95"),
        (0.998, Z998, "e_l998", "e_u998"),
    ):
        p_lo, p_hi = poisson_limits(x, z, conf)
        with np.errstate(invalid="ignore", divide="ignore"):
            w_lo, w_hi = wilson_limits(x, n, z)
        rate = np.isin(method, ["rate_byar", "rate_exact_poisson"])
        prop = method == "proportion_wilson"
        count = method == "count"
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo_name] = np.select(
                [rate, prop, count], [p_lo / n * mult, w_lo * mult, p_lo], np.nan
            )
            out[hi_name] = np.select(
                [rate, prop, count], [p_hi / n * mult, w_hi * mult, p_hi], np.nan
            )
            out["e_value"] = np.select([rate | prop, count], [x / n * mult, x], out["e_value"])
    # undefined (e.g. a proportion of 0 out of 0): null, as the mart has it
    return rows.with_columns(**{k: pl.Series(k, v).fill_nan(None) for k, v in out.items()})


def _close(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Equal to a relative 1e-9 (and 1e-12 absolute near zero), or both null."""
    near = (a - b).abs() <= REL * pl.max_horizontal(a.abs(), b.abs()) + 1e-12
    return (a.is_null() & b.is_null()) | near.fill_null(False)


def test_values_and_intervals_recomputed(published: pl.DataFrame, catalogue: pl.DataFrame) -> None:
    rows = published.filter(~pl.col("suppressed")).join(
        catalogue.select("indicator_id", "multiplier", pl.col("method").alias("catalogue_method")),
        on="indicator_id",
    )
    # the method: the catalogue's, with exact Poisson limits for rates from counts under 10
    expected_method = (
        pl.when((pl.col("catalogue_method") == "rate_byar") & (pl.col("numerator") < 10))
        .then(pl.lit("rate_exact_poisson"))
        .otherwise(pl.col("catalogue_method"))
    )
    wrong = rows.filter(pl.col("method") != expected_method)
    assert wrong.height == 0, wrong.select("indicator_id", "numerator", "method").head()
    checked = rows.filter(
        pl.col("method").is_in(["rate_byar", "rate_exact_poisson", "proportion_wilson", "count"])
    )
    assert checked.height > 1000
    checked = _expected_statistics(checked)
    for got, exp in (
        ("value", "e_value"),
        ("lower_95", "e_l95"),
        ("upper_95", "e_u95"),
        ("lower_998", "e_l998"),
        ("upper_998", "e_u998"),
    ):
        bad = checked.filter(~_close(pl.col(got), pl.col(exp)))
        assert bad.height == 0, (
            got,
            bad.select("indicator_id", "area_id", "numerator", "denominator", got, exp).head(),
        )
    # the rows not recomputed: the median and the age-standardised rate
    other = rows.filter(pl.col("method").is_in(["median", "dsr_dobson"]))
    dsr = other.filter(pl.col("method") == "dsr_dobson")
    assert (
        (dsr["lower_998"] <= dsr["lower_95"])
        & (dsr["lower_95"] <= dsr["value"])
        & (dsr["value"] <= dsr["upper_95"])
        & (dsr["upper_95"] <= dsr["upper_998"])
    ).all()


# ESP 2013 weights of the bands 65-69 .. 90+ (Eurostat, Revision of the European Standard
# Population, 2013: 5,500, 5,000, 4,000, 2,500, 1,500, 1,000; they total 19,500)
ESP_65_PLUS = {65: 5500.0, 70: 5000.0, 75: 4000.0, 80: 2500.0, 85: 1500.0, 90: 1000.0}


def expected_dsr(truth: Truth) -> pl.DataFrame:
    """The age-standardised rate of Help at Home clients 65+ per 1,000 for YEAR at every area,
    from the truth's clients by ESP band of their age at the year's end and the reference
    population by band, with Dobson limits: area_level, area_id, x, n, e_value, e_l95, e_u95,
    e_l998, e_u998."""
    rows = _loaded_world(truth, "hh_clients", ["person_id", "fault"])
    rows = rows.filter(
        (pl.col("enrolled_on") <= YEAR_END)
        & (pl.col("exited_on").is_null() | (pl.col("exited_on") >= YEAR_START))
    ).join(truth.persons.select("person_id", "birth_date"), on="person_id")
    age = YEAR - pl.col("birth_date").dt.year()
    rows = with_linked_person(rows.filter(age >= 65), truth.persons).with_columns(
        band=pl.min_horizontal(age // 5 * 5, pl.lit(90)),
        period_type=pl.lit("year"),
        period_start=pl.lit(YEAR_START),
    )
    clients = (
        _areas_of(rows, truth.hierarchy)
        .group_by("area_level", "area_id", "band")
        .agg(pl.col("linked_person").n_unique().alias("x"))
    )
    pop = pl.read_csv(
        truth.reference_dir / "population.csv", schema_overrides={"neighbourhood_id": pl.String}
    ).with_columns(band=pl.col("age_band").str.extract(r"^(\d+)").cast(pl.Int64))
    pop = pop.filter(pl.col("band") >= 65)
    pop = (
        _areas_of(pop, truth.hierarchy)
        .group_by("area_level", "area_id", "band")
        .agg(pl.col("population").sum().cast(pl.Float64).alias("n"))
    )
    weights = pl.DataFrame(
        {"band": list(ESP_65_PLUS), "w": list(ESP_65_PLUS.values())},
        schema={"band": pl.Int64, "w": pl.Float64},
    )
    strata = (
        pop.join(clients, on=["area_level", "area_id", "band"], how="left")
        .with_columns(pl.col("x").fill_null(0).cast(pl.Float64))
        .join(weights, on="band")
    )
    per_area = strata.group_by("area_level", "area_id").agg(
        pl.col("x").sum().alias("x"),
        pl.col("n").sum().alias("n"),
        (pl.col("n").min() > 0).alias("all_bands_populated"),
        (1000 * (pl.col("w") * pl.col("x") / pl.col("n")).sum() / pl.col("w").sum()).alias(
            "e_value"
        ),
        (
            1000**2
            * (pl.col("w") ** 2 * pl.col("x") / pl.col("n") ** 2).sum()
            / pl.col("w").sum() ** 2
        ).alias("variance"),
    )
    x = per_area["x"].to_numpy()
    dsr = per_area["e_value"].to_numpy()
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):  # no interval on a count of 0
        scale = np.sqrt(per_area["variance"].to_numpy() / np.where(x > 0, x, np.nan))
        for conf, z, lo, hi in ((0.95, Z95, "e_l95", "e_u95"), (0.998, Z998, "e_l998", "e_u998")):
            p_lo, p_hi = poisson_limits(x, z, conf)
            out[lo] = dsr + scale * (p_lo - x)
            out[hi] = dsr + scale * (p_hi - x)
    return per_area.with_columns(**{k: pl.Series(k, v).fill_nan(None) for k, v in out.items()})


def test_age_standardised_rate_against_the_truth(published: pl.DataFrame, truth: Truth) -> None:
    """The DSR of Help at Home clients 65+ (ESP 2013, Dobson) for YEAR, recomputed from the
    truth's clients by band (their total agrees exactly with the crude numerator, see above):
    equal to 1e-9 wherever published."""
    rows = _year_rows(published, "hh_clients_per_1000_aged_65_plus_dsr").join(
        expected_dsr(truth), on=["area_level", "area_id"], how="left"
    )
    n_areas = sum(truth.hierarchy[c].n_unique() for c in HIERARCHY_COLUMNS.values())
    assert rows.height == n_areas and rows["x"].null_count() == 0
    shown = rows.filter(~pl.col("suppressed"))
    assert shown.filter(pl.col("area_level") == "municipality").height == 1
    # published only from a total count above the disclosure threshold (10; at least the
    # methods' minimum of 10 for a DSR)
    assert (shown["method"] == "dsr_dobson").all() and (shown["x"] > 10).all()
    assert rows.filter(pl.col("x").is_between(1, 10))["suppressed"].all()
    assert (shown["numerator"] == shown["x"]).all()
    for got, exp in (
        ("denominator", "n"),
        ("value", "e_value"),
        ("lower_95", "e_l95"),
        ("upper_95", "e_u95"),
        ("lower_998", "e_l998"),
        ("upper_998", "e_u998"),
    ):
        bad = shown.filter(~_close(pl.col(got), pl.col(exp)))
        assert bad.height == 0, (got, bad.select("area_id", "x", got, exp))


def expected_comparison(rows: pl.DataFrame) -> pl.Series:
    """compared_to_benchmark from a row's limits and the benchmark (the municipality's value)."""
    b = pl.col("benchmark")
    rule = (
        pl.when(pl.col("lower_95").is_null() | pl.col("upper_95").is_null() | b.is_null())
        .then(pl.lit("not_compared"))
        .when(pl.col("lower_998") > b)
        .then(pl.lit("much_higher"))
        .when(pl.col("lower_95") > b)
        .then(pl.lit("higher"))
        .when(pl.col("upper_998") < b)
        .then(pl.lit("much_lower"))
        .when(pl.col("upper_95") < b)
        .then(pl.lit("lower"))
        .otherwise(pl.lit("similar"))
    )
    return rows.select(rule.alias("expected"))["expected"]


def test_compared_to_benchmark(published_all: pl.DataFrame) -> None:
    # every area is compared with its municipality, a municipality with the national level
    keys = ["indicator_id", "period_start", "period_end"]
    benchmarks = {
        level: published_all.filter(pl.col("area_level") == level).select(
            *keys, pl.col("value").alias("benchmark")
        )
        for level in ("municipality", "national")
    }
    rows = pl.concat(
        [
            published_all.filter(pl.col("area_level") == "municipality").join(
                benchmarks["national"], on=keys, how="left"
            ),
            published_all.filter(~pl.col("area_level").is_in(["municipality", "national"])).join(
                benchmarks["municipality"], on=keys, how="left"
            ),
            published_all.filter(pl.col("area_level") == "national").with_columns(
                benchmark=pl.lit(None, dtype=pl.Float64)
            ),
        ]
    )
    rows = rows.with_columns(expected=expected_comparison(rows))
    # counts and medians are not compared (no rate to compare a part with the whole on), nor
    # is the national level (it has no benchmark)
    rows = rows.with_columns(
        expected=pl.when(
            pl.col("method").is_in(["count", "median"]) | (pl.col("area_level") == "national")
        )
        .then(pl.lit("not_compared"))
        .otherwise(pl.col("expected"))
    )
    bad = rows.filter(pl.col("compared_to_benchmark") != pl.col("expected"))
    assert bad.height == 0, bad.select(
        "indicator_id",
        "area_level",
        "area_id",
        "period_start",
        "value",
        "lower_95",
        "upper_95",
        "benchmark",
        "compared_to_benchmark",
        "expected",
    ).head(10)
    assert set(rows["compared_to_benchmark"].unique()) >= {"similar", "not_compared"}


def test_national_level_of_one_municipality(published_all: pl.DataFrame) -> None:
    # one municipality in the warehouse: the national level is that municipality, value for
    # value, interval for interval, suppression for suppression
    keys = ["indicator_id", "period_start", "period_end"]
    cols = ["numerator", "denominator", "value", "lower_95", "upper_95", "suppressed"]
    national = published_all.filter(pl.col("area_level") == "national")
    municipality = published_all.filter(pl.col("area_level") == "municipality")
    assert national.height == municipality.height > 0
    assert national["area_id"].unique().to_list() == ["EL"]
    both = national.select(*keys, *cols).join(
        municipality.select(*keys, *cols), on=keys, suffix="_m", validate="1:1"
    )
    assert both.height == national.height
    for c in cols:
        a, b = pl.col(c), pl.col(f"{c}_m")
        close = (a == b) if c == "suppressed" else ((a - b).abs() <= REL * b.abs())
        differ = both.filter(~(close | (a.is_null() & b.is_null())).fill_null(False))
        assert differ.height == 0, (c, differ.head(5))


# --- 3. disclosure control ----------------------------------------------------------------------


def test_no_small_count_is_published(published: pl.DataFrame, catalogue: pl.DataFrame) -> None:
    rows = published.join(
        catalogue.select("indicator_id", "min_count_for_publication", "denominator_population"),
        on="indicator_id",
    ).filter(~pl.col("indicator_id").str.starts_with("dq_"))

    def small(col: str) -> pl.Expr:
        return pl.col(col).is_between(1, pl.col("min_count_for_publication"))

    counted_denominator = pl.col("method").is_in(["proportion_wilson", "median"]) | (
        pl.col("denominator_population").is_in(["beneficiaries", "requests", "referrals"])
        & (pl.col("method") != "count")
    )
    bad = rows.filter(
        ~pl.col("suppressed") & (small("numerator") | (counted_denominator & small("denominator")))
    )
    assert bad.height == 0, bad.select(
        "indicator_id", "area_id", "period_start", "numerator", "denominator", "method"
    ).head(10)


def test_primary_suppression_is_complete(
    published: pl.DataFrame, unsuppressed: pl.DataFrame, catalogue: pl.DataFrame
) -> None:
    """Every cell whose (unsuppressed) count is from 1 to the threshold is suppressed."""
    keys = ["indicator_id", "area_level", "area_id", "period_start", "period_end"]
    rows = (
        unsuppressed.select(*keys, pl.col("numerator").alias("count"))
        .join(published.select(*keys, "suppressed", "method"), on=keys)
        .join(catalogue.select("indicator_id", "min_count_for_publication"), on="indicator_id")
        .filter(~pl.col("indicator_id").str.starts_with("dq_") & (pl.col("method") != "median"))
    )
    small = rows.filter(pl.col("count").is_between(1, pl.col("min_count_for_publication")))
    assert small.height > 100  # the small world has many small cells
    assert small["suppressed"].all()


def test_suppressed_rows_carry_nothing(published: pl.DataFrame) -> None:
    hidden = published.filter(pl.col("suppressed"))
    assert hidden.height > 0
    for col in ("numerator", "value", "lower_95", "upper_95", "lower_998", "upper_998"):
        assert hidden[col].null_count() == hidden.height, col
    assert (hidden["compared_to_benchmark"] == "not_compared").all()
    dq = published.filter(pl.col("indicator_id").str.starts_with("dq_"))
    assert dq.height > 0 and not dq["suppressed"].any()


def _relations(
    published: pl.DataFrame, areas: pl.DataFrame, catalogue: pl.DataFrame
) -> pl.DataFrame:
    """One row per (relation, cell): relation, suppressed."""
    cells = published.select(
        "indicator_id", "area_level", "area_id", "period_type", "period_start", "suppressed"
    ).join(
        catalogue.select("indicator_id", "is_additive_over_areas", "is_additive_over_time"),
        on="indicator_id",
    )
    parents = areas.select("area_level", "area_id", "parent_area_id")
    cells = cells.join(parents, on=["area_level", "area_id"], how="left")
    over_areas = cells.filter(pl.col("is_additive_over_areas"))
    # an area's own relation (as total) and its parent's (as a part)
    as_total = over_areas.select(
        pl.concat_str(
            pl.lit("area"),
            "indicator_id",
            "period_type",
            pl.col("period_start").cast(pl.String),
            "area_id",
            separator="|",
        ).alias("relation"),
        "suppressed",
    )
    as_part = over_areas.filter(pl.col("parent_area_id").is_not_null()).select(
        pl.concat_str(
            pl.lit("area"),
            "indicator_id",
            "period_type",
            pl.col("period_start").cast(pl.String),
            "parent_area_id",
            separator="|",
        ).alias("relation"),
        "suppressed",
    )
    over_time = cells.filter(pl.col("is_additive_over_time")).with_columns(
        quarter=pl.col("period_start").dt.truncate("1q").cast(pl.String),
        year=pl.col("period_start").dt.truncate("1y").cast(pl.String),
    )
    base = [pl.lit("time"), "indicator_id", "area_level", "area_id"]
    time_rel = pl.concat(
        [
            # a year with its quarters
            over_time.filter(pl.col("period_type").is_in(["year", "quarter"])).select(
                pl.concat_str(*base, pl.lit("y"), "year", separator="|").alias("relation"),
                "suppressed",
            ),
            # a quarter with its months
            over_time.filter(pl.col("period_type").is_in(["quarter", "month"])).select(
                pl.concat_str(*base, pl.lit("q"), "quarter", separator="|").alias("relation"),
                "suppressed",
            ),
        ]
    )
    return pl.concat([as_total, as_part, time_rel])


def _residuals(
    unsuppressed: pl.DataFrame, areas: pl.DataFrame, catalogue: pl.DataFrame
) -> pl.DataFrame:
    """A hidden, never-published part of each area relation whose total is more than the sum
    of its parts (records with no neighbourhood count in the municipality only): one row
    (relation, suppressed=True) per such relation, worked out from the unsuppressed counts."""
    additive = catalogue.filter(pl.col("is_additive_over_areas")).select("indicator_id")
    counts = unsuppressed.join(additive, on="indicator_id").join(
        areas.select("area_level", "area_id", "parent_area_id"), on=["area_level", "area_id"]
    )
    key = ["indicator_id", "period_type", "period_start"]
    totals = counts.select(
        *key, pl.col("area_id").alias("total_id"), pl.col("numerator").alias("total")
    )
    parts = (
        counts.filter(pl.col("parent_area_id").is_not_null())
        .group_by(*key, pl.col("parent_area_id").alias("total_id"))
        .agg(pl.col("numerator").fill_null(0).sum().alias("parts"))
    )
    residual = totals.join(parts, on=[*key, "total_id"]).filter(
        pl.col("total").fill_null(0) > pl.col("parts")
    )
    return residual.select(
        pl.concat_str(
            pl.lit("area"),
            "indicator_id",
            "period_type",
            pl.col("period_start").cast(pl.String),
            "total_id",
            separator="|",
        ).alias("relation"),
        pl.lit(True).alias("suppressed"),
    )


def test_secondary_suppression_leaves_no_cell_recoverable(
    published: pl.DataFrame,
    unsuppressed: pl.DataFrame,
    areas: pl.DataFrame,
    catalogue: pl.DataFrame,
) -> None:
    members = pl.concat(
        [_relations(published, areas, catalogue), _residuals(unsuppressed, areas, catalogue)]
    )
    per_relation = members.group_by("relation").agg(
        pl.len().alias("cells"), pl.col("suppressed").sum().alias("suppressed")
    )
    per_relation = per_relation.filter(pl.col("cells") > 1)
    assert per_relation.filter(pl.col("relation").str.starts_with("time")).height > 0
    assert per_relation.filter(pl.col("relation").str.starts_with("area")).height > 0
    recoverable = per_relation.filter(pl.col("suppressed") == 1)
    assert recoverable.height == 0, recoverable.head(10)
    # and secondary suppression did happen: more cells suppressed than small counts
    assert per_relation["suppressed"].sum() > 0


# --- 4. the needs index -------------------------------------------------------------------------


def test_needs_index_ranks_as_the_latent_deprivation(dbt_built_home: Path, truth: Truth) -> None:
    index = _query(
        dbt_built_home,
        f"select neighbourhood_id, score from marts.needs_index where year = {YEAR}",
    )
    rows = index.join(
        truth.neighbourhoods.select("neighbourhood_id", "latent_deprivation"),
        on="neighbourhood_id",
    )
    assert rows.height == index.height == truth.hierarchy.height == 40
    result = stats.spearmanr(
        rows["score"].to_numpy(), rows["latent_deprivation"].to_numpy(), alternative="greater"
    )
    rho, p = float(result.statistic), float(result.pvalue)
    print(f"\nneeds index {YEAR}: Spearman with the latent deprivation {rho:.3f} (p={p:.2g})")
    assert rho >= SPEARMAN_MIN_SMALL
    assert p <= SPEARMAN_P_MAX
