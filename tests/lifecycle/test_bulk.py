"""Bulk runs: file discovery (git-tracked or walked, encrypted and under a rule), bounded concurrency,
per-file failures, and a progress bar only on a terminal."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fixtures.cli import ok, run
from fixtures.lifecycle import git, git_init, write_policy
from psops.errors import PsopsError
from psops.lifecycle.bulk import ProgressBar, discover, run_bulk, summary

if TYPE_CHECKING:
    from conftest import AgeKey


def _repo(root: Path, age: AgeKey, psops_bin: str) -> None:
    write_policy(root, [{"path_regex": r"^secrets/", "age": age.recipient}])
    (root / "secrets" / "sub").mkdir(parents=True)
    (root / "other").mkdir()
    for rel in ("secrets/a.yaml", "secrets/sub/b.json", "secrets/untracked.yaml", "other/outside.yaml"):
        path = root / rel
        path.write_text('{"k": "v"}' if rel.endswith(".json") else "k: v\n")
        ok(run(psops_bin, "encrypt", "--age", age.recipient, "-i", path))
    (root / "secrets" / "plain.yaml").write_text("not: encrypted\n")
    (root / "README.md").write_text("hello\n")


def test_discover_in_git_takes_tracked_encrypted_files_under_a_rule(work: Path, age_key: AgeKey,
                                                                   psops_bin: str) -> None:
    _repo(work, age_key, psops_bin)
    git_init(work)
    git(work, "add", ".sops-policy.yaml", "secrets/a.yaml", "secrets/sub/b.json", "secrets/plain.yaml",
        "other/outside.yaml", "README.md")
    assert discover([]) == ["secrets/a.yaml", "secrets/sub/b.json"]
    assert discover(["secrets/sub"]) == ["secrets/sub/b.json"]
    # from a sub-folder, no PATH still means the whole repository
    root = work.resolve()
    assert discover([], cwd=work / "other") == [str(root / "secrets/a.yaml"), str(root / "secrets/sub/b.json")]
    # a file named explicitly is taken as it is, once
    assert discover(["other/outside.yaml", "other/outside.yaml", "secrets/untracked.yaml"]) == \
        ["other/outside.yaml", "secrets/untracked.yaml"]


def test_discover_outside_git_walks(work: Path, age_key: AgeKey, psops_bin: str) -> None:
    _repo(work, age_key, psops_bin)
    assert discover([]) == ["secrets/a.yaml", "secrets/sub/b.json", "secrets/untracked.yaml"]


def test_missing_path_is_an_error(work: Path) -> None:
    try:
        discover(["nope.yaml"])
    except PsopsError as exc:
        assert exc.path == "nope.yaml" and exc.exit_code == 2
    else:
        raise AssertionError("expected an error")


def test_run_bulk_bounds_concurrency_and_continues_after_failures() -> None:
    active, peak, lock = 0, 0, threading.Lock()

    def work(path: str) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        if path.startswith("bad"):
            raise PsopsError("cannot rotate", hint="h")
        if path == "crash":
            raise RuntimeError("secret-looking detail")
        return f"done {path}"

    files = ["a", "bad1", "b", "crash", "c", "d", "bad2", "e"]
    outcomes = run_bulk(files, work, jobs=3)
    assert [o.path for o in outcomes] == files
    assert [o.ok for o in outcomes] == [True, False, True, False, True, True, False, True]
    assert outcomes[1].message == "bad1: cannot rotate" and outcomes[1].error is not None
    assert outcomes[3].message == "crash: internal error: RuntimeError"
    assert 2 <= peak <= 3, peak
    assert summary(outcomes, "rotated") == "5 files rotated, 3 failed"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    pipe, tty = io.StringIO(), _Tty()
    for stream in (pipe, tty):
        bar = ProgressBar(2, stream, width=4)
        bar.advance("x.yaml")
        bar.advance("y.yaml")
        bar.clear()
    assert pipe.getvalue() == ""
    assert "[##..] 1/2 x.yaml" in tty.getvalue() and "[####] 2/2 y.yaml" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[2K")
