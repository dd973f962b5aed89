"""Fixtures shared by the dbt tests: the small world ingested and built by a full `dbt build`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt._dbt import run_dbt

# a fixed pseudonymisation key, so that a test run is reproducible
TEST_KEY = bytes(range(32))


@pytest.fixture(scope="session")
def dbt_built_home(small_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway GEITONIA_HOME holding the small world (seed 7), ingested with TEST_KEY, after
    one full `dbt build` (every seed, model and data test of the project). Slow: use it only from
    tests marked slow."""
    from ingest.pipeline import IngestContext, ingest_landing
    from ingest.pseudonymise import Pseudonymiser
    from ingest.warehouse import Warehouse

    home = tmp_path_factory.mktemp("dbt_home")
    with Warehouse.open(home / "warehouse" / "geitonia.duckdb") as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(TEST_KEY), archive_dir=home / "archive"
        )
        ingest_landing(small_world_dir / "exports", ctx)
    result = run_dbt(home, "build")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return home
