"""Documentation coverage of the dbt project, read from the manifest of `dbt parse` (no warehouse).

Every model has a description; every column a models yml declares has one; and every model
declares at least one documented column. A model's actual columns are only known after a build,
so that last check stands in for "every column documented". The host views of the statistical
macros' unit tests (models/methods/) are exempt from the column checks: they exist only to carry
unit tests and declare few or no columns.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dbt._dbt import run_dbt

COLUMN_CHECK_EXEMPT = ("models/methods/",)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    home = tmp_path_factory.mktemp("dbt_docs_home")
    result = run_dbt(home, "parse")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    manifest = json.loads((home / "target" / "manifest.json").read_text(encoding="utf-8"))
    found = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert found, "dbt parse found no models"
    return sorted(found, key=lambda n: n["original_file_path"])


def _column_checked(model: dict[str, Any]) -> bool:
    return not model["original_file_path"].startswith(COLUMN_CHECK_EXEMPT)


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _listing(items: list[str]) -> str:
    return "\n  " + "\n  ".join(items)


def test_every_model_has_a_description(models: list[dict[str, Any]]) -> None:
    missing = [m["original_file_path"] for m in models if _blank(m["description"])]
    assert not missing, f"{len(missing)} model(s) without a description:" + _listing(missing)


def test_every_declared_column_has_a_description(models: list[dict[str, Any]]) -> None:
    missing = [
        f"{m['name']}.{name}"
        for m in models
        if _column_checked(m)
        for name, column in m["columns"].items()
        if _blank(column.get("description"))
    ]
    assert not missing, f"{len(missing)} declared column(s) without a description:" + _listing(
        missing
    )


def test_every_model_documents_its_columns(models: list[dict[str, Any]]) -> None:
    missing = [
        m["original_file_path"]
        for m in models
        if _column_checked(m)
        and not any(not _blank(c.get("description")) for c in m["columns"].values())
    ]
    assert not missing, f"{len(missing)} model(s) with no documented column:" + _listing(missing)


def test_the_exemption_covers_only_unit_test_hosts(models: list[dict[str, Any]]) -> None:
    """The exempt folder holds only the methods_* hosts, so the exemption cannot hide a mart."""
    exempt = [m["name"] for m in models if not _column_checked(m)]
    assert exempt, "no model in models/methods/: drop the exemption"
    assert all(name.startswith("methods_") for name in exempt), exempt
