"""The binary store: any bytes as one ``data`` string, and the JSON envelope of an encrypted file (spec 4.7)."""

from __future__ import annotations

import pytest

from psops.errors import CannotDumpTree
from psops.formats import format_for, get_store
from psops.formats.binary_store import BinaryStore
from psops.tree import Mapping

BLOB = bytes(range(256)) + b"\x00\xff\xfe tail \xc3\x28"


def test_any_bytes_load_as_one_data_value_and_dump_back_exactly() -> None:
    store = BinaryStore()
    doc = store.load(BLOB)
    assert [k for k, _ in doc[0].items] == ["data"]
    assert store.dump(doc) == BLOB


def test_empty_file_is_an_empty_data_string() -> None:
    store = BinaryStore()
    doc = store.load(b"")
    assert doc[0].items == [("data", "")]
    assert store.dump(doc) == b""


def test_an_encrypted_envelope_loads_as_json() -> None:
    envelope = b'{\n\t"data": "ENC[x]",\n\t"sops": {\n\t\t"version": "3.11.0"\n\t}\n}\n'
    doc = BinaryStore().load(envelope)
    assert doc[0].get("data") == "ENC[x]" and isinstance(doc[0].get("sops"), Mapping)
    assert BinaryStore().dump(doc) == envelope


@pytest.mark.parametrize("text", [b'{"sops": "not metadata", "a": 1}', b'{"sops": {', b'{"x": "sops"}',
                                  b'["sops"]'])
def test_json_that_is_no_envelope_is_plain_data(text: bytes) -> None:
    assert BinaryStore().load(text)[0].items == [("data", text.decode())]


def test_a_tree_without_data_cannot_be_written_as_binary() -> None:
    with pytest.raises(CannotDumpTree):
        BinaryStore().dump([Mapping([("other", "x")])])


def test_unknown_extensions_pick_the_binary_store() -> None:
    assert format_for("notes.txt") == "binary" and format_for("key.pem") == "binary"
    assert get_store("binary").name == "binary"
