"""``psops set`` and ``psops unset`` as a user meets them, next to the real sops.

The headline property: after ``psops set`` only the changed value's line, ``lastmodified`` and ``mac`` differ
from the old file (unchanged values keep their ciphertext), and ``sops decrypt`` reads the result. Most runs
call the CLI entry point in-process for speed; one ``set`` and one ``unset`` run the installed executable.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.cli import assert_clean_error, describe, load_data, ok, run
from psops.cli import main
from psops.keys import get_service
from psops.operations import EncryptPlan, encrypt_bytes

if TYPE_CHECKING:
    from conftest import AgeKey

PLAIN = {
    "yaml": "# settings\ndb:\n    host: db.internal\n    password: old secret\n    port: 5432\n"
            "tags:\n    - red\n    - green\npublic_unencrypted: visible\nlast: end\n",
    "json": '{"db": {"host": "db.internal", "password": "old secret", "port": 5432}, "tags": ["red", "green"], '
            '"public_unencrypted": "visible", "last": "end"}\n',
    "dotenv": "# settings\nDB_HOST=db.internal\nDB_PASSWORD=old secret\npublic_unencrypted=visible\n",
    "ini": "; settings\n[db]\nhost = db.internal\npassword = old secret\n\n[other]\npublic_unencrypted = visible\n",
}
KEY = {"yaml": "password", "json": "password", "dotenv": "DB_PASSWORD", "ini": "password"}
EXT = {"yaml": ".yaml", "json": ".json", "dotenv": ".env", "ini": ".ini"}
PASSWORD = {"yaml": '["db"]["password"]', "json": '["db"]["password"]', "dotenv": '["DB_PASSWORD"]',
            "ini": '["db"]["password"]'}


class Files:
    """Encrypted test files in the working folder, written by sops or by psops."""

    def __init__(self, folder: Path, sops_bin: str, recipient: str) -> None:
        self.folder, self.sops_bin, self.recipient = folder, sops_bin, recipient

    def by_sops(self, fmt: str, name: str = "secrets") -> Path:
        plain = self.folder / f"{name}.plain{EXT[fmt]}"
        plain.write_text(PLAIN[fmt])
        target = self.folder / f"{name}{EXT[fmt]}"
        target.write_bytes(ok(run(self.sops_bin, "encrypt", "--age", self.recipient, plain)))
        plain.unlink()
        return target

    def by_psops(self, fmt: str, name: str = "secrets") -> Path:
        plan = EncryptPlan(key_groups=[get_service("age").parse_recipients(self.recipient)])
        target = self.folder / f"{name}{EXT[fmt]}"
        target.write_bytes(encrypt_bytes(PLAIN[fmt].encode(), plan, input_format=fmt, output_format=fmt))
        return target

    def sops_decrypt(self, path: Path) -> bytes:
        return ok(run(self.sops_bin, "decrypt", path))


@pytest.fixture
def files(work: Path, sops_bin: str, age_env: AgeKey) -> Files:
    return Files(work, sops_bin, age_env.recipient)


def psops(*args: str | os.PathLike[str], stdin: bytes | None = None,
          monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    """Run the psops CLI in-process; returns the exit code (output goes to the captured stdout/stderr)."""
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    return main([os.fspath(a) for a in args])


def changed_lines(old: bytes, new: bytes) -> list[str]:
    """The lines that differ (removed or added) between two versions of a file, as ``git diff`` shows them."""
    diff = difflib.unified_diff(old.decode().splitlines(), new.decode().splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _field(line: str) -> str:
    """Which field a changed line holds: its key, without quotes, ``sops_`` prefix or padding."""
    text = line[1:].strip().removeprefix("sops_")
    for sep in ('": ', ": ", "=", " "):
        if sep in text:
            return text.split(sep, 1)[0].strip().strip('"')
    return text


def assert_one_value_diff(old: bytes, new: bytes, key: str) -> None:
    """Only ``key``'s line changed, plus ``mac`` (and ``lastmodified`` unless in the same second)."""
    lines = changed_lines(old, new)
    fields = sorted(_field(line) for line in lines)
    expected = sorted([key, key, "mac", "mac"])
    assert fields in (expected, sorted([*expected, "lastmodified", "lastmodified"])), lines


@pytest.mark.parametrize("fmt", ["yaml", "json", "dotenv"])
def test_set_changes_one_line_of_a_sops_file_plus_lastmodified_and_mac(fmt: str, files: Files, psops_bin: str) -> None:
    path = files.by_sops(fmt)
    old, before = path.read_bytes(), files.sops_decrypt(path)
    proc = run(psops_bin, "set", path, PASSWORD[fmt], '"new secret"')
    assert ok(proc) == b"" and proc.stderr == b"", describe(proc)
    new = path.read_bytes()
    assert_one_value_diff(old, new, KEY[fmt])
    assert b"new secret" not in new
    assert files.sops_decrypt(path) == before.replace(b"old secret", b"new secret")


@pytest.mark.parametrize("fmt", ["yaml", "json", "dotenv", "ini"])
def test_set_on_a_psops_file_is_a_one_value_diff_and_sops_reads_it(fmt: str, files: Files) -> None:
    path = files.by_psops(fmt)
    old = path.read_bytes()
    assert psops("set", path, PASSWORD[fmt], '"new secret"') == 0
    assert_one_value_diff(old, path.read_bytes(), KEY[fmt])
    before = files.sops_decrypt(files.by_psops(fmt, "reference"))
    assert files.sops_decrypt(path) == before.replace(b"old secret", b"new secret")


def test_unset_with_the_installed_executable(files: Files, psops_bin: str) -> None:
    path = files.by_sops("json")
    ok(run(psops_bin, "unset", path, '["db"]["password"]'))
    assert json.loads(files.sops_decrypt(path))["db"] == {"host": "db.internal", "port": 5432}


def test_set_creates_keys_lists_and_subtrees_as_sops_does(files: Files) -> None:
    path = files.by_sops("json")
    assert psops("set", path, '["db"]["replicas"]', '[{"host": "r1"}, 2]') == 0
    assert psops("set", path, '["new"]["deep"]["er"]', "1.5") == 0
    assert psops("set", path, '["tags"][9]', '"appended"') == 0
    assert psops("set", path, '["tags"][0]', "true") == 0
    assert psops("set", path, '["last"]["x"]', "null") == 0
    data = json.loads(files.sops_decrypt(path))
    assert data == {"db": {"host": "db.internal", "password": "old secret", "port": 5432,
                           "replicas": [{"host": "r1"}, 2]},
                    "tags": [True, "green", "appended"], "public_unencrypted": "visible",
                    "last": {"x": None}, "new": {"deep": {"er": 1.5}}}


def test_new_key_under_an_unencrypted_suffix_stays_clear(files: Files) -> None:
    path = files.by_sops("yaml")
    assert psops("set", path, '["public_unencrypted"]', '"still visible"') == 0
    assert psops("set", path, '["db"]["note_unencrypted"]', '"plain note"') == 0
    text = path.read_text()
    assert "public_unencrypted: still visible" in text and "note_unencrypted: plain note" in text
    assert load_data(files.sops_decrypt(path), "yaml")["db"]["note_unencrypted"] == "plain note"


def test_value_from_a_file_and_from_stdin(files: Files, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = files.by_sops("yaml")
    value_file = tmp_path / "value.json"
    value_file.write_text('{"user": "admin", "pass": "from file"}')
    assert psops("set", "--value-file", path, '["creds"]', value_file) == 0
    assert psops("set", "--value-stdin", path, '["db"]["password"]', stdin=b'"from stdin"\n',
                 monkeypatch=monkeypatch) == 0
    data = load_data(files.sops_decrypt(path), "yaml")
    assert data["creds"] == {"user": "admin", "pass": "from file"} and data["db"]["password"] == "from stdin"


def test_idempotent_set_does_not_write_when_the_value_is_already_there(files: Files) -> None:
    path = files.by_sops("json")
    old, inode = path.read_bytes(), path.stat().st_ino
    assert psops("set", "--idempotent", path, '["db"]["password"]', '"old secret"') == 0
    assert path.read_bytes() == old and path.stat().st_ino == inode
    assert psops("set", path, '["db"]["password"]', '"old secret"') == 0  # without it, sops rewrites the file
    assert path.stat().st_ino != inode
    assert psops("set", "--idempotent", path, '["db"]["port"]', '"5432"') == 0  # a string is not the number
    assert json.loads(files.sops_decrypt(path))["db"]["port"] == "5432"


def test_unset_removes_keys_and_list_elements_and_idempotent_tolerates_missing(files: Files) -> None:
    path = files.by_sops("yaml")
    assert psops("unset", path, '["tags"][0]') == 0
    assert psops("unset", path, '["db"]["port"]') == 0
    inode = path.stat().st_ino
    assert psops("unset", "--idempotent", path, '["nothing"]["here"]') == 0
    assert path.stat().st_ino == inode
    data = load_data(files.sops_decrypt(path), "yaml")
    assert data["tags"] == ["green"] and data["db"] == {"host": "db.internal", "password": "old secret"}


def test_set_on_ini_and_dotenv_files_written_by_sops(files: Files) -> None:
    ini, env = files.by_sops("ini"), files.by_sops("dotenv")
    assert psops("set", ini, '["db"]["password"]', '"ini secret"') == 0
    assert psops("set", ini, '["new section"]["k"]', '"v"') == 0
    assert psops("set", env, '["NEW_KEY"]', '"line1\\nline2"') == 0
    assert files.sops_decrypt(ini) == (b"; settings\n[db]\nhost     = db.internal\npassword = ini secret\n\n"
                                       b"[other]\npublic_unencrypted = visible\n\n[new section]\nk = v\n")
    assert files.sops_decrypt(env).endswith(b"public_unencrypted=visible\nNEW_KEY=line1\\nline2\n")


def test_file_mode_is_kept(files: Files) -> None:
    path = files.by_sops("json")
    path.chmod(0o640)
    assert psops("set", path, '["last"]', '"changed"') == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_tampered_file_needs_ignore_mac(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    path = files.by_sops("yaml")
    path.write_text(path.read_text().replace("public_unencrypted: visible", "public_unencrypted: tampered"))
    old = path.read_bytes()
    assert psops("set", path, '["last"]', '"x"') == 51
    assert path.read_bytes() == old
    capsys.readouterr()
    assert psops("set", "--ignore-mac", "--decryption-order", "pgp,age", path, '["last"]', '"x"') == 0
    assert "MAC was not checked" in capsys.readouterr().err
    assert load_data(files.sops_decrypt(path), "yaml")["public_unencrypted"] == "tampered"


def _error(code: int, *args: Any, capsys: pytest.CaptureFixture[str], path: Path) -> str:
    old = path.read_bytes()
    capsys.readouterr()
    assert psops(*args) == code
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("psops: error: "), captured
    assert path.read_bytes() == old
    return captured.err


@pytest.mark.parametrize(("code", "args", "message"), [
    (7, ["set", "{path}", '["db"]["password"]', "not json"], "not valid JSON"),
    (7, ["set", "{path}", '["db"]["password"]', "1e400"], "not valid JSON"),
    (7, ["set", "{path}", "db.password", '"x"'], "invalid index"),
    (7, ["unset", "{path}", "[db]"], "invalid index"),
    (100, ["set", "{path}", '["db"]["password"]'], "value to set is missing"),
    (8, ["set", "--value-file", "--value-stdin", "{path}", '["x"]', "v.json"], "exclude each other"),
    (8, ["set", "-", '["x"]', '"v"'], "standard input"),
    (91, ["set", "{path}", '["sops"]["version"]', '"1"'], "metadata"),
    (91, ["unset", "{path}", '["no"]["such"]["key"]'], "does not exist"),
    (91, ["unset", "--idempotent", "{path}", '["last"]["below"]'], "goes below a str"),
    (91, ["set", "{path}", '["db"][0]', '"x"'], "indexes a mapping"),
    (2, ["set", "{path}.missing", '["x"]', '"v"'], "no such file"),
    (2, ["set", "--value-file", "{path}", '["x"]', "no-such-value.json"], "no such file"),
])
def test_errors_are_one_clean_line_with_sops_exit_codes(code: int, args: list[str], message: str, files: Files,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = files.by_sops("json")
    err = _error(code, *[a.replace("{path}", str(path)) for a in args], capsys=capsys, path=path)
    assert message in err


def test_nested_value_into_dotenv_is_refused_and_the_file_kept(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    path = files.by_sops("dotenv")
    err = _error(4, "set", path, '["NESTED"]', '{"a": "b"}', capsys=capsys, path=path)
    assert "cannot use complex value in dotenv file" in err
    err = _error(91, "set", path, '["sops_version"]', '"1"', capsys=capsys, path=path)
    assert "sops_" in err


def test_missing_value_error_from_the_executable(files: Files, psops_bin: str) -> None:
    path = files.by_sops("json")
    line = assert_clean_error(run(psops_bin, "set", path, '["db"]'), 100, names=path.name)
    assert "missing" in line
