"""``psops replace``: the scripted equivalent of an edit, for generated configs and CI bots.

The encrypted FILE is opened with its data key (:func:`psops.operations.open_encrypted`), the plaintext
SOURCE is parsed, and the new tree is sealed with :func:`psops.operations.reseal`: the file keeps its master
keys and rules, every unchanged value keeps its exact ciphertext, and only changed values, ``lastmodified``
and the MAC differ. A value that reads back as it was (``psops decrypt`` output fed back) keeps its original
type too (see :func:`psops.editing.compare.restore_unchanged`). A SOURCE whose content equals the file's is
not written at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psops.editing.compare import restore_document, same_document
from psops.errors import AlreadyEncrypted, PsopsError
from psops.formats import StoreSettings, get_store
from psops.formats.base import Store
from psops.metadata import reserved_key_at
from psops.operations import open_encrypted, reseal
from psops.tree import Document


@dataclass
class ReplaceResult:
    """The new file bytes (None when the content is unchanged) and warnings for stderr."""

    data: bytes | None
    warnings: list[str]


def replace_content(encrypted: bytes, source: bytes, *, file_format: str, source_format: str,
                    ignore_mac: bool = False, decryption_order: Sequence[str] | None = None,
                    settings: StoreSettings | None = None) -> ReplaceResult:
    """Re-encrypt ``encrypted`` with the plaintext ``source`` as its content (same data key, same IVs)."""
    opened = open_encrypted(encrypted, input_format=file_format, ignore_mac=ignore_mac,
                            decryption_order=decryption_order, settings=settings)
    source_store = get_store(source_format, settings)
    new_doc = source_store.load(source)
    if reserved_key_at(new_doc) is not None:
        raise AlreadyEncrypted("the source has a top-level 'sops' key: it is encrypted, or uses the reserved key",
                               hint="pass the decrypted content, or rename the 'sops' key")
    shown = _as_shown(opened.doc, source_store)
    if same_document(new_doc, opened.doc) or same_document(new_doc, shown):
        return ReplaceResult(None, opened.warnings)
    new_doc = restore_document(new_doc, shown, opened.doc)
    return ReplaceResult(reseal(opened, new_doc, output_format=file_format, settings=settings), opened.warnings)


def _as_shown(doc: Document, store: Store) -> Document:
    """The decrypted tree as it reads back from ``psops decrypt`` output in the source's format."""
    try:
        return store.load(store.dump(doc))
    except PsopsError:
        return doc
