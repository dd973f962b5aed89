"""Properties of the whole generator at the small scale (issue: the synthetic municipality)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import polars as pl
import pytest
from scipy.stats import spearmanr
from stdnum.gr import amka as stdnum_amka
from stdnum.gr import vat as stdnum_vat

from synthetic.config import GeneratorConfig
from synthetic.generate import generate
from tests.conftest import SMALL_SEED

REPO = Path(__file__).resolve().parents[2]
HIERARCHY = REPO / "dbt_project" / "seeds" / "reference" / "ref_geography_hierarchy.csv"


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(small_world_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(GeneratorConfig.for_scale("small", seed=SMALL_SEED), again)
    assert _tree_digest(again) == _tree_digest(small_world_dir)


def test_other_seed_gives_other_exports(small_world_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(GeneratorConfig.for_scale("small", seed=SMALL_SEED + 1), other)
    a = _tree_digest(small_world_dir / "exports")
    b = _tree_digest(other / "exports")
    assert a != b


def test_neighbourhood_populations_add_up_to_census(small_world_dir: Path) -> None:
    # the census figures come from the dbt seed (ELSTAT), independently of the generator
    census = {
        r["area_code"]: int(r["pop_2011_resident"])
        for r in csv.DictReader(HIERARCHY.read_text(encoding="utf-8").splitlines())
        if r["area_level"] in ("community", "municipality")
    }
    nb = pl.read_csv(
        small_world_dir / "exports" / "7101" / "reference" / "neighbourhoods.csv",
        schema_overrides={"community_code": pl.String},
    )
    by_comm = dict(nb.group_by("community_code").agg(pl.col("population_2011").sum()).iter_rows())
    communities = {k: v for k, v in census.items() if len(k) == 8}
    assert by_comm == communities
    assert nb["population_2011"].sum() == census["7101"]
    city = nb.filter(pl.col("community_code") == "71010101")
    assert 15 <= city.height <= 25
    assert city["is_illustrative"].all()


def test_simulated_residents_follow_the_scale(small_world_dir: Path) -> None:
    nb = pl.read_csv(small_world_dir / "truth" / "neighbourhoods.csv")
    persons = pl.read_parquet(small_world_dir / "truth" / "persons.parquet")
    assert 10_000 <= persons.height <= 25_000  # one resident in ten
    counts = persons.group_by("neighbourhood_id").len()
    joined = nb.join(counts, on="neighbourhood_id", how="left").fill_null(0)
    factor = GeneratorConfig.for_scale("small").scale.population_factor
    expected = (joined["population_2011"] * factor + 0.5).floor().cast(pl.Int64)
    assert (joined["len"] == expected).all()


def test_every_identifier_validates(small_world_dir: Path) -> None:
    persons = pl.read_parquet(small_world_dir / "truth" / "persons.parquet")
    amka = persons["amka"].drop_nulls().to_list()
    afm = persons["afm"].drop_nulls().to_list()
    assert len(amka) > 0.8 * persons.height
    assert all(stdnum_amka.is_valid(a) for a in amka)
    assert all(stdnum_vat.is_valid(a) for a in afm)
    assert len(set(amka)) == len(amka)
    assert len(set(afm)) == len(afm)
    # ΑΜΚΑ carries the birth date and the sex
    # (the century is not encoded: stdnum guesses it, so compare day, month and year mod 100)
    for row in persons.drop_nulls("amka").head(500).iter_rows(named=True):
        got = stdnum_amka.get_birth_date(row["amka"])
        born = row["birth_date"]
        assert (got.day, got.month, got.year % 100) == (born.day, born.month, born.year % 100)
        assert stdnum_amka.get_gender(row["amka"]) == row["sex"]


def _rates_by_neighbourhood(world: Path, entities: list[str], denominator: pl.Expr) -> pl.DataFrame:
    records = pl.read_parquet(world / "truth" / "records.parquet")
    persons = pl.read_parquet(world / "truth" / "persons.parquet")
    nb = pl.read_csv(world / "truth" / "neighbourhoods.csv")
    users = (
        records.filter(pl.col("entity").is_in(entities), pl.col("person_id").is_not_null())
        .join(persons.select("person_id", "neighbourhood_id"), on="person_id")
        .group_by("neighbourhood_id")
        .agg(pl.col("person_id").n_unique().alias("users"))
    )
    pop = persons.group_by("neighbourhood_id").agg(denominator.alias("pop"))
    return (
        nb.join(pop, on="neighbourhood_id")
        .join(users, on="neighbourhood_id", how="left")
        .fill_null(0)
        .filter(pl.col("pop") >= 50)
        .with_columns(rate=pl.col("users") / pl.col("pop"))
    )


def test_service_use_rises_with_deprivation(small_world_dir: Path) -> None:
    # users of the two poverty services (community centre, social grocery) per resident
    df = _rates_by_neighbourhood(small_world_dir, ["beneficiaries", "households"], pl.len())
    rho = spearmanr(df["latent_deprivation"], df["rate"]).statistic
    assert rho > 0.3, rho


def test_home_help_rises_with_ageing(small_world_dir: Path) -> None:
    from datetime import date

    over65 = (pl.col("birth_date") <= date(1955, 1, 1)).sum()
    df = _rates_by_neighbourhood(small_world_dir, ["clients"], over65)
    rho = spearmanr(df["latent_ageing"], df["rate"]).statistic
    assert rho > 0.3, rho


@pytest.mark.parametrize(
    "entity",
    [
        "beneficiaries",
        "services",
        "intake",
        "households",
        "distributions",
        "clients",
        "visits",
        "requests",
    ],
)
def test_every_entity_has_monthly_files(small_world_dir: Path, entity: str) -> None:
    files = pl.read_csv(small_world_dir / "truth" / "files.csv", infer_schema_length=0)
    mine = files.filter(pl.col("entity") == entity)
    periods = set(mine["period"].to_list())
    assert {f"2020-{m:02d}" for m in range(1, 13)} <= periods


def test_each_row_fault_occurs_at_its_configured_rate(small_world_dir: Path) -> None:
    cfg = GeneratorConfig.for_scale("small")
    row_faults = cfg.faults["row_faults"]
    stats = pl.read_csv(small_world_dir / "truth" / "fault_stats.csv")
    faults = pl.read_csv(small_world_dir / "truth" / "faults.csv", infer_schema_length=0)
    files = pl.read_csv(small_world_dir / "truth" / "files.csv", infer_schema_length=0)
    injected = (
        faults.filter(pl.col("detail").is_null() | (pl.col("detail") != "not in world"))
        .join(
            files.filter(
                pl.col("is_resend") == "false", pl.col("wrong_folder_of").is_null()
            ).select(pl.col("path").alias("file"), "source", "entity"),
            on="file",
        )
        .with_columns(key=pl.concat_str("source", pl.lit("."), "entity"))
        .group_by("fault", "key")
        .len()
    )
    counts = {(f, k): n for f, k, n in injected.iter_rows()}
    assert stats.height > 30
    for row in stats.iter_rows(named=True):
        spec = row_faults[row["fault"]]
        rate = spec.get("entity_rates", {}).get(row["entity"], spec["rate"])
        assert row["rate"] == rate
        target = int(rate * row["eligible"] + 0.5)
        assert row["realised"] == target, row
        assert counts.get((row["fault"], row["entity"]), 0) == target, row


def test_file_level_faults_are_present(small_world_dir: Path) -> None:
    faults = pl.read_csv(small_world_dir / "truth" / "faults.csv", infer_schema_length=0)
    kinds = set(faults["fault"].to_list())
    assert {"resent_month", "truncated_file", "empty_file", "wrong_folder", "totals_row"} <= kinds
    exports = small_world_dir / "exports"
    for f in faults.filter(pl.col("fault") == "empty_file")["file"]:
        assert (exports / f).stat().st_size == 0
