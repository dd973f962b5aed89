"""DuckDB's resources come from configuration, the same for ingest, dbt and the benchmarks,
and work beyond the memory limit spills to disk instead of failing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geitonia import config
from ingest.warehouse import connect

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"


def test_profile_uses_the_same_variables_and_defaults() -> None:
    text = PROFILES.read_text(encoding="utf-8")
    found = dict(re.findall(r"env_var\('(GEITONIA_DUCKDB_[A-Z_]+)', '([^']*)'\)", text))
    assert found == {
        config.DUCKDB_MEMORY_LIMIT_ENV: config.DUCKDB_MEMORY_LIMIT_DEFAULT,
        config.DUCKDB_THREADS_ENV: config.DUCKDB_THREADS_DEFAULT,
    }
    # no temp_directory: dbt-duckdb would set it again on every cursor, which DuckDB refuses
    # once a query has spilled
    assert "temp_directory" not in text


def test_settings_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.DUCKDB_MEMORY_LIMIT_ENV, "300MB")
    monkeypatch.setenv(config.DUCKDB_THREADS_ENV, "1")
    con = connect(tmp_path / "warehouse" / "geitonia.duckdb")
    try:
        limit, threads, temp = con.execute(
            "select current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('temp_directory')"
        ).fetchone()
    finally:
        con.close()
    assert limit in ("286.1 MiB", "300.0 MB", "286.1MiB") or limit.startswith("286")
    assert int(threads) == 1
    assert Path(temp) == tmp_path / "warehouse" / "geitonia.duckdb.tmp"


def test_a_sort_larger_than_the_memory_limit_spills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 6 million rows of two BIGINTs and a string sorted under a 64 MB limit: several times
    # the limit, so DuckDB must write to its temporary folder to finish
    monkeypatch.setenv(config.DUCKDB_MEMORY_LIMIT_ENV, "64MB")
    monkeypatch.setenv(config.DUCKDB_THREADS_ENV, "1")
    con = connect(tmp_path / "warehouse" / "geitonia.duckdb")
    try:
        con.execute(
            """
            create table t as
            select i, hash(i) as h, 'row ' || i as s from range(6000000) as r(i)
            """
        )
        first, last, n = con.execute(
            "select first(i), last(i), count(*) from (select i from t order by h, s)"
        ).fetchone()
    finally:
        con.close()
    assert n == 6_000_000 and first != last
