"""Keyed pseudonyms for direct identifiers (HMAC-SHA256).

Only ingest sees ΑΜΚΑ, ΑΦΜ, names and addresses; it replaces them with pseudonyms before anything
is stored. A pseudonym is `<prefix><32 hex>`: the first 128 bits of
HMAC-SHA256(key, domain || encoded fields), where the domain (b"amka:", b"name:", ...) keeps
pseudonyms of different kinds apart and the fields are joined by U+001F, which normalised
fields cannot contain (so no two field lists encode alike). Prefixes: `A` person by ΑΜΚΑ, `N` person by name and birth date (weaker), `H`
household, `R` record. The same key gives the same pseudonym in every run and municipality, a
different key gives unrelated ones, and without the key a pseudonym cannot be recomputed from a
guessed ΑΜΚΑ.

The key (at least 32 bytes) comes from the environment variable GEITONIA_PSEUDONYM_KEY (hex or
base64, optionally prefixed "hex:" / "base64:") or from a key file, by default
$GEITONIA_HOME/secrets/pseudonym.key, holding the key as hex text; the file must not be
accessible by group or others. `create_key` writes a new random key file atomically with mode
0600; `ensure_key` creates one when none exists (for the demo).

Nothing here logs, prints or puts an input value into an exception message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ingest.text import fold_name, normalise_greek, normalise_greek_expr

__all__ = [
    "ENV_KEY",
    "MIN_KEY_BYTES",
    "PseudonymKeyError",
    "Pseudonymiser",
    "create_key",
    "decode_key",
    "ensure_key",
    "key_path",
    "load_key",
]

ENV_KEY = "GEITONIA_PSEUDONYM_KEY"
ENV_HOME = "GEITONIA_HOME"
DEFAULT_HOME = "var"
KEY_FILE = Path("secrets") / "pseudonym.key"
MIN_KEY_BYTES = 32
DIGEST_HEX = 32  # 128 bits
_BLOCK = 64  # SHA-256 block size

_RE_HEX = re.compile(r"[0-9a-fA-F]+")


class PseudonymKeyError(RuntimeError):
    """The pseudonymisation key is missing, malformed, too short or not protected."""


# --- the key ---------------------------------------------------------------------------------


def decode_key(text: str) -> bytes:
    """Decode a key written as hex or base64 (standard or URL-safe), optionally prefixed with
    "hex:" or "base64:". A string of an even number of hex digits is read as hex."""
    t = "".join(text.split())
    kind = None
    for prefix in ("hex:", "base64:"):
        if t.lower().startswith(prefix):
            kind, t = prefix[:-1], t[len(prefix) :]
    try:
        if kind == "hex" or (kind is None and _RE_HEX.fullmatch(t) and len(t) % 2 == 0):
            key = bytes.fromhex(t)
        else:
            t = t.replace("-", "+").replace("_", "/")
            key = base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise PseudonymKeyError("the pseudonym key is neither hex nor base64") from exc
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the pseudonym key has {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
        )
    return key


def _setting(config: Any, name: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(name)
    return getattr(config, name, None)


def key_path(config: Any = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where the key file is.

    `config` may be None ($GEITONIA_HOME, default ./var, then secrets/pseudonym.key), a path (the
    key file, or a GEITONIA_HOME directory), or an object / mapping with `pseudonym_key` (the key
    file), `secrets` (its directory) or `home` (GEITONIA_HOME).
    """
    env = os.environ if environ is None else environ
    if config is None:
        return Path(env.get(ENV_HOME) or DEFAULT_HOME) / KEY_FILE
    if isinstance(config, str | os.PathLike):
        p = Path(config)
        return p / KEY_FILE if p.is_dir() else p
    if (v := _setting(config, "pseudonym_key")) is not None:
        return Path(v)
    if (v := _setting(config, "secrets")) is not None:
        return Path(v) / KEY_FILE.name
    if (v := _setting(config, "home")) is not None:
        return Path(v) / KEY_FILE
    raise PseudonymKeyError(
        "configuration names no key file (expected pseudonym_key, secrets or home)"
    )


def load_key(config: Any = None, environ: Mapping[str, str] | None = None) -> bytes:
    """The pseudonymisation key: GEITONIA_PSEUDONYM_KEY if set, else the key file (`key_path`).

    Raises PseudonymKeyError when there is no key, when it is malformed or shorter than 32 bytes,
    or when the key file can be read or written by group or others.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY, "").strip():
        try:
            return decode_key(env[ENV_KEY])
        except PseudonymKeyError as exc:
            raise PseudonymKeyError(f"{ENV_KEY}: {exc}") from None
    path = key_path(config, env)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise PseudonymKeyError(
            f"no pseudonym key: set {ENV_KEY} or create the key file {path} "
            "(ingest.pseudonymise.create_key; `make demo` creates one)"
        ) from None
    if os.name == "posix" and st.st_mode & 0o077:
        raise PseudonymKeyError(
            f"the key file {path} is accessible by group or others "
            f"(mode {stat.filemode(st.st_mode)}); restrict it with: chmod 600 {path}"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        if len(raw) >= MIN_KEY_BYTES:  # a raw binary key
            return raw
        raise PseudonymKeyError(f"the key file {path} is too short") from None
    try:
        return decode_key(text)
    except PseudonymKeyError as exc:
        raise PseudonymKeyError(f"the key file {path}: {exc}") from None


def create_key(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a new random 32-byte key (as hex) to `path`, mode 0600, atomically.

    The key is written to a temporary file in the same directory and then linked into place, so a
    reader never sees a partial key. Refuses to replace an existing key unless `overwrite`
    (replacing the key changes every pseudonym).
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pseudonym-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_bytes(MIN_KEY_BYTES).hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the key exists: never clobbers
            except FileExistsError:
                raise FileExistsError(f"a pseudonym key already exists at {path}") from None
            except OSError:  # a file system without hard links
                if path.exists():
                    raise FileExistsError(f"a pseudonym key already exists at {path}") from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if os.name == "posix":
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path


def ensure_key(config: Any = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """Create the key file if there is no key yet (GEITONIA_PSEUDONYM_KEY unset and no file).

    Returns the key file's path, or None when the key comes from the environment. The key is then
    loaded once, so a malformed or unprotected key fails here.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY, "").strip():
        load_key(config, env)
        return None
    path = key_path(config, env)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process
            create_key(path)
    load_key(config, env)
    return path


# --- pseudonyms ------------------------------------------------------------------------------


def _encode(*parts: str) -> bytes:
    """Fields joined by the unit separator U+001F. Unambiguous: every field is either
    normalised text (`normalise_greek` turns control characters into spaces), a `fold_name`
    skeleton (A-Z), an ISO date, or a scope string checked by `_check_scope`."""
    return "\x1f".join(parts).encode("utf-8")


def _check_scope(scope: str) -> str:
    if not isinstance(scope, str) or any(ord(c) < 32 for c in scope):
        raise ValueError("scope must be a string without control characters")
    return scope


def _as_iso_date(d: date | datetime | str | None) -> str | None:
    if d is None:
        return None
    if isinstance(d, datetime):
        return d.date().isoformat()
    if isinstance(d, date):
        return d.isoformat()
    s = str(d).strip()
    if not s:
        return None
    try:
        return date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        raise ValueError("birth_date must be a date or an ISO date string") from None


def _part(v: object) -> str:
    return "" if v is None else normalise_greek(str(v))


class Pseudonymiser:
    """Keyed pseudonyms. Create it once per run with `Pseudonymiser(load_key(config))`.

    HMAC-SHA256 is computed from the key's precomputed inner and outer SHA-256 states (RFC 2104,
    the same value as `hmac.digest`, checked by a test): about twice as fast as `hmac.digest` per
    value, which matters for half a million rows.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"a pseudonym key of at least {MIN_KEY_BYTES} bytes is needed")
        k = bytes(key)
        if len(k) > _BLOCK:
            k = hashlib.sha256(k).digest()
        k = k.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))

    @classmethod
    def from_config(cls, config: Any = None) -> Pseudonymiser:
        return cls(load_key(config))

    def __repr__(self) -> str:
        return "Pseudonymiser(<key hidden>)"

    def _macs(
        self, prefix: str, domain: bytes, payloads: Iterable[bytes | None]
    ) -> list[str | None]:
        inner = self._inner.copy()
        inner.update(domain)  # the domain is hashed once, every value continues from here
        icopy, ocopy = inner.copy, self._outer.copy
        out: list[str | None] = []
        append = out.append
        for p in payloads:
            if p is None:
                append(None)
                continue
            i = icopy()
            i.update(p)
            o = ocopy()
            o.update(i.digest())
            append(prefix + o.hexdigest()[:DIGEST_HEX])
        return out

    def _mac(self, prefix: str, domain: bytes, payload: bytes) -> str:
        return self._macs(prefix, domain, [payload])[0]  # type: ignore[return-value]

    # scalar ---------------------------------------------------------------------------------

    def person_key_from_amka(self, amka: str) -> str:
        """'A' + 32 hex from the canonical 11-digit ΑΜΚΑ (the `value` of `check_amka`)."""
        if not (isinstance(amka, str) and len(amka) == 11 and amka.isascii() and amka.isdigit()):
            raise ValueError("person_key_from_amka expects a canonical 11-digit ΑΜΚΑ string")
        return self._mac("A", b"amka:", amka.encode("ascii"))

    def person_key_from_name(
        self,
        surname: str | None,
        first_name: str | None,
        birth_date: date | datetime | str | None,
    ) -> str | None:
        """'N' + 32 hex from the names' `fold_name` skeletons and the birth date.

        Greek, accent-less capitals, Latin look-alikes and ELOT transliteration give the same key
        ("Παπαδόπουλος", "ΠΑΠΑΔΟΠΟΥΛΟΣ", "PAPADOPOULOS"). None when a name or the date is missing.
        """
        return self._name_key(fold_name(surname), fold_name(first_name), _as_iso_date(birth_date))

    def _name_key(self, s: str, f: str, d: str | None) -> str | None:
        if not s or not f or d is None:
            return None
        return self._mac("N", b"name:", _encode(s, f, d))

    def household_key(self, scope: str, *parts: object) -> str | None:
        """'H' + 32 hex for a household identified within `scope`.

        E.g. `household_key("9101/social_grocery", registry_no)`, or from an address,
        `household_key("address", postcode, street_core, number)`. Parts are compared after
        `normalise_greek`; None when every part is empty.
        """
        return self._scoped("H", b"household:", scope, [_part(p) for p in parts])

    def record_key(self, scope: str, *parts: object) -> str | None:
        """'R' + 32 hex for a record's local code within `scope` (e.g.
        `record_key("9101/community_centre/beneficiaries", beneficiary_code)`). Parts are
        compared after `normalise_greek`; None when every part is empty."""
        return self._scoped("R", b"record:", scope, [_part(p) for p in parts])

    def _scoped(self, prefix: str, domain: bytes, scope: str, parts: list[str]) -> str | None:
        if not any(parts):
            return None
        return self._mac(prefix, domain, _encode(_check_scope(scope), *parts))

    # vectorised -----------------------------------------------------------------------------

    def person_keys_from_amka(self, amka: pl.Series) -> pl.Series:
        """`person_key_from_amka` over a Series of canonical ΑΜΚΑ (null stays null; anything
        else that is not 11 digits raises ValueError)."""
        s = amka.cast(pl.String)
        if (s.is_not_null() & ~s.str.contains(r"^[0-9]{11}$").fill_null(False)).any():
            raise ValueError("person_keys_from_amka expects canonical 11-digit ΑΜΚΑ strings")
        return self._map_distinct(
            pl.DataFrame({"a": s}),
            lambda u: self._macs(
                "A", b"amka:", (None if v is None else v.encode("ascii") for v in u["a"].to_list())
            ),
        ).rename(amka.name)

    def person_keys_from_name(
        self, surname: pl.Series, first_name: pl.Series, birth_date: pl.Series
    ) -> pl.Series:
        """`person_key_from_name` row by row. `fold_name` runs once per distinct name and the
        HMAC once per distinct (surname, first name, birth date)."""
        bd = birth_date
        if bd.dtype in (pl.Date, pl.Datetime) or isinstance(bd.dtype, pl.Datetime):
            iso = bd.cast(pl.Date).dt.to_string("%Y-%m-%d")
        else:
            iso = pl.Series(
                [_as_iso_date(v) for v in bd.cast(pl.String).to_list()], dtype=pl.String
            )
        frame = pl.DataFrame(
            {
                "s": _fold_series(surname.cast(pl.String)),
                "f": _fold_series(first_name.cast(pl.String)),
                "d": iso,
            }
        )

        def keys(u: pl.DataFrame) -> list[str | None]:
            payloads = (
                _encode(s, f, d) if s and f and d is not None else None
                for s, f, d in zip(
                    u["s"].to_list(), u["f"].to_list(), u["d"].to_list(), strict=True
                )
            )
            return self._macs("N", b"name:", payloads)

        return self._map_distinct(frame, keys).rename("person_key")

    def household_keys(self, scope: str, *parts: pl.Series) -> pl.Series:
        """`household_key` row by row (parts normalised in polars, HMAC once per distinct row)."""
        return self._scoped_keys("H", b"household:", scope, parts).rename("household_key")

    def record_keys(self, scope: str, *parts: pl.Series) -> pl.Series:
        """`record_key` row by row (parts normalised in polars, HMAC once per distinct row)."""
        return self._scoped_keys("R", b"record:", scope, parts).rename("record_key")

    def _scoped_keys(
        self, prefix: str, domain: bytes, scope: str, parts: tuple[pl.Series, ...]
    ) -> pl.Series:
        _check_scope(scope)
        frame = pl.DataFrame({f"p{i}": p.cast(pl.String) for i, p in enumerate(parts)})

        def keys(u: pl.DataFrame) -> list[str | None]:
            norm = u.select(normalise_greek_expr(pl.col(c)).alias(c) for c in u.columns)
            rows = zip(*(norm[c].to_list() for c in norm.columns), strict=True)
            payloads = (_encode(scope, *row) if any(row) else None for row in rows)
            return self._macs(prefix, domain, payloads)

        return self._map_distinct(frame, keys)

    @staticmethod
    def _map_distinct(
        frame: pl.DataFrame, keys: Callable[[pl.DataFrame], list[str | None]]
    ) -> pl.Series:
        cols = frame.columns
        uniq = frame.unique()
        uniq = uniq.with_columns(pl.Series("_key", keys(uniq), dtype=pl.String))
        joined = frame.join(uniq, on=cols, how="left", nulls_equal=True, maintain_order="left")
        return joined.get_column("_key")


def _fold_series(s: pl.Series) -> pl.Series:
    uniq = s.unique()
    folded = pl.Series([fold_name(v) for v in uniq.to_list()], dtype=pl.String)
    return s.replace_strict(uniq, folded, return_dtype=pl.String)
