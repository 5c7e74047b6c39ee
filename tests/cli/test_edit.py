"""``psops edit`` and ``psops replace`` as a user meets them: the installed executable, scripted editors as
EDITOR, files written by the real sops, results checked by the real sops.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import assert_clean_error, describe, load_data, ok, run
from fixtures.editing import SAMPLE, SAMPLE_TEXTS, Private, ScriptedEditor, changed_lines, mode

if TYPE_CHECKING:
    from conftest import AgeKey

FORMATS = ["json", "yaml"]
OLD_TIME = 1_000_000_000


def _edit(psops_bin: str, *args: str | os.PathLike[str], env: dict[str, str] | None = None,
          cwd: Path | None = None, unset: list[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``psops edit ARGS`` with an empty, non-terminal stdin (as in CI, even when pytest runs in a terminal)."""
    return run(psops_bin, "edit", *args, env=env, cwd=cwd, unset=unset or [], stdin=b"")


def _freeze(path: Path) -> os.stat_result:
    """Give ``path`` an old mtime so any rewrite would show; return its stat."""
    os.utime(path, (OLD_TIME, OLD_TIME))
    return path.stat()


def _assert_untouched(path: Path, before: bytes, st: os.stat_result) -> None:
    assert path.read_bytes() == before
    now = path.stat()
    assert (now.st_mtime_ns, now.st_ino) == (st.st_mtime_ns, st.st_ino), "the file was rewritten"


def _rescue_path(proc: subprocess.CompletedProcess[bytes], private: Private) -> Path:
    """The rescue file the error line names (and check it is where psops keeps them)."""
    line = proc.stderr.decode().splitlines()[0]
    assert "your edits are kept in " in line, describe(proc)
    path = Path(line.split("your edits are kept in ")[1].split(" (mode 0600)")[0])
    assert path.parent == private.rescued
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    return path


# -- unchanged / changed -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_unchanged_exits_200_and_does_not_touch_the_file(fmt: str, sops_file: Callable[..., Path],
                                                        editor: ScriptedEditor, private: Private,
                                                        psops_bin: str) -> None:
    enc = sops_file(fmt)
    before, st = enc.read_bytes(), _freeze(enc)
    proc = _edit(psops_bin, enc, env=editor.env())
    assert_clean_error(proc, 200, names=enc.name)
    assert "has not changed" in proc.stderr.decode()
    _assert_untouched(enc, before, st)
    (seen,) = editor.records()
    assert seen["file_mode"] == 0o600 and seen["dir_mode"] == 0o700
    assert Path(seen["path"]).name == f"secrets.{fmt}", "the temp file keeps the name and extension"
    assert Path(seen["path"]).parent.parent == private.tmpdir
    assert load_data(seen["content"], fmt) == SAMPLE, "the editor sees the decrypted content"
    assert private.leftovers() == [], "the private temp dir is removed"


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_changed_value_changes_only_its_ciphertext(fmt: str, sops_file: Callable[..., Path],
                                                       editor: ScriptedEditor, private: Private,
                                                       psops_bin: str, sops_bin: str) -> None:
    enc = sops_file(fmt)
    before = enc.read_bytes()
    proc = _edit(psops_bin, enc, env=editor.env(["replace", "s3cret-db-pass", "n3w-db-pass"]))
    assert ok(proc) == b"" and proc.stderr == b"", describe(proc)
    changed = changed_lines(before, enc.read_bytes())
    assert len(changed) == 2, changed
    assert "password" in changed[0][0] and "password" in changed[0][1]
    assert '"mac"' in changed[1][0] if fmt == "json" else changed[1][0].lstrip().startswith("mac:")
    expected = {**SAMPLE, "db": {"user": "admin", "password": "n3w-db-pass"}}
    assert load_data(ok(run(sops_bin, "decrypt", enc)), fmt) == expected
    assert private.leftovers() == []


def test_layout_only_change_writes_nothing(sops_file: Callable[..., Path], editor: ScriptedEditor,
                                           private: Private, psops_bin: str) -> None:
    enc = sops_file("json")
    before, st = enc.read_bytes(), _freeze(enc)
    proc = _edit(psops_bin, enc, env=editor.env(["replace", "\t", "  "]))
    assert "only the layout changed" in assert_clean_error(proc, 200, names=enc.name)
    _assert_untouched(enc, before, st)


# -- invalid content, rescue, reopen -------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "garbage"), [("json", "}\n"), ("yaml", "broken: [unclosed\n")])
def test_invalid_content_keeps_the_file_and_the_edits(fmt: str, garbage: str, sops_file: Callable[..., Path],
                                                      editor: ScriptedEditor, private: Private,
                                                      psops_bin: str, sops_bin: str) -> None:
    enc = sops_file(fmt)
    before, st = enc.read_bytes(), _freeze(enc)
    actions = (["replace", "s3cret-db-pass", "n3w-db-pass"], ["append", garbage])
    proc = _edit(psops_bin, enc, env=editor.env(*actions))
    line = assert_clean_error(proc, 204, names=enc.name)
    assert "line" in line, "the error says where the syntax is wrong"
    _assert_untouched(enc, before, st)
    assert private.leftovers() == []
    rescue = _rescue_path(proc, private)
    edited = rescue.read_text()
    assert "n3w-db-pass" in edited and edited.endswith(garbage)
    assert f"psops replace {enc}" in proc.stderr.decode(), "the hint says how to apply the edits"

    # the recovery the hint describes: fix the file, replace the content
    rescue.write_text(edited[: -len(garbage)])
    ok(run(psops_bin, "replace", enc, rescue))
    changed = changed_lines(before, enc.read_bytes())
    assert len(changed) == 2 and "password" in changed[0][1]
    assert load_data(ok(run(sops_bin, "decrypt", enc)), fmt)["db"]["password"] == "n3w-db-pass"


def test_reserved_sops_key_is_refused(sops_file: Callable[..., Path], editor: ScriptedEditor, private: Private,
                                      psops_bin: str) -> None:
    enc = sops_file("yaml")
    before, st = enc.read_bytes(), _freeze(enc)
    proc = _edit(psops_bin, enc, env=editor.env(["append", "sops: mine\n"]))
    assert "reserved" in assert_clean_error(proc, 204, names=enc.name)
    _assert_untouched(enc, before, st)
    assert _rescue_path(proc, private).read_text().endswith("sops: mine\n")


def test_file_changed_by_another_program_meanwhile_is_not_overwritten(
        sops_file: Callable[..., Path], editor: ScriptedEditor, private: Private, psops_bin: str,
        tmp_path: Path) -> None:
    enc = sops_file("json")
    other = tmp_path / "other-writer.sh"
    other.write_text(f"#!/bin/sh\nprintf 'changed meanwhile' > {enc}\nexec {editor.command} \"$@\"\n")
    other.chmod(0o755)
    env = editor.env(["replace", "s3cret-db-pass", "n3w-db-pass"])
    env["EDITOR"] = str(other)
    proc = _edit(psops_bin, enc, env=env)
    assert "another program" in assert_clean_error(proc, 204, names=enc.name)
    assert enc.read_bytes() == b"changed meanwhile"
    assert "n3w-db-pass" in _rescue_path(proc, private).read_text()


# -- the editor: choice, arguments, failures, signals --------------------------------------------------


def test_editor_with_arguments_sops_editor_first(sops_file: Callable[..., Path], editor: ScriptedEditor,
                                                 private: Private, psops_bin: str) -> None:
    enc = sops_file("json")
    env = editor.env(variable="SOPS_EDITOR", extra_args="--wait -c 'two words'")
    env["EDITOR"] = "/nonexistent/editor-that-must-not-run"
    assert_clean_error(_edit(psops_bin, enc, env=env), 200)
    (seen,) = editor.records()
    assert seen["argv"][:3] == ["--wait", "-c", "two words"]
    assert seen["argv"][3] == seen["path"], "the file's path comes last, as its own argument"


def test_no_editor_exits_201(sops_file: Callable[..., Path], private: Private, psops_bin: str,
                             tmp_path: Path) -> None:
    enc = sops_file("json")
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    proc = _edit(psops_bin, enc, env={"PATH": str(empty_bin)}, unset=["EDITOR", "SOPS_EDITOR"])
    assert "no editor found" in assert_clean_error(proc, 201, names=enc.name)
    proc = _edit(psops_bin, enc, env={"EDITOR": "/nonexistent/my-editor --flag"})
    assert "/nonexistent/my-editor" in assert_clean_error(proc, 201, names=enc.name)
    assert private.leftovers() == []


def test_default_editor_is_found_on_path(sops_file: Callable[..., Path], editor: ScriptedEditor,
                                         private: Private, psops_bin: str, tmp_path: Path) -> None:
    enc = sops_file("json")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nano = bin_dir / "nano"  # vim is not there: nano comes before vi
    nano.write_text(f"#!/bin/sh\nexec {editor.command} \"$@\"\n")
    vi = bin_dir / "vi"
    vi.write_text("#!/bin/sh\nexit 99\n")
    for script in (nano, vi):
        script.chmod(0o755)
    env = editor.env()
    del env["EDITOR"]
    env["PATH"] = str(bin_dir)
    proc = _edit(psops_bin, enc, env=env, unset=["EDITOR", "SOPS_EDITOR"])
    assert_clean_error(proc, 200)
    assert len(editor.records()) == 1


def test_editor_killed_leaves_no_plaintext(sops_file: Callable[..., Path], editor: ScriptedEditor,
                                           private: Private, psops_bin: str) -> None:
    enc = sops_file("json")
    before, st = enc.read_bytes(), _freeze(enc)
    proc = _edit(psops_bin, enc, env=editor.env(["kill"]))
    assert "killed by SIGKILL" in assert_clean_error(proc, 201, names=enc.name)
    _assert_untouched(enc, before, st)
    assert private.leftovers() == []
    assert not private.rescued.exists(), "nothing was changed, so nothing is kept"


def test_editor_crashing_after_saving_keeps_the_saved_edits(sops_file: Callable[..., Path],
                                                            editor: ScriptedEditor, private: Private,
                                                            psops_bin: str) -> None:
    enc = sops_file("json")
    before, st = enc.read_bytes(), _freeze(enc)
    actions = (["replace", "s3cret-db-pass", "n3w-db-pass"], ["save"], ["exit", "3"])
    proc = _edit(psops_bin, enc, env=editor.env(*actions))
    assert "exited with status 3" in assert_clean_error(proc, 201, names=enc.name)
    _assert_untouched(enc, before, st)
    assert private.leftovers() == []
    assert "n3w-db-pass" in _rescue_path(proc, private).read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_during_edit_exits_85_and_cleans_up(sig: signal.Signals, sops_file: Callable[..., Path],
                                                   editor: ScriptedEditor, private: Private,
                                                   psops_bin: str) -> None:
    enc = sops_file("json")
    before, st = enc.read_bytes(), _freeze(enc)
    env = {**os.environ, **editor.env(["sleep", "30"])}
    proc = subprocess.Popen([psops_bin, "edit", str(enc)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not editor.ready.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the editor did not start"
        time.sleep(0.02)
    assert len(private.leftovers()) == 2, "the private dir and the plaintext file exist while editing"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 85, err
    assert out == b""
    assert f"interrupted by {sig.name}" in err.decode()
    (seen,) = editor.records()
    with pytest.raises(ProcessLookupError):
        os.kill(seen["pid"], 0)  # the editor was stopped too
    _assert_untouched(enc, before, st)
    assert private.leftovers() == []


# -- --show-master-keys --------------------------------------------------------------------------------


def test_show_master_keys_shows_the_metadata_and_refuses_changes_to_it(
        sops_file: Callable[..., Path], editor: ScriptedEditor, private: Private, psops_bin: str,
        sops_bin: str, age_env: AgeKey) -> None:
    enc = sops_file("yaml")
    before, st = enc.read_bytes(), _freeze(enc)
    proc = _edit(psops_bin, "-s", enc, env=editor.env(["replace", "unencrypted_suffix", "encrypted_suffix"]))
    assert "metadata" in assert_clean_error(proc, 204, names=enc.name)
    _assert_untouched(enc, before, st)
    shown = load_data(editor.records()[0]["content"], "yaml")
    assert shown["sops"]["age"][0]["recipient"] == age_env.recipient
    assert shown["db"]["password"] == "s3cret-db-pass"

    # values can still be edited with the metadata on screen
    proc = _edit(psops_bin, "--show-master-keys", enc,
               env=editor.env(["replace", "s3cret-db-pass", "n3w-db-pass"]))
    ok(proc)
    changed = changed_lines(before, enc.read_bytes())
    assert len(changed) == 2 and "password" in changed[0][1]
    assert load_data(ok(run(sops_bin, "decrypt", enc)), "yaml")["db"]["password"] == "n3w-db-pass"


# -- new files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_new_file_is_created_from_a_template_with_the_rule_keys(fmt: str, work: Path, age_env: AgeKey,
                                                                other_age_key: AgeKey,
                                                                editor: ScriptedEditor, private: Private,
                                                                psops_bin: str, sops_bin: str) -> None:
    (work / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ^config/.*\n"
        f"    age: {age_env.recipient},{other_age_key.recipient}\n"
        "    encrypted_regex: ^(password|token)$\n"
    )
    (work / "config").mkdir()
    target = work / "config" / f"new.{fmt}"
    if fmt == "json":
        proc = _edit(psops_bin, target, cwd=work, env=editor.env())
        assert_clean_error(proc, 200)
        assert not target.exists(), "an untouched template creates nothing"

    new_text = {"json": '{\n  "user": "me",\n  "password": "p4ss"\n}\n', "yaml": "user: me\npassword: p4ss\n"}[fmt]
    ok(_edit(psops_bin, target, cwd=work, env=editor.env(["write", new_text])))
    assert "Welcome to psops" in editor.records()[-1]["content"]
    written = load_data(target.read_bytes(), fmt)
    assert written["user"] == "me", "encrypted_regex of the rule applies"
    assert written["password"].startswith("ENC[")
    assert {k["recipient"] for k in written["sops"]["age"]} == {age_env.recipient, other_age_key.recipient}
    assert load_data(ok(run(sops_bin, "decrypt", target)), fmt) == {"user": "me", "password": "p4ss"}
    assert private.leftovers() == []


def test_new_file_with_age_flag(work: Path, age_env: AgeKey, editor: ScriptedEditor, private: Private,
                                psops_bin: str, sops_bin: str) -> None:
    target = work / "fresh.json"
    ok(_edit(psops_bin, "--age", age_env.recipient, target,
           env=editor.env(["replace", "example_value\"", "flag-made\""])))
    assert [k["recipient"] for k in json.loads(target.read_text())["sops"]["age"]] == [age_env.recipient]
    assert json.loads(ok(run(sops_bin, "decrypt", target)))["example_key"] == "flag-made"
    assert mode(target) == 0o600


def test_new_file_without_keys_fails_before_the_editor(work: Path, editor: ScriptedEditor, private: Private,
                                                       psops_bin: str) -> None:
    proc = _edit(psops_bin, work / "nokeys.json", env=editor.env())
    assert_clean_error(proc, 111)
    assert editor.records() == []


# -- replace ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_replace_changes_only_the_changed_value(fmt: str, sops_file: Callable[..., Path], work: Path,
                                                private: Private, psops_bin: str, sops_bin: str) -> None:
    enc = sops_file(fmt)
    before = enc.read_bytes()
    source = work / f"new.{fmt}"
    source.write_text(SAMPLE_TEXTS[fmt].replace("tok-0123456789", "tok-rotated"))
    proc = run(psops_bin, "replace", enc, source)
    assert ok(proc) == b"" and proc.stderr == b"", describe(proc)
    changed = changed_lines(before, enc.read_bytes())
    assert len(changed) == 2 and "api_token" in changed[0][0] and "api_token" in changed[0][1]
    assert load_data(ok(run(sops_bin, "decrypt", enc)), fmt) == {**SAMPLE, "api_token": "tok-rotated"}


def test_replace_from_stdin_and_unchanged_content(sops_file: Callable[..., Path], psops_bin: str,
                                                  sops_bin: str) -> None:
    enc = sops_file("yaml")
    before, st = enc.read_bytes(), _freeze(enc)
    proc = run(psops_bin, "replace", enc, stdin=SAMPLE_TEXTS["yaml"].encode())
    assert ok(proc) == b"" and b"unchanged" in proc.stderr
    _assert_untouched(enc, before, st)

    proc = run(psops_bin, "replace", enc, "-", stdin=SAMPLE_TEXTS["yaml"].replace("admin", "root").encode())
    ok(proc)
    assert len(changed_lines(before, enc.read_bytes())) == 2
    assert load_data(ok(run(sops_bin, "decrypt", enc)), "yaml")["db"]["user"] == "root"


def test_replace_refuses_an_encrypted_source(sops_file: Callable[..., Path], psops_bin: str) -> None:
    enc = sops_file("json")
    before = enc.read_bytes()
    assert_clean_error(run(psops_bin, "replace", enc, enc), 203, names=enc.name)
    assert enc.read_bytes() == before
