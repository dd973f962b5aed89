"""The quirks real municipal exports carry, as pure functions, and their assignment to rows.

Text and identifier transforms (`caps_no_accents`, `latin_lookalike`, `transliterate`,
`amka_*`, `afm_*`, `address_variant`, `invalid_number`, ...) act on one value and are applied only
to the few rows chosen for a fault. `assign_row_faults` chooses those rows: for each fault in the
order of faults.yaml, exactly `exact_count(rate, eligible)` rows among the eligible ones, never
two faults on one row.
"""

from __future__ import annotations

import calendar
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

# expected action and reason per fault (docs/design.md, "Faults and what ingest must do")
FAULT_ACTIONS: dict[str, tuple[str, str]] = {
    "amka_leading_zero_lost": ("repair_row", "amka_leading_zero_restored"),
    "amka_spaces": ("repair_row", "amka_whitespace_removed"),
    "amka_missing": ("load_row", "amka_missing"),
    "amka_invalid": ("reject_row", "amka_invalid"),
    "afm_invalid": ("reject_row", "afm_invalid"),
    "afm_leading_zero_lost": ("repair_row", "afm_leading_zero_restored"),
    "name_caps_no_accents": ("load_row", ""),
    "name_latin_lookalike": ("load_row", ""),
    "name_transliterated": ("load_row", ""),
    "address_variant": ("geocode", ""),
    "duplicate_registration": ("load_row", ""),
    "date_invalid": ("reject_row", "date_invalid"),
    "date_out_of_range": ("reject_row", "date_out_of_range"),
    "date_order": ("reject_row", "date_order"),
    "code_invalid": ("reject_row", "code_invalid"),
    "number_invalid": ("reject_row", "number_invalid"),
    "required_missing": ("reject_row", "required_missing"),
    "truncated_file": ("reject_row", "row_incomplete"),
    "totals_row": ("skip_row", "totals_row"),
    "empty_file": ("refuse_file", "empty_file"),
    "wrong_folder": ("refuse_file", "wrong_source"),
    "resent_month": ("replace_period", "period_replaced"),
}


def exact_count(rate: float, n: int) -> int:
    """Rows (or files) a rate gives among `n` eligible: floor(rate × n + 0.5)."""
    return int(math.floor(rate * n + 0.5))


def choose_exact(rng: np.random.Generator, candidates: np.ndarray, k: int) -> np.ndarray:
    """`k` of `candidates` without replacement (all of them if fewer), sorted."""
    k = min(k, len(candidates))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(candidates, size=k, replace=False)).astype(np.int64)


# --- Greek text -------------------------------------------------------------------------------

_ACCENTED_CAPS = str.maketrans(
    {"Ά": "Α", "Έ": "Ε", "Ή": "Η", "Ί": "Ι", "Ό": "Ο", "Ύ": "Υ", "Ώ": "Ω", "Ϊ": "Ι", "Ϋ": "Υ"}
)


def caps_no_accents(s: str) -> str:
    """Greek capitals without accents or diaeresis, as typed with caps lock: 'Κνωσού' → 'ΚΝΩΣΟΥ'."""
    up = s.upper().translate(_ACCENTED_CAPS)
    return "".join(c for c in unicodedata.normalize("NFD", up) if not unicodedata.combining(c))


def caps_no_accents_expr(e: pl.Expr) -> pl.Expr:
    """`caps_no_accents` as a polars expression (vectorised)."""
    return (
        e.str.to_uppercase()
        .str.replace_many(
            ["Ά", "Έ", "Ή", "Ί", "Ό", "Ύ", "Ώ", "Ϊ", "Ϋ"],
            ["Α", "Ε", "Η", "Ι", "Ο", "Υ", "Ω", "Ι", "Υ"],
        )
        .str.replace_all("[\u0300-\u036f]", "")
    )


# Greek capitals and the Latin capitals that look the same
LOOKALIKES: dict[str, str] = {
    "Α": "A", "Ε": "E", "Κ": "K", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X",
    "Η": "H", "Μ": "M", "Ν": "N", "Β": "B", "Ι": "I", "Υ": "Y", "Ζ": "Z",
}  # fmt: skip


_LOOKALIKE_CLASS = "[" + "".join(LOOKALIKES) + "]"


def has_lookalike(s: str) -> bool:
    return any(c in LOOKALIKES for c in caps_no_accents(s))


def latin_lookalike(s: str, rng: np.random.Generator) -> str:
    """Capitals with 1-3 Greek letters typed as their Latin look-alikes (keyboard layout slips)."""
    up = list(caps_no_accents(s))
    pos = [i for i, c in enumerate(up) if c in LOOKALIKES]
    if not pos:
        return "".join(up)
    k = int(rng.integers(1, min(3, len(pos)) + 1))
    for i in rng.choice(pos, size=k, replace=False):
        up[int(i)] = LOOKALIKES[up[int(i)]]
    return "".join(up)


_DIGRAPHS = [("ΟΥ", "OU"), ("ΑΙ", "AI"), ("ΕΙ", "EI"), ("ΟΙ", "OI"), ("ΜΠ", "MP"), ("ΝΤ", "NT"),
             ("ΓΚ", "GK"), ("ΓΓ", "NG"), ("ΑΥ", "AV"), ("ΕΥ", "EV")]  # fmt: skip
_LETTERS = {
    "Α": "A", "Β": "V", "Γ": "G", "Δ": "D", "Ε": "E", "Ζ": "Z", "Η": "I", "Θ": "TH", "Ι": "I",
    "Κ": "K", "Λ": "L", "Μ": "M", "Ν": "N", "Ξ": "X", "Ο": "O", "Π": "P", "Ρ": "R", "Σ": "S",
    "Τ": "T", "Υ": "Y", "Φ": "F", "Χ": "CH", "Ψ": "PS", "Ω": "O",
}  # fmt: skip


def transliterate(s: str) -> str:
    """Greek → Latin capitals in the passport manner (ELOT 743, simplified): 'Γιώργος' → 'GIORGOS'."""
    up = caps_no_accents(s)
    for g, latin in _DIGRAPHS:
        up = up.replace(g, latin)
    return "".join(_LETTERS.get(c, c) for c in up)


_CONSONANTS = set("σλνμρτπκ")


def doubled_consonant_positions(name: str) -> list[int]:
    """Positions of a single lower-case consonant that a typist may double ('Κνωσού' → 'Κνωσσού')."""
    out = []
    for i, c in enumerate(name):
        if i == 0 or c not in _CONSONANTS:
            continue
        if name[i - 1] == c or (i + 1 < len(name) and name[i + 1] == c):
            continue
        if i + 1 < len(name) and name[i + 1].isalpha():
            out.append(i)
    return out


def double_consonant(name: str, rng: np.random.Generator) -> str:
    pos = doubled_consonant_positions(name)
    if not pos:
        return name
    i = int(rng.choice(pos))
    return name[: i + 1] + name[i] + name[i + 1 :]


# --- identifiers ------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def afm_check_digit(first8: str) -> int:
    c = 0
    for ch in first8:
        c = c * 2 + int(ch)
    return c * 2 % 11 % 10


def amka_invalid(amka: str, rng: np.random.Generator) -> str:
    """One serial digit (positions 7-10) changed: the Luhn check then fails."""
    while True:
        i = int(rng.integers(6, 10))
        d = str((int(amka[i]) + int(rng.integers(1, 10))) % 10)
        out = amka[:i] + d + amka[i + 1 :]
        if not luhn_valid(out):
            return out


def amka_spaces(amka: str, rng: np.random.Generator) -> str:
    """Spaces inside the number, as typed from the card ('010130 99997'). Never only around it:
    readers trim cells, and the fault must stay visible to the ΑΜΚΑ check."""
    if rng.random() < 0.5:
        return f"{amka[:6]} {amka[6:]}"
    return f"{amka[:2]} {amka[2:4]} {amka[4:6]} {amka[6:]}"


def afm_invalid(afm: str, rng: np.random.Generator) -> str:
    """Check digit replaced by another digit."""
    good = int(afm[8])
    bad = (good + int(rng.integers(1, 10))) % 10
    return afm[:8] + str(bad)


# --- numbers and dates ------------------------------------------------------------------------

GREEK_NUMBERS = [
    "μηδέν", "ένα", "δύο", "τρία", "τέσσερα", "πέντε", "έξι", "επτά", "οκτώ", "εννέα", "δέκα",
    "έντεκα", "δώδεκα", "δεκατρία", "δεκατέσσερα", "δεκαπέντε", "δεκαέξι", "δεκαεπτά", "δεκαοκτώ",
    "δεκαεννέα", "είκοσι",
]  # fmt: skip


def invalid_number(value: float, rng: np.random.Generator) -> str:
    """A number that does not parse: written in words ('δώδεκα') or with stray commas ('12,5,0')."""
    if float(value).is_integer() and 0 <= value <= 20 and rng.random() < 0.6:
        return GREEK_NUMBERS[int(value)]
    return f"{int(value)},{int(rng.integers(1, 10))},0"


_INVALID_DAYS = [(30, 2), (31, 2), (31, 4), (31, 6), (31, 9), (31, 11)]


def impossible_date(d: date, rng: np.random.Generator) -> tuple[int, int, int]:
    """A (year, month, day) that is no calendar date, near `d`: 31/02, 31/04, 29/02 of a common year."""
    if d.month == 2 and not calendar.isleap(d.year) and rng.random() < 0.3:
        return d.year, 2, 29
    same = [(dd, m) for dd, m in _INVALID_DAYS if m == d.month]
    dd, m = same[int(rng.integers(len(same)))] if same else _INVALID_DAYS[rng.integers(6)]
    return d.year, m, dd


def out_of_range_date(d: date | datetime, is_birth: bool, rng: np.random.Generator) -> date:
    year = 2099 if is_birth or rng.random() < 0.5 else 1900
    day = min(d.day, 28) if d.month == 2 else d.day
    out = date(year, d.month, day)
    if isinstance(d, datetime):
        return datetime(out.year, out.month, out.day, d.hour, d.minute)
    return out


# --- row faults -------------------------------------------------------------------------------


@dataclass
class RowFault:
    """One fault on one row of an entity table.

    `overrides` maps a column to (kind, value): kind "text" (written as text), "blank", "date"
    (a date or datetime written in the file's date format) or "bad_date" ((y, m, d), no calendar
    date, written as text in the file's date pattern).
    """

    row: int
    fault: str
    column: str
    detail: str = ""
    overrides: dict[str, tuple[str, Any]] = field(default_factory=dict)


@dataclass
class FaultStat:
    fault: str
    entity: str
    eligible: int
    rate: float
    target: int
    realised: int


# Which columns of each entity carry identity (the rest of the module is entity-agnostic).
AMKA_COL = {
    "community_centre.beneficiaries": "amka",
    "social_grocery.households": "applicant_amka",
    "home_help.clients": "amka",
    "home_help.visits": "amka",
    "home_help.requests": "amka",
}
AFM_COL = {"community_centre.beneficiaries": "afm"}
NAME_COLS = {
    "community_centre.beneficiaries": ["surname", "first_name", "father_name"],
    "social_grocery.households": ["applicant_name"],
    "home_help.clients": ["surname", "first_name"],
}
ADDRESS_ENTITIES = {
    "community_centre.beneficiaries",
    "social_grocery.households",
    "home_help.clients",
    "home_help.requests",
}


def _nonnull(df: pl.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    mask = s.is_not_null()
    if s.dtype == pl.String:
        mask = mask & (s != "")
    return mask.to_numpy()


def _pick_column(
    rng: np.random.Generator, df: pl.DataFrame, rows: np.ndarray, cols: list[str], prefix: dict
) -> list[str]:
    """For each chosen row, one of `cols` that is present in it (uniformly)."""
    present = np.stack([_nonnull(df, prefix[c])[rows] for c in cols], axis=1)
    out = []
    for r in range(len(rows)):
        opts = [c for c, ok in zip(cols, present[r], strict=True) if ok]
        out.append(opts[int(rng.integers(len(opts)))])
    return out


def _any_present(df: pl.DataFrame, cols: list[str], prefix: dict) -> np.ndarray:
    m = np.zeros(df.height, dtype=bool)
    for c in cols:
        m |= _nonnull(df, prefix[c])
    return m


def _address_kinds(row: dict) -> list[str]:
    kinds = []
    if row["street_type"] == "Λεωφόρος":
        kinds.append("avenue_abbrev")
    if row["s_street"] != caps_no_accents(row["s_street"]):
        kinds.append("caps_no_accents")
    if doubled_consonant_positions(row["street_name"]):
        kinds.append("doubled_consonant")
    if row["s_street_number"]:
        kinds += ["number_suffix", "number_in_street"]
    if row["s_postcode"]:
        kinds.append("postcode_missing")
    if row["nbhd_name"] and row["nbhd_name"] != row["s_area"]:
        kinds.append("area_neighbourhood")
    return kinds


def address_variant(row: dict, kind: str, rng: np.random.Generator) -> tuple[str, dict]:
    """(column, overrides) for one address variant of a row (row holds the rendered parts)."""
    street, name, number = row["s_street"], row["street_name"], row["s_street_number"]
    if kind == "avenue_abbrev":
        style = int(rng.integers(4))
        text = [
            f"Λ. {name}",
            f"Λεωφ. {name}",
            f"{caps_no_accents(name)} ΛΕΩΦ.",
            f"{name} Λεωφ.",
        ][style]
        return "street", {"street": ("text", text)}
    if kind == "caps_no_accents":
        return "street", {"street": ("text", caps_no_accents(street))}
    if kind == "doubled_consonant":
        return "street", {"street": ("text", street.replace(name, double_consonant(name, rng), 1))}
    if kind == "number_suffix":
        suffix = row["street_number_suffix"] or ""
        base = number[: len(number) - len(suffix)] if suffix else number
        text = f"{base} {suffix}" if suffix else f"{base}Α"
        return "street_number", {"street_number": ("text", text)}
    if kind == "number_in_street":
        return "street", {
            "street": ("text", f"{street} {number}"),
            "street_number": ("blank", None),
        }
    if kind == "postcode_missing":
        return "postcode", {"postcode": ("blank", None)}
    if kind == "area_neighbourhood":
        return "area", {"area": ("text", row["nbhd_name"])}
    raise ValueError(kind)


def assign_row_faults(
    entity: str,
    df: pl.DataFrame,
    available: np.ndarray,
    columns: dict[str, str],
    cfg: dict,
    rng: np.random.Generator,
) -> tuple[list[RowFault], list[FaultStat]]:
    """Choose the rows of every row fault of faults.yaml for one entity table.

    `df` holds the entity's rows with rendered strings `s_<col>` and typed values `v_<col>`
    (`columns` maps each canonical column to its frame column); `available` marks the rows that
    may take a fault (written in a primary file, no fault yet). Returns the faults (with their
    overrides) and, per fault, the eligible/target/realised counts.
    """
    taken = ~available.copy()
    faults: list[RowFault] = []
    stats: list[FaultStat] = []
    n = df.height
    row_cfg = cfg["row_faults"]

    def run(name: str, cond: np.ndarray, make) -> None:
        spec = row_cfg[name]
        rate = float(spec.get("entity_rates", {}).get(entity, spec["rate"]))
        cond = cond & available
        target = exact_count(rate, int(cond.sum()))
        chosen = choose_exact(rng, np.flatnonzero(cond & ~taken), target)
        taken[chosen] = True
        if len(chosen):
            faults.extend(make(chosen))
        stats.append(FaultStat(name, entity, int(cond.sum()), rate, target, len(chosen)))

    def applies(name: str) -> bool:
        spec = row_cfg.get(name)
        if spec is None:
            return False
        if "entities" in spec:
            return entity in spec["entities"]
        for key in ("columns", "pairs", "values"):
            if key in spec:
                return entity in spec[key]
        return False

    amka_col = AMKA_COL.get(entity)
    if amka_col:
        amka = df[columns[amka_col]]
        has = _nonnull(df, columns[amka_col])
        vals = amka.to_list()

        def text_fault(name: str, fn) -> Callable:
            return lambda rows: [
                RowFault(int(r), name, amka_col, "", {amka_col: ("text", fn(vals[r]))})
                for r in rows
            ]

        if applies("amka_leading_zero_lost"):
            zero = has & amka.str.starts_with("0").fill_null(False).to_numpy()
            run(
                "amka_leading_zero_lost",
                zero,
                text_fault("amka_leading_zero_lost", lambda a: a[1:]),
            )
        if applies("amka_spaces"):
            run("amka_spaces", has, text_fault("amka_spaces", lambda a: amka_spaces(a, rng)))
        if applies("amka_missing"):
            run(
                "amka_missing",
                has,
                lambda rows: [
                    RowFault(
                        int(r), "amka_missing", amka_col, "injected", {amka_col: ("blank", None)}
                    )
                    for r in rows
                ],
            )
        if applies("amka_invalid"):
            run("amka_invalid", has, text_fault("amka_invalid", lambda a: amka_invalid(a, rng)))

    afm_col = AFM_COL.get(entity)
    if afm_col:
        afm = df[columns[afm_col]]
        has = _nonnull(df, columns[afm_col])
        avals = afm.to_list()
        if applies("afm_invalid"):
            run(
                "afm_invalid",
                has,
                lambda rows: [
                    RowFault(
                        int(r),
                        "afm_invalid",
                        afm_col,
                        "",
                        {afm_col: ("text", afm_invalid(avals[r], rng))},
                    )
                    for r in rows
                ],
            )
        if applies("afm_leading_zero_lost"):
            zero = has & afm.str.starts_with("0").fill_null(False).to_numpy()
            run(
                "afm_leading_zero_lost",
                zero,
                lambda rows: [
                    RowFault(
                        int(r),
                        "afm_leading_zero_lost",
                        afm_col,
                        "",
                        {afm_col: ("text", avals[r][1:])},
                    )
                    for r in rows
                ],
            )

    name_cols = NAME_COLS.get(entity)
    if name_cols:
        main = name_cols[0]
        has = _nonnull(df, columns[main])
        names = {c: df[columns[c]].to_list() for c in name_cols}

        def name_fault(fault: str, fn) -> Callable:
            def make(rows):
                out = []
                for r in rows:
                    ov = {c: ("text", fn(names[c][r])) for c in name_cols if names[c][r]}
                    out.append(RowFault(int(r), fault, main, "", ov))
                return out

            return make

        if applies("name_caps_no_accents"):
            run("name_caps_no_accents", has, name_fault("name_caps_no_accents", caps_no_accents))
        if applies("name_latin_lookalike"):
            look = (
                has
                & df.select(
                    caps_no_accents_expr(pl.col(columns[main]))
                    .str.contains(_LOOKALIKE_CLASS)
                    .fill_null(False)
                )
                .to_series()
                .to_numpy()
            )
            run(
                "name_latin_lookalike",
                look,
                name_fault("name_latin_lookalike", lambda s: latin_lookalike(s, rng)),
            )
        if applies("name_transliterated"):
            run("name_transliterated", has, name_fault("name_transliterated", transliterate))

    if entity in ADDRESS_ENTITIES and applies("address_variant"):
        has = _nonnull(df, columns["street"])
        weights = row_cfg["address_variant"]["kinds"]
        parts = df.select(
            s_street=pl.col(columns["street"]),
            street_name=pl.col("street_name"),
            street_type=pl.col("street_type"),
            s_street_number=pl.col(columns["street_number"]).fill_null(""),
            street_number_suffix=pl.col("street_number_suffix"),
            s_postcode=pl.col(columns["postcode"]).fill_null(""),
            s_area=pl.col(columns["area"]).fill_null(""),
            nbhd_name=pl.col("nbhd_name"),
        )

        def make_address(rows):
            sel = parts[rows].to_dicts()
            out = []
            for r, row in zip(rows, sel, strict=True):
                kinds = _address_kinds(row)
                w = np.array([float(weights.get(k, 0.0)) for k in kinds])
                if not kinds or w.sum() == 0:
                    kinds, w = ["caps_no_accents"], np.array([1.0])
                kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
                col, ov = address_variant(row, kind, rng)
                out.append(RowFault(int(r), "address_variant", col, kind, ov))
            return out

        run("address_variant", has, make_address)

    def date_value(col: str, r: int):
        return df[columns[col]][r]

    for fault in ("date_invalid", "date_out_of_range"):
        if not applies(fault):
            continue
        cols = row_cfg[fault]["columns"][entity]
        cond = _any_present(df, cols, columns)

        def make_date(rows, fault=fault, cols=cols):
            picked = _pick_column(rng, df, rows, cols, columns)
            out = []
            for r, c in zip(rows, picked, strict=True):
                d = date_value(c, int(r))
                if fault == "date_invalid":
                    y, m, dd = impossible_date(d, rng)
                    ov = (
                        "bad_date",
                        (y, m, dd, d.hour, d.minute) if isinstance(d, datetime) else (y, m, dd),
                    )
                else:
                    ov = ("date", out_of_range_date(d, c == "birth_date", rng))
                out.append(RowFault(int(r), fault, c, "", {c: ov}))
            return out

        run(fault, cond, make_date)

    if applies("date_order"):
        first, second = row_cfg["date_order"]["pairs"][entity]
        cond = _nonnull(df, columns[first]) & _nonnull(df, columns[second])

        def make_order(rows):
            out = []
            for r in rows:
                d1 = date_value(first, int(r))
                back = timedelta(days=int(rng.integers(1, 61)))
                d1d = d1.date() if isinstance(d1, datetime) else d1
                out.append(
                    RowFault(int(r), "date_order", second, "", {second: ("date", d1d - back)})
                )
            return out

        run("date_order", cond, make_order)

    if applies("code_invalid"):
        values = row_cfg["code_invalid"]["values"][entity]
        cols = list(values)
        cond = _any_present(df, cols, columns)

        def make_code(rows):
            picked = _pick_column(rng, df, rows, cols, columns)
            return [
                RowFault(
                    int(r),
                    "code_invalid",
                    c,
                    "",
                    {c: ("text", values[c][int(rng.integers(len(values[c])))])},
                )
                for r, c in zip(rows, picked, strict=True)
            ]

        run("code_invalid", cond, make_code)

    if applies("number_invalid"):
        cols = row_cfg["number_invalid"]["columns"][entity]
        cond = _any_present(df, cols, columns)

        def make_number(rows):
            picked = _pick_column(rng, df, rows, cols, columns)
            return [
                RowFault(
                    int(r),
                    "number_invalid",
                    c,
                    "",
                    {c: ("text", invalid_number(float(df[columns[c]][int(r)]), rng))},
                )
                for r, c in zip(rows, picked, strict=True)
            ]

        run("number_invalid", cond, make_number)

    if applies("required_missing"):
        cols = row_cfg["required_missing"]["columns"][entity]
        cond = _any_present(df, cols, columns)

        def make_required(rows):
            picked = _pick_column(rng, df, rows, cols, columns)
            return [
                RowFault(int(r), "required_missing", c, "", {c: ("blank", None)})
                for r, c in zip(rows, picked, strict=True)
            ]

        run("required_missing", cond, make_required)

    assert n == len(taken)
    return faults, stats
