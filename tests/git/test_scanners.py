"""The secret-pattern scanners, rule by rule (fake credentials assembled at run time)."""

from __future__ import annotations

import random
import string

import pyrage
import pytest

from psops.git.scanners import RULE_NAMES, allowed_on_line, is_binary, scan_text, shannon_entropy

_rng = random.Random(11)


def _rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


POSITIVE = {
    "age-secret-key": lambda: str(pyrage.x25519.Identity.generate()),
    "pgp-private-key": lambda: "-----BEGIN PGP " + "PRIVATE KEY BLOCK-----",
    "pem-private-key": lambda: "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
    "aws-access-key-id": lambda: "id=" + "AS" + "IA" + _rand(16, string.ascii_uppercase + string.digits),
    "aws-secret-access-key": lambda: "aws_secret_access_key = " + _rand(40, string.ascii_letters + "/+"),
    "github-token": lambda: "gh" + "s_" + _rand(36),
    "slack-token": lambda: "xo" + "xp-" + _rand(11, string.digits) + "-" + _rand(20),
    "slack-webhook": lambda: "https://hooks.slack.com/services/" + "T" + _rand(8, "ABC123") + "/B" + _rand(8, "XYZ9")
                             + "/" + _rand(24),
    "high-entropy-assignment": lambda: 'client_secret: "' + _rand(32) + '"',
}


@pytest.mark.parametrize("rule", sorted(POSITIVE))
def test_each_rule_finds_its_pattern_on_the_right_line(rule: str) -> None:
    text = "first line\n\n" + POSITIVE[rule]() + "\nlast\n"
    assert scan_text(text) == [(3, rule)]


@pytest.mark.parametrize("text", [
    "password: changeme\n",
    "password: ${DB_PASSWORD}\n",
    "token: '{{ .Values.token }}'\n",
    "secret_name = <your secret here, a long text>\n",
    "api_key = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",  # long but no entropy
    "description = this-is-a-long-but-readable-name\n",
    "AKIA in prose is fine, and so is ghp_ alone\n",
    'password: ENC[AES256_GCM,data:AKIA' + "Q" * 16 + ',iv:abc=,tag:def=,type:str]\n',  # ciphertext is masked
])
def test_no_false_positive_on_placeholders_prose_and_ciphertext(text: str) -> None:
    assert scan_text(text) == []


def test_inline_allow_covers_all_rules_or_only_the_named_ones() -> None:
    key = "gh" + "p_" + _rand(36)
    assert scan_text(f"t = '{key}'  # psops:allow\n") == []
    assert scan_text(f"t = '{key}'  # psops:allow github-token\n") == []
    assert scan_text(f"t = '{key}'  # psops:allow slack-token\n") == [(1, "github-token")]
    assert allowed_on_line("x  # psops:allow because it is a test fixture", "github-token")
    assert not allowed_on_line("no comment here", "github-token")


def test_generic_rule_yields_to_a_specific_one_on_the_same_line() -> None:
    assert scan_text("token = '" + "gh" + "p_" + _rand(36) + "'\n") == [(1, "github-token")]


def test_helpers() -> None:
    assert shannon_entropy("") == 0.0 and shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert is_binary(b"PK\x03\x04\x00\x00") and not is_binary(b"text only")
    assert {"age-secret-key", "high-entropy-assignment"} <= RULE_NAMES
