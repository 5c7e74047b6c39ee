"""Tree path edits behind ``psops set``/``unset``: SOPS' rules for missing keys, list indices and scalars."""

from __future__ import annotations

import pytest

from psops.errors import InvalidTreePath
from psops.tree import Comment, Mapping, Value, from_plain, same_value, set_path, to_plain, unset_path


def _tree(value: object) -> Mapping:
    tree = from_plain(value)
    assert isinstance(tree, Mapping)
    return tree


def test_set_replaces_an_existing_value_in_place() -> None:
    tree = _tree({"a": {"b": "x", "c": 1}, "d": "e"})
    assert set_path(tree, ["a", "b"], "new")
    assert to_plain(tree) == {"a": {"b": "new", "c": 1}, "d": "e"}
    assert [k for k, _ in tree.items] == ["a", "d"]


def test_set_appends_missing_keys_and_builds_intermediate_mappings() -> None:
    tree = _tree({"a": {"b": "x"}})
    assert set_path(tree, ["a", "z"], 1.5)
    assert set_path(tree, ["new", "deep", "er"], True)
    assert to_plain(tree) == {"a": {"b": "x", "z": 1.5}, "new": {"deep": {"er": True}}}


def test_set_with_list_indices() -> None:
    tree = _tree({"l": [1, 2, {"m": "n"}]})
    assert set_path(tree, ["l", 0], "first")
    assert set_path(tree, ["l", 2, "q"], None)
    assert set_path(tree, ["l", 9], 7)  # past the end: appended
    assert set_path(tree, ["l", 17, "x"], 1)  # past the end below: appended as a new mapping
    assert set_path(tree, ["l", -1, "x"], 2)
    assert to_plain(tree) == {"l": ["first", 2, {"m": "n", "q": None}, 7, {"x": 2}]}


def test_set_builds_lists_for_integer_components_of_a_new_path() -> None:
    tree = _tree({})
    assert set_path(tree, ["new", 0, "x"], "v")
    assert to_plain(tree) == {"new": [{"x": "v"}]}


def test_set_below_a_scalar_replaces_it() -> None:
    tree = _tree({"c": "d"})
    assert set_path(tree, ["c", "x"], "y")
    assert to_plain(tree) == {"c": {"x": "y"}}


def test_set_with_a_subtree_value() -> None:
    tree = _tree({"a": "x"})
    assert set_path(tree, ["a"], _tree({"z": [1.0, "two"]}))
    assert to_plain(tree) == {"a": {"z": [1.0, "two"]}}


def test_indices_skip_comment_lines_in_lists() -> None:
    tree = Mapping([("l", [Comment(" head"), "a", Comment(" mid"), "b"])])
    assert set_path(tree, ["l", 1], "B")
    assert tree.get("l") == [Comment(" head"), "a", Comment(" mid"), "B"]
    assert unset_path(tree, ["l", 0])
    assert tree.get("l") == [Comment(" head"), Comment(" mid"), "B"]


@pytest.mark.parametrize(("old", "new", "changed"), [
    ("x", "x", False), (1.0, 1.0, False), (1, 1.0, True), (True, 1, True), (1.0, True, True), (None, None, False),
    ("x", None, True),
])
def test_set_reports_whether_the_value_changed_comparing_types(old: Value, new: Value, changed: bool) -> None:
    tree = Mapping([("k", old)])
    assert set_path(tree, ["k"], new) is changed


def test_setting_an_equal_subtree_is_no_change() -> None:
    tree = _tree({"a": {"b": [1.0, {"c": "d"}]}})
    assert not set_path(tree, ["a"], _tree({"b": [1.0, {"c": "d"}]}))
    assert set_path(tree, ["a"], _tree({"b": [1.0, {"c": "e"}]}))


@pytest.mark.parametrize("path", [["a", 0], ["l", "k"]])
def test_set_with_the_wrong_kind_of_component_is_refused(path: list[str | int]) -> None:
    with pytest.raises(InvalidTreePath):
        set_path(_tree({"a": {"b": 1}, "l": [1]}), path, 1)


def test_unset_removes_keys_and_list_elements() -> None:
    tree = _tree({"a": {"b": "x", "c": "y"}, "l": [1, 2, 3]})
    assert unset_path(tree, ["a", "b"])
    assert unset_path(tree, ["l", 1])
    assert to_plain(tree) == {"a": {"c": "y"}, "l": [1, 3]}


@pytest.mark.parametrize("path", [["zz"], ["a", "zz"], ["l", 9], ["zz", "deeper"]])
def test_unset_of_a_missing_key_or_index_changes_nothing(path: list[str | int]) -> None:
    tree = _tree({"a": {"b": "x"}, "l": [1]})
    assert not unset_path(tree, path)
    assert to_plain(tree) == {"a": {"b": "x"}, "l": [1]}


@pytest.mark.parametrize("path", [["a", "b", "c"], ["a", 0], ["l", "k"], ["l", -5]])
def test_unset_below_a_scalar_or_with_the_wrong_component_is_an_error(path: list[str | int]) -> None:
    with pytest.raises(InvalidTreePath):
        unset_path(_tree({"a": {"b": "x"}, "l": [1]}), path)


def test_empty_path_is_refused() -> None:
    with pytest.raises(InvalidTreePath):
        set_path(Mapping(), [], 1)
    with pytest.raises(InvalidTreePath):
        unset_path(Mapping(), [])


def test_same_value_compares_deeply_with_types() -> None:
    assert same_value(_tree({"a": [1, "x"]}), _tree({"a": [1, "x"]}))
    assert not same_value(_tree({"a": [1, "x"]}), _tree({"a": [1.0, "x"]}))
    assert not same_value(_tree({"a": 1}), [1])
    assert same_value(Comment("c"), Comment("c")) and not same_value(Comment("c"), "c")
