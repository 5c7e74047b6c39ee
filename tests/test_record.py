"""The record classes that replace dataclasses on the decrypt path behave like the dataclasses they were."""

from __future__ import annotations

import copy
import pickle

import pytest

from psops.errors import ConflictingParameters, KeyAttempt
from psops.formats import StoreSettings
from psops.keys.base import KeyStanza
from psops.metadata import Metadata
from psops.operations import EncryptPlan
from psops.selection import EncryptionRules
from psops.tree import Comment, Mapping


def test_records_compare_by_value_and_show_their_fields() -> None:
    a = KeyStanza("age", {"recipient": "age1x"})
    assert a == KeyStanza("age", {"recipient": "age1x"})
    assert a != KeyStanza("age", {"recipient": "age1y"})
    assert a != Comment("age")
    assert repr(a) == "KeyStanza(kind='age', fields={'recipient': 'age1x'})"
    assert repr(KeyAttempt(0, "age", "age1x", "no identity")) == (
        "KeyAttempt(group=0, kind='age', key='age1x', reason='no identity')")


def test_mutable_records_are_unhashable_and_get_fresh_defaults() -> None:
    with pytest.raises(TypeError):
        hash(Mapping())
    first, second = Mapping(), Mapping()
    first.items.append(("a", 1))
    assert second.items == []
    assert Metadata(key_groups=[]).extensions is not Metadata(key_groups=[]).extensions


def test_frozen_records_refuse_changes_and_hash_by_value() -> None:
    rules = EncryptionRules(encrypted_regex="^pass")
    with pytest.raises(AttributeError):
        rules.encrypted_regex = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Comment("x").text = "y"  # type: ignore[misc]
    assert hash(rules) == hash(EncryptionRules(encrypted_regex="^pass"))
    assert {StoreSettings(yaml_indent=2), StoreSettings(yaml_indent=2)} == {StoreSettings(yaml_indent=2)}


def test_replace_builds_a_new_record_and_runs_the_checks_again() -> None:
    rules = EncryptionRules(encrypted_regex="^pass")
    changed = rules.replace(mac_only_encrypted=True)
    assert changed.mac_only_encrypted and changed.encrypted_regex == "^pass" and not rules.mac_only_encrypted
    assert changed.should_encrypt(("password",)) and not changed.should_encrypt(("user",))
    with pytest.raises(ConflictingParameters):
        rules.replace(encrypted_suffix="_secret")
    plan = EncryptPlan(key_groups=[[KeyStanza("age")]])
    assert plan.replace(shamir_threshold=2).shamir_threshold == 2 and plan.shamir_threshold == 0


@pytest.mark.parametrize("record", [Comment(" note"), EncryptionRules(unencrypted_suffix="_clear"),
                                    StoreSettings(json_indent=2), KeyStanza("age", {"recipient": "r"}),
                                    Mapping([("a", [Comment("c"), 1])])])
def test_records_copy_and_pickle(record: object) -> None:
    assert copy.copy(record) == record
    assert copy.deepcopy(record) == record
    assert pickle.loads(pickle.dumps(record)) == record
