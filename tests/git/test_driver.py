"""The merge driver: real ``git merge`` runs with files written and read back by the real sops binary, plus
in-process checks of which key material seals the result."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.cli import load_data
from fixtures.gitrepo import GitRepo, sops_encrypt, sops_run
from psops.engine import open_document, unwrap_data_key, wrap_data_key
from psops.formats import get_store
from psops.git.driver import merge_blobs, run_driver
from psops.git.install import install
from psops.keys import reset_services
from psops.keys.base import KeyStanza
from psops.metadata import attach_metadata, build_metadata
from psops.operations import EncryptPlan, decrypt_bytes, encrypt_bytes

if TYPE_CHECKING:
    from conftest import AgeKey

BASE = {"a": "alpha", "b": "bravo", "c": "charlie", "nested": {"x": "x-ray", "n": 7}}
TEXT = {
    "json": json.dumps(BASE, indent="\t") + "\n",
    "yaml": "a: alpha\nb: bravo\nc: charlie\nnested:\n    x: x-ray\n    n: 7\n",
}


def _enc_values(data: bytes) -> dict[str, str]:
    """Every ENC[...] value by its key name (the last key on its line)."""
    out = {}
    for m in re.finditer(r'"?([A-Za-z_]+)"?:\s*"?(ENC\[AES256_GCM,[^\]]+\])', data.decode()):
        out[m.group(1)] = m.group(2)
    return out


@pytest.fixture
def merge_repo(repo: GitRepo, psops_bin: str) -> GitRepo:
    install(repo_dir=repo.path, attributes=["*.json", "*.yaml"])  # the CLI itself is tested in test_install
    repo.git("config", "mergetool.keepBackup", "false")
    return repo


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_branches_changing_different_keys_merge_cleanly(fmt: str, merge_repo: GitRepo, age_env: AgeKey,
                                                        sops_bin: str) -> None:
    name = f"secrets.{fmt}"
    r = merge_repo
    base = sops_encrypt(sops_bin, r, name, TEXT[fmt], age_env.recipient)
    r.commit("base")
    r.git("checkout", "-q", "-b", "feature")
    sops_run(sops_bin, "set", name, '["a"]', '"alpha-theirs"', cwd=r.path)
    sops_run(sops_bin, "set", name, '["d"]', '"delta-added"', cwd=r.path)
    r.commit("theirs: change a, add d")
    r.git("checkout", "-q", "main")
    sops_run(sops_bin, "set", name, '["b"]', '"bravo-ours"', cwd=r.path)
    sops_run(sops_bin, "unset", name, '["c"]', cwd=r.path)
    ours = r.read(name)
    r.commit("ours: change b, delete c")

    merged = r.git("merge", "--no-edit", "feature")
    assert b"CONFLICT" not in merged.stdout
    data = r.read(name)
    plain = load_data(sops_run(sops_bin, "decrypt", name, cwd=r.path), fmt)
    assert plain == {"a": "alpha-theirs", "b": "bravo-ours", "nested": {"x": "x-ray", "n": 7}, "d": "delta-added"}
    # unchanged values keep their ciphertext (from the base, and ours' change from ours)
    enc, enc_base, enc_ours = _enc_values(data), _enc_values(base), _enc_values(ours)
    assert enc["x"] == enc_base["x"] and enc["n"] == enc_base["n"]
    assert enc["b"] == enc_ours["b"]
    assert r.out("status", "--porcelain", "--untracked-files=no") == ""


def test_same_value_changed_on_both_sides_conflicts_and_mergetool_resolves_it(
        merge_repo: GitRepo, age_env: AgeKey, sops_bin: str, tmp_path: Path) -> None:
    r, name = merge_repo, "secrets.yaml"
    sops_encrypt(sops_bin, r, name, TEXT["yaml"], age_env.recipient)
    r.commit("base")
    r.git("checkout", "-q", "-b", "feature")
    sops_run(sops_bin, "set", name, '["a"]', '"alpha-theirs"', cwd=r.path)
    sops_run(sops_bin, "set", name, '["c"]', '"charlie-theirs"', cwd=r.path)
    r.commit("theirs")
    r.git("checkout", "-q", "main")
    sops_run(sops_bin, "set", name, '["a"]', '"alpha-ours"', cwd=r.path)
    ours = r.read(name)
    r.commit("ours")

    merged = r.git("merge", "--no-edit", "feature", check=False)
    assert merged.returncode != 0
    assert f"CONFLICT (content): Merge conflict in {name}".encode() in merged.stdout
    assert b'["a"]' in merged.stderr and b"alpha" not in merged.stderr  # the path, never the values
    assert r.read(name) == ours  # still ours: valid ciphertext, no markers
    assert b"<<<<<<<" not in r.read(name)
    assert load_data(sops_run(sops_bin, "decrypt", name, cwd=r.path), "yaml")["a"] == "alpha-ours"

    # a scripted editor: records what it sees, resolves to a third value
    seen = tmp_path / "seen.json"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import json, os, re, stat, sys\n"
        "p = sys.argv[1]\n"
        "text = open(p).read()\n"
        "info = {'mode': stat.S_IMODE(os.stat(p).st_mode), 'dir_mode': stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode),"
        " 'path': p, 'text': text}\n"
        f"json.dump(info, open({str(seen)!r}, 'w'))\n"
        "text = re.sub(r'<<<<<<< ours\\n.*?=======\\n.*?>>>>>>> theirs\\n', 'a: alpha-resolved\\n', text, flags=re.S)\n"
        "open(p, 'w').write(text)\n")
    import sys

    tool = r.git("mergetool", "--tool=psops", "--no-prompt", name,
                 env={"EDITOR": f"{sys.executable} {editor}"}, check=False)
    assert tool.returncode == 0, tool.stderr.decode()
    info = json.loads(seen.read_text())
    assert info["mode"] == 0o600 and info["dir_mode"] == 0o700
    assert not Path(info["path"]).exists() and not Path(info["path"]).parent.exists()
    assert "<<<<<<< ours\na: alpha-ours\n=======\na: alpha-theirs\n>>>>>>> theirs\n" in info["text"]
    assert "c: charlie-theirs" in info["text"]  # the clean part of the merge is already there
    r.git("commit", "-q", "--no-edit", "--no-verify")
    plain = load_data(sops_run(sops_bin, "decrypt", name, cwd=r.path), "yaml")
    assert plain == {"a": "alpha-resolved", "b": "bravo", "c": "charlie-theirs", "nested": {"x": "x-ray", "n": 7}}
    assert r.out("status", "--porcelain", "--untracked-files=no") == ""


def test_merge_with_a_branch_that_ran_updatekeys_is_readable_by_the_new_recipient(
        merge_repo: GitRepo, age_env: AgeKey, other_age_key: AgeKey, sops_bin: str, tmp_path: Path) -> None:
    r, name = merge_repo, "secrets.json"
    sops_encrypt(sops_bin, r, name, TEXT["json"], age_env.recipient)
    r.commit("base")
    r.git("checkout", "-q", "-b", "feature")
    sops_run(sops_bin, "set", name, '["a"]', '"alpha-theirs"', cwd=r.path)
    r.commit("theirs edits a value (after the other branch's updatekeys: newer lastmodified)")
    r.git("checkout", "-q", "main")
    r.write(".sops.yaml", "creation_rules:\n  - path_regex: \\.json$\n"
                          f"    age: {age_env.recipient},{other_age_key.recipient}\n")
    sops_run(sops_bin, "updatekeys", "-y", name, cwd=r.path)
    r.commit("ours: updatekeys adds a recipient")

    r.git("merge", "--no-edit", "feature")
    other_keys = tmp_path / "new-recipient.txt"
    other_keys.write_text(other_age_key.identity + "\n")
    plain = json.loads(sops_run(sops_bin, "decrypt", name, cwd=r.path, env={"SOPS_AGE_KEY_FILE": str(other_keys)}))
    assert plain["a"] == "alpha-theirs" and plain["b"] == "bravo"


# --- in-process: which key material seals the merge ------------------------------------------------------------


def _encrypt(doc: dict[str, Any], *recipients: str) -> bytes:
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": r}) for r in recipients]])
    return encrypt_bytes(json.dumps(doc).encode(), plan, input_format="json", output_format="json")


def _updatekeys(data: bytes, *recipients: str) -> bytes:
    """What ``sops updatekeys`` does: the same data key wrapped for a new key set; values and MAC untouched."""
    store = get_store("json")
    doc, meta = open_document(store.load(data))
    key = unwrap_data_key(meta)
    groups = wrap_data_key(key, [[KeyStanza("age", {"recipient": r}) for r in recipients]])
    attach_metadata(doc, build_metadata(meta.replace(key_groups=groups), empty_list_as_null=True))
    return store.dump(doc)


def _set(data: bytes, **changes: str) -> bytes:
    from psops.operations import open_encrypted, reseal
    from psops.tree import Mapping

    opened = open_encrypted(data, input_format="json")
    doc = [Mapping(list(opened.doc[0].items))]
    for k, v in changes.items():
        doc[0].set(k, v)
    return reseal(opened, doc, output_format="json")


def _recipients(data: bytes) -> set[str]:
    return {entry["recipient"] for entry in json.loads(data)["sops"]["age"]}


def _readable_by(data: bytes, identity: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    key_file = tmp_path / f"id-{abs(hash(identity))}.txt"
    key_file.write_text(identity + "\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    reset_services()
    result: dict[str, Any] = json.loads(decrypt_bytes(data, input_format="json", output_format="json").data)
    return result


def test_theirs_updatekeys_wins_even_when_ours_is_newer(age_env: AgeKey, other_age_key: AgeKey, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    base = _encrypt({"a": "1", "b": "2"}, age_env.recipient)
    theirs = _updatekeys(base, age_env.recipient, other_age_key.recipient)
    ours = _set(base, a="one")  # written later than theirs' updatekeys (which keeps the old lastmodified)
    outcome = merge_blobs(base, ours, theirs, name="s.json")
    assert outcome.conflicts == [] and any("theirs" in n for n in outcome.notes)
    assert _recipients(outcome.data) == {age_env.recipient, other_age_key.recipient}
    assert _readable_by(outcome.data, other_age_key.identity, tmp_path, monkeypatch) == {"a": "one", "b": "2"}
    assert _enc_of(outcome.data, "b") == _enc_of(base, "b")  # same data key: unchanged ciphertext kept


def _enc_of(data: bytes, key: str) -> str:
    value: str = json.loads(data)[key]
    return value


def test_both_sides_rotating_gives_a_fresh_data_key_for_the_newer_key_set(
        age_env: AgeKey, other_age_key: AgeKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _encrypt({"a": "1", "b": "2"}, age_env.recipient)
    ours = _encrypt({"a": "1", "b": "2"}, age_env.recipient)  # rotated: new data key, same recipient
    import time

    time.sleep(1.05)  # lastmodified has whole seconds
    theirs = _encrypt({"a": "1", "b": "two"}, age_env.recipient, other_age_key.recipient)  # rotated + new key
    outcome = merge_blobs(base, ours, theirs, name="s.json")
    assert outcome.conflicts == []
    assert any("fresh data key" in n for n in outcome.notes)
    assert _recipients(outcome.data) == {age_env.recipient, other_age_key.recipient}
    assert _enc_of(outcome.data, "a") not in (_enc_of(ours, "a"), _enc_of(theirs, "a"))
    assert _readable_by(outcome.data, other_age_key.identity, tmp_path, monkeypatch) == {"a": "1", "b": "two"}


def test_a_conflict_leaves_ours_untouched_and_names_only_paths(age_env: AgeKey, tmp_path: Path) -> None:
    base = _encrypt({"pw": "old"}, age_env.recipient)
    ours, theirs = _set(base, pw="mine-secret"), _set(base, pw="their-secret")
    paths = {n: tmp_path / n for n in ("base", "ours", "theirs")}
    for n, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        paths[n].write_bytes(data)
    from psops.errors import MergeConflict

    with pytest.raises(MergeConflict) as info:
        run_driver(str(paths["base"]), str(paths["ours"]), str(paths["theirs"]), name="s.json")
    assert '["pw"]' in str(info.value) and "secret" not in str(info.value)
    assert paths["ours"].read_bytes() == ours


def test_files_without_sops_metadata_fall_back_to_a_text_merge(tmp_path: Path, repo: GitRepo) -> None:
    base, ours, theirs = tmp_path / "b", tmp_path / "o", tmp_path / "t"
    base.write_text("one\ntwo\nthree\n")
    ours.write_text("ONE\ntwo\nthree\n")
    theirs.write_text("one\ntwo\nTHREE\n")
    assert run_driver(str(base), str(ours), str(theirs), name="notes.txt") == []
    assert ours.read_text() == "ONE\ntwo\nTHREE\n"
