"""age master keys (``sops.age``), through pyrage.

``enc`` is an ASCII-armored age file with one recipient stanza, holding the raw data key (or a Shamir share).
Identities are gathered as sops gathers them: ``SOPS_AGE_SSH_PRIVATE_KEY_FILE`` (else ``~/.ssh/id_ed25519``
and ``~/.ssh/id_rsa`` when present), ``SOPS_AGE_KEY``, ``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY_CMD`` and the
default ``$XDG_CONFIG_HOME/sops/age/keys.txt`` (``~/.config/sops/age/keys.txt``).
"""

from __future__ import annotations

import os

import pyrage

from psops.errors import KeyServiceError, NotMine, PsopsError
from psops.keys.base import KeyStanza

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: decrypting an age file imports neither typing nor pathlib
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

_KEY_CMD_TIMEOUT = 30


def default_key_file() -> Path:
    """The default age identity file SOPS reads: ``$XDG_CONFIG_HOME/sops/age/keys.txt``."""
    from pathlib import Path

    return Path(_default_key_path())


def _default_key_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "sops", "age", "keys.txt")


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _parse_identities(text: str, source: str) -> list[Any]:
    out: list[Any] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(pyrage.x25519.Identity.from_str(line))
        except Exception:
            raise KeyServiceError(f"{source} holds a line that is not an age identity",
                                  hint="each line must be AGE-SECRET-KEY-1..., blank, or a # comment") from None
    return out


def parse_recipient(text: str) -> Any:
    """Parse an age recipient (``age1...`` or an SSH public key) with pyrage."""
    text = text.strip()
    try:
        if text.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return pyrage.ssh.Recipient.from_str(text)
        return pyrage.x25519.Recipient.from_str(text)
    except Exception:
        raise PsopsError(f"invalid age recipient {text!r}",
                         hint="age recipients look like age1... (see 'psops keygen')") from None


class AgeService:
    """Wraps data keys to age recipients and unwraps them with the user's age identities."""

    kind = "age"

    def __init__(self) -> None:
        self._identities: list[Any] | None = None
        self._sources: list[str] = []

    def parse_recipients(self, spec: str) -> list[KeyStanza]:
        """Comma-separated age recipients -> stanzas (validated)."""
        out = []
        for item in spec.split(","):
            item = item.strip()
            if item:
                parse_recipient(item)
                out.append(KeyStanza("age", {"recipient": item}))
        return out

    def wrap(self, recipient: KeyStanza, data_key: bytes) -> KeyStanza:
        """Encrypt the data key to the recipient as an armored age file."""
        name = str(recipient.fields["recipient"]).strip()
        try:
            armored = pyrage.encrypt(data_key, [parse_recipient(name)], armored=True)
        except pyrage.EncryptError as exc:
            raise KeyServiceError(f"age could not encrypt to {name}: {exc}") from None
        text = armored.decode("ascii")
        if not text.endswith("\n"):
            text += "\n"
        return KeyStanza("age", {"recipient": name, "enc": text})

    def _load_identities(self) -> list[Any]:
        if self._identities is not None:
            return self._identities
        ids: list[Any] = []
        ssh_file = os.environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        home = os.path.expanduser("~")
        ssh_candidates = [ssh_file] if ssh_file else [os.path.join(home, ".ssh", n) for n in ("id_ed25519", "id_rsa")]
        for path in ssh_candidates:
            if os.path.isfile(path):
                try:
                    ids.append(pyrage.ssh.Identity.from_buffer(_read_bytes(path)))
                    self._sources.append(path)
                except Exception:
                    if ssh_file:
                        raise KeyServiceError(f"cannot use SSH key {path} as an age identity") from None
        if os.environ.get("SOPS_AGE_KEY"):
            ids += _parse_identities(os.environ["SOPS_AGE_KEY"], "SOPS_AGE_KEY")
            self._sources.append("SOPS_AGE_KEY")
        key_file = os.environ.get("SOPS_AGE_KEY_FILE")
        if key_file:
            try:
                ids += _parse_identities(_read_bytes(key_file).decode("utf-8", "replace"), key_file)
            except OSError as exc:
                raise KeyServiceError(f"cannot read SOPS_AGE_KEY_FILE {key_file}: {exc.strerror}") from None
            self._sources.append(key_file)
        key_cmd = os.environ.get("SOPS_AGE_KEY_CMD")
        if key_cmd:
            import shlex  # only here: subprocess costs a few ms to import on every decrypt
            import subprocess

            try:
                res = subprocess.run(shlex.split(key_cmd), capture_output=True, timeout=_KEY_CMD_TIMEOUT,
                                     check=False, stdin=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise KeyServiceError(f"SOPS_AGE_KEY_CMD failed to run: {type(exc).__name__}") from None
            if res.returncode != 0:
                raise KeyServiceError(f"SOPS_AGE_KEY_CMD exited with status {res.returncode}")
            ids += _parse_identities(res.stdout.decode("utf-8", "replace"), "SOPS_AGE_KEY_CMD")
            self._sources.append("SOPS_AGE_KEY_CMD")
        default = _default_key_path()
        if os.path.isfile(default):
            try:
                ids += _parse_identities(_read_bytes(default).decode("utf-8", "replace"), default)
            except OSError as exc:
                raise KeyServiceError(f"cannot read {default}: {exc.strerror}") from None
            self._sources.append(default)
        self._identities = ids
        return ids

    def unwrap(self, stanza: KeyStanza) -> bytes:
        """Decrypt the armored age file in ``enc`` with the available identities."""
        identities = self._load_identities()
        if not identities:
            raise NotMine("no age identity found (set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, "
                          f"or create {_default_key_path()})")
        try:
            return bytes(pyrage.decrypt(stanza.enc.encode("ascii", "replace"), identities))
        except pyrage.DecryptError as exc:
            if "no matching keys" in str(exc).lower():
                raise NotMine("none of the age identities in " + ", ".join(self._sources) + " matches") from None
            raise KeyServiceError(f"age could not decrypt the data key: {exc}") from None

    def describe(self, stanza: KeyStanza) -> str:
        """The recipient."""
        return str(stanza.fields.get("recipient", "?"))

    def identity(self, stanza: KeyStanza) -> str:
        """``age:<recipient>``."""
        return "age:" + self.describe(stanza).strip()
