"""Private places for plaintext: a 0700 temp dir with one 0600 file or FIFO in it, and the rescue file.

Plaintext touches the file system in exactly two ways. (1) A *private dir*: ``mkdtemp`` in ``$TMPDIR`` (else
``/dev/shm`` when it is a writable memory file system, else the system temp dir), mode 0700, holding one entry
created with ``O_EXCL|O_NOFOLLOW`` and mode 0600 (or a FIFO, mode 0600). The whole dir is removed when the
``with`` block ends, however it ends, so editor swap and backup files written next to the file go too.
(2) A *rescue file*: when edits cannot be saved, they are kept in ``$XDG_STATE_HOME/psops/rescued/`` (default
``~/.local/state/psops/rescued``; dir 0700, file 0600) and the error names the path, so nothing a user typed
is lost silently.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from psops.errors import CannotWriteOutput

_SHM = "/dev/shm"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._+@%,=-]+$")


def temp_base() -> str | None:
    """Where private dirs go: ``$TMPDIR`` if set, else ``/dev/shm`` if usable, else the system default."""
    tmpdir = os.environ.get("TMPDIR")
    if tmpdir:
        return tmpdir
    if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK | os.X_OK):
        return _SHM
    return None


def check_entry_name(name: str) -> str:
    """Validate a file name for the private dir (one path component, shell-safe characters only)."""
    if name in ("", ".", "..") or not _SAFE_NAME.match(name):
        raise CannotWriteOutput(
            f"unsuitable temporary file name {name!r}",
            hint="use letters, digits and . _ - + only (no '/', spaces or shell characters)",
        )
    return name


@dataclass
class PrivateDir:
    """A 0700 directory that holds plaintext for the duration of one command."""

    path: Path

    def write_file(self, name: str, data: bytes) -> Path:
        """Create ``name`` (mode 0600, never following links) holding ``data``."""
        target = self.path / check_entry_name(name)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return target

    def make_fifo(self, name: str) -> Path:
        """Create a FIFO ``name`` with mode 0600."""
        target = self.path / check_entry_name(name)
        os.mkfifo(target, 0o600)
        os.chmod(target, 0o600)  # mkfifo applies the umask; make the mode exact
        return target

    def remove(self) -> None:
        """Remove the directory and everything in it (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)


@contextlib.contextmanager
def private_dir(prefix: str) -> Iterator[PrivateDir]:
    """A fresh 0700 temp directory, removed with its content when the block ends."""
    try:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=temp_base()))
    except OSError as exc:
        raise CannotWriteOutput(f"cannot create a private temporary directory: {exc.strerror}",
                                hint="check TMPDIR") from None
    os.chmod(path, 0o700)
    from psops.guard import remove_on_exit  # removes the dir even if psops is SIGKILLed (docs/limits.md)

    guard = remove_on_exit(path)
    space = PrivateDir(path)
    try:
        yield space
    finally:
        space.remove()
        guard.release()


def rescue_dir() -> Path:
    """The folder rescue files go to: ``$XDG_STATE_HOME/psops/rescued`` (default ``~/.local/state/...``)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "psops" / "rescued"


def keep_edits(data: bytes, original_name: str) -> Path:
    """Save ``data`` to a new 0600 rescue file named after ``original_name`` (extension kept); return it."""
    folder = rescue_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        base = Path(original_name).name or "edit"
        stem, dot, ext = base.rpartition(".")
        if not stem:
            stem, dot, ext = base, "", ""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for attempt in range(100):
            name = f"{stem}.{stamp}{'-' + str(attempt) if attempt else ''}{dot}{ext}"
            target = folder / name
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return target
    except OSError as exc:
        raise CannotWriteOutput(f"cannot keep the edits in {folder}: {exc.strerror}") from None
    raise CannotWriteOutput(f"cannot find a free rescue file name in {folder}")
