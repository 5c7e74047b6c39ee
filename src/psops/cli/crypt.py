"""``psops encrypt`` and ``psops decrypt``: the typer declarations. The bodies live in :mod:`psops.cli.fast`,
shared with the typer-free start-up path, so both paths run the same code."""

from __future__ import annotations

from psops.cli import options as o


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
    from psops.cli.fast import encrypt as run_encrypt

    run_encrypt(file, in_place=in_place, output=output, input_type=input_type, output_type=output_type, age=age,
                pgp=pgp, kms=kms, aws_profile=aws_profile, encryption_context=encryption_context, gcp_kms=gcp_kms,
                azure_kv=azure_kv, hc_vault_transit=hc_vault_transit, hckms=hckms,
                unencrypted_suffix=unencrypted_suffix, encrypted_suffix=encrypted_suffix,
                unencrypted_regex=unencrypted_regex, encrypted_regex=encrypted_regex,
                unencrypted_comment_regex=unencrypted_comment_regex, encrypted_comment_regex=encrypted_comment_regex,
                mac_only_encrypted=mac_only_encrypted,
                shamir_secret_sharing_threshold=shamir_secret_sharing_threshold, indent=indent,
                filename_override=filename_override, config=config)


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
    from psops.cli.fast import decrypt as run_decrypt

    run_decrypt(file, in_place=in_place, output=output, extract=extract, ignore_mac=ignore_mac,
                input_type=input_type, output_type=output_type, decryption_order=decryption_order,
                filename_override=filename_override, config=config, indent=indent)
