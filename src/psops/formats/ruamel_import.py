"""Importing ruamel.yaml's parser pieces without running ``ruamel/yaml/__init__.py`` up front.

The YAML store needs libyaml's parser (``_ruamel_yaml``, from ruamel.yaml.clib) and ruamel's event and token
classes. Importing any of them normally runs the package's ``__init__``, which loads ruamel's whole
round-trip API (the ``YAML`` class, constructors, representers, dumpers: ~9 ms of a ~60 ms decrypt of a small
file) that the store never uses. :func:`defer_ruamel_package` registers ``ruamel.yaml`` as a package whose
``__init__`` has not run yet: its submodules import as usual (they are found through ``__path__``), and the
first lookup of any other attribute (``from ruamel.yaml import YAML``, ``ruamel.yaml.__version__``) runs the
real ``__init__`` in the same module object, so every other user of ruamel.yaml sees the complete package.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType as _ModuleType
    from typing import Any
else:
    _ModuleType = type(sys)  # types.ModuleType, without importing types

PACKAGE = "ruamel.yaml"

# The modules ``_ruamel_yaml`` imports only for one error class each (reader.ReaderError, ...), which is all
# of them but ``error``, ``tokens``, ``events`` and ``nodes``.
_ERROR_ONLY_MODULES = {
    "reader": "ReaderError", "scanner": "ScannerError", "parser": "ParserError", "composer": "ComposerError",
    "constructor": "ConstructorError", "emitter": "EmitterError", "serializer": "SerializerError",
    "representer": "RepresenterError",
}


class _DeferredPackage(_ModuleType):
    """``ruamel.yaml`` with its ``__init__`` run on first use of an attribute it defines."""

    def __init__(self, spec: ModuleSpec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__file__ = spec.origin
        self.__package__ = spec.name
        self.__path__ = list(spec.submodule_search_locations or [])

    def __getattr__(self, name: str) -> Any:
        if self.__dict__.get("_psops_init_ran"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        self.__dict__["_psops_init_ran"] = True
        loader = self.__spec__.loader if self.__spec__ is not None else None
        assert loader is not None
        loader.exec_module(self)  # the real __init__, in this module's namespace
        return getattr(self, name)


def _path_finder() -> Any:
    """The import system's path-based finder (importlib.machinery.PathFinder, found without importing importlib)."""
    for finder in sys.meta_path:
        if getattr(finder, "__name__", "") == "PathFinder" and hasattr(finder, "find_spec"):
            return finder
    from importlib.machinery import PathFinder  # pragma: no cover - a replaced meta path

    return PathFinder


def defer_ruamel_package() -> None:
    """Register ``ruamel.yaml`` as a deferred package unless it is imported already (or cannot be found)."""
    if PACKAGE in sys.modules:
        return
    import ruamel  # the namespace package: nothing runs

    spec = _path_finder().find_spec(PACKAGE, list(ruamel.__path__))
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = _DeferredPackage(spec)
    sys.modules[PACKAGE] = package
    ruamel.__dict__["yaml"] = package  # as the import system binds a submodule on its parent


def _nprintf(*args: object, **kwargs: object) -> None:
    """Stands in for ``ruamel.yaml.compat.nprintf`` (a debug printer ruamel.yaml.tokens imports, never calls)."""


def import_event_and_token_modules() -> tuple[Any, Any]:
    """``ruamel.yaml.events`` and ``ruamel.yaml.tokens``, without ``ruamel.yaml.compat`` when nothing loaded it.

    ``tokens`` imports ``compat`` only for ``nprintf``, a debug printer it mentions in a comment; ``compat``
    itself loads the ``collections`` package and more (~2-3 ms of a small decrypt). While ``tokens`` loads, a
    stand-in module holding a do-nothing ``nprintf`` takes ``compat``'s place; it leaves ``sys.modules`` right
    after, so a later ``import ruamel.yaml.compat`` loads the real module.
    """
    defer_ruamel_package()
    name = f"{PACKAGE}.compat"
    stand_in = None
    if name not in sys.modules and f"{PACKAGE}.tokens" not in sys.modules:
        stand_in = _ModuleType(name, "stand-in while ruamel.yaml.tokens loads (psops.formats.ruamel_import)")
        stand_in.__dict__["nprintf"] = _nprintf
        sys.modules[name] = stand_in
    try:
        import ruamel.yaml.events as events
        import ruamel.yaml.tokens as tokens
    finally:
        if stand_in is not None and sys.modules.get(name) is stand_in:
            del sys.modules[name]
    return events, tokens


def import_c_parser() -> Any:
    """``_ruamel_yaml.CParser`` (libyaml), imported without ruamel's constructor, emitter, representer ... modules.

    The extension module imports eight ruamel.yaml modules only to bind one error class from each (the
    errors it raises). Those modules and what they import (comments, scalar types, datetime, base64, copy)
    are ~10 ms of a small decrypt and the store uses none of them. Each one not imported yet is stood in for,
    while the extension loads, by a module holding only its error class (a ``MarkedYAMLError`` under the same
    name, so ``except YAMLError``/``MarkedYAMLError`` catch what libyaml raises); the stand-ins leave
    ``sys.modules`` right after, so a later ``import ruamel.yaml.parser`` loads the real module. Only the
    extension's own error classes differ from ruamel's: psops catches libyaml errors as ``MarkedYAMLError``
    and uses ruamel's pure-Python loaders (never its C loader) for everything else.
    Returns None when ruamel.yaml.clib is not installed.
    """
    if "_ruamel_yaml" in sys.modules:
        return getattr(sys.modules["_ruamel_yaml"], "CParser", None)
    defer_ruamel_package()
    from ruamel.yaml.error import MarkedYAMLError

    stand_ins: dict[str, _ModuleType] = {}
    for module, error in _ERROR_ONLY_MODULES.items():
        name = f"{PACKAGE}.{module}"
        if name in sys.modules:
            continue  # the real module is loaded already: the extension binds its class
        stand_in = _ModuleType(name, "stand-in while _ruamel_yaml loads (psops.formats.ruamel_import)")
        setattr(stand_in, error, type(error, (MarkedYAMLError,), {"__module__": name}))
        stand_ins[name] = stand_in
    sys.modules.update(stand_ins)
    try:
        from _ruamel_yaml import CParser  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - ruamel.yaml.clib is a dependency
        return None
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return CParser


__all__ = ["defer_ruamel_package", "import_c_parser", "import_event_and_token_modules"]
