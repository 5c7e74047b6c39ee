"""No leaks: secrets never show up where they must not, checked with a canary secret and a search of everything
each run produced.

* stdout and stderr of failing runs (tampered files, a wrong key, bad arguments, a value of the wrong type,
  unwritable outputs), with and without ``--verbose``, and of successful runs' stderr;
* exception messages and formatted tracebacks of the library's errors;
* the argv of every child process: gpg (through a ``SOPS_GPG_EXEC`` wrapper that records its argv, checked
  for the canary and for the file's data key in raw, hex and base64 form), the editor, psops' own guard;
  the process title and environment of psops and the editor while an edit is open;
* files: temp files are 0600 in 0700 dirs, ``--output`` creates decrypted files 0600, the audit trail and
  a killed edit leave no plaintext.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import ok, run
from fixtures.editing import Private, ScriptedEditor, process_tree_cmdlines
from fixtures.gnupg import GpgKey, gpg_exe, run_gpg
from fixtures.reliability import CANARY, SAMPLES, cli, encrypt_sample, files_containing
from psops.cipher import ValueCipher
from psops.engine import unwrap_data_key
from psops.errors import PsopsError
from psops.formats import get_store
from psops.metadata import parse_metadata, split_metadata
from psops.operations import decrypt_bytes, encrypt_bytes
from psops.tree import Mapping

if TYPE_CHECKING:
    from conftest import AgeKey

SECRET = CANARY.encode()


def assert_no_canary(*blobs: bytes | str, where: str = "") -> None:
    """None of ``blobs`` contains the canary."""
    for blob in blobs:
        data = blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob
        assert SECRET not in data, f"the secret leaked into {where or 'the output'}:\n{data[:3000]!r}"


@pytest.fixture
def secret_file(age_env: AgeKey, tmp_path: Path) -> Path:
    """The YAML sample (canary secrets) encrypted with psops."""
    folder = tmp_path / "files"
    folder.mkdir()
    return encrypt_sample(SAMPLES["yaml"], folder, age_env.recipient)


def _data_key(path: Path) -> bytes:
    doc = get_store("yaml").load(path.read_bytes())
    return unwrap_data_key(parse_metadata(split_metadata(Mapping(list(doc[0].items)))))


def _retype(path: Path, key: str, type_tag: str) -> None:
    """Re-encrypt the value of ``key`` under the file's own data key with a wrong type tag (a crafted file)."""
    doc = get_store("yaml").load(path.read_bytes())
    cipher = ValueCipher(_data_key(path))
    forged = cipher.encrypt_bytes(f"{CANARY}-forged".encode(), type_tag, f"{key}:")
    doc[0].set(key, forged)
    path.write_bytes(get_store("yaml").dump(doc))


# --- failing runs, --verbose ---

def failing_runs(secret_file: Path, other_age_key: AgeKey, tmp_path: Path) -> Iterator[tuple[str, list[str], bytes]]:
    """(description, argv, stdin) of runs that fail while a secret is at hand."""
    plain = tmp_path / "plain.yaml"
    plain.write_bytes(SAMPLES["yaml"].text)
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "elsewhere.yaml")
    tampered = tmp_path / "tampered.yaml"
    tampered.write_bytes(secret_file.read_bytes().replace(b"clear text", b"clear test"))
    retyped = {}
    for tag in ("int", "float", "bool", "time"):
        retyped[tag] = tmp_path / f"retyped-{tag}.yaml"
        retyped[tag].write_bytes(secret_file.read_bytes())
        _retype(retyped[tag], "a", tag)
    yield "MAC mismatch", ["decrypt", str(tampered)], b""
    for tag, path in retyped.items():
        yield f"{tag} plaintext that is not one", ["decrypt", str(path)], b""
        yield f"{tag} plaintext, --ignore-mac", ["decrypt", "--ignore-mac", str(path)], b""
    yield "encrypt to a symlink", ["encrypt", "--age", other_age_key.recipient, "--output", str(link), str(plain)], b""
    yield "decrypt to a symlink", ["decrypt", "--output", str(link), str(secret_file)], b""
    yield "missing --extract path", ["decrypt", "--extract", '["nope"]', str(secret_file)], b""
    yield "encrypt an encrypted file", ["encrypt", "--age", other_age_key.recipient, str(secret_file)], b""
    yield "bad recipient", ["encrypt", "--age", "age1bad", str(plain)], b""
    yield "set: value is not JSON", ["set", str(secret_file), '["a"]', f'"{CANARY} unterminated'], b""
    yield "set --value-stdin: not JSON", ["set", "--value-stdin", str(secret_file), '["a"]'], \
        f"{{{CANARY}".encode()
    yield "set on a tampered file", ["set", str(tampered), '["a"]', '"x"'], b""
    yield "stdin: YAML that is not a mapping", ["encrypt", "--age", other_age_key.recipient, "--input-type",
                                                "json", "--output-type", "json", "-"], f'["{CANARY}"]'.encode()
    yield "stdin: bad JSON", ["encrypt", "--age", other_age_key.recipient, "--input-type", "json", "-"], \
        f'{{"a": "{CANARY}", 9e999: 1}}'.encode()
    yield "dotenv: a line without =", ["encrypt", "--age", other_age_key.recipient, "--input-type", "dotenv",
                                       "-"], f"a=1\n{CANARY}\n".encode()
    yield "ini: a line without =", ["encrypt", "--age", other_age_key.recipient, "--input-type", "ini", "-"], \
        f"[s]\n{CANARY}\n".encode()


def test_failing_runs_print_no_secret_with_or_without_verbose(secret_file: Path, other_age_key: AgeKey,
                                                              tmp_path: Path) -> None:
    count = 0
    for what, argv, stdin in failing_runs(secret_file, other_age_key, tmp_path):
        for verbose in ([], ["--verbose"]):
            result = cli(*verbose, *argv, stdin=stdin)
            assert result.code != 0, f"{what}: {result.describe(argv)}"
            assert result.out == b"", f"{what}: {result.describe(argv)}"
            assert_no_canary(result.err, where=f"stderr of '{what}'{' --verbose' if verbose else ''}")
            count += 1
    assert count >= 30


def test_wrong_key_run_of_the_installed_psops_prints_no_secret(secret_file: Path, other_age_key: AgeKey,
                                                               tmp_path: Path, psops_bin: str) -> None:
    keys = tmp_path / "other.txt"
    keys.write_text(other_age_key.identity + "\n")
    proc = run(psops_bin, "--verbose", "decrypt", secret_file, env={"SOPS_AGE_KEY_FILE": str(keys)})
    assert proc.returncode == 128 and proc.stdout == b""
    assert_no_canary(proc.stderr, where="stderr of a wrong-key decrypt")


def test_verbose_successful_runs_keep_secrets_off_stderr(secret_file: Path, psops_bin: str,
                                                         age_env: AgeKey, tmp_path: Path) -> None:
    out = run(psops_bin, "--verbose", "decrypt", secret_file)
    assert SECRET in ok(out)
    assert_no_canary(out.stderr, where="--verbose decrypt stderr")
    plain = tmp_path / "p.yaml"
    plain.write_bytes(SAMPLES["yaml"].text)
    enc = run(psops_bin, "--verbose", "encrypt", "--age", age_env.recipient, plain)
    assert_no_canary(ok(enc), enc.stderr, where="--verbose encrypt")
    setv = run(psops_bin, "--verbose", "set", secret_file, '["a"]', f'"{CANARY}-new"')
    assert_no_canary(ok(setv), setv.stderr, secret_file.read_bytes(), where="--verbose set")


def test_an_internal_error_traceback_under_verbose_holds_no_secret(secret_file: Path, psops_bin: str) -> None:
    """The one way to an unexpected exception with a secret in hand here: stdout fails mid-write. It is a
    clean error now (exit 3); either way, nothing printed may hold the secret."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([psops_bin, "--verbose", "decrypt", str(secret_file)], stdout=full,
                              stderr=subprocess.PIPE, timeout=60, check=False)
    assert proc.returncode == 3, proc.stderr
    assert b"standard output: cannot write: No space left on device" in proc.stderr
    assert_no_canary(proc.stderr, where="stderr of a failed stdout write")


# --- exception messages and tracebacks (library) ---

def test_library_errors_and_their_tracebacks_hold_no_secret(secret_file: Path, tmp_path: Path) -> None:
    data = secret_file.read_bytes()
    cases: list[tuple[str, bytes, str]] = [
        ("tampered", data.replace(b"clear text", b"clear test"), "yaml"),
        ("truncated", data[: len(data) // 2], "yaml"),
        ("as json", data, "json"),
        ("as dotenv", data, "dotenv"),
        ("as ini", data, "ini"),
    ]
    for tag in ("int", "float", "bool", "time"):
        path = tmp_path / f"r-{tag}.yaml"
        path.write_bytes(data)
        _retype(path, "b", tag)
        cases.append((f"retyped {tag}", path.read_bytes(), "yaml"))
    plain = SAMPLES["yaml"].text
    seen = 0
    for what, blob, fmt in cases:
        try:
            decrypt_bytes(blob, input_format=fmt, output_format=fmt)
        except PsopsError as exc:
            rendered = "".join(traceback.format_exception(exc))
            assert_no_canary(str(exc), repr(exc), exc.hint or "", rendered, where=f"the error of '{what}'")
            seen += 1
    for fmt in ("json", "dotenv", "ini"):
        try:
            from psops.operations import EncryptPlan

            encrypt_bytes(plain, EncryptPlan(key_groups=[]), input_format=fmt, output_format=fmt)
        except PsopsError as exc:
            assert_no_canary(str(exc), "".join(traceback.format_exception(exc)), where=f"encrypt as {fmt}")
            seen += 1
    assert seen >= 10


# --- child processes: argv, process title, environment ---

_GPG_WRAPPER = """#!{python}
import json, os, sys
with open({log!r}, "a") as fh:
    fh.write(json.dumps(sys.argv) + "\\n")
os.execv({gpg!r}, [{gpg!r}, *sys.argv[1:]])
"""


@pytest.fixture
def gpg_wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """A SOPS_GPG_EXEC program that records its argv (one JSON line per run) and runs the real gpg."""
    log = tmp_path / "gpg-argv.jsonl"
    wrapper = tmp_path / "gpg-recording"
    wrapper.write_text(_GPG_WRAPPER.format(python=sys.executable, log=str(log), gpg=gpg_exe()))
    wrapper.chmod(0o755)
    return wrapper, log


def _key_forms(key: bytes) -> list[bytes]:
    return [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key),
            base64.b64encode(key).rstrip(b"="), base64.urlsafe_b64encode(key).rstrip(b"=")]


def test_gpg_argv_never_holds_a_secret_or_the_data_key(gpg_env: GpgKey, gpg_wrapper: tuple[Path, Path],
                                                       tmp_path: Path, psops_bin: str) -> None:
    wrapper, log = gpg_wrapper
    env = {"SOPS_GPG_EXEC": str(wrapper)}
    plain = tmp_path / "pgp.yaml"
    plain.write_bytes(SAMPLES["yaml"].text)
    ok(run(psops_bin, "encrypt", "--pgp", gpg_env.fingerprint, "-i", plain, env=env))
    assert SECRET in ok(run(psops_bin, "decrypt", plain, env=env))
    ok(run(psops_bin, "set", plain, '["a"]', f'"{CANARY}-set"', env=env))
    ok(run(psops_bin, "rotate", plain, env=env))
    runs = log.read_text().splitlines()
    assert len(runs) >= 4, runs  # encrypt, decrypt, set, rotate all went through the wrapper
    block = get_store("yaml").load(plain.read_bytes())[0].get("sops")
    assert isinstance(block, Mapping)
    armor = block.get("pgp")[0].get("enc")  # type: ignore[index, union-attr]
    data_key = run_gpg(gpg_env.home, "--decrypt", stdin=str(armor).encode()).stdout
    assert len(data_key) == 32
    for line in runs:
        raw = line.encode()
        assert_no_canary(raw, where="gpg's argv")
        for form in _key_forms(data_key):
            assert form not in raw, "the data key appeared in gpg's argv"


def test_an_open_edit_shows_no_secret_in_any_process_title_argv_or_environment(
        secret_file: Path, psops_bin: str, private: Private, editor: ScriptedEditor) -> None:
    env = dict(os.environ)
    env.update(editor.env(["sleep", "30"]))
    child = subprocess.Popen([psops_bin, "edit", str(secret_file)], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not editor.ready.exists():
            assert time.monotonic() < deadline and child.poll() is None, "the editor did not start"
            time.sleep(0.02)
        procs = list(process_tree_cmdlines(child.pid))
        assert len(procs) >= 3, procs  # psops, its guard, the editor
        for pid, cmdline in procs:
            assert_no_canary(cmdline, where=f"argv of pid {pid}")
            for name in ("comm", "environ"):
                try:
                    data = Path(f"/proc/{pid}/{name}").read_bytes()
                except OSError:
                    continue
                assert_no_canary(data, where=f"/proc/{pid}/{name}")
        record = editor.records()[-1]
        assert record["file_mode"] == 0o600 and record["dir_mode"] == 0o700
        assert record["argv"][-1] == record["path"] and SECRET in record["content"].encode()
    finally:
        os.killpg(child.pid, 15)
        child.wait(timeout=30)
    deadline = time.monotonic() + 5
    while files_containing(private.tmpdir, SECRET) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert files_containing(private.tmpdir, SECRET) == []


# --- files ---

def test_decrypted_output_files_are_created_0600_whatever_the_umask(secret_file: Path, psops_bin: str,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "plain-out.yaml"
    proc = subprocess.run(["sh", "-c", 'umask 000; exec "$0" decrypt --output "$1" "$2"', psops_bin, str(out),
                           str(secret_file)], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and SECRET in out.read_bytes()


def test_the_audit_trail_records_no_secret(age_env: AgeKey, tmp_path: Path, psops_bin: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".sops-policy.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.yaml$\n    age: {age_env.recipient}\naudit:\n  file: audit.jsonl\n")
    path = repo / "app.yaml"
    path.write_bytes(SAMPLES["yaml"].text)
    ok(run(psops_bin, "encrypt", "-i", path, cwd=repo))
    ok(run(psops_bin, "decrypt", path, cwd=repo))
    ok(run(psops_bin, "set", path, '["a"]', f'"{CANARY}-2"', cwd=repo))
    path.write_bytes(path.read_bytes().replace(b"clear text", b"clear test"))
    assert run(psops_bin, "decrypt", path, cwd=repo).returncode == 51
    trail = (repo / "audit.jsonl").read_bytes()
    assert trail.count(b"\n") >= 3
    assert_no_canary(trail, where="the audit trail")
