"""The project's generic dbt tests (dbt_project/tests/generic/) on hand-made rows.

A throwaway dbt project under tmp_path holds fixture models with rows chosen so that each test
must return a known number of failing rows (worked out by hand beside each case), the project's
macros and its generic tests (copied). `dbt build` runs every case; run_results.json gives the
number of failing rows of each, which must be exactly the expected one: a test that returned
nothing, or everything, would not match.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")

HEX = "0123456789abcdef" * 2  # 32 lower-case hex digits

PSEUDONYMS = {
    "A" + HEX: "ok",
    "N" + HEX: "ok",
    "H" + HEX: "ok with the default prefixes, not with [A, N]",
    "A" + HEX.upper(): "upper-case hex",
    "A" + HEX[:31]: "31 digits",
    "X" + HEX: "unknown prefix",
    "A" + HEX[:31] + "g": "not hex",
    HEX + HEX: "64 hex digits, no prefix",
}

FIXTURES = {
    "fx_pseudonyms": "\nunion all\n".join(
        f"select cast('{v}' as varchar) as pseudonym" for v in PSEUDONYMS
    )
    + "\nunion all\nselect cast(null as varchar) as pseudonym",
    # share per grp: a 1/10, b 3/10, c 0/0 (no share); flagged rows: 1 of 4 (c's rows count too)
    "fx_shares": """
select 'a' as grp, 1 as num, 10 as den, false as flag
union all select 'b', 3, 10, true
union all select 'c', 0, 0, false
union all select 'c', 0, 0, false
""",
    # counts n1, n2 and a suppressed flag
    "fx_counts": """
select 1 as row_no, 0 as n1, 0 as n2, false as is_suppressed
union all select 2, 1, 50, false
union all select 3, 10, 11, false
union all select 4, 11, 12, false
union all select 5, 5, 20, true
union all select 6, null, 3, null
""",
    "fx_balance": """
select 5 as total, 2 as a, 3 as b
union all select 5, 2, 2
union all select 3, null, 3
union all select null, 0, 0
""",
}

# name -> (model, test, arguments, column or None, expected failing rows)
CASES: dict[str, tuple[str, str, dict[str, Any], str | None, int]] = {
    # upper-case, 31 digits, X prefix, 'g', 64 hex
    "pseudonym_default_prefixes": ("fx_pseudonyms", "valid_pseudonym", {}, "pseudonym", 5),
    # ... and the H household key
    "pseudonym_person_prefixes": (
        "fx_pseudonyms",
        "valid_pseudonym",
        {"prefixes": ["A", "N"]},
        "pseudonym",
        6,
    ),
    # b: 0.3 > 0.2
    "share_by_group_over": (
        "fx_shares",
        "share_below",
        {"numerator": "num", "denominator": "den", "group_by": ["grp"], "max_share": 0.2},
        None,
        1,
    ),
    # at most: 0.3 is allowed at 0.3
    "share_by_group_at_limit": (
        "fx_shares",
        "share_below",
        {"numerator": "num", "denominator": "den", "group_by": ["grp"], "max_share": 0.3},
        None,
        0,
    ),
    # whole model: 4/20 = 0.2 > 0.1
    "share_whole_model": (
        "fx_shares",
        "share_below",
        {"numerator": "num", "denominator": "den", "max_share": 0.1},
        None,
        1,
    ),
    # 1 of 4 rows flagged = 0.25 > 0.2
    "share_of_rows_over": (
        "fx_shares",
        "share_below",
        {"condition": "flag", "max_share": 0.2},
        None,
        1,
    ),
    "share_of_rows_at_limit": (
        "fx_shares",
        "share_below",
        {"condition": "flag", "max_share": 0.25},
        None,
        0,
    ),
    # rows 2 (1), 3 (10: the threshold itself is small), 5 (5), 6 (3)
    "small_counts_default_threshold": (
        "fx_counts",
        "no_small_counts",
        {"columns": ["n1", "n2"]},
        None,
        4,
    ),
    # row 5 is flagged suppressed; row 6's null flag is not a suppression
    "small_counts_suppressed_skipped": (
        "fx_counts",
        "no_small_counts",
        {"columns": ["n1", "n2"], "suppressed_column": "is_suppressed"},
        None,
        3,
    ),
    # threshold 4: rows 2 (1) and 6 (3)
    "small_counts_threshold_4": (
        "fx_counts",
        "no_small_counts",
        {"columns": ["n1", "n2"], "threshold": 4},
        None,
        2,
    ),
    # declared under the column n2: row 6 (3) only
    "small_counts_one_column": ("fx_counts", "no_small_counts", {}, "n2", 1),
    # 5 <> 2 + 2
    "counts_add_up": (
        "fx_balance",
        "counts_add_up",
        {"total": "total", "parts": ["a", "b"]},
        None,
        1,
    ),
}


def _schema_yml() -> str:
    by_model: dict[str, dict[str, Any]] = {}
    for name, (model, test, args, column, _) in CASES.items():
        entry = {test: {"name": name, "arguments": args, "config": {"severity": "warn"}}}
        node = by_model.setdefault(model, {"name": model, "data_tests": [], "columns": {}})
        if column is None:
            node["data_tests"].append(entry)
        else:
            node["columns"].setdefault(column, []).append(entry)
    models = [
        {
            "name": n["name"],
            "data_tests": n["data_tests"],
            "columns": [{"name": c, "data_tests": t} for c, t in n["columns"].items()],
        }
        for n in by_model.values()
    ]
    # JSON is YAML
    return json.dumps({"version": 2, "models": models}, indent=1)


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, int | None]]:
    root = tmp_path_factory.mktemp("generic_tests")
    project = root / "project"
    shutil.copytree(PROJECT / "macros", project / "macros")
    generic = project / "tests" / "generic"
    generic.mkdir(parents=True)
    for sql in (PROJECT / "tests" / "generic").glob("*.sql"):
        shutil.copy(sql, generic / sql.name)
    models = project / "models"
    models.mkdir()
    for name, sql in FIXTURES.items():
        (models / f"{name}.sql").write_text(sql, encoding="utf-8")
    (models / "_fixtures.yml").write_text(_schema_yml(), encoding="utf-8")
    (project / "dbt_project.yml").write_text(
        json.dumps(
            {
                "name": "geitonia",  # the macros dispatch within the 'geitonia' namespace
                "version": "0.1.0",
                "config-version": 2,
                "profile": "fixture",
                "vars": {"disclosure_threshold": 10},
                "models": {"geitonia": {"+materialized": "table"}},
            }
        ),
        encoding="utf-8",
    )
    (project / "profiles.yml").write_text(
        json.dumps(
            {
                "fixture": {
                    "target": "dev",
                    "outputs": {
                        "dev": {
                            "type": "duckdb",
                            "path": str(root / "fixture.duckdb"),
                            "threads": 2,
                        }
                    },
                }
            }
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [str(DBT), "build", "--project-dir", str(project), "--profiles-dir", str(project)]
    cmd += ["--target-path", str(root / "target"), "--log-path", str(root / "logs")]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    results_path = root / "target" / "run_results.json"
    assert results_path.exists(), run.stdout[-4000:] + run.stderr[-4000:]
    results = json.loads(results_path.read_text(encoding="utf-8"))["results"]
    out: dict[str, tuple[str, int | None]] = {}
    for r in results:
        if r["unique_id"].startswith("test."):
            out[r["unique_id"].split(".")[2]] = (r["status"], r["failures"])
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_generic_test_returns_the_expected_rows(
    failures: dict[str, tuple[str, int | None]], name: str
) -> None:
    expected = CASES[name][-1]
    assert name in failures, sorted(failures)
    status, failing_rows = failures[name]
    assert status == ("pass" if expected == 0 else "warn"), (status, failing_rows)
    assert failing_rows == expected
