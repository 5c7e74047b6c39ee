"""The JSON store, laid out byte for byte as sops (Go ``encoding/json`` + ``json.Indent``) writes it.

Numbers load as floats, as this sops generation does (they are encrypted with ``type:float``); duplicate keys
are kept in order; the root must be an object. Output: tab indentation (or N spaces), ``"key": value``,
``{}``/``[]`` for empty containers, Go's HTML-safe string escapes, and a final newline.
"""

from __future__ import annotations

from psops.cipher import format_time
from psops.errors import CannotDumpTree, CannotReadInput, EmptyDocument
from psops.gofmt import format_json_float
from psops.lazyre import lazy_compile
from psops.limits import check_depth, ensure_recursion_room, too_deep
from psops.tree import Comment, Document, Mapping, Value, is_time

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from typing import Any

try:  # CPython's C string encoder and scanner, without the json package (which imports and compiles regexes)
    import _json

    _encode_basestring = _json.encode_basestring
    _make_scanner: Any = _json.make_scanner
except ImportError:  # pragma: no cover - other interpreters: the json package does all the work
    from json.encoder import encode_basestring as _encode_basestring

    _make_scanner = None

_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
}


_HTML_OR_SEPARATOR = lazy_compile("[<>&\u2028\u2029]")
_UNDECODABLE = lazy_compile("[\udc80-\udcff]")

# Characters Go's encoder does not copy as they are; a string without any is quoted with one concatenation.
_NEEDS_ESCAPE = lazy_compile('["\\\\<>&\x00-\x1f\u2028\u2029\udc80-\udcff]')
# The ASCII characters Go escapes: control characters, '"', '\\' and the HTML-unsafe ones. bytes.translate
# deletes them at C speed: a string that loses none is copied as it is (4x faster than a set test on ENC values).
_ASCII_ESCAPED = bytes(range(0x20)) + b'"\\<>&'


def go_json_string(text: str) -> str:
    """Quote a string as Go's json.Marshal does (HTML-safe, raw UTF-8 for other non-ASCII)."""
    if text.isascii():  # most values: no regex (a decrypt then never imports re)
        if len(text.encode("ascii").translate(None, _ASCII_ESCAPED)) == len(text):
            return '"' + text + '"'
        out = _encode_basestring(text)
        for char in "<>&":
            if char in out:
                out = out.replace(char, _ESCAPES[char])
        return out
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


_INFINITIES = (float("inf"), float("-inf"))


def _parse_number(text: str) -> float:
    number = float(text)
    if number in _INFINITIES:
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


class _NotDecoded(Exception):
    """The lean decoder met something it does not report itself (an error): the json package decides."""


class _Context:
    """What CPython's C scanner reads from a ``json.JSONDecoder``: psops' hooks, strict strings."""

    def __init__(self) -> None:
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = _mapping
        self.parse_float = _parse_number
        self.parse_int = _parse_number
        self.parse_constant = _reject_constant


def _mapping(pairs: list[tuple[str, Value]]) -> Mapping:
    return Mapping(list(pairs))


_JSON_WHITESPACE = " \t\n\r"


def _decode(text: str) -> object:
    """``json.JSONDecoder(...).decode(text)`` with the C scanner alone; :class:`_NotDecoded` for any error."""
    if _make_scanner is None:  # pragma: no cover - not CPython
        raise _NotDecoded
    start = 0
    while start < len(text) and text[start] in _JSON_WHITESPACE:  # (lstrip would copy a large file)
        start += 1
    try:
        root, end = _make_scanner(_Context())(text, start)
    except (_OutOfRange, RecursionError):
        raise
    except Exception as exc:  # StopIteration (no value), JSONDecodeError, a constant: reported by the json package
        raise _NotDecoded from exc
    if text[end:].strip(_JSON_WHITESPACE):
        raise _NotDecoded  # "Extra data"
    return root


def _decode_reporting(text: str) -> object:
    """Decode with the json package, turning its errors into :class:`CannotReadInput` (line and column)."""
    import json

    decoder = json.JSONDecoder(object_pairs_hook=_mapping, parse_int=_parse_number, parse_float=_parse_number,
                               parse_constant=_reject_constant)
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise CannotReadInput(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except _OutOfRange as exc:
        raise CannotReadInput(f"invalid JSON: {exc}", hint="sops cannot store it either") from None
    except ValueError as exc:
        raise CannotReadInput(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise too_deep() from None


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
        ensure_recursion_room()  # the C decoder recurses once per level (docs/limits.md)
        try:
            root = _decode(text)
        except _NotDecoded:  # the json package reports the error (or, impossibly, decodes the text)
            root = _decode_reporting(text)
        except _OutOfRange as exc:
            raise CannotReadInput(f"invalid JSON: {exc}", hint="sops cannot store it either") from None
        except RecursionError:
            raise too_deep() from None
        if not isinstance(root, Mapping):
            raise CannotReadInput(f"the JSON root must be an object, not {type(root).__name__}")
        check_depth([root], brackets=text.count("[") + text.count("{"))
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
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
