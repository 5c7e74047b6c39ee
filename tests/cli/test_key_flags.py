"""Key flags of ``psops encrypt`` (--kms, --aws-profile, --encryption-context, --gcp-kms, --azure-kv,
--hc-vault-transit, --hckms and their SOPS_* variables), and what a user sees when a network key fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.aws import AwsKms
from fixtures.cli import assert_clean_error, load_data, ok, run
from fixtures.loopback import BlackHole, closed_port
from fixtures.vault import Vault
from psops.cli.keysel import KeyFlags, flag_groups, parse_encryption_context
from psops.errors import InvalidEncryptionContext, PsopsError

ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::111122223333:role/sops"
GCP = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
AZURE = "https://myvault.vault.azure.net/keys/sops/0123456789abcdef"
VAULT = "https://vault.example.com:8200/v1/team/transit/keys/app"


def test_every_key_flag_becomes_a_stanza_in_sops_order() -> None:
    flags = KeyFlags(age="age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq", pgp="ab cd",
                     kms=f"{ARN}+{ROLE}, {ARN}", gcp_kms=GCP, azure_kv=AZURE, hc_vault_transit=VAULT,
                     hckms="eu-west-0:0c5b8c1c-7e8f-4a4c-9b45-6f3f3e2d1c0b", aws_profile="dev",
                     encryption_context="app:web,env:prod")
    group = flag_groups(flags)
    assert [s.kind for s in group] == ["kms", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age"]
    assert group[0].fields == {"arn": ARN, "role": ROLE, "context": {"app": "web", "env": "prod"},
                               "aws_profile": "dev"}
    assert group[1].fields == {"arn": ARN, "context": {"app": "web", "env": "prod"}, "aws_profile": "dev"}
    assert group[2].fields == {"resource_id": GCP}
    assert group[4].fields == {"vault_url": "https://myvault.vault.azure.net", "name": "sops",
                               "version": "0123456789abcdef"}
    assert group[5].fields == {"vault_address": "https://vault.example.com:8200", "engine_path": "team/transit",
                               "key_name": "app"}
    assert group[6].fields == {"fp": "abcd"}


@pytest.mark.parametrize("text", ["app", "a:b:c", "a:b,", "a:b,c"])
def test_malformed_encryption_context_is_refused(text: str) -> None:
    with pytest.raises(InvalidEncryptionContext) as info:
        parse_encryption_context(text)
    assert info.value.exit_code == 6


def test_encryption_context_parses_pairs() -> None:
    assert parse_encryption_context("b:2,a:1") == {"b": "2", "a": "1"}
    assert parse_encryption_context("") == {}


def test_a_bad_vault_uri_is_refused_by_the_policy_parser() -> None:
    with pytest.raises(PsopsError, match="prefix before /v1/"):
        flag_groups(KeyFlags(hc_vault_transit="https://vault:8200/prefix/v1/transit/keys/k"))


def test_help_lists_the_key_flags(psops_bin: str) -> None:
    text = ok(run(psops_bin, "encrypt", "--help", env={"COLUMNS": "400"})).decode()
    for flag in ("--kms", "--aws-profile", "--encryption-context", "--gcp-kms", "--azure-kv",
                 "--hc-vault-transit", "--hckms", "SOPS_KMS_ARN", "SOPS_VAULT_URIS", "SOPS_GCP_KMS_IDS",
                 "SOPS_AZURE_KEYVAULT_URLS", "SOPS_HUAWEICLOUD_KMS_IDS"):
        assert flag in text, flag


def test_malformed_encryption_context_exits_6(work: Path, psops_bin: str) -> None:
    (work / "a.json").write_text('{"a": "b"}')
    proc = run(psops_bin, "encrypt", "--kms", ARN, "--encryption-context", "nocolon", "a.json")
    line = assert_clean_error(proc, 6, names="a.json")
    assert "encryption context" in line


def test_hckms_env_var_is_read(work: Path, psops_bin: str) -> None:
    (work / "a.json").write_text('{"a": "b"}')
    proc = run(psops_bin, "encrypt", "a.json",
               env={"SOPS_HUAWEICLOUD_KMS_IDS": "eu-west-0:0c5b8c1c-7e8f-4a4c-9b45-6f3f3e2d1c0b"})
    assert "no key service for 'hckms'" in assert_clean_error(proc, None, names="a.json")


def test_encryption_context_applies_to_the_rules_kms_keys_like_sops(aws_kms: AwsKms, work: Path, psops_bin: str,
                                                                    sops_bin: str) -> None:
    # As `sops -e --encryption-context ...` (legacy mode) does; sops 3.11's `encrypt` subcommand silently
    # drops the flag for rule keys, which psops does not copy.
    (work / ".sops.yaml").write_text(f"creation_rules:\n  - kms: {aws_kms.keys.key_arn}\n")
    (work / "a.json").write_text('{"a": "b"}')
    ours = ok(run(psops_bin, "encrypt", "--encryption-context", "team:core", "a.json"))
    theirs = json.loads(ok(run(sops_bin, "--encryption-context", "team:core", "-e", "a.json")))
    assert json.loads(ours)["sops"]["kms"][0]["context"] == theirs["sops"]["kms"][0]["context"] == {"team": "core"}
    (work / "ours.json").write_bytes(ours)
    assert json.loads(ok(run(sops_bin, "decrypt", "ours.json"))) == {"a": "b"}


# ---------------------------------------------------------------------------------------------------------
# failures as a user sees them: exit 128, one line naming the file, the key and the service's reason
# ---------------------------------------------------------------------------------------------------------


def _kms_file(work: Path, psops_bin: str, arn: str, *args: str) -> Path:
    (work / "plain.json").write_text('{"password": "s3cr3t"}')
    enc = work / "secrets.json"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--kms", arn, *args, "plain.json")))
    return enc


def _edit_meta(path: Path, kind: str, **changes: Any) -> None:
    doc = json.loads(path.read_text())
    doc["sops"][kind][0].update(changes)
    path.write_text(json.dumps(doc, indent="\t"))


def test_wrong_encryption_context(aws_kms: AwsKms, work: Path, psops_bin: str) -> None:
    enc = _kms_file(work, psops_bin, aws_kms.keys.key_arn, "--encryption-context", "app:web")
    _edit_meta(enc, "kms", context={"app": "db"})
    line = assert_clean_error(run(psops_bin, "decrypt", enc.name), 128, names="secrets.json")
    assert aws_kms.keys.key_arn in line and "InvalidCiphertextException" in line
    assert "encryption context must be exactly the one used" in line


def test_disabled_key(aws_kms: AwsKms, work: Path, psops_bin: str) -> None:
    arn = aws_kms.new_key()
    enc = _kms_file(work, psops_bin, arn)
    aws_kms.kms().disable_key(KeyId=arn.rsplit("/", 1)[1])
    line = assert_clean_error(run(psops_bin, "decrypt", enc.name), 128, names="secrets.json")
    assert arn in line and "the key is disabled" in line and "enable-key" in line
    proc = run(psops_bin, "encrypt", "--kms", arn, "plain.json")
    line = assert_clean_error(proc, 128, names="plain.json")
    assert arn in line and "could not encrypt: the key is disabled" in line


def test_unknown_key(aws_kms: AwsKms, work: Path, psops_bin: str) -> None:
    enc = _kms_file(work, psops_bin, aws_kms.keys.key_arn)
    unknown = aws_kms.keys.key_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    _edit_meta(enc, "kms", arn=unknown)
    line = assert_clean_error(run(psops_bin, "decrypt", enc.name), 128, names="secrets.json")
    assert unknown in line and "the key does not exist" in line


def test_unreachable_kms_endpoint(aws_kms: AwsKms, work: Path, psops_bin: str) -> None:
    enc = _kms_file(work, psops_bin, aws_kms.keys.key_arn)
    proc = run(psops_bin, "decrypt", enc.name, env={"AWS_ENDPOINT_URL_KMS": f"http://127.0.0.1:{closed_port()}"})
    line = assert_clean_error(proc, 128, names="secrets.json")
    assert aws_kms.keys.key_arn in line and "unreachable" in line and "AWS_ENDPOINT_URL_KMS" in line


def test_a_silent_kms_endpoint_does_not_hang(aws_kms: AwsKms, black_hole: BlackHole, work: Path,
                                              psops_bin: str) -> None:
    import time

    enc = _kms_file(work, psops_bin, aws_kms.keys.key_arn)
    start = time.monotonic()
    proc = run(psops_bin, "decrypt", enc.name, env={"AWS_ENDPOINT_URL_KMS": f"http://127.0.0.1:{black_hole.port}",
                                                    "PSOPS_AWS_KMS_TIMEOUT": "1"})
    assert time.monotonic() - start < 15
    line = assert_clean_error(proc, 128, names="secrets.json")
    assert aws_kms.keys.key_arn in line and "ReadTimeoutError" in line


def test_bad_vault_token(vault: Vault, work: Path, psops_bin: str) -> None:
    (work / "plain.json").write_text('{"password": "s3cr3t"}')
    enc = work / "secrets.json"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--hc-vault-transit", vault.key_uri, "plain.json")))
    proc = run(psops_bin, "decrypt", enc.name, env={"VAULT_TOKEN": "not-the-token"})
    line = assert_clean_error(proc, 128, names="secrets.json")
    assert vault.key_uri in line and "permission denied" in line and "VAULT_TOKEN" in line
    assert "not-the-token" not in proc.stderr.decode()


def test_every_key_tried_is_listed_per_group(aws_kms: AwsKms, vault: Vault, work: Path, psops_bin: str) -> None:
    (work / "plain.json").write_text('{"password": "s3cr3t"}')
    enc = work / "secrets.json"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--kms", aws_kms.keys.key_arn, "--hc-vault-transit",
                           vault.key_uri, "plain.json")))
    proc = run(psops_bin, "decrypt", enc.name, unset=["VAULT_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    line = assert_clean_error(proc, 128, names="secrets.json")
    assert f"group 0: kms {aws_kms.keys.key_arn}: no AWS credentials found" in line
    assert f"group 0: hc_vault {vault.key_uri}: no Vault token" in line
    hint = proc.stderr.decode().splitlines()[1]
    assert hint == "hint: provide an identity for one of the listed keys (AWS credentials or AWS_PROFILE; " \
                   "VAULT_TOKEN or ~/.vault-token)"
    data = load_data(ok(run(psops_bin, "decrypt", enc.name, unset=["AWS_ACCESS_KEY_ID"])), "json")
    assert data == {"password": "s3cr3t"}  # the Vault key opens it when AWS has no credentials
