"""What a config file in the repository does to ``decrypt``, in psops and in the real sops, side by side.

sops' decrypt reads the config only for its ``stores`` settings: a creation rule it could not use to encrypt
(a path_regex that does not compile, a key that is not a key) does not stop it, while a file that is not valid
YAML, or whose parts have the wrong types, does. psops decrypts (and sets, rotates, execs...) under the same
terms; commands that encrypt to a rule's keys, and ``psops check``, still refuse the broken rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import AgeKey
from fixtures.cli import assert_clean_error, describe, ok, run

# creation rules that sops cannot use, in files that are otherwise valid
UNUSABLE_RULES = {
    "regex-does-not-compile": "creation_rules:\n  - path_regex: '(['\n    age: {recipient}\n",
    "not-an-age-recipient": "creation_rules:\n  - age: notarecipient\n",
    "shamir-threshold-negative": "creation_rules:\n  - shamir_threshold: -1\n    age: {recipient}\n",
    "after-a-good-rule": "creation_rules:\n  - path_regex: nothing-matches\n    age: {recipient}\n"
                         "  - path_regex: '(['\n",
}

# files sops' decrypt refuses too
BROKEN_FILES = {
    "rules-not-a-list": "creation_rules: 5\n",
    "a-rule-not-a-mapping": "creation_rules:\n  - just a string\n",
    "indent-not-a-number": "stores:\n  json:\n    indent: x\n",
    "invalid-yaml": "creation_rules: [\n",
}


@pytest.fixture
def encrypted(work: Path, age_env: AgeKey, sops_bin: str) -> Path:
    """A JSON file encrypted by sops (no config around while it is written)."""
    plain = work / "app.json"
    plain.write_text('{"password": "hunter2", "port": 5432}\n')
    enc = work / "app.enc.json"
    enc.write_bytes(ok(run(sops_bin, "encrypt", "--age", age_env.recipient, plain)))
    return enc


@pytest.mark.parametrize("case", sorted(UNUSABLE_RULES))
def test_a_rule_that_cannot_encrypt_does_not_stop_decrypt(case: str, work: Path, encrypted: Path, age_env: AgeKey,
                                                          sops_bin: str, psops_bin: str) -> None:
    (work / ".sops.yaml").write_text(UNUSABLE_RULES[case].format(recipient=age_env.recipient))
    expected = ok(run(sops_bin, "decrypt", encrypted))
    assert ok(run(psops_bin, "decrypt", encrypted)) == expected
    # the typer path (an option the fast parser leaves to typer) and the other read-and-rewrite commands
    assert ok(run(psops_bin, "--verbose", "decrypt", encrypted)) == expected
    ok(run(psops_bin, "set", encrypted, '["port"]', "5433"))
    assert b"5433" in ok(run(psops_bin, "decrypt", encrypted))


@pytest.mark.parametrize("case", sorted(UNUSABLE_RULES))
def test_encrypting_under_the_broken_rule_is_still_refused(case: str, work: Path, age_env: AgeKey,
                                                           psops_bin: str) -> None:
    (work / ".sops.yaml").write_text(UNUSABLE_RULES[case].format(recipient=age_env.recipient))
    plain = work / "new.json"
    plain.write_text('{"password": "hunter2"}\n')
    assert_clean_error(run(psops_bin, "encrypt", plain), 5, names=".sops.yaml")


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
def test_a_config_sops_cannot_read_stops_decrypt_in_both(case: str, work: Path, encrypted: Path, sops_bin: str,
                                                         psops_bin: str) -> None:
    (work / ".sops.yaml").write_text(BROKEN_FILES[case])
    theirs = run(sops_bin, "decrypt", encrypted)
    assert theirs.returncode != 0, describe(theirs)
    assert_clean_error(run(psops_bin, "decrypt", encrypted), 5, names=".sops.yaml")
