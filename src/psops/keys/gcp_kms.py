"""GCP Cloud KMS master keys (``sops.gcp_kms``), through ``google-cloud-kms`` over gRPC.

A stanza is ``resource_id`` (``projects/P/locations/L/keyRings/R/cryptoKeys/K``), ``created_at`` and ``enc``,
the **standard base64** of the ciphertext that ``Encrypt(name=resource_id, plaintext=data_key)`` returns (no
additional authenticated data, as sops). Unwrapping calls ``Decrypt(name=resource_id, ciphertext=...)``.
Both calls send CRC32C checksums and verify the ones the service returns, so a corrupted reply is caught.

Credentials, in sops' order: ``GOOGLE_CREDENTIALS`` (a file path when such a file exists, else the JSON
itself), ``GOOGLE_OAUTH_ACCESS_TOKEN`` (a bare OAuth access token), else Application Default Credentials,
which read ``GOOGLE_APPLICATION_CREDENTIALS`` first. The quota project is the project of the resource id.

``SOPS_GCP_KMS_ENDPOINT=host:port`` points the client at another gRPC endpoint (TLS, system roots or
``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``). ``PSOPS_GCP_KMS_INSECURE=1`` additionally allows a plaintext endpoint
on a loopback address only (gRPC local credentials: credentials still travel as call metadata, gRPC refuses
any non-local peer); it exists for local stand-ins such as the test suite's server.

Every call has a deadline (``PSOPS_GCP_KMS_TIMEOUT`` seconds, default 30) and is retried at most twice, and
only when the service is unavailable, so nothing hangs. gRPC status codes become
:class:`~psops.errors.KeyServiceError` naming the key, the service's reason and a hint.
``google.cloud.kms`` and ``grpc`` are imported on first use only.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from psops.errors import KeyServiceError, PsopsError
from psops.keys.base import KeyStanza
from psops.metadata import now_rfc3339

KIND = "gcp_kms"
DEFAULT_TIMEOUT = 30.0
"""Seconds one KMS call may take (``PSOPS_GCP_KMS_TIMEOUT`` overrides)."""
RETRY_DELAYS = (0.25, 0.75)
"""Pauses before the second and third attempt of a call that failed with UNAVAILABLE."""
SCOPES = ("https://www.googleapis.com/auth/cloudkms",)
DEFAULT_ENDPOINT = "cloudkms.googleapis.com:443"

_RESOURCE_RE = re.compile(r"^projects/([^/]+)/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
_LOOPBACK_NAMES = ("localhost", "ip6-localhost")
_MAX_REASON = 200
_T = TypeVar("_T")


@dataclass(frozen=True)
class ClientSettings:
    """Where and how the KMS client connects, read from the environment."""

    endpoint: str
    insecure: bool
    timeout: float


def client_settings() -> ClientSettings:
    """Endpoint, plaintext-loopback switch and per-call timeout from ``SOPS_GCP_KMS_ENDPOINT`` and friends."""
    endpoint = os.environ.get("SOPS_GCP_KMS_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
    insecure = os.environ.get("PSOPS_GCP_KMS_INSECURE", "").strip().lower() in ("1", "true", "yes")
    raw = os.environ.get("PSOPS_GCP_KMS_TIMEOUT", "").strip()
    try:
        timeout = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 3600:
        raise PsopsError(f"PSOPS_GCP_KMS_TIMEOUT={raw!r} is not a number of seconds",
                         hint="use a positive number such as 30")
    if insecure and not _is_loopback(endpoint):
        raise PsopsError(f"PSOPS_GCP_KMS_INSECURE is set but SOPS_GCP_KMS_ENDPOINT {endpoint!r} is not a "
                         "loopback address", hint="plaintext gRPC is only allowed to 127.0.0.1, ::1 or localhost")
    return ClientSettings(endpoint, insecure, timeout)


def _is_loopback(endpoint: str) -> bool:
    host = endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 or endpoint.startswith("[") else endpoint
    host = host.strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_resource_id(resource_id: str) -> str:
    """Return the project of ``projects/P/locations/L/keyRings/R/cryptoKeys/K``; PsopsError otherwise."""
    match = _RESOURCE_RE.match(resource_id)
    if not match:
        raise PsopsError(f"invalid GCP KMS resource id {resource_id!r}",
                         hint="use projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>")
    return match.group(1)


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``, the checksum Cloud KMS uses for integrity checks."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # e.g. inline JSON longer than a file name may be
        return False


def _credentials_from_info(info: object, source: str) -> Any:
    """google-auth credentials from a parsed credentials JSON (service account, authorized user, ...)."""
    import warnings

    import google.auth
    import google.oauth2.credentials
    import google.oauth2.service_account

    if not isinstance(info, dict):
        raise KeyServiceError(f"{source} does not hold a JSON object",
                              hint="use a service-account key file (or its JSON text)")
    kind = info.get("type")
    try:
        if kind == "service_account":
            return google.oauth2.service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES))
        if kind == "authorized_user":
            return google.oauth2.credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES))
        with warnings.catch_warnings():
            # the user's own configuration, trusted as sops trusts it (external accounts, impersonation ...)
            warnings.simplefilter("ignore", DeprecationWarning)
            creds, _ = google.auth.load_credentials_from_dict(info, scopes=list(SCOPES))  # type: ignore[no-untyped-call]
        return creds
    except ValueError as exc:
        raise KeyServiceError(f"{source} holds unusable {kind or 'untyped'} credentials: {_short(exc)}",
                              hint="download a fresh key file, or use GOOGLE_OAUTH_ACCESS_TOKEN") from None


def _credentials_from_file(path: str, source: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyServiceError(f"cannot read {source} file {path}: {exc.strerror}",
                              hint="check the path and its permissions") from None
    try:
        info = json.loads(text)
    except ValueError:
        raise KeyServiceError(f"{source} file {path} is not JSON",
                              hint="use a service-account key file downloaded from the console") from None
    return _credentials_from_info(info, f"{source} file {path}")


def load_credentials() -> Any:
    """google-auth credentials from GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, else ADC."""
    import google.auth
    import google.auth.exceptions
    import google.oauth2.credentials

    raw = os.environ.get("GOOGLE_CREDENTIALS", "").strip()
    try:
        if raw:
            if _is_file(raw):
                return _credentials_from_file(raw, "GOOGLE_CREDENTIALS")
            try:
                info = json.loads(raw)
            except ValueError:
                raise KeyServiceError("GOOGLE_CREDENTIALS is neither an existing file nor JSON credentials",
                                      hint="set it to a service-account key file path or its JSON text") from None
            return _credentials_from_info(info, "GOOGLE_CREDENTIALS")
        token = os.environ.get("GOOGLE_OAUTH_ACCESS_TOKEN", "").strip()
        if token:
            return google.oauth2.credentials.Credentials(token=token)  # type: ignore[no-untyped-call]
        gac = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
        if gac:
            if not _is_file(gac):
                raise KeyServiceError(f"GOOGLE_APPLICATION_CREDENTIALS names {gac}, which is not a file",
                                      hint="point it at a service-account key file, or unset it")
            return _credentials_from_file(gac, "GOOGLE_APPLICATION_CREDENTIALS")
        creds, _ = google.auth.default(scopes=list(SCOPES))
        return creds
    except google.auth.exceptions.GoogleAuthError as exc:
        raise KeyServiceError(f"no usable Google credentials: {_short(exc)}",
                              hint="set GOOGLE_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS or "
                                   "GOOGLE_OAUTH_ACCESS_TOKEN, or run 'gcloud auth application-default login'"
                              ) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


class GcpKmsService:
    """Wraps data keys with Cloud KMS CryptoKeys and unwraps them again."""

    kind = KIND

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[ClientSettings, str], Any] = {}

    # -- protocol ---------------------------------------------------------------------------------------

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Comma-separated resource ids -> recipient stanzas (spaces removed, empty items dropped)."""
        out: list[KeyStanza] = []
        for item in spec.replace(" ", "").split(","):
            if item:
                validate_resource_id(item)
                out.append(KeyStanza(KIND, {"resource_id": item}))
        return out

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Encrypt ``data_key`` with the CryptoKey; return (resource_id, created_at, enc)."""
        resource_id = self.describe(recipient)
        project = validate_resource_id(resource_id)
        what = f"could not encrypt the data key with GCP KMS key {resource_id}"
        client = self._client(project, what)
        response = self._call(what, lambda timeout: client.encrypt(
            request={"name": resource_id, "plaintext": data_key, "plaintext_crc32c": crc32c(data_key)},
            retry=None, timeout=timeout))
        ciphertext = bytes(response.ciphertext)
        if not response.verified_plaintext_crc32c or (
            response.ciphertext_crc32c is not None and int(response.ciphertext_crc32c) != crc32c(ciphertext)
        ):
            raise KeyServiceError(f"{what}: the reply failed its integrity check (CRC32C)",
                                  hint="the request or reply was corrupted in transit; retry")
        enc = base64.b64encode(ciphertext).decode("ascii")
        return KeyStanza(KIND, {"resource_id": resource_id, "created_at": now_rfc3339(), "enc": enc})

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Decrypt ``enc`` with the CryptoKey named by ``resource_id``."""
        resource_id = self.describe(stanza)
        what = f"could not decrypt the data key with GCP KMS key {resource_id}"
        match = _RESOURCE_RE.match(resource_id)
        if not match:
            raise KeyServiceError(f"{what}: the resource id is not a CryptoKey name",
                                  hint="the file's sops metadata is damaged")
        try:
            ciphertext = base64.b64decode(stanza.enc, validate=True)
        except (binascii.Error, ValueError):
            ciphertext = b""
        if not ciphertext:
            raise KeyServiceError(f"{what}: enc is not standard base64", hint="the file's sops metadata is damaged")
        client = self._client(match.group(1), what)
        response = self._call(what, lambda timeout: client.decrypt(
            request={"name": resource_id, "ciphertext": ciphertext, "ciphertext_crc32c": crc32c(ciphertext)},
            retry=None, timeout=timeout))
        plaintext = bytes(response.plaintext)
        if response.plaintext_crc32c is not None and int(response.plaintext_crc32c) != crc32c(plaintext):
            raise KeyServiceError(f"{what}: the reply failed its integrity check (CRC32C)",
                                  hint="the reply was corrupted in transit; retry")
        return plaintext

    def describe(self, stanza: KeyStanza) -> str:
        """The resource id."""
        return str(stanza.fields.get("resource_id", "")).replace(" ", "")

    def identity(self, stanza: KeyStanza) -> str:
        """``gcp_kms:`` plus the resource id."""
        return f"{KIND}:{self.describe(stanza)}"

    # -- internals --------------------------------------------------------------------------------------

    def _client(self, project: str, what: str) -> Any:
        """A KMS client for the current settings and the key's quota project (cached)."""
        settings = client_settings()
        with self._lock:
            client = self._clients.get((settings, project))
            if client is None:
                client = self._make_client(settings, project, what)
                self._clients[(settings, project)] = client
            return client

    @staticmethod
    def _make_client(settings: ClientSettings, project: str, what: str) -> Any:
        import grpc  # type: ignore[import-untyped]
        from google.cloud import kms_v1
        from google.cloud.kms_v1.services.key_management_service.transports import (
            KeyManagementServiceGrpcTransport,
        )

        try:
            creds = load_credentials()
        except KeyServiceError as exc:
            raise KeyServiceError(f"{what}: {exc.message}", hint=exc.hint) from None
        if hasattr(creds, "with_quota_project"):
            creds = creds.with_quota_project(project)
        if hasattr(creds, "with_always_use_jwt_access"):
            creds = creds.with_always_use_jwt_access(True)
        channel_creds = (grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
                         if settings.insecure else grpc.ssl_channel_credentials())
        transport = KeyManagementServiceGrpcTransport(host=settings.endpoint, credentials=creds,
                                                      ssl_channel_credentials=channel_creds)
        return kms_v1.KeyManagementServiceClient(transport=transport)

    def _call(self, what: str, call: Callable[[float], _T]) -> _T:
        """Run one KMS call with a deadline, retrying only UNAVAILABLE, and translate its errors."""
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc

        settings = client_settings()
        for attempt in range(len(RETRY_DELAYS) + 1):
            try:
                return call(settings.timeout)
            except gexc.ServiceUnavailable as exc:
                if attempt < len(RETRY_DELAYS):
                    time.sleep(RETRY_DELAYS[attempt])
                    continue
                raise KeyServiceError(
                    f"{what}: the service at {settings.endpoint} is unreachable (UNAVAILABLE: {_reason(exc)})",
                    hint="check the network and SOPS_GCP_KMS_ENDPOINT; retry later") from None
            except gexc.GoogleAPICallError as exc:
                raise _map_status(what, exc, settings) from None
            except auth_exc.GoogleAuthError as exc:
                raise KeyServiceError(f"{what}: could not get a Google access token: {_short(exc)}",
                                      hint="refresh the credentials (GOOGLE_CREDENTIALS, "
                                           "GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN)") from None
        raise AssertionError("unreachable")  # pragma: no cover


def _reason(exc: Any) -> str:
    message = getattr(exc, "message", "") or str(exc)
    return _short(Exception(message))


def _map_status(what: str, exc: Any, settings: ClientSettings) -> KeyServiceError:
    """One KeyServiceError per gRPC status, with the service's own reason and a hint."""
    from google.api_core import exceptions as gexc

    reason = _reason(exc)
    table: list[tuple[type[Any], str, str]] = [
        (gexc.PermissionDenied, "access denied (PERMISSION_DENIED)",
         "grant the caller roles/cloudkms.cryptoKeyEncrypterDecrypter on the key"),
        (gexc.Unauthenticated, "the credentials were rejected (UNAUTHENTICATED)",
         "refresh the credentials (GOOGLE_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN)"),
        (gexc.NotFound, "key not found (NOT_FOUND)",
         "check the resource id: projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>"),
        (gexc.FailedPrecondition, "the key cannot be used (FAILED_PRECONDITION: disabled or destroyed version?)",
         "enable the key version (gcloud kms keys versions enable) or restore it"),
        (gexc.InvalidArgument, "the service rejected the request (INVALID_ARGUMENT)",
         "enc may be damaged, or was made by another key; check the resource id"),
        (gexc.DeadlineExceeded, f"no answer within {settings.timeout:g}s (DEADLINE_EXCEEDED)",
         "check the network and SOPS_GCP_KMS_ENDPOINT; PSOPS_GCP_KMS_TIMEOUT sets the deadline"),
        (gexc.ResourceExhausted, "quota exceeded (RESOURCE_EXHAUSTED)", "retry later or raise the KMS quota"),
    ]
    for cls, label, hint in table:
        if isinstance(exc, cls):
            return KeyServiceError(f"{what}: {label}: {reason}", hint=hint)
    code = getattr(getattr(exc, "grpc_status_code", None), "name", None) or type(exc).__name__
    return KeyServiceError(f"{what}: {code}: {reason}", hint="see the Cloud KMS documentation for this status")
