"""A reader for the plain block-style YAML that config files are written in, without a YAML library.

``.sops.yaml`` and ``.sops-policy.yaml`` are read on every decrypt in a repository. They are nearly always
block mappings and sequences of plain or quoted scalars with comments, which this module reads in well under
a millisecond and without importing libyaml (a JSON file in a repository otherwise loads the whole YAML
machinery just for its config). Anything outside that shape makes :func:`load` return None and the caller
reads the text with the full YAML store instead, which also reports every error: flow collections, anchors,
aliases, tags, block scalars, multi-line scalars, escapes in double quotes, document markers, tabs, CR line
ends, duplicate keys, ``<<``, keys that are not strings, and plain scalars that resolve to a timestamp, to an
integer beyond int64 or to NaN. Plain scalars are resolved by go-yaml's rules (:mod:`psops.formats.yaml_resolve`,
as the YAML store does). The tests compare both readers.
"""

from __future__ import annotations

from psops.formats.yaml_resolve import BOOL, FLOAT, INT, NULL, STR, resolve_plain

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["load"]

# Indicators a plain scalar cannot start with ('-', '?' and ':' only when a space follows them)
_INDICATORS = frozenset(",[]{}#&*!|>'\"%@`")
_SIMPLE_TAGS = frozenset([STR, INT, FLOAT, BOOL, NULL])


class _NotSimple(Exception):
    """The text is outside the simple shape: the full YAML reader decides."""


class _Line:
    __slots__ = ("indent", "text")

    def __init__(self, indent: int, text: str) -> None:
        self.indent = indent
        self.text = text


def load(text: str) -> dict[str, Any] | None:
    """The mapping a simple block-style YAML text holds, or None when the text is not that simple."""
    if "\t" in text or "\r" in text or text.startswith("\ufeff"):
        return None
    lines: list[_Line] = []
    for raw in text.split("\n"):
        body = raw.lstrip(" ")
        if not body.isprintable():
            return None  # control characters, Unicode line or paragraph separators, no-break spaces
        if not body or body[0] == "#":
            continue
        if (raw[0] != " " and body[:3] in ("---", "...")) or body[0] == "%":
            return None
        lines.append(_Line(len(raw) - len(body), body.rstrip(" ")))
    if not lines or lines[0].indent != 0:
        return None
    try:
        value, end = _block(lines, 0, 0)
    except (_NotSimple, RecursionError):  # hostile nesting: the YAML store applies its depth limit
        return None
    if end != len(lines) or not isinstance(value, dict):
        return None
    return value


def _block(lines: list[_Line], i: int, indent: int) -> tuple[object, int]:
    """The mapping or sequence whose entries start at ``lines[i]`` (at ``indent``); returns it and the next line."""
    if _is_entry(lines[i].text):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent, lines[i].text)


def _is_entry(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _sequence(lines: list[_Line], i: int, indent: int) -> tuple[list[object], int]:
    items: list[object] = []
    while i < len(lines) and lines[i].indent == indent and _is_entry(lines[i].text):
        rest = lines[i].text[1:]
        body = rest.lstrip(" ")
        if not body or _is_entry(body) or body[0] == "#":
            raise _NotSimple  # a nested block below '-', a sequence in a sequence, a comment: rare shapes
        item_indent = indent + 1 + len(rest) - len(body)
        item: object
        if _key_split(body) is not None:  # "- key: value": a mapping whose first key is on the entry's line
            item, i = _mapping(lines, i, item_indent, body)
        else:
            item = _scalar(body)
            i += 1
            if i < len(lines) and lines[i].indent > indent:
                raise _NotSimple  # a multi-line scalar
        items.append(item)
    _check_dedent(lines, i, indent)
    return items, i


def _mapping(lines: list[_Line], i: int, indent: int, first: str) -> tuple[dict[str, object], int]:
    """A block mapping at ``indent`` starting at line ``i``, whose first entry's text is ``first``."""
    out: dict[str, object] = {}
    text = first
    while True:
        split = _key_split(text)
        if split is None:
            raise _NotSimple
        key, rest = split
        if key in out or key == "<<":
            raise _NotSimple  # duplicate keys are an error, merge keys merge: the full reader handles both
        i += 1
        nxt = lines[i] if i < len(lines) else None
        if rest:
            out[key] = _scalar(rest)
            if nxt is not None and nxt.indent > indent:
                raise _NotSimple  # a multi-line scalar, or an error
        elif nxt is not None and (nxt.indent > indent or (nxt.indent == indent and _is_entry(nxt.text))):
            out[key], i = _block(lines, i, nxt.indent)
        else:
            out[key] = None
        if i >= len(lines) or lines[i].indent < indent:
            break
        if lines[i].indent > indent or _is_entry(lines[i].text):
            raise _NotSimple
        text = lines[i].text
    _check_dedent(lines, i, indent)
    return out, i


def _check_dedent(lines: list[_Line], i: int, indent: int) -> None:
    """A block ended: the next line must not be indented deeper than the block."""
    if i < len(lines) and lines[i].indent > indent:
        raise _NotSimple


def _key_split(text: str) -> tuple[str, str] | None:
    """``key: rest`` -> (key, rest without its comment); None when the line is not a simple mapping entry."""
    if text[0] in "'\"":
        key, after = _quoted(text)
        if not after.startswith(":"):
            return None
        rest = after[1:]
        if rest and rest[0] != " ":
            return None
        return key, _strip_comment(rest.lstrip(" "))
    comment = text.find(" #")
    head = text if comment < 0 else text[:comment].rstrip(" ")  # a ": " in a comment separates nothing
    colon = head.find(": ")
    if colon < 0:
        if not head.endswith(":"):
            return None
        colon = len(head) - 1
    word = text[:colon]
    if not word or " #" in word or word != word.rstrip(" "):
        raise _NotSimple
    key_value = _scalar(word)
    if not isinstance(key_value, str):
        raise _NotSimple  # a key that is not a string: the full reader
    return key_value, _strip_comment(text[colon + 1 :].lstrip(" "))


def _strip_comment(text: str) -> str:
    if text.startswith("#"):
        return ""
    if text[:1] in ("'", '"'):
        return text  # a quoted scalar: _quoted finds its end and what follows
    cut = text.find(" #")
    return text if cut < 0 else text[:cut].rstrip(" ")


def _scalar(text: str) -> object:
    """A plain or quoted scalar on one line (its comment stripped), resolved as go-yaml does for these forms."""
    if text[0] in "'\"":
        value, after = _quoted(text)
        after = after.lstrip(" ")
        if after and after[0] != "#":
            raise _NotSimple
        return value
    text = _strip_comment(text)
    if text[0] in _INDICATORS or (text[0] in "-?:" and text[1:2] in ("", " ")):
        raise _NotSimple
    if ": " in text or text.endswith(":") or " #" in text:
        raise _NotSimple  # go-yaml refuses these (or they are comments): the full reader reports it
    tag, value = resolve_plain(text)
    if tag not in _SIMPLE_TAGS or value != value:  # timestamps, uint64, merge keys; NaN
        raise _NotSimple
    return value


def _quoted(text: str) -> tuple[str, str]:
    """A quoted scalar at the start of ``text`` -> (its value, the text after the closing quote)."""
    quote = text[0]
    if quote == '"':
        end = text.find('"', 1)
        if end < 0 or "\\" in text[1:end]:
            raise _NotSimple  # escapes, or a scalar continued on the next line
        return text[1:end], text[end + 1 :]
    parts: list[str] = []
    pos = 1
    while True:
        end = text.find("'", pos)
        if end < 0:
            raise _NotSimple
        parts.append(text[pos:end])
        if text[end + 1 : end + 2] == "'":  # '' is one quote
            parts.append("'")
            pos = end + 2
            continue
        return "".join(parts), text[end + 1 :]
