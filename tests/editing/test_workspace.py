"""Private temp dirs (0700, removed on every exit) and rescue files (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from psops.editing.workspace import check_entry_name, keep_edits, private_dir, rescue_dir
from psops.errors import CannotWriteOutput


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_private_dir_is_0700_with_0600_entries_and_removed_even_on_error(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    old_umask = os.umask(0)  # a permissive umask must not widen the modes
    try:
        _use_private_dir(tmp_path)
    finally:
        os.umask(old_umask)
    assert list(tmp_path.iterdir()) == []


def _use_private_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), private_dir("psops-test-") as space:
        assert space.path.parent == tmp_path and _mode(space.path) == 0o700
        plain = space.write_file("a.yaml", b"x: 1\n")
        fifo = space.make_fifo("pipe")
        assert (_mode(plain), _mode(fifo)) == (0o600, 0o600)
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
        with pytest.raises(FileExistsError):
            space.write_file("a.yaml", b"again")
        (space.path / "a.yaml.swp").write_bytes(b"editor swap file")
        raise RuntimeError("boom")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "my file", "x;rm", "$(x)"])
def test_unsafe_entry_names_are_refused(name: str) -> None:
    with pytest.raises(CannotWriteOutput):
        check_entry_name(name)


def test_keep_edits_makes_private_named_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first = keep_edits(b"one", "secrets.yaml")
    second = keep_edits(b"two", "secrets.yaml")
    assert first != second and first.parent == second.parent == rescue_dir()
    assert first.suffix == ".yaml" and first.name.startswith("secrets.")
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")
    assert _mode(first) == 0o600 and _mode(rescue_dir()) == 0o700
