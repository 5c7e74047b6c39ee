"""Creation rules: discovery, parsing, key strings and SOPS' rule matching (real files, no mocks)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyrage
import pytest
from hypothesis import given, settings
from ruamel.yaml import YAML

from fixtures.strategies import around
from psops.errors import PolicyError
from psops.keys.base import KeyStanza
from psops.policy import (
    Config,
    InvalidKeySpec,
    StoreSettings,
    discover_config,
    find_config,
    load_config,
    parse_azure_kv_url,
    parse_key_list,
    parse_kms_arn,
    parse_vault_uri,
)
from psops.policy import config as config_module
from psops.selection import EncryptionRules

AGE_A = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
AGE_B = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"
FP_1 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
FP_2 = "D7229043384BCC60326C6FB9D8720D957C3D3074"
KMS_ARN = "arn:aws:kms:us-east-1:656532927350:key/920aff2e-c5f1-4040-943a-047fa387b27e"
ROLE_ARN = "arn:aws:iam::927034868273:role/sops-dev"
GCP_ID = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
AZURE_URL = "https://myvault.vault.azure.net/keys/sops-key/abc123"
VAULT_URI = "https://vault.example.com:8200/v1/sops/transit/keys/firstkey"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def catch_all(recipient: str) -> str:
    return f"creation_rules:\n  - age: {recipient}\n"


def recipients(group: list[KeyStanza]) -> list[str]:
    return [str(s.fields.get("recipient") or s.fields.get("fp")) for s in group]


# ---------------------------------------------------------------------------------------------- discovery


def test_search_starts_at_file_dir_then_cwd(tmp_path: Path) -> None:
    cfg_a = write(tmp_path / "a" / ".sops.yaml", catch_all(AGE_A))
    cfg_b = write(tmp_path / "b" / ".sops.yaml", catch_all(AGE_B))
    (tmp_path / "c").mkdir()

    found = find_config(tmp_path / "a" / "x.yaml", cwd=tmp_path / "b")
    assert found is not None and found.path == cfg_a and found.source == "file_dir"

    # nothing above the file's dir: fall back to the working directory
    found = find_config(tmp_path / "c" / "x.yaml", cwd=tmp_path / "b")
    assert found is not None and found.path == cfg_b and found.source == "cwd"

    # stdin (no file): only the working directory
    found = find_config(None, cwd=tmp_path / "b")
    assert found is not None and found.path == cfg_b

    assert find_config(tmp_path / "c" / "x.yaml", cwd=tmp_path / "c") is None


def test_relative_file_path_is_taken_against_cwd(work: Path) -> None:
    cfg = write(work / "sub" / ".sops.yaml", catch_all(AGE_A))
    found = find_config(Path("sub/x.yaml"))
    assert found is not None and found.path == cfg


def test_policy_file_wins_over_sops_yaml_in_same_folder(tmp_path: Path) -> None:
    write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    policy = write(tmp_path / ".sops-policy.yaml", catch_all(AGE_B))
    found = find_config(tmp_path / "x.yaml", cwd=tmp_path)
    assert found is not None and found.path == policy and found.is_policy_file


def test_nearer_folder_wins(tmp_path: Path) -> None:
    write(tmp_path / ".sops-policy.yaml", catch_all(AGE_A))
    near = write(tmp_path / "sub" / ".sops.yaml", catch_all(AGE_B))
    found = find_config(tmp_path / "sub" / "deep" / "x.yaml", cwd=tmp_path)
    assert found is not None and found.path == near


def test_sops_yml_is_ignored_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "sub" / ".sops.yml", catch_all(AGE_B))
    cfg = write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    found = find_config(tmp_path / "sub" / "x.yaml", cwd=tmp_path)
    assert found is not None and found.path == cfg
    assert len(found.warnings) == 1 and ".sops.yml" in found.warnings[0]

    sink: list[str] = []
    (tmp_path / ".sops.yaml").unlink()
    assert find_config(tmp_path / "sub" / "x.yaml", cwd=tmp_path / "sub", warnings=sink) is None
    assert sink and ".sops.yml" in sink[0]


def test_explicit_config_and_env_override_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    elsewhere = write(tmp_path / "conf" / "rules.yaml", catch_all(AGE_B))
    env_cfg = write(tmp_path / "conf" / "env.yaml", catch_all(AGE_B))

    found = find_config(tmp_path / "x.yaml", explicit=elsewhere, cwd=tmp_path)
    assert found is not None and found.path == elsewhere and found.source == "explicit"

    monkeypatch.setenv("SOPS_CONFIG", str(env_cfg))
    found = find_config(tmp_path / "x.yaml", cwd=tmp_path)
    assert found is not None and found.path == env_cfg and found.source == "env"
    # --config beats SOPS_CONFIG
    found = find_config(tmp_path / "x.yaml", explicit=elsewhere, cwd=tmp_path)
    assert found is not None and found.path == elsewhere

    with pytest.raises(PolicyError) as err:
        find_config(tmp_path / "x.yaml", explicit=tmp_path / "missing.yaml", cwd=tmp_path)
    assert err.value.exit_code == 5
    monkeypatch.setenv("SOPS_CONFIG", str(tmp_path / "gone.yaml"))
    with pytest.raises(PolicyError, match="SOPS_CONFIG"):
        find_config(tmp_path / "x.yaml", cwd=tmp_path)


def test_discover_config_merges_search_warnings(tmp_path: Path) -> None:
    write(tmp_path / "sub" / ".sops.yml", "")
    write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    config = discover_config(tmp_path / "sub" / "x.yaml", cwd=tmp_path)
    assert config is not None and any(".sops.yml" in w for w in config.warnings)
    assert load_config(tmp_path / ".sops.yaml").warnings == []


# ----------------------------------------------------------------------------------------------- matching


def test_path_regex_is_relative_to_the_config_dir(work: Path) -> None:
    write(work / ".sops.yaml", f"creation_rules:\n  - path_regex: ^sub/\n    age: {AGE_A}\n")
    config = load_config(work / ".sops.yaml")
    rule = config.match(Path("sub/x.yaml"))
    assert rule is not None and recipients(rule.key_groups[0]) == [AGE_A]
    assert rule.path_regex == "^sub/" and rule.config_path == work / ".sops.yaml"
    assert config.relative_match_path(work / "sub" / "deeper" / "f.yaml") == "sub/deeper/f.yaml"
    with pytest.raises(PolicyError):
        config.match(Path("x.yaml"))


def test_file_outside_config_dir_sees_its_absolute_path(tmp_path: Path) -> None:
    cfg = write(tmp_path / "conf" / ".sops.yaml", f"creation_rules:\n  - path_regex: ^/\n    age: {AGE_A}\n")
    config = load_config(cfg)
    outside = tmp_path / "other" / "x.yaml"
    assert config.relative_match_path(outside) == str(outside)
    assert config.match(outside) is not None


def test_first_matching_rule_wins_and_empty_regex_matches_all(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
creation_rules:
  - path_regex: \\.prod\\.yaml$
    age: {AGE_A}
  - path_regex: yaml
    age: {AGE_B}
  - pgp: {FP_1}
""")
    config = load_config(cfg)
    assert recipients(config.match(tmp_path / "db.prod.yaml").key_groups[0]) == [AGE_A]  # type: ignore[union-attr]
    assert recipients(config.match(tmp_path / "db.yaml").key_groups[0]) == [AGE_B]  # type: ignore[union-attr]
    rule = config.match(tmp_path / "db.json")
    assert rule is not None and rule.index == 2 and recipients(rule.key_groups[0]) == [FP_1]


def test_unanchored_search(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"creation_rules:\n  - path_regex: secret\n    age: {AGE_A}\n")
    assert load_config(cfg).match(tmp_path / "dir" / "my-secrets.env") is not None


def test_no_matching_rule_is_a_policy_error(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"creation_rules:\n  - path_regex: ^prod/\n    age: {AGE_A}\n")
    with pytest.raises(PolicyError, match="no matching creation rules found") as err:
        load_config(cfg).match(tmp_path / "dev" / "x.yaml")
    assert err.value.exit_code == 5
    assert err.value.path == str(cfg)


def test_filename_override_replaces_the_path(work: Path) -> None:
    cfg = write(work / ".sops.yaml", f"""\
creation_rules:
  - path_regex: \\.env$
    age: {AGE_A}
  - age: {AGE_B}
""")
    config = load_config(cfg)
    rule = config.match(work / "input.bin", filename_override="prod.env")
    assert rule is not None and recipients(rule.key_groups[0]) == [AGE_A]


def test_config_without_creation_rules_is_no_config(tmp_path: Path) -> None:
    text = "stores:\n  yaml:\n    indent: 2\ndestination_rules:\n  - s3_bucket: b\n"
    cfg = write(tmp_path / ".sops.yaml", text)
    config = load_config(cfg)
    assert config.match(tmp_path / "x.yaml") is None
    assert config.stores == StoreSettings(yaml_indent=2)
    empty = write(tmp_path / "e" / ".sops.yaml", "")
    assert load_config(empty).match(tmp_path / "e" / "x.yaml") is None


def test_match_hands_out_copies(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    rule = load_config(cfg).match(tmp_path / "x.yaml")
    assert rule is not None
    rule.key_groups[0][0].fields["enc"] = "wrapped"
    again = load_config(cfg).match(tmp_path / "x.yaml")
    assert again is not None and "enc" not in again.key_groups[0][0].fields


# ------------------------------------------------------------------------------------------------- keys


def test_flat_fields_comma_lists_with_spaces_and_trailing_comma(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
creation_rules:
  - hc_vault_transit_uri: "{VAULT_URI}"
    azure_keyvault: "{AZURE_URL}"
    gcp_kms: "{GCP_ID}"
    kms: " {KMS_ARN}+{ROLE_ARN} , "
    aws_profile: dev
    pgp: "{FP_1[:20]} {FP_1[20:]},  {FP_2},"
    age: " {AGE_A} ,{AGE_B}, "
    hckms: "cn-north-4:0d0466b0-e727-4d9c-b35d-f84bb474a37f"
""")
    rule = load_config(cfg).match(tmp_path / "x.yaml")
    assert rule is not None and len(rule.key_groups) == 1
    group = rule.key_groups[0]
    assert [s.kind for s in group] == ["age", "age", "pgp", "pgp", "kms", "gcp_kms", "hckms", "azure_kv",
                                       "hc_vault"]
    assert group[0] == KeyStanza("age", {"recipient": AGE_A})
    assert group[1] == KeyStanza("age", {"recipient": AGE_B})
    assert group[2] == KeyStanza("pgp", {"fp": FP_1})
    assert group[3] == KeyStanza("pgp", {"fp": FP_2})
    assert group[4] == KeyStanza("kms", {"arn": KMS_ARN, "role": ROLE_ARN, "aws_profile": "dev"})
    assert group[5] == KeyStanza("gcp_kms", {"resource_id": GCP_ID})
    assert group[6] == KeyStanza("hckms", {"key_id": "cn-north-4:0d0466b0-e727-4d9c-b35d-f84bb474a37f"})
    assert group[7] == KeyStanza("azure_kv", {"vault_url": "https://myvault.vault.azure.net",
                                              "name": "sops-key", "version": "abc123"})
    assert group[8] == KeyStanza("hc_vault", {"vault_address": "https://vault.example.com:8200",
                                              "engine_path": "sops/transit", "key_name": "firstkey"})
    assert rule.shamir_threshold == 0 and rule.rules == EncryptionRules()


def test_flat_fields_as_yaml_lists(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
creation_rules:
  - age:
      - {AGE_A}
      - " {AGE_B} "
    pgp: [{FP_1}]
    kms: [{KMS_ARN}]
""")
    group = load_config(cfg).match(tmp_path / "x.yaml").key_groups[0]  # type: ignore[union-attr]
    assert recipients(group[:3]) == [AGE_A, AGE_B, FP_1]
    assert group[3] == KeyStanza("kms", {"arn": KMS_ARN, "aws_profile": ""})


def test_key_groups_merge_and_dedupe_and_flat_fields_ignored(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
shared: &shared
  age: [{AGE_A}]
  pgp: [{FP_1}]
creation_rules:
  - age: {AGE_B}
    shamir_threshold: 2
    key_groups:
      - merge:
          - *shared
        age:
          - {AGE_A}
          - {AGE_B}
        kms:
          - arn: {KMS_ARN}
            role: {ROLE_ARN}
            context: {{app: web, tier: 1}}
            aws_profile: prod
          - arn: {KMS_ARN}
      - pgp: ["{FP_2[:4]} {FP_2[4:]}"]
        gcp_kms: [{{resource_id: {GCP_ID}}}]
        azure_keyvault: [{{vaultUrl: "https://v.vault.azure.net", key: k, version: ""}}]
        hc_vault: ["{VAULT_URI}"]
        hckms: [{{key_id: "eu-west-0:abc"}}]
""")
    rule = load_config(cfg).match(tmp_path / "x.yaml")
    assert rule is not None and rule.uses_key_groups
    assert rule.shamir_threshold == 2
    g0, g1 = rule.key_groups
    assert [(s.kind, s.fields.get("recipient") or s.fields.get("fp") or s.fields.get("arn")) for s in g0] == [
        ("age", AGE_A), ("pgp", FP_1), ("age", AGE_B), ("kms", KMS_ARN)]
    assert g0[3].fields == {"arn": KMS_ARN, "role": ROLE_ARN, "context": {"app": "web", "tier": "1"},
                            "aws_profile": "prod"}
    assert [s.kind for s in g1] == ["pgp", "gcp_kms", "hckms", "azure_kv", "hc_vault"]
    assert g1[0].fields == {"fp": FP_2}
    assert g1[3].fields == {"vault_url": "https://v.vault.azure.net", "name": "k", "version": ""}
    assert rule.raw["age"] == AGE_B  # raw rule kept as written


def test_encryption_context_applies_to_flat_kms_only(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"creation_rules:\n  - kms: {KMS_ARN}\n    aws_profile: p\n")
    rule = load_config(cfg).match(tmp_path / "x.yaml")
    assert rule is not None
    with_ctx = rule.with_kms_context({"a": "b"})
    assert with_ctx.key_groups[0][0].fields == {"arn": KMS_ARN, "context": {"a": "b"}, "aws_profile": "p"}
    assert "context" not in rule.key_groups[0][0].fields


def test_settings_selection_rules_and_extensions(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
audit:
  log: true
creation_rules:
  - age: {AGE_A}
    encrypted_regex: ^(data|stringData)$
    mac_only_encrypted: true
    rotate_after: 90d
""")
    config = load_config(cfg)
    rule = config.match(tmp_path / "x.yaml")
    assert rule is not None
    assert rule.rules == EncryptionRules(encrypted_regex="^(data|stringData)$", mac_only_encrypted=True)
    assert rule.raw["rotate_after"] == "90d"
    assert config.raw["audit"] == {"log": True}


def test_two_selection_rules_are_an_error(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
creation_rules:
  - age: {AGE_A}
    encrypted_suffix: _enc
    unencrypted_regex: ^public
""")
    with pytest.raises(PolicyError, match="encrypted_suffix, unencrypted_regex") as err:
        load_config(cfg)
    assert err.value.exit_code == 5 and err.value.path == str(cfg)


def test_kms_and_other_key_strings() -> None:
    assert parse_kms_arn(f"{KMS_ARN}+arn:aws-cn:iam::1:role/r").fields["role"] == "arn:aws-cn:iam::1:role/r"
    assert parse_key_list("kms", f"{KMS_ARN},{KMS_ARN}+{ROLE_ARN}", aws_profile="x", context={"k": "v"}) == [
        KeyStanza("kms", {"arn": KMS_ARN, "context": {"k": "v"}, "aws_profile": "x"}),
        KeyStanza("kms", {"arn": KMS_ARN, "role": ROLE_ARN, "context": {"k": "v"}, "aws_profile": "x"}),
    ]
    assert parse_azure_kv_url("https://v.vault.azure.net/keys/name").fields["version"] == ""
    assert parse_key_list("gcp_kms", f" {GCP_ID} ,") == [KeyStanza("gcp_kms", {"resource_id": GCP_ID})]
    assert parse_vault_uri("http://127.0.0.1:8200/v1/transit/keys/k").fields == {
        "vault_address": "http://127.0.0.1:8200", "engine_path": "transit", "key_name": "k"}
    ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbqJ2ltQ2Gf0ytZkcRNDSGBYXD6lB7V7xzcsXwDJhoz me@host"
    assert parse_key_list("age", f"{ssh}, {AGE_A}")[0].fields["recipient"] == ssh
    with pytest.raises(InvalidKeySpec, match="prefix"):
        parse_vault_uri("https://vault.example.com/proxy/v1/transit/keys/k")
    with pytest.raises(InvalidKeySpec):
        parse_vault_uri("https://vault.example.com/transit/k")
    with pytest.raises(InvalidKeySpec):
        parse_azure_kv_url("https://v.vault.azure.net/secrets/name")


def test_age_identity_in_recipient_field_is_rejected_without_echo(tmp_path: Path) -> None:
    secret = str(pyrage.x25519.Identity.generate())
    cfg = write(tmp_path / ".sops.yaml", f"creation_rules:\n  - age: {secret}\n")
    with pytest.raises(PolicyError) as err:
        load_config(cfg)
    assert secret not in str(err.value) and secret not in (err.value.hint or "")
    assert "line 2" in str(err.value)


# ------------------------------------------------------------------------------------------------ errors


def test_invalid_path_regex_is_an_error(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"creation_rules:\n  - path_regex: '(unclosed'\n    age: {AGE_A}\n")
    with pytest.raises(PolicyError, match="path_regex") as err:
        load_config(cfg)
    assert err.value.exit_code == 5 and "line 2" in str(err.value)


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", "creation_rules:\n  - age: [unclosed\n  - pgp: x\n: : :\n")
    with pytest.raises(PolicyError) as err:
        load_config(cfg)
    assert err.value.exit_code == 5
    assert str(cfg) in str(err.value) and "line " in str(err.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("creation_rules: {a: 1}\n", "line 1: creation_rules"),
        ("creation_rules:\n  - just-a-string\n", "line 2: creation_rules[0]"),
        ("creation_rules:\n  - age: x\n    shamir_threshold: two\n",
         "line 3: creation_rules[0].shamir_threshold"),
        ("creation_rules:\n  - key_groups:\n      - kms: [{role: r}]\n",
         "creation_rules[0].key_groups[0].kms[0]"),
        ("creation_rules:\n  - age: [1, {a: b}]\n", "creation_rules[0].age[1]"),
        ("- a\n- b\n", "must be a mapping"),
        ("stores:\n  yaml:\n    indent: -2\n", "line 3: stores.yaml.indent"),
        ("stores:\n  json:\n    indent: wide\n", "stores.json.indent"),
    ],
)
def test_wrong_types_name_the_place(tmp_path: Path, text: str, where: str) -> None:
    cfg = write(tmp_path / ".sops.yaml", text)
    with pytest.raises(PolicyError) as err:
        load_config(cfg)
    assert where in str(err.value) and err.value.path == str(cfg)


def test_stores_indent(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", f"""\
stores:
  yaml: {{indent: 2}}
  json: {{indent: 3}}
  json_binary: {{indent: 0}}
  dotenv: {{}}
creation_rules:
  - age: {AGE_A}
""")
    assert load_config(cfg).stores == StoreSettings(yaml_indent=2, json_indent=3, json_binary_indent=0)
    other = write(tmp_path / "o" / ".sops.yaml", catch_all(AGE_A))
    assert load_config(other).stores == StoreSettings(yaml_indent=4, json_indent=-1, json_binary_indent=-1)


def test_cache_notices_changes(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    first = load_config(cfg)
    assert load_config(cfg) is first
    cfg.write_text(catch_all(AGE_B) + "# changed\n")
    os.utime(cfg, ns=(1, 1))
    second: Config = load_config(cfg)
    assert recipients(second.match(tmp_path / "x.yaml").key_groups[0]) == [AGE_B]  # type: ignore[union-attr]


def test_settings_only_reading_leaves_the_rules_unchecked(tmp_path: Path) -> None:
    # what decrypt, set, rotate and exec read: stores and the raw file, not the rules (as sops' decrypt)
    cfg = write(tmp_path / ".sops.yaml", "stores:\n  json: {indent: 2}\naudit: {file: a.log}\n"
                                         "creation_rules:\n  - path_regex: '(unclosed'\n    age: not-a-key\n")
    settings = load_config(cfg, creation_rules=False)
    assert settings.stores.json_indent == 2 and settings.raw["audit"] == {"file": "a.log"}
    assert settings.has_creation_rules and not settings.rules_checked and settings.rules == []
    with pytest.raises(RuntimeError, match="without its creation rules"):
        settings.match(tmp_path / "x.json")
    # a full read is not answered from the settings-only cache entry
    with pytest.raises(PolicyError, match="path_regex"):
        load_config(cfg)


def test_settings_only_reading_is_served_by_a_full_read(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".sops.yaml", catch_all(AGE_A))
    full = load_config(cfg)
    assert load_config(cfg, creation_rules=False) is full and full.rules_checked


@pytest.mark.parametrize("text", ["creation_rules: {a: 1}\n", "creation_rules:\n  - just-a-string\n",
                                  "stores:\n  json:\n    indent: wide\n", "creation_rules: [\n"])
def test_settings_only_reading_still_refuses_what_sops_cannot_read(tmp_path: Path, text: str) -> None:
    cfg = write(tmp_path / ".sops.yaml", text)
    with pytest.raises(PolicyError):
        load_config(cfg, creation_rules=False)


# ------------------------------------------------------------------------------------------------ interop


def test_rule_choice_matches_sops(work: Path, sops_bin: str) -> None:
    a = str(pyrage.x25519.Identity.generate().to_public())
    b = str(pyrage.x25519.Identity.generate().to_public())
    write(work / ".sops.yaml", f"creation_rules:\n  - path_regex: ^sub/\n    age: {a}\n  - age: {b}\n")
    write(work / "sub" / "x.yaml", "secret: value\n")
    write(work / "top.yaml", "secret: value\n")
    config = load_config(work / ".sops.yaml")
    env = {**os.environ, "SOPS_DISABLE_VERSION_CHECK": "1"}
    for name in ("sub/x.yaml", "top.yaml"):
        out = subprocess.run([sops_bin, "encrypt", name], cwd=work, env=env, capture_output=True, text=True,
                             check=True, timeout=60).stdout
        used = YAML(typ="safe").load(out)["sops"]["age"][0]["recipient"]
        rule = config.match(Path(name))
        assert rule is not None
        assert used == rule.key_groups[0][0].fields["recipient"]
    assert config.match(Path("sub/x.yaml")).key_groups[0][0].fields["recipient"] == a  # type: ignore[union-attr]


@settings(max_examples=1000, deadline=None)
@given(around(config_module._AGE_RECIPIENT._source, "age1", "age", "qpzry9x8", "ssh-ed25519 ", "ssh-rsa ", "AAAA", "ssh-", " ", "\t", "\n", "A",
                   "\u00a0", "é", fullmatch=False))
def test_age_recipient_check_matches_its_pattern(text: str) -> None:
    assert config_module._is_age_recipient(text) == bool(config_module._AGE_RECIPIENT.match(text))
