"""The warehouse resource: where Geitonia's state is, how to open the DuckDB file, the key.

One setting names the warehouse: GEITONIA_HOME, read here and by dbt_project/profiles.yml alike
(default: the repository's var/, which is what profiles.yml's '../var' means from dbt_project/).
DuckDB allows one writing process per file, so every connection is opened for one step and
closed at its end, and a writer waits (up to `lock_timeout_seconds`) for another process's lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from geitonia.config import PROJECT_ROOT, Paths
from ingest.pseudonymise import Pseudonymiser, load_key
from ingest.warehouse import RAW, Warehouse, connect

HOME_ENV = "GEITONIA_HOME"


class WarehouseBusy(RuntimeError):
    """Another process holds the DuckDB file's lock."""


def geitonia_home() -> Path:
    """GEITONIA_HOME as dbt's profile resolves it: the variable, else <repository>/var."""
    raw = os.environ.get(HOME_ENV, "").strip()
    return Path(raw).expanduser().resolve() if raw else PROJECT_ROOT / "var"


def _is_lock_error(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def open_with_retry(path: Path, *, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds its lock (WarehouseBusy after
    `timeout` seconds; 0 means one attempt)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            return connect(path, read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise WarehouseBusy(f"{path} is locked by another process") from exc
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


class WarehouseResource(dg.ConfigurableResource):
    """Geitonia's warehouse and state folders under GEITONIA_HOME, and the pseudonym key.

    The key comes from GEITONIA_PSEUDONYM_KEY or $GEITONIA_HOME/secrets/pseudonym.key
    (ingest.pseudonymise.load_key); it never passes through Dagster's configuration.
    """

    lock_timeout_seconds: float = 600.0

    def paths(self) -> Paths:
        return Paths(geitonia_home())

    def pseudonymiser(self) -> Pseudonymiser:
        return Pseudonymiser(load_key(self.paths().key_file))

    @contextmanager
    def open_warehouse(self) -> Iterator[Warehouse]:
        """The warehouse for writing, closed on exit (so dbt can open it afterwards)."""
        con = open_with_retry(
            self.paths().warehouse, read_only=False, timeout=self.lock_timeout_seconds
        )
        try:
            yield Warehouse(con)
        finally:
            con.close()

    @contextmanager
    def read_only(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (FileNotFoundError when there is no warehouse yet)."""
        path = self.paths().warehouse
        if not path.exists():
            raise FileNotFoundError(path)
        con = open_with_retry(
            path,
            read_only=True,
            timeout=self.lock_timeout_seconds if timeout is None else timeout,
        )
        try:
            yield con
        finally:
            con.close()

    def query(
        self, sql: str, params: list | None = None, *, timeout: float | None = None
    ) -> list[tuple]:
        """Rows of a read-only query; [] when the warehouse or the table does not exist yet."""
        try:
            with self.read_only(timeout) as con:
                return con.execute(sql, params).fetchall()
        except FileNotFoundError:
            return []
        except duckdb.CatalogException:
            return []


def raw_table(name: str) -> str:
    """The quoted raw-schema name of a table (names come from code, never from input)."""
    return f'{RAW}."{name}"'
