"""Reading inputs and writing outputs safely.

Writes are atomic: the bytes go to a temp file in the target's folder (mode 0600 while written), are fsynced,
get the target's original mode (and owner and group, where the process may set them), and are renamed over
the target, so a crash or a full disk leaves either the old or the new complete file. A symlink target is
refused rather than replaced by a regular file, and so is a target the user may not write (a read-only file
is not silently replaced just because its folder is writable). A device or FIFO (``--output /dev/null``) is
written to, never replaced by a regular file. Inputs over
:data:`psops.limits.MAX_INPUT_BYTES` are refused before they are read whole (docs/limits.md).
"""

from __future__ import annotations

import os
import stat
import sys

from psops.errors import CannotReadInput, CannotWriteOutput
from psops.limits import MAX_INPUT_BYTES


def _too_large(path: str) -> CannotReadInput:
    return CannotReadInput(f"file is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB", path=path,
                           hint="psops reads at most 256 MiB (see docs/limits.md)")


def read_input(path: str) -> bytes:
    """Read a file, or standard input for ``-``; CannotReadInput with the reason on failure."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise _too_large("standard input")
        return data
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_INPUT_BYTES:
                raise _too_large(path)
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
        raise _too_large(path)
    return data


def atomic_write(path: str | os.PathLike[str], data: bytes, *, default_mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its mode (``default_mode`` for a new file)."""
    target = os.fspath(path)  # os.path, not pathlib: importing pathlib costs ~5 ms at start-up
    if os.path.islink(target):
        raise CannotWriteOutput("refusing to replace a symbolic link", path=target,
                                hint="write to the link's target path instead")
    owner: tuple[int, int] | None = None
    try:
        info = os.stat(target)
        mode = stat.S_IMODE(info.st_mode)
        owner = (info.st_uid, info.st_gid)
    except FileNotFoundError:
        mode = default_mode
    except OSError as exc:
        raise CannotWriteOutput(f"cannot stat: {exc.strerror}", path=target) from None
    if owner is not None and not os.access(target, os.W_OK):
        raise CannotWriteOutput("the file is read-only", path=target,
                                hint="make it writable (chmod u+w) if you mean to replace it")
    if owner is not None and not stat.S_ISREG(info.st_mode):
        _write_special(target, info.st_mode, data)  # a device or FIFO is written to, never replaced
        return
    import contextlib  # here, not at module level: reading and printing need neither
    import tempfile

    folder = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".psops-tmp", dir=folder)
    except OSError as exc:
        raise CannotWriteOutput(f"cannot create a file next to it: {exc.strerror}", path=target) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if owner is not None:
            _keep_owner(tmp, *owner)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CannotWriteOutput(f"cannot write: {exc.strerror}", path=target) from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _write_special(target: str, mode: int, data: bytes) -> None:
    """Write into an existing non-regular file (``--output /dev/null``, a FIFO); a directory is refused."""
    if stat.S_ISDIR(mode):
        raise CannotWriteOutput("is a directory", path=target, hint="name a file inside it")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as exc:
        raise CannotWriteOutput(f"cannot write: {exc.strerror}", path=target) from None


def _keep_owner(tmp: str, uid: int, gid: int) -> None:
    """Give the new file the old one's owner and group where allowed (root, or a group the user is in)."""
    import contextlib

    info = os.stat(tmp)
    if (info.st_uid, info.st_gid) == (uid, gid):
        return
    with contextlib.suppress(OSError):
        os.chown(tmp, uid, gid)
        return
    with contextlib.suppress(OSError):
        os.chown(tmp, -1, gid)
