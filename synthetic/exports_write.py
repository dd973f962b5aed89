"""Rendering an entity's rows into one export file: CSV text built per column with polars, XLSX
with xlsxwriter (constant_memory). Used by synthetic/exports.py."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from synthetic.faults import caps_no_accents

EXCEL_EPOCH = date(1899, 12, 30)
STRINGISH = ("str", "addr", "code", "bool", "list")
NUMERIC = ("int", "money", "qty")
LINE_TERMINATORS = {"crlf": "\r\n", "lf": "\n"}

MONTHS_EL = [
    "Ιανουάριος", "Φεβρουάριος", "Μάρτιος", "Απρίλιος", "Μάιος", "Ιούνιος", "Ιούλιος",
    "Αύγουστος", "Σεπτέμβριος", "Οκτώβριος", "Νοέμβριος", "Δεκέμβριος",
]  # fmt: skip

INSTRUCTIONS = [
    "Οδηγίες συμπλήρωσης",
    "Συμπληρώνετε μία γραμμή για κάθε εγγραφή, χωρίς κενές γραμμές.",
    "Οι ημερομηνίες γράφονται ως ηη/μμ/εεεε.",
    "Το ΑΜΚΑ έχει 11 ψηφία (χωρίς κενά).",
    "Το αρχείο αποστέλλεται έως την 20ή του επόμενου μήνα.",
]


@dataclass(frozen=True)
class FileFormat:
    container: str  # csv / xlsx
    encoding: str | None  # Python codec; None for xlsx
    delimiter: str | None
    decimal_comma: bool
    date_format: str  # dd/mm/yyyy, d/m/yy, yyyy-mm-dd, excel_serial
    title_rows: int
    merged_header: bool
    line_terminator: str | None  # crlf / lf
    extra_sheet: str  # none / instructions / previous_month
    sheet_name: str  # Φύλλο1 / Sheet1 / month
    header_profile: str

    @property
    def header_row(self) -> int:
        return self.title_rows + int(self.merged_header) + 1


def header_name(variants: list[str], profile: str) -> str:
    """A column header under a profile of headers.yaml."""
    if profile == "national":
        return variants[0]
    if profile == "local_alt":
        return variants[1] if len(variants) > 1 else variants[0]
    if profile == "local_caps":
        return caps_no_accents(variants[0])
    if profile == "dotted":
        dotted = [v for v in variants if "." in v]
        return (dotted[0] if dotted else variants[0]).replace(" ", "  ") + " "
    raise ValueError(f"unknown header profile {profile!r}")


# --- value rendering -----------------------------------------------------------------------------

_DATE_PATTERNS = {"dd/mm/yyyy": "%d/%m/%Y", "d/m/yy": "%-d/%-m/%y", "yyyy-mm-dd": "%Y-%m-%d"}
_PY_PATTERNS = {"dd/mm/yyyy": "{d:02d}/{m:02d}/{y:04d}", "yyyy-mm-dd": "{y:04d}-{m:02d}-{d:02d}"}


def _pattern(date_format: str, full_year: bool) -> str:
    if date_format == "d/m/yy" and full_year:
        return "%-d/%-m/%Y"
    return _DATE_PATTERNS.get(date_format, "%d/%m/%Y")


def date_expr(e: pl.Expr, date_format: str, full_year: bool) -> pl.Expr:
    if date_format == "excel_serial":
        return (e - pl.lit(EXCEL_EPOCH)).dt.total_days().cast(pl.String)
    return e.dt.strftime(_pattern(date_format, full_year))


def datetime_expr(e: pl.Expr, date_format: str, decimal_comma: bool) -> pl.Expr:
    if date_format == "excel_serial":
        s = (
            ((e - pl.lit(datetime(1899, 12, 30))).dt.total_seconds() / 86400)
            .round(5)
            .cast(pl.String)
        )
        return s.str.replace(".", ",", literal=True) if decimal_comma else s
    return e.dt.strftime(_pattern(date_format, False) + " %H:%M")


def money_expr(e: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Two decimals; with a decimal comma also a thousands point: 1.234,56."""
    cents = (e * 100).round(0).cast(pl.Int64)
    whole = cents // 100
    frac = (cents % 100).cast(pl.String).str.zfill(2)
    if not decimal_comma:
        return pl.format("{}.{}", whole, frac)
    z3 = lambda x: x.cast(pl.String).str.zfill(3)  # noqa: E731
    grouped = (
        pl.when(whole >= 1_000_000)
        .then(
            pl.format("{}.{}.{}", whole // 1_000_000, z3((whole // 1000) % 1000), z3(whole % 1000))
        )
        .when(whole >= 1000)
        .then(pl.format("{}.{}", whole // 1000, z3(whole % 1000)))
        .otherwise(whole.cast(pl.String))
    )
    return pl.format("{},{}", grouped, frac)


def qty_expr(e: pl.Expr, decimal_comma: bool) -> pl.Expr:
    s = e.round(2).cast(pl.String).str.replace(r"\.0$", "")
    return s.str.replace(".", ",", literal=True) if decimal_comma else s


def fmt_date_py(d: date | datetime, date_format: str, full_year: bool, decimal_comma: bool) -> str:
    """One date as `date_expr` / `datetime_expr` write it (for fault overrides)."""
    is_dt = isinstance(d, datetime)
    if date_format == "excel_serial":
        if is_dt:
            s = f"{round((d - datetime(1899, 12, 30)).total_seconds() / 86400, 5)}"
            return s.replace(".", ",") if decimal_comma else s
        return str((d - EXCEL_EPOCH).days)
    s = d.strftime(_pattern(date_format, full_year).replace("%-d", "%d").replace("%-m", "%m"))
    if date_format == "d/m/yy":
        parts = s.split("/")
        s = f"{int(parts[0])}/{int(parts[1])}/{parts[2]}"
    return s + (d.strftime(" %H:%M") if is_dt else "")


def fmt_bad_date(parts: tuple, date_format: str, full_year: bool) -> str:
    """An impossible (y, m, d[, H, M]) written as text in the file's date pattern."""
    y, m, d = parts[:3]
    if date_format == "yyyy-mm-dd":
        s = f"{y:04d}-{m:02d}-{d:02d}"
    elif date_format == "d/m/yy" and not full_year:
        s = f"{d}/{m}/{y % 100:02d}"
    elif date_format == "d/m/yy":
        s = f"{d}/{m}/{y:04d}"
    else:  # dd/mm/yyyy, and excel_serial files where a typed text date is what one sees
        s = f"{d:02d}/{m:02d}/{y:04d}"
    if len(parts) == 5:
        s += f" {parts[3]:02d}:{parts[4]:02d}"
    return s


def fmt_out_of_range(d: date | datetime, date_format: str, decimal_comma: bool) -> str:
    """A date of year 1900/2099 in a CSV: always with a 4-digit year, so that it stays unambiguous."""
    fmt = "dd/mm/yyyy" if date_format == "d/m/yy" else date_format
    out = fmt_date_py(d, fmt, True, decimal_comma)
    if date_format == "d/m/yy":
        dd, mm, rest = out.split("/", 2)
        out = f"{int(dd)}/{int(mm)}/{rest}"
    return out


@dataclass
class Layout:
    """What one file (or sheet) shows besides its data rows."""

    headers: list[str]
    groups: list[tuple[int, int, str]]  # (first col, last col, label) of the merged group row
    titles: list[str]


@dataclass
class Table:
    """The rows of one file/sheet, rendered column-wise: for CSV a frame of strings; for XLSX per
    column a numeric series (numbers, Excel serial dates; None for text columns) and a text
    series (text cells, which win over the number where both are set)."""

    kinds: list[str]  # per column: text/date/datetime/int/money/qty (as XLSX cell kinds)
    columns: list[tuple[pl.Series | None, pl.Series]] = field(default_factory=list)  # xlsx
    frame: pl.DataFrame | None = None  # csv (all strings)

    @property
    def n_rows(self) -> int:
        if self.frame is not None:
            return self.frame.height
        return len(self.columns[0][1]) if self.columns else 0


def render_table(
    sub: pl.DataFrame,
    cols: list[str],
    types: dict[str, str],
    fmt: FileFormat,
    overrides: dict[int, dict[str, tuple[str, Any]]],
) -> Table:
    """Render `sub` (an entity frame's rows, in file order) for one file.

    `overrides` maps a row position to {column: (kind, value)} (faults.RowFault.overrides).
    """
    xlsx = fmt.container == "xlsx"
    exprs: list[pl.Expr] = []
    kinds: list[str] = []
    for c in cols:
        t = types[c].split(":")[0]
        full_year = c == "birth_date"
        if t in STRINGISH:
            exprs.append(pl.col(f"s_{c}").alias(c))
            kinds.append("text")
        elif t == "date":
            if xlsx and fmt.date_format == "excel_serial":
                exprs.append(
                    (pl.col(f"v_{c}") - pl.lit(EXCEL_EPOCH))
                    .dt.total_days()
                    .cast(pl.Float64)
                    .alias(c)
                )
                kinds.append("date")
            else:
                exprs.append(date_expr(pl.col(f"v_{c}"), fmt.date_format, full_year).alias(c))
                kinds.append("text")
        elif t == "datetime":
            if xlsx and fmt.date_format == "excel_serial":
                e = (pl.col(f"v_{c}") - pl.lit(datetime(1899, 12, 30))).dt.total_seconds() / 86400
                exprs.append(e.round(6).alias(c))
                kinds.append("datetime")
            else:
                exprs.append(
                    datetime_expr(pl.col(f"v_{c}"), fmt.date_format, fmt.decimal_comma).alias(c)
                )
                kinds.append("text")
        elif t in NUMERIC:
            if xlsx:
                exprs.append(pl.col(f"v_{c}").alias(c))
            elif t == "int":
                exprs.append(pl.col(f"v_{c}").cast(pl.String).alias(c))
            elif t == "money":
                exprs.append(money_expr(pl.col(f"v_{c}"), fmt.decimal_comma).alias(c))
            else:
                exprs.append(qty_expr(pl.col(f"v_{c}"), fmt.decimal_comma).alias(c))
            kinds.append(t if xlsx else "text")
        else:
            raise ValueError(f"column {c}: unknown type {types[c]!r}")
    out = sub.select(exprs)

    # overrides: few per file, applied per cell
    by_col: dict[str, tuple[list[int], list[Any]]] = {}
    for pos, ov in overrides.items():
        for c, (kind, value) in ov.items():
            full_year = c == "birth_date"
            cell_kind = kinds[cols.index(c)]
            if kind == "blank":
                v = None
            elif kind == "text":
                v = value
            elif kind == "bad_date":
                v = fmt_bad_date(value, fmt.date_format, full_year)
            elif kind == "date":
                if cell_kind in ("date", "datetime"):
                    if isinstance(value, datetime):
                        v = (value - datetime(1899, 12, 30)).total_seconds() / 86400
                    else:
                        v = float((value - EXCEL_EPOCH).days)
                elif value.year in (1900, 2099):
                    v = fmt_out_of_range(value, fmt.date_format, fmt.decimal_comma)
                else:
                    v = fmt_date_py(value, fmt.date_format, full_year, fmt.decimal_comma)
            else:
                raise ValueError(kind)
            idx, vals = by_col.setdefault(c, ([], []))
            idx.append(pos)
            vals.append(v)

    if not xlsx:
        series = []
        for c in cols:
            s = out[c]
            if c in by_col:
                s = s.clone()
                s.scatter(by_col[c][0], by_col[c][1])
            series.append(s)
        frame = pl.DataFrame(series).with_columns(
            pl.all().replace("", None).str.replace_all(r"[\r\n]+", " ")
        )
        return Table(kinds=kinds, frame=frame)

    columns: list[tuple[pl.Series | None, pl.Series]] = []
    for c, kind in zip(cols, kinds, strict=True):
        if kind == "text":
            num, txt = None, out[c].clone()
        else:
            num = out[c].cast(pl.Float64)
            txt = pl.Series(c, [None] * out.height, dtype=pl.String)
        if c in by_col:
            idx, vals = by_col[c]
            if num is None:
                txt.scatter(idx, vals)
            else:
                num.scatter(idx, [v if isinstance(v, (int, float)) else None for v in vals])
                txt.scatter(idx, [v if isinstance(v, str) else None for v in vals])
        columns.append((num, txt))
    return Table(kinds=kinds, columns=columns)


def _col_letter(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


def rows_xml(table: Table, first_row: int, styles: list[int | None], small: int = 20_000) -> str:
    """sheetData <row> elements for the table's rows, as xlsxwriter writes them in
    constant_memory mode (inline strings; a column's style on each of its cells). Built per column
    with polars; tables under `small` cells in plain Python (polars' fixed cost per query is
    larger there). `first_row` is 0-based."""
    n = table.n_rows
    if n == 0:
        return ""
    if n * len(table.columns) < small:
        return _rows_xml_py(table, first_row, styles)
    series = [pl.Series("r", range(first_row + 1, first_row + 1 + n)).cast(pl.String)]
    for c, (num, txt) in enumerate(table.columns):
        series.append(txt.alias(f"t{c}"))
        if num is not None:
            series.append(num.alias(f"n{c}"))
    parts: list[pl.Expr] = [pl.lit('<row r="'), pl.col("r"), pl.lit('">')]
    for c, (num, _txt) in enumerate(table.columns):
        style = f' s="{styles[c]}"' if styles[c] else ""
        ref = pl.lit(f'<c r="{_col_letter(c)}')
        esc = (
            pl.col(f"t{c}")
            .replace("", None)
            .str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True)
        )
        cell = pl.concat_str(
            ref, pl.col("r"), pl.lit(f'"{style} t="inlineStr"><is><t xml:space="preserve">'),
            esc, pl.lit("</t></is></c>"),
        )  # fmt: skip
        if num is not None:
            v = pl.col(f"n{c}").cast(pl.String).str.strip_suffix(".0")
            cell = pl.coalesce(
                cell,
                pl.concat_str(ref, pl.col("r"), pl.lit(f'"{style}><v>'), v, pl.lit("</v></c>")),
            )
        parts.append(cell)
    parts.append(pl.lit("</row>"))
    out = pl.DataFrame(series).select(pl.concat_str(parts, ignore_nulls=True).alias("x"))
    return "".join(out["x"].to_list())


def _num_text(v: float) -> str:
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def _rows_xml_py(table: Table, first_row: int, styles: list[int | None]) -> str:
    cols = []
    for c, (num, txt) in enumerate(table.columns):
        style = f' s="{styles[c]}"' if styles[c] else ""
        nums = num.to_list() if num is not None else None
        cols.append((_col_letter(c), style, nums, txt.to_list()))
    out = []
    for i in range(table.n_rows):
        r = first_row + 1 + i
        out.append(f'<row r="{r}">')
        for letter, style, nums, txts in cols:
            t = txts[i]
            if t:
                t = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                out.append(
                    f'<c r="{letter}{r}"{style} t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c>'
                )
            elif nums is not None and nums[i] is not None:
                out.append(f'<c r="{letter}{r}"{style}><v>{_num_text(nums[i])}</v></c>')
        out.append("</row>")
    return "".join(out)


# --- CSV -----------------------------------------------------------------------------------------


def _csv_line(cells: list[str], delimiter: str, lt: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=lt, quoting=csv.QUOTE_MINIMAL).writerow(
        cells
    )
    return buf.getvalue()


def csv_prefix(layout: Layout, fmt: FileFormat) -> str:
    """Title rows, merged group row and header, as Excel would save them."""
    n = len(layout.headers)
    d, lt = fmt.delimiter or ";", LINE_TERMINATORS[fmt.line_terminator or "crlf"]
    lines = []
    for t in layout.titles:
        lines.append(_csv_line([t] + [""] * (n - 1), d, lt))
    if fmt.merged_header:
        cells = [""] * n
        for c0, _c1, label in layout.groups:
            cells[c0] = label
        lines.append(_csv_line(cells, d, lt))
    lines.append(_csv_line(layout.headers, d, lt))
    return "".join(lines)


def csv_body(table: Table, fmt: FileFormat) -> str:
    assert table.frame is not None
    if table.frame.height == 0:
        return ""
    return table.frame.write_csv(
        include_header=False,
        separator=fmt.delimiter or ";",
        quote_style="necessary",
        line_terminator=LINE_TERMINATORS[fmt.line_terminator or "crlf"],
        null_value="",
    )


def truncate_body(body: str, fmt: FileFormat, keep: int, n_cols: int, frac: float) -> str:
    """Keep `keep` whole rows, then cut row `keep` mid-row (fewer fields than the header, no
    line end): what an interrupted transfer leaves. `frac` in [0, 1) picks the cut field."""
    lt = LINE_TERMINATORS[fmt.line_terminator or "crlf"]
    lines = body.split(lt)
    head = "".join(line + lt for line in lines[:keep])
    line = lines[keep]
    d = fmt.delimiter or ";"
    # field start offsets outside quotes
    starts, inq = [0], False
    for i, ch in enumerate(line):
        if ch == '"':
            inq = not inq
        elif ch == d and not inq:
            starts.append(i + 1)
    j = 1 + int(frac * max(1, min(len(starts), n_cols) - 2))  # 1 <= j <= n_cols - 2
    j = min(j, len(starts) - 1)
    start = starts[j]
    end = starts[j + 1] - 1 if j + 1 < len(starts) else len(line)
    field_text = line[start:end]
    cut = (
        start
        if (not field_text or field_text.startswith('"'))
        else start + max(1, len(field_text) // 2)
    )
    cut = min(cut, end)
    return head + line[:cut]


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


# --- XLSX ----------------------------------------------------------------------------------------


@dataclass
class Sheet:
    name: str
    layout: Layout | None  # None for a text-only sheet
    table: Table | None = None
    totals: bool = False
    merged: bool = False
    text_lines: list[str] = field(default_factory=list)


def write_xlsx(path: Path, sheets: list[Sheet], created: datetime) -> dict[str, int]:
    """Write an XLSX; returns the Excel row of the totals row per sheet (when there is one)."""
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": created, "author": "", "company": ""})
    bold = wb.add_format({"bold": True})
    title_fmt = wb.add_format({"bold": True, "font_size": 13})
    group_fmt = wb.add_format({"bold": True, "align": "center", "border": 1})
    head_fmt = wb.add_format({"bold": True, "border": 1, "text_wrap": True})
    col_fmt = {
        "date": wb.add_format({"num_format": "dd/mm/yyyy"}),
        "datetime": wb.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
        "money": wb.add_format({"num_format": "#,##0.00"}),
    }
    totals_at: dict[str, int] = {}
    for sh in sheets:
        ws = wb.add_worksheet(sh.name)
        if sh.layout is None:
            for r, line in enumerate(sh.text_lines):
                ws.write_string(r, 0, line, bold if r == 0 else None)
            continue
        lay, tab = sh.layout, sh.table
        assert tab is not None
        for c, kind in enumerate(tab.kinds):
            width = max(10, min(40, len(lay.headers[c]) + 2))
            ws.set_column(c, c, width, col_fmt.get(kind))
        r = 0
        for t in lay.titles:
            ws.write_string(r, 0, t, title_fmt)
            r += 1
        if sh.merged and lay.groups:
            for c0, c1, label in lay.groups:
                if c1 > c0:
                    ws.merge_range(r, c0, r, c1, label, group_fmt)
                else:
                    ws.write_string(r, c0, label, group_fmt)
            r += 1
        ws.write_row(r, 0, lay.headers, head_fmt)
        r += 1
        if tab.n_rows:
            # The data rows are streamed into xlsxwriter's constant_memory row file as XML built
            # per column (per-cell write() costs ~10 µs a cell): flush the header row, write the
            # rows, then record the sheet's dimensions and that these rows are written.
            ws._write_single_row(r)
            styles = [col_fmt[k]._get_xf_index() if k in col_fmt else None for k in tab.kinds]
            ws.fh.write(rows_xml(tab, r, styles))
            last = r + tab.n_rows - 1
            ws._check_dimensions(last, len(tab.kinds) - 1)
            ws.previous_row = last
            r = last + 1
        if sh.totals:
            ws.write_string(r, 0, "Σύνολο", bold)
            numeric = [c for c, k in enumerate(tab.kinds) if k in NUMERIC and c > 0]
            for c in numeric:
                num = tab.columns[c][0]
                total = float(num.sum()) if num is not None else 0.0
                ws.write_number(r, c, round(total, 2), bold)
            if not numeric and len(tab.kinds) > 1:
                ws.write_number(r, 1, tab.n_rows, bold)
            totals_at[sh.name] = r + 1
    wb.close()
    return totals_at
