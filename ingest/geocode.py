"""Assigning free-text addresses to neighbourhoods through the street gazetteer.

`Geocoder(gazetteer).locate_frame(df)` takes columns street, street_number, postcode, area
(strings; a missing column counts as empty) and returns, row for row, neighbourhood_id,
geocode_method and geocode_score. It works on the distinct addresses, and parses each distinct
street string and house number once, so half a million rows cost little more than their distinct
addresses.

Matching, in order (the first that gives exactly one neighbourhood wins):

1. exact (score 100): the street's core name (`normalise_street`: accents, case, Latin
   look-alikes, type word and abbreviations, punctuation do not matter) equals a gazetteer
   street's core name. Among that street's segments the candidates are narrowed step by step,
   each step applied only when it leaves at least one segment: the address's postcode, its area
   (= the gazetteer's settlement_name), the house number within [number_from, number_to], the
   street type. The match counts when the remaining segments lie in one neighbourhood. If the
   address gives a postcode that none of the street's segments has, or a number outside every
   remaining segment, the match still counts but scores 10 less for each (also in step 2).
2. fuzzy (score = the rapidfuzz WRatio score, at least `fuzzy_threshold`, default 88): for a
   core name that is not in the gazetteer, the gazetteer core names scoring at or above the
   threshold (Greek against Greek; a name with Latin letters is compared in ELOT transliteration
   against the transliterated gazetteer). Candidates in the address's postcode are preferred,
   then the best score, then the same narrowing as above. A street that exists in the gazetteer
   but is ambiguous (step 1 gave several neighbourhoods) is not fuzzy-matched to another street.
3. postcode (score 70): the postcode's segments all lie in one neighbourhood.
   area (score 60): the area names one neighbourhood (a gazetteer settlement_name, or a
   neighbourhood name when an `areas` table is given), or, together with the postcode, narrows
   the postcode's segments to one neighbourhood.
4. unassigned (score 0, neighbourhood null).

A house number written into the street ("Λ. Κνωσού 123") is split off and used when the
number column is empty.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from ingest.text import (
    canonical_street_type,
    normalise_greek_series,
    normalise_street,
    split_number,
    split_street_number,
    translit_greek_to_latin,
)

__all__ = ["Geocoder", "GEOCODE_SCHEMA", "METHODS", "ADDRESS_COLUMNS"]

ADDRESS_COLUMNS = ("street", "street_number", "postcode", "area")
GEOCODE_SCHEMA: dict[str, pl.DataType] = {
    "neighbourhood_id": pl.String(),
    "geocode_method": pl.String(),
    "geocode_score": pl.Float64(),
}
METHODS = ("exact", "fuzzy", "postcode", "area", "unassigned")
SCORE_POSTCODE = 70.0
SCORE_AREA = 60.0
PENALTY = 10.0  # per relaxed constraint in an exact or fuzzy match


def _clean_postcode(col: pl.Expr) -> pl.Expr:
    digits = col.cast(pl.String).str.replace_all(r"[^0-9]", "")
    # a spreadsheet float "71409.0" has lost nothing but gained ".0"
    digits = (
        pl.when(col.cast(pl.String).str.contains(r"^\s*\d{5}[.,]0+\s*$"))
        .then(col.cast(pl.String).str.extract(r"(\d{5})"))
        .otherwise(digits)
    )
    return pl.when(digits.str.len_chars() == 5).then(digits)


class Geocoder:
    """Street gazetteer lookup (see the module docstring for the rules)."""

    def __init__(
        self,
        gazetteer: pl.DataFrame,
        areas: pl.DataFrame | None = None,
        *,
        fuzzy_threshold: float = 88.0,
    ) -> None:
        self.fuzzy_threshold = float(fuzzy_threshold)
        g = gazetteer.select(
            pl.col("street_name").cast(pl.String),
            pl.col("street_type").cast(pl.String),
            pl.col("number_from").cast(pl.Int64),
            pl.col("number_to").cast(pl.Int64),
            _clean_postcode(pl.col("postcode")).alias("g_postcode"),
            normalise_greek_series(gazetteer["settlement_name"]).alias("g_area"),
            pl.col("neighbourhood_id").cast(pl.String).alias("g_nb"),
        )
        names = g["street_name"].unique().to_list()
        cores = {n: normalise_street(n)[1] for n in names}
        types = {t: canonical_street_type(t) for t in g["street_type"].unique().to_list()}
        g = g.with_columns(
            pl.col("street_name").replace_strict(cores, return_dtype=pl.String).alias("core"),
            pl.col("street_type").replace_strict(types, return_dtype=pl.String).alias("g_type"),
        ).filter(pl.col("core") != "")
        self._segments = g.select(
            "core", "g_type", "number_from", "number_to", "g_postcode", "g_area", "g_nb"
        )
        self._cores: list[str] = sorted(set(g["core"].to_list()))
        self._cores_latin: list[str] = [translit_greek_to_latin(c) for c in self._cores]

        # postcode / area / (postcode, area) -> neighbourhood when it is unique
        def unique_map(keys: list[str], frame: pl.DataFrame) -> pl.DataFrame:
            return (
                frame.drop_nulls(keys)
                .group_by(keys)
                .agg(pl.col("g_nb").n_unique().alias("n"), pl.col("g_nb").first())
                .filter(pl.col("n") == 1)
                .drop("n")
            )

        self._by_postcode = unique_map(["g_postcode"], g).rename(
            {"g_postcode": "postcode_c", "g_nb": "nb_pc"}
        )
        area_names = g.select("g_area", "g_nb")
        if areas is not None:
            area_names = pl.concat(
                [
                    area_names,
                    areas.select(
                        normalise_greek_series(areas["neighbourhood_name_el"]).alias("g_area"),
                        pl.col("neighbourhood_id").cast(pl.String).alias("g_nb"),
                    ),
                ]
            )
        area_names = area_names.filter(pl.col("g_area") != "")
        self._by_area = unique_map(["g_area"], area_names).rename(
            {"g_area": "area_n", "g_nb": "nb_area"}
        )
        self._by_postcode_area = unique_map(["g_postcode", "g_area"], g).rename(
            {"g_postcode": "postcode_c", "g_area": "area_n", "g_nb": "nb_pc_area"}
        )

    # --- public ---------------------------------------------------------------------------

    def locate(
        self,
        street: str | None,
        number: str | int | None = None,
        postcode: str | None = None,
        area: str | None = None,
    ) -> tuple[str | None, str, float]:
        """One address -> (neighbourhood_id or None, method, score)."""
        df = pl.DataFrame(
            {
                "street": [street],
                "street_number": [None if number is None else str(number)],
                "postcode": [postcode],
                "area": [area],
            },
            schema={c: pl.String for c in ADDRESS_COLUMNS},
        )
        row = self.locate_frame(df).row(0)
        return row[0], row[1], row[2]

    def locate_frame(self, df: pl.DataFrame) -> pl.DataFrame:
        """Geocode every row of `df` (columns street, street_number, postcode, area) and return
        neighbourhood_id, geocode_method, geocode_score in the same row order."""
        addr = df.select(
            (pl.col(c).cast(pl.String) if c in df.columns else pl.lit(None, pl.String)).alias(c)
            for c in ADDRESS_COLUMNS
        )
        distinct = addr.unique().with_row_index("aid")
        located = self._locate_distinct(distinct)
        out = addr.join(
            distinct.join(located, on="aid", how="left"),
            on=list(ADDRESS_COLUMNS),
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        return out.select(
            pl.col("neighbourhood_id").cast(pl.String),
            pl.col("geocode_method").fill_null("unassigned"),
            pl.col("geocode_score").fill_null(0.0).cast(pl.Float64),
        )

    # --- steps ----------------------------------------------------------------------------

    def _parse(self, distinct: pl.DataFrame) -> pl.DataFrame:
        streets = distinct["street"].drop_nulls().unique().to_list()
        core_of, type_of, num_of = {}, {}, {}
        for s in streets:
            street, embedded = split_street_number(s)
            typ, core = normalise_street(street)
            core_of[s], type_of[s], num_of[s] = core, typ, embedded
        numbers = set(distinct["street_number"].drop_nulls().unique().to_list())
        numbers |= {v for v in num_of.values() if v is not None}
        number_of = {n: split_number(n)[0] for n in numbers}
        a = distinct.with_columns(
            pl.col("street")
            .replace_strict(core_of, default="", return_dtype=pl.String)
            .alias("core"),
            pl.col("street")
            .replace_strict(type_of, default=None, return_dtype=pl.String)
            .alias("a_type"),
            pl.col("street")
            .replace_strict(num_of, default=None, return_dtype=pl.String)
            .alias("num_s"),
            _clean_postcode(pl.col("postcode")).alias("postcode_c"),
            normalise_greek_series(distinct["area"]).alias("area_n"),
        )
        number_raw = pl.coalesce(
            pl.when(pl.col("street_number").str.strip_chars() != "").then(pl.col("street_number")),
            pl.col("num_s"),
        )
        return a.with_columns(
            number_raw.replace_strict(number_of, default=None, return_dtype=pl.Int64).alias(
                "number"
            )
        ).select("aid", "core", "a_type", "number", "postcode_c", "area_n")

    @staticmethod
    def _narrow(cand: pl.DataFrame, flags: list[str]) -> pl.DataFrame:
        """Keep, per address, the candidates that satisfy each flag in turn (when any does)."""
        for f in flags:
            cand = cand.filter(pl.col(f) == pl.col(f).max().over("aid"))
        return cand

    @staticmethod
    def _flags(cand: pl.DataFrame) -> pl.DataFrame:
        return cand.with_columns(
            pc_ok=(pl.col("postcode_c") == pl.col("g_postcode")).fill_null(False),
            area_ok=(pl.col("area_n") == pl.col("g_area")).fill_null(False),
            num_ok=pl.col("number")
            .is_between(pl.col("number_from"), pl.col("number_to"))
            .fill_null(False),
            type_ok=(pl.col("a_type") == pl.col("g_type")).fill_null(False),
        )

    @staticmethod
    def _decide(cand: pl.DataFrame, method: str) -> pl.DataFrame:
        """Per address: the neighbourhood if the remaining candidates agree, with the score."""
        res = cand.group_by("aid").agg(
            pl.col("g_nb").n_unique().alias("n_nb"),
            pl.col("g_nb").first().alias("neighbourhood_id"),
            pl.col("base").first(),
            (pl.col("postcode_c").first().is_not_null() & ~pl.col("pc_ok").first()).alias("pc_bad"),
            (pl.col("number").first().is_not_null() & ~pl.col("num_ok").first()).alias("num_bad"),
        )
        return res.with_columns(
            geocode_method=pl.lit(method),
            geocode_score=pl.col("base")
            - PENALTY * pl.col("pc_bad").cast(pl.Float64)
            - PENALTY * pl.col("num_bad").cast(pl.Float64),
        )

    def _locate_distinct(self, distinct: pl.DataFrame) -> pl.DataFrame:
        a = self._parse(distinct)
        seg = self._segments
        out_cols = ["aid", "neighbourhood_id", "geocode_method", "geocode_score"]

        # 1. exact
        cand = self._flags(a.join(seg, on="core", how="inner")).with_columns(base=pl.lit(100.0))
        cand = self._narrow(cand, ["pc_ok", "area_ok", "num_ok", "type_ok"])
        exact = self._decide(cand, "exact")
        done = exact.filter(pl.col("n_nb") == 1).select(out_cols)
        known = set(self._cores)

        # 2. fuzzy, for core names the gazetteer does not have
        todo = a.filter((pl.col("core") != "") & ~pl.col("core").is_in(list(known)))
        fuzzy = self._fuzzy(todo)
        if fuzzy.height:
            done = pl.concat([done, fuzzy.select(out_cols)])

        # 3. postcode, area
        rest = a.join(done.select("aid"), on="aid", how="anti")
        fb = (
            rest.join(self._by_postcode, on="postcode_c", how="left")
            .join(self._by_area, on="area_n", how="left")
            .join(self._by_postcode_area, on=["postcode_c", "area_n"], how="left")
        )
        fb = fb.with_columns(
            neighbourhood_id=pl.coalesce("nb_pc", "nb_area", "nb_pc_area"),
            geocode_method=pl.when(pl.col("nb_pc").is_not_null())
            .then(pl.lit("postcode"))
            .when(pl.col("nb_area").is_not_null() | pl.col("nb_pc_area").is_not_null())
            .then(pl.lit("area"))
            .otherwise(pl.lit("unassigned")),
        ).with_columns(
            geocode_score=pl.col("geocode_method").replace_strict(
                {"postcode": SCORE_POSTCODE, "area": SCORE_AREA, "unassigned": 0.0},
                return_dtype=pl.Float64,
            )
        )
        return pl.concat([done, fb.select(out_cols)], how="vertical_relaxed")

    def _fuzzy(self, todo: pl.DataFrame) -> pl.DataFrame:
        queries = todo["core"].unique().to_list()
        if not queries or not self._cores:
            return pl.DataFrame()
        pairs: list[pl.DataFrame] = []
        latin = [q for q in queries if any("A" <= ch <= "Z" for ch in q)]
        greek = [q for q in queries if q not in set(latin)]
        for qs, choices, as_latin in (
            (greek, self._cores, False),
            (latin, self._cores_latin, True),
        ):
            if not qs:
                continue
            qn = [translit_greek_to_latin(q) for q in qs] if as_latin else qs
            m = process.cdist(
                qn,
                choices,
                scorer=fuzz.WRatio,
                score_cutoff=self.fuzzy_threshold,
                dtype=np.float32,
                workers=-1,
            )
            qi, ci = np.nonzero(m >= self.fuzzy_threshold)
            if len(qi):
                pairs.append(
                    pl.DataFrame(
                        {
                            "core": [qs[i] for i in qi],
                            "g_core": [self._cores[j] for j in ci],
                            "base": np.round(m[qi, ci].astype(np.float64), 1),
                        }
                    )
                )
        if not pairs:
            return pl.DataFrame()
        matches = pl.concat(pairs)
        cand = todo.join(matches, on="core", how="inner").join(
            self._segments.rename({"core": "g_core"}), on="g_core", how="inner"
        )
        cand = self._flags(cand)
        cand = self._narrow(cand, ["pc_ok"])
        cand = cand.filter(pl.col("base") == pl.col("base").max().over("aid"))
        cand = self._narrow(cand, ["area_ok", "num_ok", "type_ok"])
        res = self._decide(cand, "fuzzy")
        return res.filter(pl.col("n_nb") == 1)
