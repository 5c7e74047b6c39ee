"""psops.files: inputs refused over the size limit before reading, atomic writes that keep mode and owner,
never replace a symlink, a device, a FIFO or a directory."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from psops.errors import CannotReadInput, CannotWriteOutput
from psops.files import atomic_write, read_input
from psops.limits import MAX_INPUT_BYTES


def test_an_oversized_regular_file_is_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 1)
    with pytest.raises(CannotReadInput, match="larger than 256 MiB"):
        read_input(str(path))


def test_missing_files_and_directories_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CannotReadInput, match="no such file"):
        read_input(str(tmp_path / "missing"))
    with pytest.raises(CannotReadInput, match="is a directory"):
        read_input(str(tmp_path))


def test_atomic_write_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    atomic_write(path, b"new\n")
    assert path.read_bytes() == b"new\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["f.yaml"]
    fresh = tmp_path / "new.yaml"
    atomic_write(fresh, b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_atomic_write_keeps_owner_and_group(tmp_path: Path) -> None:
    """As root the new file gets the old one's (foreign) owner and group; otherwise they are the user's."""
    path = tmp_path / "f.yaml"
    path.write_text("old\n")
    owner = (1234, 5678) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(path, *owner)
    atomic_write(path, b"new\n")
    assert (path.stat().st_uid, path.stat().st_gid) == owner


def test_atomic_write_refuses_symlinks_and_directories(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("keep\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(CannotWriteOutput, match="symbolic link"):
        atomic_write(link, b"x")
    with pytest.raises(CannotWriteOutput, match="is a directory"):
        atomic_write(tmp_path, b"x")
    assert target.read_text() == "keep\n" and link.is_symlink()


def test_atomic_write_writes_into_a_fifo_instead_of_replacing_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(timeout=10)
    assert got == [b"through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)
