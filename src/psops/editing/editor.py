"""Which editor runs, and running it: ``$SOPS_EDITOR``, then ``$EDITOR``, else the first of vim, nano, vi.

An editor variable is a command line, split shell-style (``code --wait``, ``"/opt/My Editor/ed" -n``); the
file's path is appended as the last argument, never interpolated into a shell string. The editor inherits
psops' terminal (stdin, stdout, stderr). A missing or failing editor is :class:`psops.errors.EditorFailed`
(exit 201, as SOPS); its exit status and run time are reported back so the session can tell an editor that
crashed from one that returned at once without waiting (a GUI editor without ``--wait``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psops.editing.signals import SignalTrap
from psops.errors import EditorFailed

EDITOR_VARIABLES = ("SOPS_EDITOR", "EDITOR")
DEFAULT_EDITORS = ("vim", "nano", "vi")


@dataclass(frozen=True)
class EditorCommand:
    """The editor's argv (the file path is appended) and where it came from (a variable name or 'default')."""

    argv: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class EditorRun:
    """How one editor run ended: exit status (negative: killed by that signal) and seconds it took."""

    returncode: int
    seconds: float


def resolve_editor(environ: Mapping[str, str] | None = None) -> EditorCommand:
    """Pick the editor: SOPS_EDITOR, then EDITOR (split shell-style), else vim, nano or vi from PATH."""
    env = os.environ if environ is None else environ
    for name in EDITOR_VARIABLES:
        value = env.get(name, "")
        if not value:
            continue
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise EditorFailed(f"${name} cannot be split into a command: {exc}",
                               hint=f"quote it as a shell would, e.g. {name}='code --wait'") from None
        if not argv:
            raise EditorFailed(f"${name} is blank", hint=f"set {name} to an editor command, or unset it")
        return EditorCommand(tuple(argv), name)
    search_path = env.get("PATH", os.defpath)
    for candidate in DEFAULT_EDITORS:
        found = shutil.which(candidate, path=search_path)
        if found:
            return EditorCommand((found,), "default")
    raise EditorFailed("no editor found: SOPS_EDITOR and EDITOR are unset and none of vim, nano, vi is on PATH",
                       hint="set SOPS_EDITOR or EDITOR, e.g. EDITOR=nano")


def run_editor(editor: EditorCommand, path: Path, trap: SignalTrap) -> EditorRun:
    """Run the editor on ``path`` with the terminal attached and wait for it (signals go through ``trap``)."""
    argv = [*editor.argv, str(path)]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, close_fds=True)
    except FileNotFoundError:
        raise EditorFailed(f"could not run the editor: {editor.argv[0]!r} not found (from {editor.source})",
                           hint="set SOPS_EDITOR or EDITOR to an installed editor") from None
    except PermissionError:
        raise EditorFailed(f"could not run the editor: {editor.argv[0]!r} is not executable "
                           f"(from {editor.source})") from None
    except OSError as exc:
        raise EditorFailed(f"could not run the editor {editor.argv[0]!r}: {exc.strerror}") from None
    trap.attach(proc)
    try:
        returncode = proc.wait()
    finally:
        trap.child = None
    return EditorRun(returncode, time.monotonic() - started)
