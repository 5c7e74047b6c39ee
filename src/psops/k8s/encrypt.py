"""Encrypting manifests the Kubernetes way: only ``data`` and ``stringData``, never what kubectl must read.

The convention (KSOPS' and Flux's documentation, ``encrypted_regex: ^(data|stringData)$``) leaves
``apiVersion``, ``kind`` and ``metadata`` readable, so tools can route, filter and review a Secret without its
key. It applies when neither the flags nor the matching creation rule choose a selection rule; a rule that
is chosen is kept, but a Kubernetes object whose ``apiVersion``, ``kind`` or ``metadata`` it would encrypt is
refused (Secrets above all: their name and namespace would become ``ENC[...]``). The file is encrypted as a
whole, exactly as ``sops --encrypted-regex '^(data|stringData)$' -e`` does (one data key, the ``sops`` block
in every document of a multi-document file), so sops reads it back.
"""

from __future__ import annotations

from psops.errors import ManifestCheckFailed
from psops.formats import get_store
from psops.k8s.checks import object_ref
from psops.operations import EncryptPlan, encrypt_bytes
from psops.selection import RULE_NAMES, EncryptionRules
from psops.tree import Comment, Document, Mapping, leaves, to_plain

K8S_ENCRYPTED_REGEX = "^(data|stringData)$"
READABLE_KEYS = ("apiVersion", "kind", "metadata")


def k8s_rules(rules: EncryptionRules) -> EncryptionRules:
    """``rules`` when one selection rule is set, else the Kubernetes convention (keeping mac_only_encrypted)."""
    if any(getattr(rules, name) for name in RULE_NAMES):
        return rules
    return EncryptionRules(encrypted_regex=K8S_ENCRYPTED_REGEX, mac_only_encrypted=rules.mac_only_encrypted)


def check_readable(doc: Document, rules: EncryptionRules, where: str) -> None:
    """Refuse when ``rules`` would encrypt a value under apiVersion, kind or metadata of an object."""
    effective = rules.with_default()
    multi = len(doc) > 1
    for n, branch in enumerate(doc, 1):
        if not isinstance(branch.get("kind"), str):
            continue
        ref = object_ref(to_plain(branch))
        for key in READABLE_KEYS:
            if key not in branch:
                continue
            for path, leaf in leaves(branch.get(key), (key,)):
                if isinstance(leaf, Comment) or not effective.should_encrypt(path):
                    continue
                at = f"{where} (document {n})" if multi else where
                raise ManifestCheckFailed(
                    f"{ref.label()}: the selection rule would encrypt {'.'.join(path)}, which Kubernetes tools "
                    "must read", path=at,
                    hint=f"use --encrypted-regex '{K8S_ENCRYPTED_REGEX}' (the default when no rule is set)")


def encrypt_manifest(data: bytes, plan: EncryptPlan, *, fmt: str, where: str) -> bytes:
    """Encrypt one manifest file (YAML stream or JSON) under the Kubernetes convention."""
    rules = k8s_rules(plan.rules)
    doc = get_store(fmt, plan.settings).load(data)
    check_readable(doc, rules, where)
    return encrypt_bytes(data, plan.replace(rules=rules), input_format=fmt, output_format=fmt)


def is_object(branch: Mapping) -> bool:
    """True when a branch looks like a Kubernetes object (has a string ``kind``)."""
    return isinstance(branch.get("kind"), str)


__all__ = ["K8S_ENCRYPTED_REGEX", "check_readable", "encrypt_manifest", "is_object", "k8s_rules"]
