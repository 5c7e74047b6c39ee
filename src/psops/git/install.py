"""``psops git install`` / ``uninstall``: the git configuration that routes encrypted files through psops.

Written with gitpython (imported here, lazily) into the repository's ``.git/config``, or with ``--global``
into the user's ``~/.gitconfig`` (``$GIT_CONFIG_GLOBAL`` when set)::

    [diff "psops"]
        textconv = psops git textconv
        cachetextconv = false
    [merge "psops"]
        name = psops: structural 3-way merge of encrypted files
        driver = psops git merge %O %A %B %L %P
    [mergetool "psops"]
        cmd = psops git mergetool --base "$BASE" --local "$LOCAL" --remote "$REMOTE" "$MERGED"
        trustExitCode = true

``cachetextconv`` is off unless asked for: git would store the textconv output — decrypted secrets — as
blobs under ``refs/notes/textconv/psops`` in the object database. With ``--attributes GLOB`` the line
``GLOB diff=psops merge=psops`` is added to ``.gitattributes`` (the global attributes file with
``--global``); with ``--hook`` the pre-commit guard is written to the repository's hooks folder. Every step is
idempotent. ``uninstall`` removes the three sections, the ``diff=psops``/``merge=psops`` attributes (and lines
left with none) and a hook psops wrote (never someone else's hook).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psops.errors import CannotWriteOutput, GitError
from psops.files import atomic_write
from psops.git.plumbing import git, toplevel

ATTRIBUTES = ("diff=psops", "merge=psops")
HOOK_MARKER = "psops-managed-hook"
PRE_COMMIT_HOOK = f"""#!/bin/sh
# psops pre-commit guard: refuses a commit that stages plaintext secrets, unencrypted files that a creation
# rule says must be encrypted, broken SOPS files or private keys. See: psops check --help
# Install: copy to .git/hooks/pre-commit and make it executable, or run: psops git install --hook
# Silence a false positive with a .psops-allowlist entry or a psops:allow comment on the line.
# {HOOK_MARKER}
if ! command -v psops >/dev/null 2>&1; then
    echo "psops pre-commit: psops is not on PATH (install it, or skip once with git commit --no-verify)" >&2
    exit 1
fi
exec psops check --staged
"""


@dataclass(frozen=True)
class Setting:
    """One git config value psops writes."""

    section: str
    option: str
    value: str

    @property
    def name(self) -> str:
        """The dotted name, e.g. ``diff.psops.textconv``."""
        kind, sub = self.section.split(" ", 1)
        return f"{kind}.{sub.strip(chr(34))}.{self.option}"


@dataclass
class InstallReport:
    """What install/uninstall changed, for the user."""

    config_path: Path
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def settings(command: str = "psops", *, cache_textconv: bool = False) -> list[Setting]:
    """The config values for a psops invoked as ``command`` (shell words, e.g. ``psops``)."""
    return [
        Setting('diff "psops"', "textconv", f"{command} git textconv"),
        Setting('diff "psops"', "cachetextconv", "true" if cache_textconv else "false"),
        Setting('merge "psops"', "name", "psops: structural 3-way merge of encrypted files"),
        Setting('merge "psops"', "driver", f"{command} git merge %O %A %B %L %P"),
        Setting('mergetool "psops"', "cmd",
                f'{command} git mergetool --base "$BASE" --local "$LOCAL" --remote "$REMOTE" "$MERGED"'),
        Setting('mergetool "psops"', "trustExitCode", "true"),
    ]


SECTIONS = ('diff "psops"', 'merge "psops"', 'mergetool "psops"')


def global_config_path() -> Path:
    """The user's git config file: ``$GIT_CONFIG_GLOBAL``, else ``~/.gitconfig``."""
    explicit = os.environ.get("GIT_CONFIG_GLOBAL")
    return Path(explicit) if explicit else Path.home() / ".gitconfig"


def _open_config(repo_dir: Path | None, global_: bool) -> tuple[Any, Path]:
    import git as gitpython

    if global_:
        path = global_config_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o644)
        return gitpython.GitConfigParser(str(path), read_only=False), path
    try:
        repo = gitpython.Repo(repo_dir or Path.cwd(), search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        raise GitError("not inside a git repository", path=str(repo_dir or Path.cwd()),
                       hint="run it in a repository, or pass --global") from None
    return repo.config_writer("repository"), Path(repo.git_dir) / "config"


def _current(parser: Any, setting: Setting) -> str | None:
    if not parser.has_option(setting.section, setting.option):
        return None
    return str(parser.get(setting.section, setting.option))


def attributes_path(repo_dir: Path | None, global_: bool) -> Path:
    """``.gitattributes`` at the work tree's root, or the global attributes file."""
    if not global_:
        return toplevel(repo_dir) / ".gitattributes"
    try:
        configured = git("config", "--global", "--get", "core.attributesFile").decode().strip()
    except GitError:
        configured = ""
    if configured:
        return Path(os.path.expanduser(configured))
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "git" / "attributes"


def _add_attribute_lines(path: Path, globs: list[str], report: InstallReport) -> None:
    text = path.read_text() if path.exists() else ""
    lines = text.splitlines()
    present = {" ".join(line.split()) for line in lines}
    added = []
    for pattern in globs:
        line = f"{pattern} {' '.join(ATTRIBUTES)}"
        if line in present:
            report.unchanged.append(f"{path}: {line}")
            continue
        lines.append(line)
        present.add(line)
        added.append(f"{path}: {line}")
    if added:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, ("\n".join(lines) + "\n").encode(), default_mode=0o644)
        report.changed.extend(added)


def _remove_attribute_lines(path: Path, report: InstallReport) -> None:
    if not path.exists():
        return
    out: list[str] = []
    removed = False
    for line in path.read_text().splitlines():
        words = line.split()
        if words and not line.lstrip().startswith("#") and any(w in ATTRIBUTES for w in words[1:]):
            kept = [words[0], *(w for w in words[1:] if w not in ATTRIBUTES)]
            removed = True
            report.changed.append(f"{path}: removed psops attributes from {words[0]}")
            if len(kept) > 1:
                out.append(" ".join(kept))
            continue
        out.append(line)
    if removed:
        atomic_write(path, ("\n".join(out) + "\n").encode() if out else b"", default_mode=0o644)


def hook_path(repo_dir: Path | None) -> Path:
    """The repository's pre-commit hook path (honours ``core.hooksPath``)."""
    root = toplevel(repo_dir)
    rel = git("rev-parse", "--git-path", "hooks/pre-commit", cwd=root).decode().strip()
    return (root / rel) if not os.path.isabs(rel) else Path(rel)


def _install_hook(repo_dir: Path | None, report: InstallReport) -> None:
    path = hook_path(repo_dir)
    if path.exists():
        current = path.read_text(errors="replace")
        if HOOK_MARKER not in current:
            raise CannotWriteOutput("a pre-commit hook that psops did not write exists already", path=str(path),
                                    hint="add the line 'psops check --staged' to it yourself")
        if current == PRE_COMMIT_HOOK:
            report.unchanged.append(f"{path}")
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, PRE_COMMIT_HOOK.encode(), default_mode=0o755)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    report.changed.append(f"{path}: pre-commit hook")


def install(*, repo_dir: Path | None = None, global_: bool = False, attributes: list[str] | None = None,
            command: str = "psops", cache_textconv: bool = False, hook: bool = False) -> InstallReport:
    """Write the diff, merge and mergetool settings (and optionally attributes and the hook); idempotent."""
    parser, path = _open_config(repo_dir, global_)
    report = InstallReport(path)
    try:
        for setting in settings(command, cache_textconv=cache_textconv):
            if _current(parser, setting) == setting.value:
                report.unchanged.append(setting.name)
                continue
            if not parser.has_section(setting.section):
                parser.add_section(setting.section)
            parser.set_value(setting.section, setting.option, setting.value)
            report.changed.append(setting.name)
    finally:
        parser.release()
    if attributes:
        _add_attribute_lines(attributes_path(repo_dir, global_), attributes, report)
    if hook:
        if global_:
            raise GitError("--hook installs into one repository", hint="run it without --global in the repository")
        _install_hook(repo_dir, report)
    return report


def uninstall(*, repo_dir: Path | None = None, global_: bool = False) -> InstallReport:
    """Remove what :func:`install` wrote: the three sections, the attributes, and psops' own hook."""
    parser, path = _open_config(repo_dir, global_)
    report = InstallReport(path)
    try:
        for section in SECTIONS:
            if parser.has_section(section):
                parser.remove_section(section)
                report.changed.append(f"[{section}]")
    finally:
        parser.release()
    _remove_attribute_lines(attributes_path(repo_dir, global_), report)
    if not global_:
        hook = hook_path(repo_dir)
        if hook.exists() and HOOK_MARKER in hook.read_text(errors="replace"):
            hook.unlink()
            report.changed.append(f"{hook}: pre-commit hook removed")
    return report


__all__ = [
    "ATTRIBUTES",
    "PRE_COMMIT_HOOK",
    "InstallReport",
    "Setting",
    "attributes_path",
    "global_config_path",
    "hook_path",
    "install",
    "settings",
    "uninstall",
]
