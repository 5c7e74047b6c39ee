"""File formats: pick the store for a path (by extension) or an explicit ``--input-type``/``--output-type``.

Store modules are imported on first use, so decrypting a JSON file never loads the YAML machinery.
"""

from __future__ import annotations

import os

from psops.errors import PsopsError
from psops.record import FrozenRecord

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the Store Protocol is for type checkers only
if TYPE_CHECKING:
    from psops.formats.base import Store

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}


class StoreSettings(FrozenRecord):
    """Per-format layout settings (the ``stores:`` section of the config; ``--indent``)."""

    __slots__ = ("yaml_indent", "json_indent", "json_binary_indent")
    yaml_indent: int
    json_indent: int
    json_binary_indent: int

    def __init__(self, yaml_indent: int = 4, json_indent: int = -1, json_binary_indent: int = -1) -> None:
        self._set("yaml_indent", yaml_indent)
        self._set("json_indent", json_indent)
        self._set("json_binary_indent", json_binary_indent)

    def with_indent(self, indent: int) -> StoreSettings:
        """These settings with ``--indent N`` applied to the YAML and JSON stores, as sops' --indent does."""
        return StoreSettings(yaml_indent=indent or self.yaml_indent, json_indent=indent, json_binary_indent=indent)


def format_for(path: str | None, explicit: str | None = None) -> str:
    """The format name for ``path``: the explicit type if given, else by extension (binary otherwise)."""
    if explicit:
        if explicit not in FORMATS:
            raise PsopsError(f"unknown file type {explicit!r}", hint="use one of " + ", ".join(FORMATS))
        return explicit
    if not path or path == "-":
        raise PsopsError("cannot tell the format of standard input", hint="pass --input-type yaml|json|...")
    return _EXTENSIONS.get(_suffix(path).lower(), "binary")


def _suffix(path: str) -> str:
    """``pathlib.PurePath(path).suffix`` without importing pathlib: the last dot of the name, not leading."""
    name = os.path.basename(path.rstrip("/")) if path.endswith("/") else os.path.basename(path)
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def get_store(fmt: str, settings: StoreSettings | None = None) -> Store:
    """Return a store instance for a format name."""
    settings = settings or StoreSettings()
    if fmt == "yaml":
        from psops.formats.yaml_store import YamlStore

        return YamlStore(indent=settings.yaml_indent)
    if fmt == "json":
        from psops.formats.json_store import JsonStore

        return JsonStore(indent=settings.json_indent)
    if fmt == "binary":
        from psops.formats.binary_store import BinaryStore

        return BinaryStore(indent=settings.json_binary_indent)
    if fmt == "dotenv":
        from psops.formats.dotenv_store import DotenvStore

        return DotenvStore()
    if fmt == "ini":
        from psops.formats.ini_store import IniStore

        return IniStore()
    raise PsopsError(f"the {fmt} format is not supported yet", hint="use YAML or JSON files")
