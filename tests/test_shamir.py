"""Shamir secret sharing over GF(2^8) (sops' layout: y bytes then the x byte)."""

from __future__ import annotations

import itertools
import os

import pytest

from psops import shamir
from psops.errors import PsopsError


@pytest.mark.parametrize(("parts", "threshold"), [(2, 2), (3, 2), (3, 3), (5, 3)])
def test_any_threshold_subset_recovers_the_secret(parts: int, threshold: int) -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, parts, threshold)
    assert [s[-1] for s in shares] == list(range(1, parts + 1))
    assert all(len(s) == 33 for s in shares)
    for k in range(threshold, parts + 1):
        for subset in itertools.combinations(shares, k):
            assert shamir.combine(list(subset)) == secret


def test_fewer_than_threshold_shares_do_not_recover() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 3, 3)
    assert shamir.combine(shares[:2]) != secret


@pytest.mark.parametrize(("parts", "threshold"), [(1, 1), (2, 3), (3, 1), (256, 2)])
def test_invalid_parameters(parts: int, threshold: int) -> None:
    with pytest.raises(PsopsError):
        shamir.split(b"x" * 32, parts, threshold)


def test_duplicate_share_is_refused() -> None:
    shares = shamir.split(b"x" * 32, 2, 2)
    with pytest.raises(PsopsError):
        shamir.combine([shares[0], shares[0]])
