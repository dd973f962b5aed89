"""Synthetic Greek personal identifiers, generated in bulk with numpy.

- ΑΜΚΑ (social security number), 11 digits: DDMMYY of the birth date, a 4-digit serial whose last
  digit is odd for men and even for women (python-stdnum's `get_gender` reads index 9), and a Luhn
  check digit so that the whole number passes Luhn. About 30% of ΑΜΚΑ start with 0 (birth days
  01-09), which is what lets a spreadsheet drop a leading zero.
- ΑΦΜ (tax number), 9 digits: 8 digits and the check digit (Σ dᵢ·2^(9−i)) mod 11 mod 10. A
  configurable share (default 5%) starts with 0.
- Phone numbers: Greek mobiles (69x xxxxxxx) and Heraklion landlines (2810 xxxxxx).

Rules: /work/shared/reference/greek_id_check_rules.md (python-stdnum `stdnum/gr/amka.py`,
`stdnum/gr/vat.py`). The numbers are synthetic: any coincidence with a real person's number is
chance, and the generator never reads real numbers.

Every function draws only from the numpy Generator it is given, and returns numbers unique within
the call (ΑΜΚΑ: unique per DDMMYY + sex within the serial space; see `make_amka`).
"""

from __future__ import annotations

from collections.abc import Callable
from math import gcd

import numpy as np
import polars as pl

AMKA_SERIALS_PER_SEX = 5000  # 4-digit serial with fixed parity of the last digit: 1000 × 5


# --- check digits ------------------------------------------------------------------------------


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n,) non-negative ints → (n, width) digit matrix, most significant first."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((v.shape[0], width), dtype=np.int64)
    for j in range(width - 1, -1, -1):
        out[:, j] = v % 10
        v //= 10
    return out


def luhn_check_digits(body: np.ndarray, width: int) -> np.ndarray:
    """Luhn check digit for each number in `body` (ints of `width` digits, leading zeros kept).

    The digit appended to the right makes the whole number pass the Luhn test: counting from the
    check digit (position 1), every digit at an even position is doubled (minus 9 if above 9).
    """
    d = _digits(body, width)
    # the rightmost body digit is at position 2 from the right once the check digit is appended
    doubled = (width - np.arange(width)) % 2 == 1
    dd = d[:, doubled] * 2
    dd = np.where(dd > 9, dd - 9, dd)
    total = d[:, ~doubled].sum(axis=1) + dd.sum(axis=1)
    return (10 - total % 10) % 10


AFM_WEIGHTS = np.array([256, 128, 64, 32, 16, 8, 4, 2], dtype=np.int64)  # 2^8 … 2^1


def afm_check_digits(body: np.ndarray) -> np.ndarray:
    """ΑΦΜ check digit for each 8-digit body: (Σ dᵢ·2^(9−i)) mod 11 mod 10."""
    d = _digits(body, 8)
    return (d @ AFM_WEIGHTS) % 11 % 10


def amka_check_digit(first10: str) -> str:
    """Luhn check digit of a 10-digit ΑΜΚΑ body (string form)."""
    return str(int(luhn_check_digits(np.array([int(first10)]), 10)[0]))


def afm_check_digit(first8: str) -> str:
    """Check digit of an 8-digit ΑΦΜ body (string form)."""
    return str(int(afm_check_digits(np.array([int(first8)]))[0]))


def is_valid_amka(value: str) -> bool:
    """Own (independent of python-stdnum) ΑΜΚΑ check: 11 digits, real DDMMYY date, Luhn."""
    from datetime import date

    if len(value) != 11 or not value.isdigit():
        return False
    dd, mm, yy = int(value[0:2]), int(value[2:4]), int(value[4:6])
    ok_date = False
    for century in (1900, 2000):
        try:
            date(century + yy, mm, dd)
            ok_date = True
            break
        except ValueError:
            continue
    return ok_date and amka_check_digit(value[:10]) == value[10]


def is_valid_afm(value: str) -> bool:
    """Own ΑΦΜ check: 9 digits and the weighted mod-11 check digit."""
    return len(value) == 9 and value.isdigit() and afm_check_digit(value[:8]) == value[8]


# --- formatting --------------------------------------------------------------------------------


def zero_pad(values: np.ndarray, width: int) -> np.ndarray:
    """Ints → zero-padded strings of `width` digits (numpy array of str)."""
    s = pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String).str.zfill(width)
    return s.to_numpy().astype(f"<U{width}")


def _date_parts(birth_dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(birth_dates, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return day, month, year


# --- ΑΜΚΑ ----------------------------------------------------------------------------------------


def make_amka(
    birth_dates: np.ndarray,
    is_male: np.ndarray,
    rng: np.random.Generator,
    *,
    partition: tuple[int, int] = (0, 1),
) -> np.ndarray:
    """Unique synthetic ΑΜΚΑ (11-digit strings) for people with these birth dates and sexes.

    The serial of each (DDMMYY, sex) group is a random affine walk through the group's serial
    space, so serials are distinct within a group (and hence the ΑΜΚΑ unique) as long as no group
    has more than 5000 people. `partition=(k, K)` restricts this call to serials ≡ k (mod K), so
    that K separate calls (e.g. K municipalities of a national run) never collide.
    """
    k, n_parts = partition
    if not 0 <= k < n_parts:
        raise ValueError(f"partition {partition}: need 0 <= k < K")
    n = len(birth_dates)
    if n == 0:
        return np.array([], dtype="<U11")
    day, month, year = _date_parts(birth_dates)
    male = np.asarray(is_male, dtype=bool)
    ddmmyy = day * 10000 + month * 100 + (year % 100)
    key = ddmmyy * 2 + male.astype(np.int64)

    order = np.argsort(key, kind="stable")
    sk = key[order]
    new_group = np.r_[True, sk[1:] != sk[:-1]]
    group_of_sorted = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    rank_sorted = np.arange(n) - starts[group_of_sorted]
    capacity = AMKA_SERIALS_PER_SEX // n_parts
    if rank_sorted.max() >= capacity:
        raise ValueError(f"more than {capacity} people share one birth date and sex")
    n_groups = starts.size
    coprimes = np.array([s for s in range(1, capacity) if gcd(s, capacity) == 1] or [1])
    offset = rng.integers(0, capacity, size=n_groups)
    step = coprimes[rng.integers(0, coprimes.size, size=n_groups)]
    slot_sorted = (offset[group_of_sorted] + rank_sorted * step[group_of_sorted]) % capacity
    slot = np.empty(n, dtype=np.int64)
    slot[order] = slot_sorted * n_parts + k  # 0 … 4999
    serial = (slot // 5) * 10 + 2 * (slot % 5) + male.astype(np.int64)  # last digit odd for men
    body = ddmmyy * 10000 + serial
    amka = body * 10 + luhn_check_digits(body, 10)
    return zero_pad(amka, 11)


# --- ΑΦΜ -----------------------------------------------------------------------------------------


def _unique_draws(
    n: int,
    draw: Callable[[int, np.random.Generator], np.ndarray],
    rng: np.random.Generator,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """n distinct values from `draw(m, rng)`, redrawing collisions (and excluded values)."""
    values = draw(n, rng)
    taken = np.asarray(exclude, dtype=np.int64) if exclude is not None else np.empty(0, np.int64)
    for _ in range(100):
        # a value is a duplicate if it is excluded or repeats an earlier position
        _, first = np.unique(values, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if taken.size:
            dup |= np.isin(values, taken)
        if not dup.any():
            return values
        values[dup] = draw(int(dup.sum()), rng)
    raise RuntimeError("could not draw unique values; the number space is too small")


def make_afm(
    n: int,
    rng: np.random.Generator,
    *,
    leading_zero_share: float = 0.05,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """n unique synthetic ΑΦΜ (9-digit strings); about `leading_zero_share` start with 0.

    First digit: 0 with `leading_zero_share`, else 1 (half of the rest, as for most individuals'
    numbers) or 2-9. `exclude` (ints) are numbers already in use.
    """
    first_p = np.r_[leading_zero_share, (1 - leading_zero_share) * np.r_[0.5, np.full(8, 0.5 / 8)]]

    def draw(m: int, g: np.random.Generator) -> np.ndarray:
        first = g.choice(10, size=m, p=first_p)
        body = first * 10_000_000 + g.integers(0, 10_000_000, size=m)
        return body * 10 + afm_check_digits(body)

    return zero_pad(_unique_draws(n, draw, rng, exclude), 9)


# --- phones --------------------------------------------------------------------------------------

MOBILE_PREFIXES = np.array([690, 693, 694, 695, 697, 698, 699])
MOBILE_PREFIX_P = np.array([0.10, 0.12, 0.18, 0.10, 0.20, 0.15, 0.15])


def make_mobiles(n: int, rng: np.random.Generator) -> np.ndarray:
    """n unique Greek mobile numbers, 10 digits, '69' + 8 digits."""

    def draw(m: int, g: np.random.Generator) -> np.ndarray:
        prefix = MOBILE_PREFIXES[g.choice(MOBILE_PREFIXES.size, size=m, p=MOBILE_PREFIX_P)]
        return prefix * 10_000_000 + g.integers(0, 10_000_000, size=m)

    return zero_pad(_unique_draws(n, draw, rng), 10)


def make_landlines(n: int, rng: np.random.Generator, area_code: int = 2810) -> np.ndarray:
    """n unique fixed-line numbers of an area code (Heraklion 2810), 10 digits: 2810 2xxxxx/3xxxxx."""

    def draw(m: int, g: np.random.Generator) -> np.ndarray:
        local = g.integers(200_000, 400_000, size=m)
        return area_code * 1_000_000 + local

    return zero_pad(_unique_draws(n, draw, rng), 10)


__all__ = [
    "AMKA_SERIALS_PER_SEX",
    "afm_check_digit",
    "afm_check_digits",
    "amka_check_digit",
    "is_valid_afm",
    "is_valid_amka",
    "luhn_check_digits",
    "make_afm",
    "make_amka",
    "make_landlines",
    "make_mobiles",
    "zero_pad",
]
