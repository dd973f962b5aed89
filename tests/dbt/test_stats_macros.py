"""The statistical dbt macros, built and unit-tested by dbt; and their generated constants.

The dbt build runs the seed stat_poisson_exact_limits, the host views in models/methods/ and the
dbt unit tests that pin the macros' values (expected values checked against scipy in
tests/unit/test_stats_reference.py), in a throwaway GEITONIA_HOME and target directory.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.dbt._dbt import run_dbt

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
SCRIPT = ROOT / "scripts" / "build_chisq_seed.py"
DBT = Path(sys.executable).with_name("dbt")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_chisq_seed", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dbt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (home / "warehouse").mkdir(parents=True, exist_ok=True)
    return run_dbt(home, *args)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-13 * abs(b)


def test_committed_seed_is_what_the_script_computes_now() -> None:
    script = _script()
    committed = script.read_seed_csv(script.SEED_PATH.read_text(encoding="utf-8"))
    fresh = script.seed_rows()
    assert [(c, x) for c, x, _, _ in committed] == [(c, x) for c, x, _, _ in fresh]
    for (c, x, lo, hi), (_, _, f_lo, f_hi) in zip(committed, fresh, strict=True):
        assert _close(lo, f_lo) and _close(hi, f_hi), (c, x, lo, hi, f_lo, f_hi)


def test_committed_macro_constants_are_what_the_script_computes_now() -> None:
    script = _script()
    committed = script.read_macro_constants(script.MACRO_PATH.read_text(encoding="utf-8"))
    fresh = script.constants()
    assert committed.keys() == fresh.keys()
    assert committed["exact_below"] == fresh["exact_below"] == 10
    assert committed["z"].keys() == fresh["z"].keys() == {"0.95", "0.99", "0.998"}
    for c, z in fresh["z"].items():
        assert _close(committed["z"][c], z)
    for c, limits in fresh["poisson_exact"].items():
        for side in ("lower", "upper"):
            got, want = committed["poisson_exact"][c][side], limits[side]
            assert len(got) == len(want) == 10
            assert all(_close(g, w) or g == w == 0.0 for g, w in zip(got, want, strict=True))


def test_script_check_mode_accepts_the_committed_files() -> None:
    script = _script()
    assert script.main(["--check"]) == 0


@pytest.mark.slow
def test_dbt_builds_the_methods_and_passes_the_unit_tests(tmp_path: Path) -> None:
    result = _dbt(tmp_path, "build", "--select", "path:models/methods", "stat_poisson_exact_limits")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    run = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))
    status = {r["unique_id"]: r["status"] for r in run["results"]}
    assert all(s in ("pass", "success") for s in status.values()), status
    unit_tests = {uid.rsplit(".", 1)[-1] for uid in status if uid.startswith("unit_test.")}
    assert unit_tests == {
        "wilson_proportion_interval",
        "rate_interval_byar_and_exact",
        "poisson_count_limits",
        "dobson_interval",
        "dsr_aggregates_with_dobson",
        "normal_quantile_acklam",
    }
    assert "seed.geitonia.stat_poisson_exact_limits" in status
    assert any("is_consistent" in uid for uid in status if uid.startswith("test."))


@pytest.mark.slow
def test_unsupported_confidence_fails_to_compile_naming_the_allowed_values(
    tmp_path: Path,
) -> None:
    result = _dbt(
        tmp_path, "compile", "--inline", "select {{ rate_ci_lower('x', 'n', 1000, 0.9) }}"
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unsupported confidence 0.9" in out
    assert "0.95, 0.99, 0.998" in out
