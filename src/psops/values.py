"""Changing one value of an encrypted file: ``set`` and ``unset`` by path, as ``sops set``/``sops unset``.

The file is decrypted (MAC checked unless asked otherwise), the first document is changed with
:func:`psops.tree.set_path` / :func:`psops.tree.unset_path`, and the result is re-encrypted under the same
data key and master keys with :func:`psops.operations.reseal`. Values that did not change keep their exact
ciphertext (the IV stash), so the rewritten file differs from the old one only in the changed value, the
MAC and ``lastmodified`` -- a one-line git diff. Values for ``set`` are JSON, read as sops reads them:
strings, numbers (as floats), booleans and null become leaves; objects become mappings (numbers inside
them floats too) and arrays lists. Nothing here touches the disk: callers get the new bytes, or None when
an idempotent call changed nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from psops.errors import InvalidSetFormat, InvalidTreePath
from psops.formats import StoreSettings
from psops.metadata import SOPS_KEY
from psops.operations import open_encrypted, reseal
from psops.tree import Comment, Mapping, Value, parse_path, set_path, unset_path


@dataclass
class ValueChange:
    """The rewritten file (None when nothing was to be written) and warnings for stderr."""

    data: bytes | None
    warnings: list[str] = field(default_factory=list)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _clean(value: object) -> Value:
    """JSON strings may carry lone surrogates (``"\\ud800"``); Go decodes them as U+FFFD, so do we."""
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
        return value
    if isinstance(value, Mapping):
        return Mapping([(k if isinstance(k, Comment) else str(_clean(k)), _clean(v)) for k, v in value.items])
    if isinstance(value, list):
        return [_clean(v) for v in value]
    assert value is None or isinstance(value, bool | float)
    return value


def parse_value(text: str) -> Value:
    """Parse a ``set`` value given as JSON into a tree value (InvalidSetFormat when it is not JSON)."""
    decoder = json.JSONDecoder(object_pairs_hook=lambda pairs: Mapping(list(pairs)), parse_int=float,
                               parse_float=_finite, parse_constant=_reject_constant)
    try:
        value = decoder.decode(text)
    except (ValueError, RecursionError):
        raise InvalidSetFormat("the value is not valid JSON",
                               hint='quote strings as JSON: psops set FILE \'["key"]\' \'"text"\'') from None
    return _clean(value)


def parse_index(index: str) -> list[str | int]:
    """Parse a ``set``/``unset`` path such as ``["a"][0]``; InvalidSetFormat when it is malformed."""
    try:
        path = parse_path(index)
    except InvalidTreePath as exc:
        raise InvalidSetFormat(f"invalid index format: {exc.message}", hint='write the path as ["key"][0]["other"]') \
            from None
    if path[0] == SOPS_KEY:
        raise InvalidTreePath("the top-level 'sops' key holds the file's metadata; it cannot be set or unset",
                              hint="use psops rotate/updatekeys to change keys")
    return path


def set_value(data: bytes, index: str, value: Value, *, input_format: str, output_format: str | None = None,
              ignore_mac: bool = False, decryption_order: Sequence[str] | None = None,
              settings: StoreSettings | None = None, idempotent: bool = False) -> ValueChange:
    """Set the value at ``index`` in an encrypted file's bytes; None data when ``idempotent`` and unchanged."""
    path = parse_index(index)
    if (output_format or input_format) == "dotenv" and str(path[0]).startswith("sops_"):
        raise InvalidTreePath("dotenv keys starting with sops_ hold the file's metadata; they cannot be set")
    opened = open_encrypted(data, input_format=input_format, ignore_mac=ignore_mac,
                            decryption_order=decryption_order, settings=settings)
    changed = set_path(opened.doc[0], path, value)
    if idempotent and not changed:
        return ValueChange(None, opened.warnings)
    out = reseal(opened, opened.doc, output_format=output_format or input_format, settings=settings)
    return ValueChange(out, opened.warnings)


def unset_value(data: bytes, index: str, *, input_format: str, output_format: str | None = None,
                ignore_mac: bool = False, decryption_order: Sequence[str] | None = None,
                settings: StoreSettings | None = None, idempotent: bool = False) -> ValueChange:
    """Remove the key or list element at ``index``; with ``idempotent`` a missing one is no error (None data)."""
    path = parse_index(index)
    opened = open_encrypted(data, input_format=input_format, ignore_mac=ignore_mac,
                            decryption_order=decryption_order, settings=settings)
    if not unset_path(opened.doc[0], path):
        if idempotent:
            return ValueChange(None, opened.warnings)
        raise InvalidTreePath(f"{index} does not exist in the file",
                              hint="check the path with psops decrypt; --idempotent ignores a missing key")
    out = reseal(opened, opened.doc, output_format=output_format or input_format, settings=settings)
    return ValueChange(out, opened.warnings)


__all__ = ["ValueChange", "parse_index", "parse_value", "set_value", "unset_value"]
