"""The INI store: go-ini v1 reading rules (spec 8.4), its pretty layout, and the ``[sops]`` section (spec 4.5)."""

from __future__ import annotations

import pytest

from fixtures.gnupg import shared_dir
from psops.errors import CannotDumpTree, CannotReadInput
from psops.formats import get_store
from psops.formats.ini_store import IniStore
from psops.metadata import parse_metadata
from psops.tree import Comment, Mapping, Value, to_plain

VECTORS = shared_dir() / "vectors" / "sops-repo" / "encrypted"


def _load(text: str) -> Mapping:
    doc = IniStore().load(text.encode())
    assert len(doc) == 1
    return doc[0]


def _plain(branch: Mapping, name: str) -> object:
    plain = to_plain(branch)
    assert isinstance(plain, dict)
    return plain[name]


def _section(branch: Mapping, name: str) -> list[tuple[object, Value]]:
    value = branch.get(name)
    assert isinstance(value, Mapping)
    return list(value.items)


def test_sections_keys_and_the_default_section() -> None:
    branch = _load("top = 1\n[a]\nx=1\ny : 2\n[b]\n")
    assert to_plain(branch) == {"DEFAULT": {"top": "1"}, "a": {"x": "1", "y": "2"}, "b": {}}
    assert to_plain(_load("[a]\nx=1\n")) == {"DEFAULT": {}, "a": {"x": "1"}}
    assert get_store("ini").name == "ini"


def test_value_rules_of_go_ini() -> None:
    branch = _load(
        "[s]\n"
        "hazard = a#b\n"
        "semi = a;b\n"
        "dq = \"a#b\"\n"
        "tick = `x;y`\n"
        "spaced =   v  w   \n"
        "sq = ' padded '\n"
        "inner = \"a\"b\"\n"
        "multi = \"\"\"line1\nline2\"\"\"\n"
        "cont = one \\\n  two\n"
        "empty =\n"
        "- = auto1\n"
        "- = auto2\n"
        "dup = first\n"
        "dup = second\n"
        "`k=y` = quoted key\n"
    )
    assert _plain(branch, "s") == {
        "hazard": "a", "semi": "a", "dq": '"a', "tick": "x;y", "spaced": "v  w", "sq": " padded ", "inner": '"a"b"',
        "multi": "line1\nline2", "cont": "one two", "empty": "", "#1": "auto1", "#2": "auto2", "dup": "second",
        "k=y": "quoted key",
    }


def test_comments_go_before_sections_and_after_keys() -> None:
    branch = _load("; file comment\n[s]  # on header\n# c1\n;c2\nk = v ;inline\nj = w\n; lost at the end\n")
    assert _section(branch, "s") == [
        (Comment("file comment\n# on header"), None),
        ("k", "v"),
        (Comment("c1\n;c2\n;inline"), None),
        ("j", "w"),
    ]


def test_repeated_sections_stay_separate_and_a_bom_is_skipped() -> None:
    branch = _load("\ufeff[a]\nx=1\n[b]\ny=2\n[a]\nz=3\n")
    assert [k for k, _ in branch.items] == ["DEFAULT", "a", "b", "a"]
    assert [to_plain(v) for k, v in branch.items if k == "a"] == [{"x": "1"}, {"z": "3"}]


def test_pretty_layout_alignment_quoting_and_blank_lines() -> None:
    store = IniStore()
    branch = Mapping([
        ("DEFAULT", Mapping([("top", "1")])),
        ("s", Mapping([(Comment("  section note"), None), ("k", "v"), (Comment(" about k"), None),
                       ("longer_key", ""), ("ключ", "x"), ("hash", "a#b"), ("tick", "a`b"), ("nl", "a\nb"),
                       ("pad", " p "), ("k=y", "1"), ('q"k', "2"), ("b`k", "3")])),
        ("empty", Mapping()),
    ])
    assert store.dump([branch]).decode() == (
        "top = 1\n"
        "\n"
        ";   section note\n"
        "[s]\n"
        "; about k\n"
        "k          = v\n"
        "longer_key = \n"
        "ключ   = x\n"
        "hash       = `a#b`\n"
        'tick       = """a`b"""\n'
        'nl         = """a\nb"""\n'
        'pad        = " p "\n'
        "`k=y`      = 1\n"
        '`q"k`      = 2\n'
        '"""b`k"""  = 3\n'
        "\n"
        "[empty]\n"
    )


def test_written_values_read_back_unchanged() -> None:
    store = IniStore()
    values = {"hash": "a#b", "semi": "x;y", "tick": "a`b", "nl": "a\nb", "pad": " p ", "plain": "v", "empty": ""}
    doc = [Mapping([("s", Mapping(list(values.items())))])]
    assert _plain(store.load(store.dump(doc))[0], "s") == values
    # as with go-ini, a value wrapped in one pair of quotes loses them on the way back
    quoted = [Mapping([("s", Mapping([("q", "'q'")]))])]
    assert _plain(store.load(store.dump(quoted))[0], "s") == {"q": "q"}


def test_empty_default_section_is_not_written_and_non_strings_use_go_formatting() -> None:
    branch = Mapping([("DEFAULT", Mapping()), ("s", Mapping([("f", 42.0), ("g", 1e21), ("t", False), ("n", None)]))])
    assert IniStore().dump([branch]) == b"[s]\nf = 42.0\ng = 1E+21\nt = false\nn = <nil>\n"
    assert IniStore().dump([Mapping([("DEFAULT", Mapping())])]) == b""


def test_default_written_later_gets_a_header() -> None:
    branch = _load("k=1\n[DEFAULT]\nj=2\n")
    assert IniStore().dump([branch]) == b"k = 1\n\n[DEFAULT]\nj = 2\n"


@pytest.mark.parametrize("value", [Mapping([("x", "1")]), ["a"]])
def test_nested_values_cannot_be_written(value: Value) -> None:
    with pytest.raises(CannotDumpTree, match=r"s\.k"):
        IniStore().dump([Mapping([("s", Mapping([("k", value)]))])])


def test_top_level_values_need_sections() -> None:
    with pytest.raises(CannotDumpTree, match="needs sections"):
        IniStore().dump([Mapping([("flat", "value")])])


@pytest.mark.parametrize(("text", "message"), [
    ("[a]\nx=1\n[b\n", "line 3: unclosed section"),
    ("[]\nx=1\n", "line 1: empty section name"),
    ("[a]\nx=1\nSECRETLINE\n", "line 3: key-value delimiter not found"),
    ("[a]\n=v\n", "line 2: empty key name"),
    ('[a]\nk = """never\nclosed\n', "line 2: the value quoted with"),
])
def test_bad_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(CannotReadInput, match=message) as info:
        IniStore().load(text.encode())
    assert "SECRETLINE" not in str(info.value)


def test_invalid_utf8_names_line_and_column() -> None:
    with pytest.raises(CannotReadInput, match="line 2, column 5"):
        IniStore().load(b"[a]\nk = \xc3\x28\n")


def test_sops_section_becomes_the_metadata_item_and_is_written_last_and_sorted() -> None:
    store = IniStore()
    doc = store.load(b"[sops]\nversion = 3.11.0\nmac = m\nlastmodified = 2026-01-01T00:00:00Z\n"
                     b"age__list_0__map_recipient = age1x\nage__list_0__map_enc = a\\nb\\n\n[s]\nk = ENC[x]\n")
    assert [k for k, _ in doc[0].items] == ["DEFAULT", "s", "sops"]
    assert parse_metadata(doc[0].get("sops")).key_groups[0][0].fields == {  # type: ignore[arg-type]
        "enc": "a\nb\n", "recipient": "age1x"}
    assert store.dump(doc) == (
        b"[s]\nk = ENC[x]\n\n[sops]\nage__list_0__map_enc       = a\\nb\\n\n"
        b"age__list_0__map_recipient = age1x\nlastmodified               = 2026-01-01T00:00:00Z\n"
        b"mac                        = m\nversion                    = 3.11.0\n"
    )


def test_sops_3_13_triple_quoted_metadata_is_read() -> None:
    doc = IniStore().load((VECTORS / "functional-tests_res_format-2.enc.ini").read_bytes())
    meta = parse_metadata(doc[0].get("sops"))  # type: ignore[arg-type]
    enc = str(meta.key_groups[0][0].fields["enc"])
    assert enc.startswith("-----BEGIN PGP MESSAGE-----\n\nwcBM") and enc.endswith("\n=j3Rn\n-----END PGP MESSAGE-----")
    assert meta.version == "3.13.1"


def test_a_file_written_by_sops_3_13_2_round_trips_byte_for_byte() -> None:
    data = (VECTORS / "functional-tests_res_format.enc.ini").read_bytes()
    store = IniStore()
    assert store.dump(store.load(data)) == data
