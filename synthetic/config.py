"""Generator configuration: scales, periods and the rate/fault tables (YAML beside this file)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).parent / "config"


@dataclass(frozen=True)
class Scale:
    name: str
    population_factor: float  # simulated residents = census population × factor
    start: date
    end: date  # inclusive
    municipalities: int = 1


SCALES: dict[str, Scale] = {
    # a few thousand residents, one year (2020, with the crisis spike): a smoke test in a second
    "tiny": Scale("tiny", 0.03, date(2020, 1, 1), date(2020, 12, 31)),
    # one resident in ten (≈17,000), one year (2020): seconds, and enough service users per
    # neighbourhood for the tests of indicators, intervals and suppression to mean something
    "small": Scale("small", 0.1, date(2020, 1, 1), date(2020, 12, 31)),
    # Heraklion's population, five years
    "municipal": Scale("municipal", 1.0, date(2019, 1, 1), date(2023, 12, 31)),
    # many municipalities of Heraklion's size (count set with --municipalities)
    "national": Scale("national", 1.0, date(2019, 1, 1), date(2023, 12, 31), municipalities=60),
}


def load_yaml(name: str, path: Path | None = None) -> dict[str, Any]:
    """Load one of the generator's YAML tables (rates, faults, headers), or a user's copy."""
    p = path if path is not None else CONFIG_DIR / f"{name}.yaml"
    with open(p, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 20260101
    scale: Scale = SCALES["small"]
    rates: dict[str, Any] = field(default_factory=lambda: load_yaml("rates"))
    faults: dict[str, Any] = field(default_factory=lambda: load_yaml("faults"))
    headers: dict[str, Any] = field(default_factory=lambda: load_yaml("headers"))

    @classmethod
    def for_scale(cls, scale: str, seed: int | None = None, **overrides: Any) -> GeneratorConfig:
        sc = SCALES[scale]
        if "municipalities" in overrides:
            sc = replace(sc, municipalities=int(overrides.pop("municipalities")))
        if "population_factor" in overrides:  # e.g. a national run at the small scale's factor
            sc = replace(sc, population_factor=float(overrides.pop("population_factor")))
        cfg = cls(scale=sc, **overrides)
        return replace(cfg, seed=seed) if seed is not None else cfg


__all__ = ["SCALES", "Scale", "GeneratorConfig", "load_yaml"]
