"""The INI store: go-ini v1 (``gopkg.in/ini.v1`` 1.67) parsing and "pretty" writing, as sops uses them.

The tree is ``section -> {key: value}``; every value is a string and a value's path is ``section:key``.
Keys before the first header belong to the ``DEFAULT`` section, which always comes first (possibly empty)
and is written without a header. Repeated section headers stay separate sections; a repeated key inside one
section keeps its first position and its last value.

Reading follows go-ini's rules (spec 8.4): ``=`` and ``:`` both separate key and value; keys and values are
trimmed; a value may be wrapped in backticks or ``\"\"\"`` (which may span lines, as sops 3.13 wrote PGP armor
in ``[sops]``) or in a matching pair of single or double quotes; a trailing backslash continues a value on
the next line; ``-`` as key name auto-numbers (``#1``, ``#2``). **An unquoted ``#`` or ``;`` anywhere in a
value starts a comment** (``k = a#b`` reads as ``a``). Comment lines before a section header become the
section's comment (the first item of its mapping); comment lines before a key, and its inline comment,
become one comment item placed *after* that key. The leading ``;``/``#`` marker and spaces are stripped.

Writing (go-ini "pretty" format): ``key = value`` with ``=`` aligned per section by padding keys to the
longest key's byte length, ``key = `` for an empty value, values quoted when needed (``\"\"\"`` for newlines or
backticks, backticks for ``#``/``;``, double quotes for outer spaces), comments as ``; text`` above their
key or section header, a blank line between sections. The ``sops`` item becomes a final ``[sops]`` section
of flattened metadata (:mod:`psops.formats.flatten`), keys sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psops.errors import CannotDumpTree, CannotReadInput
from psops.formats.flatten import flatten_metadata, unflatten_metadata
from psops.formats.textutil import decode_utf8, go_trim_left_space, go_trim_space, go_value_string
from psops.tree import Comment, Document, Key, Mapping, Value

DEFAULT_SECTION = "DEFAULT"
SOPS_SECTION = "sops"
_DELIMITERS = "=:"


@dataclass
class _Key:
    name: str
    value: str
    comment: str = ""


@dataclass
class _Section:
    name: str
    comment: str = ""
    keys: dict[str, _Key] = field(default_factory=dict)

    def new_key(self, name: str, value: str) -> _Key:
        """go-ini ``Section.NewKey``: a repeated name keeps its place and takes the new value."""
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = _Key(name, value)
        else:
            key.value = value
        return key


def _index_any(text: str, chars: str) -> int:
    positions = [p for p in (text.find(c) for c in chars) if p >= 0]
    return min(positions) if positions else -1


def _has_surrounded_quote(text: str, quote: str) -> bool:
    return len(text) >= 2 and text[0] == quote and text[-1] == quote and text[1:].find(quote) == len(text) - 2


def _strip_comment_char(comment: str) -> str:
    """sops' ``stripCommentChar``: drop the leading run of marker characters and spaces."""
    if comment.startswith(";"):
        return comment.lstrip("; ")
    if comment.startswith("#"):
        return comment.lstrip("# ")
    return comment


class _Parser:
    """One pass of go-ini's line parser over the text, chunked as ``bufio.ReadBytes('\\n')`` returns it."""

    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        parts = text.split("\n")
        self.chunks = [p + "\n" for p in parts[:-1]] + [parts[-1]]
        self.pos = 0
        self.lineno = 0
        self.comment = ""

    def fail(self, message: str, lineno: int | None = None) -> CannotReadInput:
        return CannotReadInput(f"invalid INI at line {lineno or self.lineno}: {message}",
                               hint="INI lines are [section] headers, key = value pairs or ; comments")

    def next_chunk(self) -> tuple[str, bool]:
        """The next line (with its newline) and whether it is the last one; ("", True) past the end."""
        if self.pos >= len(self.chunks):
            return "", True
        chunk = self.chunks[self.pos]
        self.pos += 1
        return chunk, self.pos >= len(self.chunks)

    def parse(self) -> list[_Section]:
        section = _Section(DEFAULT_SECTION)
        sections = [section]
        counter = 1
        while self.pos < len(self.chunks):
            self.lineno = self.pos + 1
            raw, _ = self.next_chunk()
            line = go_trim_left_space(raw)
            if not line:
                continue
            if line[0] in "#;":
                self.comment += line
                continue
            if line[0] == "[":
                close = line.rfind("]")
                if close < 0:
                    raise self.fail("unclosed section header")
                name = line[1:close]
                if not name:
                    raise self.fail("empty section name")
                section = _Section(name)
                sections.append(section)
                rest = line[close + 1:]
                at = _index_any(rest, "#;")
                if at >= 0:
                    self.comment += rest[at:]
                section.comment = go_trim_space(self.comment)
                self.comment = ""
                counter = 1
                continue
            lineno = self.lineno
            name, offset = self.key_name(line)
            if name == "-":
                name = f"#{counter}"
                counter += 1
            value = self.value(line[offset:])
            if not name:
                raise self.fail("empty key name", lineno)
            key = section.new_key(name, value)
            key.comment = go_trim_space(self.comment)
            self.comment = ""
        return sections

    def key_name(self, line: str) -> tuple[str, int]:
        """go-ini ``readKeyName``: the key (maybe quoted) and the offset just past its delimiter."""
        quote = ""
        if line[0] == '"':
            quote = '"""' if len(line) > 6 and line[:3] == '"""' else '"'
        elif line[0] == "`":
            quote = "`"
        if quote:
            start = len(quote)
            close = line.find(quote, start)
            if close < 0:
                raise self.fail("missing closing key quote")
            at = _index_any(line[close + start:], _DELIMITERS)
            if at < 0:
                raise self.fail("key-value delimiter not found")
            end = close + at
            return go_trim_space(line[start:close]), end + start + 1
        end = _index_any(line, _DELIMITERS)
        if end < 0:
            raise self.fail("key-value delimiter not found (a line must be [section], key = value or a comment)")
        return go_trim_space(line[:end]), end + 1

    def value(self, text: str) -> str:
        """go-ini ``readValue`` (continuation lines on, inline comments on, no python multi-line values)."""
        line = go_trim_left_space(text)
        if not line:
            return ""
        quote = ""
        if len(line) > 3 and line[:3] == '"""':
            quote = '"""'
        elif line[0] == "`":
            quote = "`"
        if quote:
            start = len(quote)
            close = line[start:].rfind(quote)
            if close < 0:
                return self.multiline(line[start:], quote)
            return line[start:close + start]
        line = go_trim_space(line)
        if line[-1] == "\\":
            return self.continuation(line[:-1])
        at = _index_any(line, "#;")
        if at >= 0:
            self.comment += line[at:]
            line = go_trim_space(line[:at])
        if _has_surrounded_quote(line, "'") or _has_surrounded_quote(line, '"'):
            line = line[1:-1]
        return line

    def multiline(self, value: str, quote: str) -> str:
        start = self.lineno
        while True:
            chunk, last = self.next_chunk()
            close = chunk.rfind(quote)
            if close >= 0:
                value += chunk[:close]
                at = _index_any(chunk[close:], "#;")
                if at >= 0:
                    self.comment += go_trim_space(chunk[close:][at:])
                return value
            value += chunk
            if last:
                raise self.fail(f"the value quoted with {quote} is never closed", start)

    def continuation(self, value: str) -> str:
        while True:
            chunk, _ = self.next_chunk()
            more = go_trim_space(chunk)
            if not more:
                return value
            value += more
            if value[-1] != "\\":
                return value
            value = value[:-1]


def _section_items(section: _Section) -> Mapping:
    items: list[tuple[Key, Value]] = []
    if section.comment:
        items.append((Comment(_strip_comment_char(section.comment)), None))
    for key in section.keys.values():
        items.append((key.name, key.value))
        if key.comment:
            items.append((Comment(_strip_comment_char(key.comment)), None))
    return Mapping(items)


def _quote_key(name: str) -> str:
    if '"' in name or _index_any(name, _DELIMITERS) >= 0:
        return f"`{name}`"
    if "`" in name:
        return f'"""{name}"""'
    return name


def _quote_value(value: str) -> str:
    if "\n" in value or "`" in value:
        return f'"""{value}"""'
    if "#" in value or ";" in value:
        return f"`{value}`"
    if go_trim_space(value) != value:
        return f'"{value}"'
    return value


def _blen(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _comment_lines(comment: str, trim_plain: bool) -> list[str]:
    out = []
    for line in comment.split("\n"):
        if line[:1] in ("#", ";"):
            out.append(line[0] + " " + go_trim_space(line[1:]))
        else:
            out.append("; " + (go_trim_space(line) if trim_plain else line))
    return out


def _write(sections: list[_Section]) -> str:
    out: list[str] = []
    for index, section in enumerate(sections):
        if section.comment:
            out.extend(line + "\n" for line in _comment_lines(section.comment, trim_plain=False))
        if index > 0 or section.name.upper() != DEFAULT_SECTION:
            out.append(f"[{section.name}]\n")
        elif not section.keys:
            continue
        width = 0
        for name in section.keys:
            quoted = _quote_key(name)
            width = max(width, _blen(quoted))
        for key in section.keys.values():
            if key.comment:
                out.extend(line + "\n" for line in _comment_lines(key.comment, trim_plain=True))
            quoted = _quote_key(key.name)
            pad = " " * (width - _blen(quoted))
            value = _quote_value(key.value) if key.value else ""
            out.append(f"{quoted}{pad} = {value}\n")
        if index < len(sections) - 1:
            out.append("\n")
    return "".join(out)


class IniStore:
    """Reads and writes INI files (``.ini``)."""

    name = "ini"

    def load(self, data: bytes) -> Document:
        """Parse sections into one branch; a ``[sops]`` section comes back as the ``sops`` metadata item."""
        sections = _Parser(decode_utf8(data, "INI")).parse()
        items: list[tuple[Key, Value]] = []
        metadata: _Section | None = None
        for section in sections:
            if section.name == SOPS_SECTION:
                metadata = metadata or section
                continue
            items.append((section.name, _section_items(section)))
        if metadata is not None:
            pairs = [(key.name, key.value) for key in metadata.keys.values()]
            items.append((SOPS_SECTION, unflatten_metadata(pairs)))
        return [Mapping(items)]

    def dump(self, doc: Document) -> bytes:
        """Write sections in tree order (DEFAULT without header), then ``[sops]`` from the ``sops`` item."""
        sections: list[_Section] = []
        metadata: Mapping | None = None
        for branch in doc:
            for name, value in branch.items:
                if isinstance(name, Comment):
                    continue
                if name == SOPS_SECTION and isinstance(value, Mapping):
                    metadata = value
                    continue
                if not isinstance(value, Mapping):
                    raise CannotDumpTree(f"INI output needs sections, but the top-level key {name!r} holds a "
                                         "value, not a mapping",
                                         hint="put the keys under a section, or use --output-type yaml or json")
                sections.append(self._section(name, value))
        if metadata is not None:
            section = _Section(SOPS_SECTION)
            for key, text in flatten_metadata(metadata):
                section.new_key(key, text)
            sections.append(section)
        return _write(sections).encode("utf-8", "surrogateescape")

    @staticmethod
    def _section(name: str, value: Mapping) -> _Section:
        section = _Section(name)
        items = value.items
        first = 0
        if items and isinstance(items[0][0], Comment):
            section.comment = items[0][0].text
            first = 1
        last: _Key | None = None
        for key, child in items[first:]:
            if isinstance(key, Comment):
                if last is not None:
                    last.comment = key.text
                continue
            if isinstance(child, Mapping | list):
                raise CannotDumpTree(f"cannot write the nested value of {name}.{key} to an INI file",
                                     hint="INI holds section -> key = value only; use --output-type yaml or json")
            if not key:
                raise CannotDumpTree(f"cannot write an empty key name in section {name!r} to an INI file")
            last = section.new_key(key, go_value_string(child))
        return section


__all__ = ["IniStore"]
