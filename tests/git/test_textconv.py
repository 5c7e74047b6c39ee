"""The diff textconv: decrypted, stable output; fingerprints without a key; never a failed diff.

In-process tests cover the conversion; the repository tests drive real ``git diff``, ``git log -p`` and
``git show`` through ``psops git install`` with files written by the real sops binary.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.gitrepo import GitRepo, sops_encrypt, sops_run
from psops.git.install import install
from psops.git.textconv import fingerprint, textconv
from psops.keys.base import KeyStanza
from psops.operations import EncryptPlan, encrypt_bytes

if TYPE_CHECKING:
    from conftest import AgeKey

PLAIN = {
    "json": '{\n\t"user": "admin",\n\t"password": "hunter2",\n\t"db": {\n\t\t"token": "t0k3n"\n\t}\n}\n',
    "yaml": "user: admin\npassword: hunter2\ndb:\n    token: t0k3n\n",
}


def _encrypt(fmt: str, recipient: str, plain: str | None = None) -> bytes:
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": recipient})]])
    return encrypt_bytes((plain or PLAIN[fmt]).encode(), plan, input_format=fmt, output_format=fmt)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_decrypts_whatever_the_temp_name_and_is_stable(fmt: str, age_env: AgeKey) -> None:
    enc = _encrypt(fmt, age_env.recipient)
    for name in (f"secrets.{fmt}", f"/tmp/Xa81Qz_secrets.{fmt}", ".merge_file_a1b2c3", None):
        result = textconv(enc, name)
        assert result.warnings == []
        text = result.data.decode()
        assert text.startswith(PLAIN[fmt]), name
        assert f"# psops: master key: age {age_env.recipient}\n" in text
        assert "ENC[" not in text and "lastmodified" not in text
        assert textconv(enc, name).data == result.data


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_without_a_key_values_become_stable_fingerprints(fmt: str, age_key: AgeKey, other_age_key: AgeKey,
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    enc = _encrypt(fmt, age_key.recipient)
    key_file = tmp_path / "other.txt"
    key_file.write_text(other_age_key.identity + "\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    result = textconv(enc, f"s.{fmt}")
    text = result.data.decode()
    assert "hunter2" not in text and "ENC[" not in text
    assert len(re.findall(r"<encrypted:[0-9a-f]{12}>", text)) == 3
    assert "user" in text and "token" in text
    assert result.warnings and "fingerprints" in result.warnings[0]
    enc_password = re.search(r'ENC\[AES256_GCM,[^\]]*\]', enc.decode().split("password")[1])
    assert enc_password is not None
    assert fingerprint(enc_password.group(0)) in text


def test_plaintext_and_unparsable_files_are_shown_as_they_are() -> None:
    assert textconv(b"just: text\n", "notes.yaml").data == b"just: text\n"
    assert textconv(b'{"broken": ', "x.json").data == b'{"broken": '
    assert textconv(b"\x00\x01binary", "blob.bin").data == b"\x00\x01binary"


def test_a_mac_mismatch_is_shown_not_hidden(age_env: AgeKey) -> None:
    enc = _encrypt("json", age_env.recipient).decode()
    tampered = re.sub(r'"lastmodified": "[^"]+"', '"lastmodified": "2001-01-01T00:00:00Z"', enc)
    result = textconv(tampered.encode(), "s.json")
    assert result.data.startswith(b"# psops: MAC MISMATCH")
    assert b'"password": "hunter2"' in result.data


@pytest.fixture
def diff_repo(repo: GitRepo, age_env: AgeKey, sops_bin: str, psops_bin: str) -> GitRepo:
    """A repository with psops installed for *.json and *.yaml and two commits of secrets.json."""
    install(repo_dir=repo.path, attributes=["*.json", "*.yaml"])  # the CLI itself is tested in test_install
    sops_encrypt(sops_bin, repo, "secrets.json", PLAIN["json"], age_env.recipient)
    # creation rules that match nothing: the textconv must not depend on them
    repo.write(".sops.yaml", "creation_rules:\n  - path_regex: ^does-not-match$\n    age: " + age_env.recipient + "\n")
    repo.commit("add secrets")
    sops_run(sops_bin, "set", "secrets.json", '["password"]', '"correct horse"', cwd=repo.path)
    return repo


def test_git_diff_log_and_show_print_plaintext_changes(diff_repo: GitRepo) -> None:
    diff = diff_repo.out("diff")
    assert '-\t"password": "hunter2",' in diff
    assert '+\t"password": "correct horse",' in diff
    assert "ENC[" not in diff and '"user"' in diff  # context lines are plaintext too
    changed = [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert len(changed) == 2
    diff_repo.commit("change the password")
    log = diff_repo.out("log", "-p", "-n", "1")
    assert '+\t"password": "correct horse",' in log and "ENC[" not in log
    show = diff_repo.out("show", "HEAD")
    assert '-\t"password": "hunter2",' in show


def test_without_keys_git_diff_shows_which_keys_changed(diff_repo: GitRepo) -> None:
    diff_repo.commit("change the password")
    diff = diff_repo.out("diff", "HEAD~1", "HEAD", env={"SOPS_AGE_KEY_FILE": None})
    changed = [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert len(changed) == 2, diff
    assert all(re.fullmatch(r'[+-]\t"password": "<encrypted:[0-9a-f]{12}>",', line) for line in changed), diff
    assert "hunter2" not in diff and "correct horse" not in diff
    assert re.search(r'\n \t"user": "<encrypted:[0-9a-f]{12}>",', diff)  # unchanged value: same fingerprint
    log = diff_repo.out("log", "-p", "-n", "1", env={"SOPS_AGE_KEY_FILE": None})
    assert [line for line in log.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))] == changed


def test_binary_store_files_show_their_raw_content(age_env: AgeKey) -> None:
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": age_env.recipient})]])
    enc = encrypt_bytes(b"line one\nline two\n", plan, input_format="binary", output_format="binary")
    assert textconv(enc, "/tmp/XyZ_cert.bin").data.startswith(b"line one\nline two\n# psops: master key: age ")
