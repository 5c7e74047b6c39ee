"""The fast config loader (psops' YAML store) reads configs as ruamel's safe loader did, or defers to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from psops.policy import simple_yaml
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


# The simple block-YAML reader (psops.policy.simple_yaml) reads most configs without libyaml; where it answers,
# it must answer what the YAML store answers, and it must answer for the usual shapes.
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_simple_reader_agrees_with_the_store_or_defers(name: str) -> None:
    text = CONFIGS[name]
    simple = simple_yaml.load(text)
    assert simple is None or simple == _fast_load(text)
    if name in ("flat keys",):
        assert simple is not None


@pytest.mark.parametrize("path", [".sops-policy.yaml", "examples/app-secrets/.sops-policy.yaml",
                                  "examples/key-groups/.sops-policy.yaml"])
def test_simple_reader_reads_the_repository_configs(path: str) -> None:
    text = (ROOT / path).read_text()
    assert simple_yaml.load(text) == _fast_load(text)


_SCALARS = ["value", "age1qqq", "'it''s'", "''", '""', '"dq: #x"', '"a\\"b"', "12", "012", "0", "-1", "1.5", "1e3",
            "true", "True", "no", "yes", "~", "null", "NULL", ".inf", "2026-01-01", "a: b", "a:", "a #c", "x # note",
            "x#y", "[a, b]", "{a: 1}", "&a x", "*a", "!t x", "|", ">", "- x", "arn:aws:kms:us-east-1:1:key/k",
            "https://v:8200/v1/t/keys/k", "^(data|stringData)$", "\\.dev\\.yaml$", "'a' b", "'open", "@x", "`x",
            "%x", "<<", "a  b", "é", "\u00a0x", "99999999999999999999", "+1", "0x1F", "=", "?x", ", x"]
_KEYS = ["path_regex", "age", "k", "'quoted key'", '"dq"', "true", "1", "<<", "a b", "a#b", "x:y", "k ", "-k", "'a'x"]


@st.composite
def _config_texts(draw: st.DrawFn) -> str:
    lines: list[str] = []

    def comment(indent: int) -> None:
        if draw(st.integers(0, 5)) == 0:
            lines.append(" " * draw(st.sampled_from([0, indent, indent + 1])) + draw(st.sampled_from(["# c", "#", ""])))

    def value(indent: int, depth: int, prefix: str) -> None:
        kind = draw(st.integers(0, 5)) if depth < 3 else 0
        if kind <= 2:
            lines.append(prefix + " " + draw(st.sampled_from(_SCALARS)) + draw(st.sampled_from(["", "  # c", " "])))
            if draw(st.integers(0, 4)) == 0:  # a continuation line: a multi-line plain scalar (or an error)
                lines.append(" " * (indent + draw(st.sampled_from([1, 2, 4]))) + draw(st.sampled_from(_SCALARS)))
        elif kind == 3:
            lines.append(prefix)
            if draw(st.booleans()):
                lines.append(" " * (indent + 1) + draw(st.sampled_from(_SCALARS)))  # a continuation line
        else:
            lines.append(prefix + draw(st.sampled_from(["", "  # c"])))
            step = draw(st.sampled_from([2, 4, 1, 0] if kind == 5 else [2, 4, 3]))
            block(indent + step, depth + 1, seq=kind == 5)

    def block(indent: int, depth: int, seq: bool) -> None:
        for _ in range(draw(st.integers(1, 3))):
            comment(indent)
            if seq:
                pad = draw(st.sampled_from([1, 1, 3]))
                if draw(st.booleans()):
                    inner = indent + 1 + pad
                    value(inner, depth + 1, " " * indent + "-" + " " * pad + draw(st.sampled_from(_KEYS)) + ":")
                    for _ in range(draw(st.integers(0, 2))):
                        value(inner, depth + 1, " " * draw(st.sampled_from([inner, inner, inner - 1]))
                              + draw(st.sampled_from(_KEYS)) + ":")
                else:
                    lines.append(" " * indent + "-" + " " * pad + draw(st.sampled_from(_SCALARS)))
            else:
                value(indent, depth, " " * indent + draw(st.sampled_from(_KEYS)) + ":")

    block(0, 0, seq=draw(st.integers(0, 9)) == 0)
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@settings(max_examples=1500, deadline=None)
@given(_config_texts())
def test_simple_reader_answers_as_the_store_does(text: str) -> None:
    simple = simple_yaml.load(text)
    if simple is not None:
        assert simple == _fast_load(text), text


@pytest.mark.parametrize("text", [
    "creation_rules:\n  - path_regex: x\n    age: age1a\n",
    "creation_rules:\n- path_regex: ''\n  age: 'age1a'\n  shamir_threshold: 2\n",
    "# head\nstores:\n  yaml:\n    indent: 4   # spaces\ncreation_rules:\n  - age: age1a\n",
    "creation_rules:\n  -   pgp: ABC\n      mac_only_encrypted: true\n",
    "creation_rules:\n  - path_regex: 'it''s'  # quoted\n    age: \"age1a\"\n    shamir_threshold: -1\n",
    "creation_rules:\n  - path_regex: \\.env$\n    kms: arn:aws:kms:us-east-1:1:key/k\n    rotate_after: 90d\n",
])
def test_simple_reader_reads_the_usual_shapes(text: str) -> None:
    assert simple_yaml.load(text) is not None
    assert simple_yaml.load(text) == _fast_load(text)


def test_simple_reader_leaves_hostile_nesting_to_the_store() -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(0, 20000, 1))
    assert simple_yaml.load(text) is None
