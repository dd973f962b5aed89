"""The households reference file (reference/households.csv): households per neighbourhood at the
reference date, checked against hand-worked cases and against the truth worked out again here."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from synthetic.config import SCALES, GeneratorConfig
from synthetic.generate import generate
from synthetic.geography import households_by_neighbourhood, population_by_band, residents_at

REF = date(2020, 6, 14)
IDS = ["71010101-01", "71010101-02", "71010101-03", "71010404-01"]


def _persons() -> pl.DataFrame:
    # household 1: two living members in -01          -> counts once in -01
    # household 2: one member dead on REF, one alive  -> counts in -02
    # household 3: only member dead on REF            -> not counted
    # household 4: only member dies the day after REF -> counts in -01
    # household 5: only member born after REF         -> not counted
    # household 6: a homeless person (own household)  -> counts in 71010404-01
    # household 7: members recorded in -01 and -02    -> counts in both (a member lives there)
    # household 8: only member born on REF            -> counts in -02
    rows = [
        (1, "71010101-01", date(1980, 1, 1), None, False),
        (1, "71010101-01", date(2010, 1, 1), None, False),
        (2, "71010101-02", date(1950, 1, 1), REF, False),
        (2, "71010101-02", date(1955, 1, 1), None, False),
        (3, "71010101-02", date(1930, 1, 1), REF, False),
        (4, "71010101-01", date(1940, 1, 1), date(2020, 6, 15), False),
        (5, "71010101-02", date(2020, 6, 15), None, False),
        (6, "71010404-01", date(1970, 1, 1), None, True),
        (7, "71010101-01", date(1990, 1, 1), None, False),
        (7, "71010101-02", date(1991, 1, 1), None, False),
        (8, "71010101-02", REF, None, False),
    ]
    return pl.DataFrame(
        {
            "household_id": [r[0] for r in rows],
            "neighbourhood_id": [r[1] for r in rows],
            "sex": ["F", "M"] * 5 + ["F"],
            "birth_date": [r[2] for r in rows],
            "death_on": [r[3] for r in rows],
            "is_homeless": [r[4] for r in rows],
        },
        schema_overrides={"household_id": pl.Int64, "death_on": pl.Date},
    )


def test_households_by_neighbourhood_hand_worked() -> None:
    out = households_by_neighbourhood(_persons(), REF, IDS)
    assert out.columns == ["neighbourhood_id", "households"]
    assert out.schema["households"] == pl.Int64
    assert out.rows() == [
        ("71010101-01", 3),  # households 1, 4, 7
        ("71010101-02", 3),  # households 2, 7, 8
        ("71010101-03", 0),
        ("71010404-01", 1),  # household 6 (homeless)
    ]


def test_households_keep_the_given_order_and_the_population_filter() -> None:
    ids = list(reversed(IDS))
    out = households_by_neighbourhood(_persons(), REF, ids)
    assert out["neighbourhood_id"].to_list() == ids
    # a neighbourhood has households exactly when it has residents (same living-person filter)
    pop = (
        population_by_band(_persons(), REF, ids)
        .group_by("neighbourhood_id")
        .agg(pl.col("population").sum())
    )
    both = out.join(pop, on="neighbourhood_id")
    assert ((both["households"] > 0) == (both["population"] > 0)).all()
    assert (both["households"] <= both["population"]).all()
    assert residents_at(_persons(), REF).height == pop["population"].sum() == 8


def test_households_refuse_unknown_neighbourhoods() -> None:
    with pytest.raises(ValueError, match="unknown neighbourhoods"):
        households_by_neighbourhood(_persons(), REF, IDS[:2])


# --- the generated world ----------------------------------------------------------------------


def _expected_from_truth(truth: Path, ref: date) -> dict[str, int]:
    """Households with a living member at `ref`, by the household's own neighbourhood (from
    households.parquet), counted row by row in plain Python."""
    households = pl.read_parquet(
        truth / "households.parquet", columns=["household_id", "neighbourhood_id"]
    )
    persons = pl.read_parquet(
        truth / "persons.parquet", columns=["household_id", "birth_date", "death_on"]
    )
    living: set[int] = set()
    for hid, born, died in persons.iter_rows():
        if born <= ref and (died is None or died > ref):
            living.add(hid)
    out: dict[str, int] = defaultdict(int)
    for hid, nb in households.iter_rows():
        if hid in living:
            out[nb] += 1
    return dict(out)


def _check_municipality(root: Path, code: str, ref: date) -> int:
    ref_dir = root / "exports" / code / "reference"
    got = pl.read_csv(ref_dir / "households.csv", schema_overrides={"neighbourhood_id": pl.String})
    assert got.columns == ["neighbourhood_id", "households"]
    nb = pl.read_csv(
        ref_dir / "neighbourhoods.csv", schema_overrides={"neighbourhood_id": pl.String}
    )
    assert got["neighbourhood_id"].to_list() == nb["neighbourhood_id"].to_list()
    expected = _expected_from_truth(root / "truth", ref)
    mine = {k: v for k, v in expected.items() if k.startswith(code)}
    assert {k: v for k, v in got.iter_rows() if v > 0} == mine
    return int(got["households"].sum())


def test_small_world_households_match_the_truth(small_world_dir: Path) -> None:
    manifest = json.loads((small_world_dir / "truth" / "manifest.json").read_text("utf-8"))
    ref = date.fromisoformat(manifest["scale"]["start"])
    total = _check_municipality(small_world_dir, "7101", ref)
    households = pl.read_parquet(small_world_dir / "truth" / "households.parquet")
    persons = pl.read_parquet(small_world_dir / "truth" / "persons.parquet")
    # the small world has nobody born after or dead on/before its start: every household counts
    assert persons["birth_date"].max() <= ref
    assert persons["death_on"].drop_nulls().min() > ref
    assert total == households.height
    # homeless persons are in it, one household each (as population.csv counts them)
    homeless = persons.filter(pl.col("is_homeless"))
    assert homeless.height > 0
    assert homeless["household_id"].n_unique() == homeless.height
    pop = pl.read_csv(small_world_dir / "exports" / "7101" / "reference" / "population.csv")
    assert pop["population"].sum() == persons.height


def test_national_run_writes_households_for_every_municipality(tmp_path: Path) -> None:
    cfg = GeneratorConfig.for_scale(
        "national", seed=11, municipalities=2, population_factor=SCALES["small"].population_factor
    )
    generate(cfg, tmp_path)
    codes = sorted(p.name for p in (tmp_path / "exports").iterdir())
    assert len(codes) == 2
    households = pl.read_parquet(tmp_path / "truth" / "households.parquet")
    total = sum(_check_municipality(tmp_path, code, cfg.scale.start) for code in codes)
    assert 0 < total <= households.height
