"""Azure Key Vault keys against the local Key Vault + Entra ID stand-in (HTTPS on 127.0.0.1).

Round trips through psops' library API and the installed ``psops`` executable, the stored ``enc`` encoding
(base64url without padding of an RSA-OAEP-256 ciphertext as long as the key's modulus, which the stand-in's
private key opens), version resolution, mixed key groups with age, every failure class with its message,
bounded timeouts, and that age-only work never loads the Azure SDK.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import AgeKey
from fixtures.azure_kv import AzureKvServer
from fixtures.loopback import BlackHole, closed_port
from psops import operations
from psops.engine import decrypt_document, encrypt_document
from psops.errors import KeyServiceError, NoKeyMatched, PsopsError
from psops.keys import get_service, reset_services
from psops.keys.azure_kv import decode_enc, encode_enc, parse_key_url
from psops.keys.base import KeyStanza
from psops.metadata import attach_metadata, build_metadata
from psops.selection import EncryptionRules
from psops.tree import Mapping

PLAIN = b'{\n\t"db_password": "hunter2",\n\t"replicas": 3,\n\t"tls": {\n\t\t"key": "-----BEGIN KEY-----"\n\t}\n}\n'
RAW_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
OAEP_256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _kv(server: AzureKvServer, name: str = "main", version: str = "") -> KeyStanza:
    [stanza] = get_service("azure_kv").parse_recipients(server.key_url(name, version))
    return stanza


def _age(key: AgeKey) -> KeyStanza:
    return KeyStanza("age", {"recipient": key.recipient})


def _encrypt(groups: list[list[KeyStanza]], threshold: int = 0) -> bytes:
    plan = operations.EncryptPlan(key_groups=groups, shamir_threshold=threshold)
    return operations.encrypt_bytes(PLAIN, plan, input_format="json", output_format="json")


def _decrypt(data: bytes) -> bytes:
    return operations.decrypt_bytes(data, input_format="json", output_format="json").data


def _wrap_error(recipient: KeyStanza) -> KeyServiceError:
    with pytest.raises(KeyServiceError) as info:
        get_service("azure_kv").wrap(recipient, os.urandom(32))
    return info.value


def _unwrap_error(stanza: KeyStanza) -> KeyServiceError:
    with pytest.raises(KeyServiceError) as info:
        get_service("azure_kv").unwrap(stanza)
    return info.value


# -- round trips and the stored encoding -------------------------------------------------------------------


def test_json_file_round_trip_resolves_the_latest_version(azure_kv_env: AzureKvServer) -> None:
    encrypted = _encrypt([[_kv(azure_kv_env)]])
    doc = json.loads(encrypted)
    assert "hunter2" not in encrypted.decode()
    [entry] = doc["sops"]["azure_kv"]
    assert list(entry) == ["vault_url", "name", "version", "created_at", "enc"]
    assert entry["vault_url"] == azure_kv_env.base_url and entry["name"] == "main"
    # a URL without a version is pinned to the key's current version when the file is written
    assert entry["version"] == azure_kv_env.keys["main"].latest
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["created_at"])
    # base64url without padding; the ciphertext is exactly one RSA block of the key's modulus size
    assert RAW_B64URL.fullmatch(entry["enc"]) and "=" not in entry["enc"]
    blob = decode_enc(entry["enc"])
    modulus_bytes = azure_kv_env.public_key("main").key_size // 8
    assert len(blob) == modulus_bytes == 256

    reset_services()
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    version = entry["version"]
    assert ("POST", f"/keys/main/{version}/decrypt") in azure_kv_env.calls


def test_yaml_file_round_trip(azure_kv_env: AzureKvServer) -> None:
    plain = b"# database\ndb:\n    user: app\n    password: hunter2\nreplicas: 3\n"
    plan = operations.EncryptPlan(key_groups=[[_kv(azure_kv_env, "other")]])
    encrypted = operations.encrypt_bytes(plain, plan, input_format="yaml", output_format="yaml")
    text = encrypted.decode()
    assert "hunter2" not in text and f"vault_url: {azure_kv_env.base_url}" in text
    enc = re.search(r"^\s+enc: (\S+)$", text, re.M)
    assert enc and RAW_B64URL.fullmatch(enc.group(1)) and len(decode_enc(enc.group(1))) == 256
    reset_services()
    assert operations.decrypt_bytes(encrypted, input_format="yaml", output_format="yaml").data == plain


def test_enc_is_rsa_oaep_256_of_the_data_key(azure_kv_env: AzureKvServer) -> None:
    data_key = os.urandom(32)
    stanza = get_service("azure_kv").wrap(_kv(azure_kv_env), data_key)
    private = azure_kv_env.keys["main"].versions[str(stanza.fields["version"])]
    # what sops stores: RSA-OAEP with SHA-256 and MGF1-SHA-256, openable by the vault's private key alone
    assert private.decrypt(decode_enc(stanza.enc), OAEP_256) == data_key


def test_explicit_older_version_is_kept(azure_kv_env: AzureKvServer) -> None:
    first = next(iter(azure_kv_env.keys["main"].versions))
    assert first != azure_kv_env.keys["main"].latest
    service = get_service("azure_kv")
    stanza = service.wrap(_kv(azure_kv_env, "main", first), b"k" * 32)
    assert stanza.fields["version"] == first
    assert service.describe(stanza) == f"{azure_kv_env.base_url}/keys/main/{first}"
    assert service.unwrap(stanza) == b"k" * 32


def test_caller_without_get_permission_encrypts_in_the_vault(azure_kv_env: AzureKvServer) -> None:
    version = azure_kv_env.keys["encrypt-only"].latest
    service = get_service("azure_kv")
    stanza = service.wrap(_kv(azure_kv_env, "encrypt-only", version), os.urandom(33))
    assert ("POST", f"/keys/encrypt-only/{version}/encrypt") in azure_kv_env.calls
    assert len(service.unwrap(stanza)) == 33


def test_engine_api_round_trip_with_two_vault_keys(azure_kv_env: AzureKvServer) -> None:
    doc = [Mapping([("password", "pa55"), ("enabled", True)])]
    encrypted, meta = encrypt_document(doc, [[_kv(azure_kv_env, "main"), _kv(azure_kv_env, "other")]],
                                       rules=EncryptionRules())
    assert [s.fields["name"] for s in meta.key_groups[0]] == ["main", "other"]
    attach_metadata(encrypted, build_metadata(meta))
    result = decrypt_document(encrypted)
    assert result.doc[0].get("password") == "pa55" and result.doc[0].get("enabled") is True


def test_url_syntax() -> None:
    assert parse_key_url("https://v.vault.azure.net/keys/k") == ("https://v.vault.azure.net", "k", "")
    assert parse_key_url("https://v.vault.azure.net/keys/k/") == ("https://v.vault.azure.net", "k", "")
    assert parse_key_url("https://v.vault.azure.net/keys/k/abc") == ("https://v.vault.azure.net", "k", "abc")
    service = get_service("azure_kv")
    stanzas = service.parse_recipients(" https://a.vault.azure.net/keys/x/1 ,https://b.vault.azure.net/keys/y,")
    assert [s.fields for s in stanzas] == [
        {"vault_url": "https://a.vault.azure.net", "name": "x", "version": "1"},
        {"vault_url": "https://b.vault.azure.net", "name": "y", "version": ""}]
    for bad in ("http://v.vault.azure.net/keys/k", "https://v.vault.azure.net/secrets/k",
                "https://v.vault.azure.net/keys/k/1/2"):
        with pytest.raises(PsopsError) as info:
            service.parse_recipients(bad)
        assert "invalid Azure Key Vault key URL" in info.value.message and "/keys/" in (info.value.hint or "")


def test_enc_codec_is_raw_url_base64() -> None:
    data = bytes(range(250, 256)) + b"\xfb\xff"
    assert encode_enc(data) == "-vv8_f7_-_8"
    assert decode_enc("-vv8_f7_-_8") == data == decode_enc("-vv8_f7_-_8=")
    with pytest.raises(ValueError):
        decode_enc("+/+/")


# -- mixed groups with age ----------------------------------------------------------------------------------


def test_mixed_group_with_age(azure_kv_env: AzureKvServer, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch,
                              tmp_path: Path) -> None:
    encrypted = _encrypt([[_age(age_key), _kv(azure_kv_env)]])
    doc = json.loads(encrypted)
    assert doc["sops"]["azure_kv"][0]["name"] == "main" and doc["sops"]["age"][0]["recipient"] == age_key.recipient
    key_file = tmp_path / "keys.txt"
    key_file.write_text(age_key.identity + "\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    reset_services()
    calls = len(azure_kv_env.calls)
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    assert azure_kv_env.calls[calls:] == []  # age first: the vault is not asked

    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    reset_services()
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    assert azure_kv_env.calls[-1][0] == "POST" and azure_kv_env.calls[-1][1].endswith("/decrypt")


def test_two_of_three_shamir_with_age_and_two_vault_keys(azure_kv_env: AzureKvServer, age_env: AgeKey,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    groups = [[_age(age_env)], [_kv(azure_kv_env, "main")], [_kv(azure_kv_env, "other")]]
    encrypted = _encrypt(groups, threshold=2)
    assert json.loads(encrypted)["sops"]["shamir_threshold"] == 2
    # the vault forgets "other": two groups remain, enough for a 2-of-3 file
    saved = azure_kv_env.keys.pop("other")
    try:
        assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
        monkeypatch.delenv("SOPS_AGE_KEY_FILE")
        reset_services()
        with pytest.raises(NoKeyMatched) as info:
            _decrypt(encrypted)
    finally:
        azure_kv_env.keys["other"] = saved
    assert "only 1 of the 2 key groups" in info.value.message
    assert "/keys/other/" in info.value.message and "key not found" in info.value.message


# -- failure classes ------------------------------------------------------------------------------------------


def test_key_not_found(azure_kv_env: AzureKvServer) -> None:
    err = _wrap_error(_kv(azure_kv_env, "no-such-key"))
    assert azure_kv_env.key_url("no-such-key") in err.message
    assert "key not found" in err.message and "KeyNotFound" in err.message
    assert "vault URL" in (err.hint or "") and err.exit_code == 128


def test_unknown_version_is_not_found(azure_kv_env: AzureKvServer) -> None:
    stanza = get_service("azure_kv").wrap(_kv(azure_kv_env), b"k" * 32)
    err = _unwrap_error(KeyStanza("azure_kv", {**stanza.fields, "version": "0" * 32}))
    assert f"/keys/main/{'0' * 32}" in err.message and "key not found" in err.message


def test_access_denied(azure_kv_env: AzureKvServer) -> None:
    version = azure_kv_env.keys["no-access"].latest
    err = _wrap_error(_kv(azure_kv_env, "no-access", version))
    assert azure_kv_env.key_url("no-access", version) in err.message
    assert "access denied" in err.message and "does not have keys encrypt permission" in err.message
    assert "Key Vault Crypto User" in (err.hint or "")


def test_access_denied_on_decrypt(azure_kv_env: AzureKvServer) -> None:
    # a caller who may only read the key wraps with its public key (as the Azure SDK does), but cannot unwrap
    stanza = get_service("azure_kv").wrap(_kv(azure_kv_env, "forbidden"), b"k" * 32)
    err = _unwrap_error(stanza)
    assert "/keys/forbidden/" in err.message and "access denied" in err.message
    assert "does not have keys decrypt permission" in err.message


def test_disabled_key(azure_kv_env: AzureKvServer) -> None:
    err = _wrap_error(_kv(azure_kv_env, "disabled"))
    assert "/keys/disabled" in err.message and "the key is disabled" in err.message and "KeyDisabled" in err.message
    assert "enable the key" in (err.hint or "")


def test_disabled_after_encryption(azure_kv_env: AzureKvServer) -> None:
    stanza = get_service("azure_kv").wrap(_kv(azure_kv_env, "other"), b"k" * 32)
    azure_kv_env.keys["other"].enabled = False
    try:
        err = _unwrap_error(stanza)
    finally:
        azure_kv_env.keys["other"].enabled = True
    assert "/keys/other/" in err.message and "the key is disabled" in err.message


def test_ciphertext_of_another_key_is_rejected(azure_kv_env: AzureKvServer) -> None:
    service = get_service("azure_kv")
    stanza = service.wrap(_kv(azure_kv_env, "main"), b"k" * 32)
    other = service.wrap(_kv(azure_kv_env, "other"), b"k" * 32)
    err = _unwrap_error(KeyStanza("azure_kv", {**other.fields, "enc": stanza.enc}))
    assert "the vault rejected the request" in err.message and "BadParameter" in err.message


def test_enc_that_is_not_base64url(azure_kv_env: AzureKvServer) -> None:
    stanza = get_service("azure_kv").wrap(_kv(azure_kv_env), b"k" * 32)
    err = _unwrap_error(KeyStanza("azure_kv", {**stanza.fields, "enc": "abc+/def"}))
    assert "enc is not base64url" in err.message


def test_wrong_client_secret(azure_kv_env: AzureKvServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "kv-secret-wrong")
    err = _wrap_error(_kv(azure_kv_env))
    assert "authentication failed" in err.message and "AADSTS7000215" in err.message
    assert "kv-secret-wrong" not in err.message and "AZURE_CLIENT_SECRET" in (err.hint or "")


def test_managed_identity_through_the_default_chain(azure_kv_env: AzureKvServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # no client secret: DefaultAzureCredential finds the App Service managed identity of the stand-in;
    # any other address would go to a proxy on a closed loopback port, so nothing can leave the machine
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(name)
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{azure_kv_env.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", azure_kv_env.identity_header)
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")
    before = len(azure_kv_env.calls)
    service = get_service("azure_kv")
    assert service.unwrap(service.wrap(_kv(azure_kv_env), b"k" * 32)) == b"k" * 32
    assert ("GET", "/msi/token") in azure_kv_env.calls[before:]


def test_unreachable_vault(azure_kv_env: AzureKvServer) -> None:
    url = f"https://127.0.0.1:{closed_port()}"
    stanza = KeyStanza("azure_kv", {"vault_url": url, "name": "k", "version": "1"})
    start = time.monotonic()
    err = _wrap_error(stanza)
    assert time.monotonic() - start < 10
    assert f"{url}/keys/k/1" in err.message and "the vault is unreachable" in err.message
    assert "network" in (err.hint or "")


def test_stuck_vault_times_out(azure_kv_env: AzureKvServer, black_hole: BlackHole,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSOPS_AZURE_KV_TIMEOUT", "0.5")
    url = f"https://127.0.0.1:{black_hole.port}"
    stanza = KeyStanza("azure_kv", {"vault_url": url, "name": "k", "version": "1", "enc": "AAAA"})
    start = time.monotonic()
    err = _unwrap_error(stanza)
    elapsed = time.monotonic() - start
    assert elapsed < 6, f"took {elapsed:.1f}s"
    assert f"{url}/keys/k/1" in err.message
    assert "no complete answer within 0.5s" in err.message or "unreachable" in err.message


def test_untrusted_certificate(azure_kv_env: AzureKvServer, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    from fixtures.local_ca import make_local_ca

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(make_local_ca(tmp_path / "other-ca").ca_file))
    err = _wrap_error(_kv(azure_kv_env))
    assert "CERTIFICATE_VERIFY_FAILED" in err.message or "certificate verify failed" in err.message


# -- the installed executable -----------------------------------------------------------------------------------


def _psops(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    exe = Path(sys.executable).parent / "psops"
    return subprocess.run([str(exe), *args], env=dict(os.environ), cwd=cwd, capture_output=True, timeout=60,
                          check=False)


def test_cli_azure_kv_flag_round_trip(azure_kv_env: AzureKvServer, tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_bytes(PLAIN)
    proc = _psops("encrypt", "--azure-kv", azure_kv_env.key_url("main"), "--in-place", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    entry = json.loads(path.read_bytes())["sops"]["azure_kv"][0]
    assert entry["version"] == azure_kv_env.keys["main"].latest and RAW_B64URL.fullmatch(entry["enc"])
    proc = _psops("decrypt", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == json.loads(PLAIN)


def test_cli_error_names_the_key_and_reason(azure_kv_env: AzureKvServer, tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_bytes(PLAIN)
    proc = _psops("encrypt", "--azure-kv", azure_kv_env.key_url("disabled"), str(path), cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 128 and proc.stdout == b"", err
    assert "/keys/disabled" in err and "the key is disabled" in err and "hint:" in err
    assert "Traceback" not in err and azure_kv_env.client_secret not in err


def test_age_decrypt_never_imports_azure(age_env: AgeKey, tmp_path: Path) -> None:
    path = tmp_path / "age.json"
    path.write_bytes(_encrypt([[_age(age_env)]]))
    script = (
        "import sys\n"
        "from psops.cli import run\n"
        f"sys.argv = ['psops', 'decrypt', {str(path)!r}]\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'msal', 'requests'))\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(3 if loaded else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, check=False,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == json.loads(PLAIN)
