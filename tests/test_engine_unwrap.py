"""Unwrapping the data key: decryption order, first working key per group, groups in parallel, error report.

Slow keys are real: Vault Transit stanzas whose address is a loopback listener that never answers (a
"black hole"), with the Vault client's timeout lowered for the test.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from fixtures.loopback import BlackHole, closed_port
from psops.engine import unwrap_data_key, wrap_data_key
from psops.errors import NoKeyMatched
from psops.keys.base import KeyStanza
from psops.metadata import Metadata

if TYPE_CHECKING:
    from conftest import AgeKey

SLOW = 1.0


def _vault_stanza(port: int, name: str = "k") -> KeyStanza:
    return KeyStanza("hc_vault", {"vault_address": f"http://127.0.0.1:{port}", "engine_path": "transit",
                                  "key_name": name, "created_at": "2024-01-01T00:00:00Z",
                                  "enc": "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})


def _age_groups(age: AgeKey, n: int, data_key: bytes) -> list[list[KeyStanza]]:
    recipient = KeyStanza("age", {"recipient": age.recipient})
    return wrap_data_key(data_key, [[recipient]] * n, threshold=n if n > 1 else 0)


@pytest.fixture
def slow_vault(black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch) -> BlackHole:
    """Vault requests to the black hole time out after SLOW seconds; a token is set so they are attempted."""
    monkeypatch.setenv("PSOPS_VAULT_TIMEOUT", str(SLOW))
    monkeypatch.setenv("VAULT_TOKEN", "test-token")
    return black_hole


def test_groups_are_unwrapped_concurrently(age_env: AgeKey, slow_vault: BlackHole) -> None:
    data_key = os.urandom(32)
    groups = _age_groups(age_env, 3, data_key)
    for group in groups:  # each group tries its stuck Vault key first, then its age key
        group.insert(0, _vault_stanza(slow_vault.port))
    meta = Metadata(key_groups=groups, shamir_threshold=3)
    start = time.monotonic()
    assert unwrap_data_key(meta, ["hc_vault", "age"]) == data_key
    elapsed = time.monotonic() - start
    assert SLOW <= elapsed < 2.5 * SLOW, f"3 groups took {elapsed:.2f}s: they did not run in parallel"


def test_local_keys_are_tried_first_and_the_first_that_works_ends_the_group(age_env: AgeKey,
                                                                           slow_vault: BlackHole) -> None:
    data_key = os.urandom(32)
    [group] = _age_groups(age_env, 1, data_key)
    group.insert(0, _vault_stanza(slow_vault.port))  # listed first, but age comes first by default
    start = time.monotonic()
    assert unwrap_data_key(Metadata(key_groups=[group])) == data_key
    assert time.monotonic() - start < SLOW  # the Vault key was never contacted


def test_every_key_tried_is_reported_per_group(age_env: AgeKey, other_age_key: AgeKey,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "test-token")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    groups = _age_groups(other_age_key, 2, os.urandom(32))  # age_env's identity fits neither
    port = closed_port()
    groups[0].append(_vault_stanza(port, "first"))
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    groups[1].append(KeyStanza("kms", {"arn": arn, "created_at": "2024-01-01T00:00:00Z", "enc": "AAAA",
                                       "aws_profile": ""}))
    with pytest.raises(NoKeyMatched) as info:
        unwrap_data_key(Metadata(key_groups=groups, shamir_threshold=2))
    tried = [(a.group, a.kind, a.key) for a in info.value.attempts]
    uri = f"http://127.0.0.1:{port}/v1/transit/keys/first"
    assert tried == [(0, "age", other_age_key.recipient), (0, "hc_vault", uri),
                     (1, "age", other_age_key.recipient), (1, "kms", arn)]
    reasons = {(a.group, a.kind): a.reason for a in info.value.attempts}
    assert "none of the age identities" in reasons[(0, "age")]
    # The key's name is not repeated inside its reason, and the service's hint is kept.
    assert reasons[(0, "hc_vault")].startswith("could not decrypt: the server is unreachable")
    assert "(hint: check the address in the file" in reasons[(0, "hc_vault")]
    assert reasons[(1, "kms")].startswith("no AWS credentials found")
    assert "only 0 of the 2 key groups needed" in info.value.message
    assert f"group 0: hc_vault {uri}: could not decrypt" in info.value.message


def test_threshold_met_with_one_group_failing(age_env: AgeKey, other_age_key: AgeKey) -> None:
    data_key = os.urandom(32)
    recipient = KeyStanza("age", {"recipient": age_env.recipient})
    stranger = KeyStanza("age", {"recipient": other_age_key.recipient})
    groups = wrap_data_key(data_key, [[recipient], [stranger], [recipient]], threshold=2)
    assert unwrap_data_key(Metadata(key_groups=groups, shamir_threshold=2)) == data_key
