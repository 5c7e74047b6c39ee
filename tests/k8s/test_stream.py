"""Splitting YAML streams into documents without losing a byte, and joining them again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from psops.formats.yaml_store import YamlStore
from psops.k8s.stream import has_content, join_documents, split_stream


def texts(data: bytes) -> list[bytes]:
    return [c.text for c in split_stream(data)]


def test_single_document_keeps_its_bytes() -> None:
    data = b"# a comment\napiVersion: v1\nkind: ConfigMap   # trailing\nmetadata: {name: x}\n"
    assert texts(data) == [data]


def test_documents_are_cut_at_marker_lines_only() -> None:
    data = (b"---\nkind: A\nnote: |\n  ---\n  still the scalar\n  --- too\n"
            b"---\nkind: B\nlist:\n- ---x\n---   \nkind: C\n")
    assert texts(data) == [b"kind: A\nnote: |\n  ---\n  still the scalar\n  --- too\n",
                           b"kind: B\nlist:\n- ---x\n", b"kind: C\n"]
    # every piece parses on its own
    assert [YamlStore().load(t)[0].get("kind") for t in texts(data)] == ["A", "B", "C"]


def test_comment_only_pieces_fold_into_the_next_document_and_trailing_ones_drop() -> None:
    data = b"# licence header\n---\nkind: A\n---\n# section two\n\n---\nkind: B\n---\n# the end\n"
    chunks = split_stream(data)
    assert [c.text for c in chunks] == [b"# licence header\nkind: A\n", b"# section two\n\nkind: B\n"]
    assert [c.index for c in chunks] == [0, 1]
    assert chunks[1].line == 8


def test_document_end_marker_and_directives() -> None:
    data = b"%YAML 1.2\n---\nkind: A\n...\n---\nkind: B\n...\n"
    assert texts(data) == [b"kind: A\n...\n", b"kind: B\n...\n"]


def test_marker_with_content_keeps_the_marker() -> None:
    data = b"--- {kind: A}\n--- # just a comment\nkind: B\n"
    assert texts(data) == [b"--- {kind: A}\n", b"kind: B\n"]
    joined = join_documents(texts(data))
    assert [b.get("kind") for b in YamlStore().load(joined)] == ["A", "B"]


def test_crlf_and_bom() -> None:
    data = b"\xef\xbb\xbfkind: A\r\n---\r\nkind: B\r\n"
    assert texts(data) == [b"kind: A\r\n", b"kind: B\r\n"]


def test_empty_streams_have_no_documents() -> None:
    assert split_stream(b"") == []
    assert split_stream(b"---\n# nothing\n---\n\n") == []
    assert not has_content(b"# c\n\n   # d\n%YAML 1.2\n")
    assert has_content(b"# c\nk: v\n")


def test_join_adds_separators_and_final_newlines() -> None:
    assert join_documents([b"a: 1", b"b: 2\n"]) == b"a: 1\n---\nb: 2\n"
    assert join_documents([]) == b""


_line = st.sampled_from([b"kind: A\n", b"# note\n", b"\n", b"---\n", b"...\n", b"  - item\n", b"key: |\n",
                         b"  text ---\n", b"--- # c\n", b"x: 1\r\n"])


@given(st.lists(_line, max_size=30))
def test_no_byte_is_lost(lines: list[bytes]) -> None:
    data = b"".join(lines)
    chunks = split_stream(data)
    for c in chunks:
        assert has_content(c.body)  # every document holds content ...
        assert c.body in data  # ... taken verbatim from the input
    # ... and every content line of the input is in exactly one document, in order.
    content = [line for line in data.splitlines() if line.strip() and not line.lstrip().startswith(b"#")
               and line.rstrip() not in (b"---", b"...") and not line.startswith(b"--- #")]
    kept = [line for c in chunks for line in c.body.splitlines() if line.strip()
            and not line.lstrip().startswith(b"#") and line.rstrip() not in (b"---", b"...")]
    assert content == kept
