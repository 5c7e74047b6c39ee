"""Signals while plaintext exists: SIGINT, SIGTERM and SIGHUP never kill psops before it has cleaned up.

While a :class:`SignalTrap` is active its handler only *records* the first signal and passes it on to the
child process psops is waiting for (the editor is asked to stop: SIGTERM, then SIGKILL on a second signal;
an exec'd command gets SIGTERM/SIGHUP forwarded as they are, while Ctrl-C already reaches it through the
terminal's process group). The waiting code sees the child end and checks the trap, so the ``finally``
blocks that remove temp files always run with no exception flying. Only inside :meth:`SignalTrap.raising`
(a blocking prompt) does the handler raise :class:`psops.errors.Interrupted` directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

from psops.errors import Interrupted

TRAPPED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class SignalTrap:
    """Record SIGINT/SIGTERM/SIGHUP, pass them to the current child, raise only where that is safe."""

    def __init__(self, *, forward: bool = False) -> None:
        self.forward = forward
        self.signum: int | None = None
        self.count = 0
        self.child: subprocess.Popen[Any] | None = None
        self._raising = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalTrap:
        if threading.current_thread() is threading.main_thread():
            for sig in TRAPPED:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def interrupted(self, what: str = "") -> Interrupted:
        """The error to raise after the recorded signal."""
        name = signal_name(self.signum or signal.SIGINT)
        return Interrupted(f"interrupted by {name}" + (f"; {what}" if what else ""))

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        self.count += 1
        self._signal_child(signum)
        if self._raising:
            self._raising = False
            raise self.interrupted()

    def _signal_child(self, signum: int) -> None:
        child = self.child
        if child is None or child.returncode is not None:
            return
        if self.forward:
            if signum == signal.SIGINT:
                return  # the terminal delivers Ctrl-C to the child's process group already
            sig = signum
        else:
            sig = signal.SIGTERM if self.count == 1 else signal.SIGKILL
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child.pid, sig)

    def attach(self, child: subprocess.Popen[Any]) -> None:
        """Make ``child`` the process signals are passed to (catching up on a signal already recorded)."""
        self.child = child
        if self.signum is not None:
            self._signal_child(self.signum)

    def check(self, what: str = "") -> None:
        """Raise Interrupted if a signal was recorded."""
        if self.signum is not None:
            raise self.interrupted(what)

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """Within this block a trapped signal raises Interrupted at once (for blocking reads)."""
        self.check()
        self._raising = True
        try:
            yield
        finally:
            self._raising = False
