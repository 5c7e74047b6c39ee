"""go-yaml v3's resolution of plain scalars (resolve.go), for the YAML store and the simple config reader.

``resolve_plain`` gives the tag and value go-yaml gives an untagged plain scalar: spec 8.1 (``017`` is octal,
``yes`` is a string, three timestamp layouts, no sexagesimal numbers). The number and timestamp grammars are
written as regular expressions (the reference, compared in the tests) and run as hand-written checks, so
that resolving needs neither the regex engine nor a YAML library at start-up.
"""

from __future__ import annotations

from psops.cipher import is_canonical_utc
from psops.lazyre import lazy_compile

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from datetime import datetime, timezone
    from typing import Any

__all__ = ["BOOL", "FLOAT", "INF", "INT", "MERGE", "NULL", "STR", "TIME", "UINT", "only_chars", "parse_timestamp",
           "plain_is_string", "resolve_plain"]

STR = "str"
INT = "int"
FLOAT = "float"
BOOL = "bool"
NULL = "null"
TIME = "timestamp"
MERGE = "merge"
UINT = "uint"  # an integer in uint64 range above int64: sops cannot store it

# ---------------------------------------------------------------------------------------------------------
# Scalar resolution (go-yaml v3 resolve.go)
# ---------------------------------------------------------------------------------------------------------

INF = float("inf")  # (math is not imported for it)
_MAP: dict[str, tuple[str, Any]] = {}
for _spellings, _tag, _val in (
    (("true", "True", "TRUE"), BOOL, True),
    (("false", "False", "FALSE"), BOOL, False),
    (("", "~", "null", "Null", "NULL"), NULL, None),
    ((".nan", ".NaN", ".NAN"), FLOAT, float("nan")),
    ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), FLOAT, INF),
    (("-.inf", "-.Inf", "-.INF"), FLOAT, -INF),
    (("<<",), MERGE, "<<"),
):
    for _s in _spellings:
        _MAP[_s] = (_tag, _val)

_HINT_MAP = frozenset("yYnNtTfFoO~<")
_HINT_NUM = frozenset("+-0123456789")
_DOT_FLOAT = lazy_compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_YAML_FLOAT = lazy_compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_GO_INT = lazy_compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
_INT_BASES = {"x": 16, "X": 16, "b": 2, "B": 2, "o": 8, "O": 8}
_TIMESTAMP = lazy_compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:(?:([Tt])|( ))([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?(Z|[-+][0-9]{2}:[0-9]{2})?)?"
)
_OLD_BOOL = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]
)
_BASE60 = lazy_compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
# The patterns above are the grammar; the number and base-60 checks run as the hand-written functions below
# (the tests compare each with its pattern): a decrypt then needs no regex engine, whose import and compiles
# cost ~10 ms at start-up. _TIMESTAMP stays a regex except for sops' own timestamp form.
_DIGITS = "0123456789"
_DIGITS_SET = frozenset(_DIGITS)
_HEX_DIGITS = "0123456789abcdefABCDEF"
_INT_DIGITS = {16: _HEX_DIGITS, 2: "01", 8: "01234567"}
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1


def only_chars(text: str, chars: str) -> bool:
    """Every character of ``text`` is one of ``chars`` (True for an empty text)."""
    return not text.strip(chars)


def _parse_go_int(s: str) -> int | None:
    """strconv.ParseInt(s, 0, 64) without range check; None if not syntactically an integer (``_GO_INT``)."""
    sign = s[:1]
    body = s[1:] if sign in ("+", "-") else s
    if not body:
        return None
    if body[0] == "0" and len(body) > 1:
        base = _INT_BASES.get(body[1], 8)
        digits = body[2:] if base != 8 or body[1] in "oO" else body[1:]
        if (base != 8 or body[1] in "oO") and not digits:
            return None  # 0x, 0b, 0o need a digit
        if not only_chars(digits, _INT_DIGITS[base]):
            return None
        n = int(digits, base) if digits else 0
    elif body[0] == "0" or (body[0] in _DIGITS and only_chars(body, _DIGITS)):
        n = int(body)
    else:
        return None
    return -n if sign == "-" else n


def _is_yaml_float(s: str) -> bool:
    """``_YAML_FLOAT.fullmatch(s)`` (and, for a text starting with '.', ``_DOT_FLOAT.fullmatch(s)``)."""
    body = s[1:] if s[:1] in ("+", "-") else s
    cut = len(body)
    for letter in "eE":
        at = body.find(letter)
        if 0 <= at < cut:
            cut = at
    mantissa = body[:cut]
    if cut < len(body):
        exponent = body[cut + 1 :]
        if exponent[:1] in ("+", "-"):
            exponent = exponent[1:]
        if not exponent or not only_chars(exponent, _DIGITS):
            return False
    whole, dot, fraction = mantissa.partition(".")
    if not whole:
        return bool(dot) and bool(fraction) and only_chars(fraction, _DIGITS)
    return only_chars(whole, _DIGITS) and only_chars(fraction, _DIGITS)


def _is_base60(s: str) -> bool:
    """``_BASE60.fullmatch(s)``: a YAML 1.1 sexagesimal number such as ``190:20:30`` (go-yaml quotes them)."""
    if ":" not in s:
        return False
    body = s[1:] if s[:1] in ("+", "-") else s
    if body[:1] not in _DIGITS_SET:  # (before splitting: most strings with a colon are not numbers)
        return False
    head, *groups = body.split(":")
    if not only_chars(head, "0123456789_"):
        return False
    last, dot, fraction = groups[-1].partition(".")
    if dot and not only_chars(fraction, "0123456789_"):
        return False
    for group in (*groups[:-1], last):
        if not (len(group) == 1 and group in _DIGITS) and not (
            len(group) == 2 and group[0] in "012345" and group[1] in _DIGITS
        ):
            return False
    return True


def parse_timestamp(s: str) -> datetime | None:
    """go-yaml's parseTimestamp: the three time.Parse layouts of spec 8.1."""
    if len(s) < 8 or s[4] != "-":  # cheaper than the regex for the many numbers that are not timestamps
        return None
    if is_canonical_utc(s):  # sops' lastmodified: no regex engine needed for it
        from datetime import UTC, datetime

        return datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]),
                        tzinfo=UTC)
    m = _TIMESTAMP.fullmatch(s)
    if m is None:
        return None
    from datetime import datetime, timedelta, timezone  # only for scalars that look like timestamps

    year, month, day, tee, space, hh, mi, ss, frac, zone = m.groups()
    if tee is None and space is None:
        tz: timezone = timezone.utc
        try:
            return datetime(int(year), int(month), int(day), tzinfo=tz)
        except ValueError:
            return None
    if tee is not None and zone is None:
        return None  # the T layouts need a zone
    if space is not None and zone is not None:
        return None  # the space layout takes no zone
    if zone is None or zone == "Z":
        tz = timezone.utc
    else:
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 24 or zm > 60:
            return None
        off = timedelta(hours=zh, minutes=zm)
        if off >= timedelta(hours=24):
            return None
        tz = timezone(-off if zone[0] == "-" else off)
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hh), int(mi), int(ss), micro, tzinfo=tz)
    except ValueError:
        return None


def resolve_plain(s: str) -> tuple[str, Any]:
    """Resolve an untagged plain scalar as go-yaml v3 does: ``(tag, value)`` with tag str/int/float/...

    ``uint`` is returned for integers in (int64 max, uint64 max]; the caller decides whether that is an error.
    """
    if not s:
        return NULL, None
    c = s[0]
    if c in _HINT_MAP:
        return _MAP.get(s, (STR, s))
    if c == ".":
        hit = _MAP.get(s)
        if hit is not None:
            return hit
        if _is_yaml_float(s):  # starting with '.': _DOT_FLOAT
            f = float(s)
            if f not in (INF, -INF):
                return FLOAT, f
        return STR, s
    if c not in _HINT_NUM:
        return STR, s
    hit = _MAP.get(s)
    if hit is not None:
        return hit
    if c.isdigit():
        t = parse_timestamp(s)
        if t is not None:
            return TIME, t
    plain = s.replace("_", "") if "_" in s else s
    n = _parse_go_int(plain)
    if n is not None:
        if _INT64_MIN <= n <= _INT64_MAX:
            return INT, n
        if 0 <= n <= _UINT64_MAX and plain[0] != "+":
            return UINT, n
    if _is_yaml_float(plain):
        f = float(plain)
        if f not in (INF, -INF):
            return FLOAT, f
    return STR, s


def plain_is_string(s: str) -> bool:
    """go-yaml stringv: may this string be written without quotes (it resolves back to a string)."""
    if is_canonical_utc(s):  # a timestamp (sops' lastmodified), known without building a datetime
        return False
    return resolve_plain(s)[0] == STR and s not in _OLD_BOOL and not _is_base60(s)
