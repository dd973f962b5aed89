"""The needs index on the municipal-scale synthetic municipality (seed 42, 2019–2023).

At the small scale (one resident in ten, one year) the service counts of a neighbourhood are a
handful of people, and no ranking of them can recover the latent deprivation (Spearman ≈ 0.4
there). The issue's bar, Spearman ≥ 0.85 between the index and the generator's latent
deprivation, is therefore checked here, at the scale it is stated for: the municipal world is
generated, ingested and `dbt build --select +needs_index` is run (about a minute and a half).

Two checks:
1. The SQL index equals an independent implementation written here with numpy/scipy from the
   same inputs (the unsuppressed counts of intermediate.int_indicator_values and the catalogue's
   weights): three years pooled, Marshall's empirical Bayes shrinkage, average ranks, normal
   scores with scipy's Φ⁻¹, the exponential transform, the domain weights.
2. For every year whose index pools three years (2021–2023), Spearman ≥ 0.85 with the latent
   deprivation of truth/neighbourhoods.csv. Measured with seed 42: 0.916, 0.888, 0.856 (and
   0.801, 0.881 for 2019 and 2020, which pool one and two years).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from ingest.warehouse import query_pl
from tests.dbt._dbt import run_dbt

pytestmark = pytest.mark.slow

MUNICIPAL_SEED = 42
TEST_KEY = bytes(range(32))
MIN_SPEARMAN = 0.85
POOLED_YEARS = 3


@pytest.fixture(scope="module")
def municipal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(GEITONIA_HOME with the needs index built, generated world folder)."""
    from ingest.pipeline import IngestContext, ingest_landing
    from ingest.pseudonymise import Pseudonymiser
    from ingest.warehouse import Warehouse
    from synthetic.config import GeneratorConfig
    from synthetic.generate import generate

    world = tmp_path_factory.mktemp("municipal_world")
    generate(GeneratorConfig.for_scale("municipal", seed=MUNICIPAL_SEED), world)
    home = tmp_path_factory.mktemp("municipal_home")
    with Warehouse.open(home / "warehouse" / "geitonia.duckdb") as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(TEST_KEY), archive_dir=home / "archive"
        )
        ingest_landing(world / "exports", ctx)
    result = run_dbt(home, "build", "--select", "+needs_index", "--indirect-selection", "cautious")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return home, world


def _query(home: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(home / "warehouse" / "geitonia.duckdb"), read_only=True)
    try:
        return query_pl(con, sql, [])
    finally:
        con.close()


def _exp_transform(score: np.ndarray) -> np.ndarray:
    r = stats.rankdata(score) / len(score)  # average ranks, most need = 1
    return -23 * np.log(1 - r * (1 - np.exp(-100 / 23)))


def independent_index(inputs: pl.DataFrame, domain_weights: dict[str, float]) -> pl.DataFrame:
    """The needs index of indicators.md from yearly counts: columns indicator_id, domain,
    weight, neighbourhood_id, year, x, n. Returns neighbourhood_id, year, score."""
    out = []
    years = sorted(inputs["year"].unique())
    for year in years:
        window = inputs.filter(
            (pl.col("year") <= year) & (pl.col("year") > year - POOLED_YEARS) & (pl.col("n") > 0)
        )
        pooled = window.group_by("indicator_id", "domain", "weight", "neighbourhood_id").agg(
            pl.col("x").sum(), pl.col("n").sum()
        )
        domains: dict[str, list[tuple[float, np.ndarray]]] = {}
        areas = None
        for _, g in pooled.group_by(["indicator_id"]):
            g = g.sort("neighbourhood_id")
            areas = g["neighbourhood_id"]
            x, n = g["x"].to_numpy(), g["n"].to_numpy()
            rate = x / n
            m = x.sum() / n.sum()
            between = (n * (rate - m) ** 2).sum() / n.sum() - m / (n.sum() / len(n))
            if m > 0 and between > 0:
                rate = m + (rate - m) * between / (between + m / n)
            else:
                rate = np.full_like(rate, m)
            normal = stats.norm.ppf(stats.rankdata(rate) / (len(rate) + 1))
            domains.setdefault(g["domain"][0], []).append((g["weight"][0], normal))
        score = sum(
            domain_weights[d]
            * _exp_transform(sum(w * s for w, s in parts) / sum(w for w, _ in parts))
            for d, parts in domains.items()
        ) / sum(domain_weights[d] for d in domains)
        out.append(pl.DataFrame({"neighbourhood_id": areas, "year": year, "expected": score}))
    return pl.concat(out)


def test_index_equals_an_independent_implementation(municipal: tuple[Path, Path]) -> None:
    home, _ = municipal
    inputs = _query(
        home,
        """
        select
            v.indicator_id,
            c.needs_index_domain as domain,
            c.needs_index_weight as weight,
            v.area_id as neighbourhood_id,
            cast(extract(year from v.period_start) as integer) as year,
            v.numerator as x,
            v.denominator as n
        from intermediate.int_indicator_values as v
        inner join reference.indicator_catalogue as c using (indicator_id)
        where c.in_needs_index and v.area_level = 'neighbourhood' and v.period_type = 'year'
        """,
    )
    weights = dict(
        _query(
            home, "select needs_index_domain, domain_weight from reference.needs_index_domains"
        ).iter_rows()
    )
    expected = independent_index(inputs, weights)
    got = _query(
        home, "select neighbourhood_id, cast(year as integer) as year, score from marts.needs_index"
    )
    joined = got.join(expected, on=["neighbourhood_id", "year"], how="full", coalesce=True)
    assert joined.height == got.height == expected.height == 40 * 5
    diff = (joined["score"] - joined["expected"]).abs().max()
    assert diff < 1e-6, f"largest difference between SQL and the independent index: {diff}"


def test_index_ranks_as_the_latent_deprivation(municipal: tuple[Path, Path]) -> None:
    home, world = municipal
    truth = pl.read_csv(world / "truth" / "neighbourhoods.csv").select(
        "neighbourhood_id", "latent_deprivation"
    )
    index = _query(
        home,
        "select neighbourhood_id, cast(year as integer) as year, years_pooled, score from marts.needs_index",
    ).join(truth, on="neighbourhood_id")
    rho = {}
    for (year,), g in index.group_by(["year"]):
        rho[year] = (
            g["years_pooled"].min(),
            float(stats.spearmanr(g["score"], g["latent_deprivation"]).statistic),
        )
    full = {y: r for y, (pooled, r) in rho.items() if pooled == POOLED_YEARS}
    assert len(full) == 3, rho
    assert all(r >= MIN_SPEARMAN for r in full.values()), f"Spearman by year: {sorted(rho.items())}"
