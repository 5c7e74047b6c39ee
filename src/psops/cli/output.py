"""Where results go: stdout, ``--in-place`` or ``--output``, always atomically for files."""

from __future__ import annotations

import os
import sys

from psops.errors import CannotWriteOutput, ConflictingParameters, PsopsError
from psops.files import atomic_write


def check_destination(in_place: bool, output: str | os.PathLike[str] | None, path: str) -> None:
    """Reject contradictory destination flags before any work is done."""
    if in_place and output is not None:
        raise ConflictingParameters("--in-place and --output exclude each other", path=path)
    if in_place and path == "-":
        raise ConflictingParameters("--in-place needs a file, not standard input")


def emit(data: bytes, *, path: str, in_place: bool, output: str | os.PathLike[str] | None) -> None:
    """Write ``data`` to its destination."""
    if in_place:
        atomic_write(path, data)
    elif output is not None:
        atomic_write(output, data)
    else:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # a full disk, an I/O error: a clean error, not an internal one
            raise CannotWriteOutput(f"cannot write: {exc.strerror}",
                                    path="standard output") from None


def warn(message: str) -> None:
    """One warning line on stderr."""
    sys.stderr.write(f"psops: warning: {message}\n")


class about:  # lower case: used like the function it was, ``with about(path):``
    """Attach ``path`` to any psops error raised inside the block (unless it names a file already).

    A class rather than a ``contextlib.contextmanager`` generator: contextlib is not imported on the
    decrypt path (start-up cost, docs/design.md).
    """

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, PsopsError):
            exc.with_path(self.path)  # and the error propagates
        elif isinstance(exc, RecursionError):  # a tree deeper than any store lets through (docs/limits.md)
            from psops.limits import too_deep

            raise too_deep().with_path(self.path) from None
