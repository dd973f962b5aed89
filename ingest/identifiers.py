"""Checking and repairing Greek personal identifiers: ΑΜΚΑ and ΑΦΜ.

The check digits are python-stdnum's (`stdnum.gr.amka`, `stdnum.gr.vat`):

* ΑΜΚΑ: 11 digits; the first six a birth date DDMMYY that is a real date in 19YY or 20YY; the
  whole number passes the Luhn check.
* ΑΦΜ: 9 digits; the last is (Σ dᵢ·2^(9−i) for i = 1..8) mod 11 mod 10. An "EL"/"GR" prefix
  (the VAT form) is dropped.

What a value becomes (`IdCheck`):

* missing: None, blank, only separators, a "no value" word (nan, null, none, n/a), or all
  zeros (a spreadsheet's placeholder).
* Surrounding whitespace is trimmed silently. Spaces, dots, dashes and slashes *inside* the
  number are removed and recorded as the repair `amka_whitespace_removed` /
  `afm_whitespace_removed`.
* A spreadsheet float ("1013099997.0", "1.013099997E+09") is read as the integer it shows;
  that alone is not a repair.
* One digit short (10 for ΑΜΚΑ, 8 for ΑΦΜ): a leading 0 is restored when the result is valid
  (`amka_leading_zero_restored` / `afm_leading_zero_restored`; this repair is reported in
  preference to the whitespace one when both happened), otherwise the value is invalid.
* Anything else that does not pass the check: invalid, reason `amka_invalid` / `afm_invalid`,
  value None.

`check_amka_series` / `check_afm_series` do the same for a polars Series: the common case, a clean
string of the right length, is checked with integer arithmetic in polars; the odd values are
checked once each with the scalar function. A test checks that both paths and stdnum agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

import polars as pl
from stdnum.gr import amka as _stdnum_amka
from stdnum.gr import vat as _stdnum_vat

__all__ = [
    "IdCheck",
    "check_amka",
    "check_afm",
    "check_amka_series",
    "check_afm_series",
    "ID_CHECK_SCHEMA",
]

Status = Literal["valid", "missing", "invalid"]
Repair = Literal[
    "amka_whitespace_removed",
    "amka_leading_zero_restored",
    "afm_whitespace_removed",
    "afm_leading_zero_restored",
]


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The outcome of checking one identifier.

    value: the canonical digits when status is 'valid', else None.
    repair: what was changed to make it valid (None when nothing was).
    reason: 'amka_invalid' / 'afm_invalid' when status is 'invalid', else None.
    """

    value: str | None
    status: Status
    repair: Repair | None = None
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


ID_CHECK_SCHEMA: dict[str, pl.DataType] = {
    "value": pl.String(),
    "status": pl.String(),
    "repair": pl.String(),
    "reason": pl.String(),
}

_MISSING_WORDS = frozenset({"nan", "none", "null", "n/a", "na", "#n/a"})
# separators people and systems put inside numbers: whitespace, dots, dashes, slashes
_RE_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015/_]+")
_RE_FLOAT = re.compile(r"([0-9]+)[.,]0+")
_RE_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]{1,2}")
_RE_DIGITS = re.compile(r"[0-9]+")
_RE_VAT_PREFIX = re.compile(r"(?:EL|GR|ΕΛ)", re.IGNORECASE)


def _clean(raw: object, *, vat_prefix: bool = False) -> tuple[str | None, bool]:
    """(cleaned string or None when missing, whether inner separators were removed)."""
    if raw is None:
        return None, False
    if isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, float):
        if math.isnan(raw):
            return None, False
        if raw.is_integer():
            raw = int(raw)
    if isinstance(raw, int):
        return (str(raw) if raw != 0 else None), False
    t = str(raw).strip()
    if not t or t.lower() in _MISSING_WORDS:
        return None, False
    if vat_prefix:
        m = _RE_VAT_PREFIX.match(t)
        if m:
            t = t[m.end() :].lstrip()
    m = _RE_FLOAT.fullmatch(t)
    if m:
        t = m.group(1)
    elif _RE_SCIENTIFIC.fullmatch(t):
        try:
            d = Decimal(t.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the regex admits only numbers
            d = Decimal("NaN")
        if d.is_finite() and d == d.to_integral_value():
            t = str(int(d))
    cleaned = _RE_SEPARATORS.sub("", t)
    if not cleaned or cleaned.strip("0") == "" and _RE_DIGITS.fullmatch(cleaned):
        return None, False
    return cleaned, cleaned != t


def check_amka(raw: object) -> IdCheck:
    """Check one ΑΜΚΑ (string, int or float as read from a file). See the module docstring."""
    cleaned, stripped = _clean(raw)
    if cleaned is None:
        return IdCheck(None, "missing")
    if _RE_DIGITS.fullmatch(cleaned):
        if len(cleaned) == 11 and _stdnum_amka.is_valid(cleaned):
            return IdCheck(cleaned, "valid", "amka_whitespace_removed" if stripped else None)
        if len(cleaned) == 10 and _stdnum_amka.is_valid("0" + cleaned):
            return IdCheck("0" + cleaned, "valid", "amka_leading_zero_restored")
    return IdCheck(None, "invalid", None, "amka_invalid")


def check_afm(raw: object) -> IdCheck:
    """Check one ΑΦΜ (string, int or float; "EL"/"GR" prefix allowed). See the module docstring."""
    cleaned, stripped = _clean(raw, vat_prefix=True)
    if cleaned is None:
        return IdCheck(None, "missing")
    if _RE_DIGITS.fullmatch(cleaned):
        if len(cleaned) == 9 and _stdnum_vat.is_valid(cleaned):
            return IdCheck(cleaned, "valid", "afm_whitespace_removed" if stripped else None)
        if len(cleaned) == 8 and _stdnum_vat.is_valid("0" + cleaned):
            return IdCheck("0" + cleaned, "valid", "afm_leading_zero_restored")
    return IdCheck(None, "invalid", None, "afm_invalid")


# --- vectorised ------------------------------------------------------------------------------


def _digit(n: pl.Expr, i: int, width: int) -> pl.Expr:
    """The i-th digit (0-based from the left) of an integer written with `width` digits."""
    return (n // 10 ** (width - 1 - i)) % 10


def _amka_ok(n: pl.Expr) -> pl.Expr:
    """Vectorised ΑΜΚΑ rule on the integer value of a clean 11-digit string."""
    luhn = pl.lit(0, dtype=pl.Int64)
    for i in range(11):
        d = _digit(n, i, 11)
        if (10 - i) % 2 == 1:  # every second digit from the right, check digit excluded
            d = d * 2 - pl.when(d >= 5).then(9).otherwise(0)
        luhn = luhn + d
    dd = n // 10**9
    mm = (n // 10**7) % 100
    yy = (n // 10**5) % 100
    days = (
        pl.when(mm == 2)
        .then(pl.when(yy % 4 == 0).then(29).otherwise(28))  # 2000 is a leap year, 1900 not
        .when(mm.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    return (luhn % 10 == 0) & mm.is_between(1, 12) & dd.is_between(1, days)


def _afm_ok(n: pl.Expr) -> pl.Expr:
    """Vectorised ΑΦΜ rule on the integer value of a clean 9-digit string."""
    total = pl.lit(0, dtype=pl.Int64)
    for i in range(8):
        total = total + _digit(n, i, 9) * 2 ** (8 - i)
    return total % 11 % 10 == _digit(n, 8, 9)


def _as_strings(s: pl.Series) -> pl.Series:
    """The Series as strings; integral floats (a spreadsheet's numbers) without the ".0"."""
    if not s.dtype.is_float():
        return s.cast(pl.String)
    x = pl.lit(s)
    return pl.select(
        pl.when(x.is_nan() | x.is_infinite())
        .then(pl.lit(None, dtype=pl.String))
        .when((x == x.round(0)) & (x.abs() < 1e15))
        .then(x.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(x.cast(pl.String))
    ).to_series()


def _check_series(
    s: pl.Series,
    width: int,
    ok: Callable[[pl.Expr], pl.Expr],
    scalar: Callable[[object], IdCheck],
    invalid_reason: str,
) -> pl.DataFrame:
    raw = pl.col("raw")
    zero = "0" * width
    df = pl.DataFrame({"raw": _as_strings(s)}).with_columns(
        fast=(raw.str.contains(f"^[0-9]{{{width}}}$") & (raw != zero)).fill_null(False),
        blank=(raw.is_null() | (raw.str.strip_chars() == "") | (raw == zero)).fill_null(True),
    )
    # the integer value materialised once: the digit arithmetic below reuses it 20 times
    df = df.with_columns(n=pl.when(pl.col("fast")).then(raw.str.to_integer(strict=False)))
    df = df.with_columns(ok=pl.col("fast") & ok(pl.col("n")).fill_null(False))
    df = df.with_columns(
        value=pl.when(pl.col("ok")).then(raw),
        status=pl.when(pl.col("blank"))
        .then(pl.lit("missing"))
        .when(pl.col("fast"))
        .then(pl.when(pl.col("ok")).then(pl.lit("valid")).otherwise(pl.lit("invalid"))),
        repair=pl.lit(None, dtype=pl.String),
    ).with_columns(reason=pl.when(pl.col("status") == "invalid").then(pl.lit(invalid_reason)))

    odd = df.filter(pl.col("status").is_null()).get_column("raw").unique()
    if len(odd):
        checks = [scalar(v) for v in odd.to_list()]
        slow = pl.DataFrame(
            {
                "raw": odd,
                "value_s": [c.value for c in checks],
                "status_s": [c.status for c in checks],
                "repair_s": [c.repair for c in checks],
                "reason_s": [c.reason for c in checks],
            },
            schema={"raw": pl.String, **{f"{k}_s": v for k, v in ID_CHECK_SCHEMA.items()}},
        )
        df = df.join(slow, on="raw", how="left", nulls_equal=True, maintain_order="left")
        df = df.with_columns(
            pl.when(pl.col("status").is_null()).then(pl.col(f"{c}_s")).otherwise(pl.col(c)).alias(c)
            for c in ID_CHECK_SCHEMA
        )
    return df.select(pl.col(c).cast(t) for c, t in ID_CHECK_SCHEMA.items())


def check_amka_series(s: pl.Series) -> pl.DataFrame:
    """`check_amka` over a Series: a DataFrame (value, status, repair, reason), one row per
    input row in the same order."""
    return _check_series(s, 11, _amka_ok, check_amka, "amka_invalid")


def check_afm_series(s: pl.Series) -> pl.DataFrame:
    """`check_afm` over a Series: a DataFrame (value, status, repair, reason), one row per
    input row in the same order."""
    return _check_series(s, 9, _afm_ok, check_afm, "afm_invalid")
