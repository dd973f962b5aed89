"""Which ingest asset and which monthly partition each landing file belongs to.

An ingest asset is one raw table (<source>__<entity>); its partitions are reporting months
('YYYY-MM'). A file belongs to the asset of the folder it arrived in and to the month its name
carries (ingest.landing.period_from_name); a file whose name carries none to the month of its
dates, as ingest itself decides (ingest.pipeline); a file that cannot be read to the month it
arrived (so that its refusal is still logged).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache

import dagster as dg

from ingest.contracts import Contract, load_contracts
from ingest.landing import LandingFile
from ingest.pipeline import _period_of
from ingest.readers import UnreadableFile, parse_columns, read_file
from ingest.warehouse import table_name

PARTITION_FORMAT = "%Y-%m"
# start_date is written in the partition format: the first partition is January 2019.
MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2019-01", fmt=PARTITION_FORMAT, end_offset=1)
WAREHOUSE_POOL = "geitonia_warehouse"


@cache
def contracts() -> Mapping[str, Contract]:
    """The source contracts, '<source>.<entity>' -> Contract (read once per process)."""
    return load_contracts()


def entities() -> list[tuple[str, str]]:
    """(source, entity) of every contract, in a stable order: one ingest asset each."""
    return sorted((c.source, c.entity) for c in contracts().values())


def asset_key(source: str, entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table_name(source, entity)])


def month_from_content(lf: LandingFile) -> str | None:
    """The month ingest will give a file whose name carries none (the commonest month of its
    period column), or None when the file cannot be read against its folder's contract."""
    contract = contracts().get(f"{lf.source}.{lf.entity}")
    if contract is None:
        return None
    try:
        table = read_file(lf.path, contract, contracts=contracts().values())
    except UnreadableFile:
        return None
    values, _ = parse_columns(
        table.data, contract, today=date.today(), decimal_mark=table.decimal_mark
    )
    return _period_of(lf, values, contract)


def file_month(lf: LandingFile) -> str:
    """The partition key ('YYYY-MM') of a landing file."""
    if lf.period_from_name:
        return lf.period_from_name
    month = month_from_content(lf)
    if month:
        return month
    return datetime.fromtimestamp(lf.path.stat().st_mtime).strftime(PARTITION_FORMAT)


def is_ingest_file(lf: LandingFile) -> bool:
    """The file is in the folder of one of the ingest assets."""
    return f"{lf.source}.{lf.entity}" in contracts()
