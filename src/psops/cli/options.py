"""Options declared once and shared by every command (typer ``Annotated`` aliases), named as in SOPS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FileArg = Annotated[str, typer.Argument(help="The file to work on; - reads standard input.", metavar="FILE")]

InPlace = Annotated[bool, typer.Option("--in-place", "-i", help="Write the result back to FILE (atomically).")]
Output = Annotated[
    Path | None, typer.Option("--output", help="Write the result to this path (atomically) instead of stdout.")
]
InputType = Annotated[
    str | None,
    typer.Option("--input-type", help="Format of the input: yaml, json, dotenv, ini, binary (default: by extension)."),
]
OutputType = Annotated[
    str | None,
    typer.Option("--output-type", help="Format of the output: yaml, json, dotenv, ini, binary (default: input)."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="SOPS_CONFIG",
                 help="Creation-rules file to use instead of searching for .sops-policy.yaml / .sops.yaml."),
]
FilenameOverride = Annotated[
    str | None,
    typer.Option("--filename-override",
                 help="Use this file name for format detection and creation-rule matching (e.g. with stdin)."),
]
IgnoreMac = Annotated[
    bool, typer.Option("--ignore-mac", help="Do not check the MAC (dangerous: accepts a tampered file). Warns.")
]
DecryptionOrder = Annotated[
    str | None,
    typer.Option("--decryption-order", envvar="SOPS_DECRYPTION_ORDER",
                 help="Comma-separated key types to try first, e.g. age,pgp (the default)."),
]

Age = Annotated[
    str | None,
    typer.Option("--age", "-a", envvar="SOPS_AGE_RECIPIENTS", help="Comma-separated age recipients (age1...)."),
]
Pgp = Annotated[
    str | None,
    typer.Option("--pgp", "-p", envvar="SOPS_PGP_FP", help="Comma-separated PGP fingerprints."),
]
Kms = Annotated[
    str | None,
    typer.Option("--kms", "-k", envvar="SOPS_KMS_ARN",
                 help="Comma-separated AWS KMS key ARNs, each optionally +ROLE_ARN to assume a role."),
]
AwsProfile = Annotated[
    str | None,
    typer.Option("--aws-profile", help="AWS shared-config profile for the --kms keys (stored as aws_profile)."),
]
EncryptionContext = Annotated[
    str | None,
    typer.Option("--encryption-context",
                 help="AWS KMS encryption context as key:value,key:value (for --kms keys and rule kms keys)."),
]
GcpKms = Annotated[
    str | None,
    typer.Option("--gcp-kms", envvar="SOPS_GCP_KMS_IDS",
                 help="Comma-separated GCP KMS resource IDs (projects/P/locations/L/keyRings/R/cryptoKeys/K)."),
]
AzureKv = Annotated[
    str | None,
    typer.Option("--azure-kv", envvar="SOPS_AZURE_KEYVAULT_URLS",
                 help="Comma-separated Azure Key Vault key URLs (https://VAULT/keys/NAME or .../NAME/VERSION)."),
]
HcVaultTransit = Annotated[
    str | None,
    typer.Option("--hc-vault-transit", envvar="SOPS_VAULT_URIS",
                 help="Comma-separated Vault Transit key URIs (https://HOST:8200/v1/ENGINE/keys/NAME)."),
]
Hckms = Annotated[
    str | None,
    typer.Option("--hckms", envvar="SOPS_HUAWEICLOUD_KMS_IDS",
                 help="Comma-separated HuaweiCloud KMS key IDs (REGION:KEY-UUID)."),
]
UnencryptedSuffix = Annotated[
    str | None, typer.Option("--unencrypted-suffix", help="Keys ending with this suffix stay clear text.")
]
EncryptedSuffix = Annotated[
    str | None, typer.Option("--encrypted-suffix", help="Only keys ending with this suffix are encrypted.")
]
UnencryptedRegex = Annotated[
    str | None, typer.Option("--unencrypted-regex", help="Keys matching this regex stay clear text.")
]
EncryptedRegex = Annotated[
    str | None, typer.Option("--encrypted-regex", help="Only keys matching this regex are encrypted.")
]
UnencryptedCommentRegex = Annotated[
    str | None,
    typer.Option("--unencrypted-comment-regex",
                 help="Values under a comment matching this regex stay clear text (and the comment too)."),
]
EncryptedCommentRegex = Annotated[
    str | None,
    typer.Option("--encrypted-comment-regex",
                 help="Only values under a comment matching this regex are encrypted."),
]
MacOnlyEncrypted = Annotated[
    bool,
    typer.Option("--mac-only-encrypted",
                 help="Compute the MAC over encrypted values only, so clear-text values may be edited freely."),
]
Indent = Annotated[
    int | None,
    typer.Option("--indent", min=0, max=16,
                 help="Indentation of YAML and JSON output (default: 4 for YAML, a tab for JSON, or the "
                      "config's stores setting)."),
]
ShamirThreshold = Annotated[
    int,
    typer.Option("--shamir-secret-sharing-threshold", min=0,
                 help="Number of key groups needed to decrypt (default: all groups)."),
]
Extract = Annotated[
    str | None,
    typer.Option("--extract", help='Print only the value at this path, e.g. \'["a"][0]["b"]\'.'),
]
