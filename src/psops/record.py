"""A small base for the record classes on the decrypt path, instead of :mod:`dataclasses`.

Importing :mod:`dataclasses` pulls in :mod:`inspect` (and ast, dis, tokenize through it), and decorating a class
compiles its methods with ``exec``: together about a fifth of the start-up time of ``psops decrypt`` on a small
file (docs/design.md, "Start-up cost"). The classes every decrypt touches (``tree``, ``selection``,
``metadata``, ``keys.base``, ``formats``, ``operations``, ``engine``, ``errors``, ``cli.keysel``) derive from
:class:`Record` instead: each names its fields in ``__slots__`` and writes its ``__init__`` (parameters
named like the fields); equality, ``repr``, hashing and :meth:`Record.replace` come from here.
Modules off that path keep using dataclasses.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: this module is imported before typing is needed
if TYPE_CHECKING:
    from typing import Any, Self


class Record:
    """Fields in ``__slots__``; ``==`` and ``repr`` by field values, in slot order; mutable, unhashable."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable records are unhashable, as non-frozen dataclasses

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied, built through ``__init__`` (so its checks run again)."""
        values: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return type(self)(**values)


class FrozenRecord(Record):
    """A :class:`Record` that is never changed after ``__init__``: hashable by its field values.

    Attribute assignment outside ``__init__`` raises, as on a frozen dataclass; ``__init__`` sets fields with
    ``object.__setattr__`` (:meth:`_set`) and takes its fields positionally in slot order.
    """

    __slots__: tuple[str, ...] = ()

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__name__}")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())

    def __reduce__(self) -> tuple[type[Self], tuple[object, ...]]:
        """Copy and pickle through ``__init__`` (positional, in slot order), as attributes cannot be set."""
        return type(self), self._values()
