"""Deciding whether edited content differs from what was shown, the way encryption would see it.

Two trees are the *same* when they have the same branches, the same keys and comments in the same order,
and leaves with the same SOPS type and canonical plaintext (so ``1`` and ``1.0`` and ``true`` all differ,
as their ciphertexts would). A layout-only change (indentation, quoting style) gives the same tree, so
psops writes nothing and reports the file unchanged.
"""

from __future__ import annotations

from psops.cipher import canonical
from psops.errors import PsopsError
from psops.tree import Comment, Document, Mapping, Value


def _leaf_key(value: Value) -> tuple[str, bytes] | None:
    if value is None:
        return None
    assert not isinstance(value, Mapping | list)
    plain, type_tag = canonical(value)
    return type_tag, plain


def same_value(a: Value, b: Value) -> bool:
    """True when ``a`` and ``b`` would encrypt to the same plaintexts under the same paths."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        if not (isinstance(a, Mapping) and isinstance(b, Mapping)) or len(a.items) != len(b.items):
            return False
        for (ka, va), (kb, vb) in zip(a.items, b.items, strict=True):
            if type(ka) is not type(kb) or ka != kb or not same_value(va, vb):
                return False
        return True
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return False
        return all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Comment) or isinstance(b, Comment):
        return isinstance(a, Comment) and isinstance(b, Comment) and a.text == b.text
    try:
        return _leaf_key(a) == _leaf_key(b)
    except PsopsError:
        return False


def same_document(a: Document, b: Document) -> bool:
    """True when two documents have the same branches (see :func:`same_value`)."""
    return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))


def restore_unchanged(edited: Value, shown: Value, original: Value) -> Value:
    """Put the original leaves back wherever the edited tree still has what was shown.

    Showing a tree in a format and reading it back can change a leaf's type (YAML writes the float
    ``5432.0`` as ``5432``, which reads back as an int; JSON reads every number as a float). Where the
    user left a value as it was shown, the original leaf (and so its type and ciphertext) is kept.
    Mappings are matched by key, lists by position; anything the user changed is kept as edited.
    """
    if isinstance(edited, Mapping):
        if not (isinstance(shown, Mapping) and isinstance(original, Mapping)):
            return edited
        items: list[tuple[str | Comment, Value]] = []
        for key, value in edited.items:
            if isinstance(key, str) and key in shown and key in original:
                value = restore_unchanged(value, shown.get(key), original.get(key))
            items.append((key, value))
        return Mapping(items)
    if isinstance(edited, list):
        if not (isinstance(shown, list) and isinstance(original, list)) or len(shown) != len(original):
            return edited
        return [restore_unchanged(v, shown[i], original[i]) if i < len(shown) else v for i, v in enumerate(edited)]
    if isinstance(shown, Mapping | list) or isinstance(original, Mapping | list):
        return edited
    return original if same_value(edited, shown) else edited


def restore_document(edited: Document, shown: Document, original: Document) -> Document:
    """:func:`restore_unchanged` for each branch (branches matched by position)."""
    out: Document = []
    for i, branch in enumerate(edited):
        if i < len(shown) and i < len(original):
            restored = restore_unchanged(branch, shown[i], original[i])
            assert isinstance(restored, Mapping)
            out.append(restored)
        else:
            out.append(branch)
    return out
