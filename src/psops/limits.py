"""Limits on what psops reads, so hostile input ends in a clean error within bounded time and memory.

Every store hands the engine a tree; the engine, the metadata reader and the emitters walk it recursively. A
file could otherwise make psops recurse until Python gives up (an internal error), expand YAML aliases into
billions of nodes, or allocate a list of a billion slots from one flat metadata key. The limits (listed
with their reasons in ``docs/limits.md``):

* :data:`MAX_INPUT_BYTES` -- files and standard input larger than 256 MiB are refused before parsing.
* :data:`MAX_DEPTH` -- a document may nest at most 1000 mappings and lists, counting its root mapping
  (``{"a": [[1]]}`` has depth 3). Stores check it after parsing (:func:`check_depth`); the process keeps
  enough recursion room for every walk over a tree that deep (:func:`ensure_recursion_room`).
* :data:`MAX_ALIAS_NODES` -- YAML alias expansion: the nodes aliases add, in total, per document.
* :data:`MAX_FLAT_LIST_INDEX` -- a ``__list_N`` position in flattened dotenv/INI metadata.

All violations raise :class:`psops.errors.CannotReadInput` (exit 2, as sops for an unreadable input).
"""

from __future__ import annotations

import sys

from psops.errors import CannotReadInput
from psops.tree import Document, Mapping, Value

MAX_INPUT_BYTES = 256 * 1024 * 1024
"""Largest input file (or standard input) psops reads, in bytes."""

MAX_DEPTH = 1000
"""Deepest nesting of mappings and lists in a document, the root mapping counted as level 1."""

MAX_ALIAS_NODES = 1_000_000
"""YAML: the nodes (scalars, mappings, lists) alias references may add to one document, in total."""

MAX_FLAT_LIST_INDEX = 10_000
"""Flattened metadata (dotenv ``sops_*`` lines, INI ``[sops]``): the largest ``__list_N`` position."""

FRAMES_PER_LEVEL = 4
"""Python stack frames the deepest recursive walk (engine, emitters) uses per nesting level."""

_FRAME_MARGIN = 500


def too_deep(what: str = "the document") -> CannotReadInput:
    """The error for input nested deeper than :data:`MAX_DEPTH`."""
    return CannotReadInput(f"{what} nests mappings and lists more than {MAX_DEPTH} levels deep",
                           hint=f"psops reads at most {MAX_DEPTH} levels of nesting (see docs/limits.md)")


def nesting_depth(value: Value, *, limit: int = MAX_DEPTH) -> int:
    """The nesting depth of ``value`` (a leaf is 0, ``[]`` is 1), counted iteratively; stops past ``limit``."""
    if not isinstance(value, Mapping | list):
        return 0
    deepest = 0
    stack: list[tuple[Value, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if depth > limit:
                return depth
        children = [v for _, v in node.items] if type(node) is Mapping else node
        assert isinstance(children, list)
        for child in children:
            if type(child) is Mapping or type(child) is list:
                stack.append((child, depth + 1))
    return deepest


def check_depth(doc: Document, *, brackets: int | None = None) -> None:
    """Raise CannotReadInput when a branch of ``doc`` nests deeper than :data:`MAX_DEPTH`.

    ``brackets`` is an upper bound of the depth known from the raw text (e.g. the number of ``[`` and ``{``
    in a JSON file); when it is within the limit the tree is not walked at all.
    """
    if brackets is not None and brackets < MAX_DEPTH:
        return
    for branch in doc:
        if nesting_depth(branch) > MAX_DEPTH:
            raise too_deep()


def _stack_depth() -> int:
    frame = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


def recursion_room() -> int:
    """The recursion limit this process needs to walk a :data:`MAX_DEPTH`-deep tree from the current frame
    (rounded up to a thousand, so callers at slightly different stack depths do not keep changing it)."""
    needed = _stack_depth() + FRAMES_PER_LEVEL * MAX_DEPTH + _FRAME_MARGIN
    return -(-needed // 1000) * 1000


def ensure_recursion_room() -> None:
    """Raise Python's recursion limit (never lower it) so a tree :data:`MAX_DEPTH` deep can be walked."""
    needed = recursion_room()
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FLAT_LIST_INDEX",
    "MAX_INPUT_BYTES",
    "check_depth",
    "ensure_recursion_room",
    "nesting_depth",
    "recursion_room",
    "too_deep",
]
