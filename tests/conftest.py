"""Shared pytest fixtures: the small synthetic municipality, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_SEED = 7


@pytest.fixture(scope="session")
def small_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic municipality (exports, reference, truth), generated once."""
    from synthetic.config import GeneratorConfig
    from synthetic.generate import generate

    out = tmp_path_factory.mktemp("small_world")
    generate(GeneratorConfig.for_scale("small", seed=SMALL_SEED), out)
    return out
