"""AWS KMS and Vault Transit interop with the real sops binary, both directions, on loopback servers.

psops and sops talk to the same moto server (``AWS_ENDPOINT_URL_KMS``/``AWS_ENDPOINT_URL_STS``) and the same
OpenBao dev server (the address stored in the file, ``VAULT_TOKEN``). A file written by one tool must
decrypt with the other to the same data. A 2-of-3 Shamir file with an age, a PGP and a KMS key group opens
with any two groups' keys and not with one, whichever tool wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.aws import AwsKms
from fixtures.cli import describe, load_data, ok, run
from fixtures.gnupg import GpgKey, gnupg_home
from fixtures.vault import Vault

if TYPE_CHECKING:
    from conftest import AgeKey

FORMATS = ["json", "yaml"]
PLAIN = {
    "json": '{\n\t"db": {\n\t\t"user": "app",\n\t\t"password": "s3cr3t"\n\t},\n\t"port": 5432,\n'
            '\t"tags": [\n\t\t"a",\n\t\t"b"\n\t],\n\t"enabled": true\n}\n',
    "yaml": "db:\n    user: app\n    password: s3cr3t\nport: 5432\ntags:\n    - a\n    - b\nenabled: true\n",
}


def _plain(work: Path, fmt: str, name: str = "secrets") -> tuple[Path, Any]:
    path = work / f"{name}.{fmt}"
    path.write_text(PLAIN[fmt])
    return path, load_data(PLAIN[fmt], fmt)


def _encrypt(exe: str, plain: Path, out: Path, *args: str, **kwargs: Any) -> dict[str, Any]:
    out.write_bytes(ok(run(exe, "encrypt", *args, plain, **kwargs)))
    meta: dict[str, Any] = load_data(out.read_bytes(), plain.suffix.lstrip("."))["sops"]
    return meta


# ---------------------------------------------------------------------------------------------------------
# AWS KMS
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_psops_kms_file_with_context_decrypts_with_sops(aws_kms: AwsKms, work: Path, fmt: str, psops_bin: str,
                                                       sops_bin: str) -> None:
    plain, expected = _plain(work, fmt)
    enc = work / f"ours.{fmt}"
    meta = _encrypt(psops_bin, plain, enc, "--kms", aws_kms.keys.key_arn,
                    "--encryption-context", "env:prod,app:web")
    [stanza] = meta["kms"]
    assert list(stanza) == ["arn", "context", "created_at", "enc", "aws_profile"]
    assert stanza["context"] == {"app": "web", "env": "prod"} and list(stanza["context"]) == ["app", "env"]
    assert stanza["aws_profile"] == ""
    assert load_data(ok(run(sops_bin, "decrypt", enc)), fmt) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_sops_kms_file_with_context_decrypts_with_psops(aws_kms: AwsKms, work: Path, fmt: str, psops_bin: str,
                                                       sops_bin: str) -> None:
    plain, expected = _plain(work, fmt)
    enc = work / f"theirs.{fmt}"
    meta = _encrypt(sops_bin, plain, enc, "--kms", aws_kms.keys.key_arn, "--encryption-context", "app:web")
    assert meta["kms"][0]["context"] == {"app": "web"}
    ours = ok(run(psops_bin, "decrypt", enc))
    assert ours == ok(run(sops_bin, "decrypt", enc))
    assert load_data(ours, fmt) == expected


def test_role_stanza_both_ways(aws_kms: AwsKms, work: Path, psops_bin: str, sops_bin: str) -> None:
    keys = aws_kms.keys
    plain, expected = _plain(work, "json")
    ours, theirs = work / "ours.json", work / "theirs.json"
    before = len(aws_kms.assumed_roles())
    meta = _encrypt(psops_bin, plain, ours, "--kms", f"{keys.key_arn}+{keys.role_arn}")
    assert list(meta["kms"][0]) == ["arn", "role", "created_at", "enc", "aws_profile"]
    assert meta["kms"][0]["role"] == keys.role_arn
    assert load_data(ok(run(sops_bin, "decrypt", ours)), "json") == expected

    meta = _encrypt(sops_bin, plain, theirs, "--kms", f"{keys.key_arn}+{keys.role_arn}")
    assert meta["kms"][0]["role"] == keys.role_arn
    assert load_data(ok(run(psops_bin, "decrypt", theirs)), "json") == expected
    sessions = aws_kms.assumed_roles()[before:]
    # psops encrypt, sops decrypt, sops encrypt, psops decrypt: each assumed the role as sops@<host>.
    assert len(sessions) == 4 and {role for role, _ in sessions} == {keys.role_arn}
    assert len({name for _, name in sessions}) == 1 and sessions[0][1].startswith("sops@")


def test_alias_arn_from_sops_kms_arn_env_both_ways(aws_kms: AwsKms, work: Path, psops_bin: str,
                                                  sops_bin: str) -> None:
    plain, expected = _plain(work, "json")
    ours, theirs = work / "ours.json", work / "theirs.json"
    env = {"SOPS_KMS_ARN": aws_kms.keys.alias_arn}
    assert _encrypt(psops_bin, plain, ours, env=env)["kms"][0]["arn"] == aws_kms.keys.alias_arn
    assert load_data(ok(run(sops_bin, "decrypt", ours)), "json") == expected
    _encrypt(sops_bin, plain, theirs, env=env)
    assert load_data(ok(run(psops_bin, "decrypt", theirs)), "json") == expected


def test_aws_profile_is_stored_and_used_by_both(aws_kms: AwsKms, work: Path, clean_env: Path, psops_bin: str,
                                               sops_bin: str) -> None:
    aws = clean_env / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text("[psops-test]\naws_access_key_id = profilekey\n"
                                     "aws_secret_access_key = profilesecret\n")
    (aws / "config").write_text("[profile psops-test]\nregion = us-east-1\n")
    plain, expected = _plain(work, "json")
    ours = work / "ours.json"
    no_env_creds = {"unset": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]}
    meta = _encrypt(psops_bin, plain, ours, "--kms", aws_kms.keys.key_arn, "--aws-profile", "psops-test",
                    **no_env_creds)
    assert meta["kms"][0]["aws_profile"] == "psops-test"
    assert load_data(ok(run(sops_bin, "decrypt", ours, **no_env_creds)), "json") == expected
    assert load_data(ok(run(psops_bin, "decrypt", ours, **no_env_creds)), "json") == expected


# ---------------------------------------------------------------------------------------------------------
# Vault Transit
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_psops_vault_file_decrypts_with_sops(vault: Vault, work: Path, fmt: str, psops_bin: str,
                                            sops_bin: str) -> None:
    plain, expected = _plain(work, fmt)
    enc = work / f"ours.{fmt}"
    meta = _encrypt(psops_bin, plain, enc, "--hc-vault-transit", f"{vault.key_uri},{vault.nested_key_uri}")
    assert [list(s) for s in meta["hc_vault"]] == [["vault_address", "engine_path", "key_name", "created_at",
                                                    "enc"]] * 2
    assert [(s["engine_path"], s["key_name"]) for s in meta["hc_vault"]] == [("transit", "psops"),
                                                                             ("team/transit", "app")]
    assert all(s["enc"].startswith("vault:v1:") for s in meta["hc_vault"])
    assert load_data(ok(run(sops_bin, "decrypt", enc)), fmt) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_sops_vault_file_decrypts_with_psops(vault: Vault, work: Path, fmt: str, psops_bin: str,
                                            sops_bin: str) -> None:
    plain, expected = _plain(work, fmt)
    enc = work / f"theirs.{fmt}"
    _encrypt(sops_bin, plain, enc, env={"SOPS_VAULT_URIS": vault.nested_key_uri})
    ours = ok(run(psops_bin, "decrypt", enc))
    assert ours == ok(run(sops_bin, "decrypt", enc))
    assert load_data(ours, fmt) == expected


def test_vault_token_file_works_for_both(vault: Vault, work: Path, clean_env: Path, psops_bin: str,
                                        sops_bin: str) -> None:
    (clean_env / ".vault-token").write_text(vault.token)
    plain, expected = _plain(work, "json")
    ours = work / "ours.json"
    _encrypt(psops_bin, plain, ours, "--hc-vault-transit", vault.key_uri, unset=["VAULT_TOKEN"])
    assert load_data(ok(run(sops_bin, "decrypt", ours, unset=["VAULT_TOKEN"])), "json") == expected


# ---------------------------------------------------------------------------------------------------------
# 2-of-3 Shamir: age, PGP and KMS groups
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def empty_gnupg() -> Iterator[Path]:
    """A GnuPG home without keys: 'PGP not available'."""
    with gnupg_home() as home:
        yield home


class Holders:
    """Environments that give a tool the keys of only some of the three groups (age, pgp, kms)."""

    def __init__(self, age_key_file: str, gpg: GpgKey, empty_gnupg: Path) -> None:
        self.age_key_file = age_key_file
        self.gpg = gpg
        self.empty_gnupg = empty_gnupg

    def only(self, *groups: str) -> dict[str, Any]:
        env: dict[str, str] = {"GNUPGHOME": str(self.gpg.home if "pgp" in groups else self.empty_gnupg)}
        unset: list[str] = []
        if "age" not in groups:
            unset.append("SOPS_AGE_KEY_FILE")
        if "kms" not in groups:
            unset += ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        return {"env": env, "unset": unset}


@pytest.fixture
def holders(age_env: AgeKey, gpg_env: GpgKey, empty_gnupg: Path) -> Holders:
    import os

    return Holders(os.environ["SOPS_AGE_KEY_FILE"], gpg_env, empty_gnupg)


def _shamir_rule(work: Path, age: AgeKey, gpg: GpgKey, kms_arn: str) -> None:
    (work / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ''\n"
        "    shamir_threshold: 2\n"
        "    key_groups:\n"
        f"      - age:\n          - {age.recipient}\n"
        f"      - pgp:\n          - {gpg.fingerprint}\n"
        f"      - kms:\n          - arn: {kms_arn}\n"
        "            context:\n              purpose: shamir-test\n"
    )


PAIRS = [("age", "pgp"), ("age", "kms"), ("pgp", "kms")]
SINGLES = [("age",), ("pgp",), ("kms",)]


def _check_threshold(exe: str, enc: Path, expected: Any, holders: Holders) -> None:
    for pair in PAIRS:
        proc = run(exe, "decrypt", enc, **holders.only(*pair))
        assert proc.returncode == 0, f"with {pair}:\n{describe(proc)}"
        assert load_data(proc.stdout, "json") == expected
    for single in SINGLES:
        proc = run(exe, "decrypt", enc, **holders.only(*single))
        assert proc.returncode == 128 and proc.stdout == b"", f"with {single}:\n{describe(proc)}"


def test_psops_two_of_three_file_opens_in_sops_with_any_two_groups(aws_kms: AwsKms, holders: Holders,
                                                                    age_env: AgeKey, work: Path,
                                                                    psops_bin: str, sops_bin: str) -> None:
    _shamir_rule(work, age_env, holders.gpg, aws_kms.keys.key_arn)
    plain, expected = _plain(work, "json")
    enc = work / "ours.json"
    meta = _encrypt(psops_bin, plain, enc)
    assert meta["shamir_threshold"] == 2
    groups = meta["key_groups"]
    assert [[k for k in ("age", "pgp", "kms") if g.get(k)] for g in groups] == [["age"], ["pgp"], ["kms"]]
    assert groups[2]["kms"][0]["context"] == {"purpose": "shamir-test"}
    _check_threshold(sops_bin, enc, expected, holders)
    proc = run(psops_bin, "decrypt", enc, **holders.only("kms"))
    err = proc.stderr.decode()
    assert proc.returncode == 128 and "only 1 of the 2 key groups needed" in err, describe(proc)


def test_sops_two_of_three_file_opens_in_psops_with_any_two_groups(aws_kms: AwsKms, holders: Holders,
                                                                    age_env: AgeKey, work: Path,
                                                                    psops_bin: str, sops_bin: str) -> None:
    _shamir_rule(work, age_env, holders.gpg, aws_kms.keys.key_arn)
    plain, expected = _plain(work, "json")
    enc = work / "theirs.json"
    meta = _encrypt(sops_bin, plain, enc)
    assert meta["shamir_threshold"] == 2 and len(meta["key_groups"]) == 3
    _check_threshold(psops_bin, enc, expected, holders)
