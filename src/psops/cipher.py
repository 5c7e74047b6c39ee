"""The ``ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`` value codec.

Each leaf is turned into its *canonical plaintext* (the bytes SOPS encrypts and hashes into the MAC: Go's
formatting of ints, floats, bools and times), encrypted with AES-256-GCM under the file's data key with a
fresh 32-byte IV, and authenticated with the leaf's path as AAD (``a:b:c:``), so a ciphertext moved to
another key fails to decrypt. A stash remembers the IV of every value decrypted in this run, keyed by
(AAD, canonical plaintext): re-encrypting an unchanged value under the same key gives the same bytes, which
keeps git diffs to the values that changed (SOPS does the same).
"""

from __future__ import annotations

import binascii
import os

try:  # the AES-GCM class itself, without the ciphers package that re-exports it (a few ms less on every run)
    from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

    AESGCM = _rust_openssl.aead.AESGCM
except (ImportError, AttributeError):  # pragma: no cover - a cryptography release that moved it
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from psops.errors import DecryptError, EncryptError
from psops.gofmt import format_float
from psops.lazyre import lazy_compile
from psops.tree import Comment, Leaf, is_time

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from collections.abc import Callable  # (importing collections.abc loads the collections package: ~2 ms)
    from datetime import datetime


class _ShortIV(Exception):
    """An IV shorter than AES-GCM accepts: the value cannot authenticate."""


def _is_invalid_tag(exc: Exception) -> bool:
    """True for cryptography's InvalidTag, imported only when a value fails (it pulls in typing: ~3 ms)."""
    from cryptography.exceptions import InvalidTag

    return isinstance(exc, InvalidTag)


ENC_PREFIX = "ENC[AES256_GCM,"
# The grammar of an ENC value and of an int plaintext. They document, and the tests check, the hand-written
# _enc_layout (with the strict base64 decoder; _split_enc on failure) and _is_int_text below, which run
# instead: importing re and compiling costs ~10 ms at start-up.
_ENC_RE = lazy_compile(
    r"^ENC\[AES256_GCM,data:([A-Za-z0-9+/]+=*),iv:([A-Za-z0-9+/]+=*),tag:([A-Za-z0-9+/]+=*),type:([a-z]+)\]$"
)
_INT_RE = lazy_compile(r"^[+-]?[0-9]+$")
_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_TYPE_TAGS = frozenset(["str", "int", "float", "bool", "bytes", "comment"])  # (any [a-z]+ passes the layout)
_DIGITS = "0123456789"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_RFC3339_RE = lazy_compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)

IV_SIZE = 32
TAG_SIZE = 16
_a2b = binascii.a2b_base64
_b2a = binascii.b2a_base64


def format_time(value: datetime) -> str:
    """Format like Go ``time.MarshalText``: RFC 3339, fraction trimmed of zeros, ``Z`` for UTC."""
    off = value.utcoffset()
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    if not off:  # None, or a zero timedelta
        return text + "Z"
    minutes = int(off.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# How Go writes a UTC time to the second (sops' lastmodified); has_canonical_utc_form implements it by hand.
_CANONICAL_UTC = lazy_compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def has_canonical_utc_form(text: str) -> bool:
    """``_CANONICAL_UTC.fullmatch(text)``."""
    return (len(text) == 20 and text[4] == "-" and text[7] == "-" and text[10] == "T" and text[13] == ":"
            and text[16] == ":" and text[19] == "Z"
            and not (text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]).strip(_DIGITS))


def is_canonical_utc(text: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SSZ`` naming a real instant (the form Go's RFC 3339 formatting gives UTC times)."""
    if not has_canonical_utc_form(text):
        return False
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if not (1 <= month <= 12 and hour < 24 and minute < 60 and second < 60 and year >= 1):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS_IN_MONTH[month - 1] + (1 if month == 2 and leap else 0)


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp as Go ``time.UnmarshalText`` does (ValueError if it is not one)."""
    m = _RFC3339_RE.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    from datetime import UTC, datetime, timedelta, timezone

    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if zulu:
        tz = UTC
    else:
        delta = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(delta if sign == "+" else -delta)
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)


def canonical(value: Leaf) -> tuple[bytes, str]:
    """Return the canonical plaintext bytes of a leaf and its SOPS type tag."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape"), "str"
    if isinstance(value, bool):
        return (b"True" if value else b"False"), "bool"
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            # the value is not quoted: it is the plaintext
            raise EncryptError("an integer value does not fit in 64 bits, which SOPS cannot store")
        return str(value).encode(), "int"
    if isinstance(value, float):
        return format_float(value).encode(), "float"
    if isinstance(value, Comment):
        return value.text.encode("utf-8", "surrogateescape"), "comment"
    if is_time(value):
        return format_time(value).encode(), "time"
    if isinstance(value, bytes):
        return value, "str"
    raise EncryptError(f"cannot encrypt a value of type {type(value).__name__}")


def parse_plaintext(raw: bytes, type_tag: str) -> Leaf:
    """Turn decrypted bytes back into a typed leaf, as sops' Go parsers do."""
    text = raw.decode("utf-8", "surrogateescape")
    if type_tag == "str":
        return text
    if type_tag == "bytes":
        return raw
    if type_tag == "comment":
        return Comment(text)
    # Messages never quote the plaintext: it is the decrypted secret.
    if type_tag == "int":
        if not _is_int_text(text) or not _INT64_MIN <= int(text) <= _INT64_MAX:
            raise ValueError("invalid int plaintext")
        return int(text)
    if type_tag == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError("invalid float plaintext") from None
    if type_tag == "bool":
        if text in _GO_TRUE:
            return True
        if text in _GO_FALSE:
            return False
        raise ValueError("invalid bool plaintext")
    if type_tag == "time":
        try:
            return parse_time(text)
        except ValueError:
            raise ValueError("invalid time plaintext") from None
    raise ValueError(f"unknown type tag {type_tag!r}")


def is_encrypted_value(value: object) -> bool:
    """True when ``value`` is a string in SOPS' ENC[AES256_GCM,...] form."""
    return isinstance(value, str) and value.startswith(ENC_PREFIX)


def _is_b64_field(text: str) -> bool:
    """``[A-Za-z0-9+/]+=*``."""
    core = text.rstrip("=")
    return bool(core) and not core.strip(_B64_CHARS)


def _enc_layout(value: str) -> tuple[str, str, str, str] | None:
    """The data, iv, tag and type fields of an ENC value laid out as ``_ENC_RE`` asks (non-empty, a lower-case
    type), each the text up to the next field's marker; their base64 alphabet (which has no ``,`` or ``:``)
    is left to the strict base64 decoder, or to :func:`_split_enc`."""
    if value[-1:] == "\n":  # the pattern's '$' also matches before a final newline
        value = value[:-1]
    if value[:20] != "ENC[AES256_GCM,data:" or value[-1:] != "]":
        return None
    data, _, rest = value[20:-1].partition(",iv:")
    iv, _, rest = rest.partition(",tag:")
    tag, _, type_tag = rest.partition(",type:")
    if not (data and iv and tag) or (type_tag not in _TYPE_TAGS and (not type_tag or type_tag.strip(_LOWER))):
        return None
    return data, iv, tag, type_tag


def _split_enc(value: str) -> tuple[str, str, str, str] | None:
    """The four fields of ``_ENC_RE.match(value)`` (data, iv, tag, type), or None where it does not match."""
    fields = _enc_layout(value)
    if fields is None or not (_is_b64_field(fields[0]) and _is_b64_field(fields[1]) and _is_b64_field(fields[2])):
        return None
    return fields


def _is_int_text(text: str) -> bool:
    """``_INT_RE.match(text)``: optional sign, ASCII digits, optionally one final newline."""
    if text.endswith("\n"):
        text = text[:-1]
    if text[:1] in ("+", "-"):
        text = text[1:]
    return bool(text) and not text.strip(_DIGITS)


_NOT_ENC = "not a well-formed ENC[AES256_GCM,...] value"


def parse_enc(value: str) -> tuple[bytes, bytes, bytes, str]:
    """Split an ENC string into (data, iv, tag, type); raises ValueError on any malformation."""
    fields = _enc_layout(value)
    if fields is None:
        raise ValueError(_NOT_ENC)
    data_b64, iv_b64, tag_b64, type_tag = fields
    try:  # base64.b64decode(validate=True) without its wrapper (this runs once per value)
        data = _a2b(data_b64, strict_mode=True)
        iv = _a2b(iv_b64, strict_mode=True)
        tag = _a2b(tag_b64, strict_mode=True)
    except ValueError as exc:  # outside the pattern's alphabet (non-ASCII: ValueError), or not valid base64
        if _split_enc(value) is None:
            raise ValueError(_NOT_ENC) from None
        raise ValueError(f"bad base64 in ENC value: {exc}") from exc
    if len(tag) != TAG_SIZE or not iv:
        raise ValueError("bad IV or tag length in ENC value")
    return data, iv, tag, type_tag


class ValueCipher:
    """Encrypts and decrypts leaves under one data key (one AESGCM object per file), with an IV stash."""

    def __init__(self, data_key: bytes, *, random: Callable[[int], bytes] = os.urandom,
                 remember_ivs: bool = True) -> None:
        if len(data_key) != 32:
            raise EncryptError("the data key must be 32 bytes")
        self._aead = AESGCM(data_key)
        self._random = random
        self._stash: dict[tuple[str, bytes, str], bytes] = {}
        # False for a read-only decrypt (psops decrypt, k8s decrypt): nothing will be re-encrypted
        self._remember = remember_ivs

    def rekeyed(self, data_key: bytes) -> ValueCipher:
        """A cipher for a *new* data key whose IV stash is a copy of this one's (used by key rotation).

        This is what ``sops rotate`` does: decrypt every value with the old cipher (filling the stash), then
        encrypt with a new data key reusing the old IVs, so data and tag of every value change while the IVs
        stay. Reusing an IV under a different AES-GCM key is safe: GCM needs (key, IV) pairs to be unique.
        """
        other = ValueCipher(data_key, random=self._random)
        other._stash = dict(self._stash)
        return other

    def encrypt(self, value: Leaf, aad: str) -> str:
        """Encrypt a leaf to its ENC string; empty strings and empty comments stay as they are."""
        plain, type_tag = canonical(value)
        return self.encrypt_bytes(plain, type_tag, aad)

    def encrypt_bytes(self, plain: bytes, type_tag: str, aad: str) -> str:
        """Encrypt canonical plaintext bytes with the given type tag and AAD."""
        if not plain:
            return ""
        iv = self._stash.get((aad, plain, type_tag)) or self._random(IV_SIZE)
        sealed = self._aead.encrypt(iv, plain, aad.encode("utf-8", "surrogateescape"))
        return "".join(("ENC[AES256_GCM,data:", _b2a(sealed[:-TAG_SIZE], newline=False).decode(),
                        ",iv:", _b2a(iv, newline=False).decode(),
                        ",tag:", _b2a(sealed[-TAG_SIZE:], newline=False).decode(), ",type:", type_tag, "]"))

    def decrypt_bytes(self, value: str, aad: str) -> tuple[bytes, str]:
        """Decrypt an ENC string to (plaintext bytes, type tag); remembers the IV for re-encryption."""
        try:
            data, iv, tag, type_tag = parse_enc(value)
        except ValueError as exc:
            raise DecryptError(f"value at {aad!r} is corrupt: {exc}") from None
        aead = self._aead if len(iv) >= 8 else None
        try:
            if aead is None:
                raise _ShortIV
            plain = aead.decrypt(iv, data + tag, aad.encode("utf-8", "surrogateescape"))
        except Exception as exc:
            if not isinstance(exc, _ShortIV) and not _is_invalid_tag(exc):
                raise
            raise DecryptError(
                f"value at {aad!r} failed authentication (tampered, moved, or a different data key)",
                hint="restore the file from version control",
            ) from None
        if self._remember:
            self._stash[(aad, plain, type_tag)] = iv
        return plain, type_tag

    def decrypt(self, value: str, aad: str) -> Leaf:
        """Decrypt an ENC string to its typed leaf."""
        plain, type_tag = self.decrypt_bytes(value, aad)
        try:
            return parse_plaintext(plain, type_tag)
        except ValueError as exc:
            raise DecryptError(f"value at {aad!r} has an invalid {type_tag} plaintext: {exc}") from None
