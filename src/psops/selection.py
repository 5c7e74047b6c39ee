"""Which leaves get encrypted: SOPS' six mutually exclusive selection rules plus ``mac_only_encrypted``.

A leaf is encrypted by default; a rule narrows that. Suffix and regex rules test every key on the leaf's
path (never values); the comment-regex rules test the comments active above the leaf. With no rule at all,
SOPS applies ``unencrypted_suffix: _unencrypted`` and writes it to the metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cached_property

from psops.errors import ConflictingParameters

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

RULE_NAMES: tuple[str, ...] = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)


@dataclass(frozen=True)
class EncryptionRules:
    """The selection rule of a file (at most one of the six is set) and ``mac_only_encrypted``."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""
    unencrypted_comment_regex: str = ""
    encrypted_comment_regex: str = ""
    mac_only_encrypted: bool = False

    def __post_init__(self) -> None:
        set_rules = [name for name in RULE_NAMES if getattr(self, name)]
        if len(set_rules) > 1:
            raise ConflictingParameters(
                "only one of " + ", ".join(set_rules) + " may be set",
                hint="keep a single encrypted/unencrypted suffix or regex rule",
            )
        for name in ("unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex",
                     "encrypted_comment_regex"):
            pattern = getattr(self, name)
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConflictingParameters(f"invalid {name} {pattern!r}: {exc}") from exc

    def with_default(self) -> EncryptionRules:
        """Return these rules, with ``unencrypted_suffix: _unencrypted`` when no rule is set (SOPS default)."""
        if any(getattr(self, name) for name in RULE_NAMES):
            return self
        return EncryptionRules(unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX,
                               mac_only_encrypted=self.mac_only_encrypted)

    def as_metadata(self) -> dict[str, object]:
        """The rule fields to write into the ``sops`` block, in SOPS' order (empty ones omitted)."""
        out: dict[str, object] = {name: getattr(self, name) for name in RULE_NAMES if getattr(self, name)}
        return out

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        pattern = self.unencrypted_regex or self.encrypted_regex
        return re.compile(pattern) if pattern else None

    @cached_property
    def _comment_regex(self) -> re.Pattern[str] | None:
        pattern = self.unencrypted_comment_regex or self.encrypted_comment_regex
        return re.compile(pattern) if pattern else None

    @property
    def uses_comments(self) -> bool:
        """True when the rule depends on the comments above a leaf."""
        return bool(self.unencrypted_comment_regex or self.encrypted_comment_regex)

    def should_encrypt(self, path: tuple[str, ...], active_comments: tuple[str, ...] = ()) -> bool:
        """Decide whether the leaf at ``path`` (under ``active_comments``) is encrypted."""
        if self.unencrypted_suffix:
            return not any(k.endswith(self.unencrypted_suffix) for k in path)
        if self.encrypted_suffix:
            return any(k.endswith(self.encrypted_suffix) for k in path)
        if self._regex is not None:
            hit = any(self._regex.search(k) for k in path)
            return not hit if self.unencrypted_regex else hit
        if self._comment_regex is not None:
            hit = any(self._comment_regex.search(c) for c in active_comments)
            return not hit if self.unencrypted_comment_regex else hit
        return True


def rules_from_mapping(values: dict[str, object]) -> EncryptionRules:
    """Build rules from a metadata or config mapping, ignoring unrelated keys."""
    kwargs: dict[str, object] = {}
    for f in fields(EncryptionRules):
        if f.name in values and values[f.name] not in (None, ""):
            kwargs[f.name] = bool(values[f.name]) if f.name == "mac_only_encrypted" else str(values[f.name])
    return EncryptionRules(**kwargs)  # type: ignore[arg-type]
