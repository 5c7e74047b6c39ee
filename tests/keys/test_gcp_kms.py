"""GCP Cloud KMS keys against the local KeyManagementService stand-in (gRPC on 127.0.0.1).

Round trips through psops' library API and the installed ``psops`` executable, the stored ``enc`` encoding
(standard base64 of the service's ciphertext, no AAD), mixed key groups with age, every failure class with
its message, credentials from each source, TLS to the stand-in, and that age-only work never loads gRPC.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import AgeKey
from fixtures.gcp_kms import GcpKmsServer, resource_id
from fixtures.loopback import BlackHole, closed_port
from psops import operations
from psops.engine import decrypt_document, encrypt_document
from psops.errors import KeyServiceError, NoKeyMatched, PsopsError
from psops.keys import get_service, reset_services
from psops.keys.base import KeyStanza
from psops.keys.gcp_kms import crc32c
from psops.selection import EncryptionRules
from psops.tree import Mapping

PLAIN = b'{\n\t"db_password": "hunter2",\n\t"port": 5432,\n\t"nested": {\n\t\t"token": "s3cr3t"\n\t}\n}\n'
STD_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def _gcp(name: str = "main") -> KeyStanza:
    return KeyStanza("gcp_kms", {"resource_id": resource_id(name)})


def _age(key: AgeKey) -> KeyStanza:
    return KeyStanza("age", {"recipient": key.recipient})


def _encrypt(groups: list[list[KeyStanza]], threshold: int = 0, data: bytes = PLAIN) -> bytes:
    plan = operations.EncryptPlan(key_groups=groups, shamir_threshold=threshold)
    return operations.encrypt_bytes(data, plan, input_format="json", output_format="json")


def _decrypt(data: bytes) -> bytes:
    return operations.decrypt_bytes(data, input_format="json", output_format="json").data


def _unwrap_error(stanza: KeyStanza) -> KeyServiceError:
    with pytest.raises(KeyServiceError) as info:
        get_service("gcp_kms").unwrap(stanza)
    return info.value


def _wrap_error(recipient: KeyStanza) -> KeyServiceError:
    with pytest.raises(KeyServiceError) as info:
        get_service("gcp_kms").wrap(recipient, os.urandom(32))
    return info.value


# -- round trips and the stored encoding -------------------------------------------------------------------


def test_json_file_round_trip_and_enc_is_std_base64_of_the_service_ciphertext(gcp_kms_env: GcpKmsServer) -> None:
    before = len(gcp_kms_env.calls)
    encrypted = _encrypt([[_gcp()]])
    doc = json.loads(encrypted)
    assert "hunter2" not in encrypted.decode() and doc["db_password"].startswith("ENC[AES256_GCM,")
    [entry] = doc["sops"]["gcp_kms"]
    assert list(entry) == ["resource_id", "created_at", "enc"]
    assert entry["resource_id"] == resource_id("main")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["created_at"])
    assert STD_B64.fullmatch(entry["enc"])
    blob = base64.b64decode(entry["enc"], validate=True)
    # the stand-in's ciphertext: version byte, key tag, 12-byte nonce, 32-byte data key, 16-byte GCM tag
    assert len(blob) == 1 + 8 + 12 + 32 + 16
    assert blob[1:9] == gcp_kms_env.keys[resource_id("main")].tag
    # sops calls Encrypt with the resource id and no additional authenticated data
    assert gcp_kms_env.calls[before:] == [("Encrypt", resource_id("main"), b"")]

    reset_services()
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    assert gcp_kms_env.calls[-1] == ("Decrypt", resource_id("main"), b"")


def test_yaml_file_round_trip(gcp_kms_env: GcpKmsServer) -> None:
    plain = b"# database\ndb:\n    user: app\n    password: hunter2\nreplicas: 3\n"
    plan = operations.EncryptPlan(key_groups=[[_gcp()]])
    encrypted = operations.encrypt_bytes(plain, plan, input_format="yaml", output_format="yaml")
    text = encrypted.decode()
    assert "hunter2" not in text and f"resource_id: {resource_id('main')}" in text
    enc = re.search(r"^\s+enc: (\S+)$", text, re.M)
    assert enc and STD_B64.fullmatch(enc.group(1))
    reset_services()
    assert operations.decrypt_bytes(encrypted, input_format="yaml", output_format="yaml").data == plain


def test_engine_api_round_trip_with_two_gcp_keys(gcp_kms_env: GcpKmsServer) -> None:
    doc = [Mapping([("api_key", "abc"), ("count", 3)])]
    encrypted, meta = encrypt_document(doc, [[_gcp("main"), _gcp("other")]], rules=EncryptionRules())
    stanzas = meta.key_groups[0]
    assert [s.fields["resource_id"] for s in stanzas] == [resource_id("main"), resource_id("other")]
    assert stanzas[0].enc != stanzas[1].enc
    from psops.metadata import attach_metadata, build_metadata

    attach_metadata(encrypted, build_metadata(meta))
    # the first key is gone from the service: the second one still opens the file
    gcp_kms_env.keys.pop(resource_id("main"))
    try:
        result = decrypt_document(encrypted)
    finally:
        gcp_kms_env.add_key("main")
    assert result.doc[0].get("api_key") == "abc" and result.doc[0].get("count") == 3


def test_wrap_unwrap_shamir_share_size(gcp_kms_env: GcpKmsServer) -> None:
    service = get_service("gcp_kms")
    share = os.urandom(33)
    assert service.unwrap(service.wrap(_gcp(), share)) == share


def test_parse_recipients_strips_spaces_and_rejects_bad_ids() -> None:
    service = get_service("gcp_kms")
    spec = f" {resource_id('main')} , {resource_id('other')},"
    assert [s.fields for s in service.parse_recipients(spec)] == [
        {"resource_id": resource_id("main")}, {"resource_id": resource_id("other")}]
    with pytest.raises(PsopsError) as info:
        service.parse_recipients("projects/p/keyRings/r/cryptoKeys/k")
    assert "invalid GCP KMS resource id" in info.value.message and "locations" in (info.value.hint or "")


def test_crc32c_known_answer() -> None:
    # RFC 3720 B.4 test vector: 32 bytes of zeros
    assert crc32c(b"\x00" * 32) == 0x8A9136AA
    assert crc32c(b"123456789") == 0xE3069283


# -- mixed groups with age ----------------------------------------------------------------------------------


def test_mixed_group_with_age_prefers_age_and_falls_back_to_gcp(
        gcp_kms_env: GcpKmsServer, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    encrypted = _encrypt([[_gcp(), _age(age_key)]])
    doc = json.loads(encrypted)
    assert doc["sops"]["gcp_kms"][0]["resource_id"] == resource_id("main")
    assert doc["sops"]["age"][0]["recipient"] == age_key.recipient

    # with the age identity at hand, the local key is used first: no Decrypt call reaches the service
    key_file = tmp_path / "keys.txt"
    key_file.write_text(age_key.identity + "\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    reset_services()
    calls = len(gcp_kms_env.calls)
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    assert gcp_kms_env.calls[calls:] == []

    # without it, Cloud KMS opens the file
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    reset_services()
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    assert gcp_kms_env.calls[-1][0] == "Decrypt"

    # neither: the error lists both attempts, the GCP one with the service's reason
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.revoked")
    reset_services()
    with pytest.raises(NoKeyMatched) as info:
        _decrypt(encrypted)
    assert info.value.exit_code == 128
    assert resource_id("main") in info.value.message and "UNAUTHENTICATED" in info.value.message
    assert "age" in info.value.message


def test_two_of_two_shamir_groups_age_and_gcp(gcp_kms_env: GcpKmsServer, age_env: AgeKey,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted = _encrypt([[_age(age_env)], [_gcp()]], threshold=2)
    doc = json.loads(encrypted)
    assert doc["sops"]["shamir_threshold"] == 2 and len(doc["sops"]["key_groups"]) == 2
    assert json.loads(_decrypt(encrypted)) == json.loads(PLAIN)
    monkeypatch.setenv("SOPS_GCP_KMS_ENDPOINT", f"127.0.0.1:{closed_port()}")
    reset_services()
    with pytest.raises(NoKeyMatched) as info:
        _decrypt(encrypted)
    assert "only 1 of the 2 key groups" in info.value.message and "unreachable" in info.value.message


# -- failure classes ------------------------------------------------------------------------------------------


def test_permission_denied(gcp_kms_env: GcpKmsServer) -> None:
    err = _wrap_error(_gcp("forbidden"))
    assert resource_id("forbidden") in err.message
    assert "access denied (PERMISSION_DENIED)" in err.message and "useToEncrypt" in err.message
    assert "cryptoKeyEncrypterDecrypter" in (err.hint or "")
    assert err.exit_code == 128


def test_key_not_found(gcp_kms_env: GcpKmsServer) -> None:
    err = _wrap_error(_gcp("no-such-key"))
    assert resource_id("no-such-key") in err.message and "key not found (NOT_FOUND)" in err.message
    assert "resource id" in (err.hint or "")


def test_disabled_key(gcp_kms_env: GcpKmsServer) -> None:
    err = _wrap_error(_gcp("disabled"))
    assert "FAILED_PRECONDITION" in err.message and "DISABLED" in err.message
    assert "enable" in (err.hint or "")


def test_disabled_after_encryption(gcp_kms_env: GcpKmsServer) -> None:
    stanza = get_service("gcp_kms").wrap(_gcp("other"), os.urandom(32))
    gcp_kms_env.keys[resource_id("other")].enabled = False
    try:
        err = _unwrap_error(stanza)
    finally:
        gcp_kms_env.keys[resource_id("other")].enabled = True
    assert resource_id("other") in err.message and "disabled" in err.message


def test_ciphertext_of_another_key_is_invalid_argument(gcp_kms_env: GcpKmsServer) -> None:
    stanza = get_service("gcp_kms").wrap(_gcp("main"), os.urandom(32))
    moved = KeyStanza("gcp_kms", {**stanza.fields, "resource_id": resource_id("other")})
    err = _unwrap_error(moved)
    assert resource_id("other") in err.message and "INVALID_ARGUMENT" in err.message
    assert "damaged" in (err.hint or "")


def test_tampered_ciphertext_is_invalid_argument(gcp_kms_env: GcpKmsServer) -> None:
    stanza = get_service("gcp_kms").wrap(_gcp(), os.urandom(32))
    blob = bytearray(base64.b64decode(stanza.enc))
    blob[-1] ^= 1
    err = _unwrap_error(KeyStanza("gcp_kms", {**stanza.fields, "enc": base64.b64encode(bytes(blob)).decode()}))
    assert "INVALID_ARGUMENT" in err.message and "Decryption failed" in err.message


def test_enc_that_is_not_base64(gcp_kms_env: GcpKmsServer) -> None:
    err = _unwrap_error(KeyStanza("gcp_kms", {"resource_id": resource_id("main"), "enc": "not*base64"}))
    assert "not standard base64" in err.message


def test_unauthenticated(gcp_kms_env: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.not-a-valid-token")
    err = _wrap_error(_gcp())
    assert "UNAUTHENTICATED" in err.message and "ya29" not in err.message
    assert "GOOGLE_OAUTH_ACCESS_TOKEN" in (err.hint or "")


def test_unreachable_endpoint(gcp_kms_env: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("SOPS_GCP_KMS_ENDPOINT", endpoint)
    start = time.monotonic()
    err = _wrap_error(_gcp())
    assert time.monotonic() - start < 10
    assert f"the service at {endpoint} is unreachable (UNAVAILABLE" in err.message
    assert resource_id("main") in err.message and "SOPS_GCP_KMS_ENDPOINT" in (err.hint or "")


def test_stuck_endpoint_hits_the_deadline(gcp_kms_env: GcpKmsServer, black_hole: BlackHole,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_GCP_KMS_ENDPOINT", f"127.0.0.1:{black_hole.port}")
    monkeypatch.setenv("PSOPS_GCP_KMS_TIMEOUT", "1")
    start = time.monotonic()
    err = _wrap_error(_gcp())
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert "no answer within 1s (DEADLINE_EXCEEDED)" in err.message or "UNAVAILABLE" in err.message


def test_plaintext_endpoint_must_be_loopback(gcp_kms_env: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_GCP_KMS_ENDPOINT", "kms.example.com:443")
    with pytest.raises(PsopsError) as info:
        get_service("gcp_kms").wrap(_gcp(), os.urandom(32))
    assert "not a loopback address" in info.value.message


def test_bad_timeout_setting(gcp_kms_env: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSOPS_GCP_KMS_TIMEOUT", "soon")
    with pytest.raises(PsopsError, match="PSOPS_GCP_KMS_TIMEOUT"):
        get_service("gcp_kms").wrap(_gcp(), os.urandom(32))


# -- credentials ------------------------------------------------------------------------------------------------


def _sa_env(monkeypatch: pytest.MonkeyPatch, server: GcpKmsServer) -> None:
    monkeypatch.setenv("SOPS_GCP_KMS_ENDPOINT", server.endpoint)
    monkeypatch.setenv("PSOPS_GCP_KMS_INSECURE", "1")


def test_google_credentials_as_file_path(gcp_kms_server: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _sa_env(monkeypatch, gcp_kms_server)
    monkeypatch.setenv("GOOGLE_CREDENTIALS", str(gcp_kms_server.service_account_file))
    service = get_service("gcp_kms")
    assert service.unwrap(service.wrap(_gcp(), b"k" * 32)) == b"k" * 32


def test_google_credentials_as_inline_json(gcp_kms_server: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _sa_env(monkeypatch, gcp_kms_server)
    monkeypatch.setenv("GOOGLE_CREDENTIALS", gcp_kms_server.service_account_file.read_text())
    service = get_service("gcp_kms")
    assert service.unwrap(service.wrap(_gcp(), b"k" * 32)) == b"k" * 32


def test_google_application_credentials(gcp_kms_server: GcpKmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _sa_env(monkeypatch, gcp_kms_server)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp_kms_server.service_account_file))
    service = get_service("gcp_kms")
    assert service.unwrap(service.wrap(_gcp(), b"k" * 32)) == b"k" * 32


def test_google_credentials_garbage_is_named_not_echoed(gcp_kms_server: GcpKmsServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _sa_env(monkeypatch, gcp_kms_server)
    monkeypatch.setenv("GOOGLE_CREDENTIALS", "secret-looking-garbage")
    err = _wrap_error(_gcp())
    assert "GOOGLE_CREDENTIALS is neither an existing file nor JSON credentials" in err.message
    assert "secret-looking-garbage" not in err.message + (err.hint or "")


def test_missing_application_credentials_file(gcp_kms_server: GcpKmsServer, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    _sa_env(monkeypatch, gcp_kms_server)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    err = _wrap_error(_gcp())
    assert "GOOGLE_APPLICATION_CREDENTIALS" in err.message and "not a file" in err.message


# -- the installed executable -----------------------------------------------------------------------------------


def _psops(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    exe = Path(sys.executable).parent / "psops"
    return subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, timeout=60, check=False)


def test_cli_decrypts_over_tls_with_the_endpoint_override(gcp_kms_env: GcpKmsServer, tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_bytes(_encrypt([[_gcp()]]))
    env = {k: v for k, v in os.environ.items() if k != "PSOPS_GCP_KMS_INSECURE"}
    env["SOPS_GCP_KMS_ENDPOINT"] = gcp_kms_env.tls_endpoint
    env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(gcp_kms_env.ca.ca_file)
    proc = _psops("decrypt", str(path), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == json.loads(PLAIN)

    # the stand-in's certificate is not trusted without its CA: the handshake fails, nothing is sent
    env.pop("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH")
    env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(tmp_path / "empty.pem")
    (tmp_path / "empty.pem").write_text("")
    proc = _psops("decrypt", str(path), env=env, cwd=tmp_path)
    assert proc.returncode == 128 and proc.stdout == b""
    err = proc.stderr.decode()
    assert "could not decrypt the data key" in err and "unreachable" in err and "Traceback" not in err


def test_cli_gcp_kms_flag_round_trip(gcp_kms_env: GcpKmsServer, tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_bytes(PLAIN)
    env = dict(os.environ)
    proc = _psops("encrypt", "--gcp-kms", resource_id("main"), "--in-place", str(path), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(path.read_bytes())
    assert doc["sops"]["gcp_kms"][0]["resource_id"] == resource_id("main")
    assert STD_B64.fullmatch(doc["sops"]["gcp_kms"][0]["enc"])
    assert json.loads(_decrypt(path.read_bytes())) == json.loads(PLAIN)

    env["SOPS_GCP_KMS_IDS"] = resource_id("other")
    other = tmp_path / "other.json"
    other.write_bytes(PLAIN)
    proc = _psops("encrypt", "--output", str(other), str(other), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    written = other.read_bytes()
    assert json.loads(written)["sops"]["gcp_kms"][0]["resource_id"] == resource_id("other")
    assert json.loads(_decrypt(written)) == json.loads(PLAIN)


def test_cli_error_names_the_key_and_reason(gcp_kms_env: GcpKmsServer, tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_bytes(PLAIN)
    proc = _psops("encrypt", "--gcp-kms", resource_id("forbidden"), str(path), env=dict(os.environ), cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 128 and proc.stdout == b"", err
    assert resource_id("forbidden") in err and "PERMISSION_DENIED" in err and "hint:" in err
    assert "Traceback" not in err


def test_age_decrypt_never_imports_grpc_or_google_cloud(age_env: AgeKey, tmp_path: Path) -> None:
    path = tmp_path / "age.json"
    path.write_bytes(_encrypt([[_age(age_env)]]))
    script = (
        "import sys\n"
        "from psops.cli import run\n"
        f"sys.argv = ['psops', 'decrypt', {str(path)!r}]\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "loaded = sorted(m for m in sys.modules if m == 'grpc' or m.startswith(('grpc.', 'google.cloud', "
        "'google.auth', 'google.api_core')))\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(3 if loaded else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, check=False,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == json.loads(PLAIN)
