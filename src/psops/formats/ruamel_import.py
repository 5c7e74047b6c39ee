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
import types
from importlib.machinery import ModuleSpec, PathFinder
from typing import Any

PACKAGE = "ruamel.yaml"


class _DeferredPackage(types.ModuleType):
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


def defer_ruamel_package() -> None:
    """Register ``ruamel.yaml`` as a deferred package unless it is imported already (or cannot be found)."""
    if PACKAGE in sys.modules:
        return
    import ruamel  # the namespace package: nothing runs

    spec = PathFinder.find_spec(PACKAGE, list(ruamel.__path__))
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = _DeferredPackage(spec)
    sys.modules[PACKAGE] = package
    ruamel.__dict__["yaml"] = package  # as the import system binds a submodule on its parent


__all__ = ["defer_ruamel_package"]
