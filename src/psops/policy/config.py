"""Creation rules: find, parse and match ``.sops-policy.yaml`` / ``.sops.yaml`` (spec section 7).

File names
    ``.sops-policy.yaml`` is psops' own name; ``.sops.yaml`` is SOPS' name and is read as-is, so one file can
    serve both tools. In one folder ``.sops-policy.yaml`` wins. A ``.sops.yml`` is never read (SOPS ignores it
    too); seeing one produces a warning string in the result, nothing is printed.

Discovery (:func:`find_config`)
    1. An explicit path (``--config PATH``) wins; otherwise the environment variable ``SOPS_CONFIG`` (read by
       :func:`config_from_env`, which :func:`find_config` calls when ``explicit`` is None). No search happens
       then, and a missing explicit file is a :class:`~psops.errors.PolicyError`.
    2. Otherwise search upward from the directory of the *target file* (at most 100 levels), and only when
       nothing is found there, upward from the current working directory.

    **Difference from SOPS:** ``sops`` searches only from the working directory. psops looks next to the file
    first, because that is what users expect (``psops encrypt ../other-repo/x.yaml`` uses the other repo's
    rules). When the working directory is inside the file's tree, both give the same result.

Matching (:meth:`Config.match`) is exactly SOPS': rules are tried in order and the first match wins; an empty
or missing ``path_regex`` matches everything; ``path_regex`` is an unanchored search (Python ``re.search``,
close enough to Go RE2) against the file path made absolute and then stripped of ``<abs dir of config>/`` when
the file is below the config's directory (else the absolute path). A filename override replaces the file path
(and is made absolute the same way, as SOPS does). If the config has rules but none matches, that is a
PolicyError; a config without ``creation_rules`` (absent or null) behaves like no config, while
``creation_rules: []`` has rules, none of which matches (both checked against sops 3.11).

Keys are produced as :class:`~psops.keys.base.KeyStanza` recipients (no ``enc``) without importing any key
service; the string parsers (:func:`parse_key_list` and friends) are public so the CLI can reuse them for
``--age``, ``--kms``, ``--gcp-kms`` ...

Deliberate differences from SOPS, all stricter: every rule is parsed and validated when the file is loaded
(SOPS only builds the keys of the rule that matched), so a broken rule is reported even when an earlier rule
matches; an age recipient must look like one (``age1…``, ``ssh-ed25519 …``, ``ssh-rsa …``).
Duplicate keys are removed inside ``key_groups`` groups (as SOPS); flat key fields are kept as written (as
SOPS). Unknown top-level keys and rule keys (psops extensions such as ``audit:`` or ``rotate_after``) are
ignored here but kept in ``Config.raw`` / ``CreationRule.raw`` for the features that read them.
"""

from __future__ import annotations

import os

from psops.errors import ConflictingParameters, PolicyError, PsopsError
from psops.formats import StoreSettings
from psops.keys.base import KeyStanza
from psops.lazyre import lazy_compile
from psops.record import FrozenRecord
from psops.selection import RULE_NAMES, EncryptionRules, rules_from_mapping

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: decrypt reads this module's settings on every run
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Mapping
    from pathlib import Path
    from typing import Any

__all__ = [
    "CONFIG_NAMES",
    "IGNORED_CONFIG_NAME",
    "MAX_SEARCH_DEPTH",
    "POLICY_CONFIG_NAME",
    "SOPS_CONFIG_NAME",
    "Config",
    "ConfigFile",
    "CreationRule",
    "InvalidKeySpec",
    "StoreSettings",
    "config_for",
    "config_from_env",
    "discover_config",
    "find_config",
    "key_identity",
    "load_config",
    "parse_age_recipient",
    "parse_azure_kv_url",
    "parse_gcp_kms",
    "parse_hckms",
    "parse_key_list",
    "parse_kms_arn",
    "parse_pgp_fingerprint",
    "parse_vault_uri",
    "split_key_list",
]

POLICY_CONFIG_NAME = ".sops-policy.yaml"
SOPS_CONFIG_NAME = ".sops.yaml"
IGNORED_CONFIG_NAME = ".sops.yml"
# In one folder, the first name found wins.
CONFIG_NAMES: tuple[str, ...] = (POLICY_CONFIG_NAME, SOPS_CONFIG_NAME)
MAX_SEARCH_DEPTH = 100
ENV_CONFIG = "SOPS_CONFIG"


class InvalidKeySpec(PsopsError):
    """A key string (age recipient, KMS ARN, Azure URL, Vault URI ...) cannot be parsed."""

    exit_code = 1


# --------------------------------------------------------------------------------------------------------
# Key strings -> recipient stanzas
# --------------------------------------------------------------------------------------------------------

_AZURE_URL = lazy_compile(r"^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$")
_VAULT_PREFIXED = lazy_compile(r"/[^/]+/v[\d]+/[^/]+/[^/]+/[^/]+")
_VAULT_PATH = lazy_compile(r"/v[\d]+/.+/keys/[^/]+")
# What _is_age_recipient tests (hand-written: no regex engine at start-up; the tests compare the two)
_AGE_RECIPIENT = lazy_compile(r"^(age1[0-9a-z]+|ssh-ed25519 \S+.*|ssh-rsa \S+.*)$")
_AGE_BECH32_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _is_age_recipient(text: str) -> bool:
    """``_AGE_RECIPIENT.match(text)``: ``age1`` + [0-9a-z]+, or an SSH public key line (one final newline allowed)."""
    if text.endswith("\n"):  # '$' also matches before a final newline
        text = text[:-1]
    if "\n" in text:
        return False
    if text.startswith("age1"):
        return len(text) > 4 and not text[4:].strip(_AGE_BECH32_CHARS)
    for prefix in ("ssh-ed25519 ", "ssh-rsa "):
        if text.startswith(prefix):
            return len(text) > len(prefix) and not text[len(prefix)].isspace()
    return False

# Config field / CLI name -> stanza kind (metadata list name).
_KIND_ALIASES: dict[str, str] = {
    "age": "age",
    "pgp": "pgp",
    "kms": "kms",
    "gcp_kms": "gcp_kms",
    "azure_kv": "azure_kv",
    "azure_keyvault": "azure_kv",
    "hc_vault": "hc_vault",
    "hc_vault_transit_uri": "hc_vault",
    "hckms": "hckms",
}


def split_key_list(spec: str | Iterable[str], *, remove_spaces: bool = False) -> list[str]:
    """Split a comma-separated key list (or a list of such strings): items trimmed, empty items dropped."""
    parts = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for part in parts:
        for item in part.split(","):
            item = item.replace(" ", "") if remove_spaces else item.strip()
            if item:
                out.append(item)
    return out


def parse_age_recipient(recipient: str) -> KeyStanza:
    """An age recipient (``age1…``, ``ssh-ed25519 …``, ``ssh-rsa …``), trimmed and stored verbatim."""
    recipient = recipient.strip()
    if recipient.upper().startswith("AGE-SECRET-KEY-") or recipient.startswith("AGE-PLUGIN-"):
        # Never echo identity material.
        raise InvalidKeySpec("an age identity (secret key) was given where a recipient (age1…) is expected",
                             hint="use the public key printed by `age-keygen -y`")
    if not _is_age_recipient(recipient):
        raise InvalidKeySpec(f"invalid age recipient {recipient!r}",
                             hint="age recipients start with age1, ssh-ed25519 or ssh-rsa")
    return KeyStanza("age", {"recipient": recipient})


def parse_pgp_fingerprint(fingerprint: str) -> KeyStanza:
    """A PGP fingerprint with all spaces removed (a trailing ``!`` is kept)."""
    fp = fingerprint.replace(" ", "")
    if not fp:
        raise InvalidKeySpec("empty PGP fingerprint")
    return KeyStanza("pgp", {"fp": fp})


def _kms_stanza(arn: str, role: str, context: Mapping[str, str] | None, aws_profile: str) -> KeyStanza:
    fields: dict[str, object] = {"arn": arn}
    if role:
        fields["role"] = role
    if context:
        fields["context"] = dict(context)
    fields["aws_profile"] = aws_profile
    return KeyStanza("kms", fields)


def parse_kms_arn(spec: str, *, context: Mapping[str, str] | None = None, aws_profile: str = "") -> KeyStanza:
    """A KMS key ``arn[+roleArn]`` (spaces removed; the role is split off at ``+arn:``)."""
    spec = spec.replace(" ", "")
    role = ""
    idx = spec.find("+arn:")
    if idx > 0:
        spec, role = spec[:idx], spec[idx + 1:]
    if not spec:
        raise InvalidKeySpec("empty AWS KMS key ARN")
    return _kms_stanza(spec, role, context, aws_profile)


def parse_gcp_kms(resource_id: str) -> KeyStanza:
    """A GCP KMS resource ID ``projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`` (spaces removed)."""
    rid = resource_id.replace(" ", "")
    if not rid:
        raise InvalidKeySpec("empty GCP KMS resource ID")
    return KeyStanza("gcp_kms", {"resource_id": rid})


def parse_azure_kv_url(url: str) -> KeyStanza:
    """An Azure Key Vault key URL ``https://<vault>/keys/<name>[/<version>]`` (empty version = latest)."""
    m = _AZURE_URL.match(url.strip())
    if not m:
        raise InvalidKeySpec(f"could not parse {url.strip()!r} into an Azure Key Vault key",
                             hint="expected https://<vault>/keys/<name>[/<version>]")
    version = (m.group(3) or "").lstrip("/")
    return KeyStanza("azure_kv", {"vault_url": m.group(1), "name": m.group(2), "version": version})


def parse_vault_uri(uri: str) -> KeyStanza:
    """A Vault Transit key URI ``https://host:8200/v1/<engine path>/keys/<name>`` (no prefix before /v1/)."""
    uri = uri.strip()
    example = "https://vault.example.com:8200/v1/transit/keys/keyName"
    try:
        from urllib.parse import urlsplit  # only for Vault keys

        parts = urlsplit(uri)
    except ValueError as exc:
        raise InvalidKeySpec(f"invalid Vault URI {uri!r}: {exc}") from exc
    if not parts.scheme or not parts.netloc:
        raise InvalidKeySpec(f"missing scheme or host in Vault URI {uri!r}", hint=f"expected {example}")
    path = parts.path
    if _VAULT_PREFIXED.search(path):
        raise InvalidKeySpec(f"Vault URI {uri!r} has a prefix before /v1/, which is not supported",
                             hint=f"expected {example}")
    if not _VAULT_PATH.search(path):
        raise InvalidKeySpec(f"Vault URI {uri!r} is not formatted correctly", hint=f"expected {example}")
    dirs = path.strip("/").split("/")
    engine_path = "/".join(d for d in dirs[1:-2] if d)
    return KeyStanza("hc_vault", {"vault_address": f"{parts.scheme}://{parts.netloc}",
                                  "engine_path": engine_path, "key_name": dirs[-1]})


def parse_hckms(key_id: str) -> KeyStanza:
    """A HuaweiCloud KMS key ID ``region:key-uuid``."""
    key_id = key_id.strip()
    region, sep, uuid = key_id.partition(":")
    if not (region and sep and uuid):
        raise InvalidKeySpec(f"invalid HuaweiCloud KMS key ID {key_id!r}", hint="expected region:key-uuid")
    return KeyStanza("hckms", {"key_id": key_id})


def parse_key_list(kind: str, spec: str | Iterable[str], *, aws_profile: str = "",
                   context: Mapping[str, str] | None = None) -> list[KeyStanza]:
    """Turn a comma-separated key list (or a list of them) of one kind into recipient stanzas, in order.

    ``kind`` is a metadata list name (``age``, ``pgp``, ``kms``, ``gcp_kms``, ``azure_kv``, ``hc_vault``,
    ``hckms``) or a config field name (``azure_keyvault``, ``hc_vault_transit_uri``). ``aws_profile`` and
    ``context`` apply to KMS keys only.
    """
    resolved = _KIND_ALIASES.get(kind)
    if resolved is None:
        raise InvalidKeySpec(f"unknown key type {kind!r}")
    if resolved == "age":
        return [parse_age_recipient(r) for r in split_key_list(spec)]
    if resolved == "pgp":
        return [parse_pgp_fingerprint(f) for f in split_key_list(spec, remove_spaces=True)]
    if resolved == "kms":
        return [parse_kms_arn(a, context=context, aws_profile=aws_profile)
                for a in split_key_list(spec, remove_spaces=True)]
    if resolved == "gcp_kms":
        return [parse_gcp_kms(r) for r in split_key_list(spec, remove_spaces=True)]
    if resolved == "azure_kv":
        return [parse_azure_kv_url(u) for u in split_key_list(spec)]
    if resolved == "hc_vault":
        return [parse_vault_uri(u) for u in split_key_list(spec)]
    return [parse_hckms(k) for k in split_key_list(spec)]


def key_identity(stanza: KeyStanza) -> str:
    """The string SOPS uses to tell master keys apart (``ToString()``): recipient, fingerprint, ARN ..."""
    f = stanza.fields
    if stanza.kind == "age":
        return str(f.get("recipient", ""))
    if stanza.kind == "pgp":
        return str(f.get("fp", ""))
    if stanza.kind == "kms":
        return str(f.get("arn", ""))
    if stanza.kind == "gcp_kms":
        return str(f.get("resource_id", ""))
    if stanza.kind == "azure_kv":
        return f"{f.get('vault_url', '')}/keys/{f.get('name', '')}/{f.get('version', '')}"
    if stanza.kind == "hc_vault":
        return f"{f.get('vault_address', '')}/v1/{f.get('engine_path', '')}/keys/{f.get('key_name', '')}"
    if stanza.kind == "hckms":
        return str(f.get("key_id", ""))
    return repr(sorted((k, repr(v)) for k, v in f.items() if k not in ("enc", "created_at")))


def _dedupe(group: list[KeyStanza]) -> list[KeyStanza]:
    seen: set[tuple[str, str]] = set()
    out: list[KeyStanza] = []
    for stanza in group:
        ident = (stanza.kind, key_identity(stanza))
        if ident not in seen:
            seen.add(ident)
            out.append(stanza)
    return out


# --------------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------------


class CreationRule(FrozenRecord):
    """One entry of ``creation_rules``: its master-key groups, Shamir threshold and selection rule."""

    __slots__ = ("key_groups", "shamir_threshold", "rules", "raw", "config_file", "path_regex", "index",
                 "aws_profile")
    key_groups: list[list[KeyStanza]]
    shamir_threshold: int
    rules: EncryptionRules
    raw: dict[str, Any]
    config_file: str
    path_regex: str
    index: int
    aws_profile: str

    def __init__(self, key_groups: list[list[KeyStanza]], shamir_threshold: int, rules: EncryptionRules,
                 raw: dict[str, Any], config_file: str | os.PathLike[str], path_regex: str, index: int = 0,
                 aws_profile: str = "") -> None:
        for name, value in zip(self.__slots__, (key_groups, shamir_threshold, rules, raw, os.fspath(config_file),
                                                path_regex, index, aws_profile), strict=True):
            self._set(name, value)

    @property
    def config_path(self) -> Path:
        """The config file this rule comes from, as a Path."""
        return _as_path(self.config_file)

    @property
    def uses_key_groups(self) -> bool:
        """True when the keys come from ``key_groups`` (the flat key fields are then ignored)."""
        groups = self.raw.get("key_groups")
        return isinstance(groups, list) and len(groups) > 0

    def with_kms_context(self, context: Mapping[str, str]) -> CreationRule:
        """A copy with ``--encryption-context`` on the flat ``kms`` keys (key_groups keep theirs, as SOPS)."""
        if self.uses_key_groups or not context:
            return self
        groups = [[_kms_stanza(str(s.fields["arn"]), str(s.fields.get("role", "")), context,
                               str(s.fields.get("aws_profile", ""))) if s.kind == "kms" else s
                   for s in group] for group in self.key_groups]
        return self.replace(key_groups=groups)


class ConfigFile(FrozenRecord):
    """A config file found by :func:`find_config`, how it was found, and warnings from the search.

    ``source`` is "explicit", "env", "file_dir" or "cwd".
    """

    __slots__ = ("file", "source", "warnings")
    file: str
    source: str
    warnings: list[str]

    def __init__(self, file: str | os.PathLike[str], source: str, warnings: list[str] | None = None) -> None:
        self._set("file", os.fspath(file))
        self._set("source", source)
        self._set("warnings", [] if warnings is None else warnings)

    @property
    def path(self) -> Path:
        """The config file, as a Path."""
        return _as_path(self.file)

    @property
    def is_policy_file(self) -> bool:
        """True for psops' own ``.sops-policy.yaml`` name."""
        return os.path.basename(self.file) == POLICY_CONFIG_NAME


class Config(FrozenRecord):
    """A parsed config file: creation rules in order, store settings and load warnings.

    ``rules_checked`` is False for a config read for its settings only (``creation_rules=False`` in
    :func:`load_config`): its ``rules`` are then empty whatever the file holds, and :meth:`match` refuses.
    """

    __slots__ = ("file", "rules", "stores", "warnings", "raw", "has_creation_rules", "rules_checked")
    file: str
    rules: list[CreationRule]
    stores: StoreSettings
    warnings: list[str]
    raw: dict[str, Any]
    has_creation_rules: bool
    rules_checked: bool

    def __init__(self, file: str | os.PathLike[str], rules: list[CreationRule], stores: StoreSettings | None = None,
                 warnings: list[str] | None = None, raw: dict[str, Any] | None = None,
                 has_creation_rules: bool = False, rules_checked: bool = True) -> None:
        self._set("file", os.fspath(file))
        self._set("rules", rules)
        self._set("stores", StoreSettings() if stores is None else stores)
        self._set("warnings", [] if warnings is None else warnings)
        self._set("raw", {} if raw is None else raw)
        self._set("has_creation_rules", has_creation_rules)
        self._set("rules_checked", rules_checked)

    @property
    def path(self) -> Path:
        """The config file, as a Path."""
        return _as_path(self.file)

    @property
    def directory(self) -> str:
        """The absolute directory of the config file (rule paths are relative to it)."""
        return os.path.abspath(os.path.dirname(self.file))

    def relative_match_path(self, file_path: str | os.PathLike[str], filename_override: str | None = None) -> str:
        """The string ``path_regex`` is tested against: absolute, minus the config dir when below it."""
        target = os.path.abspath(filename_override if filename_override else os.fspath(file_path))
        prefix = self.directory.rstrip(os.sep) + os.sep
        return target[len(prefix):] if target.startswith(prefix) else target

    def match(self, file_path: str | os.PathLike[str], filename_override: str | None = None) -> CreationRule | None:
        """The first rule matching the file (None without creation rules; PolicyError if none matches)."""
        if not self.rules_checked:
            raise RuntimeError("this config was read without its creation rules (load_config(creation_rules=False))")
        if not self.has_creation_rules:
            return None
        subject = self.relative_match_path(file_path, filename_override)
        for rule in self.rules:
            if not rule.path_regex or _compile(rule.path_regex, self.file, rule.index).search(subject):
                # Hand out copies: callers may fill in stanzas without touching the cached config.
                return rule.replace(key_groups=[[KeyStanza(s.kind, _copy_plain(s.fields)) for s in group]
                                                for group in rule.key_groups])
        raise PolicyError(
            f"no matching creation rules found (path_regex is tested against {subject!r})",
            path=self.file,
            hint="add a rule whose path_regex matches this file, or a catch-all rule without path_regex",
        )


def _copy_plain(value: Any) -> Any:
    """A copy of dicts and lists all the way down (copy.deepcopy for stanza fields, without importing copy)."""
    if isinstance(value, dict):
        return {k: _copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_plain(v) for v in value]
    return value


def _compile(pattern: str, config_file: str, index: int) -> re.Pattern[str]:
    import re  # only for a non-empty path_regex: a catch-all rule needs no regex engine

    try:
        return re.compile(pattern)
    except re.error as exc:
        raise PolicyError(f"creation_rules[{index}]: can not compile path_regex {pattern!r}: {exc}",
                          path=config_file) from exc


def _as_path(file: str) -> Path:
    from pathlib import Path  # on demand: ~5 ms at start-up, and the decrypt path never needs a Path

    return Path(file)


# --------------------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------------------


def config_from_env() -> str | None:
    """The config path from ``SOPS_CONFIG`` (None when unset or empty)."""
    value = os.environ.get(ENV_CONFIG, "")
    return value or None


def _search_up(start: str, warnings: list[str]) -> str | None:
    current = start
    for _ in range(MAX_SEARCH_DEPTH):
        for name in CONFIG_NAMES:
            candidate = os.path.join(current, name)
            if os.path.isfile(candidate):
                _note_ignored(current, warnings)
                return candidate
        _note_ignored(current, warnings)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return None


def _note_ignored(directory: str, warnings: list[str]) -> None:
    ignored = os.path.join(directory, IGNORED_CONFIG_NAME)
    if os.path.isfile(ignored):
        msg = (f"ignoring {ignored}: the config must be named {POLICY_CONFIG_NAME} or {SOPS_CONFIG_NAME}"
               " (.sops.yml is not read)")
        if msg not in warnings:
            warnings.append(msg)


def find_config(file_path: str | os.PathLike[str] | None, *, explicit: str | os.PathLike[str] | None = None,
                cwd: str | os.PathLike[str] | None = None, warnings: list[str] | None = None) -> ConfigFile | None:
    """Locate the config: explicit path, else ``SOPS_CONFIG``, else search up from the file's dir, then cwd.

    ``file_path`` may be None (stdin): then only the working directory is searched. Relative paths are taken
    against ``cwd`` (default: the process's working directory). Search warnings (an ignored ``.sops.yml``)
    are in ``ConfigFile.warnings``; pass a ``warnings`` list to receive them also when nothing is found.
    """
    base = os.path.abspath(os.fspath(cwd)) if cwd is not None else os.getcwd()
    found_warnings: list[str] = []
    source = "explicit"
    if explicit is None:
        explicit = config_from_env()
        source = "env"
    if explicit is not None:
        path = os.path.join(base, os.fspath(explicit))
        if not os.path.isfile(path):
            what = "--config" if source == "explicit" else ENV_CONFIG
            raise PolicyError(f"config file not found ({what} {os.fspath(explicit)!r})", path=path)
        return ConfigFile(path, source)
    result: ConfigFile | None = None
    if file_path is not None:
        file_dir = os.path.dirname(os.path.join(base, os.fspath(file_path)))
        hit = _search_up(file_dir, found_warnings)
        if hit is not None:
            result = ConfigFile(hit, "file_dir", found_warnings)
    if result is None:
        hit = _search_up(base, found_warnings)
        if hit is not None:
            result = ConfigFile(hit, "cwd", found_warnings)
    if warnings is not None:
        warnings.extend(found_warnings)
    return result


def discover_config(file_path: str | os.PathLike[str] | None, *, explicit: str | os.PathLike[str] | None = None,
                    cwd: str | os.PathLike[str] | None = None, creation_rules: bool = True) -> Config | None:
    """:func:`find_config` then :func:`load_config`; search warnings are prepended to ``Config.warnings``."""
    found = find_config(file_path, explicit=explicit, cwd=cwd)
    if found is None:
        return None
    config = load_config(found.file, creation_rules=creation_rules)
    return config.replace(warnings=[*found.warnings, *config.warnings])


def config_for(name: str, *, explicit: str | os.PathLike[str] | None = None,
               creation_rules: bool = True) -> Config | None:
    """The config that applies to the file ``name`` (``-``: standard input): ``explicit``, else the search."""
    return discover_config(name if name != "-" else None, explicit=explicit, creation_rules=creation_rules)


# --------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------

_PathT = tuple[str | int, ...]
_GO_BOOLS = {"true": True, "yes": True, "on": True, "y": True,
             "false": False, "no": False, "off": False, "n": False}


class _Parser:
    """Builds a Config from loaded YAML data, raising PolicyErrors that name the file and line."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.warnings: list[str] = []
        self._nodes: Any = None

    # -- errors ----------------------------------------------------------------------------------------

    def _line(self, where: _PathT) -> int | None:
        from ruamel.yaml import YAML
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        try:
            if self._nodes is None:
                self._nodes = YAML(typ="safe", pure=True).compose(self.text)
            node = self._nodes
            for step in where:
                if isinstance(node, MappingNode) and isinstance(step, str):
                    node = next(v for k, v in node.value if getattr(k, "value", None) == step)
                elif isinstance(node, SequenceNode) and isinstance(step, int):
                    node = node.value[step]
                else:
                    return None
            return int(node.start_mark.line) + 1
        except Exception:
            return None

    def error(self, where: _PathT, message: str, *, hint: str | None = None) -> PolicyError:
        label = _format_path(where)
        line = self._line(where) if where else None
        prefix = (f"line {line}: " if line else "") + (f"{label}: " if label else "")
        return PolicyError(prefix + message, path=self.path, hint=hint)

    # -- typed accessors -------------------------------------------------------------------------------

    def mapping(self, value: object, where: _PathT) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"must be a mapping, not {_type_name(value)}")
        return {str(k): v for k, v in value.items()}

    def sequence(self, value: object, where: _PathT) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(where, f"must be a list, not {_type_name(value)}")
        return value

    def string(self, value: object, where: _PathT) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(where, f"must be a string, not {_type_name(value)}")
        return str(value)

    def integer(self, value: object, where: _PathT) -> int:
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(where, f"must be an integer, not {_type_name(value)}")
        return value

    def boolean(self, value: object, where: _PathT) -> bool:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _GO_BOOLS:
            return _GO_BOOLS[value.lower()]
        raise self.error(where, f"must be true or false, not {_type_name(value)}")

    def string_list(self, value: object, where: _PathT) -> list[str]:
        """A comma-separated string or a YAML list of strings (items may hold commas too)."""
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        items = self.sequence(value, where)
        return [self.string(item, (*where, i)) for i, item in enumerate(items)]

    def keys(self, kind: str, specs: list[str], where: _PathT, *, aws_profile: str = "",
             context: Mapping[str, str] | None = None) -> list[KeyStanza]:
        try:
            return parse_key_list(kind, specs, aws_profile=aws_profile, context=context)
        except InvalidKeySpec as exc:
            raise self.error(where, exc.message, hint=exc.hint) from exc

    # -- document --------------------------------------------------------------------------------------

    def config(self, data: object, *, creation_rules: bool = True) -> Config:
        top = self.mapping(data, ())
        stores = self.stores(top.get("stores"))
        raw_rules = top.get("creation_rules")
        has_rules = raw_rules is not None
        items = self.sequence(raw_rules, ("creation_rules",))
        if creation_rules:
            rules = [self.rule(item, i) for i, item in enumerate(items)]
        else:  # only their shape, as sops' decrypt reads the file into its config struct and no further
            for i, item in enumerate(items):
                self.mapping(item, ("creation_rules", i))
            rules = []
        return Config(file=self.path, rules=rules, stores=stores, warnings=self.warnings, raw=top,
                      has_creation_rules=has_rules, rules_checked=creation_rules)

    def stores(self, value: object) -> StoreSettings:
        where: _PathT = ("stores",)
        stores = self.mapping(value, where)
        indents: dict[str, int] = {}
        for name, attr, default in (("yaml", "yaml_indent", 4), ("json", "json_indent", -1),
                                    ("json_binary", "json_binary_indent", -1)):
            section = self.mapping(stores.get(name), (*where, name))
            indent = section.get("indent")
            indents[attr] = default if indent is None else self.integer(indent, (*where, name, "indent"))
        if indents["yaml_indent"] < 0:
            raise self.error((*where, "yaml", "indent"), "YAML indentation must not be negative")
        return StoreSettings(**indents)

    def rule(self, value: object, index: int) -> CreationRule:
        where: _PathT = ("creation_rules", index)
        raw = self.mapping(value, where)
        path_regex = self.string(raw.get("path_regex"), (*where, "path_regex"))
        if path_regex:
            import re

            try:
                re.compile(path_regex)
            except re.error as exc:
                raise self.error((*where, "path_regex"), f"can not compile regexp {path_regex!r}: {exc}") \
                    from exc
        if "filename_regex" in raw and not path_regex:
            self.warnings.append(f"{self.path}: creation_rules[{index}] uses filename_regex, which SOPS 3.x "
                                 "ignores: the rule matches every file (use path_regex)")
        aws_profile = self.string(raw.get("aws_profile"), (*where, "aws_profile"))
        shamir = self.integer(raw.get("shamir_threshold"), (*where, "shamir_threshold"))
        if shamir < 0:
            raise self.error((*where, "shamir_threshold"), "must not be negative")

        set_rules = [name for name in RULE_NAMES if self.string(raw.get(name), (*where, name))]
        if len(set_rules) > 1:
            raise self.error(where, "cannot use more than one of " + ", ".join(set_rules) + " in one rule",
                             hint="keep a single encrypted/unencrypted suffix or regex rule")
        mac_only = self.boolean(raw.get("mac_only_encrypted"), (*where, "mac_only_encrypted"))
        try:
            rules = rules_from_mapping({**{n: raw.get(n) for n in set_rules}, "mac_only_encrypted": mac_only})
        except ConflictingParameters as exc:
            raise self.error(where, exc.message, hint=exc.hint) from exc

        raw_groups = self.sequence(raw.get("key_groups"), (*where, "key_groups"))
        if raw_groups:
            groups = [_dedupe(self.group(g, (*where, "key_groups", i))) for i, g in enumerate(raw_groups)]
        else:
            groups = [self.flat_group(raw, where, aws_profile)]
        return CreationRule(key_groups=groups, shamir_threshold=shamir, rules=rules, raw=raw,
                            config_file=self.path, path_regex=path_regex, index=index,
                            aws_profile=aws_profile)

    def flat_group(self, raw: dict[str, Any], where: _PathT, aws_profile: str) -> list[KeyStanza]:
        group: list[KeyStanza] = []
        for name in ("age", "pgp", "kms", "gcp_kms", "hckms", "azure_keyvault", "hc_vault_transit_uri"):
            specs = self.string_list(raw.get(name), (*where, name))
            group += self.keys(name, specs, (*where, name), aws_profile=aws_profile)
        return group

    def group(self, value: object, where: _PathT, depth: int = 0) -> list[KeyStanza]:
        if depth > 50:
            raise self.error(where, "merge is nested too deeply")
        obj = self.mapping(value, where)
        group: list[KeyStanza] = []
        for i, sub in enumerate(self.sequence(obj.get("merge"), (*where, "merge"))):
            group += self.group(sub, (*where, "merge", i), depth + 1)
        for name in ("age", "pgp"):
            for i, spec in enumerate(self.string_list(obj.get(name), (*where, name))):
                group += self.keys(name, [spec], (*where, name, i))
        for i, item in enumerate(self.sequence(obj.get("kms"), (*where, "kms"))):
            group.append(self.kms_object(item, (*where, "kms", i)))
        for i, item in enumerate(self.sequence(obj.get("gcp_kms"), (*where, "gcp_kms"))):
            entry = self.mapping(item, (*where, "gcp_kms", i))
            rid = self.string(entry.get("resource_id"), (*where, "gcp_kms", i, "resource_id"))
            if not rid:
                raise self.error((*where, "gcp_kms", i), "resource_id is required")
            group.append(KeyStanza("gcp_kms", {"resource_id": rid}))
        for i, item in enumerate(self.sequence(obj.get("hckms"), (*where, "hckms"))):
            entry = self.mapping(item, (*where, "hckms", i))
            key_id = self.string(entry.get("key_id"), (*where, "hckms", i, "key_id"))
            if not key_id:
                raise self.error((*where, "hckms", i), "key_id is required")
            group += self.keys("hckms", [key_id], (*where, "hckms", i))
        for i, item in enumerate(self.sequence(obj.get("azure_keyvault"), (*where, "azure_keyvault"))):
            group.append(self.azure_object(item, (*where, "azure_keyvault", i)))
        for i, uri in enumerate(self.string_list(obj.get("hc_vault"), (*where, "hc_vault"))):
            group += self.keys("hc_vault", [uri], (*where, "hc_vault", i))
        return group

    def kms_object(self, value: object, where: _PathT) -> KeyStanza:
        entry = self.mapping(value, where)
        arn = self.string(entry.get("arn"), (*where, "arn")).strip()
        if not arn:
            raise self.error(where, "arn is required")
        role = self.string(entry.get("role"), (*where, "role")).strip()
        raw_context = self.mapping(entry.get("context"), (*where, "context"))
        context = {k: self.string(v, (*where, "context", k)) for k, v in raw_context.items()}
        profile = self.string(entry.get("aws_profile"), (*where, "aws_profile"))
        return _kms_stanza(arn, role, context, profile)

    def azure_object(self, value: object, where: _PathT) -> KeyStanza:
        entry = self.mapping(value, where)
        url = self.string(entry.get("vaultUrl"), (*where, "vaultUrl")).strip().rstrip("/")
        name = self.string(entry.get("key"), (*where, "key")).strip()
        version = self.string(entry.get("version"), (*where, "version")).strip()
        if not url or not name:
            raise self.error(where, "vaultUrl and key are required")
        return KeyStanza("azure_kv", {"vault_url": url, "name": name, "version": version})


def _format_path(where: _PathT) -> str:
    out = ""
    for step in where:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _type_name(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _fast_load(text: str) -> object | None:
    """The config's data through psops' own YAML store (libyaml, go-yaml's resolver); None to use ruamel.

    The store is several times faster to import and run than ruamel's pure-Python loader, which matters
    because every decrypt in a repository reads the config. It keeps ``<<`` as a key where ruamel (and
    go-yaml decoding into sops' config struct) merges, so files with ``<<``, and any input the store refuses
    (ruamel's messages are the ones reported), go to the ruamel loader.
    """
    from psops.formats.yaml_store import YamlStore
    from psops.tree import Mapping, to_plain

    try:
        docs = YamlStore().load(text.encode("utf-8", "surrogatepass"))
    except PsopsError:
        return None
    if len(docs) != 1:
        return None

    def has_merge_key(value: object) -> bool:
        if isinstance(value, Mapping):
            return any(k == "<<" or has_merge_key(v) for k, v in value.items)
        return isinstance(value, list) and any(has_merge_key(v) for v in value)

    return None if has_merge_key(docs[0]) else to_plain(docs[0])


def _parse_text(path: str, text: str, *, creation_rules: bool = True) -> Config:
    from psops.policy.simple_yaml import load as load_simple

    data: object = load_simple(text)
    if data is None:
        data = _fast_load(text)
    if data is not None:
        return _Parser(path, text).config(data, creation_rules=creation_rules)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        # pure=True: with ruamel.yaml.clib installed the default is libyaml, which (unlike go-yaml) rejects
        # `[arn:aws:kms:...]` flow scalars containing colons
        data = YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise PolicyError(f"{line}invalid YAML: {problem}", path=path) from exc
    except YAMLError as exc:
        raise PolicyError(f"invalid YAML: {exc}", path=path) from exc
    return _Parser(path, text).config(data, creation_rules=creation_rules)


_cache: dict[str, tuple[int, int, Config]] = {}


def load_config(path: str | os.PathLike[str], *, creation_rules: bool = True) -> Config:
    """Read and validate a config file (cached by path and modification time); PolicyError when invalid.

    ``creation_rules=False`` reads what every command needs (``stores``, the top-level mapping for the audit
    trail, and that ``creation_rules`` is a list of mappings) without checking the rules themselves: commands
    that do not choose keys (decrypt, set, exec-env, rotate...) work despite a broken rule, as in sops, whose
    decrypt does not look into them. ``psops check`` and the commands that encrypt to a rule's keys check them.
    """
    abs_path = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(abs_path)
        cached = _cache.get(abs_path)
        if (cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size
                and (cached[2].rules_checked or not creation_rules)):
            return cached[2]
        with open(abs_path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolicyError(f"could not read config file: {reason}", path=abs_path) from exc
    config = _parse_text(abs_path, text, creation_rules=creation_rules)
    _cache[abs_path] = (st.st_mtime_ns, st.st_size, config)
    return config
