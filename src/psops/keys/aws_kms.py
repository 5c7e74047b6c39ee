"""AWS KMS master keys (``sops.kms``), through boto3.

A stanza names a KMS key by ARN (``arn:aws:kms:REGION:ACCOUNT:key/ID`` or an alias ARN
``...:alias/NAME``); the region is the one in the ARN (sops' regex
``^arn:aws[\\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$``). Wrapping calls ``Encrypt(KeyId=arn,
Plaintext=data key, EncryptionContext=context)`` and stores the standard-base64 ``CiphertextBlob`` in
``enc``; unwrapping calls ``Decrypt`` with the same key and context. The fields are written in sops' order:
``arn``, ``role`` (when set), ``context`` (when set; keys sorted on output), ``created_at``, ``enc``,
``aws_profile`` (always, ``""`` when unset).

Credentials are boto3's usual chain (environment, shared config, SSO, ...). ``aws_profile`` selects a
shared-config profile. With ``role`` set, psops first calls STS ``AssumeRole`` with the session name
``sops@<hostname>`` (sanitized and cut as sops does) and uses the temporary credentials. Endpoints can be
redirected with ``AWS_ENDPOINT_URL_KMS`` / ``AWS_ENDPOINT_URL_STS`` (honoured by boto3 and by sops alike).

Every call has bounded connect/read timeouts (10 s each, or ``PSOPS_AWS_KMS_TIMEOUT`` seconds) and at most
:data:`MAX_ATTEMPTS` attempts, so an unreachable endpoint fails within seconds. Service errors become
:class:`~psops.errors.KeyServiceError` naming the ARN, the service's reason and a hint; only "no credentials at
all" is :class:`~psops.errors.NotMine`, so the engine quietly moves on to the next key. ``boto3`` is imported
on first use only.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from psops.errors import KeyServiceError, NotMine
from psops.keys.base import KeyStanza

KIND = "kms"
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a TCP connection to KMS or STS (``PSOPS_AWS_KMS_TIMEOUT`` overrides both timeouts)."""
READ_TIMEOUT = 10.0
"""Seconds to wait for a KMS or STS answer."""
TIMEOUT_ENV = "PSOPS_AWS_KMS_TIMEOUT"
MAX_ATTEMPTS = 2
"""Total attempts per call (botocore's standard retry mode; the first try included)."""

ARN_RE = re.compile(r"^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$")
_SESSION_NAME_STRIP = re.compile(r"[^a-zA-Z0-9=,.@-_]+")  # sops' class; '@-_' is a range, as in Go
_SESSION_NAME_LIMIT = 64

# AWS error code -> (what it means, what to do about it)
_REASONS: dict[str, tuple[str, str]] = {
    "AccessDeniedException": ("access denied", "grant kms:Encrypt/kms:Decrypt on the key to these credentials"),
    "AccessDenied": ("access denied", "check that these credentials may assume the role (sts:AssumeRole)"),
    "UnrecognizedClientException": ("the credentials are not valid", "check AWS_ACCESS_KEY_ID/AWS_PROFILE"),
    "InvalidClientTokenId": ("the credentials are not valid", "check AWS_ACCESS_KEY_ID/AWS_PROFILE"),
    "InvalidSignatureException": ("the request signature was rejected", "check AWS_SECRET_ACCESS_KEY"),
    "ExpiredTokenException": ("the credentials have expired", "refresh them (aws sso login, new session)"),
    "ExpiredToken": ("the credentials have expired", "refresh them (aws sso login, new session)"),
    "DisabledException": ("the key is disabled", "enable the key (aws kms enable-key) or use another key"),
    "KMSInvalidStateException": ("the key is not usable in its current state (pending deletion or import?)",
                                 "cancel the key deletion or use another key"),
    "NotFoundException": ("the key does not exist", "check the ARN, its region and account, or the alias"),
    "InvalidCiphertextException": (
        "the ciphertext does not decrypt with this key and encryption context",
        "the encryption context must be exactly the one used when the file was encrypted",
    ),
    "IncorrectKeyException": ("the data key was encrypted under a different KMS key",
                              "the alias may point to another key now; use the original key's ARN"),
    "InvalidKeyUsageException": ("the key cannot encrypt/decrypt", "use a symmetric ENCRYPT_DECRYPT key"),
    "KeyUnavailableException": ("the key is unavailable right now", "try again later"),
    "KMSInternalException": ("AWS KMS had an internal error", "try again later"),
    "DependencyTimeoutException": ("AWS KMS timed out", "try again later"),
    "ThrottlingException": ("AWS KMS throttled the request", "try again later"),
}


def region_from_arn(arn: str) -> str:
    """The region in a KMS key or alias ARN; KeyServiceError when ``arn`` is not one."""
    m = ARN_RE.match(arn)
    if not m:
        raise KeyServiceError(
            f"no valid AWS KMS ARN found in {arn!r}",
            hint="use arn:aws:kms:REGION:ACCOUNT:key/KEY-ID or arn:aws:kms:REGION:ACCOUNT:alias/NAME",
        )
    return m.group(1)


def role_session_name(hostname: str | None = None) -> str:
    """``sops@<hostname>`` with the characters STS refuses removed, shorter than 64 characters (as sops)."""
    host = socket.gethostname() if hostname is None else hostname
    name = "sops@" + _SESSION_NAME_STRIP.sub("", host)
    return name[: _SESSION_NAME_LIMIT - 1] if len(name) >= _SESSION_NAME_LIMIT else name


def _timeouts() -> tuple[float, float]:
    """(connect, read) timeouts: :data:`TIMEOUT_ENV` when it holds a positive number, else the defaults."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        raise KeyServiceError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    return (value, value) if value > 0 else (CONNECT_TIMEOUT, READ_TIMEOUT)


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _context(stanza: KeyStanza) -> dict[str, str]:
    raw = stanza.fields.get("context")
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise KeyServiceError(f"AWS KMS key {stanza.fields.get('arn', '?')}: the stored context is not a mapping")
    return {str(k): str(v) for k, v in raw.items()}


def _field(stanza: KeyStanza, name: str) -> str:
    value = stanza.fields.get(name)
    return "" if value is None else str(value)


class AwsKmsService:
    """Wraps data keys with AWS KMS Encrypt and unwraps them with Decrypt (boto3)."""

    kind = KIND
    thread_safe = True  # boto3 clients are thread-safe; sessions are built under a lock

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}

    # -- recipients -------------------------------------------------------------------------------------

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Comma-separated ``arn[+role_arn]`` list -> recipient stanzas (no context, no profile)."""
        from psops.policy.config import parse_key_list

        return parse_key_list(KIND, spec)

    def describe(self, stanza: KeyStanza) -> str:
        """The key ARN (with ``+role`` when one is assumed)."""
        arn, role = _field(stanza, "arn") or "?", _field(stanza, "role")
        return f"{arn}+{role}" if role else arn

    def identity(self, stanza: KeyStanza) -> str:
        """``kms:<arn>`` (sops tells KMS keys apart by ARN only)."""
        return "kms:" + _field(stanza, "arn")

    # -- wrap / unwrap ----------------------------------------------------------------------------------

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Encrypt the data key under the KMS key (with the stanza's encryption context)."""
        arn = _field(recipient, "arn")
        role = _field(recipient, "role")
        context = _context(recipient)
        profile = _field(recipient, "aws_profile")
        client = self._client(recipient)
        kwargs: dict[str, Any] = {"KeyId": arn, "Plaintext": data_key}
        if context:
            kwargs["EncryptionContext"] = context
        response = self._call(recipient, "encrypt", client.encrypt, kwargs)
        blob = response.get("CiphertextBlob")
        if not isinstance(blob, bytes | bytearray) or not blob:
            raise KeyServiceError(f"AWS KMS key {arn}: Encrypt returned no ciphertext")
        fields: dict[str, object] = {"arn": arn}
        if role:
            fields["role"] = role
        if context:
            fields["context"] = dict(sorted(context.items()))
        fields["created_at"] = _now_rfc3339()
        fields["enc"] = base64.b64encode(bytes(blob)).decode("ascii")
        fields["aws_profile"] = profile
        return KeyStanza(KIND, fields)

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Decrypt ``enc`` with KMS (same key ARN and encryption context as when it was wrapped)."""
        arn = _field(stanza, "arn")
        try:
            blob = base64.b64decode(stanza.enc.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise KeyServiceError(f"AWS KMS key {arn}: the stored enc is not valid base64",
                                  hint="the file's sops metadata was damaged") from None
        if not blob:
            raise KeyServiceError(f"AWS KMS key {arn}: the stanza holds no wrapped key (empty enc)")
        client = self._client(stanza)
        kwargs: dict[str, Any] = {"CiphertextBlob": blob, "KeyId": arn}
        context = _context(stanza)
        if context:
            kwargs["EncryptionContext"] = context
        response = self._call(stanza, "decrypt", client.decrypt, kwargs)
        plain = response.get("Plaintext")
        if not isinstance(plain, bytes | bytearray) or not plain:
            raise KeyServiceError(f"AWS KMS key {arn}: Decrypt returned no plaintext")
        return bytes(plain)

    # -- plumbing ---------------------------------------------------------------------------------------

    def _client(self, stanza: KeyStanza) -> Any:
        arn = _field(stanza, "arn")
        region = region_from_arn(arn)
        profile = _field(stanza, "aws_profile")
        role = _field(stanza, "role")
        cache_key = (region, profile, role)
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                client = self._new_client(stanza, region, profile, role)
                self._clients[cache_key] = client
        return client

    def _new_client(self, stanza: KeyStanza, region: str, profile: str, role: str) -> Any:
        import boto3
        import botocore.exceptions as bexc
        from botocore.config import Config

        connect, read = _timeouts()
        config = Config(connect_timeout=connect, read_timeout=read,
                        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"})
        try:
            session = boto3.session.Session(profile_name=profile or None, region_name=region)
        except bexc.ProfileNotFound:
            raise KeyServiceError(f"AWS KMS key {self.describe(stanza)}: AWS profile {profile!r} is not configured",
                                  hint="define it in ~/.aws/config or ~/.aws/credentials, "
                                       "or remove aws_profile") from None
        if role:
            sts = session.client("sts", region_name=region, config=config)
            response = self._call(stanza, "assume the role", sts.assume_role,
                                  {"RoleArn": role, "RoleSessionName": role_session_name()})
            creds = response["Credentials"]
            session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                            aws_secret_access_key=creds["SecretAccessKey"],
                                            aws_session_token=creds["SessionToken"], region_name=region)
        return session.client("kms", region_name=region, config=config)

    def _call(self, stanza: KeyStanza, what: str, method: Any, kwargs: dict[str, Any]) -> Any:
        """Run one boto3 call; turn every botocore failure into NotMine or a one-line KeyServiceError."""
        import botocore.exceptions as bexc

        name = self.describe(stanza)
        try:
            return method(**kwargs)
        except bexc.NoCredentialsError:
            raise NotMine("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                          "AWS_SECRET_ACCESS_KEY, or log in with aws sso login)") from None
        except bexc.ClientError as exc:
            error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
            code = str(error.get("Code", "") or "Unknown")
            message = " ".join(str(error.get("Message", "") or "").split())[:300]
            reason, hint = _REASONS.get(code, (f"AWS KMS refused the request ({code})",
                                               "see the AWS error message above"))
            detail = f"{code}: {message}" if message else code
            raise KeyServiceError(f"AWS KMS key {name}: could not {what}: {reason} ({detail})",
                                  hint=hint) from None
        except (bexc.EndpointConnectionError, bexc.ConnectTimeoutError, bexc.ReadTimeoutError,
                bexc.ConnectionClosedError, bexc.ProxyConnectionError) as exc:
            raise KeyServiceError(
                f"AWS KMS key {name}: could not {what}: the service is unreachable ({type(exc).__name__}: "
                f"{_endpoint_of(exc)})",
                hint="check the network, the region in the ARN and AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL_STS",
            ) from None
        except (bexc.PartialCredentialsError, bexc.CredentialRetrievalError) as exc:
            raise KeyServiceError(f"AWS KMS key {name}: could not {what}: the AWS credentials are incomplete "
                                  f"({type(exc).__name__})",
                                  hint="check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile") from None
        except bexc.BotoCoreError as exc:
            raise KeyServiceError(f"AWS KMS key {name}: could not {what}: {type(exc).__name__}",
                                  hint="check the AWS configuration (region, profile, endpoint)") from None


def _endpoint_of(exc: BaseException) -> str:
    kwargs = getattr(exc, "kwargs", {}) or {}
    url = kwargs.get("endpoint_url") or ""
    return str(url) if url else "no answer"
