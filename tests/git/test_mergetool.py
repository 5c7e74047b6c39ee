"""The mergetool's pieces: marker rendering, validation, the private temp file, and a scripted-editor run."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.gitrepo import GitRepo
from psops.errors import EditorFailed, MergeConflict
from psops.git.mergetool import has_markers, private_file, resolve, validate_resolution, with_markers
from psops.keys.base import KeyStanza
from psops.operations import EncryptPlan, decrypt_bytes, encrypt_bytes, open_encrypted, reseal
from psops.tree import Mapping, to_plain

if TYPE_CHECKING:
    from conftest import AgeKey


def test_with_markers_wraps_only_the_differing_lines() -> None:
    ours = b"a: 1\nb: mine\nc: 3\n"
    theirs = b"a: 1\nb: yours\nc: 3"
    assert with_markers(ours, theirs) == b"a: 1\n<<<<<<< ours\nb: mine\n=======\nb: yours\n>>>>>>> theirs\nc: 3\n"


def test_has_markers_finds_the_first_marker_line() -> None:
    assert has_markers(b"a: 1\n=======\n") == 2
    assert has_markers(b"<<<<<<< ours\n") == 1
    assert has_markers(b"a: '<<<<<<< not at line start'\n========== longer\n") == 0
    assert has_markers(b"<<<<<<<<< x\n", marker_size=9) == 1


def test_validation_rejects_markers_bad_syntax_and_metadata() -> None:
    with pytest.raises(MergeConflict, match="markers remain"):
        validate_resolution(b"a: 1\n>>>>>>> theirs\n", "yaml")
    with pytest.raises(MergeConflict, match="does not parse"):
        validate_resolution(b'{"a": ', "json")
    with pytest.raises(MergeConflict, match="'sops' key"):
        validate_resolution(b'{"a": 1, "sops": {}}', "json")
    doc = validate_resolution(b"a: 1\n", "yaml")
    assert to_plain(doc[0]) == {"a": 1}


def test_private_file_is_0600_in_a_0700_folder_and_always_removed() -> None:
    with private_file("yaml", b"secret: x\n", "dir/secrets.enc.yaml") as path:
        assert path.suffix == ".yaml" and path.read_bytes() == b"secret: x\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        kept = path
    assert not kept.exists() and not kept.parent.exists()
    with pytest.raises(RuntimeError), private_file("json", b"{}", "x.json") as path:
        kept = path
        raise RuntimeError("boom")
    assert not kept.parent.exists()


def _enc(recipient: str, doc: dict[str, Any]) -> bytes:
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": recipient})]])
    return encrypt_bytes(json.dumps(doc).encode(), plan, input_format="json", output_format="json")


def _set(data: bytes, **changes: str) -> bytes:
    opened = open_encrypted(data, input_format="json")
    doc = Mapping(list(opened.doc[0].items))
    for k, v in changes.items():
        doc.set(k, v)
    return reseal(opened, [doc], output_format="json")


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text("import re, sys\np = sys.argv[1]\ntext = open(p).read()\n" + body)
    return f"{sys.executable} {script}"


@pytest.fixture
def three(age_env: AgeKey) -> tuple[bytes, bytes, bytes]:
    base = _enc(age_env.recipient, {"pw": "old", "user": "ann", "port": "1"})
    return base, _set(base, pw="ours-pw", port="2"), _set(base, pw="theirs-pw", user="bob")


def test_resolve_with_a_scripted_editor_writes_the_encrypted_resolution(
        three: tuple[bytes, bytes, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, ours, theirs = three
    target = tmp_path / "s.json"
    target.write_bytes(ours)
    monkeypatch.setenv("SOPS_EDITOR", _editor(tmp_path, (
        "assert '<<<<<<< ours' in text and '\"ours-pw\"' in text and '\"theirs-pw\"' in text\n"
        "text = re.sub(r'<<<<<<< ours\\n.*?>>>>>>> theirs\\n', '\\t\"pw\": \"agreed\",\\n', text, flags=re.S)\n"
        "open(p, 'w').write(text)\n")))
    result = resolve(target, base=base, ours=ours, theirs=theirs, name="s.json")
    assert result.edited and [c.where() for c in result.conflicts] == ['["pw"]']
    assert target.read_bytes() == result.data
    plain = json.loads(decrypt_bytes(result.data, input_format="json", output_format="json").data)
    assert plain == {"pw": "agreed", "user": "bob", "port": "2"}
    assert json.loads(result.data)["port"] == json.loads(ours)["port"]  # ours' unchanged ciphertext kept


@pytest.mark.parametrize(("body", "error"), [
    ("pass\n", MergeConflict),  # saved unchanged
    ("open(p, 'w').write(text.replace('=======', 'x'))\n", MergeConflict),  # markers left behind
    ("sys.exit(3)\n", EditorFailed),
])
def test_a_failed_resolution_writes_nothing(three: tuple[bytes, bytes, bytes], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, body: str, error: type) -> None:
    base, ours, theirs = three
    target = tmp_path / "s.json"
    target.write_bytes(ours)
    monkeypatch.setenv("SOPS_EDITOR", _editor(tmp_path, body))
    with pytest.raises(error):
        resolve(target, base=base, ours=ours, theirs=theirs, name="s.json")
    assert target.read_bytes() == ours


def test_a_clean_structural_merge_needs_no_editor(age_env: AgeKey, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    base = _enc(age_env.recipient, {"a": "1", "b": "2"})
    ours, theirs = _set(base, a="A"), _set(base, b="B")
    monkeypatch.setenv("SOPS_EDITOR", "false")  # would fail if it ran
    target = tmp_path / "s.json"
    result = resolve(target, base=base, ours=ours, theirs=theirs, name="s.json")
    assert not result.edited
    assert json.loads(decrypt_bytes(target.read_bytes(), input_format="json", output_format="json").data) == {
        "a": "A", "b": "B"}


def test_standalone_command_reads_the_index_stages(repo: GitRepo, age_env: AgeKey, psops_bin: str,
                                                   tmp_path: Path) -> None:
    base = _enc(age_env.recipient, {"pw": "old"})
    repo.write("s.json", base)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("s.json", _set(base, pw="theirs-pw"))
    repo.commit("theirs")
    repo.git("checkout", "-q", "main")
    ours = _set(base, pw="ours-pw")
    repo.write("s.json", ours)
    repo.commit("ours")
    assert repo.git("merge", "feature", check=False).returncode != 0  # no driver: git's line merge conflicts
    repo.write("s.json", ours)  # put ours back where git wrote markers into ciphertext
    editor = _editor(tmp_path, "open(p, 'w').write(re.sub(r'<<<<<<< ours\\n.*?>>>>>>> theirs\\n', "
                               "'\\t\"pw\": \"both\"\\n', text, flags=re.S))\n")
    proc = repo.run(psops_bin, "mergetool", "s.json", env={"SOPS_EDITOR": editor})
    assert proc.returncode == 0, proc.stderr
    assert b"git add s.json" in proc.stderr
    plain = json.loads(decrypt_bytes(repo.read("s.json"), input_format="json", output_format="json").data)
    assert plain == {"pw": "both"}
    # not in a conflict any more once added
    repo.git("add", "s.json")
    again = repo.run(psops_bin, "git", "mergetool", "s.json")
    assert again.returncode == 71 and b"not in a merge conflict" in again.stderr
