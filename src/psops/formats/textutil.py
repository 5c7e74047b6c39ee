"""Text helpers shared by the line-based stores (dotenv, INI), written to match the Go functions sops uses.

* :func:`decode_utf8` refuses invalid UTF-8 with the line and column of the first bad byte.
* :func:`go_trim_space` / :func:`go_trim_left_space` trim what Go's ``unicode.IsSpace`` calls white space
  (Python's ``str.strip`` also strips U+001C..U+001F, which Go keeps).
* :func:`go_value_string` renders a leaf as sops' ``stores.ValToString`` does when a value of another format
  is written to dotenv or INI: floats in ``%G`` form with at least one decimal (``42.0``, ``2.5``, ``1E+21``),
  booleans as ``true``/``false``, timestamps as RFC 3339 and null as ``<nil>``.
"""

from __future__ import annotations

from datetime import datetime

from psops.cipher import format_time
from psops.errors import CannotReadInput
from psops.gofmt import format_float
from psops.tree import Comment, Value

# Go's unicode.IsSpace: the Unicode White_Space property
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
           "\u2028\u2029\u202f\u205f\u3000"


def decode_utf8(data: bytes, fmt: str) -> str:
    """Decode ``data`` as UTF-8; CannotReadInput naming the line and column of the first invalid byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CannotReadInput(f"invalid UTF-8 in the {fmt} file at line {line}, column {column}",
                              hint="save the file as UTF-8 text, or use --input-type binary") from None


def go_trim_space(text: str) -> str:
    """``strings.TrimSpace``."""
    return text.strip(GO_SPACE)


def go_trim_left_space(text: str) -> str:
    """``strings.TrimLeftFunc(s, unicode.IsSpace)``."""
    return text.lstrip(GO_SPACE)


def go_float_string(value: float) -> str:
    """``strconv.FormatFloat(v, 'G', -1, 64)``, with ``.0`` added when the result looks like an integer."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = format_float(value, "g").upper()
    if "." not in text and "E" not in text:
        text = f"{value:.1f}"
    return text


def go_rfc3339(value: datetime) -> str:
    """Go ``time.Format(time.RFC3339)``: whole seconds, ``Z`` for UTC, else ``+hh:mm``."""
    return format_time(value.replace(microsecond=0))


def go_value_string(value: Value) -> str:
    """Render a scalar leaf as sops' ``stores.ValToString`` does for dotenv and INI output."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float_string(value)
    if isinstance(value, datetime):
        return go_rfc3339(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, Comment):
        return value.text
    if value is None:
        return "<nil>"
    raise TypeError(f"not a scalar: {type(value).__name__}")


__all__ = ["decode_utf8", "go_float_string", "go_rfc3339", "go_trim_left_space", "go_trim_space",
           "go_value_string"]
