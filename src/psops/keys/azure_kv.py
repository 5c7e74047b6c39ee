"""Azure Key Vault master keys (``sops.azure_kv``), through ``azure-keyvault-keys`` and ``azure-identity``.

A key is named by its URL, ``https://<vault>/keys/<name>[/<version>]`` (sops' regex
``^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$``). A stanza stores ``vault_url``, ``name``, ``version``,
``created_at`` and ``enc``, the **base64url without padding** (Go's ``RawURLEncoding``) of the RSA-OAEP-256
ciphertext of the data key. A URL without a version is resolved to the key's current version when the stanza
is created (``GetKey``), so files always name a concrete version.

Wrapping uses the SDK's CryptographyClient: it fetches the public key and encrypts locally when the caller
may read the key, and asks the vault to encrypt otherwise (the caller only holds ``keys/encrypt``).
Unwrapping always asks the vault to decrypt.

Credentials follow ``DefaultAzureCredential`` (environment service principal, workload identity, managed
identity, Azure CLI ...). When ``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID`` and ``AZURE_CLIENT_SECRET`` are set, a
ClientSecretCredential is built directly; if ``AZURE_AUTHORITY_HOST`` then names a private authority (not a
Microsoft login host) MSAL's instance discovery against login.microsoftonline.com is switched off. TLS uses
the system trust store, or ``REQUESTS_CA_BUNDLE``. The SDK's check that the bearer challenge's resource
belongs to the vault's domain stays on.

Every HTTP request has connect/read timeouts (``PSOPS_AZURE_KV_TIMEOUT`` seconds, default 30) and at most
two retries, so nothing hangs. SDK errors become :class:`~psops.errors.KeyServiceError` naming the key URL,
the vault's reason and a hint. The Azure SDKs are imported on first use only.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from psops.errors import KeyServiceError, PsopsError
from psops.keys.base import KeyStanza
from psops.metadata import now_rfc3339

KIND = "azure_kv"
ALGORITHM = "RSA-OAEP-256"
DEFAULT_TIMEOUT = 30.0
"""Seconds one HTTP request to the vault or the token endpoint may take (``PSOPS_AZURE_KV_TIMEOUT``)."""
RETRIES = 2

_URL_RE = re.compile(r"^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$")
_MICROSOFT_LOGIN_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                          "login.microsoft.com", "login.windows.net", "login.partner.microsoftonline.cn",
                          "login.microsoftonline.de", "sts.windows.net")
_MAX_REASON = 200
_T = TypeVar("_T")


def parse_key_url(url: str) -> tuple[str, str, str]:
    """Split a key URL into (vault_url, name, version); version is '' when absent. PsopsError if invalid."""
    match = _URL_RE.match(url.strip())
    if not match:
        raise PsopsError(f"invalid Azure Key Vault key URL {url.strip()!r}",
                         hint="use https://<vault>.vault.azure.net/keys/<name>[/<version>]")
    version = (match.group(3) or "").lstrip("/")
    return match.group(1), match.group(2), version


def key_url(vault_url: str, name: str, version: str) -> str:
    """``<vault_url>/keys/<name>[/<version>]``."""
    base = f"{vault_url.rstrip('/')}/keys/{name}"
    return f"{base}/{version}" if version else base


def encode_enc(ciphertext: bytes) -> str:
    """base64url without padding, as sops stores Azure ciphertexts."""
    return base64.urlsafe_b64encode(ciphertext).rstrip(b"=").decode("ascii")


def decode_enc(enc: str) -> bytes:
    """Inverse of :func:`encode_enc` (padding tolerated); ValueError when not base64url."""
    text = enc.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


def timeout_setting() -> float:
    """Per-request timeout in seconds from ``PSOPS_AZURE_KV_TIMEOUT`` (default 30)."""
    raw = os.environ.get("PSOPS_AZURE_KV_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise PsopsError(f"PSOPS_AZURE_KV_TIMEOUT={raw!r} is not a number of seconds",
                         hint="use a positive number such as 30")
    return value


def _transport_options(timeout: float) -> dict[str, Any]:
    return {"connection_timeout": min(timeout, 10.0), "read_timeout": timeout, "retry_total": RETRIES,
            "retry_backoff_factor": 0.3, "retry_backoff_max": 2, "timeout": timeout * (RETRIES + 1)}


def make_credential(timeout: float) -> Any:
    """A token credential: ClientSecretCredential from AZURE_* variables, else DefaultAzureCredential."""
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    options = _transport_options(timeout)
    tenant = os.environ.get("AZURE_TENANT_ID", "").strip()
    client = os.environ.get("AZURE_CLIENT_ID", "").strip()
    secret = os.environ.get("AZURE_CLIENT_SECRET", "")
    authority = os.environ.get("AZURE_AUTHORITY_HOST", "").strip()
    if tenant and client and secret:
        if authority:
            options["authority"] = authority
            if (urlparse(authority).hostname or "").lower() not in _MICROSOFT_LOGIN_HOSTS:
                options["disable_instance_discovery"] = True
        return ClientSecretCredential(tenant, client, secret, **options)
    return DefaultAzureCredential(**options)


class AzureKeyVaultService:
    """Wraps data keys with Key Vault RSA keys (RSA-OAEP-256) and unwraps them again."""

    kind = KIND

    def __init__(self, credential: Any = None) -> None:
        """``credential``: an azure-core TokenCredential to use instead of the environment's."""
        self._lock = threading.Lock()
        self._credential = credential
        self._crypto: dict[tuple[str, float], Any] = {}

    # -- protocol ---------------------------------------------------------------------------------------

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Comma-separated key URLs -> recipient stanzas (vault_url, name, version; version may be '')."""
        out: list[KeyStanza] = []
        for item in spec.split(","):
            item = item.strip()
            if item:
                vault_url, name, version = parse_key_url(item)
                out.append(KeyStanza(KIND, {"vault_url": vault_url, "name": name, "version": version}))
        return out

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Encrypt ``data_key`` with RSA-OAEP-256; resolve a missing version first."""
        vault_url, name, version = self._fields(recipient)
        url = key_url(vault_url, name, version)
        what = f"could not encrypt the data key with Azure Key Vault key {url}"
        if not _URL_RE.match(url):
            raise KeyServiceError(f"{what}: not a key URL", hint="use https://<vault>/keys/<name>[/<version>]")
        timeout = timeout_setting()
        options = self._client_options(vault_url, timeout)
        credential = self._get_credential(timeout, what)
        if not version:
            from azure.keyvault.keys import KeyClient

            keys = KeyClient(vault_url, credential, **options)
            key = self._call(what + " (resolving its latest version)", lambda: keys.get_key(name), timeout)
            version = str(key.properties.version or "")
            if not version:
                raise KeyServiceError(f"{what}: the vault returned no version for the key",
                                      hint="give the version in the URL: .../keys/<name>/<version>")
            url = key_url(vault_url, name, version)
            what = f"could not encrypt the data key with Azure Key Vault key {url}"
        from azure.keyvault.keys.crypto import EncryptionAlgorithm

        crypto = self._crypto_client(url, vault_url, timeout, what)
        result = self._call(what, lambda: crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, data_key), timeout)
        return KeyStanza(KIND, {"vault_url": vault_url, "name": name, "version": version,
                                "created_at": now_rfc3339(), "enc": encode_enc(bytes(result.ciphertext))})

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Ask the vault to decrypt ``enc`` (RSA-OAEP-256) with the stanza's key version."""
        vault_url, name, version = self._fields(stanza)
        url = key_url(vault_url, name, version)
        what = f"could not decrypt the data key with Azure Key Vault key {url}"
        if not version or not _URL_RE.match(url):
            raise KeyServiceError(f"{what}: the entry lacks a vault URL, key name or version",
                                  hint="the file's sops metadata is damaged")
        try:
            ciphertext = decode_enc(stanza.enc)
        except ValueError:
            ciphertext = b""
        if not ciphertext:
            raise KeyServiceError(f"{what}: enc is not base64url", hint="the file's sops metadata is damaged")
        timeout = timeout_setting()
        from azure.keyvault.keys.crypto import EncryptionAlgorithm

        crypto = self._crypto_client(url, vault_url, timeout, what)
        result = self._call(what, lambda: crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ciphertext), timeout)
        return bytes(result.plaintext)

    def describe(self, stanza: KeyStanza) -> str:
        """The key URL (with its version when known)."""
        return key_url(*self._fields(stanza))

    def identity(self, stanza: KeyStanza) -> str:
        """``azure_kv:`` plus the key URL."""
        return f"{KIND}:{self.describe(stanza)}"

    # -- internals --------------------------------------------------------------------------------------

    @staticmethod
    def _fields(stanza: KeyStanza) -> tuple[str, str, str]:
        return (str(stanza.fields.get("vault_url", "")).strip().rstrip("/"),
                str(stanza.fields.get("name", "")).strip(),
                str(stanza.fields.get("version", "") or "").strip())

    @staticmethod
    def _client_options(vault_url: str, timeout: float) -> dict[str, Any]:
        return _transport_options(timeout)

    def _crypto_client(self, url: str, vault_url: str, timeout: float, what: str) -> Any:
        """A CryptographyClient for one key version, cached (it keeps the public key and the token)."""
        from azure.keyvault.keys.crypto import CryptographyClient

        credential = self._get_credential(timeout, what)
        with self._lock:
            client = self._crypto.get((url, timeout))
            if client is None:
                client = CryptographyClient(url, credential, **self._client_options(vault_url, timeout))
                self._crypto[(url, timeout)] = client
            return client

    def _get_credential(self, timeout: float, what: str) -> Any:
        with self._lock:
            if self._credential is None:
                try:
                    self._credential = make_credential(timeout)
                except ValueError as exc:
                    raise KeyServiceError(f"{what}: invalid Azure credential settings: {_short(exc)}",
                                          hint="check AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET "
                                               "and AZURE_AUTHORITY_HOST") from None
            return self._credential

    @staticmethod
    def _call(what: str, call: Callable[[], _T], timeout: float) -> _T:
        """Run one SDK call and translate its errors into KeyServiceError."""
        from azure.core import exceptions as aexc

        try:
            return call()
        except aexc.ClientAuthenticationError as exc:
            raise KeyServiceError(f"{what}: authentication failed: {_reason(exc)}",
                                  hint="check the Azure credentials (AZURE_TENANT_ID, AZURE_CLIENT_ID, "
                                       "AZURE_CLIENT_SECRET, managed identity or 'az login')") from None
        except aexc.ResourceNotFoundError as exc:
            raise KeyServiceError(f"{what}: key not found: {_reason(exc)}",
                                  hint="check the vault URL, key name and version") from None
        except aexc.ServiceRequestError as exc:
            raise KeyServiceError(f"{what}: the vault is unreachable: {_short(exc)}",
                                  hint="check the vault URL, DNS, proxy and network; retry later") from None
        except aexc.ServiceResponseError as exc:
            raise KeyServiceError(f"{what}: no complete answer within {timeout:g}s: {_short(exc)}",
                                  hint="check the network; PSOPS_AZURE_KV_TIMEOUT sets the timeout") from None
        except aexc.HttpResponseError as exc:
            raise _map_http(what, exc) from None
        except aexc.AzureError as exc:
            raise KeyServiceError(f"{what}: {_short(exc)}", hint="see the Azure Key Vault documentation") from None
        except ValueError as exc:
            # the SDK raises ValueError for an unusable bearer challenge (e.g. a resource of another domain)
            raise KeyServiceError(f"{what}: {_short(exc)}",
                                  hint="check that the URL points at an Azure Key Vault") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def _error_codes(exc: Any) -> tuple[str, str, str]:
    """(code, inner code, message) of a Key Vault error body, '' where absent."""
    error = getattr(exc, "error", None)
    code = str(getattr(error, "code", "") or "")
    message = str(getattr(error, "message", "") or "")
    inner = getattr(error, "innererror", None)
    inner_code = str(inner.get("code", "")) if isinstance(inner, dict) else ""
    return code, inner_code, message


def _reason(exc: Any) -> str:
    code, inner, message = _error_codes(exc)
    if message:
        label = "/".join(c for c in (code, inner) if c)
        return _short(Exception(f"{label}: {message}" if label else message))
    return _short(Exception(getattr(exc, "message", "") or str(exc)))


def _map_http(what: str, exc: Any) -> KeyServiceError:
    status = getattr(exc, "status_code", None)
    code, inner, _ = _error_codes(exc)
    reason = _reason(exc)
    if status == 403 and "disabled" in (inner + " " + reason).lower():
        return KeyServiceError(f"{what}: the key is disabled: {reason}",
                               hint="enable the key (or this version) in the vault, or use another key of the file")
    if status == 403:
        return KeyServiceError(f"{what}: access denied: {reason}",
                               hint="grant the caller the keys/encrypt and keys/decrypt permissions (access "
                                    "policy), or the 'Key Vault Crypto User' role")
    if status == 400:
        return KeyServiceError(f"{what}: the vault rejected the request: {reason}",
                               hint="enc may be damaged, or the key version is not the one that wrapped it")
    if status == 429:
        return KeyServiceError(f"{what}: throttled by the vault: {reason}", hint="retry later")
    return KeyServiceError(f"{what}: HTTP {status} {code}: {reason}".replace("  ", " "),
                           hint="see the Azure Key Vault documentation for this status")
