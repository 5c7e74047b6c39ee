"""Values as environment variables: sops' formatting, --flatten, and refusals that never show a value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from psops.errors import NotAnEnvVar
from psops.exec.envvars import env_string, secrets_env
from psops.tree import Comment, Mapping, from_plain


@pytest.mark.parametrize(("value", "text"), [
    ("x y", "x y"), (True, "true"), (False, "false"), (3, "3"), (3.0, "3.0"), (1234.5, "1234.5"),
    (1e21, "1E+21"), (1234567.0, "1.234567E+06"), (0.00001, "1E-05"), (-2.5, "-2.5"), (None, ""),
    (datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC), "2024-05-06T07:08:09Z"), (b"raw", "raw"),
])
def test_env_string_formats_like_sops(value: object, text: str) -> None:
    assert env_string(value) == text  # type: ignore[arg-type]


def test_top_level_scalars_and_flatten() -> None:
    branch = Mapping([(Comment(" note"), None), ("A", "1"), ("nested", from_plain({"b": {"c": 2}, "d": True}))])
    assert secrets_env(branch, flatten=True) == {"A": "1", "nested_b_c": "2", "nested_d": "true"}
    with pytest.raises(NotAnEnvVar, match="'nested' is a mapping"):
        secrets_env(branch)


@pytest.mark.parametrize(("plain", "words"), [
    ({"L": ["s3cret"]}, "list"),
    ({"A=B": "s3cret"}, "'='"),
    ({"A\0B": "s3cret"}, "NUL"),
    ({"": "s3cret"}, "empty key"),
    ({"V": "s3\0cret"}, "NUL"),
    ({"a": {"b": "s3cret"}, "a_b": "s3cret"}, "both"),
])
def test_refusals_name_the_key_never_the_value(plain: dict[str, object], words: str) -> None:
    with pytest.raises(NotAnEnvVar, match=words) as info:
        secrets_env(from_plain(plain), flatten=True)  # type: ignore[arg-type]
    assert "s3cret" not in str(info.value) and info.value.exit_code == 13
