"""Read an export file as it really comes, into header-mapped raw strings with `source_row`.

`read_file(path, contract)` (alias `read_table`, the name in docs/design.md) returns a
`RawTable`: every cell as a string (nothing is parsed here), columns renamed to the contract's
canonical names, a `source_row` column (1-based physical row as a person sees it: the CSV line,
the Excel row) and `_field_count` / `_incomplete` flags for cut CSV rows. A file that cannot be
read at all raises `UnreadableFile` with a reason code and a message a data steward can act on.

What is detected, and how
- **File type**: by content (ZIP/OLE2 signature → spreadsheet via fastexcel), not by suffix.
- **Encoding** (CSV), cheapest robust order first: a BOM (UTF-8, UTF-16); else a strict UTF-8
  decode; else the two Greek 8-bit code pages. Windows-1253 and ISO-8859-7 agree on the Greek
  letters except a few code points ('Ά' is 0xA2 in cp1253 and 0xB6 in ISO-8859-7, where cp1253
  has '¶'; '€' is 0x80 in cp1253, a C1 control in ISO-8859-7, which has '€' at 0xA4, '¤' in
  cp1253). Only the bytes on which they differ are weighed: each decoding earns a point for
  every such byte that becomes a letter or '€' and loses one for a control character or an
  unlikely symbol; the higher wins (a tie, where only rare punctuation differs, goes to
  cp1253). A file neither decodes strictly is left to charset-normalizer.
- **Delimiter**: ';', ',', tab or '|', the one whose field counts are most consistent over the
  first lines (quote-aware, via the csv module), then the one giving more fields.
- **Header row**: among the first 30 rows, the row — or pair of rows, for a header split over
  two rows or under merged group cells — whose cells name the most distinct contract columns.
  Title rows above it are skipped. If another contract explains the header better (and the
  expected one lacks required columns, or trails by 0.3 in `Contract.header_score`), the file
  is refused as `wrong_source`, naming that contract; a header lacking required columns is
  refused as `missing_columns`, none at all as `no_header`. Messages quote header rows only,
  never a data row's identifiers.
- **Totals rows**: a sparse row (at most half the columns filled) with "Σύνολο", "ΣΥΝΟΛΑ",
  "Γενικό Σύνολο" or "Total" in a cell, anywhere; or, in the block at the bottom, a sparse row
  whose only non-empty cells are at most one label and numbers. They are removed and reported
  in `skipped_rows` as `totals_row`. Empty rows are removed and counted (`empty_rows`).
- **Cut rows** (CSV): `_field_count` is the row's number of fields (quote-aware);
  `_incomplete` is true when it is below the header's, so validation rejects the row with
  'row_incomplete'. Rows with extra fields keep the header's columns.
- **Sheets**: the sheet whose header fits the contract best; the others are reported in
  `other_sheets` with the reason they were not read.
- **XLSX cells** come back as text: date cells as ISO `YYYY-MM-DD` (or `YYYY-MM-DD HH:MM:SS`,
  time-only cells `HH:MM:SS`), numbers as written by Excel (`43831`, `12.5`).

Speed: a CSV is decoded once, split by polars' CSV reader (`infer_schema=False`) and
line numbers, field counts and totals are found with vectorised expressions; only a file with
line breaks inside quoted fields is walked with the csv module.

The value parsers (`parse_dates`, `parse_datetimes`, `parse_times`, `parse_decimals`,
`parse_integers`, `parse_booleans`, `parse_codes`, `parse_code_lists`, and `parse_column` /
`parse_columns` that apply a contract's types and bounds) are pure and vectorised: each returns
`Parsed(values, errors)`, two Series as long as the input, `errors` null where the value is fine
(or empty) and a reason code otherwise ('date_invalid', 'date_out_of_range', 'time_invalid',
'number_invalid', 'code_invalid', 'required_missing').
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from ingest.contracts import Column, Contract, HeaderMapping, header_key, load_contracts

__all__ = [
    "Parsed",
    "RawTable",
    "UnreadableFile",
    "decode_bytes",
    "detect_delimiter",
    "parse_booleans",
    "parse_code_lists",
    "parse_codes",
    "parse_column",
    "parse_columns",
    "parse_dates",
    "parse_datetimes",
    "parse_decimals",
    "parse_integers",
    "parse_times",
    "read_file",
    "read_table",
]

HEADER_SEARCH_ROWS = 30
SAMPLE_LINES = 60
DELIMITERS = (";", ",", "\t", "|")
WRONG_SOURCE_MARGIN = 0.3  # another contract this much better refuses even a complete header


# ---------------------------------------------------------------------------------------------
# Errors and the result


class UnreadableFile(Exception):
    """A file that cannot be read at all; the whole file is refused.

    reason_code: empty_file (0 bytes, only blank lines, or a workbook of empty sheets; a header
    without data rows is not empty: it loads as zero rows, a month with nothing to report) |
    no_header | missing_columns | wrong_source | unreadable
    """

    def __init__(
        self,
        reason_code: str,
        message_el: str,
        message_en: str,
        *,
        path: Path | str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(f"{reason_code}: {message_en}")
        self.reason_code = reason_code
        self.message_el = message_el
        self.message_en = message_en
        self.path = str(path) if path is not None else None
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class RawTable:
    """A file read as strings and mapped to a contract's columns (nothing parsed yet)."""

    data: pl.DataFrame  # source_row, <canonical columns...>, _field_count, _incomplete
    path: Path
    contract_id: str
    format: str  # "csv" | "xlsx"
    encoding: str | None  # CSV only: "utf-8", "utf-8-sig", "cp1253", "iso8859-7", ...
    delimiter: str | None  # CSV only
    header_row: int  # 1-based physical row of the header (the lower row of a two-row header)
    header_rows: int  # 1, or 2 for a header split over two rows
    sheet: str | None  # XLSX only: the sheet read
    mapping: HeaderMapping
    skipped_rows: list[tuple[int, str]]  # (source_row, reason), e.g. (57, "totals_row")
    empty_rows: int = 0  # blank rows below the header, dropped
    # decimal mark for ambiguous numbers ("1.234"): "." for spreadsheet cells (Excel writes
    # numbers with a point), None for CSV (decided per column, see parse_decimals)
    decimal_mark: str | None = None
    other_sheets: list[tuple[str, str]] = field(default_factory=list)  # (sheet, why not read)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return self.data.height

    @property
    def incomplete_rows(self) -> int:
        return int(self.data["_incomplete"].sum())

    def report(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "contract_id": self.contract_id,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "other_sheets": self.other_sheets,
            "header_row": self.header_row,
            "header_rows": self.header_rows,
            "rows_read": self.rows_read,
            "incomplete_rows": self.incomplete_rows,
            "skipped_rows": self.skipped_rows,
            "empty_rows": self.empty_rows,
            "decimal_mark": self.decimal_mark,
            "mapping": self.mapping.to_dict(),
        }


# ---------------------------------------------------------------------------------------------
# Encoding


def _diff_bytes() -> list[tuple[int, str | None, str | None]]:
    out = []
    for b in range(0x80, 0x100):
        chars: list[str | None] = []
        for enc in ("cp1253", "iso8859_7"):
            try:
                chars.append(bytes([b]).decode(enc))
            except UnicodeDecodeError:
                chars.append(None)
        if chars[0] != chars[1]:
            out.append((b, chars[0], chars[1]))
    return out


_DIFF = _diff_bytes()


def _plausibility(ch: str | None) -> int:
    if ch is None:
        return 0
    if ch.isalpha() or ch == "€":
        return 1
    cat = unicodedata.category(ch)
    if cat.startswith("C") or ch in "¶¤¥¦ª":
        return -1
    return 0


_DIFF_SET = bytes(b for b, _cp, _iso in _DIFF)
_NOT_DIFF = bytes(b for b in range(256) if b not in _DIFF_SET)


def _greek_8bit(raw: bytes) -> tuple[str, str] | None:
    """cp1253 or ISO-8859-7, judged on the bytes where they differ (see the module doc)."""
    diff = raw.translate(None, _NOT_DIFF)  # only the bytes on which the code pages differ
    order = ["cp1253", "iso8859_7"]
    if diff:
        counts = np.bincount(np.frombuffer(diff, dtype=np.uint8), minlength=256)
        s_cp = sum(int(counts[b]) * _plausibility(cp) for b, cp, _iso in _DIFF)
        s_iso = sum(int(counts[b]) * _plausibility(iso) for b, _cp, iso in _DIFF)
        if s_iso > s_cp:
            order.reverse()
    for enc in order:
        try:
            return raw.decode(enc), _label(enc)
        except UnicodeDecodeError:
            continue
    return None


def _label(enc: str) -> str:
    return {"iso8859_7": "iso8859-7", "cp1253": "cp1253"}.get(enc, enc)


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode a text file's bytes: (text, encoding label). Raises UnreadableFile."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    for bom, enc in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            try:
                return raw[2:].decode(enc), "utf-16"
            except UnicodeDecodeError:
                pass
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    got = _greek_8bit(raw)
    if got is not None:
        return got
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise UnreadableFile(
            "unreadable",
            "Η κωδικοποίηση χαρακτήρων του αρχείου δεν αναγνωρίζεται.",
            "The file's character encoding could not be recognised.",
            expected="UTF-8, Windows-1253 or ISO-8859-7 text",
            found="undecodable bytes",
        )
    return str(best), str(best.encoding)


# ---------------------------------------------------------------------------------------------
# Delimiter and header


def detect_delimiter(sample: str) -> str:
    """';', ',', tab or '|': the delimiter whose field counts are most consistent over the
    sample's rows (quote-aware), then the one giving more fields; ';' when none splits."""
    best: tuple[Any, ...] | None = None
    choice = ";"
    for i, d in enumerate(DELIMITERS):
        counts = [
            len(row)
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=d)
            if any(c.strip() for c in row)
        ][:SAMPLE_LINES]
        if not counts:
            continue
        values, freq = np.unique(counts, return_counts=True)
        k = int(np.argmax(freq * 1000 + values))  # most frequent count, larger on ties
        modal, consistency = int(values[k]), freq[k] / len(counts)
        key = (modal >= 2, round(float(consistency), 2), modal, -i)
        if best is None or key > best:
            best, choice = key, d
    return choice


@dataclass(frozen=True)
class _Header:
    row: int  # index in the grid of the first header row
    n_rows: int
    headers: tuple[str, ...]
    matched: int


def _cell(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _combine_rows(upper: Sequence[str], lower: Sequence[str], contract: Contract) -> list[str]:
    """One header from two rows: group labels of merged cells (filled right over the cells
    below them) joined with the lower cell, or either alone, whichever names a column."""
    width = max(len(upper), len(lower))
    up = [upper[j] if j < len(upper) else "" for j in range(width)]
    lo = [lower[j] if j < len(lower) else "" for j in range(width)]
    filled = list(up)
    for j in range(1, width):
        if not filled[j] and lo[j] and not up[j]:
            filled[j] = filled[j - 1]
    out = []
    for j in range(width):
        if filled[j] and lo[j]:
            options = [f"{filled[j]} {lo[j]}", lo[j]]
        elif lo[j]:
            options = [lo[j]]
        else:
            options = [up[j]]
        chosen = next((o for o in options if contract.match_header(o)), options[0])
        out.append(chosen)
    return out


def _best_header(
    grid: Sequence[Sequence[str]], keys: Sequence[Sequence[str]], contract: Contract
) -> _Header | None:
    """The row (or pair of rows) naming the most distinct columns; ties go to a single row,
    then to the earlier one. A pair is tried only next to a row that names a column itself."""
    index = contract.alias_index
    single = [{index[k] for k in row if k in index} for row in keys]
    cands: list[tuple[tuple[int, int, int], _Header]] = []
    for r, names in enumerate(single):
        if names:
            cands.append(((len(names), -1, -r), _Header(r, 1, tuple(grid[r]), len(names))))
        if r + 1 < len(grid) and (names or single[r + 1]) and any(grid[r + 1]):
            cells = _combine_rows(grid[r], grid[r + 1], contract)
            pair = {contract.match_header(h) for h in cells} - {None}
            if pair:
                cands.append(((len(pair), -2, -r), _Header(r, 2, tuple(cells), len(pair))))
    if not cands:
        return None
    return max(cands, key=lambda kv: kv[0])[1]


def _choose_header(
    grid: Sequence[Sequence[str]],
    contract: Contract,
    contracts: Iterable[Contract],
    path: Path,
    where: str,
) -> tuple[_Header, HeaderMapping]:
    """The header row for `contract`, or UnreadableFile (no_header, missing_columns,
    wrong_source) explaining why not."""
    keys = [[header_key(c) if c else "" for c in row] for row in grid]
    mine = _best_header(grid, keys, contract)
    my_score = contract.header_score(mine.headers) if mine else 0.0
    mapping = contract.map_headers(mine.headers) if mine else None
    rival: tuple[float, Contract, _Header] | None = None
    for other in contracts:
        if other.source_entity == contract.source_entity:
            continue
        h = _best_header(grid, keys, other)
        if h is None:
            continue
        s = other.header_score(h.headers)
        if rival is None or s > rival[0]:
            rival = (s, other, h)
    enough = mine is not None and mine.matched >= min(2, len(contract.columns))
    complete = enough and mapping is not None and mapping.ok
    if rival is not None and (
        (not complete and rival[0] > my_score) or rival[0] >= my_score + WRONG_SOURCE_MARGIN
    ):
        _, other, h = rival
        found_headers = ", ".join(x for x in h.headers if x)
        raise UnreadableFile(
            "wrong_source",
            f"Το αρχείο {path.name}{where} μπήκε στον φάκελο «{contract.title['el']}» "
            f"({contract.source_entity}), αλλά οι επικεφαλίδες του είναι του αρχείου "
            f"«{other.title['el']}» ({other.source_entity}). Ελέγξτε ότι στάλθηκε στον σωστό "
            f"φάκελο. Επικεφαλίδες: {found_headers}.",
            f"{path.name}{where}: expected {contract.source_entity} ({contract.title['en']}), "
            f"found what looks like {other.source_entity} ({other.title['en']}). Check it was "
            f"put in the right folder. Headers: {found_headers}.",
            path=path,
            expected=contract.source_entity,
            found=other.source_entity,
        )
    if not enough or mine is None or mapping is None:
        expected = ", ".join(contract.label(c) for c in contract.required_columns)
        seen = _header_like(grid, [contract, *contracts])
        raise UnreadableFile(
            "no_header",
            f"Στο αρχείο {path.name}{where} δεν βρέθηκε γραμμή επικεφαλίδων του "
            f"{contract.source_entity}. Αναμένονταν στήλες όπως: {expected}. Βρέθηκαν: "
            f"{seen or '(τίποτα)'}.",
            f"{path.name}{where}: no header row of {contract.source_entity} found. Expected "
            f"columns such as: {expected}. Found: {seen or '(nothing)'}.",
            path=path,
            expected=expected,
            found=seen,
        )
    if not mapping.ok:
        missing = ", ".join(f"{contract.label(c)} ({c})" for c in mapping.missing_required)
        found_headers = ", ".join(h for h in mapping.headers if h)
        raise UnreadableFile(
            "missing_columns",
            f"Στο αρχείο {path.name}{where} λείπουν υποχρεωτικές στήλες: {missing}. "
            f"Επικεφαλίδες που βρέθηκαν: {found_headers}.",
            f"{path.name}{where}: required columns missing: {missing}. Headers found: "
            f"{found_headers}.",
            path=path,
            expected=missing,
            found=found_headers,
        )
    return mine, mapping


_DIGITS = re.compile(r"\d{5,}|\d[\d\s./-]{7,}")


def _header_like(grid: Sequence[Sequence[str]], contracts: Iterable[Contract]) -> str:
    """The row among the first ones that most resembles a header (of any contract), for a
    message; never a data row's identifiers (long digit runs are masked)."""
    cs = list(contracts)
    best, best_n = None, 0
    for row in grid[:10]:
        n = max((sum(1 for h in row if c.match_header(h)) for c in cs), default=0)
        if n > best_n:
            best, best_n = row, n
    if best is None:
        cells = len(grid[0]) if grid else 0
        return f"no row resembling a header ({len(grid)} rows, first with {cells} cells)"
    return " | ".join("…" if _DIGITS.search(x) else x[:40] for x in best if x)


# ---------------------------------------------------------------------------------------------
# Totals rows and assembling the table

_TOTALS_LABEL = r"(?i)^\s*(?:γενικ[οό]\s+)?σ[υύ]ν[οό]λ[οαό]?(?:\s|:|$)|^\s*(?:grand\s+)?totals?\b"
_NUMERIC = r"^\s*[-+]?(?:€\s*)?\d[\d.,\s\u00a0]*(?:\s*[€%])?\s*$"


def _finish(
    raw: pl.DataFrame,
    source_row: pl.Series,
    field_count: pl.Series | None,
    width: int,
    mapping: HeaderMapping,
    contract: Contract,
) -> tuple[pl.DataFrame, list[tuple[int, str]], int]:
    """From positional string columns c0..cN to the contract's columns; drop empty and
    totals rows. Returns (data, skipped, n_empty).

    Totals are looked for only among sparse rows (at most half the header's columns filled,
    at least 3), so the costly tests run on a handful of rows."""
    cols = raw.columns
    # blank cells to null, and the number of filled cells of each row (one query)
    raw = (
        raw.lazy()
        .with_columns(pl.when(pl.col(c).str.contains(r"\S")).then(pl.col(c)).alias(c) for c in cols)
        .with_columns(
            pl.sum_horizontal(pl.col(c).is_not_null().cast(pl.Int32) for c in cols).alias(
                "\x00nonempty"
            )
        )
        .collect()
    )
    nonempty = raw.get_column("\x00nonempty")
    raw = raw.drop("\x00nonempty")
    n = len(source_row)
    if field_count is None:
        incomplete = pl.Series("_incomplete", np.zeros(n, dtype=bool))
        fc = pl.Series("_field_count", [None] * n, dtype=pl.Int32)
    else:
        fc = field_count.cast(pl.Int32).alias("_field_count")
        incomplete = ((fc < width) & (nonempty > 0)).alias("_incomplete")
    empty = (nonempty == 0).to_numpy()
    sparse = ((nonempty > 0) & (nonempty <= max(3, (width + 1) // 2))).to_numpy()
    label = np.zeros(n, dtype=bool)
    looks_total = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(sparse)
    if idx.size:
        sub = raw[idx]
        flags = sub.select(
            pl.sum_horizontal(
                pl.col(c).str.contains(_NUMERIC).fill_null(False).cast(pl.Int32) for c in cols
            ).alias("num"),
            pl.any_horizontal(
                ((pl.col(c).str.len_chars() <= 40) & pl.col(c).str.contains(_TOTALS_LABEL))
                for c in cols
            )
            .fill_null(False)
            .alias("label"),
        )
        num = flags["num"].to_numpy()
        ne = nonempty.to_numpy()[idx]
        label[idx] = flags["label"].to_numpy()
        looks_total[idx] = (
            (num >= 1) & (ne - num <= 1) & (ne * 2 <= max(width, 1)) & ~incomplete.to_numpy()[idx]
        )
    # the block at the bottom: trailing rows that are empty, labelled or look like totals
    tail_ok = empty | label | looks_total
    tail = np.flip(np.cumprod(np.flip(tail_ok).astype(np.int8))).astype(bool)
    totals = label | (tail & looks_total)
    keep = ~(empty | totals)
    skipped = [(int(r), "totals_row") for r in source_row.to_numpy()[totals]]
    pos_of = {name: pos for pos, name in mapping.positions.items()}
    out: list[pl.Series] = [source_row.cast(pl.Int64).alias("source_row")]
    for c in contract.columns:
        if c.name in pos_of and pos_of[c.name] < raw.width:
            out.append(raw[f"c{pos_of[c.name]}"].alias(c.name))
        else:
            out.append(pl.Series(c.name, [None] * n, dtype=pl.String))
    out += [fc.alias("_field_count"), incomplete.alias("_incomplete")]
    data = pl.DataFrame(out)
    if not keep.all():
        data = data.filter(pl.Series(keep))
    return data, skipped, int(empty.sum())


# ---------------------------------------------------------------------------------------------
# CSV

_QUOTED = r'"(?:[^"]|"")*"'


def _read_csv(
    path: Path, raw_bytes: bytes, contract: Contract, contracts: Sequence[Contract]
) -> RawTable:
    t0 = time.perf_counter()
    text, encoding = decode_bytes(raw_bytes)
    if ("\x00" in text) if encoding == "utf-16" else (b"\x00" in raw_bytes):
        raise UnreadableFile(
            "unreadable",
            f"Το αρχείο {path.name} δεν είναι αρχείο κειμένου (CSV).",
            f"{path.name} is not a text (CSV) file.",
            path=path,
            expected="CSV text",
            found="binary data",
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text or text.isspace():
        raise _empty(path)
    t1 = time.perf_counter()
    sample = text[: 1 << 16]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    cut = -1
    for _ in range(SAMPLE_LINES):
        cut = sample.find("\n", cut + 1)
        if cut < 0:
            break
    delimiter = detect_delimiter(sample if cut < 0 else sample[: cut + 1])
    grid: list[list[str]] = []
    ends: list[int] = []  # number of lines read up to the end of each sampled record
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    for row in reader:
        if any(c.strip() for c in row):
            grid.append([c.strip() for c in row])
            ends.append(reader.line_num)
            if len(grid) >= HEADER_SEARCH_ROWS:
                break
    header, mapping = _choose_header(grid, contract, contracts, path, "")
    header_line = ends[header.row + header.n_rows - 1]  # 1-based line of the (last) header row
    width = max((j + 1 for j, h in enumerate(header.headers) if h), default=1)
    ncols = max(width, len(header.headers))
    pos = 0
    for _ in range(header_line):
        nxt = text.find("\n", pos)
        pos = len(text) if nxt < 0 else nxt + 1
    body = text[pos:]
    if encoding in ("utf-8", "utf-8-sig") and b"\r" not in raw_bytes:
        # the body's bytes are already UTF-8: slice them instead of encoding a copy
        bom = 3 if encoding == "utf-8-sig" else 0
        data = raw_bytes[bom + len(text[:pos].encode("utf-8")) :]
    else:
        data = body.encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    n_lines = data.count(b"\n")
    t2 = time.perf_counter()

    schema = {f"c{j}": pl.String for j in range(ncols)}
    df: pl.DataFrame | None = None
    field_count: pl.Series | None = None
    if not body or body.isspace():  # a header and no rows: a month with nothing to report
        df = pl.DataFrame(schema=schema)
        source_row = pl.Series([], dtype=pl.Int64)
        field_count = pl.Series([], dtype=pl.Int32)
    elif b"\x1f" not in data:
        lines = pl.read_csv(
            data,
            has_header=False,
            separator="\x1f",
            quote_char=None,
            schema={"line": pl.String},
            infer_schema=False,
            empty_string_is_null=False,
            raise_if_empty=False,
        ).to_series()
        quotes = lines.str.count_matches('"', literal=True)
        if lines.len() == n_lines and not (quotes % 2 == 1).any():
            df = pl.read_csv(
                data,
                has_header=False,
                separator=delimiter,
                schema=schema,
                infer_schema=False,
                truncate_ragged_lines=True,
                missing_columns="insert",
                quote_char='"',
                raise_if_empty=False,
            )
            if df.height == n_lines:
                field_count = lines.str.count_matches(delimiter, literal=True) + 1
                quoted = (quotes > 0).arg_true()
                if quoted.len():
                    unq = lines.gather(quoted).str.replace_all(_QUOTED, "")
                    field_count = field_count.scatter(
                        quoted, unq.str.count_matches(delimiter, literal=True) + 1
                    )
                source_row = pl.int_range(header_line + 1, header_line + 1 + n_lines, eager=True)
            else:
                df = None
    if df is None:  # line breaks inside quoted fields: walk the records with the csv module
        rows, starts, counts = [], [], []
        rd = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
        prev = 0
        for row in rd:
            starts.append(header_line + prev + 1)
            prev = rd.line_num
            counts.append(len(row))
            rows.append((row + [None] * ncols)[:ncols])
        df = pl.DataFrame(rows, schema=schema, orient="row")
        source_row = pl.Series(starts, dtype=pl.Int64)
        field_count = pl.Series(counts, dtype=pl.Int32)
    t3 = time.perf_counter()
    table, skipped, n_empty = _finish(df, source_row, field_count, width, mapping, contract)
    t4 = time.perf_counter()
    return RawTable(
        data=table,
        path=path,
        contract_id=contract.id,
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_line,
        header_rows=header.n_rows,
        sheet=None,
        mapping=mapping,
        skipped_rows=skipped,
        empty_rows=n_empty,
        timings={"decode": t1 - t0, "detect": t2 - t1, "split": t3 - t2, "map": t4 - t3},
    )


def _empty(path: Path) -> UnreadableFile:
    return UnreadableFile(
        "empty_file",
        f"Το αρχείο {path.name} είναι κενό.",
        f"{path.name} is empty.",
        path=path,
        expected="a header and data rows",
        found="nothing",
    )


# ---------------------------------------------------------------------------------------------
# XLSX

_XL_DATE_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$"
_XL_TIME_ONLY = r"^1899-12-3[01][ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?$"
_XL_DATETIME = r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?$"


def _excel_text(col: pl.Expr) -> pl.Expr:
    """Spreadsheet cell text as ISO dates/times (fastexcel renders date cells as datetimes)."""
    return (
        col.str.replace(_XL_TIME_ONLY, "$1")
        .str.replace(_XL_DATE_MIDNIGHT, "$1")
        .str.replace(_XL_DATETIME, "$1 $2")
    )


def _load_sheet(reader: Any, name: str, n_rows: int | None = None) -> pl.DataFrame:
    sheet = reader.load_sheet(name, header_row=None, skip_rows=0, n_rows=n_rows, dtypes="string")
    df = sheet.to_polars()
    return df.rename({c: f"c{j}" for j, c in enumerate(df.columns)})


_MONTH_STEMS = ("ΙΑΝΟΥΑΡ", "ΦΕΒΡΟΥΑΡ", "ΜΑΡΤ", "ΑΠΡΙΛ", "ΜΑΙ", "ΙΟΥΝ", "ΙΟΥΛ", "ΑΥΓΟΥΣΤ",
                "ΣΕΠΤΕΜΒΡ", "ΟΚΤΩΒΡ", "ΝΟΕΜΒΡ", "ΔΕΚΕΜΒΡ")  # fmt: skip


def _names_period(sheet: str, period: str | None) -> bool:
    """Whether a sheet's name names the month `period` ('YYYY-MM'): 'Μάρτιος 2020',
    'ΜΑΡΤΙΟΥ', '03-2020', '2020_03' ..."""
    if not period:
        return False
    year, month = period[:4], int(period[5:7])
    text = str(sheet)
    if re.search(rf"(?<!\d){year}\D{{0,3}}0?{month}(?!\d)|(?<!\d)0?{month}\D{{1,3}}{year}", text):
        return True
    key = header_key(text)
    years = re.findall(r"\d{4}", key)
    stem_ok = re.search(rf"{_MONTH_STEMS[month - 1]}(?:ΟΣ|ΟΥ|ΙΟΣ|ΙΟΥ|ΗΣ)?", key) is not None
    return stem_ok and (not years or year in years)


def _read_xlsx(
    path: Path, contract: Contract, contracts: Sequence[Contract], period: str | None
) -> RawTable:
    import fastexcel

    t0 = time.perf_counter()
    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own error classes for corrupt files
        raise UnreadableFile(
            "unreadable",
            f"Το αρχείο {path.name} δεν ανοίγει ως υπολογιστικό φύλλο ({type(exc).__name__}).",
            f"{path.name} cannot be opened as a spreadsheet: {str(exc).splitlines()[0]}",
            path=path,
            expected="an XLSX workbook",
            found="a corrupt or unsupported file",
        ) from exc
    heads: dict[str, pl.DataFrame] = {}
    broken: dict[str, str] = {}
    for n in names:
        try:
            heads[n] = _load_sheet(reader, n, HEADER_SEARCH_ROWS + 2)
        except Exception as exc:  # a chart sheet, a sheet calamine cannot read
            broken[n] = str(exc).splitlines()[0]
    nonempty = [n for n in heads if heads[n].height and heads[n].width]
    if not nonempty:
        if broken:
            raise UnreadableFile(
                "unreadable",
                f"Κανένα φύλλο του {path.name} δεν διαβάζεται.",
                f"No sheet of {path.name} can be read: {'; '.join(broken.values())}",
                path=path,
                expected="an XLSX workbook",
                found="unreadable sheets",
            )
        raise _empty(path)
    t1 = time.perf_counter()
    results: dict[str, tuple[_Header, HeaderMapping] | UnreadableFile] = {}
    for n in nonempty:
        grid = [
            [_cell(v) for v in row] for row in heads[n].select(pl.all().pipe(_excel_text)).rows()
        ]
        try:
            results[n] = _choose_header(grid, contract, contracts, path, f" (φύλλο «{n}»)")
        except UnreadableFile as err:
            results[n] = err
    good = {n: r for n, r in results.items() if not isinstance(r, UnreadableFile)}
    if not good:
        # the first sheet's reason, unless another sheet is recognisably the wrong source
        errs = [r for r in results.values() if isinstance(r, UnreadableFile)]
        wrong = [e for e in errs if e.reason_code == "wrong_source"]
        raise (wrong or errs)[0]
    chosen = max(
        good,
        key=lambda n: (
            round(contract.header_score(good[n][0].headers), 6),
            _names_period(n, period),
            -names.index(n),
        ),
    )
    header, mapping = good[chosen]
    other = []
    for n in names:
        if n == chosen:
            continue
        if n in broken:
            other.append((n, "unreadable"))
        elif n not in results:
            other.append((n, "empty"))
        elif n in good:
            other.append((n, "also matches the contract; not read"))
        else:
            other.append((n, f"{results[n].reason_code}"))  # type: ignore[union-attr]
    t2 = time.perf_counter()
    full = _load_sheet(reader, chosen)
    full = full.with_columns(_excel_text(pl.col(c)) for c in full.columns)
    first = header.row + header.n_rows  # 0-based index of the first data row
    body = full.slice(first)
    width = max((j + 1 for j, h in enumerate(header.headers) if h), default=1)
    source_row = pl.int_range(first + 1, first + 1 + body.height, eager=True, dtype=pl.Int64)
    data, skipped, n_empty = _finish(body, source_row, None, width, mapping, contract)
    t3 = time.perf_counter()
    return RawTable(
        data=data,
        path=path,
        contract_id=contract.id,
        format="xlsx",
        encoding=None,
        delimiter=None,
        header_row=first,
        header_rows=header.n_rows,
        sheet=chosen,
        mapping=mapping,
        skipped_rows=skipped,
        empty_rows=n_empty,
        decimal_mark=".",
        other_sheets=other,
        timings={"open": t1 - t0, "detect": t2 - t1, "map": t3 - t2},
    )


# ---------------------------------------------------------------------------------------------
# Entry point


def read_file(
    path: Path | str,
    contract: Contract,
    *,
    contracts: Iterable[Contract] | None = None,
    period: str | None = None,
) -> RawTable:
    """Read one export file against the contract of the folder it arrived in.

    `contracts` (default: every contract in ingest/contracts) are the candidates a header is
    compared with to recognise a file dropped in the wrong folder. `period` ('YYYY-MM', e.g.
    from the file name) breaks a tie between workbook sheets that all fit the contract in
    favour of the sheet named after that month (else the first such sheet is read).
    """
    path = Path(path)
    others = list(contracts) if contracts is not None else list(load_contracts().values())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(
            "unreadable",
            f"Το αρχείο {path.name} δεν διαβάζεται ({exc.strerror}).",
            f"{path.name} cannot be read ({exc.strerror}).",
            path=path,
        ) from exc
    if not raw or raw.isspace():
        raise _empty(path)
    if raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _read_xlsx(path, contract, others, period)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise UnreadableFile(
            "unreadable",
            f"Το αρχείο {path.name} έχει κατάληξη υπολογιστικού φύλλου αλλά δεν είναι.",
            f"{path.name} has a spreadsheet suffix but is not a workbook.",
            path=path,
            expected="an XLSX workbook",
            found="not a ZIP/OLE2 file",
        )
    return _read_csv(path, raw, contract, others)


read_table = read_file


# ---------------------------------------------------------------------------------------------
# Value parsing (pure, vectorised)

# ---------------------------------------------------------------------------------------------
# Value parsing (pure, vectorised)
#
# Every parser is a `_Plan`: stages of intermediate columns (named with a prefix of their own),
# then a value and an error expression. One column is parsed by running its plan over a
# one-column frame; `parse_columns` runs the plans of all a contract's columns side by side,
# stage k of every plan in one `with_columns`, so a file costs one query (two when it has coded
# columns, whose distinct values are looked up first) however many columns it has: files are
# many and mostly small, and a polars query has a fixed cost.


class Parsed(NamedTuple):
    values: pl.Series
    errors: pl.Series  # String: null where fine (or empty), else a reason code


class _Plan(NamedTuple):
    stages: list[list[pl.Expr]]  # intermediate columns, stage by stage, aliased with the prefix
    value: pl.Expr
    error: pl.Expr  # String: null where fine (or empty), else a reason code


def _clean_expr(src: pl.Expr) -> pl.Expr:
    """The raw text stripped, blank -> null."""
    t = src.cast(pl.String).str.strip_chars()
    return pl.when(t != "").then(t)


def _clean() -> pl.Expr:
    """The raw text stripped, blank -> null (column `raw` -> expression)."""
    return _clean_expr(pl.col("raw"))


def _blank_to_null(s: pl.Series) -> pl.Series:
    return pl.DataFrame({"raw": s}).select(_clean()).to_series()


def _cols(p: str) -> Callable[[str], pl.Expr]:
    return lambda name: pl.col(p + name)


def _error(
    t: pl.Expr,
    v: pl.Expr,
    invalid: str,
    lo: Any = None,
    hi: Any = None,
    range_code: str | None = None,
    compare: pl.Expr | None = None,
) -> pl.Expr:
    """The reason code of a value: `invalid` where text `t` gave no value `v`, `range_code`
    where `compare` (default `v`) lies outside [lo, hi]."""
    c = compare if compare is not None else v
    err = pl.when(t.is_not_null() & v.is_null()).then(pl.lit(invalid))
    if lo is not None:
        err = err.when(c < lo).then(pl.lit(range_code))
    if hi is not None:
        err = err.when(c > hi).then(pl.lit(range_code))
    return err.otherwise(None).cast(pl.String)


def _run_plans(
    frame: pl.DataFrame, plans: Sequence[tuple[str, _Plan]], keep: Sequence[str] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run plans side by side over `frame`: (values, errors), each with the `keep` columns
    first, then one column per plan, named as given."""
    lf = frame.lazy()
    depth = max((len(p.stages) for _, p in plans), default=0)
    for k in range(depth):
        exprs = [e for _, p in plans if k < len(p.stages) for e in p.stages[k]]
        if exprs:
            lf = lf.with_columns(exprs)
    out = lf.select(
        *[pl.col(c) for c in keep],
        *[p.value.alias(name) for name, p in plans],
        *[p.error.cast(pl.String).alias(f"\x00error{i}") for i, (_, p) in enumerate(plans)],
    ).collect()
    values = out.select(*keep, *[name for name, _ in plans])
    errors = out.select(
        *keep, *[pl.col(f"\x00error{i}").alias(name) for i, (name, _) in enumerate(plans)]
    )
    return values, errors


def _run_one(s: pl.Series, plan: Callable[[pl.Expr, str], _Plan]) -> Parsed:
    """One column's plan over the Series: Parsed(values named like s, errors '<name>_error')."""
    values, errors = _run_plans(pl.DataFrame({"raw": s}), [("value", plan(pl.col("raw"), "\x00"))])
    return Parsed(values["value"].alias(s.name), errors["value"].alias(f"{s.name}_error"))


_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?$"
_DMY = (
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})"
    r"(?:[ T,]+(\d{1,2})[:.](\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?$"
)
_SERIAL = r"^(\d{1,5})(?:[.,](\d+))?$"
_EXCEL_EPOCH = date(1899, 12, 30)


def _temporal(src: pl.Expr, p: str, pivot: int) -> list[list[pl.Expr]]:
    """Stages giving `t` (clean text); y, m, d, H, M, S parts and `ok` (a real calendar date)
    of date or datetime text; Excel serials as `serial` days and `frac` of a day."""
    c = _cols(p)
    iso = c("t").str.extract_groups(_ISO)
    dmy = c("t").str.extract_groups(_DMY)
    ser = c("t").str.extract_groups(_SERIAL)
    yy = c("dy_text").cast(pl.Int32)
    century = (pivot // 100) * 100
    two = pl.when(yy + century > pivot).then(yy + century - 100).otherwise(yy + century)
    m_ok = c("m").is_between(1, 12) & c("y").is_between(1, 9999)
    dim = (
        pl.date(
            pl.when(m_ok).then(c("y")).otherwise(2000),
            pl.when(m_ok).then(c("m")).otherwise(1),
            1,
        )
        .dt.month_end()
        .dt.day()
    )
    field = [
        ("iso", "1", "iy", pl.Int32),
        ("iso", "2", "im", pl.Int32),
        ("iso", "3", "id", pl.Int32),
        ("iso", "4", "iH", pl.Int32),
        ("iso", "5", "iM", pl.Int32),
        ("iso", "6", "iS", pl.Int32),
        ("dmy", "1", "dd", pl.Int32),
        ("dmy", "2", "dm", pl.Int32),
        ("dmy", "3", "dy_text", None),
        ("dmy", "4", "dH", pl.Int32),
        ("dmy", "5", "dM", pl.Int32),
        ("dmy", "6", "dS", pl.Int32),
        ("ser", "1", "serial", pl.Int64),
    ]
    fields = [
        (c(g).struct.field(i) if t is None else c(g).struct.field(i).cast(t)).alias(p + name)
        for g, i, name, t in field
    ]
    frac = ("0." + c("ser").struct.field("2")).cast(pl.Float64).fill_null(0.0).alias(p + "frac")
    year = pl.coalesce(c("iy"), pl.when(c("dy_text").str.len_chars() == 2).then(two).otherwise(yy))
    return [
        [_clean_expr(src).alias(p + "t")],
        [iso.alias(p + "iso"), dmy.alias(p + "dmy"), ser.alias(p + "ser")],
        [*fields, frac],
        [
            year.alias(p + "y"),
            pl.coalesce(c("im"), c("dm")).alias(p + "m"),
            pl.coalesce(c("id"), c("dd")).alias(p + "d"),
            pl.coalesce(c("iH"), c("dH")).alias(p + "H"),
            pl.coalesce(c("iM"), c("dM")).alias(p + "M"),
            pl.coalesce(c("iS"), c("dS")).alias(p + "S"),
        ],
        [(m_ok & c("d").is_between(1, dim)).fill_null(False).alias(p + "ok")],
    ]


def _ymd_date(c: Callable[[str], pl.Expr]) -> pl.Expr:
    ok = c("ok")
    return pl.when(ok).then(
        pl.date(
            pl.when(ok).then(c("y")).otherwise(2000),
            pl.when(ok).then(c("m")).otherwise(1),
            pl.when(ok).then(c("d")).otherwise(1),
        )
    )


def _serial_date(c: Callable[[str], pl.Expr]) -> pl.Expr:
    n = c("serial")
    # Excel's day 1 is 1900-01-01 and it counts a 29 Feb 1900 that never was (day 60)
    base = pl.when(n < 60).then(pl.lit(date(1899, 12, 31))).otherwise(pl.lit(_EXCEL_EPOCH))
    return pl.when(n.is_between(1, 80000) & (n != 60)).then(base + pl.duration(days=n))


def _default_pivot(max_value: Any) -> int:
    if isinstance(max_value, date):
        return max_value.year
    return date.today().year + 1


def _date_plan(
    src: pl.Expr, p: str, min_value: Any, max_value: Any, century_pivot: int | None
) -> _Plan:
    pivot = century_pivot if century_pivot is not None else _default_pivot(max_value)
    c = _cols(p)
    stages = _temporal(src, p, pivot)
    stages.append([pl.coalesce(_ymd_date(c), _serial_date(c)).alias(p + "value")])
    err = _error(c("t"), c("value"), "date_invalid", min_value, max_value, "date_out_of_range")
    return _Plan(stages, c("value"), err)


def _datetime_plan(
    src: pl.Expr, p: str, min_value: Any, max_value: Any, century_pivot: int | None
) -> _Plan:
    pivot = century_pivot if century_pivot is not None else _default_pivot(max_value)
    c = _cols(p)
    hms_ok = (
        c("H").fill_null(0).is_between(0, 23)
        & c("M").fill_null(0).is_between(0, 59)
        & c("S").fill_null(0).is_between(0, 59)
    )
    clock = pl.duration(
        hours=c("H").fill_null(0), minutes=c("M").fill_null(0), seconds=c("S").fill_null(0)
    )
    ymd = pl.when(hms_ok).then(_ymd_date(c).cast(pl.Datetime("us")) + clock)
    serial = _serial_date(c).cast(pl.Datetime("us")) + pl.duration(
        seconds=(c("frac") * 86_400).round(0).cast(pl.Int64)
    )
    stages = _temporal(src, p, pivot)
    stages.append([pl.coalesce(ymd, serial).alias(p + "value")])
    day = c("value").dt.date()
    err = _error(
        c("t"), c("value"), "date_invalid", min_value, max_value, "date_out_of_range", compare=day
    )
    return _Plan(stages, c("value"), err)


def parse_dates(
    s: pl.Series,
    *,
    min_value: date | None = None,
    max_value: date | None = None,
    century_pivot: int | None = None,
) -> Parsed:
    """Dates from dd/mm/yyyy, d/m/yy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd (a time part is
    ignored) or Excel serial numbers 1..80000 (day 60, Excel's phantom 29 Feb 1900, is
    invalid). A two-digit year is the latest year ending in it not after `century_pivot`
    (default: the year of `max_value`, else next year). Impossible dates ('31/02/2020') give
    'date_invalid', dates outside [min_value, max_value] 'date_out_of_range'."""
    return _run_one(s, lambda src, p: _date_plan(src, p, min_value, max_value, century_pivot))


def parse_datetimes(
    s: pl.Series,
    *,
    min_value: date | None = None,
    max_value: date | None = None,
    century_pivot: int | None = None,
) -> Parsed:
    """Datetimes from the date forms of `parse_dates` followed by HH:MM[:SS] (a date alone is
    midnight), or Excel serials with a day fraction. Bounds compare by day."""
    return _run_one(s, lambda src, p: _datetime_plan(src, p, min_value, max_value, century_pivot))


_TIME = r"^(\d{1,2})[:.](\d{2})(?::(\d{2})(?:[.,]\d+)?)?$"
_DAY_FRACTION = r"^0?[.,]\d+$"


def _time_plan(src: pl.Expr, p: str) -> _Plan:
    c = _cols(p)
    g = c("t").str.extract_groups(_TIME)
    frac = pl.when(c("t").str.contains(_DAY_FRACTION) & ~c("t").str.contains(_TIME)).then(
        c("t").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    )
    ok = c("H").is_between(0, 23) & c("M").is_between(0, 59) & c("S").is_between(0, 59)
    secs = pl.coalesce(
        pl.when(ok).then(c("H") * 3600 + c("M") * 60 + c("S")),
        pl.when(c("fs") < 86400).then(c("fs")),
    ).cast(pl.Int64)
    stages = [
        [_clean_expr(src).alias(p + "t")],
        [g.alias(p + "g"), (frac * 86400).round(0).cast(pl.Int64).alias(p + "fs")],
        [
            c("g").struct.field("1").cast(pl.Int32).alias(p + "H"),
            c("g").struct.field("2").cast(pl.Int32).alias(p + "M"),
            c("g").struct.field("3").cast(pl.Int32).fill_null(0).alias(p + "S"),
        ],
        [(secs * 1_000_000_000).cast(pl.Time).alias(p + "value")],
    ]
    return _Plan(stages, c("value"), _error(c("t"), c("value"), "time_invalid"))


def parse_times(s: pl.Series) -> Parsed:
    """Times from HH:MM, H.MM, HH:MM:SS, or an Excel day fraction (0.4375 = 10:30);
    anything else, or an hour above 23, gives 'time_invalid'."""
    return _run_one(s, _time_plan)


_NUM_STRIP = r"(?i)€|eur(?:o|ώ)?|ευρώ|ευρω|%|[\s\u00a0\u202f']"
_COMMA_DECIMAL = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$"
_POINT_DECIMAL = r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$"


def _to_float(t: pl.Expr, decimal: str) -> pl.Expr:
    if decimal == ",":
        return (
            t.str.replace_all(".", "", literal=True)
            .str.replace(",", ".", literal=True)
            .cast(pl.Float64, strict=False)
        )
    return t.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)


def _number_plan(
    src: pl.Expr,
    p: str,
    decimal_mark: str | None,
    min_value: Any,
    max_value: Any,
    *,
    whole: bool,
    group: str | None = None,
) -> _Plan:
    """`t` (clean text), `u` (without currency, percent and spacing), `value` (float, or
    Int64 when `whole`; null where unreadable). The majority that decides an ambiguous value
    is taken over the column, or over each `group` (a column naming the file of each row)."""
    c = _cols(p)
    u, cd, pd = c("u"), c("cd"), c("pd")
    if decimal_mark is None:
        # the column's majority among its unambiguous values; the comma on a tie
        points, commas = (pd & ~cd).sum(), (cd & ~pd).sum()
        if group is not None:
            points, commas = points.over(group), commas.over(group)
        point = points > commas
        ambiguous = pl.when(point).then(_to_float(u, ".")).otherwise(_to_float(u, ","))
    else:
        ambiguous = _to_float(u, decimal_mark)
    value = pl.when(cd & pd).then(ambiguous).when(cd).then(_to_float(u, ",")).when(pd)
    value = value.then(_to_float(u, "."))
    stages = [
        [_clean_expr(src).alias(p + "t")],
        [c("t").str.replace_all(_NUM_STRIP, "").alias(p + "u")],
        [
            u.str.contains(_COMMA_DECIMAL).fill_null(False).alias(p + "cd"),
            u.str.contains(_POINT_DECIMAL).fill_null(False).alias(p + "pd"),
        ],
        [value.alias(p + "value")],
    ]
    if whole:
        f = c("value")
        is_whole = (f - f.round(0)).abs() < 1e-9
        stages.append([pl.when(is_whole).then(f.round(0).cast(pl.Int64)).alias(p + "value")])
    err = _error(c("t"), c("value"), "number_invalid", min_value, max_value, "number_invalid")
    return _Plan(stages, c("value"), err)


def parse_decimals(
    s: pl.Series,
    *,
    decimal_mark: str | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
) -> Parsed:
    """Numbers with a decimal comma or point and thousands separators: "1.234,56",
    "1,234.56", "1234,5", "€ 12,00", "67%" → float. A value readable only one way is read that
    way; an ambiguous one ("1.234") follows `decimal_mark`, else the column's majority among
    its unambiguous values, else the comma (the Greek locale). Anything else, or a value outside
    [min_value, max_value], gives 'number_invalid'."""
    return _run_one(
        s, lambda src, p: _number_plan(src, p, decimal_mark, min_value, max_value, whole=False)
    )


def parse_integers(
    s: pl.Series,
    *,
    decimal_mark: str | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
) -> Parsed:
    """Whole numbers (Int64), read like `parse_decimals` ("1.000" → 1000 in a Greek file,
    "3,0" → 3); a fraction gives 'number_invalid'."""
    return _run_one(
        s, lambda src, p: _number_plan(src, p, decimal_mark, min_value, max_value, whole=True)
    )


_TRUE = ("Ναι", "Ν", "1", "✓", "✔", "☑", "true")
_FALSE = ("Όχι", "Ο", "0", "✗", "✘", "☐", "false")
DEFAULT_BOOLEAN_SPELLINGS: dict[str, bool] = {
    **{header_key(w): False for w in _FALSE},
    **{header_key(w): True for w in _TRUE},
}
# how the reader renders a spreadsheet's TRUE/FALSE cells: accepted in every boolean column
_CELL_BOOLEANS = {header_key("true"): True, header_key("false"): False}

_LIST_SEP = r"[;,|+\n]"
_INVALID = "\x00invalid"


def _list_items(t: pl.Expr) -> pl.Expr:
    return t.str.replace_all(_LIST_SEP, ";").str.split(";")


def _distinct_texts(src: pl.Expr, kind: str) -> pl.Expr:
    """The distinct texts a coded column's lookup table needs (as one list): its clean values,
    or for a code list its stripped items."""
    t = _clean_expr(src)
    if kind == "code_list":
        t = _list_items(t).explode().str.strip_chars()
    return t.drop_nulls().unique().implode()


def _lookup_plan(
    src: pl.Expr, p: str, spellings: Mapping[str, Any], dtype: pl.DataType, distinct: list[Any]
) -> _Plan:
    """Codes or booleans: the clean text looked up by its matching key (`header_key`);
    `distinct` are the column's distinct clean values (`_distinct_texts`)."""
    c = _cols(p)
    table = {u: spellings.get(header_key(u)) for u in distinct}
    stages = [
        [_clean_expr(src).alias(p + "t")],
        [c("t").replace_strict(table, default=None, return_dtype=dtype).alias(p + "value")],
    ]
    bad = c("t").is_not_null() & c("value").is_null()
    return _Plan(stages, c("value"), pl.when(bad).then(pl.lit("code_invalid")).otherwise(None))


def _code_list_plan(
    src: pl.Expr, p: str, spellings: Mapping[str, str], distinct: list[str]
) -> _Plan:
    c = _cols(p)
    table = {u: spellings.get(header_key(u)) or _INVALID for u in distinct if u}
    el = pl.element()
    mapped = c("items").list.eval(
        el.str.strip_chars()
        .filter(el.str.strip_chars() != "")
        .replace_strict(table, default=_INVALID, return_dtype=pl.String)
    )
    stages = [
        [_clean_expr(src).alias(p + "t")],
        [_list_items(c("t")).alias(p + "items")],
        [mapped.alias(p + "mapped")],
        [c("mapped").list.contains(_INVALID).fill_null(False).alias(p + "bad")],
    ]
    value = pl.when(~c("bad") & c("t").is_not_null()).then(
        c("mapped").list.unique(maintain_order=True)
    )
    return _Plan(stages, value, pl.when(c("bad")).then(pl.lit("code_invalid")).otherwise(None))


def _distinct(s: pl.Series, kind: str) -> list[Any]:
    return pl.DataFrame({"raw": s}).select(_distinct_texts(pl.col("raw"), kind)).item().to_list()


def parse_booleans(s: pl.Series, spellings: Mapping[str, bool] | None = None) -> Parsed:
    """Booleans from Ναι/Όχι/ΝΑΙ/ΟΧΙ/Ν/Ο/1/0/✓ (or the column's own spellings, keyed by
    `header_key`, e.g. Νέος/Υφιστάμενος) and spreadsheet TRUE/FALSE cells; anything else
    gives 'code_invalid'."""
    table = {**_CELL_BOOLEANS, **(spellings or DEFAULT_BOOLEAN_SPELLINGS)}
    distinct = _distinct(s, "boolean")
    return _run_one(s, lambda src, p: _lookup_plan(src, p, table, pl.Boolean, distinct))


def parse_codes(s: pl.Series, spellings: Mapping[str, str]) -> Parsed:
    """Canonical codes from Greek spellings (`Column.spellings()`: header_key → code),
    matched without regard to accents, case, dots and spacing; else 'code_invalid'."""
    distinct = _distinct(s, "code")
    return _run_one(s, lambda src, p: _lookup_plan(src, p, spellings, pl.String, distinct))


def parse_code_lists(s: pl.Series, spellings: Mapping[str, str]) -> Parsed:
    """Lists of canonical codes from ';'-separated spellings (',' '|' '+' and line breaks are
    accepted too); duplicates dropped, order kept. One unknown item gives 'code_invalid'."""
    distinct = _distinct(s, "code_list")
    return _run_one(s, lambda src, p: _code_list_plan(src, p, spellings, distinct))


def _column_plan(
    src: pl.Expr,
    p: str,
    column: Column,
    *,
    today: date,
    decimal_mark: str | None,
    distinct: list[Any] | None,
    group: str | None = None,
) -> _Plan:
    """The plan of one contract column (see `parse_column`); `distinct` holds the column's
    `_distinct_texts` for boolean, code and code_list columns; `group` see `parse_columns`."""
    lo, hi = column.bounds(today)
    ctype = column.type
    if ctype == "date":
        plan = _date_plan(src, p, lo, hi, None)
    elif ctype == "datetime":
        plan = _datetime_plan(src, p, lo, hi, None)
    elif ctype == "time":
        plan = _time_plan(src, p)
    elif ctype in ("decimal", "integer"):
        plan = _number_plan(src, p, decimal_mark, lo, hi, whole=ctype == "integer", group=group)
    elif ctype == "boolean":
        table = {**_CELL_BOOLEANS, **(column.spellings() or DEFAULT_BOOLEAN_SPELLINGS)}
        plan = _lookup_plan(src, p, table, pl.Boolean, distinct or [])
    elif ctype == "code":
        plan = _lookup_plan(src, p, column.spellings(), pl.String, distinct or [])
    elif ctype == "code_list":
        plan = _code_list_plan(src, p, column.spellings(), distinct or [])
    else:
        s = src.cast(pl.String)
        plan = _Plan([], pl.when(s.str.strip_chars() != "").then(s), pl.lit(None, pl.String))
    if column.required:
        missing = _clean_expr(src).is_null()
        err = pl.when(missing).then(pl.lit("required_missing")).otherwise(plan.error)
        plan = _Plan(plan.stages, plan.value, err)
    return plan


_LOOKUP_TYPES = ("boolean", "code", "code_list")


def parse_column(
    s: pl.Series,
    column: Column,
    *,
    today: date,
    decimal_mark: str | None = None,
) -> Parsed:
    """Parse one raw column by its contract type and bounds (resolved against `today`); an
    empty value of a required column gives 'required_missing'. Identifiers, names, phones and
    free text are returned as they are (blank → null): `ingest.identifiers` checks them."""
    s = s.cast(pl.String).alias(column.name)
    distinct = _distinct(s, column.type) if column.type in _LOOKUP_TYPES else None

    def plan(src: pl.Expr, p: str) -> _Plan:
        return _column_plan(
            src, p, column, today=today, decimal_mark=decimal_mark, distinct=distinct
        )

    return _run_one(s, plan)


def parse_columns(
    raw: pl.DataFrame,
    contract: Contract,
    *,
    today: date,
    decimal_mark: str | None = None,
    group: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every contract column of a RawTable's data parsed: (typed values with source_row,
    per-column error codes with source_row). Row rules are not applied here
    (`Contract.rules[i].violated(values)`). The same as `parse_column` column by column, in
    one query (two with coded columns).

    Several files' data can be parsed at once, stacked, with `group` naming a column of `raw`
    that tells the files apart: every value then parses as it would in its own file (the one
    thing decided over a whole column, the decimal mark of ambiguous numbers when
    `decimal_mark` is None, is decided per file)."""
    coded = [(i, c) for i, c in enumerate(contract.columns) if c.type in _LOOKUP_TYPES]
    distinct: dict[int, list[Any]] = {}
    if coded:
        row = raw.select(
            _distinct_texts(pl.col(c.name), c.type).alias(f"d{i}") for i, c in coded
        ).row(0)
        distinct = {i: list(v) for (i, _), v in zip(coded, row, strict=True)}
    plans = [
        (
            c.name,
            _column_plan(
                pl.col(c.name),
                f"\x00{i}\x00",
                c,
                today=today,
                decimal_mark=decimal_mark,
                distinct=distinct.get(i),
                group=group,
            ),
        )
        for i, c in enumerate(contract.columns)
    ]
    return _run_plans(raw, plans, keep=["source_row"])
