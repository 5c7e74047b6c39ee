"""``psops edit`` and ``psops replace``."""

from __future__ import annotations

import sys
from pathlib import PurePath
from typing import Annotated

import typer

from psops.cli import options as o
from psops.cli.keysel import KeyFlags, encrypt_plan, store_settings
from psops.cli.output import about, warn
from psops.editing import EditOptions, edit_file, replace_content
from psops.errors import ConflictingParameters
from psops.files import atomic_write, read_input
from psops.formats import format_for
from psops.lifecycle.audit import audited
from psops.operations import EncryptPlan, resolve_formats
from psops.selection import EncryptionRules

ShowMasterKeys = Annotated[
    bool,
    typer.Option("--show-master-keys", "-s",
                 help="Show the 'sops' metadata block while editing (psops refuses changes to it)."),
]
SourceArg = Annotated[
    str,
    typer.Argument(help="Plaintext with the new content; - (the default) reads standard input.", metavar="[SOURCE|-]"),
]
SourceType = Annotated[
    str | None,
    typer.Option("--source-type",
                 help="Format of SOURCE: yaml, json, dotenv, ini, binary (default: its extension, else FILE's)."),
]

_KNOWN_SUFFIXES = (".yaml", ".yml", ".json", ".env", ".ini")


def _order(decryption_order: str | None) -> list[str] | None:
    return [k.strip() for k in decryption_order.split(",") if k.strip()] if decryption_order else None


def edit(
    file: Annotated[str, typer.Argument(help="The encrypted file to edit; a new file is created.", metavar="FILE")],
    show_master_keys: ShowMasterKeys = False,
    ignore_mac: o.IgnoreMac = False,
    input_type: o.InputType = None,
    output_type: o.OutputType = None,
    decryption_order: o.DecryptionOrder = None,
    age: o.Age = None,
    pgp: o.Pgp = None,
    kms: o.Kms = None,
    aws_profile: o.AwsProfile = None,
    encryption_context: o.EncryptionContext = None,
    gcp_kms: o.GcpKms = None,
    azure_kv: o.AzureKv = None,
    hc_vault_transit: o.HcVaultTransit = None,
    hckms: o.Hckms = None,
    unencrypted_suffix: o.UnencryptedSuffix = None,
    encrypted_suffix: o.EncryptedSuffix = None,
    unencrypted_regex: o.UnencryptedRegex = None,
    encrypted_regex: o.EncryptedRegex = None,
    shamir_secret_sharing_threshold: o.ShamirThreshold = 0,
    config: o.ConfigOpt = None,
) -> None:
    """Edit an encrypted file in your editor; re-encrypt it on save.

    The editor is $SOPS_EDITOR, else $EDITOR, else vim, nano or vi. The plaintext lives in a 0600 file in a
    private 0700 temp dir, removed on every exit. Values you did not change keep their exact ciphertext.
    Unchanged file: exit 200, nothing written. Invalid content: you are asked to reopen the editor (in a
    terminal), else psops exits 204 and keeps your edits in a 0600 file it names. A FILE that does not exist is
    created from a template with the keys of the matching creation rule (or the key flags, e.g. --age/--pgp).

    Examples:
        psops edit secrets.enc.yaml
        EDITOR='code --wait' psops edit secrets.enc.yaml
    """
    with about(file), audited("edit", file, config=config):
        if file == "-":
            raise ConflictingParameters("edit needs a file, not standard input", hint="use psops replace FILE -")
        fin, fout = resolve_formats(file, input_type, output_type)
        settings = store_settings(config, file)
        options = EditOptions(input_format=fin, output_format=fout, show_master_keys=show_master_keys,
                              ignore_mac=ignore_mac, decryption_order=_order(decryption_order),
                              settings=settings, interactive=sys.stdin.isatty())

        def plan() -> EncryptPlan:
            rules = EncryptionRules(unencrypted_suffix=unencrypted_suffix or "",
                                    encrypted_suffix=encrypted_suffix or "",
                                    unencrypted_regex=unencrypted_regex or "",
                                    encrypted_regex=encrypted_regex or "")
            keys = KeyFlags(age=age, pgp=pgp, kms=kms, gcp_kms=gcp_kms, azure_kv=azure_kv,
                            hc_vault_transit=hc_vault_transit, hckms=hckms, aws_profile=aws_profile,
                            encryption_context=encryption_context)
            return encrypt_plan(file, config=config, keys=keys, flag_rules=rules,
                                shamir_threshold=shamir_secret_sharing_threshold)

        edit_file(file, options, plan=plan)


def replace(
    file: Annotated[str, typer.Argument(help="The encrypted file whose content is replaced.", metavar="FILE")],
    source: SourceArg = "-",
    source_type: SourceType = None,
    input_type: o.InputType = None,
    ignore_mac: o.IgnoreMac = False,
    decryption_order: o.DecryptionOrder = None,
    config: o.ConfigOpt = None,
) -> None:
    """Replace an encrypted file's content with plaintext SOURCE.

    The file keeps its keys and data key; values that did not change keep their exact ciphertext, so the diff
    shows only what changed, and content equal to the file's is not written at all. The scripted equivalent of
    an edit.

    Examples:
        render-config | psops replace secrets.enc.yaml -
        psops replace secrets.enc.yaml new-values.yaml
    """
    with about(file), audited("replace", file, config=config):
        if file == "-":
            raise ConflictingParameters("replace needs an encrypted FILE, not standard input")
        fmt = format_for(file, input_type)
        if source_type:
            src_fmt = format_for(source, source_type)
        elif source != "-" and PurePath(source).suffix.lower() in _KNOWN_SUFFIXES:
            src_fmt = format_for(source)
        else:
            src_fmt = fmt
        settings = store_settings(config, file)
        encrypted = read_input(file)
        with about(source):
            plaintext = read_input(source)
        result = replace_content(encrypted, plaintext, file_format=fmt, source_format=src_fmt,
                                 ignore_mac=ignore_mac, decryption_order=_order(decryption_order),
                                 settings=settings)
        for message in result.warnings:
            warn(f"{file}: {message}")
        if result.data is None:
            sys.stderr.write(f"psops: {file}: content unchanged; the file was not written\n")
            return
        atomic_write(file, result.data)
