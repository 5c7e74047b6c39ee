"""The engine: encrypt/decrypt round trips, selection rules, the MAC, tamper detection, key groups."""

from __future__ import annotations

import hashlib

import pytest

from conftest import AgeKey
from psops.cipher import is_encrypted_value
from psops.engine import decrypt_document, encrypt_document, seal_document
from psops.errors import DecryptError, MacMismatch, NoEncryptionKey, NoKeyMatched
from psops.keys.base import KeyStanza
from psops.metadata import attach_metadata, build_metadata
from psops.selection import EncryptionRules
from psops.tree import Comment, Document, Mapping, from_plain, leaves, to_plain

SAMPLE = {
    "str": "hello",
    "int": 42,
    "float": 1.5,
    "bool": True,
    "none": None,
    "empty": "",
    "nested": {"list": [1, ["a", "b"], {"k": "v"}], "pw_unencrypted": "clear"},
}


def _doc(data: dict[str, object] | None = None) -> Document:
    value = from_plain(SAMPLE if data is None else data)
    assert isinstance(value, Mapping)
    return [value]


def _encrypt(age: AgeKey, doc: Document, rules: EncryptionRules | None = None) -> Document:
    groups = [[KeyStanza("age", {"recipient": age.recipient})]]
    enc, meta = encrypt_document(doc, groups, rules=rules or EncryptionRules())
    attach_metadata(enc, build_metadata(meta))
    return enc


def test_roundtrip_restores_every_value(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc())
    plain = decrypt_document(enc).doc
    assert to_plain(plain[0]) == SAMPLE


def test_default_rule_leaves_unencrypted_suffix_clear(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc())
    branch = enc[0]
    nested = branch.get("nested")
    assert isinstance(nested, Mapping)
    assert nested.get("pw_unencrypted") == "clear"
    assert branch.get("none") is None and branch.get("empty") == ""
    for path, leaf in leaves(branch):
        if path and path[0] != "sops" and leaf not in (None, "") and "pw_unencrypted" not in path:
            assert is_encrypted_value(leaf), path
    meta = branch.get("sops")
    assert isinstance(meta, Mapping) and meta.get("unencrypted_suffix") == "_unencrypted"


def test_encrypted_regex_selects_keys_only(age_env: AgeKey) -> None:
    data = {"data": {"password": "p", "user": "u"}, "password_x": ["l"], "other": "o"}
    enc = _encrypt(age_env, _doc(data), EncryptionRules(encrypted_regex="^password"))
    d = to_plain(enc[0])
    assert isinstance(d, dict)
    assert is_encrypted_value(d["data"]["password"]) and d["data"]["user"] == "u"
    assert is_encrypted_value(d["password_x"][0]) and d["other"] == "o"
    assert to_plain(decrypt_document(enc).doc[0]) == data


def test_mac_matches_sha512_of_canonical_values(age_env: AgeKey) -> None:
    data = {"a": "x", "b": 7, "c": True, "d": None, "e": 1.0}
    enc = _encrypt(age_env, _doc(data))
    result = decrypt_document(enc)
    stored, _ = result.cipher.decrypt_bytes(result.metadata.mac, result.metadata.lastmodified)
    assert stored.decode() == hashlib.sha512(b"x7True1").hexdigest().upper()


def test_comments_are_encrypted_and_restored(age_env: AgeKey) -> None:
    branch = Mapping([(Comment(" top"), None), ("a", [Comment(" in list"), "x"]), ("b", "y")])
    enc = _encrypt(age_env, [branch])
    top = enc[0].items[0][0]
    assert isinstance(top, Comment) and is_encrypted_value(top.text) and top.text.endswith("type:comment]")
    plain = decrypt_document(enc).doc[0]
    assert plain.items[0][0] == Comment(" top")
    assert plain.get("a") == [Comment(" in list"), "x"]


def test_sops_list_comment_quirk_is_read_back(age_env: AgeKey) -> None:
    """sops 3.11 writes an encrypted comment inside a list as a string element; it must decrypt to a comment."""
    branch = Mapping([("a", [Comment(" c"), "x"])])
    enc = _encrypt(age_env, [branch])
    lst = enc[0].get("a")
    assert isinstance(lst, list) and isinstance(lst[0], Comment)
    lst[0] = lst[0].text  # as sops writes it
    assert decrypt_document(enc).doc[0].get("a") == [Comment(" c"), "x"]


def _tamper(enc: Document, key: str, value: object) -> None:
    enc[0].set(key, value)  # type: ignore[arg-type]


def test_swapped_ciphertexts_fail_by_aad(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one", "b": "two"}))
    a, b = enc[0].get("a"), enc[0].get("b")
    _tamper(enc, "a", b)
    _tamper(enc, "b", a)
    with pytest.raises(DecryptError):
        decrypt_document(enc)


def test_edited_clear_value_fails_mac(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one", "x_unencrypted": "clear"}))
    _tamper(enc, "x_unencrypted", "changed")
    with pytest.raises(MacMismatch) as err:
        decrypt_document(enc)
    assert err.value.exit_code == 51
    assert to_plain(decrypt_document(enc, ignore_mac=True).doc[0]) == {"a": "one", "x_unencrypted": "changed"}


def test_deleted_key_fails_mac(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one", "b": "two"}))
    enc[0].pop("b")
    with pytest.raises(MacMismatch):
        decrypt_document(enc)


def test_changed_lastmodified_fails_mac(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one"}))
    meta = enc[0].get("sops")
    assert isinstance(meta, Mapping)
    meta.set("lastmodified", "2001-01-01T00:00:00Z")
    with pytest.raises(MacMismatch):
        decrypt_document(enc)


def test_missing_mac_fails(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one"}))
    meta = enc[0].get("sops")
    assert isinstance(meta, Mapping)
    meta.pop("mac")
    with pytest.raises(MacMismatch, match="no MAC"):
        decrypt_document(enc)


def test_wrong_key_lists_what_was_tried(age_env: AgeKey, other_age_key: AgeKey) -> None:
    enc = _encrypt(other_age_key, _doc({"a": "one"}))
    with pytest.raises(NoKeyMatched) as err:
        decrypt_document(enc)
    assert other_age_key.recipient in str(err.value)
    assert err.value.exit_code == 128


def test_no_keys_is_an_error() -> None:
    with pytest.raises(NoEncryptionKey):
        encrypt_document(_doc(), [], rules=EncryptionRules())


def test_key_groups_threshold(age_env: AgeKey, other_age_key: AgeKey) -> None:
    groups = [[KeyStanza("age", {"recipient": age_env.recipient})],
              [KeyStanza("age", {"recipient": other_age_key.recipient})]]
    enc, meta = encrypt_document(_doc(), groups, rules=EncryptionRules(), shamir_threshold=1 + 1)
    attach_metadata(enc, build_metadata(meta))
    block = enc[0].get("sops")
    assert isinstance(block, Mapping) and block.get("shamir_threshold") == 2
    with pytest.raises(NoKeyMatched, match="only 1 of the 2"):
        decrypt_document(enc)


def test_reseal_keeps_unchanged_ciphertexts(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one", "b": "two"}))
    before = to_plain(enc[0])
    result = decrypt_document(enc)
    result.doc[0].set("b", "three")
    resealed, _ = seal_document(result.doc, result.metadata, result.cipher)
    after = to_plain(resealed[0])
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["a"] == before["a"]
    assert after["b"] != before["b"]


def test_mac_only_encrypted_ignores_clear_values(age_env: AgeKey) -> None:
    enc = _encrypt(age_env, _doc({"a": "one", "b_unencrypted": "x"}), EncryptionRules(mac_only_encrypted=True))
    _tamper(enc, "b_unencrypted", "changed")
    assert to_plain(decrypt_document(enc).doc[0]) == {"a": "one", "b_unencrypted": "changed"}


def test_mac_only_encrypted_starts_the_mac_with_sha256_of_sops() -> None:
    from psops.engine import MAC_ONLY_ENCRYPTED_INIT

    assert hashlib.sha256(b"sops").digest() == MAC_ONLY_ENCRYPTED_INIT
