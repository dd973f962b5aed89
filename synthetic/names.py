"""Names of the synthetic residents, drawn in bulk from weighted lists.

Data (`synthetic/data/names/`, written for this project; weights are rough relative frequencies,
not counts from a registry):
- `surnames.csv` — group, masculine, feminine, weight, note. Greek surnames with their feminine
  forms (Παπαδόπουλος/Παπαδοπούλου; Cretan -άκης/-άκη names weighted up), an illustrative list for
  Roma families (Greek Roma mostly carry Greek surnames; the list is not from a registry), and
  surnames of migrants in the Greek transliteration a clerk writes (invariant for most
  nationalities; Slavic -οφ/-οβα).
- `first_names.csv` — group, sex, name, genitive, weight. Greek first names in their formal
  (registry) form, with the genitive of male names (the form a Πατρώνυμο is often written in).

Names are in proper case with accents (NFC); the export writer derives capitals and
accent-free variants. `father_name` in the population is stored in the nominative; `genitive()`
gives the genitive form for writers that want it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

NAMES_DIR = Path(__file__).parent / "data" / "names"

NAME_GROUPS = (
    "greek",
    "roma",
    "albanian",
    "georgian",
    "bulgarian",
    "romanian",
    "east_slavic",
    "arabic",
    "afghan",
    "south_asian",
    "polish",
    "western",
)

# citizenship (ISO 3166 alpha-2) → name group; XX = stateless / unknown
CITIZENSHIP_NAME_GROUP: dict[str, str] = {
    "GR": "greek",
    "CY": "greek",
    "AL": "albanian",
    "GE": "georgian",
    "BG": "bulgarian",
    "RO": "romanian",
    "MD": "romanian",
    "UA": "east_slavic",
    "RU": "east_slavic",
    "SY": "arabic",
    "IQ": "arabic",
    "EG": "arabic",
    "XX": "arabic",
    "AF": "afghan",
    "PK": "south_asian",
    "BD": "south_asian",
    "PL": "polish",
    "DE": "western",
    "NL": "western",
    "IT": "western",
    "FR": "western",
}


@dataclass(frozen=True)
class NameLists:
    surnames: pl.DataFrame  # group, masculine, feminine, weight, note
    first_names: pl.DataFrame  # group, sex, name, genitive, weight

    def male_genitive(self) -> dict[str, str]:
        m = self.first_names.filter(pl.col("sex") == "M")
        return dict(zip(m["name"].to_list(), m["genitive"].to_list(), strict=True))


def load_names(names_dir: Path = NAMES_DIR) -> NameLists:
    """Read the name lists (UTF-8 CSV)."""
    sur = pl.read_csv(
        names_dir / "surnames.csv", schema_overrides={"weight": pl.Float64}, encoding="utf8"
    ).with_columns(pl.col("note").fill_null(""))
    first = pl.read_csv(
        names_dir / "first_names.csv", schema_overrides={"weight": pl.Float64}, encoding="utf8"
    ).with_columns(pl.col("genitive").fill_null(""))
    for g in set(sur["group"].to_list()) | set(first["group"].to_list()):
        if g not in NAME_GROUPS:
            raise ValueError(f"unknown name group {g!r}")
    return NameLists(surnames=sur, first_names=first)


def name_group_of(citizenship: np.ndarray, is_roma: np.ndarray) -> np.ndarray:
    """Name group for each person/household: Roma → 'roma', else by citizenship."""
    cit = np.asarray(citizenship, dtype=object)
    out = np.array([CITIZENSHIP_NAME_GROUP.get(c, "western") for c in np.unique(cit)], dtype=object)
    groups = out[np.searchsorted(np.unique(cit), cit)] if cit.size else cit
    return np.where(np.asarray(is_roma, dtype=bool), "roma", groups).astype(object)


def _draw_rows(
    table: pl.DataFrame, keys: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """For each position, a row index of `table` whose key columns equal `keys`, by weight."""
    n = len(next(iter(keys.values())))
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    cols = list(keys)
    # one integer code per distinct key combination, shared by the positions and the table
    key_cols = [np.asarray(keys[c], dtype=str) for c in cols]
    tab_cols = [table[c].to_numpy().astype(str) for c in cols]
    code = np.zeros(n, dtype=np.int64)
    tab_code = np.zeros(table.height, dtype=np.int64)
    for kc, tc in zip(key_cols, tab_cols, strict=True):
        levels, inv = np.unique(np.concatenate([kc, tc]), return_inverse=True)
        code = code * levels.size + inv[:n]
        tab_code = tab_code * levels.size + inv[n:]
    weights = table["weight"].to_numpy()
    for value in np.unique(code):  # a few dozen groups at most, in sorted (deterministic) order
        where = np.flatnonzero(code == value)
        rows = np.flatnonzero(tab_code == value)
        if rows.size == 0:
            first = where[0]
            wanted = {c: str(kc[first]) for c, kc in zip(cols, key_cols, strict=True)}
            raise ValueError(f"no names for {wanted}")
        p = weights[rows] / weights[rows].sum()
        out[where] = rows[rng.choice(rows.size, size=where.size, p=p)]
    return out


def draw_surname_rows(names: NameLists, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices into `names.surnames` (one per element of `group`)."""
    return _draw_rows(names.surnames, {"group": np.asarray(group, dtype=str)}, rng)


def surname_for(names: NameLists, rows: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """The masculine or feminine form of surname row `rows`, by sex ('M'/'F')."""
    masc = names.surnames["masculine"].to_numpy()
    fem = names.surnames["feminine"].to_numpy()
    return np.where(np.asarray(sex) == "M", masc[rows], fem[rows]).astype(object)


def draw_first_names(
    names: NameLists, group: np.ndarray, sex: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A first name for each person of name group `group` and sex `sex`."""
    rows = _draw_rows(
        names.first_names,
        {"group": np.asarray(group, dtype=str), "sex": np.asarray(sex, dtype=str)},
        rng,
    )
    return names.first_names["name"].to_numpy()[rows].astype(object)


def genitive(names: NameLists, male_first_names: pl.Series) -> pl.Series:
    """Genitive of male first names (unknown or foreign names are returned unchanged)."""
    mapping = names.male_genitive()
    return male_first_names.replace_strict(mapping, default=male_first_names)


__all__ = [
    "CITIZENSHIP_NAME_GROUP",
    "NAME_GROUPS",
    "NAMES_DIR",
    "NameLists",
    "draw_first_names",
    "draw_surname_rows",
    "genitive",
    "load_names",
    "name_group_of",
    "surname_for",
]
