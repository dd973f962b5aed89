"""Build the dbt reference seeds from the public reference files (a development-time tool).

Run once when the reference data change:  python scripts/build_reference_seeds.py ../shared/reference
The project never reads ../shared at run time; the seeds it writes are committed.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "reference"

# ELOT 743 transliteration (simplified: digraphs first), for English labels of place names.
_DIGRAPHS = {
    "ΟΥ": "OU",
    "ΑΥ": "AV",
    "ΕΥ": "EV",
    "ΜΠ": "B",
    "ΝΤ": "D",
    "ΓΚ": "GK",
    "ΓΓ": "NG",
    "ΤΣ": "TS",
    "ΤΖ": "TZ",
}
_SINGLE = dict(
    zip(
        "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
        [
            "A",
            "V",
            "G",
            "D",
            "E",
            "Z",
            "I",
            "TH",
            "I",
            "K",
            "L",
            "M",
            "N",
            "X",
            "O",
            "P",
            "R",
            "S",
            "T",
            "Y",
            "F",
            "CH",
            "PS",
            "O",
        ],
        strict=True,
    )
)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def translit(s: str) -> str:
    s = "".join(c for c in unicodedata.normalize("NFD", s.upper()) if not unicodedata.combining(c))
    out, i = [], 0
    while i < len(s):
        two = s[i : i + 2]
        if two in _DIGRAPHS:
            word_start = i == 0 or not s[i - 1].isalpha()
            out.append(
                {"ΜΠ": "MP", "ΝΤ": "NT"}.get(two, _DIGRAPHS[two])
                if not word_start
                else _DIGRAPHS[two]
            )
            i += 2
            continue
        out.append(_SINGLE.get(s[i], s[i]))
        i += 1
    return "".join(out).title()


# ELSTAT and YPES spell a few names differently (genitive of the saint's name).
_ALIASES = {("ΤΕΜΕΝΟΥΣ", "ΠΡΟΦΗΤΗ ΗΛΙΑ"): ("ΤΕΜΕΝΟΥΣ", "ΠΡΟΦΗΤΟΥ ΗΛΙΑ")}


# Conventional English names of the municipality and its units (domain.md).
_EN = {
    "7101": "Heraklion",
    "710101": "Heraklion",
    "71010101": "Heraklion (city)",
    "710102": "Gorgolainis",
    "710103": "Nea Alikarnassos",
    "71010301": "Nea Alikarnassos",
    "710104": "Paliani",
    "710105": "Temenos",
}


def _norm(s: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", s.upper()) if not unicodedata.combining(c)
    ).strip()


def clean_name(name: str, level: str) -> str:
    for prefix in ("ΔΗΜΟΤΙΚΗ ΕΝΟΤΗΤΑ ", "Δημοτική Κοινότητα ", "Τοπική Κοινότητα "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    if level == "municipality":
        return "ΗΡΑΚΛΕΙΟΥ"
    return name


def main(ref: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    codebook = {
        r["community_code"]: r for r in _rows(ref / "heraklion_kallikratis_codebook_2011.csv")
    }
    # ELSTAT community code 7101XXYY -> YPES 9305XXYY (same unit/community numbering in both codebooks)
    pop2021 = {
        r["elstat_municipality_code"]: r
        for r in _rows(ref / "crete_municipalities_census_2021_provisional.csv")
    }
    rows = []
    # The YPES (Kallikratis) codebook numbers units and communities differently from ELSTAT
    # (ELSTAT 710101 = Heraklion, YPES 930502 = Heraklion): match them by normalised name.
    # The city community (ELSTAT 71010101) is four city districts (93050201-04) in the codebook.
    by_name: dict[tuple[str, str], list[str]] = {}
    for ypes, cb in codebook.items():
        unit = _norm(cb["municipal_unit_name"])
        name = (
            "ΗΡΑΚΛΕΙΟΥ"
            if "ΔΗΜ. ΔΙΑΜΕΡ. ΗΡΑΚΛΕΙΟΥ" in cb["kapodistrias_name"]
            else _norm(cb["kapodistrias_name"])
        )
        by_name.setdefault((unit, name), []).append(ypes)
    unit_names: dict[str, str] = {}
    for r in _rows(ref / "heraklion_municipality_census_1991_2001_2011.csv"):
        level = r["level_name"]
        code = r["code_2011"]
        ypes = None
        if level == "municipal_unit":
            unit_names[code] = _norm(clean_name(r["name_el"], level))
            ypes = sorted(
                {c[:6] for (u, _n), cs in by_name.items() if u == unit_names[code] for c in cs}
            )[0]
        elif level == "community":
            key = (unit_names[r["parent_code"]], _norm(clean_name(r["name_el"], level)))
            key = _ALIASES.get(key, key)
            ypes = "|".join(sorted(by_name[key]))
        elif level == "municipality":
            ypes = "9305"
        name_el = clean_name(r["name_el"], level)
        p21 = pop2021.get(code) if level == "municipality" else None
        rows.append(
            {
                "area_level": level,
                "area_code": code,
                "kallikratis_code": ypes or "",
                "parent_code": r.get("parent_code", ""),
                "name_el": name_el,
                "name_en": _EN.get(code) or translit(name_el.split(",")[0]),
                "community_type": (
                    "ΔΗΜ. ΚΟΙΝΟΤ" if r["name_el"].startswith("Δημοτική") else "ΤΟΠ. ΚΟΙΝΟΤ"
                )
                if level == "community"
                else "",
                "pop_2011_resident": r["pop2011_resident"],
                "pop_2011_defacto": r["pop2011_defacto"],
                "pop_2001_resident": r["pop2001_resident"],
                "pop_1991_resident": r["pop1991_resident"],
                "pop_2021_provisional": p21["pop_total_2021"] if p21 else "",
                "pop_2021_men": p21["pop_men_2021"] if p21 else "",
                "pop_2021_women": p21["pop_women_2021"] if p21 else "",
                "pop_2011_men": p21["pop_men_2011"] if p21 else "",
                "pop_2011_women": p21["pop_women_2011"] if p21 else "",
                "note": r["note"],
            }
        )
    with open(OUT / "ref_geography_hierarchy.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    with open(OUT / "ref_crete_municipalities_2021.csv", "w", encoding="utf-8", newline="") as fh:
        src = list(_rows(ref / "crete_municipalities_census_2021_provisional.csv"))
        w = csv.DictWriter(
            fh, fieldnames=["municipality_code", "name_el", "name_en", *list(src[0])[2:]]
        )
        w.writeheader()
        for r in src:
            name = r.pop("municipality_name")
            code = r.pop("elstat_municipality_code")
            w.writerow({"municipality_code": code, "name_el": name, "name_en": translit(name), **r})

    gj = json.loads(
        (ref / "heraklion_municipality_boundary_wgs84.geojson").read_text(encoding="utf-8")
    )
    geom = gj["features"][0]["geometry"]
    with open(OUT / "ref_municipality_boundary.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["municipality_code", "kallikratis_code", "geometry_geojson"])
        w.writerow(["7101", "9305", json.dumps(geom, separators=(",", ":"))])

    src = list(_rows(ref / "esf_2014_2020_common_output_indicators.csv"))
    with open(
        OUT / "ref_esf_common_output_indicators.csv", "w", encoding="utf-8", newline=""
    ) as fh:
        w = csv.DictWriter(
            fh,
            fieldnames=[
                "code",
                "unit",
                "indicator_en",
                "is_sensitive_data",
                "in_annex_as_amended",
                "notes",
            ],
        )
        w.writeheader()
        for r in src:
            w.writerow(
                {
                    "code": r["code"],
                    "unit": r["unit"],
                    "indicator_en": r["indicator_en"],
                    "is_sensitive_data": str(r["annex_asterisks"] == "*").lower(),
                    "in_annex_as_amended": r["in_annex_as_amended"],
                    "notes": r["notes"],
                }
            )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference"))
