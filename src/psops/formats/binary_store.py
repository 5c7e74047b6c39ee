"""The binary store: any file as one encrypted string under ``data``, in a JSON envelope (as sops).

Loading plaintext gives ``{"data": <the whole content>}``; loading an encrypted file reads the JSON envelope.
Dumping a decrypted tree writes the raw bytes of ``data`` back; an encrypted tree is written as JSON.
"""

from __future__ import annotations

from psops.errors import CannotDumpTree, PsopsError
from psops.formats.json_store import JsonStore
from psops.tree import Document, Mapping


class BinaryStore:
    """Stores arbitrary bytes (``--input-type binary``)."""

    name = "binary"

    def __init__(self, indent: int = -1) -> None:
        self._json = JsonStore(indent)

    def load(self, data: bytes) -> Document:
        """An encrypted envelope (a JSON object whose ``sops`` is an object) loads as JSON; anything else,
        including JSON that is not an envelope, is the plaintext blob under ``data``."""
        if data.lstrip().startswith(b"{") and b'"sops"' in data:
            try:
                doc = self._json.load(data)
            except PsopsError:
                doc = []
            if doc and isinstance(doc[0].get("sops"), Mapping):
                return doc
        return [Mapping([("data", data.decode("utf-8", "surrogateescape"))])]

    def dump(self, doc: Document) -> bytes:
        """Write the envelope when encrypted, else the raw ``data`` bytes."""
        branch = doc[0]
        if "sops" in branch:
            return self._json.dump(doc)
        value = branch.get("data")
        if not isinstance(value, str | bytes):
            raise CannotDumpTree("binary output needs a single string value under 'data'")
        return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
