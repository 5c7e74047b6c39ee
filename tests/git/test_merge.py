"""The structural 3-way merge of trees, as pure functions (no git, no crypto)."""

from __future__ import annotations

from typing import Any

from psops.git.merge import MISSING, format_path, merge_documents, merge_values, same
from psops.tree import Comment, Mapping, from_plain, to_plain


def m3(base: Any, ours: Any, theirs: Any, prefer: str = "ours") -> tuple[Any, list[str]]:
    """Merge plain Python values; return the plain result and the conflict paths."""
    doc = merge_documents(None if base is None else [from_plain(base)], [from_plain(ours)], [from_plain(theirs)],
                          prefer=prefer)  # type: ignore[arg-type]
    return to_plain(doc.doc[0]), [c.where() for c in doc.conflicts]


def test_different_keys_changed_added_and_deleted_merge_cleanly() -> None:
    base = {"a": "1", "b": "2", "c": "3", "d": {"x": "4", "y": "5"}}
    ours = {"a": "1", "b": "B", "d": {"x": "4", "y": "5"}}  # changed b, deleted c
    theirs = {"a": "A", "b": "2", "c": "3", "d": {"x": "4", "y": "Y"}, "e": "new"}  # changed a, d.y; added e
    merged, conflicts = m3(base, ours, theirs)
    assert conflicts == []
    assert merged == {"a": "A", "b": "B", "d": {"x": "4", "y": "Y"}, "e": "new"}


def test_same_value_changed_both_ways_is_a_conflict_resolved_to_the_preferred_side() -> None:
    base, ours, theirs = {"p": "old", "q": 1}, {"p": "mine", "q": 1}, {"p": "yours", "q": 2}
    merged, conflicts = m3(base, ours, theirs)
    assert conflicts == ['["p"]']
    assert merged == {"p": "mine", "q": 2}
    merged, _ = m3(base, ours, theirs, prefer="theirs")
    assert merged == {"p": "yours", "q": 2}


def test_identical_changes_on_both_sides_are_not_a_conflict() -> None:
    assert m3({"k": "a"}, {"k": "b"}, {"k": "b"}) == ({"k": "b"}, [])


def test_delete_versus_change_is_a_conflict_but_delete_versus_unchanged_deletes() -> None:
    assert m3({"k": "a", "z": 1}, {"z": 1}, {"k": "b", "z": 1})[1] == ['["k"]']
    assert m3({"k": "a", "z": 1}, {"z": 1}, {"k": "a", "z": 1}) == ({"z": 1}, [])


def test_types_are_compared_exactly() -> None:
    assert not same(1, True)
    assert not same(1, 1.0)
    assert same(float("nan"), float("nan"))
    # a change of type on one side is a change
    assert m3({"n": 1}, {"n": True}, {"n": 1}) == ({"n": True}, [])


def test_both_sides_adding_the_same_key_with_different_values_conflicts() -> None:
    merged, conflicts = m3({}, {"new": "x"}, {"new": "y"})
    assert conflicts == ['["new"]'] and merged == {"new": "x"}


def test_key_order_is_ours_with_theirs_additions_after_their_predecessor() -> None:
    base = {"a": 1, "c": 3}
    ours = {"c": 3, "a": 1, "z": 26}
    theirs = {"a": 1, "b": 2, "c": 3}
    merged, _ = m3(base, ours, theirs)
    assert list(merged) == ["c", "a", "b", "z"]


def test_lists_merge_by_position_and_nested_edits_of_one_item_combine() -> None:
    base = {"users": [{"name": "ann", "pw": "1"}, {"name": "bob", "pw": "2"}]}
    ours = {"users": [{"name": "ann", "pw": "one"}, {"name": "bob", "pw": "2"}]}
    theirs = {"users": [{"name": "ann", "pw": "1", "role": "admin"}, {"name": "bob", "pw": "two"}]}
    merged, conflicts = m3(base, ours, theirs)
    assert conflicts == []
    assert merged == {"users": [{"name": "ann", "pw": "one", "role": "admin"}, {"name": "bob", "pw": "two"}]}


def test_list_insertions_at_different_places_and_a_deletion_merge() -> None:
    base = {"l": ["a", "b", "c", "d"]}
    ours = {"l": ["first", "a", "b", "c"]}  # inserted at the front, deleted d
    theirs = {"l": ["a", "b", "mid", "c", "d"]}  # inserted in the middle
    assert m3(base, ours, theirs) == ({"l": ["first", "a", "b", "mid", "c"]}, [])


def test_both_sides_appending_keeps_ours_then_theirs_without_duplicates() -> None:
    base = {"hosts": ["a"]}
    assert m3(base, {"hosts": ["a", "x", "y"]}, {"hosts": ["a", "y", "z"]}) == ({"hosts": ["a", "x", "y", "z"]}, [])


def test_overlapping_list_edits_of_different_lengths_conflict_with_an_index() -> None:
    base = {"l": ["a", "b", "c"]}
    merged, conflicts = m3(base, {"l": ["a", "X", "c"]}, {"l": ["a", "c"]})
    assert conflicts == ['["l"][1]'] and merged == {"l": ["a", "X", "c"]}


def test_comments_travel_with_their_key_and_merge_like_values() -> None:
    base = Mapping([(Comment(" about a"), None), ("a", "1"), ("b", "2")])
    ours = Mapping([(Comment(" about a, edited"), None), ("a", "1"), ("b", "2")])
    theirs = Mapping([(Comment(" about a"), None), ("a", "1"), (Comment(" new b note"), None), ("b", "B")])
    result = merge_documents([base], [ours], [theirs])
    assert result.clean
    assert result.doc[0].items == [(Comment(" about a, edited"), None), ("a", "1"),
                                   (Comment(" new b note"), None), ("b", "B")]


def test_no_common_ancestor_merges_against_an_empty_mapping() -> None:
    assert m3(None, {"a": 1, "s": "x"}, {"b": 2, "s": "x"}) == ({"a": 1, "s": "x", "b": 2}, [])
    assert m3(None, {"s": "x"}, {"s": "y"})[1] == ['["s"]']


def test_multi_document_streams_merge_branch_by_branch() -> None:
    base = [from_plain({"a": 1}), from_plain({"b": 2})]
    ours = [from_plain({"a": 10}), from_plain({"b": 2})]
    theirs = [from_plain({"a": 1}), from_plain({"b": 20})]
    result = merge_documents(base, ours, theirs)  # type: ignore[arg-type]
    assert result.clean and [to_plain(b) for b in result.doc] == [{"a": 10}, {"b": 20}]


def test_merge_values_handles_missing_sides_and_paths_format() -> None:
    assert merge_values(MISSING, MISSING, "added") == ("added", [])
    value, conflicts = merge_values("x", MISSING, "changed")
    assert value is MISSING and [c.reason for c in conflicts] == ["deleted by ours, changed by the other side"]
    assert format_path(("a", 0, 'q"uote')) == '["a"][0]["q\\"uote"]'
    assert format_path(()) == "<document>"
