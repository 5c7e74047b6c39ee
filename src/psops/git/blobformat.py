"""Which store reads a blob git hands us, by its name first and its content when the name says nothing.

Git passes textconv and merge drivers temp files (``XXXXXX_secrets.yaml``, ``.merge_file_XXXXXX``), so the
name may carry the real extension or none at all. A known extension decides; otherwise the content does: a
JSON object is JSON (or, when it holds only ``data`` and ``sops``, the binary store's envelope), a text with a
top-level ``sops:`` key is YAML, and anything else is binary. Creation rules are never consulted: their
``path_regex`` cannot match git's temp names.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath

from psops.cipher import ENC_PREFIX

_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}
_YAML_SOPS = re.compile(rb"(?m)^sops:\s*$")
_JSON_SOPS = re.compile(rb'"sops"\s*:\s*\{')


def detect_format(name: str | None, data: bytes) -> str:
    """The format name (yaml, json, dotenv, ini, binary) of ``data``, named ``name`` (may be a temp name)."""
    suffix = PurePath(name).suffix.lower() if name else ""
    fmt = _EXTENSIONS.get(suffix)
    if fmt is not None:
        return fmt
    head = data.lstrip()
    if head.startswith(b"{"):
        return "binary" if _top_level_keys(data) == ["data", "sops"] else "json"
    if _YAML_SOPS.search(data):
        return "yaml"
    return "binary"


def _top_level_keys(data: bytes) -> list[str] | None:
    try:
        keys: list[str] = []
        json.loads(data, object_pairs_hook=lambda pairs: keys.__setitem__(slice(None), [k for k, _ in pairs]))
    except (ValueError, RecursionError):
        return None
    return keys


def looks_like_sops(data: bytes) -> bool:
    """True when the text carries SOPS markers: an ``ENC[AES256_GCM,`` value or a top-level ``sops`` block."""
    return ENC_PREFIX.encode() in data or bool(_YAML_SOPS.search(data)) or bool(_JSON_SOPS.search(data))


__all__ = ["detect_format", "looks_like_sops"]
