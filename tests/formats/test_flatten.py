"""Flattening the sops metadata block for dotenv and INI (spec 4.6), and reading it back."""

from __future__ import annotations

import pytest

from psops.errors import CannotReadInput
from psops.formats.flatten import flatten, flatten_metadata, tokenize, unflatten, unflatten_metadata
from psops.keys.base import KeyStanza
from psops.metadata import Metadata, build_metadata, parse_metadata
from psops.selection import EncryptionRules
from psops.tree import Comment, Mapping, from_plain, to_plain

AGE_ENC = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
PGP_ENC = "-----BEGIN PGP MESSAGE-----\n\nwcBM\n=5coz\n-----END PGP MESSAGE-----"


def _single_group_block() -> Mapping:
    meta = Metadata(
        key_groups=[[KeyStanza("age", {"recipient": "age1abc", "enc": AGE_ENC}),
                     KeyStanza("pgp", {"created_at": "2026-05-22T20:15:26Z", "enc": PGP_ENC, "fp": "FBC7"})]],
        rules=EncryptionRules(unencrypted_suffix="_unencrypted"),
        lastmodified="2026-05-22T20:15:29Z", mac="ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", version="3.11.0")
    return build_metadata(meta)


def test_single_group_flattens_to_sops_flat_keys_sorted_with_newlines_escaped() -> None:
    assert flatten_metadata(_single_group_block()) == [
        ("age__list_0__map_enc", AGE_ENC.replace("\n", "\\n")),
        ("age__list_0__map_recipient", "age1abc"),
        ("lastmodified", "2026-05-22T20:15:29Z"),
        ("mac", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"),
        ("pgp__list_0__map_created_at", "2026-05-22T20:15:26Z"),
        ("pgp__list_0__map_enc", "-----BEGIN PGP MESSAGE-----\\n\\nwcBM\\n=5coz\\n-----END PGP MESSAGE-----"),
        ("pgp__list_0__map_fp", "FBC7"),
        ("unencrypted_suffix", "_unencrypted"),
        ("version", "3.11.0"),
    ]


def test_key_groups_threshold_and_mac_only_encrypted_are_text_and_empty_lists_vanish() -> None:
    meta = Metadata(
        key_groups=[[KeyStanza("age", {"recipient": "age1one", "enc": "e1"})],
                    [KeyStanza("age", {"recipient": "age1two", "enc": "e2"})]],
        rules=EncryptionRules(encrypted_regex="^pass", mac_only_encrypted=True), shamir_threshold=2,
        lastmodified="2026-01-01T00:00:00Z", mac="m", version="3.11.0")
    for block in (build_metadata(meta), build_metadata(meta, empty_list_as_null=True)):
        flat = dict(flatten_metadata(block))
        assert flat == {
            "shamir_threshold": "2",
            "key_groups__list_0__map_age__list_0__map_recipient": "age1one",
            "key_groups__list_0__map_age__list_0__map_enc": "e1",
            "key_groups__list_1__map_age__list_0__map_recipient": "age1two",
            "key_groups__list_1__map_age__list_0__map_enc": "e2",
            "lastmodified": "2026-01-01T00:00:00Z",
            "mac": "m",
            "encrypted_regex": "^pass",
            "mac_only_encrypted": "true",
            "version": "3.11.0",
        }  # hc_vault: [] / null in each group leaves no line


def test_nested_maps_use_map_separator() -> None:
    block = from_plain({"kms": [{"arn": "arn:x", "context": {"Environment": "prod", "Role": "web"},
                                 "created_at": "2026-01-01T00:00:00Z", "enc": "e", "aws_profile": ""}]})
    assert isinstance(block, Mapping)
    assert flatten(block) == {
        "kms__list_0__map_arn": "arn:x",
        "kms__list_0__map_context__map_Environment": "prod",
        "kms__list_0__map_context__map_Role": "web",
        "kms__list_0__map_created_at": "2026-01-01T00:00:00Z",
        "kms__list_0__map_enc": "e",
        "kms__list_0__map_aws_profile": "",
    }


def test_nulls_empty_containers_and_comments_are_dropped() -> None:
    block = Mapping([(Comment("c"), None), ("a", None), ("b", []), ("c", Mapping()), ("d", [None, "x"])])
    assert flatten(block) == {"d__list_1": "x"}


@pytest.mark.parametrize(("key", "tokens"), [
    ("version", ["version"]),
    ("age__list_0__map_recipient", ["age", 0, "recipient"]),
    ("key_groups__list_12__map_pgp__list_3__map_fp", ["key_groups", 12, "pgp", 3, "fp"]),
    ("kms__list_0__map_context__map_my_key", ["kms", 0, "context", "my_key"]),
    ("a__list_x__map_b", ["a", 0, "b"]),  # sops ignores Atoi's error: position 0
    ("", [""]),
])
def test_tokenize_splits_like_sops(key: str, tokens: list[str | int]) -> None:
    assert tokenize(key) == tokens


def test_unflatten_rebuilds_lists_and_maps_out_of_order() -> None:
    tree = unflatten([("a__list_1__map_x", "second"), ("a__list_0__map_x", "first"), ("top", "t")])
    assert to_plain(tree) == {"a": [{"x": "first"}, {"x": "second"}], "top": "t"}


def test_round_trip_through_flat_text_gives_back_the_metadata() -> None:
    meta = Metadata(
        key_groups=[[KeyStanza("pgp", {"created_at": "2026-01-01T00:00:00Z", "enc": PGP_ENC, "fp": "AB"})],
                    [KeyStanza("age", {"recipient": "age1two", "enc": AGE_ENC})]],
        rules=EncryptionRules(unencrypted_regex="^(clear|open)$", mac_only_encrypted=True), shamir_threshold=2,
        lastmodified="2026-01-01T00:00:00Z", mac="m", version="3.11.0")
    block = unflatten_metadata(flatten_metadata(build_metadata(meta)))
    assert block.get("shamir_threshold") == 2 and block.get("mac_only_encrypted") is True
    back = parse_metadata(block)
    assert back.key_groups == meta.key_groups
    assert back.rules == meta.rules and back.shamir_threshold == 2
    assert (back.lastmodified, back.mac, back.version) == ("2026-01-01T00:00:00Z", "m", "3.11.0")


@pytest.mark.parametrize(("text", "value"), [("2", 2), ("+3", 3), ("2.0", 2), ("2.000000", 2)])
def test_shamir_threshold_reads_integral_text(text: str, value: int) -> None:
    assert unflatten_metadata([("shamir_threshold", text)]).get("shamir_threshold") == value


@pytest.mark.parametrize("text", ["two", "2.5", "", "NaN"])
def test_shamir_threshold_that_is_no_integer_is_refused(text: str) -> None:
    with pytest.raises(CannotReadInput, match="shamir_threshold"):
        unflatten_metadata([("shamir_threshold", text)])


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("True", False), ("1", False)])
def test_mac_only_encrypted_is_true_only_for_exactly_true(text: str, value: bool) -> None:
    assert unflatten_metadata([("mac_only_encrypted", text)]).get("mac_only_encrypted") is value


def test_escaped_newlines_are_decoded() -> None:
    assert unflatten_metadata([("age__list_0__map_enc", "a\\nb\\n")]).get("age") == [Mapping([("enc", "a\nb\n")])]


@pytest.mark.parametrize("pairs", [
    [("age", "x"), ("age__list_0__map_enc", "y")],
    [("age__list_0__map_enc", "y"), ("age", "x")],
    [("age__list_0", "x"), ("age__map_enc", "y")],
    [("age__list_-1__map_enc", "y")],
])
def test_conflicting_or_negative_flat_keys_are_a_read_error(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(CannotReadInput):
        unflatten_metadata(pairs)
