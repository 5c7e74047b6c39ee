"""Flat ``sops`` metadata for the line-based stores (dotenv ``sops_*`` lines, the INI ``[sops]`` section).

SOPS flattens its nested metadata block into one level of string keys (spec 4.6): a mapping member ``k``
becomes ``__map_k`` appended to its parent's flat key, a list element ``i`` becomes ``__list_i``, top-level
names carry no prefix, empty lists and mappings and null values disappear. Values are written as text:
``mac_only_encrypted`` as ``true``/``false``, ``shamir_threshold`` as a decimal integer, and every newline
as the two characters ``\\n``. Unflattening splits each key at ``__map_``/``__list_`` (left to right, exactly
as sops' tokenizer does), rebuilds mappings and lists, decodes ``\\n`` and turns the two non-string fields
back into a bool and an int. The result is a :class:`psops.tree.Mapping` the metadata reader understands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise

from psops.errors import CannotReadInput
from psops.gofmt import format_float
from psops.limits import MAX_DEPTH, MAX_FLAT_LIST_INDEX, too_deep
from psops.tree import Comment, Mapping, Value

MAP_SEPARATOR = "__map_"
LIST_SEPARATOR = "__list_"

_INT_RE = re.compile(r"^[+-]?[0-9]+$")

FlatToken = str | int


def _flatten_into(out: dict[str, Value], prefix: str, value: Value) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items:
            if isinstance(key, Comment):
                continue
            _flatten_into(out, prefix + MAP_SEPARATOR + key, child)
    elif isinstance(value, list):
        elements = [v for v in value if not isinstance(v, Comment)]
        for i, child in enumerate(elements):
            _flatten_into(out, f"{prefix}{LIST_SEPARATOR}{i}", child)
    elif value is not None:
        out[prefix] = value


def flatten(block: Mapping) -> dict[str, Value]:
    """Flatten a mapping into ``{flat_key: leaf}``; empty lists/mappings and nulls disappear."""
    out: dict[str, Value] = {}
    for key, value in block.items:
        if isinstance(key, Comment):
            continue
        if isinstance(value, Mapping | list):
            _flatten_into(out, key, value)
        elif value is not None:
            out[key] = value
    return out


def _encode(value: Value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format_float(value)
    if isinstance(value, datetime):
        from psops.cipher import format_time

        return format_time(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    raise TypeError(f"cannot flatten a metadata value of type {type(value).__name__}")


def flatten_metadata(block: Mapping) -> list[tuple[str, str]]:
    """The ``sops`` block as ``(flat_key, text)`` pairs, sorted by key (byte order), newlines escaped."""
    flat = flatten(block)
    pairs = [(key, _encode(value).replace("\n", "\\n")) for key, value in flat.items()]
    return sorted(pairs, key=lambda kv: kv[0].encode("utf-8", "surrogateescape"))


def tokenize(flat_key: str) -> list[FlatToken]:
    """Split a flat key into mapping keys (str) and list positions (int), as sops' tokenizer does."""
    tokens: list[FlatToken] = []
    state = ""  # "", MAP_SEPARATOR or LIST_SEPARATOR: the separator that opened the current token
    last = 0
    i = 0

    def finish(end: int) -> None:
        text = flat_key[last + len(state):end]
        if state == LIST_SEPARATOR:
            # Go's strconv.Atoi; sops ignores its error and uses 0
            if len(text) > _MAX_POSITION_DIGITS:  # int() of thousands of digits fails; a list that long is hostile
                raise _bad_position(flat_key)
            position = int(text) if _INT_RE.match(text) else 0
            if position < 0:
                raise CannotReadInput(f"metadata key {flat_key!r} has a negative list position")
            if position > MAX_FLAT_LIST_INDEX:
                raise _bad_position(flat_key)
            tokens.append(position)
        else:
            tokens.append(text)

    while i < len(flat_key):
        if flat_key.startswith(MAP_SEPARATOR, i):
            finish(i)
            last, state = i, MAP_SEPARATOR
            i += len(MAP_SEPARATOR)
        elif flat_key.startswith(LIST_SEPARATOR, i):
            finish(i)
            last, state = i, LIST_SEPARATOR
            i += len(LIST_SEPARATOR)
        else:
            i += 1
    finish(len(flat_key))
    return tokens


_MAX_POSITION_DIGITS = len(str(MAX_FLAT_LIST_INDEX)) + 1


def _bad_position(flat_key: str) -> CannotReadInput:
    return CannotReadInput(f"metadata key {flat_key[:80]!r} has a list position above {MAX_FLAT_LIST_INDEX}",
                           hint="the file's sops metadata was damaged or forged (see docs/limits.md)")


def _conflict(flat_key: str) -> CannotReadInput:
    return CannotReadInput(f"metadata key {flat_key!r} conflicts with another metadata key",
                           hint="the file's sops metadata was edited by hand; restore it from version control")


def _grow(seq: list[object], size: int) -> None:
    if len(seq) < size:
        seq.extend([None] * (size - len(seq)))


def _child(node: object, token: FlatToken, nxt: FlatToken, flat_key: str) -> object:
    """Return (creating when needed) the container under ``node[token]`` that ``nxt`` indexes."""
    want: type = dict if isinstance(nxt, str) else list
    if isinstance(token, str):
        if not isinstance(node, dict):
            raise _conflict(flat_key)
        child = node.get(token)
        if child is None:
            child = node[token] = want()
    else:
        if not isinstance(node, list):
            raise _conflict(flat_key)
        child = node[token]
        if child is None:
            child = node[token] = want()
    if not isinstance(child, want):
        raise _conflict(flat_key)
    if isinstance(nxt, int):
        assert isinstance(child, list)
        _grow(child, nxt + 1)
    return child


def _to_tree(value: object) -> Value:
    if isinstance(value, dict):
        return Mapping([(k, _to_tree(v)) for k, v in value.items()])
    if isinstance(value, list):
        return [_to_tree(v) for v in value]
    assert value is None or isinstance(value, str | int | bool)
    return value


def unflatten(flat: Iterable[tuple[str, Value]]) -> Mapping:
    """Rebuild nested mappings and lists from ``(flat_key, value)`` pairs."""
    root: dict[str, object] = {}
    for flat_key, value in flat:
        tokens = tokenize(flat_key)
        if len(tokens) > MAX_DEPTH:
            raise too_deep("the flattened sops metadata")
        node: object = root
        for token, nxt in pairwise(tokens):
            node = _child(node, token, nxt, flat_key)
        last = tokens[-1]
        if isinstance(last, str):
            if not isinstance(node, dict) or isinstance(node.get(last), dict | list):
                raise _conflict(flat_key)
            node[last] = value
        else:
            if not isinstance(node, list):
                raise _conflict(flat_key)
            _grow(node, last + 1)
            node[last] = value
    tree = _to_tree(root)
    assert isinstance(tree, Mapping)
    return tree


def _threshold(text: str) -> int:
    if _INT_RE.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number.is_integer():
        raise CannotReadInput(f"metadata shamir_threshold {text!r} is not an integer")
    return int(number)


def unflatten_metadata(pairs: Iterable[tuple[str, str]]) -> Mapping:
    """Read flat ``(key, text)`` metadata pairs (without the ``sops_`` prefix) into a ``sops`` block."""
    flat: dict[str, Value] = {}
    for key, text in pairs:
        flat[key] = text.replace("\\n", "\n")
    if "mac_only_encrypted" in flat:
        flat["mac_only_encrypted"] = flat["mac_only_encrypted"] == "true"
    if "shamir_threshold" in flat:
        raw = flat["shamir_threshold"]
        assert isinstance(raw, str)
        flat["shamir_threshold"] = _threshold(raw)
    ordered = sorted(flat.items(), key=lambda kv: kv[0].encode("utf-8", "surrogateescape"))
    return unflatten(ordered)


__all__ = ["flatten", "flatten_metadata", "tokenize", "unflatten", "unflatten_metadata"]
