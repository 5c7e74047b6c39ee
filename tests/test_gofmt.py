"""Go's float formatting, which decides SOPS plaintexts ('f') and YAML/JSON output ('g', json)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psops.gofmt import _format_digits, format_float, format_json_float


@pytest.mark.parametrize(
    ("value", "g"),
    [(1.0, "1"), (1e300, "1e+300"), (1234568000.0, "1.234568e+09"), (3.14, "3.14"), (1e6, "1e+06"),
     (123456.0, "123456"), (0.0001, "0.0001"), (1e-05, "1e-05"), (-2.5, "-2.5"), (0.0, "0")],
)
def test_g_format(value: float, g: str) -> None:
    assert format_float(value, "g") == g


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e21, "1e+21"), (1e-7, "1e-7"), (0.1, "0.1"), (42.0, "42"), (1e20, "100000000000000000000"),
     (12345678901234567000.0, "12345678901234567000")],
)
def test_json_format(value: float, text: str) -> None:
    assert format_json_float(value) == text


def test_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        format_json_float(float("nan"))


_BOUNDARIES = [0.0, -0.0, 1e-4, -1e-4, 0.00009999999999999999, 1e6, -1e6, 999999.9999999999, 1e16,
               9999999999999998.0, 1e-5, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"), float("nan"),
               1.5, 100.0, 123456.0, 0.30000000000000004]


@pytest.mark.parametrize("fmt", ["f", "e", "g"])
@pytest.mark.parametrize("value", _BOUNDARIES)
def test_the_fast_path_writes_what_the_digit_path_writes_at_the_edges(value: float, fmt: str) -> None:
    # format_float takes Python's repr where it has no exponent; _format_digits works for every value
    assert format_float(value, fmt) == _format_digits(value, fmt)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.floats(min_value=-2e6, max_value=2e6)
       | st.floats(min_value=-1e-3, max_value=1e-3), st.sampled_from(["f", "e", "g"]))
def test_the_fast_path_writes_what_the_digit_path_writes(value: float, fmt: str) -> None:
    assert format_float(value, fmt) == _format_digits(value, fmt)


@pytest.mark.parametrize(("value", "f"), [(1.0, "1"), (-0.0, "-0"), (0.5, "0.5"), (1e15, "1000000000000000"),
                                          (1e-4, "0.0001"), (1e-5, "0.00001"), (1e22, "10000000000000000000000"),
                                          (2.5e-7, "0.00000025")])
def test_f_format(value: float, f: str) -> None:
    assert format_float(value) == f
