"""updatekeys: keys from the creation rules; the data key rotates when a recipient is removed (age, PGP, KMS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.aws import AwsKms
from fixtures.cli import describe, load_data, ok, run, write_age_identity
from fixtures.gnupg import GpgKey
from fixtures.lifecycle import data_key_of, enc_values, opens_with, sops_block, write_policy
from psops.keys.base import KeyStanza
from psops.lifecycle.updatekeys import plan_update, update_keys_bytes
from psops.metadata import Metadata
from psops.policy import CreationRule, discover_config

if TYPE_CHECKING:
    from conftest import AgeKey

PLAIN = "db:\n    password: hunter2-secret\n    port: 5432\napi_key: k-777\n"


def _rule(path: Path) -> CreationRule:
    cfg = discover_config(path)
    assert cfg is not None
    rule = cfg.match(path)
    assert rule is not None
    return rule


def _update(path: Path, **kwargs: Any) -> Any:
    result = update_keys_bytes(path.read_bytes(), _rule(path), input_format="yaml", **kwargs)
    if result.data is not None:
        path.write_bytes(result.data)
    return result


@pytest.fixture
def two_age(work: Path, age_key: AgeKey, other_age_key: AgeKey) -> tuple[Path, Path]:
    """Identity files of the two session age keys (A, B)."""
    return write_age_identity(work / "a.txt", age_key.identity), write_age_identity(work / "b.txt", other_age_key.identity)


def test_adding_a_recipient_rewraps_the_same_key(work: Path, age_key: AgeKey, other_age_key: AgeKey,
                                                 two_age: tuple[Path, Path], sops_bin: str, psops_bin: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    key_a, key_b = two_age
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_key.recipient}])
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "-i", f))
    before_text, before = f.read_text(), sops_block(f)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_a))
    old_key = data_key_of(f)
    write_policy(work, [{"path_regex": r"\.yaml$", "age": f"{age_key.recipient},{other_age_key.recipient}"}])
    result = _update(f)
    assert not result.rotated and result.plan.added == [f"age:{other_age_key.recipient}"]
    assert result.plan.removed == [] and result.plan.revoked == []
    after = sops_block(f)
    # as sops updatekeys: values, MAC and lastmodified untouched, same data key, recipients updated
    assert before_text.split("sops:")[0] == f.read_text().split("sops:")[0]
    assert (after["mac"], after["lastmodified"]) == (before["mac"], before["lastmodified"])
    assert after["psops_data_key_created_at"] == before["psops_data_key_created_at"]
    assert [e["recipient"] for e in after["age"]] == [age_key.recipient, other_age_key.recipient]
    assert data_key_of(f) == old_key
    out = ok(run(sops_bin, "decrypt", f, env={"SOPS_AGE_KEY_FILE": str(key_b)}))
    assert load_data(out, "yaml")["db"]["password"] == "hunter2-secret"
    assert _update(f).data is None, "a second run has nothing to do"


def test_removing_a_recipient_rotates_the_data_key(work: Path, age_key: AgeKey, other_age_key: AgeKey,
                                                   two_age: tuple[Path, Path], sops_bin: str, psops_bin: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    key_a, key_b = two_age
    write_policy(work, [{"path_regex": r"\.yaml$", "age": f"{age_key.recipient},{other_age_key.recipient}"}])
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "-i", f))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_b))
    old_key = data_key_of(f)  # what B knows
    before = sops_block(f)
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_key.recipient}])
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_a))
    result = _update(f)
    assert result.rotated and result.plan.revoked == [f"age:{other_age_key.recipient}"]
    after = sops_block(f)
    assert [e["recipient"] for e in after["age"]] == [age_key.recipient]
    assert after["mac"] != before["mac"]
    new_key = data_key_of(f)
    assert new_key != old_key
    assert not any(opens_with(old_key, v, a) for v, a in zip(enc_values(f), ("db:password:", "db:port:",
                                                                             "api_key:"), strict=True))
    # B, with its own key file, is locked out of sops and psops; A still reads the file with sops
    for exe in (sops_bin, psops_bin):
        denied = run(exe, "decrypt", f, env={"SOPS_AGE_KEY_FILE": str(key_b)})
        assert denied.returncode == 128, describe(denied)
    out = ok(run(sops_bin, "decrypt", f, env={"SOPS_AGE_KEY_FILE": str(key_a)}))
    assert load_data(out, "yaml") == load_data(PLAIN, "yaml")


def test_no_rotate_keeps_the_key_and_warns(work: Path, age_key: AgeKey, other_age_key: AgeKey,
                                           two_age: tuple[Path, Path], psops_bin: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    key_a, _ = two_age
    write_policy(work, [{"path_regex": r"\.yaml$", "age": f"{age_key.recipient},{other_age_key.recipient}"}])
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "-i", f))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_a))
    old_key, before = data_key_of(f), sops_block(f)
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_key.recipient}])
    result = _update(f, rotate=False)
    assert not result.rotated and any("still know the data key" in w for w in result.warnings)
    assert data_key_of(f) == old_key and sops_block(f)["mac"] == before["mac"]


def test_sops_file_gets_its_derived_creation_time_recorded(work: Path, age_key: AgeKey, other_age_key: AgeKey,
                                                           age_env: AgeKey, sops_bin: str) -> None:
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_key.recipient}], name=".sops.yaml")
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(sops_bin, "encrypt", "-i", f))
    stamp = sops_block(f)["lastmodified"]
    write_policy(work, [{"path_regex": r"\.yaml$", "age": f"{age_key.recipient},{other_age_key.recipient}"}],
                 name=".sops.yaml")
    _update(f)
    assert sops_block(f)["psops_data_key_created_at"] == stamp
    ok(run(sops_bin, "decrypt", f))


def test_pgp_removed_kms_added(work: Path, age_key: AgeKey, gpg_env: GpgKey, aws_kms: AwsKms, sops_bin: str,
                               psops_bin: str) -> None:
    write_policy(work, [{"path_regex": r"\.yaml$", "pgp": gpg_env.fingerprint, "age": age_key.recipient}])
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "-i", f))
    old_key = data_key_of(f)  # through PGP (GNUPGHOME)
    write_policy(work, [{"path_regex": r"\.yaml$", "kms": aws_kms.keys.key_arn, "age": age_key.recipient}])
    result = _update(f)
    assert result.rotated
    assert result.plan.added == [f"kms:{aws_kms.keys.key_arn}"]
    assert result.plan.removed == [f"pgp:{gpg_env.fingerprint}"]
    block = sops_block(f)
    assert "pgp" not in block and block["kms"][0]["arn"] == aws_kms.keys.key_arn
    # the PGP holder's data key opens nothing any more; sops decrypts through KMS alone (moto on loopback)
    assert data_key_of(f) != old_key
    assert not opens_with(old_key, enc_values(f)[0], "db:password:")
    out = ok(run(sops_bin, "decrypt", f, unset=["GNUPGHOME"]))
    assert load_data(out, "yaml")["api_key"] == "k-777"


def _stanza(kind: str, ident: str) -> KeyStanza:
    field = {"age": "recipient", "pgp": "fp"}[kind]
    return KeyStanza(kind, {field: ident, "enc": "x"})


def test_plan_compares_groups_and_threshold(tmp_path: Path) -> None:
    meta = Metadata(key_groups=[[_stanza("age", "age1a"), _stanza("pgp", "F1")], [_stanza("age", "age1b")]],
                    shamir_threshold=2)
    rule = CreationRule(key_groups=[[KeyStanza("age", {"recipient": "age1a"})],
                                    [KeyStanza("age", {"recipient": "age1b"}), KeyStanza("pgp", {"fp": "F1"})]],
                        shamir_threshold=1, rules=meta.rules, raw={}, config_file=tmp_path, path_regex="")
    plan = plan_update(meta, rule)
    assert plan.added == ["[group 1] pgp:F1"] and plan.removed == ["[group 0] pgp:F1"]
    assert plan.revoked == [], "a key that moves between groups is not revoked"
    assert (plan.threshold_before, plan.threshold_after) == (2, 1) and plan.changed
