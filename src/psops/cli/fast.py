"""The start-up fast path: ``psops decrypt FILE`` and ``psops encrypt ... FILE`` without importing typer.

Importing typer (and click, rich, pydantic through it) and building the app costs more than decrypting a small
file, so :func:`parse` recognises the common invocations of ``decrypt`` and ``encrypt`` with a strict
hand-written parser and :func:`run` executes them with the same helpers the typer commands in
:mod:`psops.cli.crypt` call, in the same order. Anything the parser does not fully understand — ``--help``,
an unknown or repeated option, ``--opt=value`` on a flag, a value that starts with ``-``, an empty value, a
missing or second FILE, ``--`` — returns None and the caller runs the typer app, so usage errors, help and
every other command keep typer's behaviour. Options with an environment variable (``--config``/SOPS_CONFIG,
``--age``/SOPS_AGE_RECIPIENTS ...) take it exactly as click does: only when the option is absent and the
variable is non-empty. ``tests/cli/test_fast.py`` runs a set of invocations both ways and compares output,
errors and exit codes.

``decrypt`` also skips importing the creation-rules module when no config file can exist (no ``--config``,
no SOPS_CONFIG, no ``.sops-policy.yaml``/``.sops.yaml`` above the file or the working directory).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path

    from psops.policy import Config

FLAG = "flag"
TEXT = "text"
PATH = "path"
COUNT = "count"  # a non-negative integer

# option spelling -> (parameter name, kind, environment variable or "")
_DECRYPT: dict[str, tuple[str, str, str]] = {
    "--in-place": ("in_place", FLAG, ""),
    "-i": ("in_place", FLAG, ""),
    "--output": ("output", PATH, ""),
    "--extract": ("extract", TEXT, ""),
    "--ignore-mac": ("ignore_mac", FLAG, ""),
    "--input-type": ("input_type", TEXT, ""),
    "--output-type": ("output_type", TEXT, ""),
    "--decryption-order": ("decryption_order", TEXT, "SOPS_DECRYPTION_ORDER"),
    "--filename-override": ("filename_override", TEXT, ""),
    "--config": ("config", PATH, "SOPS_CONFIG"),
}

_ENCRYPT: dict[str, tuple[str, str, str]] = {
    "--in-place": ("in_place", FLAG, ""),
    "-i": ("in_place", FLAG, ""),
    "--output": ("output", PATH, ""),
    "--input-type": ("input_type", TEXT, ""),
    "--output-type": ("output_type", TEXT, ""),
    "--age": ("age", TEXT, "SOPS_AGE_RECIPIENTS"),
    "-a": ("age", TEXT, "SOPS_AGE_RECIPIENTS"),
    "--pgp": ("pgp", TEXT, "SOPS_PGP_FP"),
    "-p": ("pgp", TEXT, "SOPS_PGP_FP"),
    "--kms": ("kms", TEXT, "SOPS_KMS_ARN"),
    "-k": ("kms", TEXT, "SOPS_KMS_ARN"),
    "--aws-profile": ("aws_profile", TEXT, ""),
    "--encryption-context": ("encryption_context", TEXT, ""),
    "--gcp-kms": ("gcp_kms", TEXT, "SOPS_GCP_KMS_IDS"),
    "--azure-kv": ("azure_kv", TEXT, "SOPS_AZURE_KEYVAULT_URLS"),
    "--hc-vault-transit": ("hc_vault_transit", TEXT, "SOPS_VAULT_URIS"),
    "--hckms": ("hckms", TEXT, "SOPS_HUAWEICLOUD_KMS_IDS"),
    "--unencrypted-suffix": ("unencrypted_suffix", TEXT, ""),
    "--encrypted-suffix": ("encrypted_suffix", TEXT, ""),
    "--unencrypted-regex": ("unencrypted_regex", TEXT, ""),
    "--encrypted-regex": ("encrypted_regex", TEXT, ""),
    "--shamir-secret-sharing-threshold": ("shamir_secret_sharing_threshold", COUNT, ""),
    "--filename-override": ("filename_override", TEXT, ""),
    "--config": ("config", PATH, "SOPS_CONFIG"),
}

COMMANDS: dict[str, dict[str, tuple[str, str, str]]] = {"decrypt": _DECRYPT, "encrypt": _ENCRYPT}

Invocation = tuple[str, dict[str, object]]

# psops.policy.config's CONFIG_NAMES and MAX_SEARCH_DEPTH, repeated so that a decrypt with no config file in
# sight never imports the creation-rules module (tests/cli/test_fast.py checks they stay equal).
CONFIG_NAMES: tuple[str, ...] = (".sops-policy.yaml", ".sops.yaml")
MAX_SEARCH_DEPTH = 100


def parse(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Invocation | None:
    """``(command, keyword arguments)`` for an invocation the fast path handles exactly, else None."""
    args = list(argv)
    if args[:1] == ["--verbose"]:  # the app's one global option that can precede the command
        args = args[1:]
    if not args or args[0] not in COMMANDS:
        return None
    table = COMMANDS[args[0]]
    values: dict[str, object] = {}
    seen: set[str] = set()
    file: str | None = None
    rest = args[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            if file is not None or not arg:
                return None
            file = arg
            continue
        name, _, inline = arg.partition("=")
        spec = table.get(name)
        if spec is None:
            return None
        param, kind, _env = spec
        if param in seen:
            return None
        seen.add(param)
        if kind == FLAG:
            if "=" in arg:
                return None
            values[param] = True
            continue
        if "=" in arg:
            if not name.startswith("--"):
                return None
            value = inline
        else:
            if i >= len(rest):
                return None
            value = rest[i]
            i += 1
        if not value or value.startswith("-"):
            return None
        converted = _convert(kind, value)
        if converted is None:
            return None
        values[param] = converted
    if file is None:
        return None
    for param, kind, env in table.values():
        if env and param not in seen:
            raw = environ.get(env)
            if raw:
                converted = _convert(kind, raw)
                if converted is None:
                    return None
                values[param] = converted
    values["file"] = file
    return args[0], values


def _convert(kind: str, value: str) -> object | None:
    if kind == PATH:
        return value  # a str: the commands take str or Path; pathlib is not imported on this path
    if kind == COUNT:
        return int(value) if value.isascii() and value.isdigit() else None
    return value


def run(invocation: Invocation) -> None:
    """Execute a parsed invocation (raises PsopsError like the typer command)."""
    command, values = invocation
    target: Callable[..., None] = decrypt if command == "decrypt" else encrypt
    target(**values)


def _no_config_possible(config: str | Path | None, name: str) -> bool:
    """True when the creation-rules search is certain to find nothing (so it need not be imported).

    Conservative: an explicit or SOPS_CONFIG path, or any entry named like a config file in a folder the
    search visits, means False and the real search runs.
    """
    if config is not None or os.environ.get("SOPS_CONFIG"):
        return False
    base = os.getcwd()
    starts = [base] if name == "-" else [os.path.dirname(os.path.join(base, name)), base]
    for start in starts:
        current = start
        for _ in range(MAX_SEARCH_DEPTH):
            for config_name in CONFIG_NAMES:
                if os.path.lexists(os.path.join(current, config_name)):
                    return False
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return True


class _NoAudit:
    """A do-nothing context (contextlib.nullcontext without importing contextlib)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_AUDIT = _NoAudit()


def _applicable_config(config: str | Path | None, name: str, *, creation_rules: bool) -> Config | None:
    """The config that applies to ``name`` (None when there is none); PolicyError when it is invalid.

    When no config file can exist, not even the creation-rules module is imported.
    """
    if _no_config_possible(config, name):
        return None
    from psops.policy.config import config_for

    return config_for(name, explicit=config, creation_rules=creation_rules)


def _audited(operation: str, name: str, cfg: Config | None) -> AbstractContextManager[object]:
    """The audit-trail scope of :func:`psops.lifecycle.audit.audited` (as in :mod:`psops.cli.crypt`).

    The audit module (and what it imports) is loaded only when ``cfg`` has an ``audit:`` section.
    """
    if cfg is None or cfg.raw.get("audit") is None:  # psops.lifecycle.audit.AUDIT_KEY
        return _NO_AUDIT
    from psops.lifecycle.audit import audit_settings, audited

    return audited(operation, name, settings=audit_settings(cfg))


def _check_exists(file: str) -> None:
    """sops' first check in ``decrypt`` and ``encrypt``: the file exists (a broken link does not), else exit 100."""
    if file != "-" and not os.path.exists(file):
        from psops.errors import NoSuchInputFile

        raise NoSuchInputFile("no such file", path=file, hint="check the path")


def decrypt(file: str, in_place: bool = False, output: str | Path | None = None, extract: str | None = None,
            ignore_mac: bool = False, input_type: str | None = None, output_type: str | None = None,
            decryption_order: str | None = None, filename_override: str | None = None,
            config: str | Path | None = None, indent: int | None = None) -> None:
    """``psops decrypt``: the one implementation, called by this fast path and by the typer command."""
    from psops.cli.output import about, check_destination, emit, warn
    from psops.engine import parse_decryption_order
    from psops.files import read_input
    from psops.formats import StoreSettings
    from psops.operations import decrypt_bytes, resolve_formats

    _check_exists(file)
    name = filename_override or file
    with about(name):
        # looked up once, for the audit trail and the layout settings; its creation rules are not checked (sops'
        # decrypt does not look into them either: a broken rule does not stop a deployment from decrypting)
        cfg = _applicable_config(config, name, creation_rules=False)
        with _audited("decrypt", name, cfg):
            check_destination(in_place, output, file)
            fin, fout = resolve_formats(name, input_type, output_type)
            order = parse_decryption_order(decryption_order)
            settings = cfg.stores if cfg is not None else StoreSettings()  # as keysel.store_settings
            if indent is not None:
                settings = settings.with_indent(indent)
            result = decrypt_bytes(read_input(file), input_format=fin, output_format=fout, ignore_mac=ignore_mac,
                                   extract=extract, decryption_order=order, settings=settings)
            for message in result.warnings:
                warn(f"{name}: {message}")
            emit(result.data, path=file, in_place=in_place, output=output)


def encrypt(file: str, in_place: bool = False, output: str | Path | None = None, input_type: str | None = None,
            output_type: str | None = None, age: str | None = None, pgp: str | None = None,
            kms: str | None = None, aws_profile: str | None = None, encryption_context: str | None = None,
            gcp_kms: str | None = None, azure_kv: str | None = None, hc_vault_transit: str | None = None,
            hckms: str | None = None, unencrypted_suffix: str | None = None, encrypted_suffix: str | None = None,
            unencrypted_regex: str | None = None, encrypted_regex: str | None = None,
            unencrypted_comment_regex: str | None = None, encrypted_comment_regex: str | None = None,
            mac_only_encrypted: bool = False, shamir_secret_sharing_threshold: int = 0,
            indent: int | None = None, filename_override: str | None = None,
            config: str | Path | None = None) -> None:
    """``psops encrypt``: the one implementation, called by this fast path and by the typer command."""
    from psops.cli.keysel import KeyFlags, plan_with_config
    from psops.cli.output import about, check_destination, emit
    from psops.files import read_input
    from psops.operations import encrypt_bytes, resolve_formats
    from psops.selection import EncryptionRules

    _check_exists(file)
    name = filename_override or file
    with about(name):
        cfg = _applicable_config(config, name, creation_rules=True)  # looked up once: the audit trail and the plan
        with _audited("encrypt", name, cfg):
            check_destination(in_place, output, file)
            fin, fout = resolve_formats(name, input_type, output_type)
            flag_rules = EncryptionRules(
                unencrypted_suffix=unencrypted_suffix or "",
                encrypted_suffix=encrypted_suffix or "",
                unencrypted_regex=unencrypted_regex or "",
                encrypted_regex=encrypted_regex or "",
                unencrypted_comment_regex=unencrypted_comment_regex or "",
                encrypted_comment_regex=encrypted_comment_regex or "",
                mac_only_encrypted=mac_only_encrypted,
            )
            keys = KeyFlags(age=age, pgp=pgp, kms=kms, gcp_kms=gcp_kms, azure_kv=azure_kv,
                            hc_vault_transit=hc_vault_transit, hckms=hckms, aws_profile=aws_profile,
                            encryption_context=encryption_context)
            plan = plan_with_config(cfg, name, keys=keys, flag_rules=flag_rules,
                                    shamir_threshold=shamir_secret_sharing_threshold, indent=indent)
            out = encrypt_bytes(read_input(file), plan, input_format=fin, output_format=fout)
            emit(out, path=file, in_place=in_place, output=output)


__all__ = ["COMMANDS", "parse", "run"]
