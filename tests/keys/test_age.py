"""The age key service: wrap/unwrap with real age identities from every SOPS source."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyrage
import pytest

from conftest import AgeKey
from psops.errors import KeyServiceError, NotMine, PsopsError
from psops.keys.age import AgeService, default_key_file
from psops.keys.base import KeyStanza


def _wrapped(key: AgeKey, data: bytes) -> KeyStanza:
    return AgeService().wrap(KeyStanza("age", {"recipient": key.recipient}), data)


def test_wrap_is_armored_with_trailing_newline(age_key: AgeKey) -> None:
    stanza = _wrapped(age_key, os.urandom(32))
    assert list(stanza.fields) == ["recipient", "enc"]
    assert stanza.enc.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert stanza.enc.endswith("-----END AGE ENCRYPTED FILE-----\n")


@pytest.mark.parametrize("size", [32, 33])
def test_roundtrip_via_key_file(age_env: AgeKey, size: int) -> None:
    data = os.urandom(size)
    assert AgeService().unwrap(_wrapped(age_env, data)) == data


def test_identity_from_sops_age_key(age_key: AgeKey, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY", f"# test key\n\n{age_key.identity}\n")
    assert AgeService().unwrap(_wrapped(age_key, b"k" * 32)) == b"k" * 32


def test_identity_from_default_key_file(age_key: AgeKey) -> None:
    path = default_key_file()
    path.parent.mkdir(parents=True)
    path.write_text(age_key.identity + "\n")
    assert AgeService().unwrap(_wrapped(age_key, b"k" * 32)) == b"k" * 32


def test_identity_from_key_cmd(age_key: AgeKey, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "print-key.py"
    script.write_text(f"print({age_key.identity!r})\n")
    monkeypatch.setenv("SOPS_AGE_KEY_CMD", f"{sys.executable} {script}")
    assert AgeService().unwrap(_wrapped(age_key, b"k" * 32)) == b"k" * 32


def test_no_identity_is_not_mine(age_key: AgeKey) -> None:
    with pytest.raises(NotMine, match="no age identity"):
        AgeService().unwrap(_wrapped(age_key, b"k" * 32))


def test_other_identity_is_not_mine(age_env: AgeKey, other_age_key: AgeKey) -> None:
    with pytest.raises(NotMine, match="matches"):
        AgeService().unwrap(_wrapped(other_age_key, b"k" * 32))


def test_garbage_enc_is_a_service_error(age_env: AgeKey) -> None:
    stanza = KeyStanza("age", {"recipient": age_env.recipient, "enc": "-----BEGIN AGE ENCRYPTED FILE-----\nnope\n"})
    with pytest.raises(KeyServiceError):
        AgeService().unwrap(stanza)


def test_bad_identity_line_is_reported_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY", "AGE-SECRET-KEY-NOT-REALLY")
    with pytest.raises(KeyServiceError) as err:
        AgeService().unwrap(KeyStanza("age", {"recipient": "x", "enc": "x"}))
    assert "NOT-REALLY" not in str(err.value)


def test_parse_recipients_validates() -> None:
    key = pyrage.x25519.Identity.generate().to_public()
    assert AgeService().parse_recipients(f" {key}, ,") == [KeyStanza("age", {"recipient": str(key)})]
    with pytest.raises(PsopsError):
        AgeService().parse_recipients("age1notakey")
