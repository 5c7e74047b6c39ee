"""Choosing master keys and rules for a file: key flags first, else the matching creation rule."""

from __future__ import annotations

from pathlib import Path

from psops.errors import PolicyError
from psops.formats import StoreSettings
from psops.keys import get_service
from psops.keys.base import KeyStanza
from psops.operations import EncryptPlan, require_keys
from psops.selection import EncryptionRules


def flag_groups(age: str | None, pgp: str | None) -> list[KeyStanza]:
    """Master keys given by --age/--pgp (or SOPS_AGE_RECIPIENTS/SOPS_PGP_FP), as one group."""
    group: list[KeyStanza] = []
    if age:
        group += get_service("age").parse_recipients(age)
    if pgp:
        group += get_service("pgp").parse_recipients(pgp)
    return group


def store_settings(config: Path | None, name: str) -> StoreSettings:
    """Layout settings from the config that applies to ``name`` (defaults without one)."""
    from psops.policy import discover_config

    cfg = discover_config(Path(name) if name != "-" else None, explicit=config)
    return cfg.stores if cfg is not None else StoreSettings()


def encrypt_plan(name: str, *, config: Path | None, age: str | None, pgp: str | None,
                 flag_rules: EncryptionRules, shamir_threshold: int) -> EncryptPlan:
    """Build the plan for encrypting ``name``: flags override the creation rule, field by field."""
    from psops.policy import discover_config

    flag_keys = flag_groups(age, pgp)
    cfg = discover_config(Path(name) if name != "-" else None, explicit=config)
    rule = None
    if cfg is not None:
        try:
            rule = cfg.match(Path(name))
        except PolicyError:
            if not flag_keys:
                raise
    settings = cfg.stores if cfg is not None else StoreSettings()
    groups = [flag_keys] if flag_keys else (rule.key_groups if rule else [])
    require_keys(groups, name)
    has_flag_rule = any(getattr(flag_rules, n) for n in ("unencrypted_suffix", "encrypted_suffix",
                                                          "unencrypted_regex", "encrypted_regex",
                                                          "unencrypted_comment_regex", "encrypted_comment_regex"))
    rules = flag_rules if has_flag_rule or rule is None else rule.rules
    if rule is not None and rule.rules.mac_only_encrypted and not rules.mac_only_encrypted:
        rules = EncryptionRules(**{**rules.__dict__, "mac_only_encrypted": True})
    threshold = shamir_threshold or (rule.shamir_threshold if rule else 0)
    return EncryptPlan(key_groups=groups, rules=rules, shamir_threshold=threshold, settings=settings)
