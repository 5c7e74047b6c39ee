"""Choosing master keys and rules for a file: key flags first, else the matching creation rule.

Key flags (``--age``, ``--pgp``, ``--kms``, ``--gcp-kms``, ``--azure-kv``, ``--hc-vault-transit``, ``--hckms``
and their SOPS_* environment variables) are parsed by the policy module's parsers, the same code that reads
``.sops.yaml``, into one key group. ``--aws-profile`` and ``--encryption-context`` apply to the ``--kms`` keys;
the context also applies to the flat ``kms`` keys of a matching rule (not to ``key_groups``, as in sops).
"""

from __future__ import annotations

from psops.errors import InvalidEncryptionContext, PolicyError
from psops.formats import StoreSettings
from psops.keys.base import KeyStanza
from psops.operations import EncryptPlan, require_keys
from psops.record import FrozenRecord
from psops.selection import RULE_NAMES, EncryptionRules

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from pathlib import Path

    from psops.policy import Config

# KeyFlags field -> policy key kind, in the order the stanzas are listed (sops' in-memory order).
_FLAG_KINDS: tuple[tuple[str, str], ...] = (
    ("kms", "kms"), ("gcp_kms", "gcp_kms"), ("hckms", "hckms"), ("azure_kv", "azure_kv"),
    ("hc_vault_transit", "hc_vault"), ("pgp", "pgp"), ("age", "age"),
)


class KeyFlags(FrozenRecord):
    """The key options of one command, as given (comma-separated strings; None when absent)."""

    __slots__ = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault_transit", "hckms", "aws_profile",
                 "encryption_context")
    age: str | None
    pgp: str | None
    kms: str | None
    gcp_kms: str | None
    azure_kv: str | None
    hc_vault_transit: str | None
    hckms: str | None
    aws_profile: str | None
    encryption_context: str | None

    def __init__(self, age: str | None = None, pgp: str | None = None, kms: str | None = None,
                 gcp_kms: str | None = None, azure_kv: str | None = None, hc_vault_transit: str | None = None,
                 hckms: str | None = None, aws_profile: str | None = None,
                 encryption_context: str | None = None) -> None:
        for name, value in zip(self.__slots__, (age, pgp, kms, gcp_kms, azure_kv, hc_vault_transit, hckms,
                                                aws_profile, encryption_context), strict=True):
            self._set(name, value)

    def any_keys(self) -> bool:
        """True when at least one key flag (not counting profile/context) was given."""
        return any(getattr(self, name) for name, _ in _FLAG_KINDS)


def parse_encryption_context(text: str | None) -> dict[str, str]:
    """``k1:v1,k2:v2`` -> a dict (sops' syntax: each pair has exactly one ``:``); exit 6 when malformed."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for pair in text.split(","):
        parts = pair.split(":")
        if len(parts) != 2:
            raise InvalidEncryptionContext(
                f"invalid KMS encryption context {pair!r}",
                hint="use --encryption-context key:value,key:value (one ':' per pair)",
            )
        out[parts[0]] = parts[1]
    return out


def flag_groups(flags: KeyFlags) -> list[KeyStanza]:
    """Master keys given by key flags (or their SOPS_* environment variables), as one group."""
    from psops.policy import parse_key_list

    context = parse_encryption_context(flags.encryption_context)
    group: list[KeyStanza] = []
    for name, kind in _FLAG_KINDS:
        spec = getattr(flags, name)
        if spec:
            group += parse_key_list(kind, spec, aws_profile=flags.aws_profile or "", context=context or None)
    return group


def applicable_config(config: str | Path | None, name: str, *, creation_rules: bool = True) -> Config | None:
    """The config that applies to ``name`` (``-``: standard input): ``--config``, else the search."""
    from psops.policy.config import config_for

    return config_for(name, explicit=config, creation_rules=creation_rules)


def store_settings(config: str | Path | None, name: str, indent: int | None = None) -> StoreSettings:
    """Layout settings from the config that applies to ``name`` (defaults without one), then ``--indent``.

    The creation rules are not checked: a command that only reads or rewrites a file works despite a broken
    rule, as in sops (see :func:`psops.policy.config.load_config`)."""
    cfg = applicable_config(config, name, creation_rules=False)
    settings = cfg.stores if cfg is not None else StoreSettings()
    return settings.with_indent(indent) if indent is not None else settings


def encrypt_plan(name: str, *, config: str | Path | None, keys: KeyFlags, flag_rules: EncryptionRules,
                 shamir_threshold: int, indent: int | None = None) -> EncryptPlan:
    """Build the plan for encrypting ``name``: flags override the creation rule, field by field."""
    flag_keys = flag_groups(keys)
    cfg = applicable_config(config, name)
    return _plan(cfg, name, flag_keys, keys=keys, flag_rules=flag_rules, shamir_threshold=shamir_threshold,
                 indent=indent)


def plan_with_config(cfg: Config | None, name: str, *, keys: KeyFlags, flag_rules: EncryptionRules,
                     shamir_threshold: int, indent: int | None = None) -> EncryptPlan:
    """:func:`encrypt_plan` with the config that applies to ``name`` already looked up (None: there is none)."""
    return _plan(cfg, name, flag_groups(keys), keys=keys, flag_rules=flag_rules,
                 shamir_threshold=shamir_threshold, indent=indent)


def _plan(cfg: Config | None, name: str, flag_keys: list[KeyStanza], *, keys: KeyFlags,
          flag_rules: EncryptionRules, shamir_threshold: int, indent: int | None) -> EncryptPlan:
    rule = None
    if cfg is not None:
        try:
            rule = cfg.match(name)
        except PolicyError:
            if not flag_keys:
                raise
    if rule is not None and keys.encryption_context:
        rule = rule.with_kms_context(parse_encryption_context(keys.encryption_context))
    settings = cfg.stores if cfg is not None else StoreSettings()
    if indent is not None:
        settings = settings.with_indent(indent)
    groups = [flag_keys] if flag_keys else (rule.key_groups if rule else [])
    require_keys(groups, name)
    has_flag_rule = any(getattr(flag_rules, n) for n in RULE_NAMES)
    rules = flag_rules if has_flag_rule or rule is None else rule.rules
    mac_only = flag_rules.mac_only_encrypted or (rule is not None and rule.rules.mac_only_encrypted)
    rules = rules.replace(mac_only_encrypted=mac_only)
    threshold = shamir_threshold or (rule.shamir_threshold if rule else 0)
    return EncryptPlan(key_groups=groups, rules=rules, shamir_threshold=threshold, settings=settings)


__all__ = [
    "KeyFlags",
    "applicable_config",
    "encrypt_plan",
    "flag_groups",
    "parse_encryption_context",
    "plan_with_config",
    "store_settings",
]
