"""The FIFO exec-file hands out: read once, then gone; a writer with no reader is released on exit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from psops.exec.plainfile import plaintext_path


def test_fifo_serves_once_then_disappears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    data = b"secret: value\n" * 20_000  # larger than a pipe buffer
    with plaintext_path(data, filename="x.yaml") as path:
        assert path.is_fifo() and path.name == "x.yaml"
        assert path.read_bytes() == data
        deadline = time.monotonic() + 5
        while path.exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert list(tmp_path.iterdir()) == []


def test_unread_fifo_is_released_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    started = time.monotonic()
    with plaintext_path(b"never read") as path:
        assert path.is_fifo()
    assert time.monotonic() - started < 3
    assert list(tmp_path.iterdir()) == []


def test_regular_file_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with plaintext_path(b"abc", fifo=False) as path:
        assert path.read_bytes() == b"abc" and path.read_bytes() == b"abc"
    assert list(tmp_path.iterdir()) == []
