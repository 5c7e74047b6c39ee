"""Running the user's command for exec-env and exec-file: ``/bin/sh -c CMD``, secrets only in the environment.

The command line psops builds is always ``["/bin/sh", "-c", CMD]``: decrypted values travel in the child's
environment (exec-env) or through a file path (exec-file), never in any process's argv, so ``ps`` and
``/proc/PID/cmdline`` show nothing secret. psops waits for the child under a forwarding
:class:`psops.editing.signals.SignalTrap` (SIGTERM/SIGHUP passed on; Ctrl-C reaches the child through the
terminal) so its cleanup always runs afterwards, and exits with the child's status (128+N when the child was
killed by signal N). ``same_process`` replaces psops with the shell instead (``os.execve``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from psops.editing.signals import SignalTrap
from psops.errors import CommandNotRun

SHELL = "/bin/sh"


def shell_argv(command: str) -> list[str]:
    """The argv that runs ``command``: ``/bin/sh -c COMMAND``."""
    return [SHELL, "-c", command]


def exit_status(returncode: int) -> int:
    """A shell-style exit status: the child's code, or 128+N when it was killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def run_command(command: str, env: Mapping[str, str], *, trap: SignalTrap | None = None) -> int:
    """Run ``command`` through /bin/sh with exactly ``env``; wait for it and return its exit status.

    Pass the caller's forwarding ``trap`` when temp files exist around the call, so a signal that comes
    before the child starts is seen (Interrupted, nothing run) and cleanup still runs after it ends.
    """
    if trap is None:
        with SignalTrap(forward=True) as own:
            return run_command(command, env, trap=own)
    trap.check("the command was not started")
    try:
        proc = subprocess.Popen(shell_argv(command), env=dict(env), close_fds=True)
    except OSError as exc:
        raise CommandNotRun(f"cannot run {SHELL}: {exc.strerror}") from None
    trap.attach(proc)
    try:
        returncode = proc.wait()
    finally:
        trap.child = None
    return exit_status(returncode)


def exec_command(command: str, env: Mapping[str, str]) -> None:
    """Replace this process with ``/bin/sh -c command`` (``--same-process``); returns only on failure."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(SHELL, shell_argv(command), dict(env))
    except OSError as exc:
        raise CommandNotRun(f"cannot run {SHELL}: {exc.strerror}") from None
