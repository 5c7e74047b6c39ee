"""The ``.psops-allowlist`` file: which ``psops check`` findings to silence, by file pattern and rule.

The file sits at the root of the work tree (the working copy is read, so an entry works before it is
staged). Format, one entry per line::

    # a comment line; blank lines are ignored
    docs/examples/*.pem                       # every rule, in every file the pattern matches
    tests/fixtures/* aws-access-key-id        # only the named rules (several may follow, space-separated)
    README.md high-entropy-assignment github-token

A pattern is an ``fnmatch`` glob matched against the repository-relative path with ``/`` separators, where
``*`` and ``?`` also match ``/`` (so ``tests/*`` covers the whole tree below ``tests``); a pattern without a
``/`` also matches the base name in any folder. Text after `` #`` is a comment. To silence one line rather
than a file, put ``psops:allow`` (or ``psops:allow RULE``) in a comment on that line.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ALLOWLIST_NAME = ".psops-allowlist"


@dataclass(frozen=True)
class AllowEntry:
    """One allowlist line: a path pattern and the rules it silences (empty: all)."""

    pattern: str
    rules: frozenset[str] = frozenset()
    line: int = 0

    def covers(self, path: str, rule: str) -> bool:
        """True when this entry silences ``rule`` in ``path``."""
        if self.rules and rule not in self.rules:
            return False
        if fnmatch.fnmatchcase(path, self.pattern):
            return True
        return "/" not in self.pattern and fnmatch.fnmatchcase(PurePosixPath(path).name, self.pattern)


@dataclass
class Allowlist:
    """The parsed allowlist, plus the unknown rule names it mentions (reported as warnings)."""

    entries: list[AllowEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def covers(self, path: str, rule: str) -> bool:
        """True when any entry silences ``rule`` in ``path``."""
        return any(entry.covers(path, rule) for entry in self.entries)


def parse_allowlist(text: str, *, known_rules: frozenset[str] | None = None,
                    source: str = ALLOWLIST_NAME) -> Allowlist:
    """Parse the allowlist format described in the module docstring."""
    result = Allowlist()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        pattern, *rules = line.split()
        unknown = [r for r in rules if known_rules is not None and r not in known_rules]
        if unknown:
            result.warnings.append(f"{source}:{number}: unknown rule {unknown[0]!r} (see psops check --list-rules)")
        result.entries.append(AllowEntry(pattern, frozenset(rules), number))
    return result


def load_allowlist(root: Path, *, known_rules: frozenset[str] | None = None) -> Allowlist:
    """Read ``.psops-allowlist`` at ``root`` (an empty allowlist when there is none)."""
    path = root / ALLOWLIST_NAME
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Allowlist()
    return parse_allowlist(text, known_rules=known_rules)


__all__ = ["ALLOWLIST_NAME", "AllowEntry", "Allowlist", "load_allowlist", "parse_allowlist"]
