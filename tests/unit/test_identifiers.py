"""ingest.identifiers: ΑΜΚΑ and ΑΦΜ checks, repairs, and the vectorised variants."""

from __future__ import annotations

import calendar

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gr import amka as stdnum_amka
from stdnum.gr import vat as stdnum_vat

import ingest.identifiers as ids
from ingest.identifiers import IdCheck, check_afm, check_afm_series, check_amka, check_amka_series

# Published test vectors, copied from /work/shared/reference/greek_id_check_test_vectors.csv.
# Sources: python-stdnum stdnum/gr/amka.py and stdnum/gr/vat.py doctests (LGPL-2.1);
# hex.pm localflavor_gr 0.1.0 lib/validate_amka.ex doctests; pypi.org/project/amka-py README.
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


# An independent reading of the published rules (greek_id_check_rules.md), not stdnum's code.
def ref_amka(n: str) -> bool:
    if len(n) != 11 or not n.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(n)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    dd, mm, yy = int(n[:2]), int(n[2:4]), int(n[4:6])
    if not 1 <= mm <= 12:
        return False
    ok_date = any(1 <= dd <= calendar.monthrange(c + yy, mm)[1] for c in (1900, 2000))
    return total % 10 == 0 and ok_date


def ref_afm(n: str) -> bool:
    if len(n) != 9 or not n.isdigit():
        return False
    s = sum(int(n[i]) * 2 ** (8 - i) for i in range(8))
    return s % 11 % 10 == int(n[8])


def _luhn_ok(n: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(n)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


def afm_complete(first8: str) -> str:
    s = sum(int(first8[i]) * 2 ** (8 - i) for i in range(8))
    return first8 + str(s % 11 % 10)


@pytest.mark.parametrize(("kind", "value", "valid"), VECTORS)
def test_published_vectors(kind: str, value: str, valid: bool) -> None:
    check = check_amka if kind == "AMKA" else check_afm
    assert (ref_amka(value) if kind == "AMKA" else ref_afm(value)) is valid  # the reference
    res = check(value)
    assert res.valid is valid
    if valid:
        assert res == IdCheck(value, "valid", None, None)
    else:
        assert res == IdCheck(None, "invalid", None, f"{kind.lower()}_invalid")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01013099997", IdCheck("01013099997", "valid")),
        (" 01013099997 ", IdCheck("01013099997", "valid")),  # surrounding blanks: no repair
        ("010130 99997", IdCheck("01013099997", "valid", "amka_whitespace_removed")),
        ("01 01 30 99997", IdCheck("01013099997", "valid", "amka_whitespace_removed")),
        ("0101.3099.997", IdCheck("01013099997", "valid", "amka_whitespace_removed")),
        ("0101-309-9997", IdCheck("01013099997", "valid", "amka_whitespace_removed")),
        ("1013099997", IdCheck("01013099997", "valid", "amka_leading_zero_restored")),
        ("1013099997.0", IdCheck("01013099997", "valid", "amka_leading_zero_restored")),
        ("1.013099997E+09", IdCheck("01013099997", "valid", "amka_leading_zero_restored")),
        (1013099997, IdCheck("01013099997", "valid", "amka_leading_zero_restored")),
        (1013099997.0, IdCheck("01013099997", "valid", "amka_leading_zero_restored")),
        (21068302674, IdCheck("21068302674", "valid")),
        ("101309 9997", IdCheck("01013099997", "valid", "amka_leading_zero_restored")),
        # 10 digits whose 0-padded form is invalid: not repaired
        ("1013099999", IdCheck(None, "invalid", None, "amka_invalid")),
        ("2106830267", IdCheck(None, "invalid", None, "amka_invalid")),
        ("01013099999", IdCheck(None, "invalid", None, "amka_invalid")),
        ("0101309999", IdCheck(None, "invalid", None, "amka_invalid")),  # 10 digits, bad
        ("010130999970", IdCheck(None, "invalid", None, "amka_invalid")),  # 12 digits
        ("Α1013099997", IdCheck(None, "invalid", None, "amka_invalid")),
        ("32013099990", IdCheck(None, "invalid", None, "amka_invalid")),  # day 32
        (None, IdCheck(None, "missing")),
        ("", IdCheck(None, "missing")),
        ("   ", IdCheck(None, "missing")),
        ("-", IdCheck(None, "missing")),
        ("nan", IdCheck(None, "missing")),
        ("NULL", IdCheck(None, "missing")),
        (float("nan"), IdCheck(None, "missing")),
        ("00000000000", IdCheck(None, "missing")),
        ("0", IdCheck(None, "missing")),
    ],
)
def test_check_amka_cases(raw: object, expected: IdCheck) -> None:
    assert check_amka(raw) == expected


def test_amka_dates_both_centuries() -> None:
    # 29 February: '00' is valid (2000 is a leap year), '01' is not; 30 February never
    for first10, ok in [("2902000000", True), ("2902010000", False), ("3002000000", False)]:
        full = next(first10 + c for c in "0123456789" if _luhn_ok(first10 + c))
        assert check_amka(full).valid is ok, full
        assert stdnum_amka.is_valid(full) is ok


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("094259216", IdCheck("094259216", "valid")),
        ("94259216", IdCheck("094259216", "valid", "afm_leading_zero_restored")),
        (94259216, IdCheck("094259216", "valid", "afm_leading_zero_restored")),
        ("94259216.0", IdCheck("094259216", "valid", "afm_leading_zero_restored")),
        ("EL094259216", IdCheck("094259216", "valid")),
        ("el 094259216", IdCheck("094259216", "valid")),
        ("GR94259216", IdCheck("094259216", "valid", "afm_leading_zero_restored")),
        ("094 259 216", IdCheck("094259216", "valid", "afm_whitespace_removed")),
        ("094.259.216", IdCheck("094259216", "valid", "afm_whitespace_removed")),
        ("123456781", IdCheck(None, "invalid", None, "afm_invalid")),
        ("12345678", IdCheck(None, "invalid", None, "afm_invalid")),  # 0-padded is invalid too
        ("0942592160", IdCheck(None, "invalid", None, "afm_invalid")),
        ("ΑΦΜ", IdCheck(None, "invalid", None, "afm_invalid")),
        ("", IdCheck(None, "missing")),
        (None, IdCheck(None, "missing")),
        ("000000000", IdCheck(None, "missing")),
    ],
)
def test_check_afm_cases(raw: object, expected: IdCheck) -> None:
    assert ref_afm("012345678") is False  # so "12345678" above cannot be repaired
    assert check_afm(raw) == expected


# --- agreement with the reference and with stdnum on many numbers ------------------------------


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
@settings(max_examples=1500, deadline=None)
def test_amka_agrees_with_reference_and_stdnum(n: str) -> None:
    expected = ref_amka(n) and n != "0" * 11
    assert check_amka(n).valid is expected
    assert stdnum_amka.is_valid(n) is ref_amka(n)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
@settings(max_examples=1500, deadline=None)
def test_afm_agrees_with_reference_and_stdnum(n: str) -> None:
    assert check_afm(n).valid is (ref_afm(n) and n != "0" * 9)
    assert stdnum_vat.is_valid(n) is ref_afm(n)


def _amka_sample(rng: np.random.Generator, n: int) -> list[object]:
    """Valid numbers, near misses and the messy forms seen in exports."""
    out: list[object] = []
    for _ in range(n):
        dd, mm, yy = int(rng.integers(1, 32)), int(rng.integers(0, 14)), int(rng.integers(0, 100))
        first10 = f"{dd:02d}{mm:02d}{yy:02d}{int(rng.integers(0, 10000)):04d}"
        good = next(first10 + c for c in "0123456789" if _luhn_ok(first10 + c))
        r = rng.random()
        if r < 0.35:
            out.append(good)
        elif r < 0.55:
            out.append(f"{int(rng.integers(0, 10**11)):011d}")  # random, mostly invalid
        elif r < 0.65:
            out.append(good.lstrip("0") if good[0] == "0" else good[1:])  # lost zero / cut
        elif r < 0.72:
            out.append(f"{good[:6]} {good[6:]}")
        elif r < 0.77:
            out.append(f"{int(good)}.0")
        elif r < 0.82:
            out.append(int(good))
        elif r < 0.87:
            out.append(None)
        elif r < 0.9:
            out.append("")
        else:
            out.append(good[:-1] + str((int(good[-1]) + 1) % 10))  # bad check digit
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_amka_series_equals_scalar(seed: int) -> None:
    values = _amka_sample(np.random.default_rng(seed), 3000)
    strings = [None if v is None else str(v) for v in values]
    got = check_amka_series(pl.Series(strings, dtype=pl.String))
    expected = [check_amka(v) for v in strings]
    assert got.columns == ["value", "status", "repair", "reason"]
    assert got.rows() == [(c.value, c.status, c.repair, c.reason) for c in expected]
    assert {"valid", "invalid", "missing"} <= set(got["status"].to_list())


def test_afm_series_equals_scalar() -> None:
    rng = np.random.default_rng(7)
    values: list[str | None] = []
    for _ in range(3000):
        good = afm_complete(f"{int(rng.integers(0, 10**8)):08d}")
        r = rng.random()
        values.append(
            good
            if r < 0.4
            else f"{int(rng.integers(0, 10**9)):09d}"
            if r < 0.6
            else good[1:]
            if r < 0.7
            else "EL" + good
            if r < 0.8
            else f"{good[:3]} {good[3:]}"
            if r < 0.9
            else None
        )
    got = check_afm_series(pl.Series(values, dtype=pl.String))
    assert got.rows() == [
        (c.value, c.status, c.repair, c.reason) for c in (check_afm(v) for v in values)
    ]


def test_series_from_numeric_columns() -> None:
    # Excel readers hand over integers or floats; the leading zero is then always lost
    ints = check_amka_series(pl.Series([1013099997, None, 21068302674], dtype=pl.Int64))
    floats = check_amka_series(pl.Series([1013099997.0, None, 21068302674.0, float("nan")]))
    assert ints["value"].to_list() == ["01013099997", None, "21068302674"]
    assert ints["repair"].to_list() == ["amka_leading_zero_restored", None, None]
    assert floats["value"].to_list() == ["01013099997", None, "21068302674", None]
    assert floats["status"].to_list() == ["valid", "missing", "valid", "missing"]


def test_clean_values_take_the_vectorised_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = ids.check_amka

    def counting(raw: object) -> IdCheck:
        calls.append(raw)
        return real(raw)

    monkeypatch.setattr(ids, "check_amka", counting)
    rng = np.random.default_rng(0)
    clean = [f"{int(x):011d}" for x in rng.integers(10**9, 10**11, 5000)]
    odd = ["1013099997", "1013099997", "010130 99997"]
    out = ids.check_amka_series(pl.Series(clean + odd))
    assert sorted(calls) == sorted(set(odd))  # only the odd ones, each distinct value once
    assert out.height == len(clean) + len(odd)
    assert out["status"].to_list()[: len(clean)] == [
        "valid" if ref_amka(v) else "invalid" for v in clean
    ]
