"""The MAC's additional data: ``lastmodified`` as Go formats it, with and without the datetime round trip."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings

from fixtures.strategies import around
from psops import cipher, metadata
from psops.cipher import format_time, parse_time
from psops.metadata import mac_aad, reserved_key_at
from psops.tree import Mapping, is_time


@pytest.mark.parametrize("text", ["2026-11-22T22:50:01Z", "2024-02-29T00:00:00Z", "0001-01-01T00:00:00Z",
                                  "2026-11-22T22:50:01.5Z", "2026-11-22T23:50:01+01:00",
                                  "2026-11-22t22:50:01z", "2026-11-22T22:50:01.000000000Z"])
def test_mac_aad_is_the_go_reformatting_of_lastmodified(text: str) -> None:
    assert mac_aad(text) == format_time(parse_time(text).replace(microsecond=0))


@pytest.mark.parametrize("text", ["2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
                                  "2026-11-22T24:00:00Z", "2026-11-22T22:60:00Z", "0000-01-01T00:00:00Z"])
def test_mac_aad_refuses_impossible_times_like_go(text: str) -> None:
    with pytest.raises(ValueError):
        mac_aad(text)


def test_is_time_tells_datetimes_from_other_leaves() -> None:
    assert is_time(datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert not any(is_time(v) for v in ("2026-01-02", 1, 1.5, True, None, b"x"))


# Hand-written checks that replace regular expressions on the decrypt path (the patterns are the grammar).
@settings(max_examples=800, deadline=None)
@given(around(cipher._CANONICAL_UTC._source, "2026", "-", "11", "22", "T", ":", "50", "01", "Z", "z", "١", "\n"))
def test_canonical_utc_check_matches_its_pattern(text: str) -> None:
    assert cipher.has_canonical_utc_form(text) == bool(cipher._CANONICAL_UTC.fullmatch(text))


@settings(max_examples=800, deadline=None)
@given(around(metadata._SEMVER_RE._source, "v", "3", "11", ".", "0", "-rc1", "١", "x", "\n", " ", fullmatch=False))
def test_version_check_matches_the_semver_pattern(text: str) -> None:
    assert metadata._looks_semantic(text) == bool(metadata._SEMVER_RE.match(text))


def test_reserved_key_at_finds_the_first_document_with_a_sops_key() -> None:
    plain, reserved = Mapping([("a", 1)]), Mapping([("sops", None)])
    assert reserved_key_at([plain]) is None
    assert reserved_key_at([reserved]) == 0
    assert reserved_key_at([plain, reserved, reserved]) == 1
    assert reserved_key_at([Mapping([("x", Mapping([("sops", 1)]))])]) is None  # only top-level keys count
