"""The store contract: bytes of one file format <-> a :mod:`psops.tree` document.

A store knows nothing of encryption. On load it returns every branch including its ``sops`` metadata item
(as a :class:`psops.tree.Mapping` under the key ``sops``, however the format lays it out: nested for YAML and
JSON, flattened ``sops_*`` lines for dotenv, a ``[sops]`` section for INI). On dump it lays out whatever tree
it is given, including a ``sops`` item. Errors are :class:`psops.errors.CannotReadInput` with line and column
where the parser knows them.
"""

from __future__ import annotations

from typing import Protocol

from psops.tree import Document


class Store(Protocol):
    """One file format (yaml, json, dotenv, ini, binary)."""

    name: str

    def load(self, data: bytes) -> Document:
        """Parse ``data`` into branches; raise CannotReadInput on bad input."""
        ...

    def dump(self, doc: Document) -> bytes:
        """Serialize branches the way ``sops`` lays this format out."""
        ...
