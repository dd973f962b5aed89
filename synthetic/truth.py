"""Ground truth of the exports: every data row written, every fault injected, every file.

Written under `<out>/truth/` (docs/design.md); nothing in the pipeline reads it.

- `records.parquet`: one row per data row of every export file (and sheet).
- `faults.csv`: every fault and what ingest must do with it.
- `files.csv`: every file written, with its format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

RECORDS_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String,  # path relative to <out>/exports
    "sheet": pl.String,  # XLSX sheet name; null for CSV
    "source_row": pl.Int64,  # 1-based physical row (CSV line / Excel row), docs/design.md
    "source": pl.String,  # the source that wrote the row (not the folder, for wrong-folder files)
    "entity": pl.String,
    "period": pl.String,  # "YYYY-MM" of the row's month
    "person_id": pl.Int64,
    "household_id": pl.Int64,
    "true_neighbourhood_id": pl.String,  # null when the row has no address
    "world_table": pl.String,  # World.services attribute the row comes from
    "world_row": pl.Int64,  # 0-based row of that table
    "is_fault_row": pl.Boolean,
    "fault": pl.String,  # the fault that decides the row's outcome (row fault, truncated_file,
    #                      wrong_folder); null when the row must simply load
    "is_current": pl.Boolean,  # part of the authoritative file/sheet of its entity and period
    #                            (false: superseded by a re-send, wrong-folder copy, extra sheet)
}

FAULTS_SCHEMA: dict[str, pl.DataType] = {
    "fault_id": pl.Int64,
    "fault": pl.String,
    "file": pl.String,
    "sheet": pl.String,
    "source_row": pl.Int64,
    "column": pl.String,  # canonical column (headers.yaml key); null for file-level faults
    "expected_action": pl.String,
    "expected_reason": pl.String,
    "detail": pl.String,  # e.g. the address variant kind, rows lost by a truncation
}

FILES_SCHEMA: dict[str, pl.DataType] = {
    "path": pl.String,  # relative to <out>/exports
    "source": pl.String,  # the folder's source
    "entity": pl.String,  # the folder's entity
    "period": pl.String,
    "format": pl.String,  # csv / xlsx
    "encoding": pl.String,  # Python codec (utf-8, utf-8-sig, cp1253, iso-8859-7); null for xlsx
    "delimiter": pl.String,  # null for xlsx
    "decimal_comma": pl.Boolean,
    "date_format": pl.String,  # dd/mm/yyyy, d/m/yy, yyyy-mm-dd, excel_serial
    "title_rows": pl.Int64,  # rows above the header (and above the merged group row)
    "merged_header": pl.Boolean,  # a merged group-header row directly above the header
    "header_row": pl.Int64,  # 1-based row of the header
    "totals_row": pl.Boolean,
    "sheets": pl.String,  # "|"-separated sheet names (xlsx)
    "data_sheet": pl.String,  # the sheet holding the period's rows (xlsx)
    "header_profile": pl.String,
    "line_terminator": pl.String,  # crlf / lf (csv)
    "n_data_rows": pl.Int64,  # data rows in the data sheet (a truncated file counts its cut row)
    "n_rows_lost": pl.Int64,  # rows a truncation cut off
    "sha256": pl.String,
    "size_bytes": pl.Int64,
    "is_resend": pl.Boolean,
    "resend_of": pl.String,  # path of the file a re-send replaces
    "is_empty": pl.Boolean,
    "is_truncated": pl.Boolean,
    "wrong_folder_of": pl.String,  # "<source>.<entity>" the file really holds, if misplaced
    "exported_at": pl.Datetime("us"),  # also the file's modification time
}


@dataclass
class ExportResult:
    """What `write_exports` wrote: the three truth tables and per-fault counts."""

    out_dir: Path
    records: pl.DataFrame
    faults: pl.DataFrame
    files: pl.DataFrame
    fault_stats: pl.DataFrame  # fault, entity, eligible, rate, target, realised
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        by_fault = self.faults.group_by("fault").len().sort("fault")
        return {
            "files": self.files.height,
            "data_rows": self.records.height,
            "faults": self.faults.height,
            "faults_by_kind": dict(zip(by_fault["fault"], by_fault["len"], strict=True)),
            "formats": dict(
                zip(
                    *self.files.group_by("format").len().sort("format").to_dict().values(),
                    strict=True,
                )
            ),
        }


def write_truth(result: ExportResult, truth_dir: Path) -> None:
    """Write records.parquet, faults.csv and files.csv (UTF-8) under `truth_dir`."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    result.records.write_parquet(truth_dir / "records.parquet", statistics=False)
    result.faults.write_csv(truth_dir / "faults.csv")
    result.files.with_columns(pl.col("exported_at").dt.strftime("%Y-%m-%dT%H:%M:%S")).write_csv(
        truth_dir / "files.csv"
    )
