"""Go's number formatting (``strconv.FormatFloat`` with precision -1), which SOPS output depends on."""

from __future__ import annotations


def _digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |value| and the exponent of the first digit.

    Python's ``repr`` is the shortest round-trip form, as Go's; its digits and exponent are read off the text
    (``1.5e-07``, ``23471.0``), which is several times faster than going through :mod:`decimal`.
    """
    mantissa, _, exponent = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    significant = digits.lstrip("0")
    point = len(int_part) + (int(exponent) if exponent else 0) - (len(digits) - len(significant))
    return significant.rstrip("0") or "0", point - 1


def format_float(value: float, fmt: str = "f") -> str:
    """Format like Go ``strconv.FormatFloat(value, fmt, -1, 64)`` for fmt in 'f', 'e', 'g'."""
    if fmt != "e":
        text = repr(value)
        # Python writes 1e-4 <= |value| < 1e16 without an exponent, with Go's shortest digits: 'f' is that
        # text without a final ".0"; 'g' also, from 1e-4 up to 1e6 (and zero) (tests/test_gofmt.py)
        if "e" not in text and "n" not in text and (fmt == "f" or value == 0 or 1e-4 <= abs(value) < 1e6):
            return text[:-2] if text[-2:] == ".0" else text
    return _format_digits(value, fmt)


def _format_digits(value: float, fmt: str) -> str:
    """:func:`format_float` from the shortest digits and their exponent, for every value."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    neg = value < 0 or (value == 0 and str(value).startswith("-"))
    digits, exp10 = _digits(value)
    if value == 0:
        digits, exp10 = "0", 0
    if fmt == "g":
        # Go, shortest form: %e when exp < -4 || exp >= eprec, and eprec is 6 for the shortest form
        fmt = "e" if exp10 < -4 or exp10 >= 6 else "f"
    if fmt == "e":
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign_e = "-" if exp10 < 0 else "+"
        text = f"{mant}e{sign_e}{abs(exp10):02d}"
    else:
        if exp10 >= 0:
            int_part = digits[: exp10 + 1].ljust(exp10 + 1, "0")
            frac = digits[exp10 + 1:]
        else:
            int_part = "0"
            frac = "0" * (-exp10 - 1) + digits
        text = int_part + ("." + frac if frac else "")
    return ("-" if neg else "") + text


def format_json_float(value: float) -> str:
    """Format like Go ``encoding/json`` does for a float64."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("json: unsupported value")
    a = abs(value)
    fmt = "e" if a != 0 and (a < 1e-6 or a >= 1e21) else "f"
    text = format_float(value, fmt)
    if fmt == "e" and len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
        text = text[:-2] + text[-1]
    return text
