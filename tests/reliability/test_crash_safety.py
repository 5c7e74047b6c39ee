"""Crash safety: SIGKILL psops in the middle of an in-place encrypt, set, edit, rotate and git merge.

Two kinds of kill points:

* **every file-system step** -- psops runs under a Python audit hook (``sys.addaudithook``, the real code,
  nothing replaced) that counts the steps that change the file system (opening a file for writing, chmod,
  chown, rename, mkdir, remove, starting a child) and SIGKILLs the process right before step *i*, for
  every *i* of the command;
* **random moments** -- the installed ``psops`` is SIGKILLed after a random delay within its run time.

After each kill the target file must be the old or the new complete version (the new one decrypts, MAC
checked, to the expected data), its mode must be kept, no file in the target's folder or in TMPDIR may
hold plaintext (the canary), and the command must then run to completion. Leftover temp files of an
interrupted write hold only ciphertext; a private dir holding plaintext (``psops edit``) is removed by its
guard process when psops dies (psops.editing.workspace).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.cli import ok, run
from fixtures.editing import Private
from fixtures.reliability import CANARY, cli, files_containing, scaled
from psops.formats import get_store
from psops.tree import to_plain

if TYPE_CHECKING:
    from conftest import AgeKey

_ZYGOTE = r'''
# A fork server: psops is imported once; each request forks a child that installs the audit hook and runs
# psops.cli.main(argv) in its own session, as the psops executable would. Replies carry the exit status.
import json, os, signal, sys, traceback
import psops.cli.app  # noqa: F401  (typer and every command module, imported once)
from psops.cli import main

WRITES = {"os.rename", "os.chmod", "os.chown", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree",
          "os.truncate", "os.link", "os.symlink", "subprocess.Popen", "os.fork", "os.posix_spawn", "os.exec"}
state = {"count": 0, "target": 0, "log": None, "busy": False}

def hook(event, args):
    if state["busy"]:  # the hook's own open() raises an audit event too
        return
    if event == "open":
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        # an int "path" is os.fdopen of a descriptor just opened (already counted); /dev is not the disk
        if not writing or isinstance(args[0], int) or str(args[0]).startswith("/dev/"):
            return
    elif event not in WRITES:
        return
    state["count"] += 1
    if state["log"]:
        state["busy"] = True
        with open(state["log"], "a") as fh:
            fh.write(f"{state['count']} {event} {args[0] if args else ''}\n")
        state["busy"] = False
    if state["count"] == state["target"]:
        os.kill(os.getpid(), signal.SIGKILL)

for line in sys.stdin:
    req = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.dup2(err, 2)
            os.environ.clear()
            os.environ.update(req["env"])
            os.chdir(req["cwd"])
            state.update(target=req["crash_at"], log=req["log"])
            sys.addaudithook(hook)
            code = main(req["argv"])
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            traceback.print_exc()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"pid": pid, "code": os.waitstatus_to_exitcode(status)}), flush=True)
'''


class Zygote:
    """The fork server: runs psops commands with a kill point, without a Python start-up per run."""

    def __init__(self, script: Path) -> None:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True)

    def run(self, argv: list[str], env: dict[str, str], crash_at: int, log: Path | None, stderr: Path) -> tuple[int, int]:
        """(pid, exit status) of one run; the status is -9 when the kill point was reached."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"argv": argv, "env": env, "crash_at": crash_at, "log": str(log) if log else None,
                   "stderr": str(stderr), "cwd": os.getcwd()}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        return int(reply["pid"]), int(reply["code"])

    def close(self) -> None:
        """End the server."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


PLAIN = "".join(f"key{i}: {CANARY}-{i}\n" for i in range(60)) + "note_unencrypted: hello\n"


@dataclass
class Scenario:
    """One command run in place on ``target`` (other files are inputs), and what a finished run gives."""

    name: str
    target: Path
    argv: list[str]
    initial: dict[Path, bytes]
    expected_new: Callable[[bytes], bool]
    env: dict[str, str] = field(default_factory=dict)
    scan: list[Path] = field(default_factory=list)  # folders that must hold no plaintext afterwards

    def reset(self) -> None:
        for path, data in self.initial.items():
            path.write_bytes(data)
            path.chmod(0o640)


def decrypts_to(expected: Any) -> Callable[[bytes], bool]:
    """A check that encrypted YAML bytes decrypt (MAC checked) to ``expected`` plain data."""
    def check(data: bytes) -> bool:
        result = cli("decrypt", "--input-type", "yaml", "--output-type", "yaml", "-", stdin=data)
        return result.code == 0 and to_plain(get_store("yaml").load(result.out)[0]) == expected
    return check


def plain_data(text: str) -> Any:
    """Plain data of YAML text."""
    return to_plain(get_store("yaml").load(text.encode())[0])


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no .pyc writes among the counted steps
    return env


def run_with_crash(zygote: Zygote, scenario: Scenario, crash_at: int, log: Path | None = None) -> int:
    """Run the scenario's command under the audit hook, killed before step ``crash_at`` (0: never)."""
    errors = scenario.target.parent.parent / "stderr.txt"
    pid, code = zygote.run(scenario.argv, _env(scenario.env), crash_at, log, errors)
    settle(pid)
    if crash_at == 0:
        assert code == 0, errors.read_text(errors="replace")
    return code


def settle(pgid: int, timeout: float = 15) -> None:
    """Wait for what psops left running (an editor, a guard process) to finish on its own, as after a crash."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail("processes of the killed psops were still running after 15 s")


def check_state(scenario: Scenario, note: str) -> str:
    """The target is old or new and complete; no plaintext anywhere it should not be. Returns which."""
    data = scenario.target.read_bytes()
    old = scenario.initial[scenario.target]
    if data == old:
        state = "old"
    else:
        assert scenario.expected_new(data), f"{note}: the target is neither the old nor a valid new version"
        state = "new"
    assert (scenario.target.stat().st_mode & 0o777) == 0o640, f"{note}: mode not kept"
    folder = scenario.target.parent
    plaintext_ok = {p for p, d in scenario.initial.items() if CANARY.encode() in d}
    deadline = time.monotonic() + 5  # a guard process removes a private dir moments after psops died
    while True:
        leaks = [p for p in files_containing(folder, CANARY.encode()) if p not in plaintext_ok]
        for extra in scenario.scan:
            leaks += files_containing(extra, CANARY.encode())
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leaks, f"{note}: plaintext left behind in {leaks}"
    return state


def exercise(runner: Zygote, scenario: Scenario, psops_bin: str, tmp_path: Path) -> dict[str, int]:
    """Kill before every counted step, then at random moments; check the state after each kill."""
    seen = {"old": 0, "new": 0}
    scenario.reset()
    log = tmp_path / f"{scenario.name}-steps.log"
    start = time.monotonic()
    run_with_crash(runner, scenario, 0, log)
    duration = time.monotonic() - start
    assert scenario.expected_new(scenario.target.read_bytes()), "an uninterrupted run did not finish the job"
    steps = len(log.read_text().splitlines())
    assert steps >= 2, log.read_text()
    for i in range(1, steps + 1):
        scenario.reset()
        code = run_with_crash(runner, scenario, i)
        assert code == -signal.SIGKILL, f"step {i} of {steps} was not reached (exit {code})"
        seen[check_state(scenario, f"killed before step {i} of {steps}")] += 1
    rng = random.Random(os.environ.get("PSOPS_CRASH_SEED", "psops"))
    for n in range(scaled(1, per=100)):  # 50 random kills per command with PSOPS_FUZZ_EXAMPLES=5000
        scenario.reset()
        child = subprocess.Popen([psops_bin, *scenario.argv], env=_env(scenario.env), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.05, 1.1) * duration)
        child.send_signal(signal.SIGKILL)
        child.wait()
        settle(child.pid)
        seen[check_state(scenario, f"random kill #{n}")] += 1
    scenario.reset()
    ok(run(psops_bin, *scenario.argv, env=scenario.env))  # and the command still works afterwards
    assert scenario.expected_new(scenario.target.read_bytes())
    seen["steps"] = steps
    return seen


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    """The fork server (psops imported once for the module)."""
    script = tmp_path_factory.mktemp("zygote") / "crash_zygote.py"
    script.write_text(_ZYGOTE)
    zygote = Zygote(script)
    yield zygote
    zygote.close()


@pytest.fixture
def encrypted_text(age_env: AgeKey, tmp_path: Path) -> bytes:
    """PLAIN encrypted by psops."""
    plain = tmp_path / "seed.yaml"
    plain.write_text(PLAIN)
    out = cli("encrypt", "--age", age_env.recipient, str(plain))
    assert out.code == 0
    plain.unlink()
    return out.out


def test_in_place_encrypt_survives_sigkill(runner: Zygote, age_env: AgeKey, tmp_path: Path, psops_bin: str,
                                           private: Private) -> None:
    target = tmp_path / "w" / "secrets.yaml"
    target.parent.mkdir()
    scenario = Scenario("encrypt", target, ["encrypt", "--age", age_env.recipient, "-i", str(target)],
                        {target: PLAIN.encode()}, decrypts_to(plain_data(PLAIN)), scan=[private.tmpdir])
    seen = exercise(runner, scenario, psops_bin, tmp_path)
    assert seen["old"] >= 1 and seen["new"] >= 0


def test_set_survives_sigkill(runner: Zygote, encrypted_text: bytes, tmp_path: Path, psops_bin: str,
                              private: Private) -> None:
    target = tmp_path / "w" / "secrets.yaml"
    target.parent.mkdir()
    expected = plain_data(PLAIN)
    expected["key7"] = "changed"
    scenario = Scenario("set", target, ["set", str(target), '["key7"]', '"changed"'], {target: encrypted_text},
                        decrypts_to(expected), scan=[private.tmpdir])
    exercise(runner, scenario, psops_bin, tmp_path)


def test_rotate_survives_sigkill(runner: Zygote, encrypted_text: bytes, tmp_path: Path, psops_bin: str,
                                 private: Private) -> None:
    target = tmp_path / "w" / "secrets.yaml"
    target.parent.mkdir()
    scenario = Scenario("rotate", target, ["rotate", str(target)], {target: encrypted_text},
                        decrypts_to(plain_data(PLAIN)), scan=[private.tmpdir])
    exercise(runner, scenario, psops_bin, tmp_path)


def test_edit_survives_sigkill_and_leaves_no_plaintext(runner: Zygote, encrypted_text: bytes, tmp_path: Path,
                                                       psops_bin: str, private: Private) -> None:
    target = tmp_path / "w" / "secrets.yaml"
    target.parent.mkdir()
    expected = plain_data(PLAIN)
    expected["key3"] = "edited"
    # a sed one-liner edits as a non-interactive editor would (and starts faster than a Python one)
    env = {"EDITOR": f'sed -i -e "s/^key3: {CANARY}-3$/key3: edited/"'}
    scenario = Scenario("edit", target, ["edit", str(target)], {target: encrypted_text}, decrypts_to(expected),
                        env=env, scan=[private.tmpdir])
    seen = exercise(runner, scenario, psops_bin, tmp_path)
    # a kill between creating the private dir and starting its guard leaves the (still empty) dir behind
    assert [p for p in private.tmpdir.rglob("*") if not p.is_dir()] == []
    assert seen["steps"] >= 3  # private dir, plaintext file, editor, ..., the write


def test_git_merge_driver_survives_sigkill(runner: Zygote, encrypted_text: bytes, tmp_path: Path, psops_bin: str,
                                           private: Private) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    base, ours, theirs = (folder / f"{n}.yaml" for n in ("base", "ours", "theirs"))
    base.write_bytes(encrypted_text)
    for path, key, value in ((ours, "key1", "ours"), (theirs, "key2", "theirs")):
        path.write_bytes(encrypted_text)
        assert cli("set", str(path), f'["{key}"]', f'"{value}"').code == 0
    expected = plain_data(PLAIN)
    expected.update(key1="ours", key2="theirs")
    scenario = Scenario("merge", ours, ["git", "merge", str(base), str(ours), str(theirs), "7", "secrets.yaml"],
                        {base: base.read_bytes(), ours: ours.read_bytes(), theirs: theirs.read_bytes()},
                        decrypts_to(expected), scan=[private.tmpdir])
    exercise(runner, scenario, psops_bin, tmp_path)


def test_a_leftover_temp_file_of_an_interrupted_write_holds_no_plaintext(runner: Zygote, age_env: AgeKey,
                                                                         tmp_path: Path) -> None:
    """Killed after the temp file was written but before the rename: the target is untouched and the
    temp file (which nothing can remove after SIGKILL) holds the *encrypted* output only."""
    target = tmp_path / "w" / "secrets.yaml"
    target.parent.mkdir()
    scenario = Scenario("encrypt", target, ["encrypt", "--age", age_env.recipient, "-i", str(target)],
                        {target: PLAIN.encode()}, decrypts_to(plain_data(PLAIN)))
    log = tmp_path / "steps.log"
    scenario.reset()
    run_with_crash(runner, scenario, 0, log)
    steps = log.read_text().splitlines()
    rename = next(int(line.split()[0]) for line in steps if " os.rename " in line)
    scenario.reset()
    assert run_with_crash(runner, scenario, rename) == -signal.SIGKILL
    assert target.read_text() == PLAIN
    temps = [p for p in target.parent.iterdir() if p.name.endswith(".psops-tmp")]
    assert len(temps) == 1 and CANARY.encode() not in temps[0].read_bytes()
    assert decrypts_to(plain_data(PLAIN))(temps[0].read_bytes())  # complete, just not renamed
    assert temps[0].stat().st_mode & 0o077 == 0 or temps[0].stat().st_mode & 0o777 == 0o640
