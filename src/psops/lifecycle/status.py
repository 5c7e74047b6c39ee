"""``psops status``: per file, is it encrypted, with which keys, how old is its data key, is it due, are its
recipients stale -- read from the metadata alone, so it needs no key and decrypts nothing (CI can run it).

*Due*: the matching creation rule has ``rotate_after`` and the data key is older than that (or its age is
unknown). *Stale*: the file's master keys, key groups or threshold differ from the rule's (what ``psops
updatekeys`` would change). Files a search finds are the encrypted ones matching a creation rule, plus plain
files matched by a rule that has a ``path_regex`` (they were probably meant to be encrypted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from psops.engine import open_document
from psops.errors import PolicyError, PsopsError
from psops.files import read_input
from psops.formats import format_for, get_store
from psops.lifecycle.bulk import is_encrypted_file, matches_rule
from psops.lifecycle.policy_age import data_key_created, format_duration, is_due, rule_rotate_after
from psops.lifecycle.rotate import key_id
from psops.lifecycle.updatekeys import plan_update
from psops.metadata import now_rfc3339
from psops.operations import file_status
from psops.policy import CONFIG_NAMES, CreationRule, discover_config


@dataclass
class FileStatus:
    """What ``psops status`` reports for one file (``--json`` prints these fields)."""

    path: str
    encrypted: bool
    keys: list[str] = field(default_factory=list)
    data_key_created: str | None = None
    data_key_created_source: str = "unknown"
    data_key_age_seconds: int | None = None
    rotate_after: str | None = None
    rotate_after_seconds: int | None = None
    due: bool = False
    rule: bool = False
    stale: bool = False
    keys_to_add: list[str] = field(default_factory=list)
    keys_to_remove: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def problem(self) -> bool:
        """True when ``--check`` should fail for this file (due, stale, or unreadable)."""
        return self.due or self.stale or self.error is not None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data for JSON."""
        return asdict(self)


def _rule_for(path: str, config: Path | None) -> tuple[CreationRule | None, str]:
    cfg = discover_config(Path(path), explicit=config)
    if cfg is None:
        return None, ""
    try:
        return cfg.match(Path(path)), str(cfg.path)
    except PolicyError:
        return None, str(cfg.path)


def status_of(path: str, *, config: Path | None = None, now: datetime) -> FileStatus:
    """The status of one file at time ``now``: errors reading the file are reported in ``error``; an invalid
    policy (e.g. a malformed ``rotate_after``) is raised, since it concerns every file, not this one."""
    try:
        return _status(path, config, now)
    except PolicyError:
        raise
    except PsopsError as exc:
        return FileStatus(path=path, encrypted=False, error=exc.message)


def _status(path: str, config: Path | None, now: datetime) -> FileStatus:
    data = read_input(path)
    fmt = format_for(path)
    if not file_status(data, fmt):
        rule, _ = _rule_for(path, config)
        return FileStatus(path=path, encrypted=False, rule=rule is not None)
    _, meta = open_document(get_store(fmt).load(data))
    created = data_key_created(meta)
    age = created.age(now)
    out = FileStatus(path=path, encrypted=True, keys=[key_id(s) for g in meta.key_groups for s in g],
                     data_key_created=now_rfc3339(created.created) if created.created else None,
                     data_key_created_source=created.source,
                     data_key_age_seconds=int(age.total_seconds()) if age is not None else None)
    rule, config_path = _rule_for(path, config)
    if rule is None:
        return out
    out.rule = True
    limit: timedelta | None = rule_rotate_after(rule.raw, config_path)
    if limit is not None:
        out.rotate_after = format_duration(limit)
        out.rotate_after_seconds = int(limit.total_seconds())
        out.due = is_due(created, limit, now)
    if any(rule.key_groups):
        plan = plan_update(meta, rule)
        out.stale = plan.changed
        out.keys_to_add, out.keys_to_remove = plan.added, plan.removed
    return out


def status_selection(path: Path, config: Path | None = None) -> bool:
    """Search filter for ``status``: encrypted files under a rule, and plain files a ``path_regex`` rule names."""
    if path.name in CONFIG_NAMES:
        return False
    if is_encrypted_file(path):
        return matches_rule(path, config)
    if not matches_rule(path, config):
        return False
    rule, _ = _rule_for(str(path), config)
    return rule is not None and bool(rule.path_regex)


def summarize(items: list[FileStatus]) -> str:
    """``4 files: 3 encrypted, 1 due, 1 stale, 1 not encrypted`` style summary line."""
    enc = sum(1 for s in items if s.encrypted)
    parts = [f"{enc} encrypted"]
    for label, count in (("due for rotation", sum(1 for s in items if s.due)),
                         ("stale", sum(1 for s in items if s.stale)),
                         ("not encrypted", sum(1 for s in items if not s.encrypted and s.error is None)),
                         ("unreadable", sum(1 for s in items if s.error is not None))):
        if count:
            parts.append(f"{count} {label}")
    noun = "file" if len(items) == 1 else "files"
    return f"{len(items)} {noun}: " + ", ".join(parts)


__all__ = ["FileStatus", "status_of", "status_selection", "summarize"]
