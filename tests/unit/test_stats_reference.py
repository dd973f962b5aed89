"""Reference values for the statistical dbt macros (dbt_project/macros/stats/), worked out here.

The dbt unit tests in dbt_project/models/methods/_methods__models.yml pin the macros' output to
hard-coded expected values; this module recomputes every one of those values independently
(scipy for the quantiles, the formulas written out again below) and checks the reference
formulas themselves against scipy's own Wilson interval, the defining property of the exact
Poisson limits, and values published in the literature. It does not read the macros or the
seed-building script.
"""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from scipy.stats import binomtest, chi2, norm, poisson

ROOT = Path(__file__).resolve().parents[2]
MODELS_YML = ROOT / "dbt_project" / "models" / "methods" / "_methods__models.yml"
SEED_CSV = ROOT / "dbt_project" / "seeds" / "methods" / "stat_poisson_exact_limits.csv"

CONFIDENCES = (0.95, 0.99, 0.998)
REL = 1e-9  # the YAML values are written to 12 significant digits


# --- reference formulas ----------------------------------------------------------------------


def alpha_half(confidence: float) -> float:
    return float((1 - Decimal(str(confidence))) / 2)


def z_value(confidence: float) -> float:
    return float(norm.ppf(1 - alpha_half(confidence)))


def wilson(x: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval, written out: (2x + z² ± z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))."""
    z = z_value(confidence)
    root = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    den = 2 * (n + z * z)
    return (2 * x + z * z - root) / den, (2 * x + z * z + root) / den


def exact_poisson(x: int, confidence: float) -> tuple[float, float]:
    """Exact (Garwood) limits: qchisq((1−c)/2, 2x)/2 and qchisq(c + (1−c)/2, 2x+2)/2."""
    a = alpha_half(confidence)
    lower = 0.0 if x == 0 else chi2.ppf(a, 2 * x) / 2
    return float(lower), float(chi2.ppf(1 - a, 2 * x + 2) / 2)


def byar(x: int, confidence: float) -> tuple[float, float]:
    """Byar's approximation to the Poisson limits of a count x."""
    z = z_value(confidence)
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    y = x + 1
    upper = y * (1 - 1 / (9 * y) + z / (3 * math.sqrt(y))) ** 3
    return lower, upper


def poisson_count(x: int, confidence: float) -> tuple[float, float]:
    """The rule of the methods spec: exact below 10, Byar from 10 on."""
    return exact_poisson(x, confidence) if x < 10 else byar(x, confidence)


def rate(x: int, n: float, multiplier: float, confidence: float) -> tuple[float, float]:
    lo, hi = poisson_count(x, confidence)
    return lo / n * multiplier, hi / n * multiplier


def dobson(total: int, dsr: float, variance: float, confidence: float) -> tuple[float, float]:
    """Dobson et al. (1991): DSR + sqrt(var/O)·(O_limit − O)."""
    lo, hi = poisson_count(total, confidence)
    s = math.sqrt(variance / total)
    return dsr + s * (lo - total), dsr + s * (hi - total)


def dsr_and_variance(
    counts: list[int], pops: list[float], std: list[float], multiplier: float
) -> tuple[float, float]:
    """Directly standardised rate and its variance, both on the multiplier's scale."""
    w = sum(std)
    value = sum(s * x / p for x, p, s in zip(counts, pops, std, strict=True)) / w
    var = sum(s * s * x / (p * p) for x, p, s in zip(counts, pops, std, strict=True)) / (w * w)
    return value * multiplier, var * multiplier * multiplier


def close(actual: float | None, expected: float | None, rel: float, absolute: float = 1e-12):
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= rel * abs(expected) + absolute


# --- the reference formulas against other sources ----------------------------------------------


@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize("n", [1, 7, 10, 100, 1000, 100000])
def test_wilson_formula_matches_scipy_binomtest(n: int, confidence: float) -> None:
    xs = sorted({0, 1, 2, n // 3, n // 2, n - 1, n} & set(range(n + 1)))
    for x in xs:
        ci = binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
        lo, hi = wilson(x, n, confidence)
        assert close(lo, float(ci.low), 1e-9), (x, n, confidence, lo, ci.low)
        assert close(hi, float(ci.high), 1e-9), (x, n, confidence, hi, ci.high)
        assert -1e-15 <= lo <= x / n + 1e-15 and x / n - 1e-15 <= hi <= 1 + 1e-15


@pytest.mark.parametrize(
    ("x", "n", "lower", "upper"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (score, no CC)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published_values(x: int, n: int, lower: float, upper: float) -> None:
    lo, hi = wilson(x, n, 0.95)
    assert round(lo, 4) == pytest.approx(lower, abs=1e-12)
    assert round(hi, 4) == pytest.approx(upper, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "lower", "upper"),
    # 95% exact Poisson limits as printed in the standard tables (e.g. Breslow & Day 1987).
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (2, 0.242, 7.225), (5, 1.623, 11.668),
     (9, 4.115, 17.085), (10, 4.795, 18.390)],
)  # fmt: skip
def test_exact_poisson_published_table(x: int, lower: float, upper: float) -> None:
    lo, hi = exact_poisson(x, 0.95)
    assert round(lo, 4 if 0 < lo < 0.1 else 3) == lower
    assert round(hi, 3) == upper


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_exact_poisson_defining_property(confidence: float) -> None:
    """Upper U: P(X <= x | U) = (1−c)/2; lower L: P(X >= x | L) = (1−c)/2 (Poisson cdf, not χ²)."""
    a = alpha_half(confidence)
    for x in range(0, 60):
        lo, hi = exact_poisson(x, confidence)
        assert poisson.cdf(x, hi) == pytest.approx(a, rel=1e-9)
        if x > 0:
            assert poisson.sf(x - 1, lo) == pytest.approx(a, rel=1e-9)
        else:
            assert lo == 0.0


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_byar_close_to_exact_from_ten(confidence: float) -> None:
    """Byar's approximation is within 2% (95%: 0.2%) of the exact limits for x >= 10."""
    bound = 0.002 if confidence == 0.95 else 0.02
    for x in [*range(10, 200), 500, 1000, 5000, 100000]:
        b_lo, b_hi = byar(x, confidence)
        e_lo, e_hi = exact_poisson(x, confidence)
        assert b_lo == pytest.approx(e_lo, rel=bound)
        assert b_hi == pytest.approx(e_hi, rel=bound)
        assert b_lo < x < b_hi


def test_z_values_round_to_the_spec() -> None:
    """The methods spec quotes z = 1.959964 (95%), 3.090232 (99.8%); 2.575829 for 99%."""
    assert round(z_value(0.95), 6) == 1.959964
    assert round(z_value(0.998), 6) == 3.090232
    assert round(z_value(0.99), 6) == 2.575829


@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize(("x", "n"), [(1, 100), (3, 250), (9, 10), (10, 4000), (237, 52000)])
def test_dobson_with_one_band_is_the_rate_interval(x: int, n: int, confidence: float) -> None:
    """One band whose standard population is its population: Dobson's interval is the rate's."""
    value, var = dsr_and_variance([x], [n], [n], 1000)
    assert value == pytest.approx(x / n * 1000, rel=1e-12)
    d_lo, d_hi = dobson(x, value, var, confidence)
    r_lo, r_hi = rate(x, n, 1000, confidence)
    assert d_lo == pytest.approx(r_lo, rel=1e-9)
    assert d_hi == pytest.approx(r_hi, rel=1e-9)


def test_seed_holds_the_exact_limits() -> None:
    with SEED_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {(r["confidence"], int(r["x"])) for r in rows} == {
        (str(c), x) for c in CONFIDENCES for x in range(10)
    }
    assert len(rows) == 30
    for r in rows:
        lo, hi = exact_poisson(int(r["x"]), float(r["confidence"]))
        assert close(float(r["lower_count"]), lo, 1e-12, 0.0), r
        assert close(float(r["upper_count"]), hi, 1e-12, 0.0), r


# --- the expected values hard-coded in the dbt unit tests -------------------------------------


def _all_unit_tests() -> list[dict]:
    return yaml.safe_load(MODELS_YML.read_text(encoding="utf-8"))["unit_tests"]


QUANTILE_MODEL = "methods_normal_quantile_check"


def _unit_tests() -> list[dict]:
    """The unit tests of the interval macros (the normal quantile's are checked apart)."""
    return [t for t in _all_unit_tests() if t["model"] != QUANTILE_MODEL]


def test_normal_quantile_unit_test_expected_values() -> None:
    """The expected Φ⁻¹(p) of the normal_quantile unit test are scipy's, out-of-range null."""
    (test,) = [t for t in _all_unit_tests() if t["model"] == QUANTILE_MODEL]
    rows = _given_rows(test)
    assert len(rows) >= 16
    for row in rows:
        p = row["probability"]
        expected = float(norm.ppf(p)) if 0 < p < 1 else None
        assert close(row.get("expected_value"), expected, 1e-12), row
    assert {r["case_id"] for r in test["expect"]["rows"]} == {r["case_id"] for r in rows}
    assert all(r["is_value_ok"] is True for r in test["expect"]["rows"])


def _given_rows(test: dict) -> list[dict]:
    (given,) = test["given"]
    assert given["input"] == "ref('methods_interval_cases')"
    return given["rows"]


def _reference_for(model: str, row: dict) -> tuple[float | None, float | None]:
    x, n, c = row.get("x"), row.get("n"), row.get("confidence")
    if model == "methods_proportion_ci_check":
        if x is None or n is None or n <= 0 or not 0 <= x <= n:
            return None, None
        return wilson(x, n, c)
    if model == "methods_rate_ci_check":
        if x is None or n is None or n <= 0 or x < 0:
            return None, None
        return rate(x, n, row["multiplier"], c)
    if model == "methods_poisson_count_check":
        if x is None or x < 0:
            return None, None
        return poisson_count(x, c)
    if model == "methods_dsr_ci_check":
        if x is None or x <= 0:
            return None, None
        return dobson(x, row["dsr"], row["dsr_variance"], c)
    raise AssertionError(f"no reference for {model}")


def _row_cases() -> list[tuple[str, str, dict]]:
    return [
        (t["name"], t["model"], row)
        for t in _unit_tests()
        if t["model"] != "methods_dsr_check"
        for row in _given_rows(t)
    ]


def test_unit_tests_expect_every_given_case() -> None:
    """Each unit test expects all-true flags for exactly the (case, confidence) pairs it gives."""
    for t in _unit_tests():
        given = _given_rows(t)
        expected = t["expect"]["rows"]
        if t["model"] == "methods_dsr_check":
            keys = {r["case_id"] for r in given}
            assert {r["case_id"] for r in expected} == keys
            flags = ("is_value_ok", "is_variance_ok", "is_lower_ok", "is_upper_ok")
        else:
            keys = [(r["case_id"], r["confidence"]) for r in given]
            assert len(set(keys)) == len(keys), f"{t['name']}: duplicate case"
            assert sorted((r["case_id"], r["confidence"]) for r in expected) == sorted(keys)
            flags = ("is_lower_ok", "is_upper_ok")
        for r in expected:
            assert all(r[f] is True for f in flags), r


@pytest.mark.parametrize(
    ("name", "model", "row"),
    _row_cases() if MODELS_YML.exists() else [],
    ids=lambda v: v if isinstance(v, str) else f"{v['case_id']}@{v['confidence']}",
)
def test_unit_test_expected_limits(name: str, model: str, row: dict) -> None:
    lo, hi = _reference_for(model, row)
    assert close(row.get("expected_lower"), lo, REL), f"{name}: expected_lower should be {lo!r}"
    assert close(row.get("expected_upper"), hi, REL), f"{name}: expected_upper should be {hi!r}"


def test_unit_test_dsr_aggregates() -> None:
    (test,) = [t for t in _unit_tests() if t["model"] == "methods_dsr_check"]
    rows = _given_rows(test)
    checked = 0
    for case_id in dict.fromkeys(r["case_id"] for r in rows):
        bands = [r for r in rows if r["case_id"] == case_id]
        (head,) = [r for r in bands if "confidence" in r]
        counts = [r["x"] for r in bands]
        pops = [r["n"] for r in bands]
        std = [r["standard_population"] for r in bands]
        if min(pops) <= 0:
            exp = {"value": None, "variance": None, "lower": None, "upper": None}
        else:
            value, var = dsr_and_variance(counts, pops, std, 1000)
            lo, hi = dobson(sum(counts), value, var, head["confidence"])
            exp = {"value": value, "variance": var, "lower": lo, "upper": hi}
        for k, v in exp.items():
            assert close(head.get(f"expected_{k}"), v, REL), f"{case_id}: expected_{k} = {v!r}"
        checked += 1
    assert checked >= 3


def test_unit_tests_cover_the_grid() -> None:
    """Counts 0, 1, 5, 9, 10, 11, 50, 1000; populations 10 … 100000; 95% and 99.8% (and 99%)."""
    cases = _row_cases()
    for model, ns in [
        ("methods_proportion_ci_check", {10, 100, 1000, 100000}),
        ("methods_rate_ci_check", {10, 100, 1000, 100000}),
        ("methods_poisson_count_check", {None}),
    ]:
        rows = [r for _, m, r in cases if m == model]
        for c in CONFIDENCES:
            xs = {r.get("x") for r in rows if r.get("confidence") == c}
            assert {0, 1, 9, 10} <= xs, (model, c)
            if c != 0.99:
                assert {0, 1, 5, 9, 10, 11, 50, 1000} <= xs, (model, c)
        assert ns <= {r.get("n") for r in rows}, model
    rate_rows = [r for _, m, r in cases if m == "methods_rate_ci_check" and r.get("x") is not None]
    assert {r["multiplier"] for r in rate_rows} == {1000}
