"""Structural 3-way merge of decrypted trees (:mod:`psops.tree` documents): pure functions, no crypto, no I/O.

The model, applied recursively from the document down to the leaves:

* **Any value**: if ours and theirs are equal, take it; if one side equals the base, take the other side. Two
  mappings (or two lists) are then merged item by item; anything else changed on both sides is a conflict.
* **Mappings** are merged by key. A key added on one side is added; a key deleted on one side and unchanged on
  the other is deleted; deleted on one side and changed on the other is a conflict. Keys keep ours' order;
  a key only theirs added goes right after the key that precedes it in theirs. The comment lines standing
  before a key (and after the last one) travel with that key and are merged like a value.
* **Lists** are aligned on equal elements (a longest-common-subsequence match of each side against the base,
  as ``diff3`` does with lines). Between two elements that neither side touched, a region changed on one side
  only takes that side; a region changed identically takes it; regions of the same length on all three sides
  are merged position by position (so two edits of different fields of the same list item merge). The rule
  for insertions: when both sides insert different elements at the same place and delete nothing, both are
  kept, ours first, then those of theirs that ours did not insert too. Anything else is a conflict.
* With no common ancestor (both sides added the file), each branch is merged against an empty mapping.

A conflict is recorded with its path and reason, never its values, and the merge goes on with the preferred
side (ours by default) at that place, so a caller can render the result twice, once preferring each side,
and the two renderings differ exactly at the conflicts.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from psops.tree import Comment, Document, Key, Mapping, Value

Side = Literal["ours", "theirs"]


class _Missing(Enum):
    MISSING = "missing"


MISSING = _Missing.MISSING
"""Marks a value absent on one side (a key that does not exist there)."""

Slot = Value | _Missing
PathPart = str | int


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the same place differently. Holds the path and the reason, never the values."""

    path: tuple[PathPart, ...]
    reason: str

    def where(self) -> str:
        """The path in ``--extract`` syntax, e.g. ``["db"]["password"]`` (``<document>`` for the root)."""
        return format_path(self.path)


@dataclass
class MergeResult:
    """A merged document and the conflicts met on the way (resolved to the preferred side)."""

    doc: Document
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing conflicted."""
        return not self.conflicts


def format_path(path: Sequence[PathPart]) -> str:
    """Write a merge path in ``--extract`` syntax."""
    if not path:
        return "<document>"
    return "".join(f"[{p}]" if isinstance(p, int) else '["' + p.replace('"', '\\"') + '"]' for p in path)


def freeze(value: Slot) -> Hashable:
    """A hashable, type-exact key of a value: ``1``, ``1.0`` and ``True`` differ; NaN equals NaN."""
    if isinstance(value, Mapping):
        return ("map", tuple((_freeze_key(k), freeze(v)) for k, v in value.items))
    if isinstance(value, list):
        return ("list", tuple(freeze(v) for v in value))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if value is MISSING:
        return ("missing",)
    return (type(value).__name__, value)


def _freeze_key(key: Key) -> Hashable:
    return ("comment", key.text) if isinstance(key, Comment) else ("key", key)


def same(a: Slot, b: Slot) -> bool:
    """Type-exact structural equality of two values (comments included)."""
    return freeze(a) == freeze(b)


def merge_documents(base: Document | None, ours: Document, theirs: Document, *,
                    prefer: Side = "ours") -> MergeResult:
    """Merge two documents against their common ancestor (None when there is none)."""
    merger = _Merger(prefer)
    if base is None:
        if len(ours) == len(theirs):
            doc = [_as_mapping(merger.value(Mapping(), o, t, (i,) if len(ours) > 1 else ()))
                   for i, (o, t) in enumerate(zip(ours, theirs, strict=True))]
        else:
            merger.conflict((), "both sides added the file with different documents")
            doc = list(ours if prefer == "ours" else theirs)
        return MergeResult(doc, merger.conflicts)
    if len(base) == len(ours) == len(theirs) == 1:
        doc = [_as_mapping(merger.value(base[0], ours[0], theirs[0], ()))]
    else:
        merged = merger.sequence(list(base), list(ours), list(theirs), ())
        doc = [_as_mapping(b) for b in merged]
    return MergeResult(doc, merger.conflicts)


def merge_values(base: Slot, ours: Slot, theirs: Slot, *, prefer: Side = "ours") -> tuple[Slot, list[Conflict]]:
    """Merge three values (any of them may be :data:`MISSING`); return the result and the conflicts."""
    merger = _Merger(prefer)
    return merger.slot(base, ours, theirs, ()), merger.conflicts


def _as_mapping(value: Slot) -> Mapping:
    if isinstance(value, Mapping):
        return value
    raise TypeError("a merged document branch is not a mapping")


@dataclass
class _Entry:
    """A mapping key with the comment lines standing before it."""

    lead: tuple[str, ...]
    value: Value


def _entries(node: Mapping) -> tuple[dict[str, _Entry], list[str], tuple[str, ...]] | None:
    """Split a mapping into keyed entries, key order and trailing comments; None if a key repeats."""
    entries: dict[str, _Entry] = {}
    order: list[str] = []
    pending: list[str] = []
    for key, value in node.items:
        if isinstance(key, Comment):
            pending.append(key.text)
            continue
        if key in entries:
            return None
        entries[key] = _Entry(tuple(pending), value)
        order.append(key)
        pending = []
    return entries, order, tuple(pending)


class _Merger:
    def __init__(self, prefer: Side) -> None:
        self.prefer = prefer
        self.conflicts: list[Conflict] = []

    def conflict(self, path: tuple[PathPart, ...], reason: str) -> None:
        self.conflicts.append(Conflict(path, reason))

    def pick(self, ours: Slot, theirs: Slot) -> Slot:
        return ours if self.prefer == "ours" else theirs

    # -- any value -------------------------------------------------------------------------------------------

    def slot(self, base: Slot, ours: Slot, theirs: Slot, path: tuple[PathPart, ...]) -> Slot:
        """Merge values that may be missing on a side."""
        if same(ours, theirs):
            return ours
        if same(base, ours):
            return theirs
        if same(base, theirs):
            return ours
        if ours is MISSING or theirs is MISSING:
            # the base exists here (a one-sided addition equals the missing base on the other side)
            deleted = "ours" if ours is MISSING else "theirs"
            self.conflict(path, f"deleted by {deleted}, changed by the other side")
            return self.pick(ours, theirs)
        return self.value(base, ours, theirs, path)

    def value(self, base: Slot, ours: Value, theirs: Value, path: tuple[PathPart, ...]) -> Value:
        """Merge two present values against a base that may be missing."""
        if same(ours, theirs):
            return ours
        if base is not MISSING and same(base, ours):
            return theirs
        if base is not MISSING and same(base, theirs):
            return ours
        if isinstance(ours, Mapping) and isinstance(theirs, Mapping) and (base is MISSING or isinstance(base, Mapping)):
            merged = self.mapping(base if isinstance(base, Mapping) else Mapping(), ours, theirs, path)
            if merged is not None:
                return merged
        if isinstance(ours, list) and isinstance(theirs, list) and isinstance(base, list):
            return self.sequence(base, ours, theirs, path)
        self.conflict(path, "both sides added different values" if base is MISSING else "both sides changed it")
        result = self.pick(ours, theirs)
        assert result is not MISSING
        return result

    # -- mappings --------------------------------------------------------------------------------------------

    def mapping(self, base: Mapping, ours: Mapping, theirs: Mapping, path: tuple[PathPart, ...]) -> Mapping | None:
        """Merge by key; None when a mapping repeats a key (then it is merged as one value)."""
        b_split, o_split, t_split = _entries(base), _entries(ours), _entries(theirs)
        if b_split is None or o_split is None or t_split is None:
            return None
        (b_map, _, b_tail), (o_map, o_order, o_tail), (t_map, t_order, t_tail) = b_split, o_split, t_split
        merged: dict[str, _Entry] = {}
        for key in [*o_order, *(k for k in t_order if k not in o_map)]:
            b, o, t = b_map.get(key), o_map.get(key), t_map.get(key)
            sub = (*path, key)
            value = self.slot(b.value if b else MISSING, o.value if o else MISSING, t.value if t else MISSING, sub)
            if value is MISSING:
                continue
            lead = self.comments(b.lead if b else (), o.lead if o else None, t.lead if t else None, sub)
            merged[key] = _Entry(lead, value)
        order = _key_order(o_order, t_order, merged)
        tail = self.comments(b_tail, o_tail, t_tail, path)
        items: list[tuple[Key, Value]] = []
        for key in order:
            entry = merged[key]
            items.extend((Comment(text), None) for text in entry.lead)
            items.append((key, entry.value))
        items.extend((Comment(text), None) for text in tail)
        return Mapping(items)

    def comments(self, base: tuple[str, ...], ours: tuple[str, ...] | None, theirs: tuple[str, ...] | None,
                 path: tuple[PathPart, ...]) -> tuple[str, ...]:
        """Merge the comment lines before a key like a value (a side without the key has no say)."""
        if ours is None:
            return theirs or ()
        if theirs is None or ours == theirs or base == theirs:
            return ours
        if base == ours:
            return theirs
        self.conflict(path, "both sides changed the comments before it")
        return ours if self.prefer == "ours" else theirs

    # -- lists -----------------------------------------------------------------------------------------------

    def sequence(self, base: list[Value], ours: list[Value], theirs: list[Value],
                 path: tuple[PathPart, ...]) -> list[Value]:
        """diff3 over elements: one-sided regions win, equal-length regions merge by position."""
        bk, ok, tk = ([freeze(v) for v in seq] for seq in (base, ours, theirs))
        o_match = _matches(bk, ok)
        t_match = _matches(bk, tk)
        out: list[Value] = []
        i = j = k = 0
        for bi in range(len(base) + 1):
            if bi < len(base):
                if bi not in o_match or bi not in t_match:
                    continue
                oj, tk_ = o_match[bi], t_match[bi]
                if oj < j or tk_ < k:
                    continue
            else:
                oj, tk_ = len(ours), len(theirs)
            out.extend(self.region(base[i:bi], ours[j:oj], theirs[k:tk_], path, j))
            if bi < len(base):
                out.append(ours[oj])
            i, j, k = bi + 1, oj + 1, tk_ + 1
        return out

    def region(self, base: list[Value], ours: list[Value], theirs: list[Value],
               path: tuple[PathPart, ...], offset: int) -> list[Value]:
        """Resolve one unstable region between two elements both sides kept."""
        if same(ours, theirs):
            return ours
        if same(base, ours):
            return theirs
        if same(base, theirs):
            return ours
        if not base:
            ours_keys = {freeze(v) for v in ours}
            return [*ours, *(v for v in theirs if freeze(v) not in ours_keys)]
        if len(base) == len(ours) == len(theirs):
            return [self.value(b, o, t, (*path, offset + n))
                    for n, (b, o, t) in enumerate(zip(base, ours, theirs, strict=True))]
        self.conflict((*path, offset), "both sides changed these list elements differently")
        return ours if self.prefer == "ours" else theirs


def _matches(base: list[Hashable], side: list[Hashable]) -> dict[int, int]:
    """Base index -> side index for elements a longest-common-subsequence match pairs up."""
    matcher = difflib.SequenceMatcher(None, base, side, autojunk=False)
    out: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for n in range(block.size):
            out[block.a + n] = block.b + n
    return out


def _key_order(ours: list[str], theirs: list[str], kept: dict[str, _Entry]) -> list[str]:
    """Ours' order of the kept keys; a key only theirs has goes after its predecessor in theirs."""
    order = [k for k in ours if k in kept]
    last = -1
    for key in theirs:
        if key not in kept:
            continue
        if key in order:
            last = order.index(key)
            continue
        order.insert(last + 1, key)
        last += 1
    return order


__all__ = [
    "MISSING",
    "Conflict",
    "MergeResult",
    "format_path",
    "freeze",
    "merge_documents",
    "merge_values",
    "same",
]
