"""Decrypted values as environment variables (``psops exec-env``).

Each top-level item whose value is a scalar becomes ``KEY=value``; comments are skipped. Values are written
as sops writes them (Go's ``ValToString``): strings as they are, ``true``/``false``, integers in decimal,
floats in Go's shortest ``%G`` form with at least one decimal (``3.0``, ``1.5``, ``1E+21``), times as
RFC 3339. ``null`` becomes the empty string (sops writes ``<nil>``). With ``flatten``, nested mappings
become ``A_B_C`` names (the keys joined with ``_``, case kept). Anything that cannot be an environment
variable is refused with :class:`psops.errors.NotAnEnvVar` naming the key, never the value: lists, mappings
(without ``flatten``), keys with ``=`` or NUL, empty keys, values with NUL, two values with the same name.
"""

from __future__ import annotations

from datetime import datetime

from psops.cipher import format_time
from psops.errors import NotAnEnvVar
from psops.gofmt import format_float
from psops.tree import Comment, Leaf, Mapping, Value


def env_string(value: Leaf) -> str:
    """Format a scalar as sops' exec-env does (Go ``stores.ValToString``), with null as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format_float(value, "g").replace("e", "E")
        if text[-1:].isdigit() and not any(c in text for c in ".E"):
            text += ".0"
        return text
    if isinstance(value, datetime):
        return format_time(value.replace(microsecond=0))
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, Comment):
        return value.text
    return value


def _check_name(name: str) -> None:
    if not name:
        raise NotAnEnvVar("an empty key cannot be an environment variable name")
    if "=" in name:
        raise NotAnEnvVar(f"the key {name!r} contains '=', which an environment variable name cannot hold",
                          hint="rename the key")
    if "\0" in name:
        raise NotAnEnvVar(f"the key {name!r} contains a NUL byte", hint="rename the key")


def _add(out: dict[str, str], name: str, value: Value, *, flatten: bool) -> None:
    if isinstance(value, Mapping):
        if not flatten:
            raise NotAnEnvVar(f"the value of {name!r} is a mapping, which cannot be an environment variable",
                              hint="pass --flatten to export nested keys as NAME_KEY, or use exec-file")
        for key, sub in value.items:
            if isinstance(key, Comment):
                continue
            _check_name(key)
            _add(out, f"{name}_{key}", sub, flatten=True)
        return
    if isinstance(value, list):
        raise NotAnEnvVar(f"the value of {name!r} is a list, which cannot be an environment variable",
                          hint="use exec-file for structured values")
    _check_name(name)
    text = env_string(value)
    if "\0" in text:
        raise NotAnEnvVar(f"the value of {name!r} contains a NUL byte, which an environment variable cannot hold")
    if name in out:
        raise NotAnEnvVar(f"two values would both be exported as {name!r}", hint="rename one of the keys")
    out[name] = text


def secrets_env(branch: Mapping, *, flatten: bool = False) -> dict[str, str]:
    """The environment variables for the top-level items of ``branch`` (nested maps only with ``flatten``)."""
    out: dict[str, str] = {}
    for key, value in branch.items:
        if isinstance(key, Comment):
            continue
        _check_name(key)
        _add(out, key, value, flatten=flatten)
    return out
