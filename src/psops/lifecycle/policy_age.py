"""Rotation policy: ``rotate_after`` durations and the age of a file's data key.

A creation rule in ``.sops-policy.yaml`` may carry ``rotate_after: 90d`` (psops' extension; sops ignores
unknown rule keys). A duration is one or more ``<integer><unit>`` parts with units ``w`` (weeks), ``d``, ``h``,
``m`` and ``s``: ``90d``, ``12h``, ``30m``, ``45s``, ``1d12h``.

The data key's creation time comes from, in this order (see docs/lifecycle.md for the reasoning):

1. ``recorded``: the ``psops_data_key_created_at`` field of the ``sops`` block, written by ``psops encrypt``
   and ``psops rotate`` and kept by every psops write that keeps the data key. sops ignores the field when it
   reads the file and drops it when it rewrites the file, so its presence means psops wrote the file last.
   A recorded time later than ``lastmodified`` cannot be right (every write that records it also sets
   ``lastmodified``) and is ignored.
2. ``derived``: the earliest of ``lastmodified`` and every master key's ``created_at``. Exact for a file just
   encrypted or rotated by sops; too old (safe: rotated early) after ``sops rotate``, which keeps
   ``created_at``; too young after a sops edit of an age-only file or a ``sops updatekeys``, which is the
   documented limit.

The clock is a parameter (``now``); :func:`current_time` reads ``PSOPS_NOW`` (RFC 3339), a testing aid.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psops.cipher import parse_time
from psops.errors import PolicyError
from psops.metadata import DATA_KEY_CREATED_AT, Metadata

ROTATE_AFTER = "rotate_after"
NOW_ENV = "PSOPS_NOW"

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"^(?:\d+[wdhms])+$")
_PART_RE = re.compile(r"(\d+)([wdhms])")


def parse_duration(text: str) -> timedelta:
    """Parse ``90d``, ``12h``, ``30m``, ``45s``, ``2w`` or combinations such as ``1d12h``; ValueError otherwise."""
    compact = str(text).strip().lower()
    if not _DURATION_RE.match(compact):
        raise ValueError(f"invalid duration {text!r}: use a number and a unit, e.g. 90d, 12h, 30m, 45s")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART_RE.findall(compact))
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A compact human form of a duration: ``95d``, ``3h``, ``12m``, ``40s`` (largest unit, rounded down)."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit]:
            return f"{sign}{seconds // _UNITS[unit]}{unit}"
    return f"{sign}{seconds}s"


def rule_rotate_after(raw_rule: dict[str, Any], config_path: str) -> timedelta | None:
    """The ``rotate_after`` of a creation rule's raw mapping (None when absent); PolicyError when invalid."""
    value = raw_rule.get(ROTATE_AFTER)
    if value is None or value == "":
        return None
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise PolicyError(f"creation rule {ROTATE_AFTER}: {exc}", path=config_path,
                          hint="examples: rotate_after: 90d, 12h, 30m, 45s") from None


def current_time(now: datetime | None = None) -> datetime:
    """``now`` if given, else ``PSOPS_NOW`` (RFC 3339; for tests), else the system clock; always aware UTC."""
    if now is not None:
        return now.astimezone(UTC)
    pinned = os.environ.get(NOW_ENV, "")
    if pinned:
        try:
            return parse_time(pinned).astimezone(UTC)
        except ValueError:
            raise PolicyError(f"{NOW_ENV} is not an RFC 3339 time", hint="e.g. PSOPS_NOW=2030-01-01T00:00:00Z") \
                from None
    return datetime.now(UTC)


@dataclass(frozen=True)
class DataKeyTime:
    """When a file's data key was created, and whether that was read (``recorded``) or ``derived``."""

    created: datetime | None
    source: str  # "recorded", "derived" or "unknown"

    def age(self, now: datetime) -> timedelta | None:
        """How old the data key is at ``now`` (None when unknown)."""
        return None if self.created is None else now - self.created


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text).astimezone(UTC)
    except ValueError:
        return None


def data_key_created(meta: Metadata) -> DataKeyTime:
    """The data key's creation time: the recorded field when valid, else derived (see the module doc)."""
    lastmodified = _parse(meta.lastmodified)
    recorded = _parse(meta.extensions.get(DATA_KEY_CREATED_AT))
    if recorded is not None and (lastmodified is None or recorded <= lastmodified):
        return DataKeyTime(recorded, "recorded")
    times = [t for t in (_parse(s.fields.get("created_at")) for g in meta.key_groups for s in g) if t is not None]
    if lastmodified is not None:
        times.append(lastmodified)
    if not times:
        return DataKeyTime(None, "unknown")
    return DataKeyTime(min(times), "derived")


CLOCK_SKEW = timedelta(hours=1)
"""A creation time further in the future than this cannot be trusted: the key counts as due."""


def is_due(created: DataKeyTime, rotate_after: timedelta | None, now: datetime) -> bool:
    """True when a policy applies and the data key is older than it allows, or its age is unknown or lies
    in the future (beyond :data:`CLOCK_SKEW`)."""
    if rotate_after is None:
        return False
    age = created.age(now)
    return age is None or age > rotate_after or age < -CLOCK_SKEW


__all__ = [
    "NOW_ENV",
    "ROTATE_AFTER",
    "DataKeyTime",
    "current_time",
    "data_key_created",
    "format_duration",
    "is_due",
    "parse_duration",
    "rule_rotate_after",
]
