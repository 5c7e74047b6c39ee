"""Multi-document YAML streams, split without parsing so that untouched documents keep their exact bytes.

YAML (1.2, section 9) ends a document at a line that starts, in column 0, with the directives-end marker
``---`` or the document-end marker ``...`` followed by a space, a tab or the end of the line. Such a line can
never be part of a scalar (the spec forbids it even inside block and quoted scalars), so cutting the stream at
those lines is exact and needs no parser. Each piece becomes a :class:`Chunk`:

* ``prefix``: comment and blank lines that stood before the chunk's own ``---`` line (or in a comment-only
  piece before it: a piece with no content is not a document, and is folded into the next one);
* ``marker``: the chunk's ``---`` line when it had one;
* ``body``: everything after it, up to the next ``---`` line (a ``...`` line ends the body and is kept in it).

``prefix + marker + body`` of all chunks, plus dropped trailing comment-only text, gives back the input.
Directive lines (``%YAML``) are dropped, as nothing downstream needs them. :func:`join_documents` writes a
stream again: documents separated by ``---`` lines, each ending with a newline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_MARKER = re.compile(rb"(?:---|\.\.\.)(?:[ \t].*)?(?:\r?\n)?\Z", re.DOTALL)
_CONTENT = re.compile(rb"^[ \t]*[^\s#]", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    """One document of a stream, as bytes of the source."""

    index: int
    """Position among the stream's documents (0-based; empty pieces are not counted)."""
    prefix: bytes
    """Comment/blank lines before the document's ``---`` line (no directive lines)."""
    marker: bytes
    """The ``---`` line that opened the document (b'' for a first document without one)."""
    body: bytes
    """The document's content after the marker line."""
    line: int
    """1-based line of the source where the document's content starts (for messages)."""

    @property
    def text(self) -> bytes:
        """What the document is on its own: prefix and body (a marker line carrying content instead of prefix)."""
        if self.marker and _marker_has_content(self.marker):
            return self.marker + self.body  # "--- value": the marker line is part of the document
        return self.prefix + self.body


def _marker_has_content(marker: bytes) -> bool:
    rest = marker[3:].strip()
    return bool(rest) and not rest.startswith(b"#")


def _is_start(line: bytes) -> bool:
    return line.startswith(b"---") and _MARKER.match(line) is not None


def _is_end(line: bytes) -> bool:
    return line.startswith(b"...") and _MARKER.match(line) is not None


def has_content(text: bytes) -> bool:
    """True when ``text`` holds anything but blank lines, comments and directives."""
    return any(not m.group(0).lstrip().startswith(b"%") for m in _CONTENT.finditer(text))


def split_stream(data: bytes) -> list[Chunk]:
    """Cut a YAML stream into its documents, keeping every document's bytes exactly (see module doc)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.splitlines(keepends=True)
    pieces: list[tuple[bytes, list[bytes], int]] = []  # (marker, body lines, first body line number)
    marker = b""
    body: list[bytes] = []
    start = 1
    for number, line in enumerate(lines, 1):
        if _is_start(line):
            pieces.append((marker, body, start))
            marker, body, start = line, [], number + 1 if not _marker_has_content(line) else number
        elif _is_end(line):
            body.append(line)
            pieces.append((marker, body, start))
            marker, body, start = b"", [], number + 1
        else:
            body.append(line)
    pieces.append((marker, body, start))
    chunks: list[Chunk] = []
    pending = b""
    for piece_marker, piece_body, piece_line in pieces:
        text = b"".join(piece_body)
        if not has_content(text) and not (piece_marker and _marker_has_content(piece_marker)):
            pending += _without_directives(text)
            continue
        chunks.append(Chunk(len(chunks), pending, piece_marker, text, piece_line))
        pending = b""
    return chunks


def _without_directives(text: bytes) -> bytes:
    return b"".join(line for line in text.splitlines(keepends=True) if not line.startswith(b"%"))


def join_documents(documents: Iterable[bytes]) -> bytes:
    """One stream from documents: ``---`` lines between them, every document ending with a newline."""
    out: list[bytes] = []
    for i, doc in enumerate(documents):
        if i and not _is_start(doc.split(b"\n", 1)[0] + b"\n"):
            out.append(b"---\n")
        out.append(doc)
        if doc and not doc.endswith(b"\n"):
            out.append(b"\n")
    return b"".join(out)


__all__ = ["Chunk", "has_content", "join_documents", "split_stream"]
