"""What a manifest document is (kind, namespace, name), and the checks run on the decrypted output.

A Kubernetes object is a mapping with ``kind`` and ``metadata.name`` (``metadata.namespace`` optional). Checks
catch, before anything reaches ``kubectl apply``, what the API server would reject or silently mishandle:

* a decrypted Secret's ``data`` values must be strings of valid standard base64 (line breaks allowed, as Go's
  decoder skips them); the failing key is named, never its value;
* its ``stringData`` values must be strings (a YAML ``5432`` or ``true`` would be refused by the server);
* two Secrets with the same namespace and name in one output are an error (the second would silently win).

Messages name documents and keys, never values.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from psops.errors import ManifestCheckFailed


@dataclass(frozen=True)
class ObjectRef:
    """Identity of a manifest document; fields are None when absent or not plain strings."""

    kind: str | None = None
    name: str | None = None
    namespace: str | None = None

    def label(self) -> str:
        """``Secret shop/db``, ``Deployment web``, or ``document`` when the kind is unknown."""
        kind = self.kind or "document"
        if self.name is None:
            return kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def object_ref(obj: object) -> ObjectRef:
    """The kind/name/namespace of a document loaded as plain Python data."""
    if not isinstance(obj, dict):
        return ObjectRef()
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return ObjectRef(_str(obj.get("kind")), _str(meta.get("name")), _str(meta.get("namespace")))


def _is_base64(value: str) -> bool:
    compact = value.replace("\r", "").replace("\n", "")
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def check_secret(obj: dict[str, object], where: str) -> None:
    """Raise ManifestCheckFailed unless ``data`` holds base64 strings and ``stringData`` holds strings."""
    ref = object_ref(obj)
    data = obj.get("data")
    if data is not None and not isinstance(data, dict):
        raise ManifestCheckFailed(f"{ref.label()}: 'data' is not a mapping", path=where)
    for key, value in (data or {}).items():
        if not isinstance(value, str):
            raise ManifestCheckFailed(f"{ref.label()}: data key {key!r} is not a string (it must be base64 text)",
                                      path=where, hint="quote the value, or move it to stringData")
        if not _is_base64(value):
            raise ManifestCheckFailed(f"{ref.label()}: data key {key!r} is not valid base64", path=where,
                                      hint="data values are base64-encoded; put plain text under stringData")
    string_data = obj.get("stringData")
    if string_data is not None and not isinstance(string_data, dict):
        raise ManifestCheckFailed(f"{ref.label()}: 'stringData' is not a mapping", path=where)
    for key, value in (string_data or {}).items():
        if not isinstance(value, str):
            raise ManifestCheckFailed(
                f"{ref.label()}: stringData key {key!r} is a {_type_name(value)}, not a string", path=where,
                hint='quote the value in the encrypted file (e.g. port: "5432")')


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", dict: "mapping", list: "list"}.get(
        type(value), type(value).__name__)


def check_duplicates(objects: Iterable[tuple[ObjectRef, str]]) -> None:
    """Raise ManifestCheckFailed when two Secrets share namespace and name (``where`` names each document)."""
    seen: dict[tuple[str, str], str] = {}
    for ref, where in objects:
        if ref.kind != "Secret" or ref.name is None:
            continue
        key = (ref.namespace or "", ref.name)
        first = seen.get(key)
        if first is not None:
            raise ManifestCheckFailed(f"duplicate {ref.label()}: also defined in {first}", path=where,
                                      hint="each Secret may appear once in one output; remove one of them")
        seen[key] = where


__all__ = ["ObjectRef", "check_duplicates", "check_secret", "object_ref"]
