"""The dotenv store: ``KEY=value`` lines, read and written exactly as sops does (spec 4.4, 8.3).

Reading splits the file on ``\\n`` only (a CR stays part of the key or value) and drops empty lines. A line
starting with ``#`` is a comment whose text is everything after the ``#``; any other line is split at its
first ``=`` into a key and a value, both verbatim (spaces and quotes included: no ``export``, quote or escape
processing), except that the two characters ``\\n`` in a value become a newline. Every value is a string.
Lines whose key starts with ``sops_`` are the flattened metadata (:mod:`psops.formats.flatten`); they come
back as one ``sops`` item at the end of the branch.

Writing emits comments as ``#text`` and values as ``KEY=value`` with newlines escaped back to ``\\n``, never
an empty line; the ``sops`` item becomes ``sops_<flat key>=<text>`` lines after the data, sorted by flat key.
Mappings and lists cannot be written (``cannot use complex value in dotenv file``).
"""

from __future__ import annotations

from psops.errors import CannotDumpTree, CannotReadInput
from psops.formats.flatten import flatten_metadata, unflatten_metadata
from psops.formats.textutil import decode_utf8, go_value_string
from psops.tree import Comment, Document, Key, Mapping, Value

SOPS_PREFIX = "sops_"
SOPS_KEY = "sops"


class DotenvStore:
    """Reads and writes dotenv files (``.env``)."""

    name = "dotenv"

    def load(self, data: bytes) -> Document:
        """Parse ``KEY=value`` and ``#comment`` lines into one branch (metadata under ``sops``)."""
        text = decode_utf8(data, "dotenv")
        items: list[tuple[Key, Value]] = []
        metadata: list[tuple[str, str]] = []
        for lineno, line in enumerate(text.split("\n"), 1):
            if not line:
                continue
            if line[0] == "#":
                items.append((Comment(line[1:]), None))
                continue
            pos = line.find("=")
            if pos < 0:
                raise CannotReadInput(f"invalid dotenv input at line {lineno}: the line has no '='",
                                      hint="write KEY=value lines; comment lines start with #")
            key, value = line[:pos], line[pos + 1:].replace("\\n", "\n")
            if key.startswith(SOPS_PREFIX):
                metadata.append((key[len(SOPS_PREFIX):], value))
            else:
                items.append((key, value))
        if metadata:
            items.append((SOPS_KEY, unflatten_metadata(metadata)))
        return [Mapping(items)]

    def dump(self, doc: Document) -> bytes:
        """Write one branch as dotenv lines; a ``sops`` mapping becomes sorted ``sops_*`` lines at the end."""
        if len(doc) != 1:
            raise CannotDumpTree("a dotenv file holds exactly one document",
                                 hint="use YAML output for multi-document streams")
        out: list[str] = []
        metadata: Mapping | None = None
        for key, value in doc[0].items:
            if isinstance(value, Mapping) and key == SOPS_KEY:
                metadata = value
                continue
            if isinstance(value, Mapping | list):
                raise CannotDumpTree("cannot use complex value in dotenv file",
                                     hint=f"the value of {key!r} is a mapping or a list; dotenv holds only "
                                          "flat KEY=value lines (use --output-type yaml or json)")
            if isinstance(key, Comment):
                out.append(f"#{key.text}\n")
            else:
                text = go_value_string(value).replace("\n", "\\n")
                out.append(f"{key}={text}\n")
        if metadata is not None:
            out.extend(f"{SOPS_PREFIX}{key}={text}\n" for key, text in flatten_metadata(metadata))
        return "".join(out).encode("utf-8", "surrogateescape")


__all__ = ["DotenvStore"]
