"""ingest.pseudonymise: the key, and keyed pseudonyms."""

from __future__ import annotations

import base64
import hmac
import logging
import os
import re
import stat
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pseudonymise import (
    ENV_KEY,
    Pseudonymiser,
    PseudonymKeyError,
    create_key,
    decode_key,
    ensure_key,
    key_path,
    load_key,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
AMKA = "01013099997"  # a published test number, not a person's


def reference(key: bytes, prefix: str, message: bytes) -> str:
    """The pseudonym as documented, computed with the standard library's hmac."""
    return prefix + hmac.new(key, message, "sha256").hexdigest()[:32]


# --- key -------------------------------------------------------------------------------------


def test_decode_key_hex_and_base64() -> None:
    assert decode_key(KEY.hex()) == KEY
    assert decode_key(KEY.hex().upper()) == KEY
    assert decode_key("hex:" + KEY.hex()) == KEY
    assert decode_key(base64.b64encode(KEY).decode()) == KEY
    assert decode_key(base64.urlsafe_b64encode(KEY).decode().rstrip("=")) == KEY
    assert decode_key("base64:" + base64.b64encode(KEY).decode()) == KEY
    assert decode_key(f"  {KEY.hex()}\n") == KEY


@pytest.mark.parametrize("text", [KEY[:31].hex(), base64.b64encode(KEY[:16]).decode(), "", "zz!"])
def test_decode_key_rejects_short_or_malformed(text: str) -> None:
    with pytest.raises(PseudonymKeyError):
        decode_key(text)


def test_env_key_has_priority(tmp_path: Path) -> None:
    create_key(tmp_path / "secrets" / "pseudonym.key")
    env = {ENV_KEY: KEY.hex(), "GEITONIA_HOME": str(tmp_path)}
    assert load_key(None, environ=env) == KEY


def test_bad_env_key_error_names_the_variable_not_the_value() -> None:
    secret = "ab" * 20  # 20 bytes: too short
    with pytest.raises(PseudonymKeyError) as exc:
        load_key(None, environ={ENV_KEY: secret})
    assert ENV_KEY in str(exc.value)
    assert secret not in str(exc.value)


def test_key_path_resolution(tmp_path: Path) -> None:
    assert key_path(None, {"GEITONIA_HOME": str(tmp_path)}) == tmp_path / "secrets/pseudonym.key"
    assert key_path(None, {}) == Path("var/secrets/pseudonym.key")
    assert key_path(tmp_path) == tmp_path / "secrets/pseudonym.key"  # a GEITONIA_HOME directory
    assert key_path(tmp_path / "k.key") == tmp_path / "k.key"  # a key file
    assert key_path({"home": tmp_path}) == tmp_path / "secrets/pseudonym.key"
    assert key_path({"secrets": tmp_path / "s"}) == tmp_path / "s/pseudonym.key"
    assert key_path({"pseudonym_key": tmp_path / "x"}) == tmp_path / "x"

    class Paths:
        home = tmp_path

    assert key_path(Paths()) == tmp_path / "secrets/pseudonym.key"


def test_create_key_file(tmp_path: Path) -> None:
    path = create_key(tmp_path / "secrets" / "pseudonym.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}\n", text)
    assert load_key(tmp_path, environ={}) == bytes.fromhex(text)
    assert sorted(p.name for p in path.parent.iterdir()) == ["pseudonym.key"]  # no temp file left
    with pytest.raises(FileExistsError):
        create_key(path)
    assert path.read_text() == text  # not clobbered
    create_key(path, overwrite=True)
    assert path.read_text() != text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_new_keys_differ(tmp_path: Path) -> None:
    a = create_key(tmp_path / "a.key").read_text()
    b = create_key(tmp_path / "b.key").read_text()
    assert a != b


@pytest.mark.skipif(os.name != "posix", reason="file modes")
@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = create_key(tmp_path / "secrets" / "pseudonym.key")
    path.chmod(mode)
    with pytest.raises(PseudonymKeyError, match="chmod 600"):
        load_key(tmp_path, environ={})


def test_missing_key_file_explains_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match=ENV_KEY):
        load_key(tmp_path, environ={})


def test_raw_binary_and_base64_key_files(tmp_path: Path) -> None:
    raw = tmp_path / "raw.key"
    raw.write_bytes(b"\xff" * 40)
    raw.chmod(0o600)
    assert load_key(raw, environ={}) == b"\xff" * 40
    b64 = tmp_path / "b64.key"
    b64.write_text(base64.b64encode(KEY).decode() + "\n")
    b64.chmod(0o600)
    assert load_key(b64, environ={}) == KEY


def test_ensure_key_creates_once(tmp_path: Path) -> None:
    env = {"GEITONIA_HOME": str(tmp_path)}
    path = ensure_key(None, env)
    assert path == tmp_path / "secrets" / "pseudonym.key"
    first = path.read_text()
    assert ensure_key(None, env) == path
    assert path.read_text() == first
    assert ensure_key(None, {**env, ENV_KEY: KEY.hex()}) is None  # the env key is used instead


# --- pseudonyms ------------------------------------------------------------------------------


def test_amka_pseudonym_is_the_documented_hmac() -> None:
    p = Pseudonymiser(KEY)
    got = p.person_key_from_amka(AMKA)
    assert re.fullmatch(r"A[0-9a-f]{32}", got)
    assert got == reference(KEY, "A", b"amka:" + AMKA.encode())
    assert AMKA not in got
    assert p.person_key_from_amka(AMKA) == got  # deterministic
    assert Pseudonymiser(OTHER_KEY).person_key_from_amka(AMKA) != got
    assert p.person_key_from_amka("21068302674") != got


def test_long_key_is_hashed_as_in_hmac() -> None:
    long_key = bytes(range(100))
    got = Pseudonymiser(long_key).person_key_from_amka(AMKA)
    assert got == reference(long_key, "A", b"amka:" + AMKA.encode())


@given(
    st.binary(min_size=32, max_size=80), st.text(alphabet="0123456789", min_size=11, max_size=11)
)
@settings(max_examples=200, deadline=None)
def test_amka_pseudonym_matches_hmac_for_any_key(key: bytes, amka: str) -> None:
    assert Pseudonymiser(key).person_key_from_amka(amka) == reference(
        key, "A", b"amka:" + amka.encode()
    )


def test_short_key_refused() -> None:
    with pytest.raises(PseudonymKeyError):
        Pseudonymiser(KEY[:31])


@pytest.mark.parametrize("bad", ["1013099997", "0101309999A", " 01013099997", 1013099997])
def test_amka_pseudonym_needs_canonical_input_and_does_not_echo_it(bad: object) -> None:
    with pytest.raises(ValueError) as exc:
        Pseudonymiser(KEY).person_key_from_amka(bad)  # type: ignore[arg-type]
    assert str(bad).strip() not in str(exc.value)


def test_repr_hides_the_key() -> None:
    r = repr(Pseudonymiser(KEY))
    assert KEY.hex() not in r and "hidden" in r


def test_name_key_agrees_across_spellings() -> None:
    p = Pseudonymiser(KEY)
    bd = date(1950, 3, 1)
    variants = [
        ("Παπαδόπουλος", "Γεώργιος"),
        ("ΠΑΠΑΔΟΠΟΥΛΟΣ", "ΓΕΩΡΓΙΟΣ"),
        ("ΠAΠAΔOΠOYΛOΣ", "ΓEΩPΓIOΣ"),  # Latin look-alikes
        ("PAPADOPOULOS", "GEORGIOS"),  # transliterated
        (" papadopoulos ", "Georgios"),
    ]
    keys = {p.person_key_from_name(s, f, bd) for s, f in variants}
    assert len(keys) == 1
    (key,) = keys
    assert re.fullmatch(r"N[0-9a-f]{32}", key)
    assert p.person_key_from_name("Παπαδόπουλος", "Γεώργιος", "1950-03-01") == key
    assert p.person_key_from_name("Παπαδόπουλος", "Γεώργιος", datetime(1950, 3, 1, 12)) == key
    # the weak key is not the strong one, and each field matters
    assert p.person_key_from_name("Παπαδόπουλος", "Γεώργιος", date(1950, 3, 2)) != key
    assert p.person_key_from_name("Παπαδοπούλου", "Γεώργιος", bd) != key
    assert p.person_key_from_name("Γεώργιος", "Παπαδόπουλος", bd) != key
    assert Pseudonymiser(OTHER_KEY).person_key_from_name("Παπαδόπουλος", "Γεώργιος", bd) != key
    assert "PAPADOP" not in key


@pytest.mark.parametrize(
    ("s", "f", "d"),
    [(None, "Μαρία", date(1960, 1, 1)), ("Κοκκινάκη", "", date(1960, 1, 1)), ("Κ", "Μ", None)],
)
def test_name_key_needs_all_three(s: str | None, f: str | None, d: date | None) -> None:
    assert Pseudonymiser(KEY).person_key_from_name(s, f, d) is None


def test_household_and_record_keys() -> None:
    p = Pseudonymiser(KEY)
    h = p.household_key("9101/social_grocery", "ΚΠ-0012")
    assert re.fullmatch(r"H[0-9a-f]{32}", h)
    assert p.household_key("9101/social_grocery", "κπ 0012") == h  # normalised
    assert p.household_key("9102/social_grocery", "ΚΠ-0012") != h  # scope matters
    r = p.record_key("9101/social_grocery", "ΚΠ-0012")
    assert re.fullmatch(r"R[0-9a-f]{32}", r)
    assert r[1:] != h[1:]  # domains are separated, not just the prefix
    # the field boundary matters: ("AB", "C") is not ("A", "BC")
    assert p.record_key("s", "ΑΒ", "Γ") != p.record_key("s", "Α", "ΒΓ")
    assert p.household_key("s", None, "") is None
    with pytest.raises(ValueError):
        p.record_key("bad\x1fscope", "1")


# --- vectorised ------------------------------------------------------------------------------


def test_vectorised_equal_scalar() -> None:
    p = Pseudonymiser(KEY)
    amka = pl.Series("amka", [AMKA, None, "21068302674", AMKA])
    assert p.person_keys_from_amka(amka).to_list() == [
        None if a is None else p.person_key_from_amka(a) for a in amka.to_list()
    ]
    sur = ["Παπαδόπουλος", "PAPADOPOULOS", None, "Κοκκινάκη", "Κοκκινάκη"]
    first = ["Γεώργιος", "GEORGIOS", "Μαρία", "Μαρία", "Μαρία"]
    bd = [date(1950, 3, 1), date(1950, 3, 1), date(1960, 1, 1), None, date(1961, 1, 1)]
    got = p.person_keys_from_name(pl.Series(sur), pl.Series(first), pl.Series(bd))
    expected = [p.person_key_from_name(s, f, d) for s, f, d in zip(sur, first, bd, strict=True)]
    assert got.to_list() == expected
    assert got[0] == got[1] and got[2] is None and got[3] is None
    # birth dates as ISO strings give the same keys
    iso = pl.Series([None if d is None else d.isoformat() for d in bd])
    assert p.person_keys_from_name(pl.Series(sur), pl.Series(first), iso).to_list() == expected
    codes = pl.Series(["ΚΠ-1", "κπ 1", None, "ΚΠ-2"])
    assert p.household_keys("sg", codes).to_list() == [
        p.household_key("sg", c) for c in codes.to_list()
    ]
    assert p.record_keys("cc", codes, pl.Series(["a", "a", "b", None])).to_list() == [
        p.record_key("cc", c, x)
        for c, x in zip(codes.to_list(), ["a", "a", "b", None], strict=True)
    ]


def test_vectorised_amka_rejects_non_canonical() -> None:
    with pytest.raises(ValueError):
        Pseudonymiser(KEY).person_keys_from_amka(pl.Series(["1013099997"]))


def test_no_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    p = Pseudonymiser(KEY)
    p.person_key_from_amka(AMKA)
    p.person_keys_from_amka(pl.Series([AMKA]))
    p.person_key_from_name("Παπαδόπουλος", "Γεώργιος", date(1950, 3, 1))
    assert caplog.records == []
