"""PgpService against the real gpg binary and the real sops: wrap, unwrap, errors and interop."""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from fixtures.gnupg import GpgKey, gnupg_home, run_gpg, shared_dir
from psops.errors import KeyServiceError, NotMine
from psops.keys import get_service
from psops.keys.base import KeyStanza
from psops.keys.pgp import PgpService

ARMOR_BEGIN = "-----BEGIN PGP MESSAGE-----"
ARMOR_END = "-----END PGP MESSAGE-----"
ENC_RE = re.compile(r"^ENC\[AES256_GCM,data:(?P<data>[^,]*),iv:(?P<iv>[^,]*),tag:(?P<tag>[^,]*),type:str\]$")


def _open_value(data_key: bytes, enc: str, aad: str) -> bytes:
    """Decrypt one sops ENC[...] string value with ``data_key`` (proves the key is the file's data key)."""
    m = ENC_RE.match(enc)
    assert m, enc
    iv, data, tag = (base64.b64decode(m[name]) for name in ("iv", "data", "tag"))
    return AESGCM(data_key).decrypt(iv, data + tag, aad.encode())


def _load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


@pytest.fixture(scope="module")
def public_only_home(gpg_key: GpgKey) -> Iterator[Path]:
    """A GnuPG home that holds gpg_key's public key but not its secret key."""
    public = run_gpg(gpg_key.home, "--export", gpg_key.fingerprint).stdout
    with gnupg_home() as home:
        run_gpg(home, "--import", stdin=public)
        yield home


# -- parse / describe / identity -----------------------------------------------------------------------


def test_registered_under_pgp() -> None:
    assert isinstance(get_service("pgp"), PgpService)
    assert PgpService.kind == "pgp"


def test_parse_recipients_trims_removes_spaces_and_drops_empties() -> None:
    spec = " fbc7 b9e2a4f9289ac0c1d4843d16cee4a27381b4 ,, D7229043384BCC60326C6FB9D8720D957C3D3074! , "
    stanzas = PgpService().parse_recipients(spec)
    assert [s.kind for s in stanzas] == ["pgp", "pgp"]
    assert [s.fields for s in stanzas] == [
        {"fp": "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"},
        {"fp": "D7229043384BCC60326C6FB9D8720D957C3D3074!"},
    ]
    assert PgpService().parse_recipients(" , ") == []


def test_describe_and_identity() -> None:
    svc = PgpService()
    stanza = KeyStanza("pgp", {"created_at": "2019-12-10T22:45:53Z", "enc": "x", "fp": "ABCDEF0123456789"})
    assert svc.describe(stanza) == "ABCDEF0123456789"
    assert svc.identity(stanza) == "pgp:ABCDEF0123456789"
    assert svc.identity(KeyStanza("pgp", {"fp": "abcdef0123456789"})) == "pgp:ABCDEF0123456789"


# -- round trip ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 33])
def test_wrap_unwrap_round_trip(gpg_env: GpgKey, size: int) -> None:
    svc = PgpService()
    data_key = os.urandom(size)
    before = datetime.now(UTC).replace(microsecond=0)
    [recipient] = svc.parse_recipients(gpg_env.fingerprint.lower())
    stanza = svc.wrap(recipient, data_key)

    assert stanza.kind == "pgp"
    assert list(stanza.fields) == ["created_at", "enc", "fp"]
    assert stanza.fields["fp"] == gpg_env.fingerprint
    created = str(stanza.fields["created_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    assert before <= datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)
    enc = stanza.enc
    assert enc.startswith(ARMOR_BEGIN + "\n") and enc.endswith(ARMOR_END)  # trimmed: no trailing newline
    assert data_key.hex() not in enc
    assert svc.unwrap(stanza) == data_key


def test_wrapped_key_decrypts_with_plain_gpg(gpg_env: GpgKey) -> None:
    data_key = os.urandom(32)
    stanza = PgpService().wrap(KeyStanza("pgp", {"fp": gpg_env.fingerprint}), data_key)
    packets = run_gpg(gpg_env.home, "--list-packets", stdin=stanza.enc.encode()).stdout.decode()
    assert "pubkey enc packet" in packets
    assert run_gpg(gpg_env.home, "-d", stdin=stanza.enc.encode()).stdout == data_key


# -- errors --------------------------------------------------------------------------------------------


def test_unwrap_without_secret_key_is_not_mine(
    gpg_env: GpgKey, public_only_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = PgpService()
    stanza = svc.wrap(KeyStanza("pgp", {"fp": gpg_env.fingerprint}), os.urandom(32))
    monkeypatch.setenv("GNUPGHOME", str(public_only_home))
    with pytest.raises(NotMine) as info:
        svc.unwrap(stanza)
    message = str(info.value)
    assert gpg_env.fingerprint in message
    assert "No secret key" in message
    assert "\n" not in message


def test_unwrap_with_missing_home_is_not_mine(gpg_env: GpgKey, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    svc = PgpService()
    stanza = svc.wrap(KeyStanza("pgp", {"fp": gpg_env.fingerprint}), os.urandom(32))
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "absent"))
    with pytest.raises(NotMine, match=gpg_env.fingerprint):
        svc.unwrap(stanza)


def test_unwrap_garbage_armor_is_key_service_error(gpg_env: GpgKey) -> None:
    fp = gpg_env.fingerprint
    stanza = KeyStanza("pgp", {"created_at": "2026-01-01T00:00:00Z",
                               "enc": f"{ARMOR_BEGIN}\n\nnot-base64-at-all\n{ARMOR_END}", "fp": fp})
    with pytest.raises(KeyServiceError) as info:
        PgpService().unwrap(stanza)
    err = info.value
    assert fp in err.message
    assert "no valid OpenPGP data" in err.message  # gpg's own reason ...
    assert "\n" not in err.message and "radix64" not in err.message  # ... one line, not the whole stderr
    assert err.hint


def test_unwrap_empty_enc_is_key_service_error(gpg_env: GpgKey) -> None:
    with pytest.raises(KeyServiceError, match=gpg_env.fingerprint):
        PgpService().unwrap(KeyStanza("pgp", {"fp": gpg_env.fingerprint, "enc": ""}))


def test_wrap_to_unknown_key_is_key_service_error(gpg_env: GpgKey) -> None:
    fp = "0123456789ABCDEF0123456789ABCDEF01234567"
    with pytest.raises(KeyServiceError) as info:
        PgpService().wrap(KeyStanza("pgp", {"fp": fp}), os.urandom(32))
    assert fp in info.value.message
    assert "No public key" in info.value.message
    assert info.value.hint and "import" in info.value.hint


def test_missing_gpg_binary_is_key_service_error(gpg_env: GpgKey, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("SOPS_GPG_EXEC", str(tmp_path / "no-such-gpg"))
    with pytest.raises(KeyServiceError) as info:
        PgpService().wrap(KeyStanza("pgp", {"fp": gpg_env.fingerprint}), os.urandom(32))
    assert gpg_env.fingerprint in info.value.message
    assert info.value.hint and "SOPS_GPG_EXEC" in info.value.hint


def test_hanging_gpg_is_stopped_by_the_timeout(gpg_env: GpgKey, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    hang = tmp_path / "hanging-gpg"
    hang.write_text("#!/bin/sh\nexec sleep 30\n")
    hang.chmod(hang.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("SOPS_GPG_EXEC", str(hang))
    stanza = KeyStanza("pgp", {"fp": gpg_env.fingerprint, "enc": f"{ARMOR_BEGIN}\n\nxx\n{ARMOR_END}"})
    started = datetime.now(UTC)
    with pytest.raises(KeyServiceError, match="did not finish"):
        PgpService(timeout=0.5).unwrap(stanza)
    assert (datetime.now(UTC) - started).total_seconds() < 10


# -- interop with the real sops ------------------------------------------------------------------------


def _sops(sops_bin: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run([sops_bin, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_sops_written_enc_unwraps_and_psops_enc_is_read_by_sops(gpg_env: GpgKey, sops_bin: str,
                                                                work: Path) -> None:
    (work / "file.yaml").write_text("secret: hello\n")
    encrypted = _sops(sops_bin, "encrypt", "--pgp", gpg_env.fingerprint, "file.yaml", cwd=work)
    doc = _load_yaml(encrypted)
    [entry] = doc["sops"]["pgp"]
    assert entry["fp"] == gpg_env.fingerprint

    svc = PgpService()
    data_key = svc.unwrap(KeyStanza("pgp", dict(entry)))
    assert len(data_key) == 32
    assert _open_value(data_key, doc["secret"], "secret:") == b"hello"

    # Replace sops' enc with psops' wrapping of the same data key: sops must still decrypt the file.
    ours = svc.wrap(KeyStanza("pgp", {"fp": gpg_env.fingerprint}), data_key)
    yaml = YAML()
    tree = yaml.load(encrypted)
    tree["sops"]["pgp"][0]["enc"] = LiteralScalarString(ours.enc)
    tree["sops"]["pgp"][0]["created_at"] = ours.fields["created_at"]
    with (work / "ours.yaml").open("w") as fh:
        yaml.dump(tree, fh)
    assert _load_yaml((work / "ours.yaml").read_text())["sops"]["pgp"][0]["enc"] == ours.enc
    assert _load_yaml(_sops(sops_bin, "decrypt", "ours.yaml", cwd=work)) == {"secret": "hello"}


def test_sops_repo_vector_enc_entries_unwrap(sops_vector_gpg: GpgKey,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(sops_vector_gpg.home))
    doc = _load_yaml((shared_dir() / "vectors" / "sops-repo" / "encrypted" / "example.yaml").read_text())
    entries = doc["sops"]["pgp"]
    assert len(entries) == 2
    svc = PgpService()
    keys = [svc.unwrap(KeyStanza("pgp", dict(entry))) for entry in entries]
    assert all(len(k) == 32 for k in keys)
    assert keys[0] == keys[1]
    assert _open_value(keys[0], doc["myapp1"], "myapp1:") == b"t00m4nys3cr3tzupdated"
