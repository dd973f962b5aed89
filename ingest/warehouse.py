"""The raw layer of the warehouse: load log, raw tables and reject tables, written atomically.

Every file is loaded in ONE DuckDB transaction: its rows, its rejects, the removal of the rows of
an earlier version of the same period (a corrected re-send), and its load-log entry. A process
killed in the middle leaves the warehouse as it was; the next run sees the file as not loaded and
loads it again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

RAW = "raw"

LOAD_LOG_DDL = f"""
create table if not exists {RAW}.load_log (
    load_id varchar primary key,
    run_id varchar,
    municipality_code varchar,
    source varchar,
    entity varchar,
    contract_id varchar,
    file_name varchar,
    landing_path varchar,
    sha256 varchar,
    size_bytes bigint,
    period date,
    status varchar,          -- loaded | refused
    reason_code varchar,     -- for refused files
    message_el varchar,
    message_en varchar,
    encoding varchar,
    delimiter varchar,
    sheet varchar,
    header_row integer,
    unknown_columns varchar,
    missing_columns varchar,
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    rows_repaired bigint,
    rows_skipped bigint,
    skipped_rows varchar,    -- "<source_row>:<reason>;..." (totals rows and the like)
    rows_unassigned bigint,
    rows_without_valid_amka bigint,
    started_at timestamp,
    finished_at timestamp,
    superseded_by varchar,   -- load_id of the corrected re-send that replaced this load
    replaces varchar         -- load_ids this load replaced (comma-separated)
)
"""


def table_name(source: str, entity: str) -> str:
    return f"{source}__{entity}"


def reject_table_name(source: str, entity: str) -> str:
    return f"{source}__{entity}__rejects"


@dataclass
class LoadRecord:
    """What a file's processing produced; written by `Warehouse.commit_file` in one transaction."""

    load_id: str
    run_id: str
    municipality_code: str
    source: str
    entity: str
    contract_id: str | None
    file_name: str
    landing_path: str
    sha256: str
    size_bytes: int
    period: str | None  # "YYYY-MM"
    status: str  # loaded | refused
    started_at: datetime
    finished_at: datetime | None = None
    reason_code: str | None = None
    message_el: str | None = None
    message_en: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_repaired: int = 0
    rows_skipped: int = 0
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    rows_unassigned: int = 0
    rows_without_valid_amka: int = 0
    rows: pl.DataFrame | None = None  # loaded rows (pseudonymised)
    rejects: pl.DataFrame | None = None  # rejected rows (pseudonymised)

    def log_row(self) -> dict:
        period = f"{self.period}-01" if self.period else None
        return {
            "load_id": self.load_id,
            "run_id": self.run_id,
            "municipality_code": self.municipality_code,
            "source": self.source,
            "entity": self.entity,
            "contract_id": self.contract_id,
            "file_name": self.file_name,
            "landing_path": self.landing_path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "period": period,
            "status": self.status,
            "reason_code": self.reason_code,
            "message_el": self.message_el,
            "message_en": self.message_en,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "unknown_columns": ";".join(self.unknown_columns) or None,
            "missing_columns": ";".join(self.missing_columns) or None,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rows_repaired": self.rows_repaired,
            "rows_skipped": self.rows_skipped,
            "skipped_rows": ";".join(f"{r}:{why}" for r, why in self.skipped_rows) or None,
            "rows_unassigned": self.rows_unassigned,
            "rows_without_valid_amka": self.rows_without_valid_amka,
            "started_at": self.started_at,
            "finished_at": self.finished_at or datetime.now(),
            "superseded_by": None,
            "replaces": None,
        }


def query_pl(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run a parameterised query and return a polars DataFrame."""
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())  # type: ignore[return-value]


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the memory limit and threads from configuration."""
    from geitonia.config import duckdb_settings

    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only, config=duckdb_settings(path))


class Warehouse:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        # the raw schema's tables and their columns, read once and then kept up to date by
        # this object's own DDL (no other process can write while the file is open); dropped
        # on rollback, which undoes DDL too
        self._columns: dict[str, set[str]] | None = None
        self._run(f"create schema if not exists {RAW}")
        self._run(LOAD_LOG_DDL)

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Warehouse]:
        con = connect(path)
        try:
            yield cls(con)
        finally:
            con.close()

    def _run(self, sql: str, params: list | None = None) -> list[tuple]:
        """Execute a statement and consume its result (DuckDB wants results finished before the
        next statement on the connection)."""
        return self.con.execute(sql, params).fetchall()

    # --- queries ------------------------------------------------------------------------
    def processed(self) -> set[tuple[str, str]]:
        """What earlier runs did, as (sha256, slot) pairs: a file whose content was already
        loaded into the same slot (municipality/source/entity/period), or already refused at the
        same landing path, is skipped. (Identical content in another month's slot — two
        header-only files of months with nothing to report — is not the same file.) A loaded
        file is also known by its landing path, for names that carry no month."""
        rows = self._run(
            f"""select sha256, landing_path, status,
                    concat_ws('/', municipality_code, source, entity, strftime(period, '%Y-%m'))
                from {RAW}.load_log"""
        )
        done = {(h, path) for h, path, _s, _slot in rows}
        done |= {(h, slot) for h, _p, s, slot in rows if s == "loaded"}
        return done

    def current_loads(
        self, municipality_code: str, source: str, entity: str, period: str
    ) -> list[str]:
        rows = self._run(
            f"""select load_id from {RAW}.load_log
                where municipality_code = ? and source = ? and entity = ? and period = ?
                  and status = 'loaded' and superseded_by is null""",
            [municipality_code, source, entity, f"{period}-01"],
        )
        return [r[0] for r in rows]

    def _schema(self) -> dict[str, set[str]]:
        """Table name -> column names of the raw schema (cached, see __init__)."""
        if self._columns is None:
            cols: dict[str, set[str]] = {}
            for t, c in self._run(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = ?",
                [RAW],
            ):
                cols.setdefault(t, set()).add(c)
            self._columns = cols
        return self._columns

    def table_exists(self, name: str) -> bool:
        return name in self._schema()

    # --- writes ---------------------------------------------------------------------------
    def _append(self, name: str, df: pl.DataFrame) -> None:
        """Append by column name, creating the table or adding new columns as needed."""
        self.con.register("_incoming", df.to_arrow())
        try:
            schema = self._schema()
            if name not in schema:
                self._run(f'create table {RAW}."{name}" as select * from _incoming limit 0')
                schema[name] = set(df.columns)
            elif not set(df.columns) <= schema[name]:
                have = schema[name]
                for col, dtype, *_ in self.con.execute("describe _incoming").fetchall():
                    if col not in have:
                        self._run(f'alter table {RAW}."{name}" add column "{col}" {dtype}')
                        have.add(col)
            if df.height:
                self._run(f'insert into {RAW}."{name}" by name select * from _incoming')
        finally:
            self.con.unregister("_incoming")

    def commit_file(
        self, rec: LoadRecord, *, replace_period: bool = True, pause_before_commit: float = 0.0
    ) -> list[str]:
        """Write one file's result atomically; return the load_ids it replaced.

        `pause_before_commit` (tests only) holds the transaction open after every write, so a
        test can kill the process at that point and check that nothing of the file remains."""
        replaced: list[str] = []
        self._run("begin transaction")
        try:
            if rec.status == "loaded" and rec.period and replace_period:
                replaced = self.current_loads(
                    rec.municipality_code, rec.source, rec.entity, rec.period
                )
                for name in (
                    table_name(rec.source, rec.entity),
                    reject_table_name(rec.source, rec.entity),
                ):
                    if replaced and self.table_exists(name):
                        self._run(
                            f'delete from {RAW}."{name}" where _load_id in (select unnest(?))',
                            [replaced],
                        )
                if replaced:
                    self._run(
                        f"update {RAW}.load_log set superseded_by = ? where load_id in (select unnest(?))",
                        [rec.load_id, replaced],
                    )
            if rec.rows is not None:
                self._append(table_name(rec.source, rec.entity), rec.rows)
            if rec.rejects is not None and rec.rejects.height:
                self._append(reject_table_name(rec.source, rec.entity), rec.rejects)
            row = rec.log_row()
            row["replaces"] = ",".join(replaced) or None
            cols = list(row)
            self._run(
                f"insert into {RAW}.load_log ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                [row[c] for c in cols],
            )
            if pause_before_commit:
                marker = os.environ.get("GEITONIA_TEST_PAUSE_MARKER")
                if marker:
                    Path(marker).write_text(rec.file_name, encoding="utf-8")
                time.sleep(pause_before_commit)
            self._run("commit")
        except BaseException:
            self._columns = None  # the rollback undid any DDL of this transaction
            self._run("rollback")
            raise
        return replaced

    def replace_reference(self, name: str, municipality_code: str, df: pl.DataFrame) -> None:
        """Replace one municipality's rows of a reference table atomically."""
        self._run("begin transaction")
        try:
            if self.table_exists(name):
                self._run(
                    f'delete from {RAW}."{name}" where municipality_code = ?', [municipality_code]
                )
            self._append(name, df)
            self._run("commit")
        except BaseException:
            self._columns = None  # the rollback undid any DDL of this transaction
            self._run("rollback")
            raise
