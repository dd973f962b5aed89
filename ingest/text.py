"""The one Greek text normaliser of Geitonia, and the helpers built on it.

Everything that compares Greek text (headers, coded values, names, streets) goes through
`normalise_greek`, so that the same rules apply everywhere. `normalise_greek_expr` is the same
function as a polars expression for large columns; a property test checks that the two agree.

`normalise_greek(s)`, step by step:

1. Unicode NFKD (compatibility forms such as `ﬁ`, `µ`, non-breaking spaces are unfolded), then
   combining marks are dropped (accents, dialytika, ypogegrammeni; the ranges in `_MARKS`) and
   invisible format characters (soft hyphen, zero-width space, BOM) are removed.
2. Upper case (Python `str.upper`, the full Unicode mapping); this also folds final sigma
   `ς` to `Σ`.
3. Whitespace, control characters and the punctuation in `_SEPARATORS` (`. , / \\ - ( ) [ ] { }
   : ; ! ? _ |` quotes, dashes, guillemets) become a single space; the result is stripped.
   Other symbols (`€ % # & +` ...) are kept.
4. Latin look-alike letters (`A B E Z H I K M N O P T X Y`) become the Greek letters they look
   like, token by token (a token is a run between spaces). The rule:

   * a token that contains a Greek letter is Greek: its look-alikes are converted
     (`ΠAΠAΔOΠOYΛOΣ` -> `ΠΑΠΑΔΟΠΟΥΛΟΣ`);
   * a token made only of look-alikes, digits and symbols is *ambiguous* and is read as Greek
     (`AMKA` -> `ΑΜΚΑ`, `NAI` -> `ΝΑΙ`, `12A` -> `12Α`): the fields we normalise are Greek;
   * a token with any other Latin letter (`C D F G J L Q R S U V W`, or a Latin letter beyond
     ASCII) is Latin and stays as it is, so a transliterated name such as `PAPADOPOULOS`
     keeps its Latin letters.

   The ambiguous rule misreads a transliterated word made only of look-alikes
   (`KAPETANAKI` -> `ΚΑΡΕΤΑΝΑΚΙ`, P read as Ρ). Name matching therefore does not use it:
   `translit_greek_to_latin` and `fold_name` read such tokens as Latin (see there).

Character classes are written out (not `\\p{..}`) so that Python's `re` and polars' Rust regex
see the same sets; `str.upper` and polars' `to_uppercase` agree for every character assigned in
Python's Unicode database (checked by the property test).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import polars as pl

__all__ = [
    "normalise_greek",
    "normalise_greek_expr",
    "normalise_greek_series",
    "normalise_header",
    "normalise_header_expr",
    "normalise_street",
    "canonical_street_type",
    "split_street_number",
    "split_number",
    "translit_greek_to_latin",
    "fold_name",
    "STREET_TYPES",
]

# --- character classes (shared by the Python and the polars implementation) -----------------

# combining diacritical marks (and their supplements); after NFKD every accent is one of these
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# invisible format characters: soft hyphen, zero-width (non-)joiners, direction marks, BOM
_INVISIBLE = "\u00ad\u200b-\u200f\u2060-\u2064\ufeff"
# whitespace (all of Python's str.isspace) and control characters
_SPACES = "\x00-\x20\x7f-\x9f\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# punctuation that separates words: . , / \ - ( ) [ ] { } : ; ! ? _ | " ' ` ´ · and their
# typographic cousins (dashes, curly quotes, guillemets, modifier apostrophe)
_SEPARATORS = (
    ".,/\\\\\\-()\\[\\]{}:;!?_|\"'`\u00b4\u00b7\u02bc\u2010-\u2015\u2018-\u201f\u00ab\u00bb"
    "\u2039\u203a\u2026"
)
_GREEK = "\u0370-\u03ff\u1f00-\u1fff"
_LOOKALIKE_LATIN = "ABEZHIKMNOPTXY"
_LOOKALIKE_GREEK = "ΑΒΕΖΗΙΚΜΝΟΡΤΧΥ"
# Latin letters that have no Greek look-alike: a token with one of these is Latin
_OTHER_LATIN = "CDFGJLQRSUVW\u00c0-\u024f"

_RE_STRIP = re.compile(f"[{_MARKS}{_INVISIBLE}]+")
_RE_SPACE = re.compile(f"[{_SPACES}{_SEPARATORS}]+")
_RE_GREEK = re.compile(f"[{_GREEK}]")
_RE_OTHER_LATIN = re.compile(f"[{_OTHER_LATIN}]")
_LOOKALIKE_TABLE = str.maketrans(_LOOKALIKE_LATIN, _LOOKALIKE_GREEK)

LookalikePolicy = Literal["ambiguous", "mixed"]


def _base(s: str) -> str:
    """Steps 1-3: NFKD, marks dropped, upper case, separators to single spaces, stripped."""
    t = _RE_STRIP.sub("", unicodedata.normalize("NFKD", s))
    t = _RE_STRIP.sub("", t.upper())
    return _RE_SPACE.sub(" ", t).strip(" ")


def _convert_token(tok: str, policy: LookalikePolicy) -> bool:
    if _RE_GREEK.search(tok):
        return True
    return policy == "ambiguous" and not _RE_OTHER_LATIN.search(tok)


def _lookalikes(t: str, policy: LookalikePolicy = "ambiguous") -> str:
    return " ".join(
        tok.translate(_LOOKALIKE_TABLE) if _convert_token(tok, policy) else tok
        for tok in t.split(" ")
    )


def normalise_greek(s: str | None) -> str:
    """Normalise Greek free text for comparison (see the module docstring for the rules).

    >>> normalise_greek("  Άγιος   Ιωάννης (Κνωσός) ")
    'ΑΓΙΟΣ ΙΩΑΝΝΗΣ ΚΝΩΣΟΣ'
    >>> normalise_greek("ΠAΠAΔOΠOYΛOΣ"), normalise_greek("Papadopoulos")
    ('ΠΑΠΑΔΟΠΟΥΛΟΣ', 'PAPADOPOULOS')
    """
    if s is None:
        return ""
    return _lookalikes(_base(str(s)))


def normalise_greek_expr(col: pl.Expr) -> pl.Expr:
    """`normalise_greek` as a polars expression (null -> ""), for large String columns."""
    other = f"[{_OTHER_LATIN}]"
    greek = f"[{_GREEK}]"
    base = (
        col.cast(pl.String)
        .fill_null("")
        .str.normalize("NFKD")
        .str.replace_all(f"[{_MARKS}{_INVISIBLE}]+", "")
        .str.to_uppercase()
        .str.replace_all(f"[{_MARKS}{_INVISIBLE}]+", "")
        .str.replace_all(f"[{_SPACES}{_SEPARATORS}]+", " ")
        .str.strip_chars(" ")
    )
    el = pl.element()
    convert = el.str.contains(greek) | ~el.str.contains(other)
    return (
        base.str.split(" ")
        .list.eval(
            pl.when(convert)
            .then(el.str.replace_many(list(_LOOKALIKE_LATIN), list(_LOOKALIKE_GREEK)))
            .otherwise(el)
        )
        .list.join(" ")
    )


def normalise_greek_series(s: pl.Series) -> pl.Series:
    """`normalise_greek` over a Series, computed once per distinct value (names and streets
    repeat a lot, so this is several times faster than the expression on the full column)."""
    s = s.cast(pl.String)
    uniq = s.unique()
    norm = pl.select(normalise_greek_expr(pl.lit(uniq))).to_series()
    out = s.replace_strict(uniq, norm, default="", return_dtype=pl.String)
    return out.fill_null("").rename(s.name)


def normalise_header(s: str | None) -> str:
    """Header key: `normalise_greek` with all spaces removed.

    Dots, spaces and case therefore do not matter ("Α.Μ.Κ.Α." == "ΑΜΚΑ" == "Αμκα" ==
    "AMKA"), but words do ("Ημ/νία Γέννησης" -> "ΗΜΝΙΑΓΕΝΝΗΣΗΣ" stays distinct from
    "Ημερομηνία Γέννησης" -> "ΗΜΕΡΟΜΗΝΙΑΓΕΝΝΗΣΗΣ"): a contract lists each spelling it accepts.
    """
    return normalise_greek(s).replace(" ", "")


def normalise_header_expr(col: pl.Expr) -> pl.Expr:
    """`normalise_header` as a polars expression."""
    return normalise_greek_expr(col).str.replace_all(" ", "", literal=True)


# --- streets --------------------------------------------------------------------------------

#: canonical street type -> the normalised words and abbreviations that name it
STREET_TYPES: dict[str, tuple[str, ...]] = {
    "Λεωφόρος": ("Λ", "ΛΕΩ", "ΛΕΩΦ", "ΛΕΩΦΟΡΟΣ", "ΛΕΩΦΟΡΟΥ"),
    "Οδός": ("ΟΔ", "ΟΔΟΣ", "ΟΔΟΥ"),
    "Πλατεία": ("ΠΛ", "ΠΛΑΤ", "ΠΛΑΤΕΙΑ", "ΠΛΑΤΕΙΑΣ"),
}
_TYPE_OF_WORD = {w: t for t, words in STREET_TYPES.items() for w in words}
# an ordinal written after a leading number: "25ης", "62ου" -> "25", "62"
_RE_ORDINAL = re.compile(r"^(\d+)(?:ΗΣ|ΗΝ|Η|ΟΥ|ΟΣ|ΟΝ|Ο|ΩΝ|ΑΣ)$")


def canonical_street_type(s: str | None) -> str | None:
    """The canonical street type a word or abbreviation names ("ΛΕΩΦ." -> "Λεωφόρος"), or None."""
    return _TYPE_OF_WORD.get(normalise_greek(s).replace(" ", ""))


def normalise_street(s: str | None) -> tuple[str | None, str]:
    """Split a street into (canonical street type or None, normalised core name).

    The type word may come first or last, spelled out or abbreviated ("Λ.", "Λεωφ.", "ΛΕΩΦ.",
    "Λεωφόρος", "Οδ.", "Οδός", "Πλ.", "Πλατεία"); it is removed only when a name remains.
    Leading numbers are part of the name ("62 Μαρτύρων"); an ordinal ending on a leading number
    is dropped ("25ης Αυγούστου" and "25 Αυγούστου" both -> "25 ΑΥΓΟΥΣΤΟΥ"). "Πάροδος" is kept
    in the name (a side street is a different street). A trailing house number is not removed
    here: see `split_street_number`.

    >>> normalise_street("ΚΝΩΣΟΥ ΛΕΩΦ."), normalise_street("Λ. Κνωσού")
    (('Λεωφόρος', 'ΚΝΩΣΟΥ'), ('Λεωφόρος', 'ΚΝΩΣΟΥ'))
    """
    toks = normalise_greek(s).split()
    street_type: str | None = None
    if len(toks) > 1 and toks[0] in _TYPE_OF_WORD:
        street_type = _TYPE_OF_WORD[toks.pop(0)]
    elif len(toks) > 1 and toks[-1] in _TYPE_OF_WORD:
        street_type = _TYPE_OF_WORD[toks.pop()]
    if toks:
        m = _RE_ORDINAL.match(toks[0])
        if m:
            toks[0] = m.group(1)
    return street_type, " ".join(toks)


_RE_TRAILING_NUMBER = re.compile(
    r"^(?P<street>.*?[^\W\d_].*?)[\s,]+(?:(?:αρ|αριθ|αριθμ|αριθμος|no|nr)\.?\s*)?"
    r"(?P<number>\d+(?:[.,]0+)?\s*[^\W\d_]?(?:\s*[-/]\s*\d+\s*[^\W\d_]?)?)\s*$",
    re.IGNORECASE,
)


def split_street_number(s: str | None) -> tuple[str, str | None]:
    """Split a trailing house number off a street: "Λ. Κνωσού 123Α" -> ("Λ. Κνωσού", "123Α").

    A number is only split off the end, after a space or comma, and only when the street part
    has a letter other than a lone type word; leading numbers stay ("62 Μαρτύρων" ->
    ("62 Μαρτύρων", None)) and so does a street named by a number ("Οδός 1866").
    """
    if s is None:
        return "", None
    text = str(s).strip()
    m = _RE_TRAILING_NUMBER.match(text)
    # "Οδός 1866" is a street named after a year, not "Οδός" number 1866
    if not m or normalise_greek(m.group("street")) in _TYPE_OF_WORD:
        return text, None
    return m.group("street").strip(" ,"), m.group("number")


_RE_NUMBER = re.compile(
    r"(\d+)(?:[.,]0+)?\s*(?:[-/]\s*(\d+))?\s*([^\W\d_]{0,3})", re.IGNORECASE | re.UNICODE
)


def split_number(s: str | int | None) -> tuple[int | None, str]:
    """Split a house number into (number, suffix).

    "123" -> (123, ""), "123Α" and "123 α" -> (123, "Α") (a Latin look-alike suffix becomes
    Greek), "12-14" -> (12, "-14"), "123.0" (a spreadsheet float) -> (123, ""). Text with a
    number somewhere ("αρ. 5") gives that number and an empty suffix; text without digits gives
    (None, normalised text); None or blank gives (None, "").
    """
    if s is None:
        return None, ""
    if isinstance(s, int):
        return s, ""
    t = unicodedata.normalize("NFKD", str(s))
    t = _RE_STRIP.sub("", t).strip()
    if not t:
        return None, ""
    m = _RE_NUMBER.fullmatch(t)
    if m:
        suffix = normalise_greek(m.group(3)).replace(" ", "")
        if m.group(2):
            suffix = f"-{int(m.group(2))}{suffix}"
        return int(m.group(1)), suffix
    m2 = re.search(r"\d+", t)
    if m2:
        return int(m2.group(0)), ""
    return None, normalise_greek(t)


# --- transliteration (ELOT 743) --------------------------------------------------------------

_ELOT_SINGLE = {
    "Α": "A",
    "Β": "V",
    "Γ": "G",
    "Δ": "D",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "I",
    "Θ": "TH",
    "Ι": "I",
    "Κ": "K",
    "Λ": "L",
    "Μ": "M",
    "Ν": "N",
    "Ξ": "X",
    "Ο": "O",
    "Π": "P",
    "Ρ": "R",
    "Σ": "S",
    "Τ": "T",
    "Υ": "Y",
    "Φ": "F",
    "Χ": "CH",
    "Ψ": "PS",
    "Ω": "O",
    "\u03aa": "I",  # Ϊ: with dialytika, never part of a digraph
    "\u03ab": "Y",  # Ϋ
}
_VOICED_OR_VOWEL = set("ΑΕΗΙΟΥΩΒΓΔΖΛΜΝΡ\u03aa\u03ab")
_GREEK_LETTER = set(_ELOT_SINGLE)
_RE_ELOT = re.compile("ΑΥ|ΕΥ|ΗΥ|ΟΥ|ΜΠ|ΓΓ|ΓΚ|ΓΞ|ΓΧ|.", re.DOTALL)
_DIGRAPHS = {"ΟΥ": "OU", "ΓΓ": "NG", "ΓΚ": "GK", "ΓΞ": "NX", "ΓΧ": "NCH"}


def _elot_token(tok: str) -> str:
    out: list[str] = []
    for m in _RE_ELOT.finditer(tok):
        g = m.group(0)
        if len(g) == 1:
            out.append(_ELOT_SINGLE.get(g, g))
        elif g in _DIGRAPHS:
            out.append(_DIGRAPHS[g])
        elif g == "ΜΠ":
            start = m.start() == 0 or tok[m.start() - 1] not in _GREEK_LETTER
            end = m.end() == len(tok) or tok[m.end()] not in _GREEK_LETTER
            out.append("B" if start or end else "MP")
        else:  # ΑΥ, ΕΥ, ΗΥ: V before a vowel or voiced consonant, F otherwise
            nxt = tok[m.end()] if m.end() < len(tok) else ""
            out.append(_ELOT_SINGLE[g[0]] + ("V" if nxt in _VOICED_OR_VOWEL else "F"))
    return "".join(out)


def translit_greek_to_latin(s: str | None) -> str:
    """Transliterate Greek to upper-case Latin after ELOT 743 (the Greek passport standard).

    The text is normalised first, except that a token made only of Latin letters stays Latin
    (it is taken to be a transliteration already): "ΚΑΠΕΤΑΝΑΚΗ", "Καπετανάκη", "ΚAΠETANAKΗ"
    and "Kapetanaki" all give "KAPETANAKI". Digraphs: ΑΥ/ΕΥ/ΗΥ -> AV/EV/IV before a vowel or
    voiced consonant, AF/EF/IF otherwise; ΟΥ -> OU; ΜΠ -> B at the start or end of a word, MP
    inside; ΓΓ -> NG, ΓΚ -> GK, ΓΞ -> NX, ΓΧ -> NCH; a dialytika breaks a digraph (Ταΰγετος ->
    TAYGETOS). Θ -> TH, Χ -> CH, Ψ -> PS, Ξ -> X, Η -> I, Υ -> Y, Β -> V, Ω -> O.
    """
    if s is None:
        return ""
    t = unicodedata.normalize("NFKD", str(s)).upper()
    # keep the dialytika of Ι/Υ as the precomposed letters, drop every other mark
    t = t.replace("Ι\u0308", "\u03aa").replace("Υ\u0308", "\u03ab")
    t = _RE_STRIP.sub("", t)
    t = _RE_SPACE.sub(" ", t).strip(" ")
    t = _lookalikes(t, "mixed")
    return " ".join(_elot_token(tok) for tok in t.split(" ") if tok)


# --- name skeleton -----------------------------------------------------------------------------

_FOLD_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<=.)(?<![TCP])H"), "I"),  # a Latin H typed for Η (ΝΙΚΗ as "NIKH")
    (re.compile(r"CH|KH"), "H"),  # χ: CH (ELOT), KH, H
    (re.compile(r"PH"), "F"),
    (re.compile(r"([AEI])F"), r"\1V"),  # ΑΥ/ΕΥ: AF/EF before a voiceless consonant, often AV/EV
    (re.compile(r"KS"), "X"),
    (re.compile(r"MB|MP"), "B"),
    (re.compile(r"ND|NT"), "D"),
    (re.compile(r"GK|GG|NG"), "G"),
    (re.compile(r"OU"), "U"),
    (re.compile(r"EI|OI|Y"), "I"),
    (re.compile(r"AI"), "E"),
    (re.compile(r"W"), "O"),
    (re.compile(r"([A-Z])\1+"), r"\1"),
]


def fold_name(s: str | None) -> str:
    """A transliteration-insensitive skeleton of a name, for matching (not for display).

    `translit_greek_to_latin`, then per word, in order: an H that is not the first letter and
    not after T, C or P -> I (a Latin H typed for Η); CH/KH -> H; PH -> F; AF/EF/IF -> AV/EV/IV;
    KS -> X; MB/MP -> B;
    ND/NT -> D; GK/GG/NG -> G; OU -> U; EI/OI/Y -> I; AI -> E; W -> O; doubled letters single;
    everything but A-Z dropped and the words joined without spaces.

    So "ΠΑΠΑΔΟΠΟΥΛΟΣ", "Παπαδόπουλος", "ΠAΠAΔOΠOYΛOΣ" and "PAPADOPOULOS" all give
    "PAPADOPULOS". Deliberately lossy (a weak key, always used with the birth date). Known gap: a
    Greek word typed entirely in Latin look-alikes that contains Ρ, Χ, Β or Υ ("MAPIA" for
    ΜΑΡΙΑ) is read as Latin and does not meet its Greek spelling.
    """
    out = []
    for word in translit_greek_to_latin(s).split(" "):
        w = re.sub(r"[^A-Z]", "", word)
        for pat, rep in _FOLD_RULES:
            w = pat.sub(rep, w)
        out.append(w)
    return "".join(out)
