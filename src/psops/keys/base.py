"""The key-service contract: wrap a data key to a master key, unwrap it again.

A *stanza* is one entry of a key list in the ``sops`` metadata block (``sops.age[0]``, ``sops.pgp[1]`` ...):
the key service's descriptor fields (``recipient``, ``fp``, ``arn`` ...) plus the wrapped key in ``enc`` and,
for most kinds, ``created_at``. The core stores stanzas without understanding them; only the key service
named by ``kind`` reads them. A recipient to wrap to is a stanza without ``enc``.

``unwrap`` raises :class:`psops.errors.NotMine` when the service holds no identity for the stanza (so the
engine tries the next key) and :class:`psops.errors.KeyServiceError` when it should have worked but failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class KeyStanza:
    """One master key of a file: its kind (metadata list name) and its fields in metadata order."""

    kind: str
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def enc(self) -> str:
        """The wrapped data key as stored in the file ('' for a recipient not yet wrapped)."""
        value = self.fields.get("enc", "")
        return value if isinstance(value, str) else ""


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
