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
