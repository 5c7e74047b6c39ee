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

import sys

from psops.errors import InvalidTreePath
from psops.lazyre import lazy_compile
from psops.record import FrozenRecord, Record

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a decrypt of a JSON file never imports typing
if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import TypeAlias, TypeGuard, Union

    Leaf: TypeAlias = Union[str, int, float, bool, datetime, bytes, "Comment", None]
    Value: TypeAlias = Union["Mapping", list["Value"], Leaf]
    Key: TypeAlias = Union[str, "Comment"]
    Document: TypeAlias = list["Mapping"]
else:  # the names exist at run time too, for modules importing them for their own annotations
    Leaf = Value = Key = Document = object


class Comment(FrozenRecord):
    """A comment line; ``text`` is everything after the ``#`` marker, leading spaces kept."""

    __slots__ = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        self._set("text", text)


class Mapping(Record):
    """An ordered mapping whose items may include comment pseudo-items."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[Key, Value]] | None = None) -> None:
        self.items: list[tuple[Key, Value]] = [] if items is None else items

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



_PATH_COMPONENT = lazy_compile(r'\[\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(-?\d+))\s*\]')


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
            import re

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


def is_time(value: object) -> TypeGuard[datetime]:
    """True for a :class:`datetime.datetime` leaf, without importing :mod:`datetime` to ask.

    A datetime instance can only exist once the module is loaded, so a run that never loaded it (a small
    decrypt: ~1.5 ms saved) answers False at once. Callers test the common leaf types first.
    """
    module = sys.modules.get("datetime")
    return module is not None and isinstance(value, module.datetime)


def from_plain(value: object) -> Value:
    """Build a tree from plain Python dicts, lists and scalars."""
    from datetime import datetime

    if isinstance(value, dict):
        return Mapping([(str(k), from_plain(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return [from_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool | datetime | bytes | Comment):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


# --- set/unset by path (``psops set`` / ``psops unset``), with SOPS' rules for missing components ---


def same_value(a: Value, b: Value) -> bool:
    """Deep equality that, like Go's interface comparison, also compares types (``1 != 1.0 != True``)."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (isinstance(a, Mapping) and isinstance(b, Mapping) and len(a.items) == len(b.items)
                and all(same_value(ka, kb) and same_value(va, vb)
                        for (ka, va), (kb, vb) in zip(a.items, b.items, strict=True)))
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b, strict=True)))
    return type(a) is type(b) and a == b


def _element_slots(seq: list[Value]) -> list[int]:
    """Positions in ``seq`` of the elements that are not comments (an index counts only those)."""
    return [i for i, v in enumerate(seq) if not isinstance(v, Comment)]


def _slot(seq: list[Value], index: int) -> int | None:
    """The position in ``seq`` of element ``index`` (negative counts from the end); None past the end."""
    slots = _element_slots(seq)
    if index < 0:
        if index < -len(slots):
            raise InvalidTreePath(f"index [{index}] is out of range (the list has {len(slots)} elements)")
        index += len(slots)
    return slots[index] if index < len(slots) else None


def _new_value(path: list[str | int], leaf: Value) -> Value:
    """What SOPS builds for a path that does not exist yet: mappings for keys, one-element lists for indices."""
    value = leaf
    for comp in reversed(path):
        value = [value] if isinstance(comp, int) else Mapping([(comp, value)])
    return value


def _set(node: Value, path: list[str | int], value: Value) -> tuple[Value, bool]:
    comp, rest = path[0], path[1:]
    if isinstance(node, Mapping):
        if isinstance(comp, int):
            raise InvalidTreePath(f"component [{comp}] indexes a mapping, not a list")
        i = node.index(comp)
        if i < 0:
            node.items.append((comp, _new_value(rest, value)))
            return node, True
        old = node.items[i][1]
        new, changed = (value, not same_value(old, value)) if not rest else _set(old, rest, value)
        node.items[i] = (comp, new)
        return node, changed
    if isinstance(node, list):
        if not isinstance(comp, int):
            raise InvalidTreePath(f"component [{comp!r}] names a key, but the value there is a list")
        slot = _slot(node, comp)
        if slot is None:
            node.append(_new_value(rest, value))
            return node, True
        old = node[slot]
        new, changed = (value, not same_value(old, value)) if not rest else _set(old, rest, value)
        node[slot] = new
        return node, changed
    new = _new_value(path, value)
    return new, not same_value(node, new)


def set_path(branch: Mapping, path: list[str | int], value: Value) -> bool:
    """Set the value at ``path`` in place, creating what is missing as SOPS does; True if the tree changed.

    A missing key is appended to its mapping; an index past the end of a list appends one element; a scalar
    in the way is replaced by the mappings/lists the rest of the path needs. Indices count list elements
    only (comment lines in a list are skipped), as in :func:`get_path`.
    """
    if not path:
        raise InvalidTreePath("empty tree path")
    _, changed = _set(branch, path, value)
    return changed


def _unset(node: Value, path: list[str | int]) -> bool:
    comp, rest = path[0], path[1:]
    if isinstance(node, Mapping):
        if isinstance(comp, int):
            raise InvalidTreePath(f"component [{comp}] indexes a mapping, not a list")
        i = node.index(comp)
        if i < 0:
            return False
        if not rest:
            del node.items[i]
            return True
        return _unset(node.items[i][1], rest)
    if isinstance(node, list):
        if not isinstance(comp, int):
            raise InvalidTreePath(f"component [{comp!r}] names a key, but the value there is a list")
        slot = _slot(node, comp)
        if slot is None:
            return False
        if not rest:
            del node[slot]
            return True
        return _unset(node[slot], rest)
    kind = "null" if node is None else type(node).__name__
    raise InvalidTreePath(f"component [{comp!r}] goes below a {kind} value, which has no keys or elements")


def unset_path(branch: Mapping, path: list[str | int]) -> bool:
    """Remove the key or list element at ``path`` in place; False when it does not exist (nothing changed).

    Going below a scalar is an error (InvalidTreePath), as in SOPS.
    """
    if not path:
        raise InvalidTreePath("empty tree path")
    return _unset(branch, path)
