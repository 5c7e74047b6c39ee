"""Which files a manifest command reads, and reading them safely on a shared CD runner.

The inputs are the paths given: a file is read whatever its name; a folder is walked recursively, in sorted
order, for ``*.yaml``, ``*.yml`` and ``*.json`` files (``.git`` folders are skipped), honouring
``.psopsignore`` files; ``-`` is standard input. A ``.psopsignore`` holds gitignore-style patterns
(``#`` comments, ``!`` to re-include, a trailing ``/`` for folders only, ``*``, ``?``, ``[...]``, ``**``), relative
to the folder it is in, applying to everything below it; an ignored folder is not entered.

Safety: every root is resolved once; a symbolic link found while walking (or a ``..`` in a KSOPS path) must
resolve inside one of the roots unless the caller allows it; symbolic-link loops are cut; a file must be a
regular file no larger than the size limit (checked on the opened descriptor, with ``O_NOFOLLOW`` on the
resolved path, so a link swapped in meanwhile is refused too). Nothing is ever written here.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from psops.errors import CannotReadInput, UnsafeInput

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
IGNORE_FILE = ".psopsignore"
DEFAULT_MAX_FILE_SIZE = 8 * 1024 * 1024
"""Default limit for one input file (8 MiB): generous for manifests (a Secret is at most 1 MiB)."""
SKIPPED_DIRS = frozenset({".git"})
_MAX_IGNORE_FILE = 1024 * 1024
_SIZE = re.compile(r"(\d+)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class WalkOptions:
    """Limits for reading inputs."""

    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    allow_outside_symlinks: bool = False


@dataclass(frozen=True)
class InputFile:
    """One input: what to call it in messages, where to read it, and where it goes under ``--output-dir``."""

    display: str
    """The path as the user would write it (root as given, joined with the path below it); ``-`` for stdin."""
    path: Path | None
    """The resolved path to open (None for standard input)."""
    rel: PurePosixPath
    """Path relative to its root (a file root: its own name)."""


def parse_size(text: str) -> int:
    """``8M``, ``512k``, ``1G``, ``1048576`` -> bytes (binary units)."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"invalid size {text!r} (use e.g. 1048576, 512K, 8M, 1G)")
    unit = (m.group(2) or "").lower()[:1]
    return int(m.group(1)) * _UNITS[unit]


# --- .psopsignore ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    base: str  # folder of the ignore file, relative to the root ('' for the root), posix
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob (already stripped of ``!`` and trailing ``/``) -> a regex over a relative path."""
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1: i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                inner = pattern[i + 1: end]
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append("[" + inner.replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    body = "".join(out)
    return ("" if anchored else "(?:.*/)?") + body + "(?:/.*)?"


def parse_ignore(text: str, base: str = "") -> list[_Rule]:
    """Rules of one ``.psopsignore`` whose folder is ``base`` (relative to the walk's root)."""
    rules: list[_Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if not line.endswith("\\ "):
            line = line.rstrip()
        negate = line.startswith("!")
        if negate or line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        rules.append(_Rule(base, re.compile(_translate(line), re.DOTALL), negate, dir_only))
    return rules


def ignored(rules: list[_Rule], rel: str, is_dir: bool) -> bool:
    """Whether ``rel`` (posix, relative to the root) is ignored: the last matching rule decides."""
    verdict = False
    for rule in rules:
        if rule.base:
            if not rel.startswith(rule.base + "/"):
                continue
            sub = rel[len(rule.base) + 1:]
        else:
            sub = rel
        if rule.dir_only and not is_dir:
            continue
        if rule.regex.fullmatch(sub):
            verdict = not rule.negate
    return verdict


# --- walking --------------------------------------------------------------------------------------------


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _resolve(path: Path, display: str) -> str:
    try:
        return os.path.realpath(path, strict=True)
    except FileNotFoundError:
        raise CannotReadInput("no such file (or a broken symbolic link)", path=display,
                              hint="check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeInput("symbolic link loop", path=display) from None
        raise CannotReadInput(f"cannot resolve: {exc.strerror}", path=display) from None


@dataclass
class _Walker:
    options: WalkOptions
    roots: list[str] = field(default_factory=list)

    def check_link(self, real: str, display: str) -> None:
        """Refuse a symbolic link whose target ``real`` lies outside every root (unless allowed)."""
        if not self.options.allow_outside_symlinks and not _inside(real, self.roots):
            raise UnsafeInput(f"symbolic link leads outside the given paths (to {real})", path=display,
                              hint="remove the link, or pass --allow-outside-symlinks if it is trusted")

    def walk_dir(self, real_dir: str, display: str, rel: str, rules: list[_Rule],
                 seen: frozenset[str]) -> Iterator[InputFile]:
        """Yield the manifest files under ``real_dir``, sorted, honouring ignore rules; ``seen`` cuts loops."""
        if real_dir in seen:
            return  # a symbolic-link loop back into a folder being walked
        seen = seen | {real_dir}
        ignore_path = os.path.join(real_dir, IGNORE_FILE)
        if os.path.isfile(ignore_path):
            text = read_limited(Path(ignore_path), _join(display, IGNORE_FILE), _MAX_IGNORE_FILE)
            rules = rules + parse_ignore(text.decode("utf-8", "replace"), rel)
        try:
            entries = sorted(os.scandir(real_dir), key=lambda e: e.name)
        except OSError as exc:
            raise CannotReadInput(f"cannot list folder: {exc.strerror}", path=display) from None
        for entry in entries:
            child_display = _join(display, entry.name)
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            target = entry.path
            if entry.is_symlink():
                target = _resolve(Path(entry.path), child_display)
                self.check_link(target, child_display)
            is_dir = os.path.isdir(target)
            if is_dir and entry.name in SKIPPED_DIRS:
                continue
            if ignored(rules, child_rel, is_dir):
                continue
            if is_dir:
                yield from self.walk_dir(target, child_display, child_rel, rules, seen)
            elif entry.name.lower().endswith(MANIFEST_SUFFIXES) and entry.name != IGNORE_FILE:
                yield InputFile(child_display, Path(target), PurePosixPath(child_rel))


def _join(display: str, name: str) -> str:
    return name if display in ("", ".") else f"{display.rstrip('/')}/{name}"


def collect_inputs(paths: list[str], options: WalkOptions | None = None) -> list[InputFile]:
    """The input files for ``paths`` (files, folders, ``-``), in order; folders walked as the module says."""
    options = options or WalkOptions()
    walker = _Walker(options)
    resolved: list[tuple[str, str]] = []
    for given in paths:
        if given == "-":
            resolved.append((given, "-"))
            continue
        real = _resolve(Path(given), given)
        resolved.append((given, real))
        walker.roots.append(real)
    out: list[InputFile] = []
    for given, real in resolved:
        if real == "-":
            out.append(InputFile("-", None, PurePosixPath("stdin.yaml")))
        elif os.path.isdir(real):
            out.extend(walker.walk_dir(real, given.rstrip("/") or "/", "", [], frozenset()))
        else:
            out.append(InputFile(given, Path(real), PurePosixPath(Path(given).name)))
    return out


def read_limited(path: Path, display: str, limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes, refusing links swapped in and special files."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise CannotReadInput("no such file", path=display, hint="check the path") from None
    except PermissionError:
        raise CannotReadInput("permission denied", path=display, hint="check the file's permissions") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeInput("the file was replaced by a symbolic link while being read", path=display) from None
        raise CannotReadInput(f"cannot read: {exc.strerror}", path=display) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeInput("not a regular file", path=display, hint="pass regular files or folders")
        if info.st_size > limit:
            raise UnsafeInput(f"file is larger than the limit ({info.st_size} > {limit} bytes)", path=display,
                              hint="raise --max-file-size if the file is trusted")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeInput(f"file is larger than the limit ({limit} bytes)", path=display,
                          hint="raise --max-file-size if the file is trusted")
    return data


def read_input_file(item: InputFile, limit: int) -> bytes:
    """The bytes of one input (standard input for ``-``), within the size limit."""
    if item.path is None:
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise UnsafeInput(f"standard input is larger than the limit ({limit} bytes)", path="-",
                              hint="raise --max-file-size if the input is trusted")
        return data
    return read_limited(item.path, item.display, limit)


def confine(base: Path, relative: str, roots: list[str], display: str, *, allow_outside: bool = False) -> Path:
    """Resolve ``relative`` against ``base`` and refuse it unless it lands inside one of ``roots``."""
    candidate = base / relative
    # checked before existence (nothing outside can be probed), and again on the strictly resolved path
    for real in (os.path.realpath(candidate), _resolve(candidate, display)):
        if not allow_outside and not _inside(real, roots):
            raise UnsafeInput(f"path leads outside the allowed root ({', '.join(roots)})", path=display,
                              hint="keep encrypted files inside the repository, or set PSOPS_K8S_ROOT to a folder "
                                   "that contains them")
    return Path(real)


__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "InputFile",
    "WalkOptions",
    "collect_inputs",
    "confine",
    "ignored",
    "parse_ignore",
    "parse_size",
    "read_input_file",
    "read_limited",
]
