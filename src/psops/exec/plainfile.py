"""The decrypted file that ``psops exec-file`` hands to a command, and its removal on every exit path.

By default the path is a FIFO (mode 0600) in a 0700 private dir: a writer thread blocks until the command
opens it, writes the plaintext once, closes, and removes the FIFO, so the plaintext never rests on disk and
a second open fails at once (no such file) instead of hanging, as sops' FIFO would. ``fifo=False`` writes a
regular 0600 file instead, for programs that seek or read twice. Either way the private dir is removed
when the ``with`` block ends (see :mod:`psops.editing.workspace`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from psops.editing.workspace import PrivateDir, private_dir

DEFAULT_FILENAME = "tmp-file"


class FifoWriter:
    """Serves ``data`` once to the first reader of a FIFO, then removes the FIFO."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.data = data
        self.served = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="psops-fifo-writer", daemon=True)

    def start(self) -> None:
        """Start waiting for the reader in the background."""
        self._thread.start()

    def _serve(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)  # blocks until a reader opens the FIFO
        except OSError:
            return
        try:
            if self._stop.is_set():
                return
            with contextlib.suppress(BrokenPipeError):
                view = memoryview(self.data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            self.served.set()
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def stop(self) -> None:
        """Stop serving: release a writer still waiting for a reader, and wait briefly for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                # Opening the read end releases the writer's blocking open; it sees the stop flag and quits.
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                self._thread.join(timeout=2)
                os.close(fd)
        self._thread.join(timeout=2)


@contextlib.contextmanager
def plaintext_path(data: bytes, *, fifo: bool = True, filename: str = DEFAULT_FILENAME) -> Iterator[Path]:
    """A path that yields ``data`` (a FIFO by default); the path and its private dir are gone afterwards."""
    with private_dir("psops-exec-") as space:
        yield from _serve(space, data, fifo=fifo, filename=filename)


def _serve(space: PrivateDir, data: bytes, *, fifo: bool, filename: str) -> Iterator[Path]:
    if not fifo:
        yield space.write_file(filename, data)
        return
    path = space.make_fifo(filename)
    writer = FifoWriter(path, data)
    writer.start()
    try:
        yield path
    finally:
        writer.stop()
