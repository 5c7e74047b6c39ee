"""``psops rotate``, ``updatekeys`` and ``status`` as a user runs them, in a git repository, with the clock
injected through PSOPS_NOW. The headline flows run the installed executable; the rest call the same entry
point (:func:`psops.cli.main`) in-process to keep the suite fast."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from fixtures.cli import describe, load_data, ok, run, write_age_identity
from fixtures.lifecycle import git, git_init, sops_block, write_policy
from psops.cli import main

if TYPE_CHECKING:
    from conftest import AgeKey


def _stamp(delta_days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=delta_days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Result:
    """Exit code and output of an in-process run."""

    code: int
    out: str
    err: str


class Runner(Protocol):
    """``psops(*args, stdin=..., env=...)``."""

    def __call__(self, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result: ...


@pytest.fixture
def psops(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Run ``psops ARGS`` in-process (same entry point as the executable) with optional stdin and env."""
    from psops.keys import reset_services

    def call(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as mp:
            for k, v in (env or {}).items():
                mp.setenv(k, v)
            mp.setattr(sys, "stdin", io.StringIO(stdin))
            reset_services()
            code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def repo(work: Path, age_key: AgeKey, psops: Runner, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repo with secrets/old.yaml (data key 100 days old), secrets/new.yaml (fresh), a 30d policy."""
    key_file = write_age_identity(work.parent / "age.txt", age_key.identity)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    git_init(work)
    write_policy(work, [{"path_regex": r"^secrets/", "age": age_key.recipient, "rotate_after": "30d"}])
    (work / "secrets").mkdir()
    for name in ("old", "new"):
        f = work / "secrets" / f"{name}.yaml"
        f.write_text(f"password: {name}-hunter2\n")
        assert psops("encrypt", "-i", str(f)).code == 0
    assert psops("rotate", "secrets/old.yaml", env={"PSOPS_NOW": _stamp(-100)}).code == 0
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "secrets")
    return work


def test_rotate_due_touches_only_old_files_and_status_check_follows(repo: Path, psops_bin: str, sops_bin: str,
                                                                    psops: Runner) -> None:
    old, new = repo / "secrets" / "old.yaml", repo / "secrets" / "new.yaml"
    before_old, before_new = old.read_bytes(), new.read_bytes()
    check = run(psops_bin, "status", "--check")
    assert check.returncode == 81, describe(check)
    assert b"secrets/old.yaml" in check.stdout and b"1 due for rotation" in check.stdout
    assert check.stderr.decode().startswith("psops: error: 1 of 2 files need attention: secrets/old.yaml")

    dry = psops("rotate", "--due", "--dry-run")
    assert dry.out == "would rotate secrets/old.yaml\n" and old.read_bytes() == before_old
    out = ok(run(psops_bin, "rotate", "--due"))
    assert out.decode() == "rotated secrets/old.yaml\n"
    assert old.read_bytes() != before_old and new.read_bytes() == before_new
    assert sops_block(old)["psops_data_key_created_at"] >= _stamp(-0.01)
    assert load_data(ok(run(sops_bin, "decrypt", old)), "yaml") == {"password": "old-hunter2"}
    passed = psops("status", "--check")
    assert passed.code == 0 and passed.out.splitlines()[-1] == "2 files: 2 encrypted"
    # 31 days later both are due, and --due picks both
    later = {"PSOPS_NOW": _stamp(31)}
    assert psops("status", "--check", env=later).code == 81
    assert psops("rotate", "--due", "--dry-run", env=later).out.count("would rotate") == 2


def test_status_json(repo: Path, age_key: AgeKey, psops: Runner) -> None:
    (repo / "secrets" / "leak.yaml").write_text("password: plain\n")
    git(repo, "add", "secrets/leak.yaml")
    res = psops("status", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    files = {f["path"]: f for f in doc["files"]}
    assert sorted(files) == ["secrets/leak.yaml", "secrets/new.yaml", "secrets/old.yaml"]
    old = files["secrets/old.yaml"]
    assert old["encrypted"] and old["due"] and not old["stale"] and old["rule"]
    assert old["keys"] == [f"age:{age_key.recipient}"]
    assert old["data_key_created_source"] == "recorded" and old["rotate_after"] == "30d"
    assert old["rotate_after_seconds"] == 30 * 86400 and 100 * 86400 <= old["data_key_age_seconds"] < 101 * 86400
    assert files["secrets/leak.yaml"]["encrypted"] is False and not files["secrets/leak.yaml"]["due"]
    assert doc["summary"] == {"files": 3, "encrypted": 2, "due": 1, "stale": 0, "errors": 0}


def test_status_check_stale_then_updatekeys(repo: Path, psops_bin: str, sops_bin: str, age_key: AgeKey,
                                            other_age_key: AgeKey, psops: Runner) -> None:
    write_policy(repo, [{"path_regex": r"^secrets/", "age": f"{age_key.recipient},{other_age_key.recipient}"}])
    stale = psops("status", "--check", "secrets/new.yaml")
    assert stale.code == 81 and f"rule adds age:{other_age_key.recipient}" in stale.out
    # the plan is shown and nothing happens without a yes
    declined = psops("updatekeys", stdin="n\n")
    assert declined.code == 0
    assert "FILE" in declined.out and "KEYS ADDED" in declined.out and "KEYS REMOVED" in declined.out
    assert f"age:{other_age_key.recipient}" in declined.out and "nothing was changed" in declined.out
    assert psops("status", "--check").code == 81
    applied = run(psops_bin, "updatekeys", stdin=b"y\n")
    assert applied.returncode == 0, describe(applied)
    assert b"updated secrets/new.yaml" in applied.stdout and b"updated secrets/old.yaml" in applied.stdout
    assert psops("status", "--check").code == 0
    key_b = write_age_identity(repo.parent / "b.txt", other_age_key.identity)
    out = ok(run(sops_bin, "decrypt", "secrets/new.yaml", env={"SOPS_AGE_KEY_FILE": str(key_b)}))
    assert out == b"password: new-hunter2\n"
    assert "up to date" in psops("updatekeys", "--yes").out
    # removing B again: the data key rotates, unless --no-rotate (then a warning)
    write_policy(repo, [{"path_regex": r"^secrets/", "age": age_key.recipient}])
    old = repo / "secrets" / "old.yaml"
    mac = sops_block(old)["mac"]
    kept = psops("updatekeys", "-y", "--no-rotate", "secrets/old.yaml")
    assert kept.code == 0 and "keep" in kept.out and "--no-rotate" in kept.err
    assert sops_block(old)["mac"] == mac
    rotated = psops("updatekeys", "-y", "secrets/new.yaml")
    assert "rotate" in rotated.out and "updated secrets/new.yaml (data key rotated)" in rotated.out
    assert run(sops_bin, "decrypt", "secrets/new.yaml", env={"SOPS_AGE_KEY_FILE": str(key_b)}).returncode == 128


def test_one_failing_file_does_not_stop_the_others(repo: Path, psops_bin: str, other_age_key: AgeKey,
                                                   psops: Runner) -> None:
    bad = repo / "secrets" / "foreign.yaml"
    bad.write_text("x: y\n")
    assert psops("encrypt", "--age", other_age_key.recipient, "-i", str(bad)).code == 0
    git(repo, "add", "secrets/foreign.yaml")
    before = {p.name: p.read_bytes() for p in (repo / "secrets").iterdir()}
    proc = run(psops_bin, "rotate")
    assert proc.returncode == 82, describe(proc)
    assert sorted(proc.stdout.decode().splitlines()) == ["rotated secrets/new.yaml", "rotated secrets/old.yaml"]
    err = proc.stderr.decode()
    assert "psops: error: secrets/foreign.yaml: could not decrypt the data key" in err
    assert "2 files rotated, 1 failed" in err
    after = {p.name: p.read_bytes() for p in (repo / "secrets").iterdir()}
    assert after["foreign.yaml"] == before["foreign.yaml"]
    assert after["old.yaml"] != before["old.yaml"] and after["new.yaml"] != before["new.yaml"]
    # one explicit file: its own error and exit code, as sops
    single = psops("rotate", "secrets/foreign.yaml")
    assert single.code == 128 and single.out == ""
    assert single.err.startswith("psops: error: secrets/foreign.yaml: could not decrypt the data key")


def test_rotate_add_rm_flags(repo: Path, sops_bin: str, age_key: AgeKey, other_age_key: AgeKey,
                             psops: Runner) -> None:
    res = psops("rotate", "--add-age", other_age_key.recipient, "--rm-age", age_key.recipient, "secrets/new.yaml")
    assert res.out == f"rotated secrets/new.yaml, +age:{other_age_key.recipient}, -age:{age_key.recipient}\n"
    key_b = write_age_identity(repo.parent / "b.txt", other_age_key.identity)
    assert ok(run(sops_bin, "decrypt", "secrets/new.yaml", env={"SOPS_AGE_KEY_FILE": str(key_b)})) == \
        b"password: new-hunter2\n"
    assert run(sops_bin, "decrypt", "secrets/new.yaml").returncode == 128
    bad = psops("rotate", "--add-age", "AGE-SECRET-KEY-1XYZ", "secrets/old.yaml")
    assert bad.code == 1 and bad.err.startswith("psops: error: ") and "AGE-SECRET-KEY-1XYZ" not in bad.err


def _run_on_pty(argv: list[str], cwd: Path) -> bytes:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env=dict(os.environ))
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        proc.wait(timeout=60)
        os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks)


def test_progress_bar_on_a_terminal_only(repo: Path, psops_bin: str) -> None:
    shown = _run_on_pty([psops_bin, "rotate"], repo)
    assert b"] 1/2 secrets/" in shown and b"] 2/2 secrets/" in shown and b"\r\x1b[2K" in shown
    piped = run(psops_bin, "rotate")
    assert piped.returncode == 0 and b"\x1b" not in piped.stderr + piped.stdout and b"/2 " not in piped.stderr
