"""Data-key rotation with age, PGP and AWS KMS (moto on loopback), checked against the real sops binary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.aws import AwsKms
from fixtures.cli import describe, load_data, ok, run, write_age_identity
from fixtures.gnupg import GpgKey
from fixtures.lifecycle import data_key_of, enc_values, iv_of, opens_with, sops_block
from psops.errors import NoEncryptionKey, NoKeyMatched
from psops.lifecycle.rotate import rotate_bytes
from psops.policy import parse_key_list

if TYPE_CHECKING:
    from conftest import AgeKey

PLAIN_YAML = """\
db:
    user: admin
    password: hunter2-secret
    port: 5432
tokens:
    - tok-aaa-111
    - tok-bbb-222
enabled: true
ratio: 0.5
# a comment
note: plain text
"""
NOW = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)


def _rotate_in_place(path: Path, **kwargs: object) -> None:
    fmt = "json" if path.suffix == ".json" else "yaml"
    result = rotate_bytes(path.read_bytes(), input_format=fmt, now=NOW, **kwargs)  # type: ignore[arg-type]
    path.write_bytes(result.data)


@pytest.mark.parametrize("writer", ["psops", "sops"])
def test_rotate_changes_every_ciphertext_keeps_ivs_and_sops_decrypts(
        writer: str, work: Path, age_env: AgeKey, sops_bin: str, psops_bin: str) -> None:
    plain = work / "secrets.yaml"
    plain.write_text(PLAIN_YAML)
    exe = psops_bin if writer == "psops" else sops_bin
    enc = work / "enc.yaml"
    enc.write_bytes(ok(run(exe, "encrypt", "--age", age_env.recipient, plain)))
    before_values, before_meta = enc_values(enc), sops_block(enc)
    old_key = data_key_of(enc)

    _rotate_in_place(enc)

    after_values, after_meta = enc_values(enc), sops_block(enc)
    assert len(after_values) == len(before_values) == 8
    assert all(a != b for a, b in zip(after_values, before_values, strict=True)), "every ciphertext changes"
    assert [iv_of(v) for v in after_values] == [iv_of(v) for v in before_values], "IVs are kept, as sops rotate"
    new_key = data_key_of(enc)
    assert new_key != old_key
    assert not opens_with(old_key, enc_values(enc)[1], "db:password:"), "the old data key opens nothing new"
    assert opens_with(new_key, enc_values(enc)[1], "db:password:")
    assert after_meta["mac"] != before_meta["mac"]
    assert after_meta["lastmodified"] == "2031-02-03T04:05:06Z"
    assert after_meta["psops_data_key_created_at"] == "2031-02-03T04:05:06Z"
    assert after_meta["age"][0]["enc"] != before_meta["age"][0]["enc"]
    # the real sops decrypts the rotated file to the original document
    decrypted = ok(run(sops_bin, "decrypt", enc))
    assert load_data(decrypted, "yaml") == load_data(PLAIN_YAML, "yaml")
    assert b"# a comment" in decrypted


def test_rotate_json_and_sops_rotates_it_back(work: Path, age_env: AgeKey, sops_bin: str, psops_bin: str) -> None:
    plain = work / "s.json"
    plain.write_text('{"api": {"key": "k-123", "n": 7}, "list": ["a", 1.5, false]}')
    enc = work / "e.json"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--age", age_env.recipient, plain)))
    _rotate_in_place(enc)
    assert load_data(ok(run(sops_bin, "decrypt", enc)), "json") == load_data(plain.read_bytes(), "json")
    # and a file sops rotated afterwards is still read by psops (sops drops psops' extension field)
    ok(run(sops_bin, "rotate", "-i", enc))
    assert "psops_data_key_created_at" not in sops_block(enc)
    assert load_data(ok(run(psops_bin, "decrypt", enc)), "json") == load_data(plain.read_bytes(), "json")


def test_rotate_add_and_remove_age_recipients(work: Path, age_key: AgeKey, other_age_key: AgeKey,
                                              sops_bin: str, psops_bin: str) -> None:
    key_a = write_age_identity(work / "a.txt", age_key.identity)
    key_b = write_age_identity(work / "b.txt", other_age_key.identity)
    plain = work / "p.yaml"
    plain.write_text(PLAIN_YAML)
    enc = work / "e.yaml"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--age", age_key.recipient, plain)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPS_AGE_KEY_FILE", str(key_a))
        old_key = data_key_of(enc)
        _rotate_in_place(enc, add=parse_key_list("age", other_age_key.recipient),
                         remove=parse_key_list("age", age_key.recipient))
    assert [e["recipient"] for e in sops_block(enc)["age"]] == [other_age_key.recipient]
    # A (removed) can no longer decrypt, with sops or psops; B (added) can
    for exe in (sops_bin, psops_bin):
        denied = run(exe, "decrypt", enc, env={"SOPS_AGE_KEY_FILE": str(key_a)})
        assert denied.returncode == 128, describe(denied)
        assert b"hunter2" not in denied.stdout + denied.stderr
    allowed = ok(run(sops_bin, "decrypt", enc, env={"SOPS_AGE_KEY_FILE": str(key_b)}))
    assert load_data(allowed, "yaml")["db"]["password"] == "hunter2-secret"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPS_AGE_KEY_FILE", str(key_b))
        assert data_key_of(enc) != old_key


def test_removing_the_last_key_of_a_group_is_refused(work: Path, age_env: AgeKey, psops_bin: str) -> None:
    plain = work / "p.yaml"
    plain.write_text("a: b\n")
    enc = work / "e.yaml"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--age", age_env.recipient, plain)))
    with pytest.raises(NoEncryptionKey, match="without master keys"):
        rotate_bytes(enc.read_bytes(), input_format="yaml", remove=parse_key_list("age", age_env.recipient))


def test_rotate_without_a_key_fails_cleanly(work: Path, age_key: AgeKey, psops_bin: str) -> None:
    plain = work / "p.yaml"
    plain.write_text("a: b\n")
    enc = work / "e.yaml"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--age", age_key.recipient, plain)))
    with pytest.raises(NoKeyMatched):
        rotate_bytes(enc.read_bytes(), input_format="yaml")


def test_rotate_pgp_and_age_file_sops_decrypts_with_pgp_only(work: Path, age_key: AgeKey, gpg_env: GpgKey,
                                                             sops_bin: str, psops_bin: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    key_a = write_age_identity(work / "a.txt", age_key.identity)
    plain = work / "p.yaml"
    plain.write_text(PLAIN_YAML)
    enc = work / "e.yaml"
    gpg_key = gpg_env
    ok(run(sops_bin, "encrypt", "--pgp", gpg_key.fingerprint, "--age", age_key.recipient, "--output", enc, plain))
    before = sops_block(enc)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_a))
    _rotate_in_place(enc)
    after = sops_block(enc)
    assert after["pgp"][0]["fp"] == gpg_key.fingerprint and after["pgp"][0]["enc"] != before["pgp"][0]["enc"]
    out = ok(run(sops_bin, "decrypt", enc, env={"GNUPGHOME": str(gpg_key.home)}, unset=["SOPS_AGE_KEY_FILE"]))
    assert load_data(out, "yaml")["tokens"] == ["tok-aaa-111", "tok-bbb-222"]


def test_rotate_kms_file_and_add_a_kms_key(work: Path, aws_kms: AwsKms, age_key: AgeKey, sops_bin: str,
                                           psops_bin: str) -> None:
    plain = work / "p.yaml"
    plain.write_text(PLAIN_YAML)
    enc = work / "e.yaml"
    ok(run(sops_bin, "encrypt", "--kms", aws_kms.keys.key_arn, "--output", enc, plain))
    old_key = data_key_of(enc)
    _rotate_in_place(enc, add=parse_key_list("kms", aws_kms.keys.other_key_arn))
    arns = [e["arn"] for e in sops_block(enc)["kms"]]
    assert arns == [aws_kms.keys.key_arn, aws_kms.keys.other_key_arn]
    assert data_key_of(enc) != old_key
    # sops decrypts through the moto endpoint, with each KMS key alone
    for drop in (0, 1):
        doc = load_data(enc.read_bytes(), "yaml")
        del doc["sops"]["kms"][drop]
        single = work / f"single{drop}.yaml"
        from ruamel.yaml import YAML

        with single.open("w") as fh:
            YAML().dump(doc, fh)
        out = ok(run(sops_bin, "decrypt", single))
        assert load_data(out, "yaml")["db"]["password"] == "hunter2-secret"
