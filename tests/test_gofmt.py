"""Go's float formatting, which decides SOPS plaintexts ('f') and YAML/JSON output ('g', json)."""

from __future__ import annotations

import pytest

from psops.gofmt import format_float, format_json_float


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
