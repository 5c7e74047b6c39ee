"""The dotenv store: sops' line rules (spec 8.3) and its ``sops_*`` metadata lines (spec 4.4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fixtures.gnupg import shared_dir
from psops.errors import CannotDumpTree, CannotReadInput
from psops.formats import get_store
from psops.formats.dotenv_store import DotenvStore
from psops.metadata import parse_metadata
from psops.tree import Comment, Mapping, Value

VECTOR = shared_dir() / "vectors" / "sops-repo" / "encrypted" / "functional-tests_res_format.enc.env"


def test_lines_comments_and_escapes() -> None:
    doc = DotenvStore().load(b"# top\nFOO=bar\n\nSPACED = v \nQ='quoted'\nML=a\\nb\nNUM=42\nCR=x\r\nE=\nEQ=a=b\n#")
    assert doc[0].items == [
        (Comment(" top"), None), ("FOO", "bar"), ("SPACED ", " v "), ("Q", "'quoted'"), ("ML", "a\nb"),
        ("NUM", "42"), ("CR", "x\r"), ("E", ""), ("EQ", "a=b"), (Comment(""), None),
    ]


def test_output_drops_empty_lines_and_escapes_newlines() -> None:
    store = DotenvStore()
    text = b"# top\n\nA=1\n\n\nSPACED = v \nML=a\\nb\n"
    assert store.dump(store.load(text)) == b"# top\nA=1\nSPACED = v \nML=a\\nb\n"


def test_get_store_by_name() -> None:
    assert get_store("dotenv").name == "dotenv"


def test_values_of_other_formats_are_written_as_sops_does() -> None:
    branch = Mapping([("f", 42.0), ("g", 2.5), ("big", 1e21), ("small", 1e-7), ("i", 7), ("t", True),
                      ("n", None), ("ts", datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC))])
    assert DotenvStore().dump([branch]) == (
        b"f=42.0\ng=2.5\nbig=1E+21\nsmall=1E-07\ni=7\nt=true\nn=<nil>\nts=2024-01-02T03:04:05Z\n"
    )


@pytest.mark.parametrize("value", [Mapping([("x", "1")]), ["a", "b"]])
def test_nested_values_cannot_be_written(value: Value) -> None:
    with pytest.raises(CannotDumpTree, match="cannot use complex value in dotenv file"):
        DotenvStore().dump([Mapping([("OK", "1"), ("NESTED", value)])])


def test_several_documents_cannot_be_written() -> None:
    with pytest.raises(CannotDumpTree):
        DotenvStore().dump([Mapping(), Mapping()])


def test_a_line_without_equals_names_its_line_and_not_its_content() -> None:
    with pytest.raises(CannotReadInput, match="line 3") as info:
        DotenvStore().load(b"A=1\n# c\nTOPSECRETVALUE\nB=2\n")
    assert "TOPSECRETVALUE" not in str(info.value)


def test_invalid_utf8_names_line_and_column() -> None:
    with pytest.raises(CannotReadInput, match="line 2, column 3"):
        DotenvStore().load(b"A=1\nB=\xff\n")


def test_sops_lines_become_the_metadata_item_and_go_back_sorted_after_the_data() -> None:
    store = DotenvStore()
    text = (b"sops_version=3.11.0\nA=ENC[x]\nsops_mac=m\nsops_age__list_0__map_enc=l1\\nl2\\n\n"
            b"sops_age__list_0__map_recipient=age1x\nsops_lastmodified=2026-01-01T00:00:00Z\n"
            b"sops_shamir_threshold=2\nsops_mac_only_encrypted=true\n#after\n")
    doc = store.load(text)
    keys = [k for k, _ in doc[0].items]
    assert keys == ["A", Comment("after"), "sops"]
    block = doc[0].get("sops")
    assert isinstance(block, Mapping)
    assert block.get("age") == [Mapping([("enc", "l1\nl2\n"), ("recipient", "age1x")])]
    assert block.get("shamir_threshold") == 2 and block.get("mac_only_encrypted") is True
    assert store.dump(doc) == (
        b"A=ENC[x]\n#after\nsops_age__list_0__map_enc=l1\\nl2\\n\nsops_age__list_0__map_recipient=age1x\n"
        b"sops_lastmodified=2026-01-01T00:00:00Z\nsops_mac=m\nsops_mac_only_encrypted=true\n"
        b"sops_shamir_threshold=2\nsops_version=3.11.0\n"
    )


def test_a_file_written_by_sops_round_trips_byte_for_byte() -> None:
    data = VECTOR.read_bytes()
    store = DotenvStore()
    doc = store.load(data)
    assert store.dump(doc) == data
    meta = parse_metadata(doc[0].get("sops"))  # type: ignore[arg-type]
    assert meta.version == "3.13.1" and meta.key_groups[0][0].kind == "pgp"
    assert meta.key_groups[0][0].fields["fp"] == "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
    assert str(meta.key_groups[0][0].fields["enc"]).startswith("-----BEGIN PGP MESSAGE-----\n\nwcBM")
