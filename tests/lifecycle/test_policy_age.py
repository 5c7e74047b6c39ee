"""rotate_after durations, the data key's creation time (recorded or derived), and the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from psops.errors import PolicyError
from psops.keys.base import KeyStanza
from psops.lifecycle.policy_age import (
    DataKeyTime,
    current_time,
    data_key_created,
    format_duration,
    is_due,
    parse_duration,
    rule_rotate_after,
)
from psops.metadata import DATA_KEY_CREATED_AT, Metadata

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90d", 90 * 86400), ("12h", 12 * 3600), ("30m", 1800), ("45s", 45), ("2w", 14 * 86400),
    ("1d12h", 36 * 3600), (" 7D ", 7 * 86400),
])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "90", "d", "1y", "-5d", "0s", "1.5d", "5 d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (5, 125, 7200, 95 * 86400 + 5)] == ["5s", "2m", "2h", "95d"]


def test_rule_rotate_after_names_the_config_on_error() -> None:
    assert rule_rotate_after({}, "/x/.sops-policy.yaml") is None
    assert rule_rotate_after({"rotate_after": "30m"}, "/x") == timedelta(minutes=30)
    with pytest.raises(PolicyError) as err:
        rule_rotate_after({"rotate_after": "soon"}, "/x/.sops-policy.yaml")
    assert err.value.path == "/x/.sops-policy.yaml" and "rotate_after" in err.value.message


def _meta(lastmodified: str, created: list[str | None], recorded: str | None = None) -> Metadata:
    stanzas = [KeyStanza("pgp", {"created_at": c, "enc": "x", "fp": f"F{i}"}) if c else
               KeyStanza("age", {"recipient": f"age1{i}", "enc": "x"}) for i, c in enumerate(created)]
    ext = {DATA_KEY_CREATED_AT: recorded} if recorded else {}
    return Metadata(key_groups=[stanzas], lastmodified=lastmodified, mac="m", extensions=ext)


def test_recorded_time_wins() -> None:
    got = data_key_created(_meta("2030-03-01T00:00:00Z", ["2030-02-01T00:00:00Z"], recorded="2030-01-15T00:00:00Z"))
    assert got == DataKeyTime(datetime(2030, 1, 15, tzinfo=UTC), "recorded")


def test_recorded_time_after_lastmodified_is_ignored() -> None:
    got = data_key_created(_meta("2030-03-01T00:00:00Z", ["2030-02-01T00:00:00Z"], recorded="2031-01-01T00:00:00Z"))
    assert got == DataKeyTime(datetime(2030, 2, 1, tzinfo=UTC), "derived")


def test_derived_is_earliest_of_lastmodified_and_created_at() -> None:
    meta = _meta("2030-03-01T00:00:00Z", ["2030-02-01T00:00:00Z", "2030-01-20T10:00:00+02:00", None])
    assert data_key_created(meta) == DataKeyTime(datetime(2030, 1, 20, 8, tzinfo=UTC), "derived")
    age_only = _meta("2030-03-01T00:00:00Z", [None])
    assert data_key_created(age_only) == DataKeyTime(datetime(2030, 3, 1, tzinfo=UTC), "derived")
    assert data_key_created(_meta("", [None])).source == "unknown"


def test_is_due() -> None:
    created = DataKeyTime(T0, "recorded")
    assert not is_due(created, None, T0 + timedelta(days=999))
    assert not is_due(created, timedelta(days=30), T0 + timedelta(days=30))
    assert is_due(created, timedelta(days=30), T0 + timedelta(days=30, seconds=1))
    assert is_due(DataKeyTime(None, "unknown"), timedelta(days=30), T0)
    assert not is_due(created, timedelta(days=30), T0 - timedelta(minutes=59)), "small clock skew is tolerated"
    assert is_due(created, timedelta(days=30), T0 - timedelta(days=2)), "a creation time in the future is not trusted"


def test_current_time_honours_psops_now(monkeypatch: pytest.MonkeyPatch) -> None:
    assert current_time(T0) == T0
    monkeypatch.setenv("PSOPS_NOW", "2031-05-06T07:08:09+02:00")
    assert current_time() == datetime(2031, 5, 6, 5, 8, 9, tzinfo=UTC)
    monkeypatch.setenv("PSOPS_NOW", "tomorrow")
    with pytest.raises(PolicyError, match="PSOPS_NOW"):
        current_time()
    monkeypatch.delenv("PSOPS_NOW")
    assert abs(current_time() - datetime.now(UTC)) < timedelta(seconds=5)
