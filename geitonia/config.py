"""One place for where Geitonia keeps its state: everything under GEITONIA_HOME (default ./var)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class Paths:
    home: Path

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        raw = home if home is not None else os.environ.get("GEITONIA_HOME", "var")
        return cls(Path(raw).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir / "geitonia.duckdb"

    @property
    def snapshots(self) -> Path:
        return self.home / "snapshots"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"

    @property
    def key_file(self) -> Path:
        return self.secrets / "pseudonym.key"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def demo(self) -> Path:
        return self.home / "demo"

    def ensure(self) -> Paths:
        for p in (
            self.landing,
            self.archive,
            self.warehouse_dir,
            self.snapshots,
            self.dagster_home,
        ):
            p.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def paths(home: str | os.PathLike[str] | None = None) -> Paths:
    return Paths.from_env(home)


# DuckDB's resources, from configuration (environment variables; the same names and defaults in
# dbt_project/profiles.yml, checked by tests/unit/test_config.py). Work beyond the memory limit
# spills to DuckDB's temporary folder for the warehouse file, `<database>.tmp` beside it (so
# under GEITONIA_HOME/warehouse), instead of failing. (It is not set explicitly: dbt-duckdb sets
# its settings again on every cursor, and DuckDB refuses to switch the temporary folder once a
# query has spilled to it.)
DUCKDB_MEMORY_LIMIT_ENV, DUCKDB_MEMORY_LIMIT_DEFAULT = "GEITONIA_DUCKDB_MEMORY_LIMIT", "4GB"
DUCKDB_THREADS_ENV, DUCKDB_THREADS_DEFAULT = "GEITONIA_DUCKDB_THREADS", "2"


def duckdb_settings(warehouse: Path) -> dict[str, object]:
    """Settings of every DuckDB connection to the warehouse: memory limit and threads (it
    spills to `<warehouse>.tmp`, DuckDB's default for a database file)."""
    return {
        "memory_limit": os.environ.get(DUCKDB_MEMORY_LIMIT_ENV, DUCKDB_MEMORY_LIMIT_DEFAULT),
        "threads": int(os.environ.get(DUCKDB_THREADS_ENV, DUCKDB_THREADS_DEFAULT)),
        "preserve_insertion_order": False,
    }
