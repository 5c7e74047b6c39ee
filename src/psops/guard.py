"""A guard that removes a private directory even when psops itself is killed (SIGKILL, OOM, power to the TTY).

psops removes its plaintext dirs (:mod:`psops.editing.workspace`) on every exit path it controls: normal
end, errors, SIGINT/SIGTERM/SIGHUP. A process cannot run code after SIGKILL, so a second, tiny process
does it: ``/bin/sh`` (in its own session, ignoring INT/HUP/TERM/QUIT, with no terminal and no inherited
files) blocks reading a pipe whose only writer is psops. The kernel closes that pipe when psops ends, however
it ends; the guard then runs ``rm -rf`` on the directory and exits. On a normal end psops removes the
directory itself first and then releases the guard, which finds nothing to remove.

What stays true after a crash: the plaintext lived only in a 0700 directory in ``$TMPDIR`` or ``/dev/shm``
(memory) until the guard removed it, moments later. A ``kill -9`` of the guard and psops together, or a
machine that loses power, can still leave it there (a memory file system forgets it at power-off).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = "trap '' INT HUP TERM QUIT TSTP; cat >/dev/null; rm -rf -- \"$1\""


@dataclass
class Guard:
    """A running guard for one directory; :meth:`release` ends it after the directory was removed."""

    process: subprocess.Popen[bytes] | None
    writer: int | None

    def release(self) -> None:
        """Tell the guard psops ended normally (it removes the directory if it is still there) and reap it."""
        if self.writer is not None:
            with contextlib.suppress(OSError):
                os.close(self.writer)
            self.writer = None
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self.process.wait(timeout=5)
            self.process = None


def remove_on_exit(path: Path) -> Guard:
    """Start a guard that removes ``path`` (recursively) once this process ends, however it ends.

    Returns a no-op guard when no POSIX shell is available; the caller's own cleanup still runs."""
    if os.name != "posix" or not os.path.exists("/bin/sh"):
        return Guard(None, None)
    reader, writer = os.pipe()
    os.set_inheritable(writer, False)
    try:
        process = subprocess.Popen(["/bin/sh", "-c", _SCRIPT, "psops-guard", str(path)], stdin=reader,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True,
                                   start_new_session=True)
    except OSError:
        os.close(writer)
        return Guard(None, None)
    finally:
        os.close(reader)
    return Guard(process, writer)


__all__ = ["Guard", "remove_on_exit"]
