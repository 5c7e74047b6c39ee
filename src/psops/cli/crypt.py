"""``psops encrypt`` and ``psops decrypt``."""

from __future__ import annotations

from psops.cli import options as o
from psops.cli.keysel import KeyFlags, encrypt_plan, store_settings
from psops.cli.output import about, check_destination, emit, warn
from psops.files import read_input
from psops.lifecycle.audit import audited
from psops.operations import decrypt_bytes, encrypt_bytes, resolve_formats
from psops.selection import EncryptionRules


def encrypt(
    file: o.FileArg,
    in_place: o.InPlace = False,
    output: o.Output = None,
    input_type: o.InputType = None,
    output_type: o.OutputType = None,
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
    unencrypted_comment_regex: o.UnencryptedCommentRegex = None,
    encrypted_comment_regex: o.EncryptedCommentRegex = None,
    mac_only_encrypted: o.MacOnlyEncrypted = False,
    shamir_secret_sharing_threshold: o.ShamirThreshold = 0,
    indent: o.Indent = None,
    filename_override: o.FilenameOverride = None,
    config: o.ConfigOpt = None,
) -> None:
    """Encrypt a file: to stdout, --in-place or --output.

    Keys come from the key flags (--age, --pgp, --kms, --gcp-kms, --azure-kv, --hc-vault-transit, --hckms) or
    their variables (SOPS_AGE_RECIPIENTS, SOPS_PGP_FP, SOPS_KMS_ARN, ...), else from the first creation rule of
    the nearest .sops-policy.yaml or .sops.yaml whose path_regex matches the file. The format comes from the
    extension (.yaml/.yml, .json, .env, .ini, anything else is binary) or --input-type.

    Examples:
        psops encrypt -i secrets.enc.yaml
        psops encrypt --age age1... secrets.yaml > secrets.enc.yaml
        psops encrypt --kms arn:aws:kms:eu-west-1:111122223333:alias/sops --encryption-context app:web -i f.json
    """
    name = filename_override or file
    with about(name), audited("encrypt", name, config=config):
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
        plan = encrypt_plan(name, config=config, keys=keys, flag_rules=flag_rules,
                            shamir_threshold=shamir_secret_sharing_threshold, indent=indent)
        out = encrypt_bytes(read_input(file), plan, input_format=fin, output_format=fout)
        emit(out, path=file, in_place=in_place, output=output)


def decrypt(
    file: o.FileArg,
    in_place: o.InPlace = False,
    output: o.Output = None,
    extract: o.Extract = None,
    ignore_mac: o.IgnoreMac = False,
    input_type: o.InputType = None,
    output_type: o.OutputType = None,
    decryption_order: o.DecryptionOrder = None,
    indent: o.Indent = None,
    filename_override: o.FilenameOverride = None,
    config: o.ConfigOpt = None,
) -> None:
    """Decrypt a file: to stdout, --in-place or --output.

    The MAC is checked (--ignore-mac skips it, with a warning). Identities come from SOPS_AGE_KEY,
    SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the default age key file, GnuPG and the cloud services the file names,
    tried in --decryption-order.

    Examples:
        psops decrypt secrets.enc.yaml
        psops decrypt --extract '["db"]["password"]' secrets.enc.yaml
        psops decrypt --output-type json secrets.enc.yaml > secrets.json
    """
    name = filename_override or file
    with about(name), audited("decrypt", name, config=config):
        check_destination(in_place, output, file)
        fin, fout = resolve_formats(name, input_type, output_type)
        order = [k.strip() for k in decryption_order.split(",") if k.strip()] if decryption_order else None
        settings = store_settings(config, name, indent)
        result = decrypt_bytes(read_input(file), input_format=fin, output_format=fout, ignore_mac=ignore_mac,
                               extract=extract, decryption_order=order, settings=settings)
        for message in result.warnings:
            warn(f"{name}: {message}")
        emit(result.data, path=file, in_place=in_place, output=output)
