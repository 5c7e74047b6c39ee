"""Flux's SOPS conventions: the decrypt-disabled annotation, and SOPS files hidden inside Secret data values.

* A document annotated ``kustomize.toolkit.fluxcd.io/decrypt: disabled`` is passed through as it is, still
  encrypted (its key may belong to another controller, or the runner may lack it on purpose).
* A kustomize ``secretGenerator`` fed an encrypted file stores the whole encrypted file, base64-encoded, as
  one ``data`` value. Flux recognises such a value by a marker in its decoded bytes (``mac: ENC[`` for YAML,
  ``"mac": "ENC[`` for JSON and the binary envelope, ``sops_mac=ENC[`` for dotenv, ``[sops]`` for INI),
  decrypts it, and stores the plaintext base64-encoded again, laid out in the format the key's file
  extension names (so ``config.yaml`` stays YAML; a key with no known extension keeps the input's format,
  and a binary envelope gives back its raw bytes). Unlike Flux, psops checks the MAC of every such value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from psops.errors import CannotDumpTree, PsopsError
from psops.formats import format_for

DECRYPT_ANNOTATION = "kustomize.toolkit.fluxcd.io/decrypt"
DISABLED = "disabled"

# Marker bytes -> input format, in the order they are tried.
MARKERS: tuple[tuple[str, bytes], ...] = (
    ("yaml", b"mac: ENC["),
    ("json", b'"mac": "ENC['),
    ("dotenv", b"sops_mac=ENC["),
    ("ini", b"[sops]"),
)


def decrypt_disabled(obj: object) -> bool:
    """True when a document (plain Python data) carries the Flux annotation ``decrypt: disabled``."""
    if not isinstance(obj, dict):
        return False
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    value = annotations.get(DECRYPT_ANNOTATION) if isinstance(annotations, dict) else None
    return isinstance(value, str) and value.strip().lower() == DISABLED


def blob_format(data: bytes) -> str | None:
    """The SOPS format of an encrypted file held in ``data``, or None when it is not one."""
    for fmt, marker in MARKERS:
        if marker in data:
            return fmt
    return None


def decode_blob(value: object) -> tuple[bytes, str] | None:
    """``(bytes, input format)`` when a Secret ``data`` value is a base64-encoded SOPS file, else None."""
    if not isinstance(value, str) or len(value) < 32:  # no SOPS file is that short
        return None
    try:
        raw = base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    fmt = blob_format(raw)
    return (raw, fmt) if fmt else None


def decrypt_blob(raw: bytes, in_fmt: str, key: str, *, ignore_mac: bool = False,
                 decryption_order: Sequence[str] | None = None) -> bytes:
    """Decrypt one embedded SOPS file; output laid out as the key's extension says (see module doc)."""
    from psops.operations import decrypt_bytes

    out_fmt = format_for(key)
    if out_fmt == "binary" and in_fmt != "json":
        out_fmt = in_fmt
    try:
        return decrypt_bytes(raw, input_format=in_fmt, output_format=out_fmt, ignore_mac=ignore_mac,
                             decryption_order=decryption_order).data
    except CannotDumpTree:
        if out_fmt == "binary":  # a JSON file that is not a binary envelope: keep it JSON
            return decrypt_bytes(raw, input_format=in_fmt, output_format=in_fmt, ignore_mac=ignore_mac,
                                 decryption_order=decryption_order).data
        raise


def decrypt_data_value(value: object, key: str, *, ignore_mac: bool = False,
                       decryption_order: Sequence[str] | None = None) -> str | None:
    """The new base64 value for a ``data`` entry holding a SOPS file, or None when it holds none."""
    found = decode_blob(value)
    if found is None:
        return None
    raw, in_fmt = found
    try:
        plain = decrypt_blob(raw, in_fmt, key, ignore_mac=ignore_mac, decryption_order=decryption_order)
    except PsopsError as exc:
        exc.message = f"data key {key!r} (an encrypted {in_fmt} file): {exc.message}"
        exc.args = (exc.message,)
        raise
    return base64.b64encode(plain).decode("ascii")


__all__ = ["DECRYPT_ANNOTATION", "blob_format", "decode_blob", "decrypt_blob", "decrypt_data_value",
           "decrypt_disabled"]
