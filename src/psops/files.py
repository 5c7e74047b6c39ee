"""Reading inputs and writing outputs safely.

Writes are atomic: the bytes go to a temp file in the target's folder (mode 0600 while written), are fsynced,
get the target's original mode, and are renamed over the target, so a crash or a full disk leaves either the
old or the new complete file. A symlink target is refused rather than replaced by a regular file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

from psops.errors import CannotReadInput, CannotWriteOutput

MAX_INPUT_BYTES = 256 * 1024 * 1024


def read_input(path: str) -> bytes:
    """Read a file, or standard input for ``-``; CannotReadInput with the reason on failure."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise CannotReadInput("no such file", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise CannotReadInput("is a directory", path=path) from None
    except PermissionError:
        raise CannotReadInput("permission denied", path=path, hint="check the file's permissions") from None
    except OSError as exc:
        raise CannotReadInput(f"cannot read: {exc.strerror}", path=path) from None
    if len(data) > MAX_INPUT_BYTES:
        raise CannotReadInput(f"file is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB", path=path)
    return data


def atomic_write(path: str | Path, data: bytes, *, default_mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its mode (``default_mode`` for a new file)."""
    target = Path(path)
    if target.is_symlink():
        raise CannotWriteOutput("refusing to replace a symbolic link", path=str(target),
                                hint="write to the link's target path instead")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = default_mode
    except OSError as exc:
        raise CannotWriteOutput(f"cannot stat: {exc.strerror}", path=str(target)) from None
    import tempfile  # here, not at module level: reading and printing need no temp files

    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".psops-tmp", dir=folder)
    except OSError as exc:
        raise CannotWriteOutput(f"cannot create a file next to it: {exc.strerror}", path=str(target)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CannotWriteOutput(f"cannot write: {exc.strerror}", path=str(target)) from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
