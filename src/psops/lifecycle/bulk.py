"""Runs over many files: which files, a bounded worker pool, per-file outcomes and a progress bar.

Discovery (:func:`discover`): a PATH that is a file is taken as given; a folder, or no PATH at all (the
repository), is searched -- with ``git ls-files`` (tracked files only) when it lies inside a git work tree,
else by walking it (``.git`` folders and symbolic links skipped) -- and only files that are encrypted
(``sops`` metadata with a version and MAC) and match a creation rule of the config that applies to them are
kept. Without PATH the search starts at the work tree's root (or the current folder outside git).

Execution (:func:`run_bulk`): each file is handled by one call of the worker function in a thread pool of at
most ``jobs`` threads, so key-service round trips (KMS, Vault, gpg) for different files overlap. A file that
fails is reported (its one-line error) and the others go on; results come back in input order. The progress
bar is drawn only when the stream is a terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from psops.errors import CannotReadInput, PolicyError, PsopsError

DEFAULT_JOBS = 4
_GIT_TIMEOUT = 120
_SNIFF = b"ENC[AES256_GCM,"


def git_root(folder: Path) -> Path | None:
    """The work tree root containing ``folder`` (None outside git, or when git is not installed)."""
    try:
        proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                              timeout=_GIT_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip())


def git_tracked(folder: Path) -> list[Path]:
    """Files tracked by git under ``folder`` (absolute paths, sorted)."""
    proc = subprocess.run(["git", "-C", str(folder), "ls-files", "-z", "--full-name", "--", "."],
                          capture_output=True, timeout=_GIT_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise CannotReadInput("git ls-files failed: " + proc.stderr.decode(errors="replace").strip()[:200],
                              path=str(folder))
    root = git_root(folder) or folder
    names = [n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    return sorted(root / n for n in names)


def walk(folder: Path) -> list[Path]:
    """Regular files under ``folder``, skipping ``.git`` folders and symbolic links (sorted)."""
    out: list[Path] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not os.path.islink(os.path.join(current, d)))
        for name in files:
            full = Path(current) / name
            if full.is_file() and not full.is_symlink():
                out.append(full)
    return sorted(out)


def files_under(folder: Path) -> list[Path]:
    """Tracked files when ``folder`` is inside a git work tree, else every file found by walking it."""
    return git_tracked(folder) if git_root(folder) is not None else walk(folder)


def is_encrypted_file(path: Path) -> bool:
    """True when the file carries sops metadata with a version and MAC (a cheap sniff first)."""
    from psops.formats import format_for
    from psops.operations import file_status

    try:
        if path.stat().st_size > 64 * 1024 * 1024:
            return False
        data = path.read_bytes()
    except OSError:
        return False
    if _SNIFF not in data:
        return False
    return file_status(data, format_for(str(path)))


def matches_rule(path: Path, config: Path | None = None) -> bool:
    """True when a config applies to ``path`` and one of its creation rules matches it."""
    from psops.policy import discover_config

    cfg = discover_config(path, explicit=config)
    if cfg is None or not cfg.has_creation_rules:
        return False
    try:
        return cfg.match(path) is not None
    except PolicyError:
        return False


def encrypted_and_ruled(path: Path, config: Path | None = None) -> bool:
    """The default selection of a search: encrypted files that match a creation rule."""
    return is_encrypted_file(path) and matches_rule(path, config)


def discover(paths: Sequence[str], *, config: Path | None = None, cwd: Path | None = None,
             select: Callable[[Path, Path | None], bool] = encrypted_and_ruled) -> list[str]:
    """The files a bulk command works on (see the module doc); paths are returned as given or relative.

    ``select(path, config)`` decides which searched files are kept (files named explicitly always are)."""
    base = (cwd or Path.cwd()).resolve()
    found: list[str] = []
    seen: set[Path] = set()

    def add(path: Path, shown: str) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(shown)

    def search(folder: Path) -> None:
        for f in files_under(folder):
            if select(f, config):
                add(f, _shown(f, base))

    if not paths:
        search(git_root(base) or base)
        return found
    for item in paths:
        p = Path(item)
        full = p if p.is_absolute() else base / p
        if full.is_dir():
            search(full)
        elif full.exists() or full.is_symlink():
            add(full, item)
        else:
            raise CannotReadInput("no such file or folder", path=item)
    return found


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


@dataclass
class FileOutcome:
    """The result of one file in a bulk run: ``ok``, a short message, and the error when it failed."""

    path: str
    ok: bool
    message: str
    error: PsopsError | None = None


class ProgressBar:
    """``[#####.....] 5/10 path`` on one terminal line, redrawn in place; silent when not on a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total > 0 and _isatty(self.stream)
        self.width = width
        self._lock = threading.Lock()

    def advance(self, label: str) -> None:
        """Count one finished file and redraw."""
        with self._lock:
            self.done += 1
            self._draw(label)

    def _draw(self, label: str) -> None:
        if not self.enabled:
            return
        filled = self.width * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {label}"[:200]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()

    def clear(self) -> None:
        """Erase the bar (before printing a line, and at the end)."""
        if self.enabled:
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run_bulk(files: Sequence[str], work: Callable[[str], str], *, jobs: int = DEFAULT_JOBS,
             progress: ProgressBar | None = None,
             on_done: Callable[[FileOutcome], None] | None = None) -> list[FileOutcome]:
    """Run ``work(path)`` for every file on at most ``jobs`` threads; failures are collected, not raised.

    ``work`` returns a one-line message for a success and raises a PsopsError for a failure (any other
    exception is reported as an internal error of that file). Results are in the order of ``files``."""
    results: dict[int, FileOutcome] = {}

    def one(path: str) -> FileOutcome:
        try:
            return FileOutcome(path, True, work(path))
        except PsopsError as exc:
            exc.with_path(path)
            return FileOutcome(path, False, str(exc), exc)
        except Exception as exc:  # one broken file must not stop the run
            return FileOutcome(path, False, f"{path}: internal error: {type(exc).__name__}")

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="psops-bulk") as pool:
        futures: dict[Future[FileOutcome], int] = {pool.submit(one, f): i for i, f in enumerate(files)}
        try:
            for future in as_completed(futures):
                outcome = future.result()
                results[futures[future]] = outcome
                if on_done is not None:
                    if progress is not None:
                        progress.clear()
                    on_done(outcome)
                if progress is not None:
                    progress.advance(outcome.path)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
        finally:
            if progress is not None:
                progress.clear()
    return [results[i] for i in range(len(files))]


def summary(outcomes: Iterable[FileOutcome], verb: str) -> str:
    """``psops rotate: 3 files rotated, 1 failed`` style summary."""
    items = list(outcomes)
    ok = sum(1 for o in items if o.ok)
    failed = len(items) - ok
    noun = "file" if ok == 1 else "files"
    text = f"{ok} {noun} {verb}"
    return text + (f", {failed} failed" if failed else "")


__all__ = ["DEFAULT_JOBS", "FileOutcome", "ProgressBar", "discover", "encrypted_and_ruled", "files_under",
           "git_root", "git_tracked", "is_encrypted_file", "matches_rule", "run_bulk", "summary", "walk"]
