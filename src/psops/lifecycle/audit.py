"""The audit trail: one JSON record per operation on an encrypted file, to a file and/or syslog.

Opt-in with a top-level ``audit:`` section in ``.sops-policy.yaml`` (read from whichever config applies to
the file)::

    audit:
      file: audit/psops.jsonl      # appended, one JSON object per line; relative to the config's folder
      syslog: true                 # or {address: /dev/log | HOST:PORT | /path/to/socket, facility: auth}

A record names the time (UTC), user, host, file (absolute path), operation (decrypt, encrypt, edit, rotate,
updatekeys ...), the master keys that unwrapped the data key (kind and public identity: an age recipient, a
PGP fingerprint, a KMS ARN -- never a secret), the outcome (``ok``, ``error``, ``interrupted``) and, for
errors, the error class and exit code. Values, data keys and identities never appear: records are built only
from these fields, and error messages are left out (they may quote file content paths, never needed here).

:func:`audited` wraps one operation: it opens the sinks *before* the work (a trail that cannot be written
stops the operation, exit 80), collects the keys that unwrapped the data key through
:func:`psops.engine.unwrapped_by`, and writes the record in a ``finally`` block, so every error path and an
interrupt are recorded too. A sink is one :class:`AuditSink` (a Protocol); :class:`FileSink` and
:class:`SyslogSink` are the two built in.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from psops.engine import unwrapped_by
from psops.errors import AuditError, PolicyError, PsopsError
from psops.keys.base import KeyStanza
from psops.policy import Config, discover_config, key_identity

# made here, at import (under the import lock), before any audit scope can set it
_UNWRAPPED_BY = unwrapped_by()

AUDIT_KEY = "audit"
DEFAULT_SYSLOG_ADDRESS = "/dev/log"
_FACILITIES = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "syslog": 5, "authpriv": 10,
               **{f"local{i}": 16 + i for i in range(8)}}
_INFO, _ERR = 6, 3


@dataclass
class AuditRecord:
    """One audited operation. Only public facts: no value, data key or identity is ever stored here."""

    time: str
    user: str
    host: str
    file: str
    operation: str
    outcome: str = "ok"
    unwrapped_by: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The record as one line of JSON (keys in field order)."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=False)

    def set_keys(self, stanzas: list[KeyStanza]) -> None:
        """Record the master keys that unwrapped the data key (kind and public identity only)."""
        self.unwrapped_by = [{"kind": s.kind, "key": key_identity(s)} for s in stanzas]


class AuditSink(Protocol):
    """Where audit records go. ``write`` must raise :class:`AuditError` when the record is not stored."""

    def write(self, record: AuditRecord) -> None:
        """Store one record."""
        ...

    def close(self) -> None:
        """Release the sink."""
        ...


class FileSink:
    """Appends records as JSON lines to a file (created 0600), one locked ``write`` per record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise AuditError(f"cannot open the audit log: {exc.strerror}", path=str(path),
                             hint="fix the audit.file path or its permissions in .sops-policy.yaml") from None

    def write(self, record: AuditRecord) -> None:
        """Append one line under an exclusive lock (several psops processes may share the log)."""
        if self._fd is None:
            raise AuditError("the audit log was closed", path=str(self.path))
        line = (record.to_json() + "\n").encode()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fsync(self._fd)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log: {exc.strerror}", path=str(self.path)) from None

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class SyslogSink:
    """Sends records to syslog (RFC 3164 framing, message = the JSON record) over a datagram socket.

    ``address`` is a Unix socket path (default ``/dev/log``) or ``HOST:PORT`` for UDP."""

    def __init__(self, address: str = DEFAULT_SYSLOG_ADDRESS, facility: str = "auth") -> None:
        self.address = address
        self.facility = _FACILITIES[facility]
        try:
            if address.startswith("/"):
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.connect(address)
            else:
                host, _, port = address.rpartition(":")
                self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
                self._sock.connect((host.strip("[]"), int(port)))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise AuditError(f"cannot reach syslog at {address}: {reason}",
                             hint="start a syslog daemon or set audit.syslog.address in .sops-policy.yaml") from None

    def write(self, record: AuditRecord) -> None:
        """Send one datagram: ``<PRI>TIMESTAMP HOST psops[PID]: JSON``."""
        severity = _INFO if record.outcome == "ok" else _ERR
        stamp = datetime.now().strftime("%b %d %H:%M:%S")  # syslog wants local time
        message = f"<{self.facility * 8 + severity}>{stamp} {record.host} psops[{os.getpid()}]: {record.to_json()}"
        try:
            self._sock.send(message.encode())
        except OSError as exc:
            raise AuditError(f"cannot send to syslog at {self.address}: {exc.strerror}") from None

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


@dataclass(frozen=True)
class AuditSettings:
    """The parsed ``audit:`` section: a log file and/or syslog."""

    file: Path | None = None
    syslog: bool = False
    syslog_address: str = DEFAULT_SYSLOG_ADDRESS
    syslog_facility: str = "auth"

    def open_sinks(self) -> list[AuditSink]:
        """Open every configured sink (AuditError when one cannot be opened)."""
        sinks: list[AuditSink] = []
        try:
            if self.file is not None:
                sinks.append(FileSink(self.file))
            if self.syslog:
                sinks.append(SyslogSink(self.syslog_address, self.syslog_facility))
        except AuditError:
            for sink in sinks:
                sink.close()
            raise
        return sinks


def audit_settings(config: Config | None) -> AuditSettings | None:
    """The audit settings of a config (None when it has no ``audit:`` section); PolicyError when malformed."""
    if config is None or config.raw.get(AUDIT_KEY) is None:
        return None
    raw = config.raw[AUDIT_KEY]
    where = str(config.path)
    if not isinstance(raw, dict):
        raise PolicyError("audit: must be a mapping with 'file' and/or 'syslog'", path=where)
    unknown = sorted(set(map(str, raw)) - {"file", "syslog"})
    if unknown:
        raise PolicyError(f"audit: unknown setting {unknown[0]!r}", path=where,
                          hint="use audit.file and/or audit.syslog")
    file_value = raw.get("file")
    log_file: Path | None = None
    if file_value not in (None, ""):
        if not isinstance(file_value, str):
            raise PolicyError("audit.file must be a path", path=where)
        log_file = Path(config.directory) / os.path.expanduser(file_value)
    syslog_value = raw.get("syslog")
    address, facility, enabled = DEFAULT_SYSLOG_ADDRESS, "auth", False
    if isinstance(syslog_value, bool):
        enabled = syslog_value
    elif isinstance(syslog_value, dict):
        enabled = True
        address = str(syslog_value.get("address") or DEFAULT_SYSLOG_ADDRESS)
        facility = str(syslog_value.get("facility") or "auth")
        if facility not in _FACILITIES:
            raise PolicyError(f"audit.syslog.facility {facility!r} is unknown", path=where,
                              hint="use auth, authpriv, user, daemon or local0..local7")
    elif syslog_value is not None:
        raise PolicyError("audit.syslog must be true, false or a mapping {address, facility}", path=where)
    if log_file is None and not enabled:
        return None
    return AuditSettings(file=log_file, syslog=enabled, syslog_address=address, syslog_facility=facility)


def settings_for(path: str, config: str | Path | None = None) -> AuditSettings | None:
    """The audit settings that apply to ``path`` (the config psops would use for it); None when off."""
    return audit_settings(discover_config(Path(path) if path != "-" else None, explicit=config,
                                          creation_rules=False))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def new_record(operation: str, path: str, now: datetime | None = None) -> AuditRecord:
    """A record for ``operation`` on ``path`` with time, user and host filled in."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return AuditRecord(time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), user=_user(), host=socket.gethostname(),
                       file=path if path == "-" else os.path.abspath(path), operation=operation)


@contextlib.contextmanager
def audited(operation: str, path: str, *, config: str | Path | None = None,
            settings: AuditSettings | bool | None = True) -> Iterator[AuditRecord]:
    """Record ``operation`` on ``path`` in the audit trail configured for it (no-op when none is configured).

    ``settings=True`` (the default) looks the settings up from the config that applies to ``path``; pass an
    :class:`AuditSettings` (or None for "off") when the caller knows them. The sinks are opened first: when
    one cannot be opened the operation does not run (AuditError). The record is written in ``finally``.
    """
    resolved = settings_for(path, config) if settings is True else settings
    if resolved is None or resolved is False:
        yield new_record(operation, path)
        return
    assert isinstance(resolved, AuditSettings)
    sinks = resolved.open_sinks()
    record = new_record(operation, path)
    used: list[KeyStanza] = []
    token = _UNWRAPPED_BY.set(used)
    try:
        yield record
    except PsopsError as exc:
        record.outcome, record.error, record.exit_code = "error", type(exc).__name__, exc.exit_code
        raise
    except KeyboardInterrupt:
        record.outcome, record.error, record.exit_code = "interrupted", "KeyboardInterrupt", 85
        raise
    except BaseException as exc:
        record.outcome, record.error, record.exit_code = "error", type(exc).__name__, 1
        raise
    finally:
        _UNWRAPPED_BY.reset(token)
        if used and not record.unwrapped_by:
            record.set_keys(used)
        _write_all(sinks, record)


def _write_all(sinks: list[AuditSink], record: AuditRecord) -> None:
    failure: AuditError | None = None
    for sink in sinks:
        try:
            sink.write(record)
        except AuditError as exc:
            failure = failure or exc
        finally:
            sink.close()
    if failure is not None:
        raise failure


__all__ = ["AUDIT_KEY", "AuditRecord", "AuditSettings", "AuditSink", "FileSink", "SyslogSink", "audit_settings",
           "audited", "new_record", "settings_for"]
