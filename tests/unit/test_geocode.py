"""ingest.geocode: addresses to neighbourhoods on a hand-made gazetteer.

The gazetteer (worked out by hand):

* Λεωφόρος Κνωσού crosses two neighbourhoods: 1-99 in N-A, 100-199 in N-B, both postcode 71409.
* Οδός Αγίου Γεωργίου exists in two villages: 1-50 in Γούρνες (70008, N-V1) and 1-80 in Κοκκίνη
  Χάνι (70009, N-V2).
* 25ης Αυγούστου, Πλατεία Ελευθερίας, Ιδομενέως: N-A, postcode 71202 (only N-A has 71202).
* 62 Μαρτύρων: N-C, postcode 71305 (only N-C).
* Settlement "Ηράκλειο" covers N-A, N-B, N-C; each village names one neighbourhood.
"""

from __future__ import annotations

import polars as pl
import pytest

from ingest.geocode import GEOCODE_SCHEMA, Geocoder
from synthetic.model import GAZETTEER_SCHEMA

GAZETTEER = pl.DataFrame(
    [
        (1, "Κνωσού", "Λεωφόρος", 1, 99, "71409", "Ηράκλειο", "N-A"),
        (2, "Κνωσού", "Λεωφόρος", 100, 199, "71409", "Ηράκλειο", "N-B"),
        (3, "Αγίου Γεωργίου", "Οδός", 1, 50, "70008", "Γούρνες", "N-V1"),
        (4, "Αγίου Γεωργίου", "Οδός", 1, 80, "70009", "Κοκκίνη Χάνι", "N-V2"),
        (5, "25ης Αυγούστου", "Οδός", 1, 60, "71202", "Ηράκλειο", "N-A"),
        (6, "62 Μαρτύρων", "Οδός", 1, 100, "71305", "Ηράκλειο", "N-C"),
        (7, "Ελευθερίας", "Πλατεία", 1, 20, "71202", "Ηράκλειο", "N-A"),
        (8, "Ιδομενέως", "Οδός", 1, 40, "71202", "Ηράκλειο", "N-A"),
    ],
    schema=GAZETTEER_SCHEMA,
    orient="row",
)
AREAS = pl.DataFrame(
    {
        "neighbourhood_id": ["N-A", "N-B", "N-C", "N-V1", "N-V2"],
        "neighbourhood_name_el": ["Κέντρο", "Φορτέτσα", "Μασταμπάς", "Γούρνες", "Κοκκίνη Χάνι"],
    }
)

# (street, number, postcode, area) -> (neighbourhood, method, score)
CASES = [
    # the avenue, written every way; the number decides the neighbourhood
    (("Λ. Κνωσού", "123", "71409", "Ηράκλειο"), ("N-B", "exact", 100.0)),
    (("ΚΝΩΣΟΥ ΛΕΩΦ.", "45", None, None), ("N-A", "exact", 100.0)),
    (("Λεωφόρος Κνωσού", "99", "71409", None), ("N-A", "exact", 100.0)),
    (("Λεωφ. Κνωσού", "100", "71409", None), ("N-B", "exact", 100.0)),
    (("ΚNΩΣOY", "12", None, None), ("N-A", "exact", 100.0)),  # Latin N, O, Y
    (("Λεωφόρος Κνωσού 150", None, None, None), ("N-B", "exact", 100.0)),  # number in street
    (("ΚΝΩΣΟΥ ΛΕΩΦ. 123", "", None, None), ("N-B", "exact", 100.0)),
    # a doubled consonant: WRatio("ΚΝΩΣΣΟΥ", "ΚΝΩΣΟΥ") = 2*6/13 = 92.3
    (("Κνωσσού", "123Α", "71409", None), ("N-B", "fuzzy", 92.3)),
    (("Κνωσσού", "12 Α", None, None), ("N-A", "fuzzy", 92.3)),
    # transliterated: KNOSOU == ELOT(ΚΝΩΣΟΥ)
    (("Knosou", "12", None, None), ("N-A", "fuzzy", 100.0)),
    # the avenue without a number lies in two neighbourhoods; 71409 does not decide either
    (("Κνωσού", None, "71409", None), (None, "unassigned", 0.0)),
    (("Κνωσού", "500", None, None), (None, "unassigned", 0.0)),  # beyond every segment
    # the same street in two villages: the postcode or the area decides
    (("Αγίου Γεωργίου", "10", "70009", None), ("N-V2", "exact", 100.0)),
    (("Αγίου Γεωργίου", "10", "70008", None), ("N-V1", "exact", 100.0)),
    (("Αγίου Γεωργίου", "10", None, "Γούρνες"), ("N-V1", "exact", 100.0)),
    (("ΑΓΙΟΥ ΓΕΩΡΓΙΟΥ", "10", None, "ΚΟΚΚΙΝΗ ΧΑΝΙ"), ("N-V2", "exact", 100.0)),
    (("Αγίου Γεωργίου", "70", None, None), ("N-V2", "exact", 100.0)),  # only V2 reaches 70
    (("Αγίου Γεωργίου", "10", None, None), (None, "unassigned", 0.0)),
    # abbreviated: WRatio("ΑΓ ΓΕΩΡΓΙΟΥ", "ΑΓΙΟΥ ΓΕΩΡΓΙΟΥ") = 2*11/25 = 88.0; number 70 -> V2
    (("Αγ. Γεωργίου", "70", None, None), ("N-V2", "fuzzy", 88.0)),
    # a leading number is part of the name; the ordinal ending does not matter
    (("25 Αυγούστου", "10", "71202", None), ("N-A", "exact", 100.0)),
    (("Οδός 25ης Αυγούστου", "10", None, None), ("N-A", "exact", 100.0)),
    (("Οδός 62 Μαρτύρων", "5", None, None), ("N-C", "exact", 100.0)),
    (("Πλ. Ελευθερίας", None, None, None), ("N-A", "exact", 100.0)),
    # a wrong postcode costs 10 points; a spreadsheet float number and a spaced postcode parse
    (("Ιδομενέως", "5", "71409", None), ("N-A", "exact", 90.0)),
    (("Ιδομενέως", "12.0", "712 02", None), ("N-A", "exact", 100.0)),
    (("Ιδομενέως", "41", "71202", None), ("N-A", "exact", 90.0)),  # number beyond the street
    # unknown streets fall back to the postcode, then the area
    (("Ανύπαρκτη", "5", "71202", None), ("N-A", "postcode", 70.0)),
    (("Ανύπαρκτη", "5", "71305", "Ηράκλειο"), ("N-C", "postcode", 70.0)),
    (("Ανύπαρκτη", "5", None, "Κοκκίνη Χάνι"), ("N-V2", "area", 60.0)),
    (("Ανύπαρκτη", "5", "71409", None), (None, "unassigned", 0.0)),
    (("Ανύπαρκτη", "5", None, "Ηράκλειο"), (None, "unassigned", 0.0)),
    ((None, None, "70008", None), ("N-V1", "postcode", 70.0)),
    (("", None, None, None), (None, "unassigned", 0.0)),
    ((None, None, None, None), (None, "unassigned", 0.0)),
]


@pytest.fixture(scope="module")
def geocoder() -> Geocoder:
    return Geocoder(GAZETTEER)


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={c: pl.String for c in ("street", "street_number", "postcode", "area")},
        orient="row",
    )


@pytest.mark.parametrize(("address", "expected"), CASES)
def test_locate(geocoder: Geocoder, address: tuple, expected: tuple) -> None:
    assert geocoder.locate(*address) == expected


def test_locate_frame_keeps_rows_and_order(geocoder: Geocoder) -> None:
    rows = [a for a, _ in CASES]
    # shuffled with duplicates, as in an export
    order = [(i * 7) % len(rows) for i in range(3 * len(rows))]
    df = _frame([rows[i] for i in order])
    out = geocoder.locate_frame(df)
    assert out.schema == pl.Schema(GEOCODE_SCHEMA)
    assert out.height == df.height
    assert out.rows() == [CASES[i][1] for i in order]


def test_locate_frame_many_rows(geocoder: Geocoder) -> None:
    rows = [a for a, _ in CASES] * 5000  # 170,000 rows, 34 distinct addresses
    out = geocoder.locate_frame(_frame(rows))
    assert out.rows() == [e for _, e in CASES] * 5000


def test_missing_columns_count_as_empty(geocoder: Geocoder) -> None:
    out = geocoder.locate_frame(pl.DataFrame({"street": ["Ιδομενέως", "Ανύπαρκτη"]}))
    assert out.rows() == [("N-A", "exact", 100.0), (None, "unassigned", 0.0)]


def test_neighbourhood_names_from_areas() -> None:
    g = Geocoder(GAZETTEER, AREAS)
    # "Φορτέτσα" is not a settlement in the gazetteer, but it names N-B in the areas table
    assert Geocoder(GAZETTEER).locate("Ανύπαρκτη", "5", "71409", "Φορτέτσα") == (
        None,
        "unassigned",
        0.0,
    )
    assert g.locate("Ανύπαρκτη", "5", "71409", "Φορτέτσα") == ("N-B", "area", 60.0)
    assert g.locate("Ανύπαρκτη", "5", None, "ΜΑΣΤΑΜΠΑΣ") == ("N-C", "area", 60.0)


def test_fuzzy_threshold() -> None:
    strict = Geocoder(GAZETTEER, fuzzy_threshold=95)
    assert strict.locate("Κνωσσού", "123", None, None) == (None, "unassigned", 0.0)
    assert strict.locate("Κνωσσού", "123", "71202", None) == ("N-A", "postcode", 70.0)


def test_fuzzy_prefers_the_postcodes_streets() -> None:
    gaz = pl.DataFrame(
        [
            (1, "Καζαντζάκη", "Οδός", 1, 50, "71201", "Ηράκλειο", "N-1"),
            (2, "Καζαντζάκης", "Οδός", 1, 50, "71202", "Ηράκλειο", "N-2"),
        ],
        schema=GAZETTEER_SCHEMA,
        orient="row",
    )
    g = Geocoder(gaz)
    # "ΚΑΖΑΝΤΖΑΚΗΙ" (11 letters) against "ΚΑΖΑΝΤΖΑΚΗ" (10): 2*10/21 = 95.2; against
    # "ΚΑΖΑΝΤΖΑΚΗΣ" (11): 2*10/22 = 90.9. The postcode's street wins over the better score.
    assert g.locate("Καζαντζάκηι", "3", "71202", None) == ("N-2", "fuzzy", 90.9)
    assert g.locate("Καζαντζάκηι", "3", "71201", None) == ("N-1", "fuzzy", 95.2)
    assert g.locate("Καζαντζάκηι", "3", None, None) == ("N-1", "fuzzy", 95.2)
