"""Data-key rotation: a new data key for a file, every value re-encrypted, a new MAC.

As ``sops rotate``: the file is decrypted (MAC checked unless ``ignore_mac``), a fresh 32-byte data key is
generated, the master keys are edited (``--add-*`` keys join the first key group, ``--rm-*`` keys leave every
group) and each wraps the new key (or its Shamir share), and every value is encrypted again under the new key
*reusing its IV* (:meth:`psops.cipher.ValueCipher.rekeyed`), so data and tag change while the IVs stay and the
git diff still lines up value by value. ``lastmodified`` and the recorded data-key creation time become ``now``.
The removed recipients know the old data key only: nothing they hold opens the new file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from psops.engine import Decrypted, seal_document, wrap_data_key
from psops.errors import NoEncryptionKey
from psops.formats import StoreSettings, get_store
from psops.keys.base import KeyStanza
from psops.metadata import DATA_KEY_CREATED_AT, Metadata, attach_metadata, build_metadata, now_rfc3339
from psops.operations import open_encrypted
from psops.policy import key_identity
from psops.tree import Document

_WRAP_ONLY = ("enc", "created_at")


def key_id(stanza: KeyStanza) -> str:
    """``kind:identity`` of a master key (``age:age1…``, ``pgp:FP``, ``kms:arn:…``), public by construction."""
    return f"{stanza.kind}:{key_identity(stanza)}"


def as_recipient(stanza: KeyStanza) -> KeyStanza:
    """The stanza without its wrapped key and creation time: what a key service wraps a new key to."""
    return KeyStanza(stanza.kind, {k: v for k, v in stanza.fields.items() if k not in _WRAP_ONLY})


def edit_groups(groups: Sequence[Sequence[KeyStanza]], add: Sequence[KeyStanza] = (),
                remove: Sequence[KeyStanza] = ()) -> tuple[list[list[KeyStanza]], list[str]]:
    """Apply ``--add-*`` (to the first group, skipping keys it has) and ``--rm-*`` (from every group).

    Returns the new groups of recipients and warnings (a key to remove that the file does not have)."""
    drop = {key_id(s) for s in remove}
    found: set[str] = set()
    out: list[list[KeyStanza]] = []
    for group in groups:
        kept = []
        for stanza in group:
            ident = key_id(stanza)
            if ident in drop:
                found.add(ident)
            else:
                kept.append(as_recipient(stanza))
        out.append(kept)
    if add:
        if not out:
            out.append([])
        present = {key_id(s) for s in out[0]}
        for stanza in add:
            if key_id(stanza) not in present:
                out[0].append(as_recipient(stanza))
                present.add(key_id(stanza))
    warnings = [f"{ident} is not a master key of the file: nothing to remove" for ident in sorted(drop - found)]
    return out, warnings


def new_data_key_metadata(data_key: bytes, groups: Sequence[Sequence[KeyStanza]], template: Metadata, *,
                          shamir_threshold: int, now: datetime,
                          random: Callable[[int], bytes] = os.urandom) -> Metadata:
    """Wrap a new ``data_key`` for ``groups``; the rules of ``template`` are kept and the creation time recorded."""
    if any(not g for g in groups):
        raise NoEncryptionKey("removing those keys would leave a key group without master keys",
                              hint="add another key to the group, or remove the group")
    wrapped = wrap_data_key(data_key, groups, shamir_threshold, random=random)
    threshold = (shamir_threshold or len(groups)) if len(groups) > 1 else 0
    extensions = {**template.extensions, DATA_KEY_CREATED_AT: now_rfc3339(now)}
    return Metadata(key_groups=wrapped, rules=template.rules, shamir_threshold=threshold, extensions=extensions)


def rotate_opened(opened: Decrypted, groups: Sequence[Sequence[KeyStanza]], *, shamir_threshold: int,
                  now: datetime | None = None,
                  random: Callable[[int], bytes] = os.urandom) -> tuple[Document, Metadata]:
    """Re-encrypt an opened file under a new data key wrapped for ``groups`` (recipients), reusing its IVs."""
    now = now or datetime.now(UTC)
    data_key = random(32)
    meta = new_data_key_metadata(data_key, groups, opened.metadata, shamir_threshold=shamir_threshold, now=now,
                                 random=random)
    return seal_document(opened.doc, meta, opened.cipher.rekeyed(data_key), now=now)


def dump_encrypted(doc: Document, meta: Metadata, output_format: str, settings: StoreSettings | None) -> bytes:
    """Serialise encrypted branches with their ``sops`` block (the same layout ``psops encrypt`` writes)."""
    out_fmt = "json" if output_format == "binary" else output_format
    attach_metadata(doc, build_metadata(meta, empty_list_as_null=out_fmt == "json"))
    return get_store(output_format, settings).dump(doc)


@dataclass
class RotateResult:
    """The rotated file and what changed in its master keys."""

    data: bytes
    keys_before: list[str]
    keys_after: list[str]
    created_at: str
    warnings: list[str] = field(default_factory=list)


def rotate_bytes(data: bytes, *, input_format: str, output_format: str | None = None,
                 settings: StoreSettings | None = None, add: Sequence[KeyStanza] = (),
                 remove: Sequence[KeyStanza] = (), ignore_mac: bool = False,
                 decryption_order: Sequence[str] | None = None, now: datetime | None = None,
                 random: Callable[[int], bytes] = os.urandom) -> RotateResult:
    """Rotate the data key of an encrypted file's bytes, optionally adding and removing master keys."""
    now = now or datetime.now(UTC)
    opened = open_encrypted(data, input_format=input_format, ignore_mac=ignore_mac,
                            decryption_order=decryption_order, settings=settings)
    groups, warnings = edit_groups(opened.metadata.key_groups, add, remove)
    doc, meta = rotate_opened(opened, groups, shamir_threshold=opened.metadata.shamir_threshold, now=now,
                              random=random)
    out = dump_encrypted(doc, meta, output_format or input_format, settings)
    return RotateResult(
        data=out,
        keys_before=[key_id(s) for g in opened.metadata.key_groups for s in g],
        keys_after=[key_id(s) for g in meta.key_groups for s in g],
        created_at=meta.extensions[DATA_KEY_CREATED_AT],
        warnings=[*opened.warnings, *warnings],
    )


__all__ = ["RotateResult", "as_recipient", "dump_encrypted", "edit_groups", "key_id", "new_data_key_metadata",
           "rotate_bytes", "rotate_opened"]
