"""PGP master keys (``sops.pgp``), through python-gnupg driving the real ``gpg`` binary.

``enc`` is an ASCII-armored OpenPGP message, public-key-encrypted to the key ``fp`` and holding the raw data
key (32 bytes, or a 33-byte Shamir share) as its literal data. It is stored without a trailing newline, as
sops trims gpg's output. Wrapping runs the equivalent of sops' fallback path
(``gpg --no-default-recipient --yes --encrypt -a -r FP --no-encrypt-to``, trusting the key for this run);
unwrapping runs ``gpg -d`` with the armor on stdin. ``GNUPGHOME`` (default ``~/.gnupg``) selects the GnuPG
home and ``SOPS_GPG_EXEC`` (default ``gpg``) the binary. Key material only ever travels through pipes.

``gnupg`` is imported lazily, so reading a file with only age keys never loads it. Every gpg process runs
under a watchdog that kills it after :data:`DEFAULT_TIMEOUT` seconds (python-gnupg has no timeout of its own).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psops.errors import KeyServiceError, NotMine
from psops.keys.base import KeyStanza

KIND = "pgp"
DEFAULT_TIMEOUT = 120.0
"""Seconds a single gpg process may run (generous: gpg-agent may be showing a pinentry to the user)."""

_ARMOR_BEGIN = "-----BEGIN PGP MESSAGE-----"
_HEX_FP = re.compile(r"[0-9A-Fa-f]+!?")
_MAX_REASON = 160
# Informational lines gpg prints on stderr that never explain a failure.
_NOISE = ("encrypted with", "WARNING", "Note:", "checking the trustdb", "marginals needed", "depth:",
          "next trustdb check", "invalid radix64 character", "keybox", "trustdb created")
# Lines that explain a failure best, most specific first.
_REASON_MARKERS = ("public key decryption failed", "skipped:", "no valid OpenPGP data", "Fatal:",
                   "failed", "error", "invalid", "not ")


def gnupg_home() -> Path:
    """The GnuPG home sops uses: ``$GNUPGHOME``, else ``~/.gnupg``."""
    value = os.environ.get("GNUPGHOME", "")
    return Path(value).expanduser() if value else Path.home() / ".gnupg"


def gpg_binary() -> str:
    """The gpg executable sops runs: ``$SOPS_GPG_EXEC``, else ``gpg``."""
    return os.environ.get("SOPS_GPG_EXEC", "") or "gpg"


def normalize_fingerprint(text: str) -> str:
    """Remove spaces; upper-case a hex fingerprint or key ID (a trailing ``!`` is kept), keep other specs."""
    fp = "".join(text.split())
    return fp.upper() if _HEX_FP.fullmatch(fp) else fp


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _GpgRun:
    """The outcome of one gpg operation."""

    ok: bool
    returncode: int | None
    data: bytes
    status: list[tuple[str, str]]
    reason: str


@dataclass
class _Watch:
    """Watchdog settings shared by the gpg processes of one operation, and whether it had to kill one."""

    timeout: float
    fired: bool = False

    def expire(self, proc: Any) -> None:
        """Kill ``proc`` (a gpg process that ran too long)."""
        self.fired = True
        with contextlib.suppress(OSError):
            proc.kill()


@functools.cache
def _guarded_gpg_class() -> Any:
    """python-gnupg's GPG with a watchdog on every gpg process it starts (built on first use)."""
    import gnupg

    class GuardedGPG(gnupg.GPG):  # type: ignore[misc]
        """A GPG wrapper that kills any gpg process still running after the watch's timeout."""

        def __init__(self, *, psops_watch: _Watch, **kwargs: Any) -> None:
            self.psops_watch = psops_watch
            super().__init__(**kwargs)

        def _open_subprocess(self, args: Any, passphrase: bool = False) -> Any:
            proc = super()._open_subprocess(args, passphrase)
            timer = threading.Timer(self.psops_watch.timeout, self.psops_watch.expire, (proc,))
            timer.daemon = True
            timer.start()
            proc.psops_timer = timer
            return proc

        def _collect_output(self, process: Any, result: Any, writer: Any = None, stdin: Any = None) -> Any:
            try:
                return super()._collect_output(process, result, writer, stdin)
            finally:
                timer = getattr(process, "psops_timer", None)
                if timer is not None:
                    timer.cancel()

    return GuardedGPG


def _parse_stderr(stderr: str) -> tuple[list[tuple[str, str]], str]:
    """Split gpg's stderr into ``[GNUPG:]`` status entries and one short human-readable reason line."""
    status: list[tuple[str, str]] = []
    human: list[str] = []
    for raw in stderr.splitlines():
        # python-gnupg decodes as Latin-1; gpg writes UTF-8 in most locales.
        line = raw.encode("latin-1", "replace").decode("utf-8", "replace").strip()
        if line.startswith("[GNUPG:] "):
            keyword, _, value = line[9:].partition(" ")
            status.append((keyword, value.strip()))
        elif line.startswith("gpg: "):
            text = line[5:].strip()
            if text and not any(n in text for n in _NOISE):
                human.append(text)
    reason = ""
    for marker in _REASON_MARKERS:
        reason = next((h for h in human if marker.lower() in h.lower()), "")
        if reason:
            break
    if not reason and human:
        reason = human[-1]
    if not reason:
        failures = [f"{k} {v}".strip() for k, v in status if k in ("FAILURE", "ERROR", "NODATA", "INV_RECP")]
        reason = failures[0] if failures else ""
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 3] + "..."
    return status, reason


class PgpService:
    """Wraps data keys to OpenPGP keys and unwraps them with the secret keys of the GnuPG home."""

    kind = KIND

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    # -- protocol ---------------------------------------------------------------------------------------

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Comma-separated fingerprints -> recipient stanzas; items trimmed, empty ones dropped."""
        out: list[KeyStanza] = []
        for item in spec.split(","):
            fp = normalize_fingerprint(item)
            if fp:
                out.append(KeyStanza(KIND, {"fp": fp}))
        return out

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Encrypt ``data_key`` to the recipient's fingerprint with gpg; return (created_at, enc, fp)."""
        fp = self._fingerprint(recipient)
        home = gnupg_home()
        what = f"could not encrypt the data key to pgp key {fp}"
        if not home.is_dir():
            raise KeyServiceError(f"{what}: GnuPG home {home} does not exist",
                                  hint="set GNUPGHOME to the GnuPG home holding the public key")
        run = self._run(
            home, what,
            lambda gpg: gpg.encrypt(data_key, [fp], armor=True, always_trust=True,
                                    extra_args=["--no-default-recipient", "--yes", "--no-encrypt-to"]),
        )
        armor = run.data.decode("ascii", "replace").replace("\r\n", "\n").strip()
        if not (run.ok and run.returncode == 0 and armor.startswith(_ARMOR_BEGIN)):
            invalid = [v.split(" ", 1)[0] for k, v in run.status if k == "INV_RECP"]
            if "1" in invalid:  # INV_RECP 1 = not found
                hint = f"import the public key into {home} (gpg --import) or check the fingerprint"
            elif invalid:
                hint = ("the key cannot encrypt (expired, revoked or without an encryption subkey; "
                        "a trailing '!' selects exactly that key or subkey)")
            else:
                hint = f"check that gpg can encrypt to this key: gpg --homedir {home} -e -r {fp}"
            raise KeyServiceError(f"{what}: gpg: {run.reason or 'no output'}", hint=hint)
        return KeyStanza(KIND, {"created_at": _now_rfc3339(), "enc": armor, "fp": fp})

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Decrypt the stanza's armored message with ``gpg -d``; NotMine when no secret key fits."""
        fp = self.describe(stanza)
        what = f"could not decrypt the data key with pgp key {fp}"
        armor = stanza.enc
        if not armor.strip():
            raise KeyServiceError(f"{what}: the entry has no enc", hint="the file's sops metadata is damaged")
        home = gnupg_home()
        if not home.is_dir():
            raise NotMine(f"no secret key for pgp key {fp}: GnuPG home {home} does not exist (set GNUPGHOME)")
        run = self._run(home, what, lambda gpg: gpg.decrypt(armor.encode("utf-8")))
        if run.ok and run.returncode == 0 and run.data:
            return run.data
        keywords = {k for k, _ in run.status}
        key_failed = any(k == "ERROR" and v.startswith("pkdecrypt_failed") for k, v in run.status)
        if "NO_SECKEY" in keywords and not key_failed:
            raise NotMine(f"no secret key for pgp key {fp} in GnuPG home {home} "
                          f"(gpg: {run.reason or 'no secret key'})")
        if key_failed or keywords & {"NEED_PASSPHRASE", "PINENTRY_LAUNCHED", "MISSING_PASSPHRASE"}:
            hint = "the secret key could not be used: unlock it in gpg-agent (e.g. run gpg -d once) and retry"
        elif "NODATA" in keywords:
            hint = "the enc entry is not a valid OpenPGP message: the file may be damaged"
        else:
            hint = f"try: gpg --homedir {home} -d with the enc armor on stdin"
        fallback = "gpg returned no data" if run.returncode == 0 else f"exit code {run.returncode}"
        reason = run.reason or fallback
        raise KeyServiceError(f"{what}: gpg: {reason}", hint=hint)

    def describe(self, stanza: KeyStanza) -> str:
        """The stanza's fingerprint as stored."""
        return "".join(str(stanza.fields.get("fp", "")).split())

    def identity(self, stanza: KeyStanza) -> str:
        """``pgp:`` plus the fingerprint (hex upper-cased, so key sets compare case-insensitively)."""
        return f"{KIND}:{normalize_fingerprint(str(stanza.fields.get('fp', '')))}"

    # -- internals --------------------------------------------------------------------------------------

    def _fingerprint(self, recipient: KeyStanza) -> str:
        fp = self.describe(recipient)
        if not fp:
            raise KeyServiceError("a pgp key entry has no fp (fingerprint)",
                                  hint="give pgp keys as fingerprints (--pgp FINGERPRINT)")
        return fp

    def _run(self, home: Path, what: str, operation: Callable[[Any], Any]) -> _GpgRun:
        """Run one python-gnupg operation under the watchdog; return its outcome or raise KeyServiceError."""
        binary = gpg_binary()
        watch = _Watch(self.timeout)
        try:
            gpg = _guarded_gpg_class()(psops_watch=watch, gpgbinary=binary, gnupghome=str(home))
            result = operation(gpg)
        except (OSError, ValueError) as exc:
            if watch.fired:
                raise self._timeout_error(what) from None
            raise KeyServiceError(f"{what}: cannot run gpg ({binary}): {_first_line(exc)}",
                                  hint="install GnuPG or point SOPS_GPG_EXEC at the gpg binary") from None
        if watch.fired:
            raise self._timeout_error(what)
        status, reason = _parse_stderr(str(getattr(result, "stderr", "") or ""))
        data = result.data
        return _GpgRun(
            ok=bool(result.ok),
            returncode=result.returncode,
            data=bytes(data) if isinstance(data, bytes | bytearray) else b"",
            status=status,
            reason=reason,
        )

    def _timeout_error(self, what: str) -> KeyServiceError:
        return KeyServiceError(f"{what}: gpg did not finish within {self.timeout:g} seconds and was stopped",
                               hint="check gpg-agent and pinentry (is a passphrase prompt waiting?)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:_MAX_REASON] if text else type(exc).__name__
