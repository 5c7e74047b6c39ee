"""Reading the index and blobs with git's plumbing, in a real repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.gitrepo import GitRepo
from psops.errors import GitError
from psops.git.plumbing import index_entries, read_blobs, staged_changes, toplevel


def test_staged_changes_before_and_after_the_first_commit(repo: GitRepo) -> None:
    repo.write("a.txt", "one\n")
    repo.write("dir/with space.txt", "two\n")
    repo.git("add", ".")
    assert sorted(e.path for e in staged_changes()) == ["a.txt", "dir/with space.txt"]  # no HEAD yet
    repo.commit("first")
    assert staged_changes() == []
    repo.write("a.txt", "changed\n")
    repo.write("new.txt", "new\n")
    repo.git("rm", "-q", "dir/with space.txt")
    repo.git("add", ".")
    entries = staged_changes()
    assert sorted(e.path for e in entries) == ["a.txt", "new.txt"]  # deletions are not checked
    blobs = read_blobs([e.oid for e in entries] + ["0" * 40])
    assert sorted(blobs.values()) == [b"changed\n", b"new\n"]


def test_index_entries_of_paths_from_a_subfolder(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("sub/x.txt", "x\n")
    repo.git("add", ".")
    monkeypatch.chdir(repo.path / "sub")
    entries = index_entries(["x.txt"])
    assert [(e.path, e.stage, e.is_regular_file) for e in entries] == [("sub/x.txt", 0, True)]
    assert toplevel() == repo.path.resolve()


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(GitError, match="not inside a git work tree"):
        toplevel(tmp_path)
