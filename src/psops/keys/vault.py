"""HashiCorp Vault (and OpenBao) Transit master keys (``sops.hc_vault``), through hvac.

A stanza names a Transit key by ``vault_address`` (``scheme://host[:port]``), ``engine_path`` (the mount,
may contain ``/``) and ``key_name`` -- the parts of the URI ``https://host:8200/v1/<engine>/keys/<name>``
given to ``--hc-vault-transit`` / ``SOPS_VAULT_URIS`` (parsed by :func:`psops.policy.parse_vault_uri`).
Wrapping posts ``{"plaintext": base64(data key)}`` to ``<addr>/v1/<engine>/encrypt/<name>`` and stores the
returned ``ciphertext`` (``vault:v<N>:...``) verbatim in ``enc``; unwrapping posts it to ``.../decrypt/<name>``
and base64-decodes the answer. Fields are written in sops' order: ``vault_address``, ``engine_path``,
``key_name``, ``created_at``, ``enc``.

The token is looked up as sops does: ``VAULT_TOKEN``, else the file ``~/.vault-token``. The stanza's address
is where the request goes (``VAULT_ADDR`` is used only when a stanza has no address); ``VAULT_NAMESPACE``,
``VAULT_CACERT``/``VAULT_CAPATH`` and ``VAULT_SKIP_VERIFY`` are honoured like the Vault CLI. Requests have a
bounded timeout (10 s, or ``PSOPS_VAULT_TIMEOUT`` seconds) and are not retried. No token at all is
:class:`~psops.errors.NotMine`; every other failure (bad token, unknown key or mount, sealed or unreachable
server, ciphertext that does not decrypt) is a :class:`~psops.errors.KeyServiceError` naming the key URI and
Vault's reason, with a hint. ``hvac`` is imported on first use only.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psops.errors import KeyServiceError, NotMine
from psops.keys.base import KeyStanza

KIND = "hc_vault"
TIMEOUT = 10.0
"""Seconds one request to Vault may take (connect and read); ``PSOPS_VAULT_TIMEOUT`` overrides it."""
TIMEOUT_ENV = "PSOPS_VAULT_TIMEOUT"

_MAX_REASON = 300


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _field(stanza: KeyStanza, name: str) -> str:
    value = stanza.fields.get(name)
    return "" if value is None else str(value)


def key_uri(stanza: KeyStanza) -> str:
    """The key's URI as users write it: ``<address>/v1/<engine path>/keys/<key name>``."""
    address = _field(stanza, "vault_address") or os.environ.get("VAULT_ADDR", "")
    return f"{address.rstrip('/')}/v1/{_field(stanza, 'engine_path')}/keys/{_field(stanza, 'key_name')}"


def vault_token() -> str:
    """The token sops would use: ``VAULT_TOKEN``, else the trimmed content of ``~/.vault-token`` ('' if none)."""
    token = os.environ.get("VAULT_TOKEN", "").strip()
    if token:
        return token
    path = Path.home() / ".vault-token"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise KeyServiceError(f"cannot read the Vault token file {path}: {exc.strerror}",
                              hint="fix its permissions or set VAULT_TOKEN") from None


def request_timeout() -> float:
    """Seconds per request: :data:`TIMEOUT_ENV` when it holds a positive number, else :data:`TIMEOUT`."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        raise KeyServiceError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    return value if value > 0 else TIMEOUT


def _verify() -> bool | str:
    if os.environ.get("VAULT_SKIP_VERIFY", "").strip().lower() in ("1", "true", "t", "yes"):
        return False
    return os.environ.get("VAULT_CACERT") or os.environ.get("VAULT_CAPATH") or True


class VaultTransitService:
    """Wraps data keys with Vault Transit ``encrypt`` and unwraps them with ``decrypt`` (hvac)."""

    kind = KIND
    thread_safe = True  # one requests session per address, built under a lock; hvac calls are independent

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Comma-separated Vault Transit key URIs -> recipient stanzas."""
        from psops.policy.config import parse_key_list

        return parse_key_list(KIND, spec)

    def describe(self, stanza: KeyStanza) -> str:
        """The key URI."""
        return key_uri(stanza)

    def identity(self, stanza: KeyStanza) -> str:
        """``hc_vault:<key URI>``."""
        return "hc_vault:" + key_uri(stanza)

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Encrypt the data key with the Transit key; store Vault's ciphertext verbatim."""
        client = self._client(recipient)
        plaintext = base64.b64encode(data_key).decode("ascii")
        response = self._call(recipient, "encrypt", lambda: client.secrets.transit.encrypt_data(
            name=_field(recipient, "key_name"), plaintext=plaintext, mount_point=_field(recipient, "engine_path")))
        ciphertext = _data(response).get("ciphertext")
        if not isinstance(ciphertext, str) or not ciphertext.startswith("vault:"):
            raise KeyServiceError(f"Vault key {key_uri(recipient)}: encrypt returned no vault: ciphertext")
        return KeyStanza(KIND, {
            "vault_address": _field(recipient, "vault_address"),
            "engine_path": _field(recipient, "engine_path"),
            "key_name": _field(recipient, "key_name"),
            "created_at": _now_rfc3339(),
            "enc": ciphertext,
        })

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Decrypt ``enc`` with the Transit key."""
        if not stanza.enc:
            raise KeyServiceError(f"Vault key {key_uri(stanza)}: the stanza holds no wrapped key (empty enc)")
        client = self._client(stanza)
        response = self._call(stanza, "decrypt", lambda: client.secrets.transit.decrypt_data(
            name=_field(stanza, "key_name"), ciphertext=stanza.enc, mount_point=_field(stanza, "engine_path")))
        plaintext = _data(response).get("plaintext")
        try:
            key = base64.b64decode(str(plaintext or "").encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            key = b""
        if not key:
            raise KeyServiceError(f"Vault key {key_uri(stanza)}: decrypt returned no data key")
        return key

    # -- plumbing ---------------------------------------------------------------------------------------

    def _client(self, stanza: KeyStanza) -> Any:
        address = _field(stanza, "vault_address") or os.environ.get("VAULT_ADDR", "")
        if not address:
            raise KeyServiceError(f"Vault key {key_uri(stanza)} has no vault_address",
                                  hint="the file's sops metadata was damaged; or set VAULT_ADDR")
        token = vault_token()
        if not token:
            raise NotMine("no Vault token (set VAULT_TOKEN or log in so that ~/.vault-token exists)")
        with self._lock:
            client = self._clients.get((address, token))
            if client is None:
                import hvac

                client = hvac.Client(url=address, token=token, timeout=request_timeout(), verify=_verify(),
                                     namespace=os.environ.get("VAULT_NAMESPACE") or None)
                self._clients[(address, token)] = client
        return client

    def _call(self, stanza: KeyStanza, what: str, call: Any) -> Any:
        """Run one hvac request; turn failures into a one-line KeyServiceError naming the key."""
        import hvac.exceptions as hexc
        import requests.exceptions as rexc

        uri = key_uri(stanza)
        try:
            return call()
        except (hexc.Forbidden, hexc.Unauthorized) as exc:
            reason = _reason(exc)
            detail = "" if reason == "permission denied" else f" ({reason})"
            raise KeyServiceError(f"Vault key {uri}: could not {what}: permission denied{detail}",
                                  hint="check VAULT_TOKEN / ~/.vault-token and that its policy allows "
                                       f"update on {_field(stanza, 'engine_path')}/{what}/"
                                       f"{_field(stanza, 'key_name')}") from None
        except hexc.InvalidPath as exc:
            raise KeyServiceError(f"Vault key {uri}: could not {what}: no such path ({_reason(exc)})",
                                  hint="check the engine path (is the transit engine mounted there?)") from None
        except hexc.InvalidRequest as exc:
            reason = _reason(exc)
            engine, name = _field(stanza, "engine_path"), _field(stanza, "key_name")
            hint = (f"check the key name, or create the key: vault write -f {engine}/keys/{name}"
                    if "not found" in reason else "the ciphertext in the file does not belong to this key")
            raise KeyServiceError(f"Vault key {uri}: could not {what}: {reason}", hint=hint) from None
        except (hexc.VaultDown, hexc.VaultNotInitialized) as exc:
            raise KeyServiceError(f"Vault key {uri}: could not {what}: Vault is sealed or not ready ({_reason(exc)})",
                                  hint="unseal the server or try again later") from None
        except hexc.VaultError as exc:
            raise KeyServiceError(f"Vault key {uri}: could not {what}: {type(exc).__name__} ({_reason(exc)})",
                                  hint="the ciphertext may be damaged or belong to another key") from None
        except rexc.SSLError:
            raise KeyServiceError(f"Vault key {uri}: could not {what}: TLS verification failed",
                                  hint="set VAULT_CACERT to the server's CA bundle") from None
        except rexc.Timeout:
            raise KeyServiceError(f"Vault key {uri}: could not {what}: no answer within {request_timeout():g}s",
                                  hint=f"check the network and the server ({TIMEOUT_ENV} sets the limit)") from None
        except rexc.RequestException as exc:
            raise KeyServiceError(f"Vault key {uri}: could not {what}: the server is unreachable "
                                  f"({type(exc).__name__})",
                                  hint="check the address in the file (vault_address) and that the server "
                                       "is running") from None


def _data(response: Any) -> dict[str, Any]:
    data = response.get("data") if isinstance(response, dict) else None
    return data if isinstance(data, dict) else {}


def _reason(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    text = ", ".join(str(e) for e in errors) if isinstance(errors, list) and errors else str(exc.args[0] if exc.args
                                                                                               else "")
    return " ".join(text.split())[:_MAX_REASON] or type(exc).__name__
