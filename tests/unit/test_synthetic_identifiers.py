"""Synthetic ΑΜΚΑ / ΑΦΜ / phone numbers, checked against python-stdnum and published vectors."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.gr import amka as std_amka
from stdnum.gr import vat as std_vat

from synthetic import identifiers as ids

# Published test vectors, copied from /work/shared/reference/greek_id_check_test_vectors.csv
# (sources: python-stdnum doctests stdnum/gr/amka.py and stdnum/gr/vat.py; hex.pm localflavor_gr
# 0.1.0 lib/validate_amka.ex; pypi amka-py README).
VECTORS = [
    ("AMKA", "01013099997", True),
    ("AMKA", "01013099999", False),
    ("AMKA", "21068302674", True),
    ("AMKA", "21068302673", False),
    ("AMKA", "20108201821", True),
    ("AMKA", "02058401528", True),
    ("AMKA", "52058401523", False),
    ("AMKA", "09095986684", True),
    ("AMKA", "09095986680", False),
    ("AFM", "094259216", True),
    ("AFM", "123456781", False),
]


@pytest.mark.parametrize(("kind", "value", "valid"), VECTORS)
def test_published_vectors(kind: str, value: str, valid: bool) -> None:
    if kind == "AMKA":
        assert ids.is_valid_amka(value) is valid
        if valid:  # the check-digit function reproduces the published check digit
            assert ids.amka_check_digit(value[:10]) == value[10]
    else:
        assert ids.is_valid_afm(value) is valid
        if valid:
            assert ids.afm_check_digit(value[:8]) == value[8]


def test_check_digits_match_stdnum() -> None:
    rng = np.random.default_rng(3)
    bodies10 = rng.integers(0, 10**10, size=2000)
    got = ids.luhn_check_digits(bodies10, 10)
    for b, c in zip(bodies10, got, strict=True):
        assert str(c) == luhn.calc_check_digit(f"{b:010d}")
    bodies8 = rng.integers(0, 10**8, size=2000)
    got = ids.afm_check_digits(bodies8)
    for b, c in zip(bodies8, got, strict=True):
        assert str(c) == std_vat.calc_check_digit(f"{b:08d}")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_own_amka_check_agrees_with_stdnum(value: str) -> None:
    assert ids.is_valid_amka(value) == std_amka.is_valid(value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_own_afm_check_agrees_with_stdnum(value: str) -> None:
    assert ids.is_valid_afm(value) == std_vat.is_valid(value)


def _random_dates(rng: np.random.Generator, n: int) -> np.ndarray:
    start = np.datetime64("1915-01-01")
    return start + rng.integers(0, 105 * 365, size=n).astype("timedelta64[D]")


def test_amka_valid_unique_and_encodes_birth_date_and_sex() -> None:
    rng = np.random.default_rng(11)
    n = 40_000
    birth = _random_dates(rng, n)
    male = rng.random(n) < 0.5
    amka = ids.make_amka(birth, male, rng)
    assert len(set(amka.tolist())) == n
    for a, b, m in zip(amka.tolist(), birth.tolist(), male.tolist(), strict=True):
        assert re.fullmatch(r"\d{11}", a)
        assert std_amka.is_valid(a)
        assert std_amka.get_gender(a) == ("M" if m else "F")
        d = std_amka.get_birth_date(a)  # stdnum guesses the century; compare DDMMYY
        assert (d.day, d.month, d.year % 100) == (b.day, b.month, b.year % 100)
    # days 01-09 → a leading zero in ≈ 9/30.4 of numbers (what makes "lost zero" faults possible)
    share0 = np.mean([a[0] == "0" for a in amka.tolist()])
    assert 0.26 < share0 < 0.33


def test_amka_unique_when_many_share_a_birth_date_and_centuries_collide() -> None:
    rng = np.random.default_rng(5)
    # 3,000 men born the same day, plus people born exactly 100 years apart (same DDMMYY)
    birth = np.array(
        [np.datetime64("1950-03-07")] * 3000
        + [np.datetime64("1920-05-01")] * 500
        + [np.datetime64("2020-05-01")] * 500,
        dtype="datetime64[D]",
    )
    male = np.ones(birth.size, dtype=bool)
    amka = ids.make_amka(birth, male, rng)
    assert len(set(amka.tolist())) == birth.size
    assert all(std_amka.is_valid(a) for a in amka.tolist())
    with pytest.raises(ValueError):
        ids.make_amka(np.array([np.datetime64("1950-03-07")] * 5001), np.ones(5001, bool), rng)


def test_amka_partitions_do_not_collide() -> None:
    rng = np.random.default_rng(8)
    birth = np.array([np.datetime64("1980-10-10")] * 2000, dtype="datetime64[D]")
    male = np.zeros(birth.size, dtype=bool)
    a = ids.make_amka(birth, male, rng, partition=(0, 2))
    b = ids.make_amka(birth, male, rng, partition=(1, 2))
    assert not set(a.tolist()) & set(b.tolist())
    assert len(set(a.tolist()) | set(b.tolist())) == 4000


def test_afm_valid_unique_leading_zero_share() -> None:
    rng = np.random.default_rng(2)
    n = 60_000
    afm = ids.make_afm(n, rng, leading_zero_share=0.05)
    vals = afm.tolist()
    assert len(set(vals)) == n
    assert all(re.fullmatch(r"\d{9}", v) for v in vals)
    assert all(std_vat.is_valid(v) for v in vals)
    share0 = np.mean([v[0] == "0" for v in vals])
    assert 0.04 < share0 < 0.06


def test_afm_exclude() -> None:
    rng = np.random.default_rng(4)
    first = ids.make_afm(5000, rng)
    second = ids.make_afm(5000, rng, exclude=first.astype(np.int64))
    assert not set(first.tolist()) & set(second.tolist())


def test_phones() -> None:
    rng = np.random.default_rng(9)
    mob = ids.make_mobiles(50_000, rng).tolist()
    land = ids.make_landlines(20_000, rng).tolist()
    assert len(set(mob)) == len(mob) and len(set(land)) == len(land)
    assert all(re.fullmatch(r"69\d{8}", m) for m in mob)
    assert all(re.fullmatch(r"2810[23]\d{5}", x) for x in land)


def test_deterministic() -> None:
    birth = _random_dates(np.random.default_rng(0), 1000)
    male = np.arange(1000) % 2 == 0
    a1 = ids.make_amka(birth, male, np.random.default_rng(42))
    a2 = ids.make_amka(birth, male, np.random.default_rng(42))
    assert a1.tolist() == a2.tolist()
    assert ids.make_afm(100, np.random.default_rng(1)).tolist() == (
        ids.make_afm(100, np.random.default_rng(1)).tolist()
    )
    assert date(1930, 1, 1) == std_amka.get_birth_date("01013099997")
