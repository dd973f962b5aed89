"""ingest.text: the Greek normaliser, headers, streets, house numbers, transliteration."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.text import (
    canonical_street_type,
    fold_name,
    normalise_greek,
    normalise_greek_expr,
    normalise_greek_series,
    normalise_header,
    normalise_street,
    split_number,
    split_street_number,
    translit_greek_to_latin,
)

# --- normalise_greek ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("Κνωσού", "ΚΝΩΣΟΥ"),
        ("κνωσός", "ΚΝΩΣΟΣ"),  # final sigma folded
        ("Ευαγγελισμός", "ΕΥΑΓΓΕΛΙΣΜΟΣ"),
        ("Μονογονεϊκή", "ΜΟΝΟΓΟΝΕΙΚΗ"),  # dialytika and tonos
        ("ΐ ΰ Ϊ", "Ι Υ Ι"),
        ("  Άγιος   Ιωάννης (Κνωσός) ", "ΑΓΙΟΣ ΙΩΑΝΝΗΣ ΚΝΩΣΟΣ"),
        ("Α.Μ.Κ.Α.", "Α Μ Κ Α"),
        ("Νοσηλευτής/τρια", "ΝΟΣΗΛΕΥΤΗΣ ΤΡΙΑ"),
        ("Ημ/νία-Ώρα: 10", "ΗΜ ΝΙΑ ΩΡΑ 10"),
        ("Άνδρας\u00a0\t\nΓυναίκα", "ΑΝΔΡΑΣ ΓΥΝΑΙΚΑ"),  # NBSP, tab, newline
        ("\ufeffΤ.Κ.", "Τ Κ"),  # a BOM left on a header
        ("Αξία (€)", "ΑΞΙΑ €"),  # symbols other than separators are kept
        ("«Ναι»", "ΝΑΙ"),
        # Latin look-alikes inside a Greek word become Greek
        ("ΠAΠAΔOΠOYΛOΣ", "ΠΑΠΑΔΟΠΟΥΛΟΣ"),
        ("ΚAΠETANAKΗ", "ΚΑΠΕΤΑΝΑΚΗ"),
        ("Kνωσού", "ΚΝΩΣΟΥ"),  # lower-case Greek with a Latin capital K
        # a token made only of look-alikes is read as Greek
        ("AMKA", "ΑΜΚΑ"),
        ("NAI", "ΝΑΙ"),
        ("123A", "123Α"),
        # a token with a Latin letter that has no Greek twin stays Latin
        ("Papadopoulos", "PAPADOPOULOS"),
        ("Kokkinakis Maria", "KOKKINAKIS MARIA"),
        ("AMKA Ωφελούμενου", "ΑΜΚΑ ΩΦΕΛΟΥΜΕΝΟΥ"),
    ],
)
def test_normalise_greek_examples(raw: str | None, expected: str) -> None:
    assert normalise_greek(raw) == expected


def test_lookalike_output_is_greek_codepoints() -> None:
    out = normalise_greek("ABEZHIKMNOPTXY ΩABEZHIKMNOPTXY")
    assert out == "ΑΒΕΖΗΙΚΜΝΟΡΤΧΥ ΩΑΒΕΖΗΙΚΜΝΟΡΤΧΥ"
    assert all(unicodedata.name(c).startswith("GREEK") for c in out.replace(" ", ""))


_GREEK_LATIN = st.text(
    alphabet=st.sampled_from(
        list("αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΆΈΉΊΌΎΏΪΫ")
        + list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        + list(" .,/-():;'\"\t\u00a0«»€%&")
        + ["\u0301", "\u0308"]
    ),
    max_size=40,
)


@given(_GREEK_LATIN)
@settings(max_examples=400, deadline=None)
def test_normalise_greek_properties(s: str) -> None:
    out = normalise_greek(s)
    assert normalise_greek(out) == out  # idempotent
    assert out == out.strip() and "  " not in out
    assert not any(unicodedata.combining(c) for c in out)
    assert out == out.upper()
    assert not any(c in out for c in ".,/-():;'\"\t\u00a0«»ς")


# Characters whose upper case differs between Python 3.11 (Unicode 14) and polars (a later
# Unicode version): they gained case mappings after Unicode 14. Irrelevant for Greek text.
_UNICODE_VERSION_DIFFERENCES = {"\u019b", "\u0264", "\ua7d3", "\ua7d5", "\U00010791"}
_ANY_ASSIGNED = st.characters(exclude_categories=("Cs", "Cn")).filter(
    lambda c: c not in _UNICODE_VERSION_DIFFERENCES
)


@given(st.lists(st.one_of(_GREEK_LATIN, st.text(alphabet=_ANY_ASSIGNED, max_size=20)), max_size=60))
@settings(max_examples=150, deadline=None)
def test_expr_equals_scalar(values: list[str]) -> None:
    values = [*values, None]
    got = pl.DataFrame({"s": values}, schema={"s": pl.String}).select(
        normalise_greek_expr(pl.col("s"))
    )
    assert got.to_series().to_list() == [normalise_greek(v) for v in values]
    assert normalise_greek_series(pl.Series(values, dtype=pl.String)).to_list() == [
        normalise_greek(v) for v in values
    ]


def test_expr_equals_scalar_on_every_assigned_character() -> None:
    chars = [
        chr(i)
        for i in range(0x30000)
        if unicodedata.category(chr(i)) not in ("Cs", "Cn")
        and chr(i) not in _UNICODE_VERSION_DIFFERENCES
    ]
    # each character alone, and inside a Greek and a Latin word
    values = chars + [f"ΚΑ{c}ΛΟ" for c in chars[::7]] + [f"Ka{c}lo" for c in chars[::11]]
    got = pl.Series(values).to_frame("s").select(normalise_greek_expr(pl.col("s"))).to_series()
    expected = [normalise_greek(v) for v in values]
    mismatches = [
        (v, g, e) for v, g, e in zip(values, got.to_list(), expected, strict=True) if g != e
    ]
    assert mismatches == []


# --- headers -----------------------------------------------------------------------------------


def test_header_spellings_that_must_agree() -> None:
    assert normalise_header("Α.Μ.Κ.Α.") == normalise_header("ΑΜΚΑ") == normalise_header("Αμκα")
    assert normalise_header("AMKA") == "ΑΜΚΑ"  # typed with a Latin keyboard
    assert normalise_header(" Τ. Κ. ") == normalise_header("ΤΚ") == "ΤΚ"
    assert normalise_header("ΗΜΕΡΟΜΗΝΙΑ  ΓΕΝΝΗΣΗΣ") == normalise_header("Ημερομηνία Γέννησης")
    assert normalise_header("Μέλη Νοικοκυριού") == "ΜΕΛΗΝΟΙΚΟΚΥΡΙΟΥ"


def test_header_spellings_that_must_stay_distinct() -> None:
    assert normalise_header("Ημ/νία Γέννησης") == "ΗΜΝΙΑΓΕΝΝΗΣΗΣ"
    assert normalise_header("Ημ/νία Γέννησης") != normalise_header("Ημερομηνία Γέννησης")
    assert normalise_header("Ημ/νία Γέννησης") != normalise_header("Ημερομηνία")
    assert normalise_header("Ανήλικα Μέλη") != normalise_header("Ανήλικα")
    assert normalise_header("ΑΜΚΑ Αιτούντος") != normalise_header("ΑΜΚΑ")


# --- streets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Κνωσού", (None, "ΚΝΩΣΟΥ")),
        ("Λ. Κνωσού", ("Λεωφόρος", "ΚΝΩΣΟΥ")),
        ("Λεωφ. Κνωσού", ("Λεωφόρος", "ΚΝΩΣΟΥ")),
        ("ΛΕΩΦ. ΚΝΩΣΟΥ", ("Λεωφόρος", "ΚΝΩΣΟΥ")),
        ("Λεωφόρος Κνωσού", ("Λεωφόρος", "ΚΝΩΣΟΥ")),
        ("ΚΝΩΣΟΥ ΛΕΩΦ.", ("Λεωφόρος", "ΚΝΩΣΟΥ")),
        ("Κνωσού Λεωφ.", ("Λεωφόρος", "ΚΝΩΣΟΥ")),
        ("Οδ. Ιδομενέως", ("Οδός", "ΙΔΟΜΕΝΕΩΣ")),
        ("Οδός Ιδομενέως", ("Οδός", "ΙΔΟΜΕΝΕΩΣ")),
        ("Πλ. Ελευθερίας", ("Πλατεία", "ΕΛΕΥΘΕΡΙΑΣ")),
        ("Πλατεία Ελευθερίας", ("Πλατεία", "ΕΛΕΥΘΕΡΙΑΣ")),
        ("Ελευθερίας Πλ.", ("Πλατεία", "ΕΛΕΥΘΕΡΙΑΣ")),
        ("25ης Αυγούστου", (None, "25 ΑΥΓΟΥΣΤΟΥ")),
        ("25 Αυγούστου", (None, "25 ΑΥΓΟΥΣΤΟΥ")),
        ("Οδός 25ης Αυγούστου", ("Οδός", "25 ΑΥΓΟΥΣΤΟΥ")),
        ("62 Μαρτύρων", (None, "62 ΜΑΡΤΥΡΩΝ")),
        ("Πάροδος Κνωσού", (None, "ΠΑΡΟΔΟΣ ΚΝΩΣΟΥ")),  # a side street is another street
        ("Οδός", (None, "ΟΔΟΣ")),  # a lone type word is kept as the name
        ("ΛEΩΦ. KNΩΣOY", ("Λεωφόρος", "ΚΝΩΣΟΥ")),  # Latin look-alikes
        (None, (None, "")),
    ],
)
def test_normalise_street(raw: str | None, expected: tuple[str | None, str]) -> None:
    assert normalise_street(raw) == expected


def test_canonical_street_type() -> None:
    assert canonical_street_type("Λεωφόρος") == "Λεωφόρος"
    assert canonical_street_type("ΛΕΩΦ.") == "Λεωφόρος"
    assert canonical_street_type("οδός") == "Οδός"
    assert canonical_street_type("Πάροδος") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Λ. Κνωσού 123", ("Λ. Κνωσού", "123")),
        ("ΚΝΩΣΟΥ ΛΕΩΦ. 123", ("ΚΝΩΣΟΥ ΛΕΩΦ.", "123")),
        ("Κνωσσού 123Α", ("Κνωσσού", "123Α")),
        ("Κνωσού 12 Α", ("Κνωσού", "12 Α")),
        ("Κνωσού, αρ. 12-14", ("Κνωσού", "12-14")),
        ("62 Μαρτύρων", ("62 Μαρτύρων", None)),
        ("62 Μαρτύρων 7", ("62 Μαρτύρων", "7")),
        ("Οδός 1866", ("Οδός 1866", None)),  # a street named after a year
        ("Κνωσού", ("Κνωσού", None)),
        (None, ("", None)),
    ],
)
def test_split_street_number(raw: str | None, expected: tuple[str, str | None]) -> None:
    assert split_street_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123", (123, "")),
        ("123Α", (123, "Α")),
        ("123 Α", (123, "Α")),
        ("123 α", (123, "Α")),
        ("123A", (123, "Α")),  # Latin A -> Greek Α
        ("12-14", (12, "-14")),
        ("12 - 14", (12, "-14")),
        ("123.0", (123, "")),  # a spreadsheet float
        (" 7 ", (7, "")),
        ("αρ. 5", (5, "")),
        ("ΑΝΕΥ", (None, "ΑΝΕΥ")),
        ("", (None, "")),
        (None, (None, "")),
        (42, (42, "")),
    ],
)
def test_split_number(raw: str | int | None, expected: tuple[int | None, str]) -> None:
    assert split_number(raw) == expected


# --- transliteration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("greek", "latin"),
    [
        # values worked out by hand from ELOT 743
        ("Παπαδόπουλος", "PAPADOPOULOS"),
        ("ΕΥΑΓΓΕΛΟΣ", "EVANGELOS"),  # ΕΥ before a vowel -> EV; ΓΓ -> NG
        ("Ευθύμιος", "EFTHYMIOS"),  # ΕΥ before voiceless Θ -> EF
        ("Αύρα", "AVRA"),  # ΑΥ before voiced Ρ -> AV
        ("Μπουτσάκης", "BOUTSAKIS"),  # ΜΠ at the start -> B
        ("Κάμπος", "KAMPOS"),  # ΜΠ inside -> MP
        ("Ταΰγετος", "TAYGETOS"),  # dialytika: no digraph
        ("Ξάνθη", "XANTHI"),
        ("Χανιά", "CHANIA"),
        ("Ψαράς", "PSARAS"),
        ("Αγκαλιά", "AGKALIA"),
        ("Ηράκλειο Κρήτης", "IRAKLEIO KRITIS"),
        ("ΚAΠETANAKΗ", "KAPETANAKI"),  # look-alikes in a Greek word
        ("Kapetanaki", "KAPETANAKI"),  # an all-Latin word stays Latin
        (None, ""),
    ],
)
def test_translit_elot(greek: str | None, latin: str) -> None:
    assert translit_greek_to_latin(greek) == latin


@pytest.mark.parametrize(
    "variants",
    [
        ["Παπαδόπουλος", "ΠΑΠΑΔΟΠΟΥΛΟΣ", "ΠAΠAΔOΠOYΛOΣ", "PAPADOPOULOS", "Papadopoulos"],
        ["Κοκκινάκη", "ΚΟΚΚΙΝΑΚΗ", "KOKKINAKI", "ΚOKKINAKΗ"],
        ["Ευθύμιος", "EVTHYMIOS", "EFTHYMIOS"],  # AV/AF spellings of ΕΥ
        ["Μπουτσάκης", "MPOUTSAKIS", "BOUTSAKIS"],
        ["Χατζηδάκης", "CHATZIDAKIS", "HATZIDAKIS"],
        ["Αγγελική", "ANGELIKI", "AGGELIKI"],
        ["Αικατερίνη", "AIKATERINI"],
        ["Νίκη", "NIKI", "NIKH"],  # H typed for Η
        ["Αθηνά", "ATHINA"],
    ],
)
def test_fold_name_agrees_across_spellings(variants: list[str]) -> None:
    assert len({fold_name(v) for v in variants}) == 1


def test_fold_name_keeps_different_names_apart() -> None:
    names = ["Παπαδόπουλος", "Παπαδοπούλου", "Κοκκινάκης", "Μαρία", "Μαρίνα", "Ελένη", "Γεώργιος"]
    assert len({fold_name(n) for n in names}) == len(names)
    assert fold_name("") == fold_name(None) == ""
