"""Which leaves get encrypted: SOPS' six mutually exclusive selection rules plus ``mac_only_encrypted``.

A leaf is encrypted by default; a rule narrows that. Suffix and regex rules test every key on the leaf's
path (never values); the comment-regex rules test the comments active above the leaf. With no rule at all,
SOPS applies ``unencrypted_suffix: _unencrypted`` and writes it to the metadata.
"""

from __future__ import annotations

from psops.errors import ConflictingParameters
from psops.record import FrozenRecord

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    import re

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

RULE_NAMES: tuple[str, ...] = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)
FIELD_NAMES: tuple[str, ...] = (*RULE_NAMES, "mac_only_encrypted")


def _compile(name: str, pattern: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    import re  # only for a regex rule: a decrypt without one never imports re

    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConflictingParameters(f"invalid {name} {pattern!r}: {exc}") from exc


class EncryptionRules(FrozenRecord):
    """The selection rule of a file (at most one of the six is set) and ``mac_only_encrypted``."""

    __slots__ = (*RULE_NAMES, "mac_only_encrypted", "_regex", "_comment_regex")
    unencrypted_suffix: str
    encrypted_suffix: str
    unencrypted_regex: str
    encrypted_regex: str
    unencrypted_comment_regex: str
    encrypted_comment_regex: str
    mac_only_encrypted: bool
    _regex: re.Pattern[str] | None
    _comment_regex: re.Pattern[str] | None

    def __init__(self, unencrypted_suffix: str = "", encrypted_suffix: str = "", unencrypted_regex: str = "",
                 encrypted_regex: str = "", unencrypted_comment_regex: str = "", encrypted_comment_regex: str = "",
                 mac_only_encrypted: bool = False) -> None:
        values = (unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex,
                  unencrypted_comment_regex, encrypted_comment_regex)
        set_rules = [name for name, value in zip(RULE_NAMES, values, strict=True) if value]
        if len(set_rules) > 1:
            raise ConflictingParameters(
                "only one of " + ", ".join(set_rules) + " may be set",
                hint="keep a single encrypted/unencrypted suffix or regex rule",
            )
        for name, value in zip(RULE_NAMES, values, strict=True):
            self._set(name, value)
        self._set("mac_only_encrypted", mac_only_encrypted)
        self._set("_regex", _compile("unencrypted_regex" if unencrypted_regex else "encrypted_regex",
                                     unencrypted_regex or encrypted_regex))
        self._set("_comment_regex", _compile(
            "unencrypted_comment_regex" if unencrypted_comment_regex else "encrypted_comment_regex",
            unencrypted_comment_regex or encrypted_comment_regex))

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in FIELD_NAMES)

    def __repr__(self) -> str:
        return "EncryptionRules(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in FIELD_NAMES) + ")"

    def replace(self, **changes: object) -> EncryptionRules:
        """A copy with ``changes`` applied (the rule checks run again)."""
        values: dict[str, object] = {name: getattr(self, name) for name in FIELD_NAMES}
        values.update(changes)
        return EncryptionRules(**values)  # type: ignore[arg-type]

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

    @property
    def uses_comments(self) -> bool:
        """True when the rule depends on the comments above a leaf."""
        return bool(self.unencrypted_comment_regex or self.encrypted_comment_regex)

    def should_encrypt(self, path: tuple[str, ...], active_comments: tuple[str, ...] = ()) -> bool:
        """Decide whether the leaf at ``path`` (under ``active_comments``) is encrypted."""
        suffix = self.unencrypted_suffix
        if suffix:  # plain loops: a generator per leaf costs more than the test (one call per value)
            for k in path:  # noqa: SIM110 - half the time of any() over a generator
                if k.endswith(suffix):
                    return False
            return True
        suffix = self.encrypted_suffix
        if suffix:
            for k in path:  # noqa: SIM110 - half the time of any() over a generator
                if k.endswith(suffix):
                    return True
            return False
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
    for name in FIELD_NAMES:
        if name in values and values[name] not in (None, ""):
            kwargs[name] = bool(values[name]) if name == "mac_only_encrypted" else str(values[name])
    return EncryptionRules(**kwargs)  # type: ignore[arg-type]
