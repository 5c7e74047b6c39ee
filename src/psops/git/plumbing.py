"""Reading from git with its plumbing commands: the work tree's root, index entries, and blobs in bulk.

Blobs are read with one ``git cat-file --batch`` process for any number of objects (object names in on
stdin, ``<oid> <type> <size>`` headers and contents out on stdout), so checking a commit of a thousand files
costs one process, not a thousand. Paths go through ``-z`` so names with spaces or newlines are safe. Errors
become :class:`psops.errors.GitError`; nothing here writes to the repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from psops.errors import GitError

_TIMEOUT = 300
GITLINK_MODE = "160000"
SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class IndexEntry:
    """One staged file: its mode, blob id, merge stage (0 when not conflicted) and repository-relative path."""

    mode: str
    oid: str
    stage: int
    path: str

    @property
    def is_regular_file(self) -> bool:
        """True for a file blob (not a submodule link or a symbolic link)."""
        return self.mode not in (GITLINK_MODE, SYMLINK_MODE)


def git(*args: str, cwd: str | Path | None = None, stdin: bytes | None = None) -> bytes:
    """Run ``git ARGS`` and return its stdout; GitError with git's first error line on failure."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=_TIMEOUT,
                              check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", hint="install git") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish in {_TIMEOUT} s") from None
    if proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {first[0] if first else f'exit {proc.returncode}'}")
    return proc.stdout


def toplevel(cwd: str | Path | None = None) -> Path:
    """The root of the work tree containing ``cwd``; GitError outside a repository."""
    try:
        out = git("rev-parse", "--show-toplevel", cwd=cwd)
    except GitError:
        raise GitError("not inside a git work tree", hint="run this in a git repository") from None
    return Path(os.fsdecode(out.rstrip(b"\n")))


def _parse_ls_files(out: bytes) -> list[IndexEntry]:
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, oid, stage = meta.decode().split(" ")
        entries.append(IndexEntry(mode, oid, int(stage), os.fsdecode(path)))
    return entries


def index_entries(paths: Sequence[str] = (), *, cwd: str | Path | None = None) -> list[IndexEntry]:
    """Index entries (all stages) of ``paths`` (all tracked files when empty), paths relative to the root."""
    root = toplevel(cwd)
    out = git("ls-files", "--stage", "-z", "--full-name", "--", *paths, cwd=cwd if paths else root)
    return _parse_ls_files(out)


def staged_changes(*, cwd: str | Path | None = None) -> list[IndexEntry]:
    """Files added, copied, modified or retyped in the index against HEAD (all staged files before a first commit)."""
    root = toplevel(cwd)
    try:
        git("rev-parse", "--verify", "--quiet", "HEAD", cwd=root)
        has_head = True
    except GitError:
        has_head = False
    if not has_head:
        return [e for e in _parse_ls_files(git("ls-files", "--stage", "-z", cwd=root)) if e.stage == 0]
    out = git("diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=ACMT", cwd=root)
    fields = out.split(b"\0")
    entries = []
    for i in range(0, len(fields) - 1, 2):
        meta, path = fields[i], fields[i + 1]
        if not meta.startswith(b":"):
            continue
        _old_mode, new_mode, _old_oid, new_oid, _status = meta[1:].decode().split(" ")
        entries.append(IndexEntry(new_mode, new_oid, 0, os.fsdecode(path)))
    return entries


def read_blobs(oids: Iterable[str], *, cwd: str | Path | None = None) -> dict[str, bytes]:
    """Contents of many blobs through one ``git cat-file --batch`` process; missing objects are left out."""
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return {}
    out = git("cat-file", "--batch", cwd=cwd, stdin="".join(f"{oid}\n" for oid in wanted).encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for oid in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", "replace").split(" ")
        pos = end + 1
        if len(header) == 2 and header[1] == "missing":
            continue
        if len(header) != 3:
            raise GitError(f"unexpected git cat-file output for {oid}")
        size = int(header[2])
        blobs[oid] = out[pos:pos + size]
        pos += size + 1
    return blobs


def stage_blobs(path: str, *, cwd: str | Path | None = None) -> dict[int, bytes]:
    """The conflict stages of ``path`` in the index: {1: base, 2: ours, 3: theirs} (those that exist)."""
    entries = [e for e in index_entries([path], cwd=cwd) if e.stage in (1, 2, 3)]
    blobs = read_blobs([e.oid for e in entries], cwd=cwd)
    return {e.stage: blobs[e.oid] for e in entries if e.oid in blobs}


__all__ = [
    "IndexEntry",
    "git",
    "index_entries",
    "read_blobs",
    "stage_blobs",
    "staged_changes",
    "toplevel",
]
