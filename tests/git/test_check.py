"""``psops check --staged``: each bad case is refused from the index of a real repository, the installed hook
blocks a bad commit and lets a clean or allowlisted one through, and a 1,000-file commit is checked fast.

Fake credentials are assembled at run time, so this file itself holds none of the patterns it tests.
"""

from __future__ import annotations

import json
import random
import re
import string
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyrage
import pytest

from fixtures.gitrepo import GitRepo
from psops.git.check import check_staged
from psops.git.install import install
from psops.keys.base import KeyStanza
from psops.operations import EncryptPlan, encrypt_bytes

if TYPE_CHECKING:
    from conftest import AgeKey

_rng = random.Random(7)


def _rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


FAKE = {
    "aws": "AK" + "IA" + _rand(16, string.ascii_uppercase + "234567"),
    "github": "gh" + "p_" + _rand(36),
    "slack": "xo" + "xb-" + _rand(12, string.digits) + "-" + _rand(13, string.digits) + "-" + _rand(24),
    "entropy": _rand(28),
    "pem": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow" + _rand(58) + "\n-----END RSA PRIVATE KEY-----\n",
    "pgp": "-----BEGIN PGP " + "PRIVATE KEY BLOCK-----\n\nlQOYBG" + _rand(58) + "\n-----END PGP PRIVATE KEY BLOCK-----\n",
}
SECRETS_RULES = "creation_rules:\n  - path_regex: ^secrets/.*\\.(yaml|json)$\n    age: {recipient}\n"


def _encrypted_json(recipient: str, doc: dict[str, object]) -> str:
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": recipient})]])
    return encrypt_bytes(json.dumps(doc).encode(), plan, input_format="json", output_format="json").decode()


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _plaintext_value(recipient: str) -> tuple[dict[str, str], str]:
    text = _encrypted_json(recipient, {"user": "admin", "password": "hunter2"})
    text = re.sub(r'"password": "ENC\[[^"]+"', '"password": "now-in-clear-text"', text)
    return {"secrets/app.json": text}, f"secrets/app.json:{_line_of(text, 'password')} plaintext-value"


def _conflict_markers(recipient: str) -> tuple[dict[str, str], str]:
    text = _encrypted_json(recipient, {"password": "x"})
    lines = text.splitlines(keepends=True)
    i = _line_of(text, '"password"') - 1
    lines[i:i + 1] = ["<<<<<<< HEAD\n", lines[i], "=======\n", lines[i], ">>>>>>> feature\n"]
    return {"secrets/app.json": "".join(lines)}, f"secrets/app.json:{i + 1} conflict-marker"


def _broken(recipient: str) -> tuple[dict[str, str], str]:
    text = re.sub(r'"mac": "[^"]*"', '"mac": ""', _encrypted_json(recipient, {"password": "x"}))
    line = _line_of(text, '"sops"')
    return {"secrets/app.json": text}, f"secrets/app.json:{line} broken-sops-file"


def _malformed_value(recipient: str) -> tuple[dict[str, str], str]:
    text = _encrypted_json(recipient, {"user": "u", "password": "x"})
    text = re.sub(r'("password": "ENC\[AES256_GCM,data:)[^,]*', r"\1!!!", text)
    return {"secrets/app.json": text}, f"secrets/app.json:{_line_of(text, 'password')} broken-sops-file"


def _plaintext_value_yaml(recipient: str) -> tuple[dict[str, str], str]:
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": recipient})]])
    text = encrypt_bytes(b"db:\n    user: admin\n    hosts:\n        - a\n        - b\n", plan, input_format="yaml",
                         output_format="yaml").decode()
    lines = text.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if line.strip().startswith("- ENC[")) + 1  # the second host
    lines[i] = "        - plain-host\n"
    return {"secrets/db.yaml": "".join(lines)}, f"secrets/db.yaml:{i + 1} plaintext-value"


CASES: dict[str, Callable[[str], tuple[dict[str, str], str]]] = {
    "unencrypted file under a creation rule":
        lambda r: ({"secrets/db.yaml": "password: hunter2\n"}, "secrets/db.yaml:1 not-encrypted"),
    "plaintext value in a SOPS file": _plaintext_value,
    "plaintext value in a SOPS YAML list": _plaintext_value_yaml,
    "conflict markers in a SOPS file": _conflict_markers,
    "SOPS file without a MAC": _broken,
    "malformed ENC value": _malformed_value,
    "age secret key": lambda r: ({"keys.txt": "# created\n" + str(pyrage.x25519.Identity.generate()) + "\n"},
                                 "keys.txt:2 age-secret-key"),
    "PGP private key": lambda r: ({"backup.asc": FAKE["pgp"]}, "backup.asc:1 pgp-private-key"),
    "PEM private key": lambda r: ({"deploy/id_rsa": "\n" + FAKE["pem"]}, "deploy/id_rsa:2 pem-private-key"),
    "AWS access key": lambda r: ({"settings.py": f"KEY_ID = '{FAKE['aws']}'\n"}, "settings.py:1 aws-access-key-id"),
    "GitHub token": lambda r: ({"ci.sh": f"#!/bin/sh\nexport GH={FAKE['github']}\n"}, "ci.sh:2 github-token"),
    "Slack token": lambda r: ({"notify.cfg": f"token {FAKE['slack']}\n"}, "notify.cfg:1 slack-token"),
    "high-entropy assignment": lambda r: ({"app.toml": f'[db]\npassword = "{FAKE["entropy"]}"\n'},
                                          "app.toml:2 high-entropy-assignment"),
}


@pytest.fixture
def guarded(repo: GitRepo, age_key: AgeKey) -> GitRepo:
    """A repository with creation rules for secrets/ and a first commit."""
    repo.write(".sops.yaml", SECRETS_RULES.format(recipient=age_key.recipient))
    repo.write("README.md", "# project\n")
    repo.commit("initial")
    return repo


@pytest.mark.parametrize("case", list(CASES))
def test_each_bad_case_is_refused_from_the_index(case: str, guarded: GitRepo, age_key: AgeKey) -> None:
    files, expected = CASES[case](age_key.recipient)
    for rel, text in files.items():
        guarded.write(rel, text)
    guarded.git("add", "--", *files)
    report = check_staged()
    assert [str(f) for f in report.findings] == [expected]
    for rel in files:  # the index is read, not the work tree: a fixed work-tree file changes nothing
        guarded.write(rel, "fixed: but not staged\n")
    assert [str(f) for f in check_staged().findings] == [expected]


def test_clean_files_and_properly_encrypted_secrets_pass(guarded: GitRepo, age_key: AgeKey) -> None:
    guarded.write("secrets/app.json", _encrypted_json(age_key.recipient, {"password": "p", "n_unencrypted": "v"}))
    guarded.write("docs/guide.md", "Set `password: <your password>` and `token = ${TOKEN}`.\n")
    guarded.write("config.yaml", "password: changeme\napi_key: '{{ .Values.apiKey }}'\n")
    guarded.git("add", ".")
    report = check_staged()
    assert report.findings == [] and report.files == 3


def test_allowlist_file_and_inline_comments_silence_findings(guarded: GitRepo) -> None:
    guarded.write(".psops-allowlist", "# test fixtures hold fake keys\ndocs/* pem-private-key\nfixtures/* \n")
    guarded.write("docs/example.pem", FAKE["pem"])
    guarded.write("docs/other.pem", FAKE["pgp"])  # only pem-private-key is allowed under docs/
    guarded.write("fixtures/any.txt", FAKE["pgp"] + FAKE["github"] + "\n")
    guarded.write("app.py", f"KEY = '{FAKE['aws']}'  # psops:allow aws-access-key-id\n"
                            f"OTHER = '{FAKE['github']}'  # psops:allow aws-access-key-id\n")
    guarded.git("add", ".")
    assert [str(f) for f in check_staged().findings] == ["app.py:2 github-token", "docs/other.pem:1 pgp-private-key"]


def test_verify_mac_reports_a_tampered_file_when_a_key_is_available(guarded: GitRepo, age_key: AgeKey,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    text = _encrypted_json(age_key.recipient, {"password": "p"})
    tampered = re.sub(r'"lastmodified": "[^"]+"', '"lastmodified": "2001-01-01T00:00:00Z"', text)
    guarded.write("secrets/app.json", tampered)
    guarded.git("add", ".")
    assert check_staged().findings == []  # structurally fine: only the MAC can tell
    no_key = check_staged(verify_mac=True)
    assert no_key.findings == [] and any("MAC not verified" in w for w in no_key.warnings)
    key_file = guarded.path.parent / "keys.txt"
    key_file.write_text(age_key.identity + "\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    from psops.keys import reset_services

    reset_services()
    line = _line_of(tampered, '"sops"')
    assert [str(f) for f in check_staged(verify_mac=True).findings] == [f"secrets/app.json:{line} mac-mismatch"]


def test_installed_hook_blocks_a_bad_commit_and_lets_good_ones_through(guarded: GitRepo, age_key: AgeKey) -> None:
    install(repo_dir=guarded.path, hook=True)
    expected = []
    for case in ("unencrypted file under a creation rule", "plaintext value in a SOPS file", "GitHub token"):
        files, finding = CASES[case](age_key.recipient)
        for rel, text in files.items():
            guarded.write(rel, text)
        expected.append(finding)
    guarded.git("add", ".")
    head = guarded.head()
    proc = guarded.git("commit", "-m", "bad", check=False)
    output = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode != 0 and guarded.head() == head
    assert sorted(line for line in output.splitlines() if re.match(r"^\S+:\d+ [a-z-]+$", line)) == sorted(expected)
    assert "hunter2" not in output and "now-in-clear-text" not in output and FAKE["github"] not in output
    assert "commit refused" in output

    guarded.git("reset", "-q")
    for rel in ("secrets/db.yaml", "secrets/app.json", "ci.sh"):
        (guarded.path / rel).unlink()
    guarded.write(".psops-allowlist", "docs/* pem-private-key\n")
    guarded.write("docs/example.pem", FAKE["pem"])
    guarded.write("secrets/ok.json", _encrypted_json(age_key.recipient, {"password": "p"}))
    guarded.git("add", ".")
    proc = guarded.git("commit", "-q", "-m", "good", check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert guarded.head() != head


def test_a_thousand_file_commit_is_checked_in_one_pass(guarded: GitRepo, age_key: AgeKey, psops_bin: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    encrypted = _encrypted_json(age_key.recipient, {"user": "u", "password": "p", "list": ["a", "b"]})
    for i in range(1000):
        if i % 10 == 0:
            guarded.write(f"secrets/s{i:04d}.json", encrypted)
        else:
            guarded.write(f"src/pkg{i % 37}/module_{i:04d}.py",
                          f'"""Module {i}."""\n\nVALUE = {i}\nNAME = "m{i}"\n\n\ndef f(x):\n    return x + {i}\n' * 8)
    guarded.write("src/pkg3/leak.py", f"TOKEN = '{FAKE['github']}'\n")
    guarded.git("add", ".")
    started = time.perf_counter()
    proc = guarded.run(psops_bin, "check", "--staged")
    elapsed = time.perf_counter() - started
    assert proc.returncode == 72, proc.stderr
    assert proc.stdout.decode().splitlines() == ["src/pkg3/leak.py:1 github-token"]
    assert b"1001 file(s) checked" in proc.stderr
    with capsys.disabled():
        sys.stdout.write(f"\n[timing] psops check --staged, 1,001 staged files: {elapsed:.2f} s (wall clock)\n")


def test_work_tree_files_are_checked_as_they_are_on_disk(guarded: GitRepo) -> None:
    from psops.cli import main
    from psops.git.check import check_files

    guarded.write("app.py", f"KEY = '{FAKE['aws']}'\n")
    guarded.write("secrets/plain.yaml", "a: b\n")
    report = check_files(["app.py", "secrets/plain.yaml", "README.md"])
    assert [str(f) for f in report.findings] == ["app.py:1 aws-access-key-id", "secrets/plain.yaml:1 not-encrypted"]
    assert main(["check"]) == 8  # nothing to check: neither paths nor --staged
    assert main(["check", "README.md"]) == 0
