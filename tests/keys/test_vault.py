"""Vault Transit key service against a real OpenBao dev server on 127.0.0.1: layout, tokens, failures."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from fixtures.loopback import BlackHole, closed_port
from fixtures.vault import Vault
from psops.errors import KeyServiceError, NotMine
from psops.keys import get_service
from psops.keys.base import KeyStanza
from psops.policy import parse_vault_uri

DATA_KEY = bytes(range(100, 132))


def test_wrap_stores_vaults_ciphertext_verbatim_in_sops_field_order(vault: Vault) -> None:
    service = get_service("hc_vault")
    stanza = service.wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    assert list(stanza.fields) == ["vault_address", "engine_path", "key_name", "created_at", "enc"]
    assert stanza.fields["vault_address"] == vault.address
    assert stanza.fields["engine_path"] == "transit"
    assert stanza.fields["key_name"] == "psops"
    assert stanza.enc.startswith("vault:v1:")
    # The server decrypts it to the base64 of the data key: the stored value is Vault's own ciphertext.
    answer = vault.server.request("POST", "transit/decrypt/psops", {"ciphertext": stanza.enc})
    assert base64.b64decode(answer["data"]["plaintext"]) == DATA_KEY
    assert service.unwrap(stanza) == DATA_KEY


def test_nested_engine_path(vault: Vault) -> None:
    service = get_service("hc_vault")
    stanza = service.wrap(parse_vault_uri(vault.nested_key_uri), DATA_KEY)
    assert stanza.fields["engine_path"] == "team/transit" and stanza.fields["key_name"] == "app"
    assert service.unwrap(stanza) == DATA_KEY


def test_ciphertext_written_by_the_server_unwraps(vault: Vault) -> None:
    answer = vault.server.request("POST", "transit/encrypt/psops",
                                  {"plaintext": base64.b64encode(DATA_KEY).decode()})
    stanza = parse_vault_uri(vault.key_uri)
    stanza.fields.update(created_at="2024-01-01T00:00:00Z", enc=answer["data"]["ciphertext"])
    assert get_service("hc_vault").unwrap(stanza) == DATA_KEY


def test_token_file_is_used_when_vault_token_is_unset(vault: Vault, clean_env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    stanza = get_service("hc_vault").wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    monkeypatch.delenv("VAULT_TOKEN")
    (clean_env / ".vault-token").write_text(vault.token + "\n")
    assert get_service("hc_vault").unwrap(stanza) == DATA_KEY


def test_vault_token_wins_over_the_token_file(vault: Vault, clean_env: Path) -> None:
    (clean_env / ".vault-token").write_text("not-a-valid-token\n")
    stanza = get_service("hc_vault").wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    assert get_service("hc_vault").unwrap(stanza) == DATA_KEY


def test_no_token_at_all_means_not_mine(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    stanza = get_service("hc_vault").wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(NotMine, match="no Vault token"):
        get_service("hc_vault").unwrap(stanza)


def test_bad_token_is_permission_denied(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    stanza = get_service("hc_vault").wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    monkeypatch.setenv("VAULT_TOKEN", "s.not-a-real-token")
    with pytest.raises(KeyServiceError) as info:
        get_service("hc_vault").unwrap(stanza)
    assert vault.key_uri in info.value.message
    assert "permission denied" in info.value.message
    assert info.value.hint and "VAULT_TOKEN" in info.value.hint
    assert "s.not-a-real-token" not in info.value.message + info.value.hint


def test_unknown_key_is_reported(vault: Vault) -> None:
    stanza = get_service("hc_vault").wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    stanza.fields["key_name"] = "no-such-key"
    with pytest.raises(KeyServiceError) as info:
        get_service("hc_vault").unwrap(stanza)
    assert "/v1/transit/keys/no-such-key" in info.value.message
    assert "not found" in info.value.message
    assert info.value.hint and "key name" in info.value.hint


def test_unknown_mount_is_reported(vault: Vault) -> None:
    with pytest.raises(KeyServiceError) as info:
        get_service("hc_vault").wrap(parse_vault_uri(f"{vault.address}/v1/nowhere/keys/psops"), DATA_KEY)
    assert f"{vault.address}/v1/nowhere/keys/psops" in info.value.message


def test_ciphertext_of_another_key_is_refused(vault: Vault) -> None:
    service = get_service("hc_vault")
    stanza = service.wrap(parse_vault_uri(vault.nested_key_uri), DATA_KEY)
    stanza.fields.update(engine_path="transit", key_name="psops")
    with pytest.raises(KeyServiceError) as info:
        service.unwrap(stanza)
    assert vault.key_uri in info.value.message


def test_unreachable_server_fails_fast(vault: Vault) -> None:
    uri = f"http://127.0.0.1:{closed_port()}/v1/transit/keys/psops"
    start = time.monotonic()
    with pytest.raises(KeyServiceError) as info:
        get_service("hc_vault").wrap(parse_vault_uri(uri), DATA_KEY)
    assert time.monotonic() - start < 5
    assert uri in info.value.message and "unreachable" in info.value.message
    assert info.value.hint and "vault_address" in info.value.hint


def test_a_silent_server_times_out(vault: Vault, black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSOPS_VAULT_TIMEOUT", "0.5")
    uri = f"http://127.0.0.1:{black_hole.port}/v1/transit/keys/psops"
    start = time.monotonic()
    with pytest.raises(KeyServiceError, match=r"no answer within 0\.5s"):
        get_service("hc_vault").wrap(parse_vault_uri(uri), DATA_KEY)
    assert time.monotonic() - start < 3


def test_vault_addr_is_only_a_fallback_for_stanzas_without_an_address(vault: Vault,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    service = get_service("hc_vault")
    stanza = service.wrap(parse_vault_uri(vault.key_uri), DATA_KEY)
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{closed_port()}")
    assert service.unwrap(stanza) == DATA_KEY  # the stanza's address wins
    monkeypatch.setenv("VAULT_ADDR", vault.address)
    stanza.fields["vault_address"] = ""
    assert service.unwrap(stanza) == DATA_KEY


def test_empty_enc_is_reported() -> None:
    stanza = KeyStanza("hc_vault", {"vault_address": "http://127.0.0.1:1", "engine_path": "transit",
                                    "key_name": "k", "enc": ""})
    with pytest.raises(KeyServiceError, match="no wrapped key"):
        get_service("hc_vault").unwrap(stanza)


def test_describe_identity_and_parse(vault: Vault) -> None:
    service = get_service("hc_vault")
    stanzas = service.parse_recipients(f"{vault.key_uri}, {vault.nested_key_uri}")
    assert [service.describe(s) for s in stanzas] == [vault.key_uri, vault.nested_key_uri]
    assert service.identity(stanzas[0]) == "hc_vault:" + vault.key_uri
