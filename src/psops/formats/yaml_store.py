"""The YAML store: bytes <-> :mod:`psops.tree` exactly as sops (go-yaml v3) reads and writes them.

Reading uses libyaml (ruamel.yaml.clib's C parser) for the structure (events with marks); input libyaml
rejects goes through ruamel.yaml's pure-Python scanner and parser instead, so errors and the few inputs where
the two disagree are handled exactly as before. go-yaml v3's scalar resolver is applied on top (spec 8.1:
``017`` is octal, ``yes`` is a string, three timestamp layouts, no sexagesimal numbers). Comments are not
taken from ruamel's comment model; they are found in the gaps between tokens (a second, token-level libyaml
pass, run only when the text has a ``#``) and placed the way go-yaml v3 attaches them (head, line and foot
comments, including its foot-comment split on dedent and block-end repositioning) followed by sops'
flattening into comment pseudo-items:

* a line comment (``k: v # c``) becomes an item placed *before* its key or list element;
* head comments come before the item they precede; foot comments after the item they follow, at the level
  go-yaml gives them.

Writing is a small emitter reproducing go-yaml v3's block layout with ``indent`` (default 4): sequences
indented under their key, first key of a mapping in a sequence on the dash line, ``{}``/``[]`` for empty
collections, literal blocks for multi-line strings, double quotes for strings that would resolve to another
type, no line wrapping, ``---`` between documents.
"""

from __future__ import annotations

import gc
from itertools import accumulate

from psops.cipher import format_time
from psops.errors import CannotReadInput, EmptyDocument
from psops.formats.ruamel_import import import_c_parser, import_event_and_token_modules
from psops.formats.yaml_resolve import (
    INF,
    INT,
    MERGE,
    STR,
    UINT,
    parse_timestamp,
    plain_is_string,
    resolve_plain,
)
from psops.gofmt import format_float as go_format_float
from psops.lazyre import lazy_compile
from psops.limits import MAX_ALIAS_NODES, MAX_DEPTH, too_deep
from psops.tree import Comment, Document, Mapping, Value, is_time

try:  # the C functions bisect.py re-exports (the wrapper module is one import more on every YAML load)
    from _bisect import bisect_left, bisect_right
except ImportError:  # pragma: no cover - another interpreter
    from bisect import bisect_left, bisect_right

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

# ruamel.yaml's event and token classes, without its __init__ (see psops.formats.ruamel_import)
ev, tk = import_event_and_token_modules()

__all__ = ["YamlStore", "format_float", "format_time", "resolve_plain"]

# ---------------------------------------------------------------------------------------------------------
# Value formatting (Go strconv / time)
# ---------------------------------------------------------------------------------------------------------


def format_float(x: float) -> str:
    """Format like go-yaml: ``strconv.FormatFloat(x, 'g', -1, 64)`` plus ``.inf``/``-.inf``/``.nan``."""
    if x != x:  # NaN
        return ".nan"
    if x in (INF, -INF):
        return ".inf" if x > 0 else "-.inf"
    return go_format_float(x, "g")


# ---------------------------------------------------------------------------------------------------------
# Emitter (go-yaml v3 layout)
# ---------------------------------------------------------------------------------------------------------

# Words of safe characters separated by single spaces (": " and " #" are excluded where this is used): go-yaml's
# analysis always allows such a string plain, so the character-by-character _analyze is skipped for it.
_SAFE_PLAIN = lazy_compile(r"[A-Za-z0-9_./+=$^()<;\\][A-Za-z0-9_./+=$^()<>;\\:@!%&*'\"`|~?,\[\]{}#-]*"
                         r"(?: [A-Za-z0-9_./+=$^()<>;\\:@!%&*'\"`|~?,\[\]{}#-]+)*")
_SAFE_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./+=$^()<;\\"
_SAFE_WORDS = (_SAFE_FIRST + ">:@!%&*'\"`|~?,[]{}#- ").encode("ascii")


def _only(s: str, allowed: bytes) -> bool:
    """Every character of ``s`` is one of the ASCII ``allowed``: bytes.translate deletes them all at C speed
    (several times faster than a frozenset or str.strip test on a long string)."""
    return s.isascii() and not s.encode("ascii").translate(None, allowed)


def _is_safe_plain(s: str) -> bool:
    """``_SAFE_PLAIN.fullmatch(s)``: safe characters, single spaces between words, a safe first character."""
    return bool(s) and s[0] in _SAFE_FIRST and s[-1] != " " and "  " not in s and _only(s, _SAFE_WORDS)


def _is_printable(o: int) -> bool:
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


_BREAKS = frozenset("\r\n\x85\u2028\u2029")
# The line and paragraph separators: printable line breaks, so they can stand in single-quoted and literal scalars.
_SEPARATORS = ("\u2028", "\u2029")


def _has_separator(text: str) -> bool:
    return "\u2028" in text or "\u2029" in text


def _indent_after_breaks(text: str, pad: str, at_break: bool) -> str:
    """go-yaml's writing of a scalar's characters: after a line break (a separator, or the start of a literal
    block's line when ``at_break``), the next character that is not a break starts with the indentation."""
    out: list[str] = []
    for ch in text:
        if ch in _BREAKS:
            at_break = True
        elif at_break:
            out.append(pad)
            at_break = False
        out.append(ch)
    return "".join(out)


class _Analysis:
    """What go-yaml's scalar analysis allows for one string."""

    __slots__ = ("block", "block_plain", "multiline", "single")

    def __init__(self, multiline: bool, block_plain: bool, single: bool, block: bool) -> None:
        self.multiline = multiline
        self.block_plain = block_plain
        self.single = single
        self.block = block


def _analyze(value: str) -> _Analysis:
    """Port of go-yaml's yaml_emitter_analyze_scalar (block context only)."""
    if not value:
        return _Analysis(False, True, True, False)
    block_ind = False
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    prev_space = prev_break = False
    if value.startswith(("---", "...")):
        block_ind = True
    preceded_ws = True
    n = len(value)
    for i, ch in enumerate(value):
        followed_ws = i + 1 >= n or value[i + 1] in " \t\r\n\x85\u2028\u2029"
        if i == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                block_ind = True
            elif ch in "?:":
                if followed_ws:
                    block_ind = True
            elif ch == "-" and followed_ws:
                block_ind = True
        elif ch == ":":
            if followed_ws:
                block_ind = True
        elif ch == "#" and preceded_ws:
            block_ind = True
        o = ord(ch)
        if ch == "\t":
            tabs = True
        elif not _is_printable(o):
            special = True
        if ch == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif ch in _BREAKS:
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_ws = ch in " \t\r\n\x85\u2028\u2029"
    block_plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        block_plain = False
    if trailing_space:
        block = False
    if break_space:
        block_plain = single = False
    if space_break or tabs or special:
        block_plain = single = False
    if space_break or special:
        block = False
    if line_breaks:
        block_plain = False
    if block_ind:
        block_plain = False
    return _Analysis(line_breaks, block_plain, single, block)


_ESCAPES = {
    0x00: "\\0",
    0x07: "\\a",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0B: "\\v",
    0x0C: "\\f",
    0x0D: "\\r",
    0x1B: "\\e",
    0x22: '\\"',
    0x5C: "\\\\",
    0x85: "\\N",
    0x2028: "\\L",
    0x2029: "\\P",
}


def _double_quoted(s: str) -> str:
    out = ['"']
    escape_all = s.startswith("\ufeff")  # go-yaml escapes everything after a leading BOM
    for ch in s:
        o = ord(ch)
        if o in _ESCAPES:
            out.append(_ESCAPES[o])
        elif escape_all:
            out.append(f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}")
        elif _is_printable(o):
            out.append(ch)
        elif o <= 0xFF:
            out.append(f"\\x{o:02X}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04X}")
        else:
            out.append(f"\\U{o:08X}")
    out.append('"')
    return "".join(out)


_LITERAL = "|"
_PLAIN = ""
_SINGLE = "'"
_DOUBLE = '"'


# _analyze(s).block is False exactly when s ends with a space, has a space right before a line break, or has
# a character go-yaml does not print as it is (the complement of _is_printable, tab excepted; written as the
# ranges of that complement because a negated class over all of Unicode takes ~14 ms to compile).
_NOT_BLOCK = lazy_compile(" $| [\\r\\n\\x85\\u2028\\u2029]|"
                        "[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ud800-\\udfff\\ufeff\\ufffe\\uffff\\U00010000-\\U0010ffff]")


def _block_ok(s: str) -> bool:
    """``_analyze(s).block``, i.e. ``_NOT_BLOCK.search(s) is None``, without a loop over the characters."""
    if not s:
        return False
    if s.isascii():  # printable ASCII, tabs and line feeds; no space at the end or before a line feed
        return (s[-1] != " " and " \n" not in s
                and s.replace("\n", "").replace("\t", "").isprintable())
    return _NOT_BLOCK.search(s) is None


# An encrypted value: 'ENC[' and base64 fields. Such a string is always plain (checked by the tests).
_ENC_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:,[]_"


def _string_style(s: str, key: bool) -> str:
    """The scalar style go-yaml (via sops' Node.Encode round trip) gives the string ``s``."""
    if s[-1:] == "]" and s.startswith("ENC[") and _only(s, _ENC_CHARS):  # most values of an encrypted file
        return _PLAIN
    return _general_string_style(s, key)


def _general_string_style(s: str, key: bool) -> str:
    if (
        _is_safe_plain(s)
        and ": " not in s
        and " #" not in s
        and s[-1] != ":"  # a ':' at the end is followed by "whitespace" for go-yaml: 'abc:' is quoted
        and not s.startswith("...")
        and plain_is_string(s)
    ):
        return _PLAIN
    if "\n" in s:
        if key:
            return _DOUBLE
        return _LITERAL if _block_ok(s) else _DOUBLE
    if not plain_is_string(s):
        return _DOUBLE
    a = _analyze(s)
    if a.block_plain:
        return _PLAIN
    return _SINGLE if a.single else _DOUBLE


class _Emitter:
    def __init__(self, indent: int) -> None:
        self.w = indent
        self.out: list[str] = []

    def nested(self, indent: int) -> int:
        """go-yaml increase_indent outside a sequence item: round up to the next multiple of the indent."""
        return self.w * ((indent + self.w) // self.w)

    def scalar_text(self, v: Value, key: bool = False) -> tuple[str, str]:
        """Return (style, text) for a leaf; style "|" means a literal block whose body is ``text``."""
        if type(v) is str and v != "<<":  # most leaves and every key
            return self.string_text(v, key)
        if v is None:
            return _PLAIN, "null"
        if v is True:
            return _PLAIN, "true"
        if v is False:
            return _PLAIN, "false"
        if isinstance(v, int):
            return _PLAIN, str(v)
        if isinstance(v, float):
            return _PLAIN, format_float(v)
        if is_time(v):
            if v.tzinfo is None:
                from datetime import timezone

                v = v.replace(tzinfo=timezone.utc)
            return _PLAIN, format_time(v)
        if isinstance(v, bytes):
            raw = v
            try:
                v = raw.decode("utf-8")
            except UnicodeDecodeError:
                import base64  # only for !!binary values

                b64 = base64.b64encode(raw).decode("ascii")
                if len(b64) > 70:
                    return _LITERAL, "!!binary" + "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
                return _PLAIN, "!!binary " + b64
        if isinstance(v, Comment):
            v = v.text
        if not isinstance(v, str):
            raise TypeError(f"cannot write a value of type {type(v).__name__} as YAML")
        if v == "<<":
            return _PLAIN, "!!merge <<"
        return self.string_text(v, key)

    @staticmethod
    def string_text(v: str, key: bool) -> tuple[str, str]:
        """:meth:`scalar_text` of a string."""
        style = _string_style(v, key)
        if style == _PLAIN:
            return _PLAIN, v
        if style == _SINGLE:
            return _SINGLE, "'" + v.replace("'", "''") + "'"
        if style == _DOUBLE:
            return _DOUBLE, _double_quoted(v)
        return _LITERAL, v

    def literal(self, prefix: str, body: str, indent: int) -> None:
        """Write ``prefix`` + a literal block header, then ``body`` at ``indent``."""
        tag = ""
        if body.startswith("!!binary"):
            tag, body = "!!binary ", body[len("!!binary") :] + "\n"
        hint = ""
        if body[:1] in (" ", "\n", *_SEPARATORS):  # go-yaml: a space or any line break first
            hint = str(self.w)
        if body[-1:] not in ("\n", *_SEPARATORS):
            chomp = "-"
        elif len(body) == 1 or body[-2] in ("\n", *_SEPARATORS):
            chomp = "+"
        else:
            chomp = ""
        self.out.append(f"{prefix}{tag}|{hint}{chomp}\n")
        pad = " " * indent
        lines = body.split("\n")
        if body.endswith("\n"):
            lines.pop()
        if _has_separator(body):  # each separator is a line break too: the text after it is indented
            self.out.extend(_indent_after_breaks(line, pad, True) + "\n" for line in lines)
            if body[-1] in _SEPARATORS:  # it ends the block's last line: go-yaml adds no line feed after it
                self.out[-1] = self.out[-1][:-1]
            return
        self.out.extend(f"{pad}{line}\n" if line else "\n" for line in lines)

    def comment(self, text: str, indent: int) -> None:
        self.out.append(f"{' ' * indent}#{text}\n")

    def mapping(self, m: Mapping, indent: int, first_prefix: str | None) -> None:
        """Emit a non-empty block mapping whose keys sit at ``indent``.

        ``first_prefix`` is the text already on the line for the first key (a sequence dash), or None.
        """
        pad = " " * indent
        prefix = first_prefix
        for k, v in m.items:
            if isinstance(k, Comment):
                self.comment(k.text, indent)
                continue
            lead = prefix if prefix is not None else pad
            prefix = None
            # a multi-line key (any line break) or one over 128 bytes (a key of at most 32 characters has at
            # most 128 bytes in UTF-8)
            if ("\n" in k or "\r" in k or (not k.isascii() and not _BREAKS.isdisjoint(k))
                    or (len(k) > 32 and len(k.encode("utf-8", "surrogateescape")) > 128)):
                self.complex_key(lead, k, v, indent)
                continue
            if k == "<<" and not _mergeable(v):
                ktext = '"<<"'  # `!!merge <<` with a non-mapping value is refused by sops (and go-yaml)
            else:
                _, ktext = self.scalar_text(k, key=True)
            self.value(lead + ktext + ":", v, indent)

    def complex_key(self, lead: str, k: str, v: Value, indent: int) -> None:
        """A key go-yaml cannot write as a simple key (multi-line or over 128 bytes): ``? key`` / ``: value``."""
        style, ktext = self.scalar_text(k)
        if style == _LITERAL:
            self.literal(lead + "? ", ktext, self.nested(indent))
        else:
            if style == _SINGLE:
                ktext = self.single_quoted(ktext, self.nested(indent))
            self.out.append(f"{lead}? {ktext}\n")
        pad = " " * indent
        inner = self.nested(indent)
        if isinstance(v, Mapping) and _has_keys(v):
            self.mapping(v, inner, pad + ":" + " " * (inner - indent - 1))
        elif isinstance(v, list) and _has_elements(v):
            self.sequence(v, inner, pad + ":" + " " * (inner - indent - 1))
        else:
            self.value(pad + ":", v, indent)

    def value(self, line: str, v: Value, indent: int) -> None:
        """Emit the value of a mapping key whose line so far is ``line``; keys are at ``indent``."""
        if isinstance(v, Mapping):
            if not _has_keys(v):
                # comments in an empty collection (`key: [] # c`) follow its line at the key's indent, as sops
                # writes them for a list (sops drops them for a mapping; psops keeps them the same way)
                self.out.append(line + " {}\n")
                self._orphan_comments(v.items, indent)
                return
            self.out.append(line + "\n")
            self.mapping(v, self.nested(indent), None)
        elif isinstance(v, list):
            if not _has_elements(v):
                self.out.append(line + " []\n")
                self._orphan_comments(v, indent)
                return
            self.out.append(line + "\n")
            self.sequence(v, self.nested(indent), None)
        else:
            style, text = self.scalar_text(v)
            if style == _LITERAL:
                self.literal(line + " ", text, self.nested(indent))
            else:
                if style == _SINGLE:
                    text = self.single_quoted(text, self.nested(indent))
                self.out.append(f"{line} {text}\n")

    @staticmethod
    def single_quoted(text: str, indent: int) -> str:
        """A single-quoted scalar as written at block indent ``indent`` (the one a literal block there gets):
        go-yaml indents the text after a line or paragraph separator (not the closing quote)."""
        if _has_separator(text):
            return "'" + _indent_after_breaks(text[1:-1], " " * indent, False) + "'"
        return text

    def _orphan_comments(self, items: list[Any], indent: int) -> None:
        for it in items:
            c = it[0] if isinstance(it, tuple) else it
            if isinstance(c, Comment):
                self.comment(c.text, indent)

    def sequence(self, seq: list[Value], indent: int, first_prefix: str | None) -> None:
        """Emit a non-empty block sequence with dashes at ``indent``."""
        pad = " " * indent
        prefix = first_prefix
        # comments after the last element are a foot comment of that element
        last_idx = max((i for i, v in enumerate(seq) if not isinstance(v, Comment)), default=-1)
        for i, v in enumerate(seq):
            if isinstance(v, Comment):
                if i > last_idx:
                    lv = seq[last_idx]
                    deep = (isinstance(lv, Mapping) and _has_keys(lv)) or (
                        isinstance(lv, list) and _has_elements(lv)
                    )
                    self.comment(v.text, indent + 2 if deep else indent)
                else:
                    self.comment(v.text, indent)
                continue
            dash = (prefix if prefix is not None else pad) + "-"
            prefix = None
            if isinstance(v, Mapping):
                if not _has_keys(v):
                    for c, _ in v.items:
                        if isinstance(c, Comment):
                            self.comment(c.text, indent)
                    self.out.append(dash + " {}\n")
                    continue
                lead = 0
                while isinstance(v.items[lead][0], Comment):
                    c = v.items[lead][0]
                    assert isinstance(c, Comment)
                    self.comment(c.text, indent)
                    lead += 1
                self.mapping(Mapping(v.items[lead:]), indent + 2, dash + " ")
            elif isinstance(v, list):
                if not _has_elements(v):
                    for el in v:
                        if isinstance(el, Comment):
                            self.comment(el.text, indent)
                    self.out.append(dash + " []\n")
                    continue
                lead = 0
                while isinstance(v[lead], Comment):
                    el = v[lead]
                    assert isinstance(el, Comment)
                    self.comment(el.text, indent)
                    lead += 1
                self.sequence(v[lead:], indent + 2, dash + " ")
            else:
                style, text = self.scalar_text(v)
                if style == _LITERAL and text[:1] in (" ", "\n", *_SEPARATORS):
                    # go-yaml writes `- |4-` here, which neither go-yaml nor psops reads back
                    style, text = _DOUBLE, _double_quoted(text)
                if style == _LITERAL:
                    self.literal(dash + " ", text, indent + 2)
                else:
                    if style == _SINGLE:
                        text = self.single_quoted(text, indent + 2)
                    self.out.append(f"{dash} {text}\n")

    def document(self, m: Mapping) -> None:
        if not _has_keys(m):
            self._orphan_comments(m.items, 0)
            self.out.append("{}\n")
            return
        self.mapping(m, 0, None)


def _mergeable(v: Value) -> bool:
    """Whether a ``<<`` key with value ``v`` is a valid YAML merge (a mapping or a list of mappings)."""
    if isinstance(v, Mapping):
        return True
    return isinstance(v, list) and _has_elements(v) and all(
        isinstance(x, Mapping) for x in v if not isinstance(x, Comment))


def _has_keys(m: Mapping) -> bool:
    return any(isinstance(k, str) for k, _ in m.items)


def _has_elements(seq: list[Value]) -> bool:
    return any(not isinstance(v, Comment) for v in seq)


# ---------------------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------------------


def _recording_scanner() -> type:
    """ruamel's pure-Python scanner, keeping every token handed to the parser (for comment placement)."""
    from ruamel.yaml.scanner import Scanner

    class _RecordingScanner(Scanner):
        taken: list[Any]

        def get_token(self) -> Any:
            t = super().get_token()
            if t is not None:
                try:
                    self.taken.append(t)
                except AttributeError:
                    self.taken = [t]
            return t

    return _RecordingScanner


class _LimitError(CannotReadInput):
    """A limit of :mod:`psops.limits` was exceeded: reported at once, never retried or drained."""


def _too_deep() -> _LimitError:
    base = too_deep()
    return _LimitError(base.message, hint=base.hint)


_ALIAS_RATIO_LOW = 400_000
_ALIAS_RATIO_HIGH = 4_000_000


def _allowed_alias_ratio(nodes: int) -> float:
    """go-yaml v3 allowedAliasRatio: 0.99 up to 400,000 decoded nodes, 0.10 from 4,000,000, linear between."""
    if nodes <= _ALIAS_RATIO_LOW:
        return 0.99
    if nodes >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (nodes - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


class _LibyamlRejected(Exception):
    """libyaml failed on the input: the pure-Python parser decides (its result or its error)."""


def _c_parser_class() -> Any:
    """ruamel.yaml.clib's CParser, or None when the extension is not installed."""
    return import_c_parser()


def _c_stream(text: str, method: str) -> Iterator[Any]:
    """The events (``get_event``) or tokens (``get_token``) libyaml makes of ``text``, one at a time.

    libyaml and ruamel's Python parser give the same events and tokens with the same marks for the input
    sops reads (libyaml differs only in where it marks empty scalars and the stream end, which this store
    does not use). Where libyaml fails (it is stricter in places, e.g. ``: `` at the start of a flow
    scalar) this raises :class:`_LibyamlRejected`.
    """
    try:
        get = getattr(_c_parser_class()(text), method)
    except Exception as exc:
        raise _LibyamlRejected from exc
    while True:
        try:
            item = get()
        except Exception as exc:
            raise _LibyamlRejected from exc
        if item is None:
            return
        yield item


# slot kinds of a placed comment
_BEFORE = 0
_AFTER = 1


# The loader's records are plain slotted classes rather than dataclasses: one _Role is made per node, and
# importing dataclasses (with inspect) plus processing the classes cost more than parsing a small file.


class _Role:
    """Where a node sits: as key/value of item ``pos`` of a mapping, or element ``pos`` of a list."""

    __slots__ = ("container", "flow", "kind", "node", "pos")

    def __init__(self, container: Any, pos: int, kind: str, node: Any = None, flow: bool = False) -> None:
        self.container = container  # Mapping or list
        self.pos = pos
        self.kind = kind  # "key", "value", "elem", "root"
        self.node = node  # the Mapping/list this event opened, if any
        self.flow = flow


class _Frame:
    """An open collection while the events are built into the tree."""

    __slots__ = ("anchor", "col", "expect_key", "flow", "indentless", "key", "key_mark", "kind", "nodes_before",
                 "obj", "role", "seen", "start")

    def __init__(self, kind: str, obj: Any, role: _Role, col: int, flow: bool, indentless: bool, start: int,
                 anchor: str | None) -> None:
        self.kind = kind  # "map" or "seq"
        self.obj = obj
        self.role = role
        self.col = col
        self.flow = flow
        self.indentless = indentless
        self.start = start
        self.anchor = anchor
        self.key: str | None = None  # pending mapping key
        self.key_mark: Any = None
        self.expect_key = True
        self.seen: dict[str, int] = {}
        self.nodes_before = 0  # nodes built before this collection (for its anchor's size)


class _CRec:
    """A comment block as go-yaml's scanner records it."""

    __slots__ = ("end", "kind", "lines", "scan_mark", "start", "start_col1", "token_mark")

    def __init__(self, kind: str, lines: list[tuple[int, str]], token_mark: int, start: int, start_col1: int,
                 end: int, scan_mark: int) -> None:
        self.kind = kind  # "foot" or "head"
        self.lines = lines  # (source index of '#', text)
        self.token_mark = token_mark  # -1 means: the prior token
        self.start = start
        self.start_col1 = start_col1
        self.end = end
        self.scan_mark = scan_mark


_NL = lazy_compile(r"\r\n|\r|\n|\x85|\u2028|\u2029")


def _comment_marks(text: str) -> list[int]:
    """Positions of every '#' that can start a comment: at the start of a line or after a space or tab.

    (The same as matching ``(?:^|(?<=[ \t]))#`` in multi-line mode, but a plain search for '#' is several times
    faster than that pattern on a large file.)
    """
    out: list[int] = []
    p = text.find("#")
    while p >= 0:
        if p == 0 or text[p - 1] in " \t\n":
            out.append(p)
        p = text.find("#", p + 1)
    return out


class _Loader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.docs: list[Mapping] = []
        self.anchors: dict[str, Any] = {}
        # per non-END event start index: the outermost role starting there
        self.starts: list[int] = []
        self.start_roles: list[_Role] = []
        # END events of block collections, keyed by start index: [(frame)]
        self.block_ends: dict[int, list[_Frame]] = {}
        self.flow_spans: list[tuple[int, int, _Role]] = []
        self.flow_starts: list[int] = []
        self.scalar_roles: dict[int, _Role] = {}
        self.doc_roots: list[tuple[int, Mapping]] = []
        self.inserts: dict[int, list[tuple[int, int, int, str]]] = {}
        self.containers: dict[int, Any] = {}
        self.line_starts: list[int] = []
        # the usual text breaks lines with "\n" only: str.find/count then do what the _NL pattern does
        self.lf_only = "\r" not in text and (text.isascii() or not any(c in text for c in "\x85\u2028\u2029"))

    # -- line breaks ----------------------------------------------------------------------------------
    def break_at(self, start: int, end: int | None = None) -> int:
        """Index of the first line break in ``text[start:end]`` (-1: none)."""
        if end is None:
            end = len(self.text)
        if self.lf_only:
            return self.text.find("\n", start, end)
        m = _NL.search(self.text, start, end)
        return -1 if m is None else m.start()

    def breaks_between(self, start: int, end: int) -> int:
        """How many line breaks ``text[start:end]`` holds (CRLF counts once)."""
        if self.lf_only:
            return self.text.count("\n", start, end)
        return len(_NL.findall(self.text, start, end))

    # -- errors ---------------------------------------------------------------------------------------
    def pos(self, index: int) -> tuple[int, int]:
        if not self.line_starts:
            if self.lf_only:
                lines = self.text.split("\n")
                lines.pop()
                self.line_starts = [0, *accumulate(map((1).__add__, map(len, lines)))]
            else:
                self.line_starts = [0] + [m.end() for m in _NL.finditer(self.text)]
        line = bisect_right(self.line_starts, index) - 1
        return line + 1, index - self.line_starts[line] + 1

    def fail(self, mark: Any, msg: str) -> CannotReadInput:
        if mark is None:
            return CannotReadInput(f"Error unmarshaling input YAML: yaml: {msg}")
        line, col = mark.line + 1, mark.column + 1
        return CannotReadInput(f"Error unmarshaling input YAML: yaml: line {line}, column {col}: {msg}")

    # -- parse ----------------------------------------------------------------------------------------
    def run(self, *, c_parser: bool = True) -> Document:
        """Parse and build the document; ``c_parser=False`` uses only the pure-Python parser (tests compare).

        With libyaml the events and tokens are streamed into the tree builder and the comment placer rather
        than collected first (a 100,000-value file has about a million of them). The outcome is the one of
        collecting them first: when libyaml fails anywhere in the stream, everything is redone with the
        pure-Python parser, and an error the builder raises is reported only once libyaml has read the rest
        of the stream without failing.
        """
        marks = _comment_marks(self.text)
        if c_parser and _c_parser_class() is not None:
            try:
                return self._build_and_place(_c_stream(self.text, "get_event"), marks, c_tokens=True)
            except _LibyamlRejected:
                return _Loader(self.text).run(c_parser=False)
        evs, tokens = self.py_parse()
        return self._build_and_place(evs, marks, tokens=tokens)

    def _build_and_place(self, evs: Iterator[Any] | list[Any], marks: list[int], *, c_tokens: bool = False,
                         tokens: list[Any] | None = None) -> Document:
        try:
            self.build(evs)
        except _LimitError:
            raise  # draining or re-parsing hostile input is what a limit prevents
        except (CannotReadInput, EmptyDocument, RecursionError):
            if c_tokens:
                for _ in evs:  # raises _LibyamlRejected if libyaml fails further on
                    pass
            raise
        if not self.docs:
            raise CannotReadInput("Error unmarshalling file: EOF")
        if marks:
            self.place_comments(_c_stream(self.text, "get_token") if c_tokens else (tokens or []), marks)
            self.apply_inserts()
        return self.docs

    def py_parse(self) -> tuple[list[Any], list[Any]]:
        """Events and tokens from ruamel's pure-Python scanner and parser (its errors are the ones reported)."""
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        y = YAML(typ="safe", pure=True)
        y.Scanner = _recording_scanner()
        evs: list[Any] = []
        depth = 0
        opens = (ev.MappingStartEvent, ev.SequenceStartEvent)
        closes = (ev.MappingEndEvent, ev.SequenceEndEvent)
        try:
            for e in y.parse(self.text):
                if isinstance(e, opens):
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise _too_deep()
                elif isinstance(e, closes):
                    depth -= 1
                evs.append(e)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            raise self.fail(mark, problem) from None
        except YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
            raise CannotReadInput(f"Error unmarshaling input YAML: yaml: {first}") from None
        scanner = y.scanner
        return evs, getattr(scanner, "taken", [])

    def build(self, evs: Iterable[Any]) -> None:
        stack: list[_Frame] = []
        doc_root: Mapping | None = None
        root_value: Any = None
        # alias budget (per document): nodes built, nodes added by aliases, the size of each anchored node
        nodes = aliased = 0
        sizes: dict[str, int] = {}
        scalar_event, alias_event = ev.ScalarEvent, ev.AliasEvent  # (looked up once: one event per node)
        starts, start_roles = self.starts, self.start_roles
        for e in evs:
            cls = type(e)
            if cls is scalar_event or cls is alias_event:
                if cls is alias_event:
                    if e.anchor not in self.anchors:
                        raise self.fail(e.start_mark, f"unknown anchor '{e.anchor}' referenced")
                    val = self.anchors[e.anchor]
                    if val is _IN_PROGRESS:
                        raise self.fail(e.start_mark, f"anchor '{e.anchor}' value contains itself")
                    size = sizes.get(e.anchor, 1)
                    aliased += size
                    nodes += size
                    if aliased > MAX_ALIAS_NODES or (
                        aliased > 100 and nodes > 1000 and aliased / nodes > _allowed_alias_ratio(nodes)
                    ):
                        raise _LimitError("Error unmarshaling input YAML: yaml: document contains excessive aliasing",
                                          hint=f"psops expands at most {MAX_ALIAS_NODES} aliased nodes per "
                                               "document (see docs/limits.md)")
                    import copy  # only for aliases

                    val = copy.deepcopy(val)
                else:
                    nodes += 1
                    val = self.scalar(e)
                    if e.anchor:
                        self.anchors[e.anchor] = val
                        sizes[e.anchor] = 1
                if not stack:
                    root_value = ("scalar", e, val)
                    continue
                role = self.add(stack[-1], e, val)
                start = e.start_mark.index
                # self.note_start, inline
                if ((e.end_mark.index > start or cls is alias_event or role.kind == "elem")
                        and (not starts or starts[-1] != start)):  # (an empty `-` item is a place too)
                    starts.append(start)
                    start_roles.append(role)
                if e.style in ("|", ">"):
                    self.scalar_roles[start] = role
            elif cls is ev.MappingStartEvent or cls is ev.SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise _too_deep()
                nodes += 1
                is_map = cls is ev.MappingStartEvent
                obj: Any = Mapping() if is_map else []
                flow = bool(e.flow_style)
                col = e.start_mark.column
                if not stack:
                    if not is_map:
                        raise CannotReadInput(
                            "Error unmarshalling file: yaml: unmarshal errors: "
                            "cannot unmarshal !!seq into map[string]interface {}"
                        )
                    doc_root = obj
                    role = _Role(obj, 0, "root", obj, flow)
                    indentless = False
                else:
                    top = stack[-1]
                    role = self.add(top, e, obj)
                    role.node = obj
                    role.flow = flow
                    indentless = (
                        not is_map
                        and not flow
                        and top.kind == "map"
                        and not top.flow
                        and col == top.col
                    )
                if e.anchor:
                    self.anchors[e.anchor] = _IN_PROGRESS
                self.note_start(e.start_mark.index, role)
                frame = _Frame("map" if is_map else "seq", obj, role, col, flow, indentless,
                               e.start_mark.index, e.anchor)
                frame.nodes_before = nodes - 1
                stack.append(frame)
            elif cls is ev.MappingEndEvent or cls is ev.SequenceEndEvent:
                fr = stack.pop()
                if fr.anchor:
                    self.anchors[fr.anchor] = fr.obj
                    sizes[fr.anchor] = nodes - fr.nodes_before
                if fr.flow:
                    if not stack or not stack[-1].flow:
                        self.flow_spans.append((fr.start, e.end_mark.index, fr.role))
                elif not fr.indentless:
                    self.block_ends.setdefault(e.start_mark.index, []).append(fr)
                if not stack:
                    root_value = ("coll", e, fr.obj)
            elif cls is ev.DocumentStartEvent:
                if e.version is not None and tuple(e.version) != (1, 1):
                    raise _incompatible_version(e.start_mark)
                doc_root = None
                root_value = None
                self.anchors = {}
                nodes = aliased = 0
                sizes = {}
            elif cls is ev.DocumentEndEvent:
                if doc_root is None:
                    doc_root = Mapping()
                    if root_value is not None and root_value[0] == "scalar":
                        _, se, sval = root_value
                        if sval is not None:
                            tag = _short_tag(se, sval)
                            raise CannotReadInput(
                                "Error unmarshalling file: yaml: unmarshal errors: "
                                f"line {se.start_mark.line + 1}: cannot unmarshal {tag} "
                                "into map[string]interface {}"
                            )
                self.docs.append(doc_root)
                self.doc_roots.append((e.start_mark.index, doc_root))
                self.containers[id(doc_root)] = doc_root

    def note_start(self, index: int, role: _Role) -> None:
        if self.starts and self.starts[-1] == index:
            return
        self.starts.append(index)
        self.start_roles.append(role)

    def add(self, top: _Frame, e: Any, val: Any) -> _Role:
        """Attach a node to the open collection ``top``; return its role."""
        if top.kind == "seq":
            top.obj.append(val)
            return _Role(top.obj, len(top.obj) - 1, "elem")
        m: Mapping = top.obj
        if top.expect_key:
            if isinstance(val, (Mapping, list)):
                raise self.fail(e.start_mark, "invalid map key: a mapping or sequence cannot be a key")
            if not isinstance(val, str):
                raise self.fail(
                    e.start_mark, f"Tree contains a non-string key (type {_go_type(val)})"
                )
            if val in top.seen:
                raise self.fail(
                    e.start_mark, f'mapping key "{val}" already defined at line {top.seen[val]}'
                )
            top.seen[val] = e.start_mark.line + 1
            top.key = val
            top.expect_key = False
            m.items.append((val, None))
            return _Role(m, len(m.items) - 1, "key")
        top.expect_key = True
        idx = len(m.items) - 1
        m.items[idx] = (m.items[idx][0], val)
        return _Role(m, idx, "value")

    def scalar(self, e: Any) -> Any:
        value: str = e.value
        tag = e.tag
        if tag is None or tag == "!":
            if not e.style and tag is None:  # plain: style None (Python parser) or "" (libyaml)
                rtag, val = resolve_plain(value)
                if rtag == UINT:
                    raise self.fail(e.start_mark, "Cannot walk value, unknown type: uint64")
                return val
            return value
        short = tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else None
        if short is None or short == "str":
            return value
        if short == "binary":
            try:
                import base64  # only for !!binary values

                raw = base64.b64decode("".join(value.split()), validate=True)
            except ValueError:
                raise self.fail(e.start_mark, "!!binary value contains invalid base64 data") from None
            return raw.decode("utf-8", "surrogateescape")
        rtag, val = resolve_plain(value)
        if short == "timestamp" and rtag == STR:
            t = parse_timestamp(value)
            if t is not None:
                return t
        if short == "float" and rtag == INT:
            return float(val)
        if short == rtag or (short == "merge" and rtag == MERGE):
            return val
        if short in ("map", "seq", "omap", "set"):
            return value
        shown = "str" if rtag in (MERGE, UINT) else rtag
        raise self.fail(e.start_mark, f"cannot decode !!{shown} as a !!{short}")

    # -- comments -------------------------------------------------------------------------------------
    def place_comments(self, tokens: Iterable[Any], hashes: list[int]) -> None:
        """Find the comments (a ``#`` outside any token) and place each gap's comments as go-yaml does.

        One pass over the tokens keeps the block-indent stack and the flow depth; only the tokens around a
        gap that holds comments are kept (the token before, its indent and flow depth, and the token after).
        """
        if not hashes:
            return
        nh = len(hashes)
        h = 0
        gaps: dict[int, list[int]] = {}  # solid-token index -> '#' positions in the gap after it
        before: dict[int, tuple[tuple[int, int, Any], int, int]] = {}  # k -> (token, indent, flow depth)
        after: dict[int, tuple[int, int, Any]] = {}  # k -> the next solid token
        inside: list[tuple[int, tuple[int, int, Any]]] = []  # '#' inside a token
        istack: list[int] = []
        flow = 0
        k = -1  # index of the last non-zero-width token
        last: tuple[int, int, Any] | None = None
        last_indent, last_flow = -1, 0
        bms, bss, bend = tk.BlockMappingStartToken, tk.BlockSequenceStartToken, tk.BlockEndToken
        fss, fms, fse, fme = (tk.FlowSequenceStartToken, tk.FlowMappingStartToken, tk.FlowSequenceEndToken,
                              tk.FlowMappingEndToken)
        stream_end = tk.StreamEndToken
        for t in tokens:
            tt = type(t)
            if tt is bms or tt is bss:
                istack.append(t.start_mark.column)
            elif tt is bend:
                if istack:
                    istack.pop()
            elif tt is fss or tt is fms:
                flow += 1
            elif tt is fse or tt is fme:
                flow -= 1
            s = t.start_mark.index
            e_ = t.end_mark.index
            if e_ > s or tt is stream_end:
                if h < nh and hashes[h] < s:
                    pending: list[int] = []
                    while h < nh and hashes[h] < s:
                        p = hashes[h]
                        h += 1
                        if last is not None and p < last[1]:
                            inside.append((p, last))
                        elif not pending or self.break_at(pending[-1], p) >= 0:  # (not a '#' in a comment)
                            pending.append(p)
                    if pending:
                        gaps[k] = pending
                        if last is not None:
                            before[k] = (last, last_indent, last_flow)
                        after[k] = (s, e_, t)
                k += 1
                last = (s, e_, t)
                last_indent = istack[-1] if istack else -1
                last_flow = flow
        pending = []
        while h < nh:
            p = hashes[h]
            h += 1
            if last is not None and p < last[1]:
                inside.append((p, last))
            else:
                pending.append(p)
        if pending:
            gaps[k] = pending
            if last is not None:
                before[k] = (last, last_indent, last_flow)
        header_comments: set[int] = set()
        for p, (s, _, t) in inside:
            # inside a token: only a block scalar's header line holds a comment (the first '#' on it)
            if type(t) is tk.ScalarToken and t.style in ("|", ">") and s not in header_comments:
                nl = self.break_at(s)
                if nl < 0 or p < nl:
                    header_comments.add(s)
                    self.line_comment(p, self.scalar_roles.get(s), None)
        for gk, gap_hashes in gaps.items():
            prev, indent, flow_depth = before.get(gk, (None, -1, 0))
            self.gap(gap_hashes, prev, after.get(gk), indent, flow_depth)

    def comment_text(self, p: int) -> tuple[str, int]:
        """The text after '#' at ``p`` (to the line break) and the index of that break."""
        end = self.break_at(p)
        if end < 0:
            end = len(self.text)
        return self.text[p + 1 : end], end

    def gap(
        self,
        hashes: list[int],
        prev: tuple[int, int, Any] | None,
        nxt: tuple[int, int, Any] | None,
        indent: int,
        flow_depth: int,
    ) -> None:
        """Place the comments of one gap: after token ``prev`` (None: the start), before ``nxt`` (None: the end);
        ``indent`` and ``flow_depth`` are the block indent and flow nesting in force after ``prev``."""
        text = self.text
        gap_start = prev[1] if prev else 0
        prev_tok = prev[2] if prev else None
        if prev is not None and flow_depth > 0:
            for p in hashes:
                self.line_comment(p, self.flow_owner(prev[0] if prev else p), None)
            return
        prev_type = type(prev_tok)
        # a line comment: same line as the previous token
        if prev is not None and prev_type not in (
            tk.BlockEntryToken,
            tk.DocumentStartToken,
            tk.StreamStartToken,
            tk.DirectiveToken,
        ):
            first = hashes[0]
            if self.break_at(gap_start, first) < 0 and not (
                prev_type is tk.ScalarToken and getattr(prev_tok, "style", None) in ("|", ">")
            ):
                self.line_comment(first, self.owner_of(prev, prev_tok), prev_tok)
                hashes = hashes[1:]
                if not hashes:
                    return
        next_indent = max(indent, 0) if prev is not None else 0
        newlines = self.breaks_between(gap_start, hashes[0])
        recs = self.scan_comments(hashes, gap_start, prev, prev_type, next_indent, newlines, nxt)
        if not recs:
            return
        # go-yaml unroll_indent: where each closing block's BLOCK_END sits among the comments
        n_start = nxt[0] if nxt else len(text)
        closing = list(self.block_ends.get(n_start, []))
        if nxt is not None and type(nxt[2]) in (tk.DocumentStartToken, tk.DocumentEndToken):
            pass
        ends: list[tuple[int, _Frame]] = []
        block_mark = gap_start - 1
        for fr in closing:
            stop = block_mark
            for r in reversed(recs):
                if r.end < stop:
                    break
                if r.start_col1 == fr.col + 1:
                    block_mark = r.start
                stop = r.scan_mark
            ends.append((block_mark, fr))
        queue = list(recs)
        # a foot of the prior token goes after its node, unless that token carries no node of its own
        # (a bare '-' or ':' before an empty value): then the comment waits for the next event
        if prev is not None and prev_type not in _NODELESS:
            while queue and queue[0].token_mark == -1:
                self.after_prior(queue.pop(0), prev, prev_tok)
        for mark, fr in ends:
            while queue and mark >= queue[0].token_mark:
                r = queue[0]
                if r.kind == "head":
                    break
                self.at_block_end(r, fr)
                queue.pop(0)
        for r in queue:
            if r.kind == "foot" and self.foot_of_next_element(r, closing, nxt):
                continue
            self.at_next(r, n_start, nxt)

    def foot_of_next_element(self, r: _CRec, closing: list[_Frame], nxt: tuple[int, int, Any] | None) -> bool:
        """go-yaml's foot comment after a block collection that is a list item, at the list's dash column and
        set off from the next item by a blank line: it becomes that next item's foot (sops writes it after the
        item, or after the first entry of an item that is a collection). True when placed so."""
        if nxt is None or type(nxt[2]) is not tk.BlockEntryToken or r.start_col1 - 1 != nxt[2].start_mark.column:
            return False
        if not any(fr.role.kind == "elem" and fr.kind in ("map", "seq") for fr in closing):
            return False
        role = self.role_at(nxt[1])
        if role is None or role.kind != "elem":
            return False
        if isinstance(role.node, (Mapping, list)) and self.size(role.node):
            self.insert(role.node, 1, r.lines)
        else:
            self.insert(role.container, role.pos + 1, r.lines)
        return True

    def scan_comments(
        self,
        hashes: list[int],
        gap_start: int,
        prev: tuple[int, int, Any] | None,
        prev_type: Any,
        next_indent: int,
        newlines: int,
        nxt: tuple[int, int, Any] | None,
    ) -> list[_CRec]:
        """Port of go-yaml v3 yaml_parser_scan_comments over one gap of comment lines."""
        text = self.text
        recs: list[_CRec] = []
        token_mark = -1
        scan_mark = gap_start
        first_empty = newlines <= 1
        recent_empty = False
        first_line, first_col = self.pos(hashes[0])
        prev_line = self.pos(gap_start)[0] if prev is not None else 0
        foot_line = -1
        if prev is not None and prev_line - 1 > 0:
            foot_line = first_line - newlines + 1
            if newlines == 0 and first_col - 1 > 1:
                foot_line += 1
        is_value = prev_type is tk.ValueToken
        cur: list[tuple[int, str]] = []
        start = start_col = start_line = 0
        n_start = nxt[0] if nxt else len(text)
        # walk the lines from the first '#' to the next token
        p = hashes[0]
        hash_set = set(hashes)
        while True:
            # p is at a non-blank char of a line (a '#', or the next token), or at a break / end
            if p >= n_start or p >= len(text):
                # the next token, or the end of input
                if nxt is None or type(nxt[2]) is tk.StreamEndToken or p >= len(text):
                    if not recent_empty and cur and first_empty and (
                        (start_line == foot_line and not is_value) or start_col - 1 < next_indent
                    ):
                        tm = start if start_col - 1 < next_indent else token_mark
                        recs.append(_CRec("foot", cur, tm, start, start_col, p, scan_mark))
                        cur = []
                    break
                col1 = self.pos(p)[1]
                if cur and col1 - 1 < next_indent and col1 != start_col:
                    recs.append(_CRec("foot", cur, token_mark, start, start_col, p, scan_mark))
                    scan_mark = token_mark = p
                    cur = []
                break
            ch = text[p]
            if ch in "\r\n\x85\u2028\u2029":
                if not recent_empty and cur and first_empty and (
                    (start_line == foot_line and not is_value) or start_col - 1 < next_indent
                ):
                    tm = start if start_col - 1 < next_indent else token_mark
                    recs.append(_CRec("foot", cur, tm, start, start_col, p, scan_mark))
                    scan_mark = token_mark = p
                    cur = []
                first_empty = False
                recent_empty = True
                p += 2 if text.startswith("\r\n", p) else 1
                while p < len(text) and text[p] in " \t":
                    p += 1
                continue
            if ch != "#" or p not in hash_set:
                # unexpected content inside a gap: stop
                break
            line, col1 = self.pos(p)
            if cur and col1 - 1 < next_indent and col1 != start_col:
                recs.append(_CRec("foot", cur, token_mark, start, start_col, p, scan_mark))
                scan_mark = token_mark = p
                cur = []
            if not cur:
                start, start_col, start_line = p, col1, line
            recent_empty = False
            body, brk = self.comment_text(p)
            cur.append((p, body))
            # skip this line's break (go-yaml's peek++ quirk) and the next line's indentation
            p = brk
            if p < len(text):
                p += 2 if text.startswith("\r\n", p) else 1
            while p < len(text) and text[p] in " \t":
                p += 1
        if cur:
            recs.append(_CRec("head", cur, start, start, start_col, p - 1, scan_mark))
        return recs

    # -- placement ------------------------------------------------------------------------------------
    def insert(self, container: Any, slot: int, rec_lines: list[tuple[int, str]]) -> None:
        lst = self.inserts.setdefault(id(container), [])
        self.containers[id(container)] = container
        for p, body in rec_lines:
            lst.append((slot, p, len(lst), body))

    def size(self, container: Any) -> int:
        return len(container.items) if isinstance(container, Mapping) else len(container)

    def before(self, role: _Role | None, lines: list[tuple[int, str]]) -> None:
        if role is None:
            self.at_root_end(lines)
            return
        if role.kind == "root":
            self.insert(role.container, 0, lines)
        else:
            self.insert(role.container, role.pos, lines)

    def after(self, role: _Role | None, lines: list[tuple[int, str]]) -> None:
        if role is None:
            self.at_root_end(lines)
            return
        if role.kind == "root":
            self.insert(role.container, self.size(role.container), lines)
        else:
            self.insert(role.container, role.pos + 1, lines)

    def at_root_end(self, lines: list[tuple[int, str]]) -> None:
        if not self.doc_roots:
            return
        # the document containing the comment: the first whose end is at or after it
        p = lines[0][0]
        for s, root in self.doc_roots:
            if s >= p:
                self.insert(root, self.size(root), lines)
                return
        root = self.doc_roots[-1][1]
        self.insert(root, self.size(root), lines)

    def role_at(self, index: int) -> _Role | None:
        """The outermost node starting at or after ``index``."""
        i = bisect_left(self.starts, index)
        return self.start_roles[i] if i < len(self.starts) else None

    def flow_span(self, index: int) -> _Role | None:
        """The outermost flow collection spanning ``index`` (spans are disjoint and in order)."""
        if not self.flow_spans:
            return None
        if len(self.flow_starts) != len(self.flow_spans):
            self.flow_starts = [s for s, _, _ in self.flow_spans]
        i = bisect_right(self.flow_starts, index) - 1
        if i >= 0 and index <= self.flow_spans[i][1]:
            return self.flow_spans[i][2]
        return None

    def flow_owner(self, index: int) -> _Role | None:
        role = self.flow_span(index)
        return role if role is not None else self.role_at(index)

    def owner_of(self, prev: tuple[int, int, Any], tok: Any) -> _Role | None:
        """The node whose line a comment after token ``tok`` belongs to."""
        s = prev[0]
        if type(tok) is tk.ValueToken:
            # `key: # c` - the key of the item before this ':'
            i = bisect_right(self.starts, s) - 1
            if i >= 0 and self.start_roles[i].kind != "key" and isinstance(self.start_roles[i].node, Mapping):
                # the first key of a mapping starts where the mapping does, whose role is the one noted there
                return _Role(self.start_roles[i].node, 0, "key")
            while i >= 0 and self.start_roles[i].kind not in ("key",):
                i -= 1
            return self.start_roles[i] if i >= 0 else None
        role = self.flow_span(s)
        if role is not None:
            return role
        i = bisect_right(self.starts, s) - 1
        return self.start_roles[i] if i >= 0 else None

    def line_comment(self, p: int, role: _Role | None, tok: Any) -> None:
        body, _ = self.comment_text(p)
        lines = [(p, body)]
        outer = self.item_opening_line(p)
        if outer is not None:  # go-yaml gives it to the outermost node on the line: a list item it opens
            self.insert(outer.container, outer.pos, lines)
            return
        if role is None:
            self.at_root_end(lines)
        elif role.node is not None and role.kind == "value":
            # a line comment on a collection value opens that collection (sops nodeToTreeValue)
            self.insert(role.node, 0, lines)
        elif role.kind == "root":
            self.insert(role.container, 0, lines)
        else:
            self.before(role, lines)

    def item_opening_line(self, p: int) -> _Role | None:
        """The role of a block collection that is a list item and starts on the line of ``p`` (before it)."""
        nl = self.text.rfind("\n", 0, p) + 1  # (a line starting after CR or another break: no item found)
        i = bisect_left(self.starts, nl)
        while i < len(self.starts) and self.starts[i] < p:
            role = self.start_roles[i]
            if role.kind == "elem" and isinstance(role.node, (Mapping, list)) and not role.flow:
                return role
            i += 1
        return None

    def after_prior(self, r: _CRec, prev: tuple[int, int, Any] | None, tok: Any) -> None:
        if prev is None or type(tok) in (tk.StreamStartToken, tk.DocumentStartToken, tk.BlockEntryToken):
            self.at_next(r, prev[1] if prev else 0, None)
            return
        role = self.owner_of(prev, tok)
        if role is not None and role.kind == "key":
            role = _Role(role.container, role.pos, "value")
        self.after(role, r.lines)

    def at_block_end(self, r: _CRec, fr: _Frame) -> None:
        if fr.kind == "map":
            self.insert(fr.obj, len(fr.obj.items), r.lines)
        else:
            self.after(fr.role, r.lines)

    def at_next(self, r: _CRec, n_start: int, nxt: tuple[int, int, Any] | None) -> None:
        if nxt is not None and type(nxt[2]) in (
            tk.StreamEndToken,
            tk.DocumentStartToken,
            tk.DocumentEndToken,
        ):
            role = None
            if type(nxt[2]) is tk.DocumentStartToken:
                # comments before `---`: the end of the previous document, or, when this `---` starts the
                # first document (it comes before that document's end), its start, as go-yaml reads them
                for s, root in self.doc_roots:
                    if s >= r.start:
                        self.insert(root, 0 if n_start < s else self.size(root), r.lines)
                        return
            self.at_root_end(r.lines) if role is None else None
            return
        role = self.role_at(n_start)
        if role is None:
            self.at_root_end(r.lines)
            return
        if role.node is not None and role.kind == "value":
            self.insert(role.node, 0, r.lines)
        elif role.kind == "value":
            self.before(_Role(role.container, role.pos, "key"), r.lines)
        else:
            self.before(role, r.lines)

    def apply_inserts(self) -> None:
        for cid, ins in self.inserts.items():
            container = self.containers[cid]
            ins.sort()
            if isinstance(container, Mapping):
                items = container.items
                out: list[Any] = []
                j = 0
                for i in range(len(items) + 1):
                    while j < len(ins) and ins[j][0] <= i:
                        out.append((Comment(ins[j][3]), None))
                        j += 1
                    if i < len(items):
                        out.append(items[i])
                container.items = out
            else:
                outl: list[Any] = []
                j = 0
                n = len(container)
                for i in range(n + 1):
                    while j < len(ins) and ins[j][0] <= i:
                        outl.append(Comment(ins[j][3]))
                        j += 1
                    if i < n:
                        outl.append(container[i])
                container[:] = outl


def _from_utf16(data: bytes) -> bytes:
    """UTF-16 text with its byte order mark, as UTF-8 (no mark); CannotReadInput when it is not valid UTF-16."""
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeError:
        raise CannotReadInput("Error unmarshaling input YAML: yaml: invalid UTF-16 text",
                              hint="the file starts with a UTF-16 byte order mark; save it as UTF-8") from None


def _incompatible_version(mark: Any) -> CannotReadInput:
    """go-yaml v3 reads ``%YAML 1.1`` documents only (libyaml also takes 1.2); its message, whose parser errors
    give the 0-based line of the mark and none on the first line."""
    where = f"line {mark.line}: " if mark.line else ""
    return CannotReadInput(f"Error unmarshaling input YAML: yaml: {where}found incompatible YAML document",
                           hint="remove the %YAML directive (sops reads YAML 1.1 documents only)")


_IN_PROGRESS = object()
_NODELESS = (tk.BlockEntryToken, tk.ValueToken, tk.DocumentStartToken, tk.StreamStartToken, tk.KeyToken)


def _go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if is_time(v):
        return "time.Time"
    return type(v).__name__


def _short_tag(e: Any, v: Any) -> str:
    if isinstance(v, bool):
        return "!!bool"
    if isinstance(v, int):
        return "!!int"
    if isinstance(v, float):
        return "!!float"
    if is_time(v):
        return "!!timestamp"
    return "!!str"


# ---------------------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------------------


class YamlStore:
    """YAML files as sops 3.x reads and writes them (go-yaml v3 semantics and layout)."""

    name = "yaml"

    def __init__(self, indent: int = 4) -> None:
        """Create a store writing block collections with ``indent`` spaces (sops' default is 4)."""
        if indent < 1:
            raise ValueError("indent must be positive")
        self.indent = indent

    def load(self, data: bytes) -> Document:
        """Parse a YAML stream into one branch per document; raise CannotReadInput on bad input."""
        if not data:
            raise EmptyDocument("File cannot be completely empty, it must contain at least one document")
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte order mark: go-yaml reads such files too
            return self.load(_from_utf16(data))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = data[: exc.start]
            line = before.count(b"\n") + 1
            col = exc.start - (before.rfind(b"\n") + 1) + 1
            raise CannotReadInput(
                f"Error unmarshaling input YAML: yaml: line {line}, column {col}: invalid UTF-8 byte sequence",
                hint="the file must be UTF-8 text",
            ) from None
        if text.startswith("\ufeff"):
            text = text[1:]
        # The loader allocates many small objects and frees none: the cyclic GC would rescan them over and
        # over (loading grows superlinearly with it on), so it is paused for the load.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return _Loader(text).run()
        except (CannotReadInput, EmptyDocument):
            raise
        except RecursionError:
            raise CannotReadInput("Error unmarshaling input YAML: document nested too deeply") from None
        except Exception as exc:  # any parser failure must surface as a read error
            raise CannotReadInput(f"Error unmarshaling input YAML: {exc}") from None
        finally:
            if gc_was_enabled:
                gc.enable()

    def dump_value(self, value: Value) -> bytes:
        """Serialize one value on its own (what ``--extract`` prints for a non-string value)."""
        em = _Emitter(self.indent)
        if isinstance(value, Mapping):
            em.document(value)
        elif isinstance(value, list):
            if _has_elements(value):
                em.sequence(value, 0, None)
            else:
                em.out.append("[]\n")
        else:
            style, text = em.scalar_text(value)
            if style == _LITERAL:
                em.literal("", text, self.indent)
            else:
                em.out.append(text + "\n")
        return "".join(em.out).encode("utf-8", "surrogateescape")

    def dump(self, doc: Document) -> bytes:
        """Serialize branches the way sops (go-yaml v3, SetIndent(indent)) lays YAML out."""
        em = _Emitter(self.indent)
        for i, branch in enumerate(doc):
            if i:
                em.out.append("---\n")
            em.document(branch)
        return "".join(em.out).encode("utf-8", "surrogateescape")
