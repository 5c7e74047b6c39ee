"""What counts as a change: types and canonical values, not layout; unchanged leaves keep their type."""

from __future__ import annotations

from datetime import UTC, datetime

from psops.editing.compare import restore_document, same_document, same_value
from psops.tree import Comment, Mapping, from_plain


def test_values_differ_by_type_as_their_ciphertexts_would() -> None:
    assert same_value("a", "a") and same_value(1.5, 1.5) and same_value(None, None)
    assert not same_value(1, 1.0) and not same_value(1, True) and not same_value("1", 1)
    assert same_value(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    assert not same_value(Mapping([("a", 1)]), Mapping([(Comment(" c"), None), ("a", 1)]))
    assert not same_value(Mapping([("a", 1), ("b", 2)]), Mapping([("b", 2), ("a", 1)])), "order matters"
    assert same_document([from_plain({"a": [1, {"b": "x"}]})], [from_plain({"a": [1, {"b": "x"}]})])
    assert not same_document([from_plain({"a": 1})], [from_plain({"a": 1}), from_plain({})])


def test_restore_keeps_original_types_of_untouched_values() -> None:
    original = [from_plain({"port": 5432.0, "list": [1.0, 2.0], "name": "a", "gone": 1})]
    shown = [from_plain({"port": 5432, "list": [1, 2], "name": "a", "gone": 1})]  # as YAML reads them back
    edited = [from_plain({"port": 5432, "list": [1, 3], "name": "b", "new": 7})]
    restored = restore_document(edited, shown, original)
    assert same_document(restored, [from_plain({"port": 5432.0, "list": [1.0, 3], "name": "b", "new": 7})])
