"""The key-service contract: wrap a data key to a master key, unwrap it again.

A *stanza* is one entry of a key list in the ``sops`` metadata block (``sops.age[0]``, ``sops.pgp[1]`` ...):
the key service's descriptor fields (``recipient``, ``fp``, ``arn`` ...) plus the wrapped key in ``enc`` and,
for most kinds, ``created_at``. The core stores stanzas without understanding them; only the key service
named by ``kind`` reads them. A recipient to wrap to is a stanza without ``enc``.

``unwrap`` raises :class:`psops.errors.NotMine` when the service holds no identity for the stanza (so the
engine tries the next key) and :class:`psops.errors.KeyServiceError` when it should have worked but failed.
"""

from __future__ import annotations

from psops.record import Record

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the Protocol below is for type checkers and plug-ins only
if TYPE_CHECKING:
    from psops.keys.service import KeyService


class KeyStanza(Record):
    """One master key of a file: its kind (metadata list name) and its fields in metadata order."""

    __slots__ = ("kind", "fields")

    def __init__(self, kind: str, fields: dict[str, object] | None = None) -> None:
        self.kind = kind
        self.fields: dict[str, object] = {} if fields is None else fields

    @property
    def enc(self) -> str:
        """The wrapped data key as stored in the file ('' for a recipient not yet wrapped)."""
        value = self.fields.get("enc", "")
        return value if isinstance(value, str) else ""


def __getattr__(name: str) -> object:
    """``KeyService`` lives in :mod:`psops.keys.service` (it needs typing); import it from here on first use."""
    if name == "KeyService":
        from psops.keys.service import KeyService

        return KeyService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["KeyService", "KeyStanza"]
