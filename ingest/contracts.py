"""Source contracts: what a municipality's export of one entity looks like, as configuration.

One YAML file per `<source>.<entity>.v<N>` in `ingest/contracts/` names the canonical columns,
the header spellings each may carry, their types, which are required or personal data, the
Greek spellings of coded values with their canonical codes (docs/design.md), bounds and row
rules. Onboarding a municipality whose export words a header differently is a YAML change.

Headers and coded values are matched by `header_key` (`ingest.text.normalise_header`: accents,
case, dots, separators and spacing removed, Latin look-alikes read as Greek), so `Α.Μ.Κ.Α.`,
`ΑΜΚΑ`, `AMKA` and `  αμκα ` are one header; a different *wording* needs its own alias.

YAML format::

    id: <source>.<entity>.v<N>         # must match the file name
    source: <source>
    entity: <entity>
    version: <N>
    title: {el: ..., en: ...}          # what the file is called (used in messages)
    description: {el: ..., en: ...}
    period:
      column: <date column>            # the date that decides a row's month
      rule: event | snapshot           # snapshot: active in the month, column..end_column
      end_column: <date column>        # snapshot only
    key: [<column>, ...]               # identifying columns ([] = none; source_row identifies)
    columns:
      - name: <canonical name>
        aliases: [<header wording>, ...]
        type: string | integer | decimal | date | datetime | time | boolean | code
              | code_list | amka | afm | phone | name
        required: true | false         # the value must be present (so must the column)
        pii: false | true | pseudonymise | drop | year_only   # true = pseudonymise
        values: {<code>: [<spelling>, ...]}   # code / code_list; booleans: {true: [...],
                                               # false: [...]} to replace Ναι/Όχι
        min: <number | YYYY-MM-DD | today | today±N(d|m|y)>
        max: ...
    rules:
      - check: <column> (>=|>|<=|<|==) <column>   # checked when both values are present
        reason: <reject reason code>               # e.g. date_order

Bare YAML words such as NO, yes, off are read as booleans by YAML 1.1: quote them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from ingest.text import normalise_header

CONTRACTS_DIR = Path(__file__).with_name("contracts")

COLUMN_TYPES = frozenset(
    {
        "string",
        "integer",
        "decimal",
        "date",
        "datetime",
        "time",
        "boolean",
        "code",
        "code_list",
        "amka",
        "afm",
        "phone",
        "name",
    }
)
PII_ACTIONS = frozenset({"pseudonymise", "drop", "year_only"})
PERIOD_RULES = frozenset({"event", "snapshot"})
_RULE_OPS = {">=", ">", "<=", "<", "=="}

_KEY_DROP = re.compile(r"[\s.\u00b7\u0387]+")


class ContractError(ValueError):
    """A contract file is malformed (raised when it is loaded, never at read time)."""


@lru_cache(maxsize=1 << 16)
def header_key(text: str) -> str:
    """The matching key of a header or coded value: `ingest.text.normalise_header` (accents,
    case, dots, separators and spacing removed; Latin look-alikes read as Greek)."""
    return _KEY_DROP.sub("", normalise_header(str(text)))


# ---------------------------------------------------------------------------------------------
# Bounds: literal dates/numbers, or dates relative to the validation day ("today+1y").

_REL = re.compile(r"^today\s*(?:([+-])\s*(\d+)\s*([dmy]))?$")


def resolve_bound(value: Any, today: date) -> Any:
    """A contract bound as a value: numbers and dates as given, 'today±N[d|m|y]' from `today`."""
    if value is None or isinstance(value, int | float | date):
        return value
    text = str(value).strip()
    m = _REL.match(text)
    if m:
        if not m.group(1):
            return today
        n = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
        unit = m.group(3)
        if unit == "d":
            return today + timedelta(days=n)
        months = n * (12 if unit == "y" else 1)
        y, mo = divmod(today.year * 12 + today.month - 1 + months, 12)
        day = min(today.day, _days_in_month(y, mo + 1))
        return date(y, mo + 1, day)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError as exc:
        raise ContractError(f"cannot read bound {value!r}") from exc


def _days_in_month(y: int, m: int) -> int:
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One canonical column of a contract."""

    name: str
    aliases: tuple[str, ...]
    type: str
    required: bool = False
    pii: bool = False
    pii_action: str | None = None  # pseudonymise | drop | year_only
    values: Mapping[str, tuple[str, ...]] | None = None  # canonical code -> spellings
    min: Any = None
    max: Any = None
    description: str = ""

    @property
    def alias_keys(self) -> frozenset[str]:
        return frozenset(header_key(a) for a in (self.name, *self.aliases))

    def spellings(self) -> dict[str, Any]:
        """Matching key of every spelling -> canonical code (True/False for booleans).

        The canonical code itself is accepted too (a system exporting codes needs no mapping).
        Empty for columns without `values`.
        """
        return _spellings(self)

    def bounds(self, today: date) -> tuple[Any, Any]:
        """(min, max) resolved against `today` (None where unbounded)."""
        return resolve_bound(self.min, today), resolve_bound(self.max, today)


@cache
def _spellings_cached(items: tuple[tuple[str, tuple[str, ...]], ...], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code, words in items:
        canonical: Any = code
        if kind == "boolean":
            canonical = code.lower() in ("true", "1", "yes")
        for w in ((code,) if kind != "boolean" else ()) + words:
            k = header_key(w)
            if k in out and out[k] != canonical:
                raise ContractError(f"spelling {w!r} maps to both {out[k]!r} and {canonical!r}")
            out[k] = canonical
    return out


def _spellings(col: Column) -> dict[str, Any]:
    if not col.values:
        return {}
    items = tuple((str(k), tuple(v)) for k, v in col.values.items())
    return dict(_spellings_cached(items, col.type))


@dataclass(frozen=True)
class RowRule:
    """A comparison between two columns of one row, checked when both are present."""

    left: str
    op: str
    right: str
    reason: str
    description: str = ""

    @property
    def expression(self) -> str:
        return f"{self.left} {self.op} {self.right}"

    def violated(self, parsed: pl.DataFrame) -> pl.Series:
        """True where both sides are present and the rule does not hold (dates vs datetimes
        compare by day)."""
        a, b = parsed[self.left], parsed[self.right]
        if a.dtype != b.dtype and {a.dtype, b.dtype} & {pl.Datetime, pl.Date}:
            a = a.cast(pl.Date) if a.dtype == pl.Datetime else a
            b = b.cast(pl.Date) if b.dtype == pl.Datetime else b
        ok = {
            ">=": a >= b,
            ">": a > b,
            "<=": a <= b,
            "<": a < b,
            "==": a == b,
        }[self.op]
        return (~ok).fill_null(False).alias(f"violates:{self.expression}")


@dataclass(frozen=True)
class HeaderMapping:
    """How a file's header row maps to a contract's columns."""

    contract_id: str
    headers: tuple[str, ...]  # as found, one per file column ("" for an empty cell)
    positions: Mapping[int, str]  # file column index -> canonical column (first of duplicates)
    unknown: tuple[str, ...]  # non-empty headers that match no column
    missing_required: tuple[str, ...]
    missing_optional: tuple[str, ...]
    duplicates: Mapping[str, tuple[str, ...]]  # canonical column -> every header mapped to it

    @property
    def matched(self) -> dict[str, str]:
        """canonical column -> the header it was found under."""
        return {name: self.headers[i] for i, name in self.positions.items()}

    @property
    def ok(self) -> bool:
        return not self.missing_required

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_id": self.contract_id,
            "matched": self.matched,
            "unknown": list(self.unknown),
            "missing_required": list(self.missing_required),
            "missing_optional": list(self.missing_optional),
            "duplicates": {k: list(v) for k, v in self.duplicates.items()},
        }


@dataclass(frozen=True)
class Contract:
    id: str  # "<source>.<entity>.v<N>"
    source: str
    entity: str
    version: int
    title: Mapping[str, str]  # {"el": ..., "en": ...}: what the file is called
    description: Mapping[str, str]  # {"el": ..., "en": ...}
    period_column: str
    period_rule: str  # event: the month of period_column; snapshot: active in the month
    period_end_column: str | None
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = ()
    path: Path | None = field(default=None, compare=False)
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for c in self.columns:
            for k in c.alias_keys:
                if k in index and index[k] != c.name:
                    raise ContractError(
                        f"{self.id}: header {k!r} would name both {index[k]!r} and {c.name!r}"
                    )
                index[k] = c.name
        object.__setattr__(self, "_index", index)

    @property
    def source_entity(self) -> str:
        return f"{self.source}.{self.entity}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.id} has no column {name!r}")

    @property
    def alias_index(self) -> dict[str, str]:
        """Matching key -> canonical column name."""
        return self._index

    def match_header(self, header: str | None) -> str | None:
        """The canonical column a single header cell names, or None."""
        if header is None or not str(header).strip():
            return None
        return self._index.get(header_key(header))

    def map_headers(self, headers: Sequence[str | None]) -> HeaderMapping:
        index = self._index
        found: dict[str, list[int]] = {}
        unknown: list[str] = []
        texts = tuple("" if h is None else str(h).strip() for h in headers)
        for i, h in enumerate(texts):
            if not h:
                continue
            name = index.get(header_key(h))
            if name is None:
                unknown.append(h)
            else:
                found.setdefault(name, []).append(i)
        positions = {idx[0]: name for name, idx in found.items()}
        dups = {name: tuple(texts[i] for i in idx) for name, idx in found.items() if len(idx) > 1}
        missing_req = tuple(c.name for c in self.columns if c.required and c.name not in found)
        missing_opt = tuple(c.name for c in self.columns if not c.required and c.name not in found)
        return HeaderMapping(
            contract_id=self.id,
            headers=texts,
            positions=dict(sorted(positions.items())),
            unknown=tuple(unknown),
            missing_required=missing_req,
            missing_optional=missing_opt,
            duplicates=dups,
        )

    def header_score(self, headers: Sequence[str | None]) -> float:
        """How well a header row fits this contract, 0..1 (see `detect_contract`)."""
        nonempty = [h for h in headers if h is not None and str(h).strip()]
        if not nonempty:
            return 0.0
        mapping = self.map_headers(nonempty)
        m = len(mapping.positions)
        if m == 0:
            return 0.0
        precision = m / len(nonempty)
        n_req = len(self.required_columns)
        req_found = n_req - len(mapping.missing_required)
        recall = 0.5 * (req_found / n_req if n_req else 1.0) + 0.5 * m / len(self.columns)
        return 2 * precision * recall / (precision + recall)

    def label(self, name: str) -> str:
        """The usual Greek header of a column (for messages)."""
        c = self.column(name)
        return c.aliases[0] if c.aliases else c.name


def detect_contract(
    headers: Sequence[str | None], contracts: Iterable[Contract]
) -> tuple[Contract | None, float]:
    """The contract whose columns best explain a header row, and its score (0..1).

    Score = harmonic mean of precision (share of the file's non-empty headers that the contract
    recognises) and recall (mean of the shares of the contract's required and of all its columns
    found). A file of one entity scores near 1 against its own contract and low against others,
    so a file dropped in the wrong folder is named for what it is. Ties go to the first contract.
    """
    best: Contract | None = None
    best_score = 0.0
    for c in contracts:
        s = c.header_score(headers)
        if s > best_score + 1e-12:
            best, best_score = c, s
    return best, best_score


# ---------------------------------------------------------------------------------------------
# Loading


def _as_tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    out = []
    for x in v:
        if isinstance(x, bool) or x is None:
            # YAML 1.1 reads bare NO / yes / off / ~ as booleans or null: quote them
            raise ContractError(f"spelling {x!r} is not text: quote it in the YAML")
        out.append(str(x))
    return tuple(out)


def _parse_rule(spec: Any, where: str) -> RowRule:
    if isinstance(spec, str):
        spec = {"check": spec}
    check = str(spec.get("check", ""))
    m = re.fullmatch(r"\s*(\w+)\s*(>=|<=|==|>|<)\s*(\w+)\s*", check)
    if not m:
        raise ContractError(f"{where}: cannot read rule {check!r} (expected 'a >= b')")
    return RowRule(
        left=m.group(1),
        op=m.group(2),
        right=m.group(3),
        reason=str(spec.get("reason", "rule_failed")),
        description=str(spec.get("description", "")),
    )


def _parse_column(spec: Mapping[str, Any], where: str) -> Column:
    name = str(spec["name"])
    ctype = str(spec.get("type", "string"))
    if ctype not in COLUMN_TYPES:
        raise ContractError(f"{where}.{name}: unknown type {ctype!r}")
    pii = spec.get("pii", False)
    pii_action: str | None = None
    if isinstance(pii, str):
        if pii not in PII_ACTIONS:
            raise ContractError(f"{where}.{name}: pii must be true/false or one of {PII_ACTIONS}")
        pii_action, pii = pii, True
    elif pii:
        pii_action = str(spec.get("pii_action", "pseudonymise"))
    values = spec.get("values")
    if values is not None:
        values = {
            str(k).lower() if isinstance(k, bool) else str(k): _as_tuple(v)
            for k, v in values.items()
        }
    if ctype in ("code", "code_list") and not values:
        raise ContractError(f"{where}.{name}: a {ctype} column needs values")
    col = Column(
        name=name,
        aliases=_as_tuple(spec.get("aliases")),
        type=ctype,
        required=bool(spec.get("required", False)),
        pii=bool(pii),
        pii_action=pii_action,
        values=values,
        min=spec.get("min"),
        max=spec.get("max"),
        description=str(spec.get("description", "")),
    )
    col.spellings()  # raises on a spelling that maps to two codes
    today = date(2000, 1, 1)
    col.bounds(today)  # raises on an unreadable bound
    return col


def parse_contract(doc: Mapping[str, Any], path: Path | None = None) -> Contract:
    """A `Contract` from its YAML document, checked for consistency."""
    where = str(path or doc.get("id", "contract"))
    try:
        source, entity, version = str(doc["source"]), str(doc["entity"]), int(doc["version"])
        cid = str(doc.get("id") or f"{source}.{entity}.v{version}")
        if cid != f"{source}.{entity}.v{version}":
            raise ContractError(f"{where}: id {cid!r} does not match source/entity/version")
        columns = tuple(_parse_column(c, cid) for c in doc["columns"])
        period = doc.get("period") or {}
    except KeyError as exc:
        raise ContractError(f"{where}: missing {exc}") from exc
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ContractError(f"{where}: duplicate column names")
    rules = tuple(_parse_rule(r, cid) for r in doc.get("rules") or ())
    period_column = str(period.get("column", ""))
    period_rule = str(period.get("rule", "event"))
    period_end = period.get("end_column")
    key = _as_tuple(doc.get("key"))
    for ref in [period_column, *key, *(r.left for r in rules), *(r.right for r in rules)] + (
        [str(period_end)] if period_end else []
    ):
        if ref not in names:
            raise ContractError(f"{where}: {ref!r} is not a column")
    if period_rule not in PERIOD_RULES:
        raise ContractError(f"{where}: period rule must be one of {sorted(PERIOD_RULES)}")
    desc = doc.get("description") or {}
    title = doc.get("title") or {}
    contract = Contract(
        id=cid,
        source=source,
        entity=entity,
        version=version,
        title={"el": str(title.get("el", cid)), "en": str(title.get("en", cid))},
        description={"el": str(desc.get("el", "")), "en": str(desc.get("en", ""))},
        period_column=period_column,
        period_rule=period_rule,
        period_end_column=str(period_end) if period_end else None,
        key=key,
        columns=columns,
        rules=rules,
        path=path,
    )
    return contract


_FILE_RE = re.compile(r"^(?P<source>[a-z_]+)\.(?P<entity>[a-z_]+)\.v(?P<version>\d+)\.ya?ml$")


def contract_files(directory: Path | None = None) -> list[Path]:
    d = Path(directory) if directory is not None else CONTRACTS_DIR
    return sorted(p for p in d.iterdir() if _FILE_RE.match(p.name))


def _load_path(path: Path) -> Contract:
    """A contract file, parsed once per version of the file on disk (edits are picked up)."""
    st = path.stat()
    return _load_path_cached(path, st.st_mtime_ns, st.st_size)


@cache
def _load_path_cached(path: Path, _mtime_ns: int, _size: int) -> Contract:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    contract = parse_contract(doc, path)
    m = _FILE_RE.match(path.name)
    assert m is not None
    if contract.id != f"{m['source']}.{m['entity']}.v{int(m['version'])}":
        raise ContractError(f"{path.name}: file name does not match id {contract.id!r}")
    return contract


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """The latest version of every contract, keyed by '<source>.<entity>' (sorted)."""
    latest: dict[str, Contract] = {}
    for p in contract_files(directory):
        c = _load_path(p.resolve())
        prev = latest.get(c.source_entity)
        if prev is None or c.version > prev.version:
            latest[c.source_entity] = c
    return dict(sorted(latest.items()))


def load_contract(
    source_entity: str, version: int | None = None, directory: Path | None = None
) -> Contract:
    """One contract by '<source>.<entity>' (latest version unless `version`), or by full id
    '<source>.<entity>.v<N>'."""
    m = re.fullmatch(r"(\w+\.\w+)\.v(\d+)", source_entity)
    if m:
        source_entity, version = m.group(1), int(m.group(2))
    if version is None:
        found = load_contracts(directory).get(source_entity)
        if found is None:
            raise KeyError(f"no contract for {source_entity!r}")
        return found
    d = Path(directory) if directory is not None else CONTRACTS_DIR
    path = d / f"{source_entity}.v{version}.yaml"
    if not path.exists():
        raise KeyError(f"no contract {source_entity}.v{version}")
    return _load_path(path.resolve())


__all__ = [
    "COLUMN_TYPES",
    "CONTRACTS_DIR",
    "Column",
    "Contract",
    "ContractError",
    "HeaderMapping",
    "RowRule",
    "detect_contract",
    "header_key",
    "load_contract",
    "load_contracts",
    "parse_contract",
    "resolve_bound",
]
