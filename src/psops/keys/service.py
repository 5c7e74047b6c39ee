"""The key-service contract (:class:`KeyService`), one ``Protocol`` for every kind of master key.

Kept apart from :mod:`psops.keys.base` so that the decrypt path, which only needs :class:`KeyStanza`, does not
import :mod:`typing`; ``from psops.keys import KeyService`` and ``from psops.keys.base import KeyService`` still
work and give this class.
"""

from __future__ import annotations

from typing import Protocol

from psops.keys.base import KeyStanza


class KeyService(Protocol):
    """One kind of master key (age, pgp, kms ...), registered by its metadata list name."""

    kind: str

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Turn a comma-separated CLI/env/config key list into recipient stanzas (no ``enc`` yet)."""
        ...

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Wrap ``data_key`` to ``recipient``; return the complete stanza to store in the file."""
        ...

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Return the data key wrapped in ``stanza``; raise NotMine or KeyServiceError."""
        ...

    def describe(self, stanza: KeyStanza) -> str:
        """A short public name of the key for messages (recipient, fingerprint, ARN ...)."""
        ...

    def identity(self, stanza: KeyStanza) -> str:
        """The string that identifies the master key, used to compare key sets (without ``enc``)."""
        ...


__all__ = ["KeyService"]
