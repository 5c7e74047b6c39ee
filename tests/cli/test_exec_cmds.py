"""``psops exec-env`` and ``psops exec-file`` run as a user runs them: the installed executable, files the real
sops encrypted, and checks on what the child sees, what ``ps`` shows and what is left on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.cli import assert_clean_error, describe, ok, run
from fixtures.editing import Private, process_tree_cmdlines

FLAT = {"API_TOKEN": "tok-s3cret-1", "DB_PASSWORD": "pw s3cret 2", "PORT": 5432, "RATIO": 1.5, "DEBUG": False}
FLAT_YAML = "API_TOKEN: tok-s3cret-1\nDB_PASSWORD: pw s3cret 2\nPORT: 5432\nRATIO: 1.5\nDEBUG: false\n"
SECRETS = (b"tok-s3cret-1", b"pw s3cret 2")


@pytest.fixture
def flat(sops_file: Callable[..., Path]) -> Path:
    """A YAML file with top-level scalars, encrypted by the real sops."""
    return sops_file("yaml", FLAT_YAML, name="flat")


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.02)
    return path.read_text().strip()


def _assert_no_secret_in_argv(psops_pid: int) -> None:
    seen = list(process_tree_cmdlines(psops_pid))
    assert len(seen) >= 2, "psops and its child must be running"
    for pid, cmdline in seen:
        for secret in SECRETS:
            assert secret not in cmdline, f"a secret is in the argv of pid {pid}: {cmdline!r}"
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, check=True).stdout
    assert str(psops_pid).encode() in ps
    for secret in SECRETS:
        assert secret not in ps


# -- exec-env ------------------------------------------------------------------------------------------


def test_exec_env_child_sees_the_values_as_with_sops(flat: Path, psops_bin: str, sops_bin: str) -> None:
    command = 'printf "%s|%s|%s|%s|%s|%s" "$API_TOKEN" "$DB_PASSWORD" "$PORT" "$RATIO" "$DEBUG" "$HOME"'
    proc = run(psops_bin, "exec-env", flat, command)
    assert ok(proc).decode() == f"tok-s3cret-1|pw s3cret 2|5432|1.5|false|{os.environ['HOME']}"
    assert proc.stderr == b""
    assert proc.stdout == ok(run(sops_bin, "exec-env", flat, command))


def test_exec_env_secrets_never_in_argv(flat: Path, psops_bin: str, tmp_path: Path) -> None:
    pidfile, stop = tmp_path / "pid", tmp_path / "stop"
    command = f'echo $$ > {pidfile}; while [ ! -e {stop} ]; do sleep 0.05; done; printf %s "$API_TOKEN"'
    proc = subprocess.Popen([psops_bin, "exec-env", str(flat), command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(pidfile, proc)
        _assert_no_secret_in_argv(proc.pid)
    finally:
        stop.touch()
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out, err) == (0, b"tok-s3cret-1", b"")


def test_exec_env_pristine_and_exit_status(flat: Path, psops_bin: str) -> None:
    proc = run(psops_bin, "exec-env", "--pristine", flat, "env; exit 7")
    assert proc.returncode == 7, describe(proc)
    names = {line.split("=", 1)[0] for line in proc.stdout.decode().splitlines()}
    assert set(FLAT) <= names
    assert "HOME" not in names and "SOPS_AGE_KEY_FILE" not in names, "only the secrets (and what sh sets)"


def test_exec_env_same_process_replaces_psops(flat: Path, psops_bin: str) -> None:
    proc = subprocess.Popen([psops_bin, "exec-env", "--same-process", str(flat), 'echo "$$:$API_TOKEN"; exit 3'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert out.decode().strip() == f"{proc.pid}:tok-s3cret-1", "the shell ran in psops' own process"


def test_exec_env_flatten_and_refusals(sops_file: Callable[..., Path], psops_bin: str) -> None:
    nested = sops_file("json", json.dumps({"db": {"user": "u-s3cret", "pass": "p-s3cret"}, "top": "t"}),
                       name="nested")
    proc = run(psops_bin, "exec-env", "--flatten", nested, 'printf "%s,%s,%s" "$db_user" "$db_pass" "$top"')
    assert ok(proc) == b"u-s3cret,p-s3cret,t"

    line = assert_clean_error(run(psops_bin, "exec-env", nested, "true"), 13, names=nested.name)
    assert "'db'" in line and "mapping" in line and "s3cret" not in line

    listed = sops_file("json", json.dumps({"hosts": ["a-s3cret", "b"]}), name="listed")
    line = assert_clean_error(run(psops_bin, "exec-env", "--flatten", listed, "true"), 13, names=listed.name)
    assert "list" in line and "s3cret" not in line

    equals = sops_file("json", json.dumps({"A=B": "x-s3cret"}), name="equals")
    line = assert_clean_error(run(psops_bin, "exec-env", equals, "true"), 13, names=equals.name)
    assert "'='" in line and "s3cret" not in line


# -- exec-file -----------------------------------------------------------------------------------------


def test_exec_file_fifo_is_private_read_once_and_removed(flat: Path, private: Private, psops_bin: str,
                                                         sops_bin: str) -> None:
    command = ('test -p {} && echo fifo; stat -c %a {}; stat -c %a "$(dirname {})"; echo {}; cat {}; '
               'cat {} 2>/dev/null || echo second-read-fails')
    out = ok(run(psops_bin, "exec-file", flat, command)).decode()
    lines = out.splitlines()
    assert lines[:3] == ["fifo", "600", "700"]
    path = Path(lines[3])
    assert path.name == "tmp-file" and path.parent.parent == private.tmpdir
    assert out.endswith("second-read-fails\n")
    assert "\n".join(lines[4:-1]) + "\n" == ok(run(sops_bin, "decrypt", flat)).decode()
    assert private.leftovers() == [], "the FIFO and its private dir are gone"


def test_exec_file_no_fifo_filename_and_output_type(flat: Path, private: Private, psops_bin: str) -> None:
    command = 'test -f {} && echo file; stat -c %a {}; echo {}; cat {}; cat {} > /dev/null && echo reread'
    out = ok(run(psops_bin, "exec-file", "--no-fifo", "--filename", "app.json", "--output-type", "json", flat,
                 command)).decode()
    first, perms, path, rest = out.split("\n", 3)
    assert (first, perms, Path(path).name) == ("file", "600", "app.json")
    assert json.loads(rest.removesuffix("reread\n")) == {**FLAT, "PORT": 5432.0}
    assert rest.endswith("reread\n")
    assert private.leftovers() == []


def test_exec_file_secrets_never_in_argv_and_status(flat: Path, private: Private, psops_bin: str,
                                                    tmp_path: Path) -> None:
    pidfile, stop = tmp_path / "pid", tmp_path / "stop"
    command = f"echo $$ > {pidfile}; while [ ! -e {stop} ]; do sleep 0.05; done; grep -c s3cret {{}}; exit 4"
    proc = subprocess.Popen([psops_bin, "exec-file", str(flat), command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(pidfile, proc)
        _assert_no_secret_in_argv(proc.pid)
    finally:
        stop.touch()
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out, err) == (4, b"2\n", b"")
    assert private.leftovers() == []


@pytest.mark.parametrize("no_fifo", [False, True])
def test_exec_file_sigterm_removes_the_plaintext(no_fifo: bool, flat: Path, private: Private, psops_bin: str,
                                                 tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    # the command never opens the FIFO: psops' writer is still waiting when the signal comes
    command = f"echo {{}} > {pidfile}; exec sleep 30"
    args = [psops_bin, "exec-file", *(["--no-fifo"] if no_fifo else []), str(flat), command]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    path = Path(_wait_for(pidfile, proc))
    assert path.exists() or path.is_fifo()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out) == (128 + signal.SIGTERM, b""), err
    assert not path.parent.exists()
    assert private.leftovers() == []
