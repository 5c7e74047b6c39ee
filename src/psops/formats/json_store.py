"""The JSON store, laid out byte for byte as sops (Go ``encoding/json`` + ``json.Indent``) writes it.

Numbers load as floats, as this sops generation does (they are encrypted with ``type:float``); duplicate keys
are kept in order; the root must be an object. Output: tab indentation (or N spaces), ``"key": value``,
``{}``/``[]`` for empty containers, Go's HTML-safe string escapes, and a final newline.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring as _encode_basestring  # the C encoder

from psops.cipher import format_time
from psops.errors import CannotDumpTree, CannotReadInput, EmptyDocument
from psops.gofmt import format_json_float
from psops.lazyre import lazy_compile
from psops.limits import check_depth, ensure_recursion_room, too_deep
from psops.tree import Comment, Document, Mapping, Value, is_time

_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
}


_HTML_OR_SEPARATOR = lazy_compile("[<>&\u2028\u2029]")
_UNDECODABLE = lazy_compile("[\udc80-\udcff]")

# Characters Go's encoder does not copy as they are; a string without any is quoted with one concatenation.
_NEEDS_ESCAPE = lazy_compile('["\\\\<>&\x00-\x1f\u2028\u2029\udc80-\udcff]')


def go_json_string(text: str) -> str:
    """Quote a string as Go's json.Marshal does (HTML-safe, raw UTF-8 for other non-ASCII)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    # CPython's C string encoder escapes what Go escapes of '"', '\\' and control characters, in Go's
    # spelling (\n \r \t \b \f, else \u00XX); Go's HTML-safe and separator escapes are added after it.
    out = _encode_basestring(text)
    if _HTML_OR_SEPARATOR.search(out) is not None:
        out = _HTML_OR_SEPARATOR.sub(lambda m: _ESCAPES[m.group()], out)
    if _UNDECODABLE.search(out) is not None:  # bytes kept by surrogateescape: Go writes U+FFFD
        out = _UNDECODABLE.sub("\ufffd", out)
    return out


def _reject_constant(name: str) -> float:
    raise ValueError(f"invalid JSON number {name}")


class _OutOfRange(ValueError):
    """A JSON number beyond float64 (Go's decoder refuses it; Python would read it as infinity)."""


def _parse_number(text: str) -> float:
    number = float(text)
    if number in (math.inf, -math.inf):
        raise _OutOfRange("a number is out of the float64 range")  # its text is not repeated: it may be secret
    return number


# A \uXXXX escape of a UTF-16 surrogate: a lone one decodes to a lone surrogate, which Go turns into U+FFFD.
_SURROGATE_ESCAPE = lazy_compile(r"\\u[dD][89a-fA-F]")


def _fix_surrogates(value: Value) -> Value:
    """Replace lone surrogates in strings (keys too) by U+FFFD, as Go's encoding/json decodes them."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return Mapping([(k if isinstance(k, Comment) else _LONE_SURROGATE.sub("\ufffd", k), _fix_surrogates(v))
                        for k, v in value.items])
    if isinstance(value, list):
        return [_fix_surrogates(v) for v in value]
    return value


_LONE_SURROGATE = lazy_compile("[\ud800-\udfff]")


class JsonStore:
    """Reads and writes JSON files (and, with the same layout, the binary store's envelope)."""

    name = "json"

    def __init__(self, indent: int = -1) -> None:
        self.indent = "\t" if indent < 0 else " " * indent

    def load(self, data: bytes) -> Document:
        """Parse a JSON object into one branch."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CannotReadInput(f"invalid UTF-8 at byte {exc.start}") from None
        if not text.strip():
            raise EmptyDocument("the file is empty", hint="a JSON file needs at least {}")
        decoder = json.JSONDecoder(object_pairs_hook=lambda pairs: Mapping(list(pairs)),
                                   parse_int=_parse_number, parse_float=_parse_number,
                                   parse_constant=_reject_constant)
        ensure_recursion_room()  # the C decoder recurses once per level (docs/limits.md)
        try:
            root = decoder.decode(text)
        except json.JSONDecodeError as exc:
            raise CannotReadInput(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except _OutOfRange as exc:
            raise CannotReadInput(f"invalid JSON: {exc}", hint="sops cannot store it either") from None
        except ValueError as exc:
            raise CannotReadInput(f"invalid JSON: {exc}") from None
        except RecursionError:
            raise too_deep() from None
        if not isinstance(root, Mapping):
            raise CannotReadInput(f"the JSON root must be an object, not {type(root).__name__}")
        check_depth([root], brackets=text.count("[") + text.count("{"))
        if _SURROGATE_ESCAPE.search(text):
            root = _fix_surrogates(root)
            assert isinstance(root, Mapping)
        return [root]

    def dump(self, doc: Document) -> bytes:
        """Serialize the single branch the way sops does."""
        if len(doc) != 1:
            raise CannotDumpTree("JSON files hold exactly one document",
                                 hint="use YAML output for multi-document streams")
        out: list[str] = []
        self._value(doc[0], 0, out)
        out.append("\n")
        return "".join(out).encode("utf-8", "surrogateescape")

    def _value(self, value: Value, depth: int, out: list[str]) -> None:
        if isinstance(value, Mapping):
            items = [(k, v) for k, v in value.items if isinstance(k, str)]
            if not items:
                out.append("{}")
                return
            inner = "\n" + self.indent * (depth + 1)
            sep = "{" + inner
            for k, v in items:
                # one append per item for the common case of a string value (most values of an encrypted file)
                if type(v) is str:
                    out.append(sep + go_json_string(k) + ": " + go_json_string(v))
                else:
                    out.append(sep + go_json_string(k) + ": ")
                    self._value(v, depth + 1, out)
                sep = "," + inner
            out.append("\n" + self.indent * depth + "}")
        elif isinstance(value, list):
            elems = [v for v in value if not isinstance(v, Comment)]
            if not elems:
                out.append("[]")
                return
            out.append("[")
            inner = "\n" + self.indent * (depth + 1)
            for i, v in enumerate(elems):
                out.append(inner if i == 0 else "," + inner)
                self._value(v, depth + 1, out)
            out.append("\n" + self.indent * depth + "]")
        else:
            out.append(self._scalar(value))

    @staticmethod
    def _scalar(value: Value) -> str:
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            try:
                return format_json_float(value)
            except ValueError:
                raise CannotDumpTree(f"json: unsupported value {value!r}") from None
        if isinstance(value, str):
            return go_json_string(value)
        if is_time(value):
            return go_json_string(format_time(value))
        if isinstance(value, bytes):
            return go_json_string(value.decode("utf-8", "surrogateescape"))
        if isinstance(value, Comment):
            return go_json_string(value.text)
        raise CannotDumpTree(f"cannot write a {type(value).__name__} to JSON")
