"""The document model every store maps to, as SOPS sees a file.

A *document* is a list of branches (only YAML streams have more than one). A *branch* is a :class:`Mapping`:
an ordered list of ``(key, value)`` items. Keys are strings, or :class:`Comment` pseudo-keys whose value is
``None`` (a comment line standing between two items). A *sequence* is a plain ``list`` whose elements may also
be :class:`Comment` objects. Leaves are ``str``, ``int``, ``float``, ``bool``, ``None``, :class:`datetime`
(YAML timestamps) and ``bytes`` (the binary store).

A *path* is the list of mapping keys from the root to a leaf; sequence positions never appear in it, exactly
as in SOPS, because the path becomes the AAD of each encrypted value. This module does no I/O and no crypto.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Union

from psops.errors import InvalidTreePath


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line; ``text`` is everything after the ``#`` marker, leading spaces kept."""

    text: str


Leaf = Union[str, int, float, bool, None, datetime, bytes, Comment]
Value = Union["Mapping", list["Value"], Leaf]
Key = Union[str, Comment]


@dataclass(slots=True)
class Mapping:
    """An ordered mapping whose items may include comment pseudo-items."""

    items: list[tuple[Key, Value]] = field(default_factory=list)

    def get(self, key: str, default: Value = None) -> Value:
        """Return the value of the first item named ``key``, else ``default``."""
        for k, v in self.items:
            if k == key and isinstance(k, str):
                return v
        return default

    def index(self, key: str) -> int:
        """Return the position of the first item named ``key``, or -1."""
        for i, (k, _) in enumerate(self.items):
            if isinstance(k, str) and k == key:
                return i
        return -1

    def set(self, key: str, value: Value) -> None:
        """Replace the value of ``key`` in place, or append a new item."""
        i = self.index(key)
        if i >= 0:
            self.items[i] = (key, value)
        else:
            self.items.append((key, value))

    def pop(self, key: str) -> Value:
        """Remove the item named ``key`` and return its value (KeyError if absent)."""
        i = self.index(key)
        if i < 0:
            raise KeyError(key)
        return self.items.pop(i)[1]

    def keys(self) -> list[str]:
        """The string keys, in order, without comment pseudo-keys."""
        return [k for k, _ in self.items if isinstance(k, str)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.index(key) >= 0

    def __len__(self) -> int:
        return len(self.items)


Document = list[Mapping]

_PATH_COMPONENT = re.compile(r'\[\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(-?\d+))\s*\]')


def parse_path(spec: str) -> list[str | int]:
    """Parse an --extract style path such as ``["a"][0]["b"]`` into keys and indices."""
    out: list[str | int] = []
    pos = 0
    spec = spec.strip()
    while pos < len(spec):
        m = _PATH_COMPONENT.match(spec, pos)
        if not m:
            raise InvalidTreePath(
                f"invalid tree path {spec!r} at position {pos}",
                hint='write the path as ["key"][0]["other"]',
            )
        dq, sq, num = m.groups()
        if num is not None:
            out.append(int(num))
        else:
            text = dq if dq is not None else sq
            assert text is not None
            out.append(re.sub(r"\\(.)", r"\1", text))
        pos = m.end()
    if not out:
        raise InvalidTreePath("empty tree path", hint='write the path as ["key"][0]["other"]')
    return out


def _strip_comments(seq: list[Value]) -> list[Value]:
    return [v for v in seq if not isinstance(v, Comment)]


def get_path(branch: Value, path: list[str | int]) -> Value:
    """Return the value at ``path``; raises InvalidTreePath when a component is missing."""
    node: Value = branch
    for comp in path:
        if isinstance(comp, int):
            if not isinstance(node, list):
                raise InvalidTreePath(f"component [{comp}] indexes a value that is not a list")
            elems = _strip_comments(node)
            if not -len(elems) <= comp < len(elems):
                raise InvalidTreePath(f"index {comp} is out of range (the list has {len(elems)} elements)")
            node = elems[comp]
        else:
            if not isinstance(node, Mapping) or comp not in node:
                raise InvalidTreePath(f"key {comp!r} not found")
            node = node.get(comp)
    return node


def leaves(value: Value, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Leaf]]:
    """Yield ``(path, leaf)`` for every leaf under ``value`` in document order (comments included)."""
    if isinstance(value, Mapping):
        for k, v in value.items:
            if isinstance(k, Comment):
                yield path, k
            else:
                yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, path)
    else:
        yield path, value


def to_plain(value: Value) -> object:
    """Convert a tree to plain Python dicts and lists without comments (for tests and comparisons)."""
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items if isinstance(k, str)}
    if isinstance(value, list):
        return [to_plain(v) for v in value if not isinstance(v, Comment)]
    return value


def from_plain(value: object) -> Value:
    """Build a tree from plain Python dicts, lists and scalars."""
    if isinstance(value, dict):
        return Mapping([(str(k), from_plain(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return [from_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool | datetime | bytes | Comment):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__}")
