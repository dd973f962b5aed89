"""Ingest: landing files → validated, pseudonymised, geocoded rows in the warehouse's raw layer.

For every file (exports.md, "What ingest does with every file"):
 1. hash it; skip it if a file with that content is already loaded; archive it by its hash;
 2. read it against its folder's contract (encoding, delimiter, header row, title and totals
    rows, merged headers, several sheets); a file that cannot be read is refused whole, with a
    reason in Greek and English, and logged;
 3. parse and validate every row (types, codes, bounds, ΑΜΚΑ/ΑΦΜ check digits with repairs,
    row rules); a bad row goes to the entity's reject table, the rest loads;
 4. geocode addresses to neighbourhoods through the municipality's gazetteer;
 5. replace identifiers by keyed pseudonyms and drop what analysis does not need, before
    anything is written;
 6. write rows, rejects, the replacement of an earlier version of the same month, and the load
    log entry in ONE transaction.

rows read = rows loaded + rows rejected, for every file (totals rows are skipped, not read).

Speed: files are many and mostly small, and a polars query costs about the same for ten rows
as for ten thousand, so steps 3-5 run over a batch of files of one entity at once, stacked, and
the result is split by file again (`process_files`; every step works row by row or per
distinct value, so a file gets what it would get alone); the next batch is read and processed
on a worker thread while the current one is committed, file by file, in order (step 6).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from ingest.contracts import Column, Contract, load_contracts
from ingest.geocode import Geocoder
from ingest.identifiers import check_afm_series, check_amka_series
from ingest.landing import LandingFile, archive, reference_folders, scan, sha256_of
from ingest.pseudonymise import Pseudonymiser
from ingest.readers import RawTable, UnreadableFile, parse_columns, read_file
from ingest.reasons import reason
from ingest.warehouse import LoadRecord, Warehouse, query_pl

ADDRESS = ("street", "street_number", "postcode", "area")
_POLARS_TYPES: dict[str, pl.DataType] = {
    "date": pl.Date,
    "datetime": pl.Datetime("us"),
    "decimal": pl.Float64,
    "integer": pl.Int64,
    "boolean": pl.Boolean,
    "code": pl.String,
    "string": pl.String,
    "time": pl.String,
}


@dataclass
class IngestContext:
    """What one ingest run needs: the warehouse, the key, contracts, geocoders, the archive."""

    warehouse: Warehouse
    pseudonymiser: Pseudonymiser
    archive_dir: Path
    run_id: str = field(
        default_factory=lambda: datetime.now().strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    )
    contracts: dict[str, Contract] = field(default_factory=load_contracts)
    geocoders: dict[str, Geocoder] = field(default_factory=dict)
    today: date = field(default_factory=date.today)


# --- reference files (what a municipality supplies once) ----------------------------------------


def load_reference(ctx: IngestContext, municipality_code: str, folder: Path) -> dict[str, int]:
    """Load a municipality's neighbourhoods, polygons, gazetteer and, when supplied, population
    and households (raw.ref_*); build its geocoder."""
    wh = ctx.warehouse
    counts: dict[str, int] = {}
    nb = pl.read_csv(folder / "neighbourhoods.csv", infer_schema_length=0).with_columns(
        pl.col("population_2011").cast(pl.Int64),
        pl.col("population_2021").cast(pl.Int64),
        (pl.col("is_illustrative").str.to_lowercase() == "true").alias("is_illustrative"),
        pl.lit(municipality_code).alias("municipality_code"),
    )
    gj_path = folder / "neighbourhoods.geojson"
    if gj_path.exists():
        gj = json.loads(gj_path.read_text(encoding="utf-8"))
        geoms = pl.DataFrame(
            {
                "neighbourhood_id": [f["properties"]["neighbourhood_id"] for f in gj["features"]],
                "geometry_geojson": [
                    json.dumps(f["geometry"], separators=(",", ":")) for f in gj["features"]
                ],
            }
        )
        nb = nb.join(geoms, on="neighbourhood_id", how="left")
    wh.replace_reference("ref_neighbourhoods", municipality_code, nb)
    counts["neighbourhoods"] = nb.height
    gaz = pl.read_csv(folder / "gazetteer.csv", infer_schema_length=0).with_columns(
        pl.col("street_id").cast(pl.Int64),
        pl.col("number_from").cast(pl.Int64),
        pl.col("number_to").cast(pl.Int64),
        pl.lit(municipality_code).alias("municipality_code"),
    )
    wh.replace_reference("ref_gazetteer", municipality_code, gaz)
    counts["gazetteer"] = gaz.height
    pop_path = folder / "population.csv"
    if pop_path.exists():
        pop = pl.read_csv(pop_path, infer_schema_length=0).with_columns(
            pl.col("population").cast(pl.Int64),
            pl.lit(municipality_code).alias("municipality_code"),
        )
        wh.replace_reference("ref_population", municipality_code, pop)
        counts["population"] = pop.height
    hh_path = folder / "households.csv"
    if hh_path.exists():
        hh = pl.read_csv(hh_path, infer_schema_length=0).select(
            pl.lit(municipality_code).alias("municipality_code"),
            pl.col("neighbourhood_id"),
            pl.col("households").cast(pl.Int64),
        )
        wh.replace_reference("ref_households", municipality_code, hh)
        counts["households"] = hh.height
    ctx.geocoders[municipality_code] = Geocoder(gaz, nb)
    return counts


def geocoder_for(ctx: IngestContext, municipality_code: str) -> Geocoder | None:
    """The municipality's geocoder: built from the reference loaded earlier if not in memory."""
    if municipality_code in ctx.geocoders:
        return ctx.geocoders[municipality_code]
    wh = ctx.warehouse
    if not (wh.table_exists("ref_gazetteer") and wh.table_exists("ref_neighbourhoods")):
        return None
    gaz = query_pl(
        wh.con, "select * from raw.ref_gazetteer where municipality_code = ?", [municipality_code]
    )
    if gaz.is_empty():
        return None
    nb = query_pl(
        wh.con,
        "select * from raw.ref_neighbourhoods where municipality_code = ?",
        [municipality_code],
    )
    ctx.geocoders[municipality_code] = Geocoder(gaz, nb)
    return ctx.geocoders[municipality_code]


# --- one file -------------------------------------------------------------------------------------


def _refused(
    lf: LandingFile,
    sha: str,
    ctx: IngestContext,
    code: str,
    el: str,
    en: str,
    started: datetime,
    contract: Contract | None = None,
) -> LoadRecord:
    return LoadRecord(
        load_id=uuid.uuid4().hex,
        run_id=ctx.run_id,
        municipality_code=lf.municipality_code,
        source=lf.source,
        entity=lf.entity,
        contract_id=contract.id if contract else None,
        file_name=lf.name,
        landing_path=lf.relative,
        sha256=sha,
        size_bytes=lf.size_bytes,
        period=lf.period_from_name,
        status="refused",
        started_at=started,
        reason_code=code,
        message_el=el,
        message_en=en,
    )


def _period_of(lf: LandingFile, values: pl.DataFrame, contract: Contract) -> str | None:
    if lf.period_from_name:
        return lf.period_from_name
    col = contract.period_column
    if not col or col not in values.columns:
        return None
    s = values[col].drop_nulls()
    if s.is_empty():
        return None
    months = s.cast(pl.Date).dt.strftime("%Y-%m")
    return months.mode().sort()[0]


def _row_reasons(
    incomplete: pl.Series,
    contract: Contract,
    values: pl.DataFrame,
    errors: pl.DataFrame,
    id_errors: dict[str, pl.Series],
) -> pl.DataFrame:
    """One row per data row: the first reason it must be rejected (null if none), its column,
    and all its reasons (';')."""
    cols: list[pl.Expr] = [
        pl.when(pl.col("_incomplete")).then(pl.lit("row_incomplete|")).otherwise(pl.lit(None))
    ]
    # the frame is assembled from the Series at once and queried once (a with_columns per
    # column is a query per column)
    series: dict[str, pl.Series] = {"_incomplete": incomplete}
    for c in contract.columns:
        series[f"e_{c.name}"] = errors[c.name]
        cols.append(
            pl.when(pl.col(f"e_{c.name}").is_not_null()).then(
                pl.col(f"e_{c.name}") + pl.lit(f"|{c.name}")
            )
        )
    for name, s in id_errors.items():
        series[f"i_{name}"] = s
        cols.append(
            pl.when(pl.col(f"i_{name}").is_not_null()).then(
                pl.col(f"i_{name}") + pl.lit(f"|{name}")
            )
        )
    for i, rule in enumerate(contract.rules):
        series[f"r_{i}"] = rule.violated(values).fill_null(False)
        cols.append(pl.when(pl.col(f"r_{i}")).then(pl.lit(f"{rule.reason}|{rule.right}")))
    out = pl.DataFrame(series).lazy().select(pl.concat_list(cols).list.drop_nulls().alias("all"))
    return out.select(
        pl.col("all").list.first().str.split("|").list.first().alias("reason_code"),
        pl.col("all").list.first().str.split("|").list.last().alias("column_name"),
        pl.col("all")
        .list.eval(pl.element().str.split("|").list.first())
        .list.unique(maintain_order=True)
        .list.join(";")
        .alias("reasons"),
    ).collect()


def process_file(lf: LandingFile, ctx: IngestContext, sha: str | None = None) -> LoadRecord:
    """Read, validate, geocode and pseudonymise one landing file (nothing is written here)."""
    return process_files([(lf, sha or sha256_of(lf.path))], ctx)[0]


@dataclass
class _Readable:
    """A file read against its contract, waiting to be processed with others of its kind."""

    index: int  # position in the list given to process_files
    lf: LandingFile
    sha: str
    started: datetime
    contract: Contract
    table: RawTable


def process_files(
    files: Sequence[tuple[LandingFile, str]],
    ctx: IngestContext,
    *,
    geocoder: Callable[[str], Geocoder | None] | None = None,
) -> list[LoadRecord]:
    """`process_file` for several (file, sha256) at once, one record per file in the same
    order (nothing is written here).

    Every file is read on its own; then the files of one municipality, source and entity (and
    decimal convention) are validated, pseudonymised and geocoded together, stacked, and the
    result split by file again. Every step works row by row (or per distinct value), and the
    one decision taken over a file's whole column (the decimal mark of ambiguous numbers) is
    taken per file, so each file's rows, rejects and counts are what it would get alone; the
    files are many and mostly small, and what a polars query costs is mostly per query.

    `geocoder` gives a municipality's geocoder (default `geocoder_for`, which may read the
    warehouse: pass one that does not to process files off the warehouse's thread)."""
    records: list[LoadRecord | None] = [None] * len(files)
    groups: dict[tuple[str, str, str | None], list[_Readable]] = {}
    for i, (lf, sha) in enumerate(files):
        started = datetime.now()
        contract = ctx.contracts.get(f"{lf.source}.{lf.entity}")
        if contract is None:
            r = reason("unknown_source")
            where = lf.relative
            records[i] = _refused(
                lf,
                sha,
                ctx,
                "unknown_source",
                f"{r.el} Βρέθηκε: {where}",
                f"{r.en} Found: {where}",
                started,
            )
            continue
        try:
            table = read_file(
                lf.path, contract, contracts=ctx.contracts.values(), period=lf.period_from_name
            )
        except UnreadableFile as exc:
            records[i] = _refused(
                lf, sha, ctx, exc.reason_code, exc.message_el, exc.message_en, started, contract
            )
            continue
        key = (lf.municipality_code, contract.source_entity, table.decimal_mark)
        groups.setdefault(key, []).append(_Readable(i, lf, sha, started, contract, table))
    locate = geocoder or (lambda m: geocoder_for(ctx, m))
    for group in groups.values():
        for item, rec in zip(group, _process_group(group, ctx, locate), strict=True):
            records[item.index] = rec
    assert all(r is not None for r in records)
    return records  # type: ignore[return-value]


def _process_group(
    items: list[_Readable], ctx: IngestContext, geocoder: Callable[[str], Geocoder | None]
) -> list[LoadRecord]:
    """Files of one municipality, source, entity and decimal mark, processed together."""
    contract = items[0].contract
    municipality_code = items[0].lf.municipality_code
    decimal_mark = items[0].table.decimal_mark
    heights = [it.table.data.height for it in items]
    data = pl.concat([it.table.data for it in items], how="vertical_relaxed")
    file_of = pl.Series("_file", np.repeat(np.arange(len(items), dtype=np.int32), heights))
    data = data.with_columns(file_of)
    values, errors = parse_columns(
        data, contract, today=ctx.today, decimal_mark=decimal_mark, group="_file"
    )

    # the month of each file; a file without one is refused (its rows are dropped below)
    periods = [
        _period_of(
            it.lf,
            values if it.lf.period_from_name or len(items) == 1 else values.filter(file_of == j),
            contract,
        )
        for j, it in enumerate(items)
    ]

    # identifiers: check digits, repairs
    id_errors: dict[str, pl.Series] = {}
    id_checks: dict[str, pl.DataFrame] = {}
    for c in contract.columns:
        if c.type in ("amka", "afm"):
            chk = (
                check_amka_series(data[c.name])
                if c.type == "amka"
                else check_afm_series(data[c.name])
            )
            id_checks[c.name] = chk
            id_errors[c.name] = chk["reason"]
    verdict = _row_reasons(data["_incomplete"], contract, values, errors, id_errors)
    rejected = verdict["reason_code"].is_not_null()

    now = datetime.now()
    files = pl.DataFrame(
        {
            "_load_id": [uuid.uuid4().hex for _ in items],
            "_period": [date.fromisoformat(f"{p}-01") if p else None for p in periods],
            "_loaded_at": [now] * len(items),
            "file_name": [it.lf.name for it in items],
            "sheet": [it.table.sheet for it in items],
        },
        schema={
            "_load_id": pl.String,
            "_period": pl.Date,
            "_loaded_at": pl.Datetime("us"),
            "file_name": pl.String,
            "sheet": pl.String,
        },
    )
    out = _pseudonymised(municipality_code, contract, data, values, id_checks, ctx, files, geocoder)
    out = out.with_columns(_repairs(id_checks, data.height).alias("_repairs"))
    rows = _split(out.filter(~rejected), file_of.filter(~rejected), len(items))
    rejects = _split(
        _reject_rows(contract, data, out, verdict, rejected, files),
        file_of.filter(rejected),
        len(items),
    )

    records = []
    for j, it in enumerate(items):
        lf, table, period = it.lf, it.table, periods[j]
        if period is None:
            r = reason("no_period")
            records.append(
                _refused(
                    lf,
                    it.sha,
                    ctx,
                    "no_period",
                    f"{r.el} ({lf.name})",
                    f"{r.en} ({lf.name})",
                    it.started,
                    contract,
                )
            )
            continue
        loaded = rows[j] if rows[j] is not None else out.clear()
        bad = rejects[j] if rejects[j] is not None else pl.DataFrame()
        rec = LoadRecord(
            load_id=files["_load_id"][j],
            run_id=ctx.run_id,
            municipality_code=lf.municipality_code,
            source=lf.source,
            entity=lf.entity,
            contract_id=contract.id,
            file_name=lf.name,
            landing_path=lf.relative,
            sha256=it.sha,
            size_bytes=lf.size_bytes,
            period=period,
            status="loaded",
            started_at=it.started,
            encoding=table.encoding,
            delimiter=table.delimiter,
            sheet=table.sheet,
            header_row=table.header_row,
            unknown_columns=list(table.mapping.unknown),
            missing_columns=list(table.mapping.missing_optional)
            + list(table.mapping.missing_required),
            rows_read=table.rows_read,
            rows_loaded=loaded.height,
            rows_rejected=bad.height,
            rows_repaired=int(loaded["_repairs"].is_not_null().sum()),
            rows_skipped=len(table.skipped_rows),
            skipped_rows=list(table.skipped_rows),
            rows_unassigned=int((loaded["geocode_method"] == "unassigned").sum())
            if "geocode_method" in loaded.columns
            else 0,
            rows_without_valid_amka=int((loaded["amka_status"] != "valid").sum())
            if "amka_status" in loaded.columns
            else 0,
            rows=loaded,
            rejects=bad,
        )
        assert rec.rows_read == rec.rows_loaded + rec.rows_rejected
        rec.finished_at = datetime.now()
        records.append(rec)
    return records


def _split(df: pl.DataFrame, file_of: pl.Series, n: int) -> list[pl.DataFrame | None]:
    """The rows of each of n files, in order (None for a file with none)."""
    if df.height == 0:
        return [None] * n
    if n == 1:
        return [df]
    parts = df.with_columns(file_of.alias("\x00file")).partition_by(
        "\x00file", as_dict=True, maintain_order=True, include_key=False
    )
    return [parts.get((j,)) for j in range(n)]


def _pii_action(c: Column) -> str | None:
    return c.pii_action or ("pseudonymise" if c.pii else None)


def _repairs(id_checks: dict[str, pl.DataFrame], n: int) -> pl.Series:
    parts = [chk["repair"] for chk in id_checks.values()]
    if not parts:
        return pl.Series("_repairs", [None] * n, dtype=pl.String)
    df = pl.DataFrame({f"r{i}": p for i, p in enumerate(parts)})
    s = df.select(pl.concat_list(pl.all()).list.drop_nulls().list.join(";").alias("_repairs"))[
        "_repairs"
    ]
    return s.replace("", None)


def _pseudonymised(
    municipality_code: str,
    contract: Contract,
    data: pl.DataFrame,
    values: pl.DataFrame,
    id_checks: dict[str, pl.DataFrame],
    ctx: IngestContext,
    files: pl.DataFrame,
    geocoder: Callable[[str], Geocoder | None],
) -> pl.DataFrame:
    """The analysis columns of every row: typed, pseudonymised, geocoded; no direct identifier.
    `data` holds the raw rows of one or more files (`_file`: the row of `files` giving each
    file's load id, period and load time)."""
    ps = ctx.pseudonymiser
    n = data.height
    file_of = data["_file"]
    cols: dict[str, pl.Series] = {
        "_load_id": files["_load_id"].gather(file_of),
        "_municipality_code": pl.Series([municipality_code] * n, dtype=pl.String),
        "_period": files["_period"].gather(file_of),
        "_source_row": data["source_row"].cast(pl.Int64),
        "_loaded_at": files["_loaded_at"].gather(file_of),
    }
    names = {c.name for c in contract.columns}
    # person: ΑΜΚΑ pseudonym, else the weaker name + birth-date key
    amka_col = next((c.name for c in contract.columns if c.type == "amka"), None)
    if amka_col is not None:
        chk = id_checks[amka_col]
        valid = chk["status"] == "valid"
        amka_keys = ps.person_keys_from_amka(
            chk["value"].zip_with(valid, pl.Series([None] * n, dtype=pl.String))
        )
        if {"surname", "first_name", "birth_date"} <= names:
            name_keys = ps.person_keys_from_name(
                values["surname"], values["first_name"], values["birth_date"]
            )
        else:
            name_keys = pl.Series([None] * n, dtype=pl.String)
        person_key = amka_keys.zip_with(amka_keys.is_not_null(), name_keys)
        cols["person_key"] = person_key.alias("person_key")
        cols["person_key_type"] = (
            pl.select(
                pl.when(amka_keys.is_not_null())
                .then(pl.lit("amka"))
                .when(name_keys.is_not_null())
                .then(pl.lit("name"))
                .otherwise(pl.lit(None))
            )
            .to_series()
            .alias("person_key_type")
        )
        cols["amka_status"] = chk["status"].alias("amka_status")
    for c in contract.columns:
        if c.name in ADDRESS or c.type in ("amka", "name", "phone"):
            continue
        if c.type == "afm":
            cols[f"{c.name}_status"] = id_checks[c.name]["status"].alias(f"{c.name}_status")
            continue
        pii = _pii_action(c)
        if pii == "drop":
            continue
        if pii == "pseudonymise":
            scope = f"{municipality_code}/{contract.source}/{c.name}"
            cols[f"{c.name}_key"] = ps.record_keys(scope, values[c.name].cast(pl.String)).alias(
                f"{c.name}_key"
            )
            continue
        if pii == "year_only":
            cols[f"{c.name.removesuffix('_date')}_year"] = (
                values[c.name]
                .cast(pl.Date)
                .dt.year()
                .cast(pl.Int64)
                .alias(f"{c.name.removesuffix('_date')}_year")
            )
            continue
        s = values[c.name]
        if c.type == "code_list":
            s = s.list.sort().list.join(";") if s.dtype == pl.List(pl.String) else s.cast(pl.String)
        elif c.type in _POLARS_TYPES:
            try:
                s = s.cast(_POLARS_TYPES[c.type])
            except pl.exceptions.InvalidOperationError:
                s = s.cast(pl.String)
        cols[c.name] = s.alias(c.name)
    out = pl.DataFrame(cols)
    if "street" in names or "postcode" in names:
        geo = geocoder(municipality_code)
        addr = data.select(
            [pl.col(a) if a in data.columns else pl.lit(None, pl.String).alias(a) for a in ADDRESS]
        )
        if geo is not None:
            located = geo.locate_frame(addr)
        else:
            located = pl.DataFrame(
                {
                    "neighbourhood_id": pl.Series([None] * n, dtype=pl.String),
                    "geocode_method": pl.Series(["unassigned"] * n, dtype=pl.String),
                    "geocode_score": pl.Series([0.0] * n, dtype=pl.Float64),
                }
            )
        has_address = addr.select(
            pl.any_horizontal(pl.all().str.strip_chars().ne("").fill_null(False))
        ).to_series()
        located = located.with_columns(
            pl.when(pl.Series(has_address))
            .then(pl.col("geocode_method"))
            .otherwise(pl.lit("no_address"))
            .alias("geocode_method")
        )
        out = pl.concat([out, located], how="horizontal")
    return out


def _reject_rows(
    contract: Contract,
    data: pl.DataFrame,
    out: pl.DataFrame,
    verdict: pl.DataFrame,
    rejected: pl.Series,
    files: pl.DataFrame,
) -> pl.DataFrame:
    """Rejected rows with file, row, column, reason (el/en) and the row itself — its direct
    identifiers already replaced by pseudonyms or masked, the rest as written."""
    if not bool(rejected.any()):
        return pl.DataFrame()
    keep = [
        c.name
        for c in contract.columns
        if c.name not in ("street", "street_number")
        and c.type not in ("amka", "afm", "name", "phone")
        and _pii_action(c) in (None, "year_only")
    ]
    raw = data.filter(rejected)
    shown = raw.select(keep)
    for c in contract.columns:
        if _pii_action(c) == "year_only" and c.name in shown.columns:
            shown = shown.with_columns(
                pl.col(c.name).str.extract(r"((?:19|20)\d{2})").alias(c.name)
            )
    o = out.filter(rejected)
    extra = [
        x
        for x in o.columns
        if x.endswith("_key")
        or x in ("person_key", "person_key_type", "amka_status", "afm_status", "neighbourhood_id")
    ]
    shown = pl.concat([shown, o.select(extra)], how="horizontal")
    row_json = [json.dumps(r, ensure_ascii=False, default=str) for r in shown.iter_rows(named=True)]
    v = verdict.filter(rejected)
    texts = v["reason_code"].to_list()
    file_of = raw["_file"]
    return pl.DataFrame(
        {
            "_load_id": o["_load_id"],
            "_municipality_code": o["_municipality_code"],
            "_period": o["_period"],
            "file_name": files["file_name"].gather(file_of),
            "sheet": files["sheet"].gather(file_of),
            "source_row": raw["source_row"].cast(pl.Int64),
            "column_name": v["column_name"].replace("", None),
            "reason_code": v["reason_code"],
            "reasons": v["reasons"],
            "reason_el": pl.Series([reason(t).el for t in texts], dtype=pl.String),
            "reason_en": pl.Series([reason(t).en for t in texts], dtype=pl.String),
            "row_json": pl.Series(row_json, dtype=pl.String),
        }
    )


# --- a run ----------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    run_id: str
    records: list[LoadRecord]
    skipped: list[LandingFile]
    reference: dict[str, dict[str, int]]
    seconds: float

    def totals(self) -> dict[str, int]:
        loaded = [r for r in self.records if r.status == "loaded"]
        return {
            "files_loaded": len(loaded),
            "files_refused": sum(r.status == "refused" for r in self.records),
            "files_skipped": len(self.skipped),
            "rows_read": sum(r.rows_read for r in loaded),
            "rows_loaded": sum(r.rows_loaded for r in loaded),
            "rows_rejected": sum(r.rows_rejected for r in loaded),
            "rows_repaired": sum(r.rows_repaired for r in loaded),
            "rows_unassigned": sum(r.rows_unassigned for r in loaded),
        }


# files processed together (`process_files`): consecutive files of one municipality, source and
# entity, up to this many files or bytes
BATCH_FILES = 128
BATCH_BYTES = 8 << 20


def _batches(files: Iterable[LandingFile]) -> Iterator[list[LandingFile]]:
    batch: list[LandingFile] = []
    size = 0
    for lf in files:
        if batch and (
            (lf.municipality_code, lf.source, lf.entity)
            != (batch[0].municipality_code, batch[0].source, batch[0].entity)
            or len(batch) >= BATCH_FILES
            or size + lf.size_bytes > BATCH_BYTES
        ):
            yield batch
            batch, size = [], 0
        batch.append(lf)
        size += lf.size_bytes
    if batch:
        yield batch


def ingest_files(
    files: Iterable[LandingFile],
    ctx: IngestContext,
    *,
    on_file: Callable[[LandingFile, LoadRecord | None], None] | None = None,
) -> tuple[list[LoadRecord], list[LandingFile]]:
    """Process and commit files one by one, in order, each in its own transaction.

    Files are processed a batch at a time (`process_files`; nothing is written then), the next
    batch on a worker thread while this one commits the current batch's files one by one
    (only this thread touches the warehouse). Whether a file is skipped is decided just before
    its commit, against what the warehouse and the files committed before it hold, so a file
    identical to one committed earlier in the same run is skipped as it would be file by file
    (the worker only leaves out files already skipped when its batch starts)."""
    wh = ctx.warehouse
    done = wh.processed()
    records: list[LoadRecord] = []
    skipped: list[LandingFile] = []
    pause = float(os.environ.get("GEITONIA_TEST_PAUSE_BEFORE_COMMIT", "0") or 0)

    def seen(lf: LandingFile, sha: str) -> bool:
        slot = f"{lf.municipality_code}/{lf.source}/{lf.entity}/{lf.period_from_name}"
        return (sha, slot) in done or (sha, lf.relative) in done

    def prepare(
        batch: list[LandingFile], geocoders: dict[str, Geocoder | None]
    ) -> tuple[list[str], dict[int, LoadRecord]]:
        shas = [sha256_of(lf.path) for lf in batch]
        todo = [i for i, (lf, sha) in enumerate(zip(batch, shas, strict=True)) if not seen(lf, sha)]
        recs = process_files([(batch[i], shas[i]) for i in todo], ctx, geocoder=geocoders.get)
        return shas, dict(zip(todo, recs, strict=True))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as pool:

        def submit(batch: list[LandingFile]) -> Future[tuple[list[str], dict[int, LoadRecord]]]:
            # geocoders are looked up here, on the warehouse's thread
            munis = {lf.municipality_code for lf in batch}
            return pool.submit(prepare, batch, {m: geocoder_for(ctx, m) for m in munis})

        batches = _batches(files)
        batch = next(batches, None)
        pending = submit(batch) if batch is not None else None
        while batch is not None and pending is not None:
            shas, processed = pending.result()
            current, batch = batch, next(batches, None)
            pending = submit(batch) if batch is not None else None
            for i, (lf, sha) in enumerate(zip(current, shas, strict=True)):
                rec = processed.pop(i, None)
                if rec is None or seen(lf, sha):
                    skipped.append(lf)
                    if on_file:
                        on_file(lf, None)
                    continue
                archive(lf.path, sha, ctx.archive_dir)
                wh.commit_file(rec, pause_before_commit=pause)
                if rec.status == "loaded":
                    slot = f"{rec.municipality_code}/{rec.source}/{rec.entity}/{rec.period}"
                    done.add((sha, slot))
                    done.add((sha, lf.relative))
                else:
                    done.add((sha, lf.relative))
                records.append(rec)
                if on_file:
                    on_file(lf, rec)
    return records, skipped


def ingest_landing(
    landing: Path,
    ctx: IngestContext,
    *,
    on_file: Callable[[LandingFile, LoadRecord | None], None] | None = None,
    files: list[LandingFile] | None = None,
) -> RunSummary:
    """Ingest every new file under a landing folder (reference files first)."""
    t0 = time.perf_counter()
    reference = {
        m: load_reference(ctx, m, folder) for m, folder in reference_folders(landing).items()
    }
    todo = files if files is not None else scan(landing)
    records, skipped = ingest_files(todo, ctx, on_file=on_file)
    return RunSummary(ctx.run_id, records, skipped, reference, time.perf_counter() - t0)
