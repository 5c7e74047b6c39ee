"""The JSON store: parsing rules and Go encoding/json layout."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.strategies import near_misses
from psops.errors import CannotDumpTree, CannotReadInput, EmptyDocument
from psops.formats import json_store
from psops.formats.json_store import JsonStore, go_json_string
from psops.tree import Mapping, to_plain


def test_layout_matches_go_indent() -> None:
    store = JsonStore()
    doc = store.load(b'{"a": 1, "b": [1.5, "x", {}], "c": {}, "d": [], "e": null, "f": true}')
    assert store.dump(doc) == (
        b'{\n\t"a": 1,\n\t"b": [\n\t\t1.5,\n\t\t"x",\n\t\t{}\n\t],\n\t"c": {},\n\t"d": [],\n\t"e": null,\n\t"f": true\n}\n'
    )


def test_space_indent_and_zero_indent() -> None:
    doc = JsonStore().load(b'{"a": {"b": 1}}')
    assert JsonStore(indent=2).dump(doc) == b'{\n  "a": {\n    "b": 1\n  }\n}\n'
    assert JsonStore(indent=0).dump(doc) == b'{\n"a": {\n"b": 1\n}\n}\n'


def test_numbers_load_as_floats_like_this_sops() -> None:
    doc = JsonStore().load(b'{"n": 42, "f": 1e21}')
    assert doc[0].get("n") == 42.0 and isinstance(doc[0].get("n"), float)


def test_duplicate_keys_are_kept_in_order() -> None:
    doc = JsonStore().load(b'{"a": 1, "a": 2}')
    assert doc[0].items == [("a", 1.0), ("a", 2.0)]


def test_go_string_escapes() -> None:
    assert go_json_string('héllo <&> "q" \\ \n\u2028\x01') == '"héllo \\u003c\\u0026\\u003e \\"q\\" \\\\ \\n\\u2028\\u0001"'


@pytest.mark.parametrize(
    ("data", "needle"),
    [(b"[1, 2]", "root must be an object"), (b'{"a": }', "line 1, column 7"), (b"{\n\"a\": NaN}", "NaN"),
     (b"\xff\xfe", "UTF-8")],
)
def test_bad_input_is_a_clean_error(data: bytes, needle: str) -> None:
    with pytest.raises(CannotReadInput) as err:
        JsonStore().load(data)
    assert needle in str(err.value)


def test_empty_input() -> None:
    with pytest.raises(EmptyDocument):
        JsonStore().load(b"  \n")


def test_nan_cannot_be_written() -> None:
    with pytest.raises(CannotDumpTree):
        JsonStore().dump([Mapping([("x", float("nan"))])])


def test_roundtrip_plain_data() -> None:
    data = b'{\n\t"k": "v",\n\t"n": [\n\t\t1,\n\t\t2.5\n\t]\n}\n'
    doc = JsonStore().load(data)
    assert to_plain(doc[0]) == {"k": "v", "n": [1.0, 2.5]}
    assert JsonStore().dump(doc) == data


_GO_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
}


def _go_quote_one_by_one(text: str) -> str:
    """Go's encodeState.string, character by character (the reference for the fast implementation)."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        elif "\udc80" <= ch <= "\udcff":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out) + '"'


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from([*map(chr, range(0x80)), "\u2028", "\u2029", "\udc80", "\udcff", "\ud800",
                                         "\x7f", "\x85", "é", "漢", "\U0001f600"]), max_size=40))
def test_go_json_string_matches_go_character_by_character(text: str) -> None:
    assert go_json_string(text) == _go_quote_one_by_one(text)


# JsonStore reads with CPython's C scanner alone (no json package, whose import compiles regexes); anything it
# cannot read goes to the json package, which reports the error. Both must see every input the same way.
_JSON_FRAGMENTS = ('{"a": ', '"b"', "1", "-0.5e3", "1e999", "[", "]", "{", "}", ",", ":", " ", "\n", "\t", "true",
                   "null", "NaN", "Infinity", '"\\u00e9"', '"\\ud800"', '"x', "\\", "\x00", "é", '{"k": [1, {"z": ""}]}')


def _outcome(decode: Any, text: str) -> object:
    try:
        return ("ok", to_plain(decode(text)) if isinstance(decode(text), Mapping) else decode(text))
    except Exception as exc:
        return ("error", type(exc).__name__)


@settings(max_examples=1500, deadline=None)
@given(near_misses(*_JSON_FRAGMENTS, max_fragments=10) | st.sampled_from(["", " ", "{} x", "{}\n\n", " \n{} \r\n",
                                                                          '{"a": 1}{', "[1]", '{"a": NaN}']))
def test_lean_json_decoder_reads_what_the_json_package_reads(text: str) -> None:
    lean = _outcome(json_store._decode, text)
    reporting = _outcome(json_store._decode_reporting, text)
    if lean[0] == "ok" or reporting[0] == "ok":
        assert lean == reporting
    else:  # every failure of the scanner alone goes to the json package, which names the error
        assert lean[1] in ("_NotDecoded", "_OutOfRange"), lean
        assert reporting == ("error", "CannotReadInput")


def test_invalid_json_is_reported_with_its_line_and_column() -> None:
    with pytest.raises(CannotReadInput, match=r"invalid JSON at line 2, column 9: Expecting ',' delimiter"):
        JsonStore().load(b'{"a": 1,\n "b": 2 "c": 3}\n')
    with pytest.raises(CannotReadInput, match=r"Extra data"):
        JsonStore().load(b'{"a": 1} {"b": 2}\n')
    with pytest.raises(CannotReadInput, match=r"invalid JSON number NaN"):
        JsonStore().load(b'{"a": NaN}\n')
