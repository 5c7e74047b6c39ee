"""Regular expressions compiled on first use, not at import.

``re.compile`` costs 0.1-0.8 ms a pattern on this interpreter; the stores, the cipher and the metadata
parser define about twenty module-level patterns, and a small decrypt needs only some of them. A
:func:`lazy_compile` pattern compiles itself the first time one of its methods is used and then binds the
compiled pattern's methods on itself, so later calls cost what calls on a compiled pattern cost.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    import re

_METHODS = ("match", "fullmatch", "search", "sub", "subn", "split", "finditer", "findall")


class _LazyPattern:
    __slots__ = ("_flags", "_source", *_METHODS)

    def __init__(self, pattern: str, flags: int) -> None:
        self._source = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):  # copy/pickle probing, unset slots: not pattern attributes
            raise AttributeError(name)
        import re  # on first use: a decrypt that needs no pattern never imports re (with enum, functools ...)

        compiled = re.compile(self._source, self._flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """A pattern that behaves as ``re.compile(pattern, flags)`` and compiles on its first use."""
    return _LazyPattern(pattern, flags)  # type: ignore[return-value]  # duck-typed: the methods of a Pattern


__all__ = ["lazy_compile"]
