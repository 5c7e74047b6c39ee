"""The fast config loader (psops' YAML store) reads configs as ruamel's safe loader did, or defers to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from psops.policy.config import _fast_load, load_config

ROOT = Path(__file__).resolve().parents[2]

CONFIGS = {
    "flat keys": """\
creation_rules:
  - path_regex: \\.dev\\.yaml$
    age: age1qqq, age1ppp   # two recipients
    encrypted_regex: ^(data|stringData)$
  - path_regex: ''
    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4
    kms: arn:aws:kms:us-east-1:111122223333:key/abc+arn:aws:iam::111122223333:role/r
""",
    "key groups and stores": """\
stores:
  yaml:
    indent: 2
  json:
    indent: 3
creation_rules:
  - path_regex: secrets/.*
    shamir_threshold: 2
    key_groups:
      - age: [age1aaa]
        hc_vault: ["https://vault.example:8200/v1/transit/keys/k"]
      - pgp:
          - FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4
    mac_only_encrypted: true
audit:
  file: audit.log
  syslog: {address: "udp://127.0.0.1:514", facility: local3}
""",
    "anchors": """\
keys:
  - &admin age1admin
  - &ci age1ci
creation_rules:
  - path_regex: prod/
    age: *admin
  - path_regex: ""
    key_groups:
      - age: [*admin, *ci]
""",
    "odd scalars": """\
creation_rules:
  - path_regex: "\\\\.env$"
    unencrypted_suffix: _clear
    shamir_threshold: 0x2
    encrypted_comment_regex: 'sops:enc'
    gcp_kms: projects/p/locations/global/keyRings/r/cryptoKeys/k
""",
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fast_loader_reads_what_ruamel_reads(name: str) -> None:
    text = CONFIGS[name]
    assert _fast_load(text) == YAML(typ="safe", pure=True).load(text)


@pytest.mark.parametrize("path", [".sops-policy.yaml", "examples/app-secrets/.sops-policy.yaml",
                                  "examples/key-groups/.sops-policy.yaml"])
def test_fast_loader_reads_the_repository_configs_as_ruamel(path: str) -> None:
    text = (ROOT / path).read_text()
    assert _fast_load(text) == YAML(typ="safe", pure=True).load(text)


@pytest.mark.parametrize("text", [
    "base: &b {age: age1x}\ncreation_rules:\n  - <<: *b\n    path_regex: x\n",  # merge keys: ruamel merges
    "creation_rules: []\n---\nstores: {}\n",  # two documents: ruamel's error
    "",  # empty
    "- a\n- b\n",  # not a mapping
    "creation_rules: [\n",  # broken
])
def test_fast_loader_defers_to_ruamel(text: str) -> None:
    assert _fast_load(text) is None


def test_merge_keys_still_work_through_ruamel(tmp_path: Path) -> None:
    cfg = tmp_path / ".sops.yaml"
    cfg.write_text("base: &b\n  age: age1x6r3y2a4hv8wxyk5zv6ytv0lfd9hr9lh2l5gxkx9zdm2z0ycvhmqzp2f0c\n"
                   "creation_rules:\n  - <<: *b\n    path_regex: x\n")
    rule = load_config(cfg).match(tmp_path / "x.yaml")
    assert rule is not None and [s.kind for s in rule.key_groups[0]] == ["age"]
