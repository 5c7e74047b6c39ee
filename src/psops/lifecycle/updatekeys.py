"""Bring a file's master keys, key groups and Shamir threshold in line with its creation rule.

The plan compares the file's key groups with the matching rule's group by group (as ``sops updatekeys``
does), by each key's public identity (``kind:recipient/fingerprint/ARN…``). Applying it:

* **no key removed** (or ``rotate=False``): the *same* data key is unwrapped and wrapped again for the rule's
  keys; values, ``mac`` and ``lastmodified`` are untouched, every key gets a new ``created_at`` -- exactly what
  sops writes. The values are not decrypted, so the MAC is not checked (as in sops).
* **a key removed** from the file altogether (``revoked``): its holder knows the current data key, so by
  default the key is rotated as well (:mod:`psops.lifecycle.rotate`): every value re-encrypted under a new data
  key, a new MAC, ``lastmodified`` and the recorded creation time set to now. A key that only moves between
  groups is not a revocation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from psops.engine import open_document, unwrap_data_key, wrap_data_key
from psops.formats import StoreSettings
from psops.keys.base import KeyStanza
from psops.lifecycle.policy_age import data_key_created
from psops.lifecycle.rotate import as_recipient, dump_encrypted, key_id, rotate_opened
from psops.metadata import DATA_KEY_CREATED_AT, Metadata, now_rfc3339
from psops.operations import load_encrypted, open_encrypted
from psops.policy import CreationRule


@dataclass
class KeyPlan:
    """What ``updatekeys`` would change in one file."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    threshold_before: int = 1
    threshold_after: int = 1
    groups_after: list[list[KeyStanza]] = field(default_factory=list)
    shamir_threshold: int = 0

    @property
    def changed(self) -> bool:
        """True when the file's keys, groups or threshold differ from the rule's."""
        return bool(self.added or self.removed or self.threshold_before != self.threshold_after)


def _effective_threshold(groups: int, threshold: int) -> int:
    return (threshold or groups) if groups > 1 else 1


def plan_update(meta: Metadata, rule: CreationRule) -> KeyPlan:
    """Compare the file's key groups with the rule's; entries read ``kind:identity`` (``[group N]`` with groups)."""
    before = meta.key_groups
    after = [[as_recipient(s) for s in g] for g in rule.key_groups]
    multi = max(len(before), len(after)) > 1
    plan = KeyPlan(groups_after=after, shamir_threshold=rule.shamir_threshold if len(after) > 1 else 0,
                   threshold_before=_effective_threshold(len(before), meta.shamir_threshold),
                   threshold_after=_effective_threshold(len(after), rule.shamir_threshold))
    for gi in range(max(len(before), len(after))):
        old = [key_id(s) for s in (before[gi] if gi < len(before) else [])]
        new = [key_id(s) for s in (after[gi] if gi < len(after) else [])]
        prefix = f"[group {gi}] " if multi else ""
        plan.added += [prefix + k for k in new if k not in old]
        plan.removed += [prefix + k for k in old if k not in new]
    everywhere = {key_id(s) for g in after for s in g}
    plan.revoked = sorted({key_id(s) for g in before for s in g} - everywhere)
    return plan


@dataclass
class UpdateResult:
    """The updated file (None when nothing changed), its plan, and whether the data key was rotated."""

    data: bytes | None
    plan: KeyPlan
    rotated: bool
    warnings: list[str] = field(default_factory=list)


def _keep_creation_time(meta: Metadata) -> dict[str, str]:
    """The extensions to write when the data key stays: a derived creation time is recorded now, because the
    new ``created_at`` values would otherwise make the key look as young as this update."""
    extensions = dict(meta.extensions)
    known = data_key_created(meta)
    if known.created is not None and known.source != "recorded":
        extensions[DATA_KEY_CREATED_AT] = now_rfc3339(known.created)
    return extensions


def plan_bytes(data: bytes, rule: CreationRule, *, input_format: str,
               settings: StoreSettings | None = None) -> KeyPlan:
    """The plan for an encrypted file's bytes (nothing is decrypted)."""
    _, meta = open_document(load_encrypted(data, input_format, settings))
    return plan_update(meta, rule)


def update_keys_bytes(data: bytes, rule: CreationRule, *, input_format: str,
                      settings: StoreSettings | None = None, rotate: bool = True, ignore_mac: bool = False,
                      decryption_order: Sequence[str] | None = None, now: datetime | None = None,
                      random: Callable[[int], bytes] = os.urandom) -> UpdateResult:
    """Apply the rule's keys to an encrypted file; rotate the data key when a key is revoked and ``rotate``."""
    branches, meta = open_document(load_encrypted(data, input_format, settings))
    plan = plan_update(meta, rule)
    if not plan.changed:
        return UpdateResult(None, plan, rotated=False)
    warnings: list[str] = []
    if plan.revoked and rotate:
        opened = open_encrypted(data, input_format=input_format, ignore_mac=ignore_mac,
                                decryption_order=decryption_order, settings=settings)
        doc, new_meta = rotate_opened(opened, plan.groups_after, shamir_threshold=plan.shamir_threshold,
                                      now=now or datetime.now(UTC), random=random)
        return UpdateResult(dump_encrypted(doc, new_meta, input_format, settings), plan, rotated=True,
                            warnings=opened.warnings)
    if plan.revoked:
        warnings.append("removed key(s) " + ", ".join(plan.revoked) + " still know the data key (--no-rotate): "
                        "run 'psops rotate' on this file to lock them out of future changes")
    data_key = unwrap_data_key(meta, decryption_order)
    wrapped = wrap_data_key(data_key, plan.groups_after, plan.shamir_threshold, random=random)
    new_meta = Metadata(key_groups=wrapped, rules=meta.rules, shamir_threshold=plan.shamir_threshold,
                        lastmodified=meta.lastmodified, mac=meta.mac, version=meta.version,
                        extensions=_keep_creation_time(meta))
    return UpdateResult(dump_encrypted(branches, new_meta, input_format, settings), plan, rotated=False,
                        warnings=warnings)


__all__ = ["KeyPlan", "UpdateResult", "plan_bytes", "plan_update", "update_keys_bytes"]
