"""An interactive ``psops edit`` in a real terminal: tmux runs it with vi as the editor, the test types keys.

Debian's tmux and vi (vim, vim-tiny or nvi) are required; .ci/run installs them. Only portable vi commands are
typed (``:%s``, ``1G``, ``O``, ``:wq``), so any vi works.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.cli import load_data, ok, run
from fixtures.editing import SAMPLE, Private, changed_lines


class Terminal:
    """One tmux server on a private socket with one 100x30 window."""

    def __init__(self, tmux: str, socket: Path) -> None:
        self.tmux = tmux
        self.socket = socket

    def _cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.tmux, "-S", str(self.socket), *args], capture_output=True, text=True,
                              timeout=10, check=False)

    def start(self, shell_command: str) -> None:
        """Run ``shell_command`` in a new detached session."""
        proc = self._cmd("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", shell_command)
        assert proc.returncode == 0, proc.stderr

    def screen(self) -> str:
        """The visible text of the window."""
        return self._cmd("capture-pane", "-p", "-J").stdout

    def wait_for(self, text: str, timeout: float = 10) -> str:
        """Wait until ``text`` is on screen; return the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            assert time.monotonic() < deadline, f"{text!r} never appeared; the screen shows:\n{screen}"
            time.sleep(0.05)

    def keys(self, *keys: str, literal: bool = False) -> None:
        """Type keys (tmux key names, or literal text)."""
        proc = self._cmd("send-keys", *(["-l"] if literal else []), *keys)
        assert proc.returncode == 0, proc.stderr

    def type(self, text: str) -> None:
        """Type ``text`` literally."""
        self.keys(text, literal=True)

    def close(self) -> None:
        """Stop the tmux server."""
        self._cmd("kill-server")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """A tmux terminal (tmux is required: a missing tmux fails the test)."""
    tmux = shutil.which("tmux")
    assert tmux, "tmux is required for the interactive edit test (apt-get install tmux)"
    term = Terminal(tmux, tmp_path / "tmux.sock")
    yield term
    term.close()


@pytest.fixture
def vi() -> str:
    """The vi on PATH (vim, vim-tiny or nvi; required)."""
    path = shutil.which("vi")
    assert path, "vi is required for the interactive edit test (apt-get install vim-tiny)"
    return path


def _start_edit(terminal: Terminal, psops_bin: str, enc: Path, status: Path) -> None:
    # HOME is the test's empty home, so vi starts without the developer's vimrc
    # the pane stays open after psops ends, so its last messages can be read (the server is killed after)
    command = (f"{shlex.quote(psops_bin)} edit {shlex.quote(str(enc))}; echo $? > {shlex.quote(str(status))}; "
               "sleep 60")
    terminal.start(command)


def _wait_status(status: Path, terminal: Terminal, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while not status.exists() or not status.read_text().strip():
        assert time.monotonic() < deadline, f"psops did not finish; the screen shows:\n{terminal.screen()}"
        time.sleep(0.05)
    return int(status.read_text())


def test_interactive_edit_in_vi(terminal: Terminal, vi: str, sops_file: Callable[..., Path], private: Private,
                                psops_bin: str, sops_bin: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", vi)
    enc = sops_file("json")
    before = enc.read_bytes()
    status = tmp_path / "status"
    _start_edit(terminal, psops_bin, enc, status)
    terminal.wait_for("s3cret-db-pass")  # vi shows the decrypted file
    terminal.type(":%s/s3cret-db-pass/typed-in-vi/")
    terminal.keys("Enter")
    terminal.type(":wq")
    terminal.keys("Enter")
    assert _wait_status(status, terminal) == 0
    changed = changed_lines(before, enc.read_bytes())
    assert len(changed) == 2 and "password" in changed[0][1]
    assert load_data(ok(run(sops_bin, "decrypt", enc)), "json") == {
        **SAMPLE, "db": {"user": "admin", "password": "typed-in-vi"}}
    assert private.leftovers() == [], "no temp or swap file is left"


def test_invalid_edit_offers_to_reopen_the_editor(terminal: Terminal, vi: str, sops_file: Callable[..., Path],
                                                  private: Private, psops_bin: str, sops_bin: str,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", vi)
    enc = sops_file("json")
    before = enc.read_bytes()
    status = tmp_path / "status"
    _start_edit(terminal, psops_bin, enc, status)
    terminal.wait_for("s3cret-db-pass")
    terminal.type(":%s/s3cret-db-pass/second-try/")
    terminal.keys("Enter")
    terminal.type(":1d")  # delete the opening brace: invalid JSON
    terminal.keys("Enter")
    terminal.type(":wq")
    terminal.keys("Enter")
    screen = terminal.wait_for("Press Enter to reopen the editor")
    assert "invalid JSON at line" in screen
    assert enc.read_bytes() == before
    terminal.keys("Enter")
    terminal.wait_for("second-try")  # vi is back, with the edits as they were left
    terminal.type("1GO{")
    terminal.keys("Escape")
    terminal.type(":wq")
    terminal.keys("Enter")
    assert _wait_status(status, terminal) == 0
    assert load_data(ok(run(sops_bin, "decrypt", enc)), "json")["db"]["password"] == "second-try"
    assert private.leftovers() == []
    assert not private.rescued.exists()


def test_ctrl_c_at_the_reopen_prompt_keeps_the_edits(terminal: Terminal, vi: str, sops_file: Callable[..., Path],
                                                     private: Private, psops_bin: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", vi)
    enc = sops_file("json")
    before = enc.read_bytes()
    status = tmp_path / "status"
    _start_edit(terminal, psops_bin, enc, status)
    terminal.wait_for("s3cret-db-pass")
    terminal.type(":%s/s3cret-db-pass/typed-then-abandoned/")
    terminal.keys("Enter")
    terminal.type(":1d")
    terminal.keys("Enter")
    terminal.type(":wq")
    terminal.keys("Enter")
    terminal.wait_for("Press Enter to reopen the editor")
    terminal.keys("C-c")
    assert _wait_status(status, terminal) == 85
    screen = terminal.wait_for("interrupted by SIGINT")
    assert "your edits are kept in" in screen
    assert enc.read_bytes() == before
    (rescue,) = private.rescued.iterdir()
    assert "typed-then-abandoned" in rescue.read_text()
    assert private.leftovers() == []
