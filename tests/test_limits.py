"""psops.limits: nesting depth counted without recursion, the bracket shortcut, recursion room."""

from __future__ import annotations

import sys

import pytest

from psops.errors import CannotReadInput
from psops.limits import MAX_DEPTH, check_depth, ensure_recursion_room, nesting_depth, recursion_room
from psops.tree import Mapping, Value


def chain(depth: int) -> Value:
    """Lists nested ``depth`` deep (``depth`` 1 is ``[]``)."""
    value: Value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_depth_counts_containers_not_leaves() -> None:
    assert nesting_depth("leaf") == 0
    assert nesting_depth([]) == 1
    assert nesting_depth(Mapping([("a", [[1]])])) == 3
    assert nesting_depth(Mapping([("a", 1), ("b", Mapping([("c", [])]))])) == 3


def test_depth_of_a_very_deep_tree_needs_no_recursion() -> None:
    deep = chain(50_000)
    assert nesting_depth(deep, limit=100_000) == 50_000
    assert nesting_depth(deep) == MAX_DEPTH + 1  # stops as soon as it is past the limit


def test_check_depth_accepts_the_limit_and_refuses_one_more() -> None:
    check_depth([Mapping([("a", chain(MAX_DEPTH - 1))])])
    with pytest.raises(CannotReadInput, match=f"more than {MAX_DEPTH} levels"):
        check_depth([Mapping([("a", chain(MAX_DEPTH))])])


def test_a_bracket_count_below_the_limit_skips_the_walk() -> None:
    check_depth([Mapping([("a", chain(MAX_DEPTH + 5))])], brackets=10)  # the caller vouches for the text
    with pytest.raises(CannotReadInput):
        check_depth([Mapping([("a", chain(MAX_DEPTH + 5))])], brackets=MAX_DEPTH + 6)


def test_recursion_room_only_ever_raises_the_limit() -> None:
    before = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(1000)
        ensure_recursion_room()
        raised = sys.getrecursionlimit()
        assert raised >= recursion_room() >= 4 * MAX_DEPTH and raised % 1000 == 0
        sys.setrecursionlimit(raised + 5000)
        ensure_recursion_room()
        assert sys.getrecursionlimit() == raised + 5000
    finally:
        sys.setrecursionlimit(max(before, sys.getrecursionlimit()))
