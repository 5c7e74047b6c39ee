"""The binary store: any file as one encrypted string under ``data``, in a JSON envelope (as sops).

Loading plaintext gives ``{"data": <the whole content>}``; loading an encrypted file reads the JSON envelope.
Dumping a decrypted tree writes the raw bytes of ``data`` back; an encrypted tree is written as JSON.
"""

from __future__ import annotations

from psops.errors import CannotDumpTree
from psops.formats.json_store import JsonStore
from psops.tree import Document, Mapping


class BinaryStore:
    """Stores arbitrary bytes (``--input-type binary``)."""

    name = "binary"

    def __init__(self, indent: int = -1) -> None:
        self._json = JsonStore(indent)

    def load(self, data: bytes) -> Document:
        """An encrypted envelope (JSON with ``sops``) loads as JSON; anything else is the plaintext blob."""
        stripped = data.lstrip()
        if stripped.startswith(b"{") and b'"sops"' in data:
            try:
                doc = self._json.load(data)
                if "sops" in doc[0]:
                    return doc
            except Exception:
                pass
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
