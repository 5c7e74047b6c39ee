"""psops.guard: a private dir is removed when its process ends, even by SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from psops.guard import remove_on_exit

_VICTIM = r"""
import os, signal, sys, tempfile
from pathlib import Path
from psops.guard import remove_on_exit
path = Path(tempfile.mkdtemp(dir=sys.argv[1]))
(path / "plain.txt").write_text("secret")
remove_on_exit(path)
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _gone(path: Path, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return not path.exists()


def test_release_after_a_normal_end_reaps_the_guard(tmp_path: Path) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    guard = remove_on_exit(folder)
    assert guard.process is not None and guard.process.poll() is None
    process = guard.process
    guard.release()
    assert process.returncode == 0 and _gone(folder)  # released: the guard removes what is left, then exits


def test_a_sigkilled_process_has_its_dir_removed(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _VICTIM, str(tmp_path)], capture_output=True, timeout=60,
                          check=False)
    assert proc.returncode == -9
    path = Path(proc.stdout.decode().strip())
    assert path.parent == tmp_path
    assert _gone(path), "the guard did not remove the private dir of a killed process"
