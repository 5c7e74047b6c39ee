"""The audit trail: a JSON line per decrypt, encrypt, edit, rotate and updatekeys, written on every exit path,
to a file and to syslog (a Unix datagram socket the test listens on); never a secret in it."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.cli import assert_clean_error, ok, run, write_age_identity
from fixtures.lifecycle import data_key_of, sops_block, write_policy
from psops.errors import AuditError, PolicyError
from psops.lifecycle.audit import AuditRecord, FileSink, audit_settings, audited
from psops.policy import load_config

if TYPE_CHECKING:
    from conftest import AgeKey

SECRETS = ("hunter2-secret", "k-777-token")
PLAIN = f"db:\n    password: {SECRETS[0]}\napi_key: {SECRETS[1]}\n"


def _records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _assert_record(rec: dict[str, Any], *, operation: str, file: Path, outcome: str, keys: list[dict[str, str]],
                   exit_code: int = 0, error: str | None = None) -> None:
    assert list(rec) == ["time", "user", "host", "file", "operation", "outcome", "unwrapped_by", "error",
                         "exit_code", "details"]
    stamp = datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=2)
    assert rec["user"] and rec["host"] == socket.gethostname()
    assert rec["file"] == str(file.resolve())
    assert rec["operation"] == operation
    assert rec["outcome"] == outcome
    assert rec["unwrapped_by"] == keys
    assert rec["exit_code"] == exit_code and rec["error"] == error


def _no_secrets(text: str, *extra: str) -> None:
    for needle in (*SECRETS, *extra):
        assert needle not in text


@pytest.fixture
def audited_repo(work: Path, age_key: AgeKey) -> Path:
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_key.recipient}], audit={"file": "logs/audit.jsonl"})
    return work


def test_every_operation_is_recorded_field_by_field(audited_repo: Path, age_key: AgeKey, other_age_key: AgeKey,
                                                    psops_bin: str) -> None:
    work = audited_repo
    key_file = write_age_identity(work / "k.txt", age_key.identity)
    env = {"SOPS_AGE_KEY_FILE": str(key_file), "EDITOR": f"{sys.executable} -c \"import sys;"
           f"p=sys.argv[1];t=open(p).read();open(p,'w').write(t.replace('k-777','k-888'))\""}
    f = work / "s.yaml"
    f.write_text(PLAIN)
    age = [{"kind": "age", "key": age_key.recipient}]
    ok(run(psops_bin, "encrypt", "-i", f, env=env))
    out = ok(run(psops_bin, "decrypt", f, env=env))
    assert SECRETS[0].encode() in out
    created = sops_block(f)["psops_data_key_created_at"]
    ok(run(psops_bin, "edit", f, env=env))
    assert sops_block(f)["psops_data_key_created_at"] == created, "an edit keeps the data key and its time"
    ok(run(psops_bin, "rotate", f, env=env))
    write_policy(work, [{"path_regex": r"\.yaml$", "age": f"{age_key.recipient},{other_age_key.recipient}"}],
                 audit={"file": "logs/audit.jsonl"})
    ok(run(psops_bin, "updatekeys", "--yes", f, env=env))
    denied = run(psops_bin, "decrypt", f, unset=["SOPS_AGE_KEY_FILE"])
    assert denied.returncode == 128

    log = work / "logs" / "audit.jsonl"
    assert (log.stat().st_mode & 0o777) == 0o600
    recs = _records(log)
    assert [r["operation"] for r in recs] == ["encrypt", "decrypt", "edit", "rotate", "updatekeys", "decrypt"]
    _assert_record(recs[0], operation="encrypt", file=f, outcome="ok", keys=[])
    _assert_record(recs[1], operation="decrypt", file=f, outcome="ok", keys=age)
    _assert_record(recs[2], operation="edit", file=f, outcome="ok", keys=age)
    _assert_record(recs[3], operation="rotate", file=f, outcome="ok", keys=age)
    assert recs[3]["details"]["keys_added"] == [] and recs[3]["details"]["data_key_created"]
    _assert_record(recs[4], operation="updatekeys", file=f, outcome="ok", keys=age)
    assert recs[4]["details"] == {"keys_added": [f"age:{other_age_key.recipient}"], "keys_removed": [],
                                  "rotated": False}
    _assert_record(recs[5], operation="decrypt", file=f, outcome="error", keys=[], exit_code=128,
                   error="NoKeyMatched")
    # no value, no identity, no data key in the log
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPS_AGE_KEY_FILE", str(key_file))
        data_key = data_key_of(f)
    import base64

    _no_secrets(log.read_text(), "k-888", age_key.identity, data_key.hex(), base64.b64encode(data_key).decode())


def test_set_unset_and_exec_commands_are_recorded(audited_repo: Path, age_key: AgeKey, psops_bin: str) -> None:
    """Every command that decrypts is in the trail, not only decrypt itself."""
    work = audited_repo
    key_file = write_age_identity(work / "k.txt", age_key.identity)
    env = {"SOPS_AGE_KEY_FILE": str(key_file)}
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "-i", f, env=env))
    ok(run(psops_bin, "set", f, '["extra"]', '"x-999-new"', env=env))
    ok(run(psops_bin, "unset", f, '["extra"]', env=env))
    ok(run(psops_bin, "exec-env", "--flatten", f, "true", env=env))
    ok(run(psops_bin, "exec-file", f, "cat {} >/dev/null", env=env))
    log = work / "logs" / "audit.jsonl"
    recs = _records(log)
    age = [{"kind": "age", "key": age_key.recipient}]
    assert [r["operation"] for r in recs] == ["encrypt", "set", "unset", "exec-env", "exec-file"]
    for rec in recs[1:]:
        _assert_record(rec, operation=rec["operation"], file=f, outcome="ok", keys=age)
    _no_secrets(log.read_text(), "x-999-new", age_key.identity)


def test_failures_before_any_key_are_recorded(audited_repo: Path, psops_bin: str) -> None:
    bad = audited_repo / "broken.yaml"
    bad.write_text("a: [unclosed\n")
    proc = run(psops_bin, "decrypt", bad)
    assert proc.returncode != 0
    [rec] = _records(audited_repo / "logs" / "audit.jsonl")
    _assert_record(rec, operation="decrypt", file=bad, outcome="error", keys=[], exit_code=proc.returncode,
                   error=rec["error"])
    assert rec["error"] and rec["error"] != "None"


def test_unwritable_trail_stops_the_operation(work: Path, age_env: AgeKey, psops_bin: str) -> None:
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "--age", age_env.recipient, "-i", f))
    (work / "ro").mkdir()
    (work / "ro" / "audit.jsonl").mkdir()  # a folder where the log file should be: cannot be opened
    write_policy(work, [{"age": age_env.recipient}], audit={"file": "ro/audit.jsonl"})
    proc = run(psops_bin, "decrypt", f)
    line = assert_clean_error(proc, 80)
    assert "audit log" in line
    _no_secrets(proc.stdout.decode() + proc.stderr.decode())


def test_interrupt_and_exceptions_are_recorded_in_finally(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    from psops.lifecycle.audit import AuditSettings

    settings = AuditSettings(file=log)
    with pytest.raises(KeyboardInterrupt), audited("rotate", str(tmp_path / "x.yaml"), settings=settings):
        raise KeyboardInterrupt
    with pytest.raises(ValueError), audited("rotate", str(tmp_path / "x.yaml"), settings=settings):
        raise ValueError("boom")
    recs = _records(log)
    assert [(r["outcome"], r["error"], r["exit_code"]) for r in recs] == [
        ("interrupted", "KeyboardInterrupt", 85), ("error", "ValueError", 1)]
    assert "boom" not in log.read_text(), "messages are not recorded"


@pytest.fixture
def syslog_socket() -> Iterator[tuple[socket.socket, str]]:
    """A Unix datagram socket standing in for /dev/log, in a private temp folder."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="psl", dir="/tmp")
    path = os.path.join(folder, "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        yield sock, path
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(folder)


def test_syslog_sink(work: Path, age_env: AgeKey, psops_bin: str, syslog_socket: tuple[socket.socket, str]) -> None:
    sock, path = syslog_socket
    write_policy(work, [{"age": age_env.recipient}], audit={"syslog": {"address": path, "facility": "authpriv"}})
    f = work / "s.yaml"
    f.write_text(PLAIN)
    ok(run(psops_bin, "encrypt", "-i", f))
    ok(run(psops_bin, "decrypt", f))
    messages = [sock.recv(65536).decode() for _ in range(2)]
    for message, op in zip(messages, ("encrypt", "decrypt"), strict=True):
        assert message.startswith(f"<{10 * 8 + 6}>")  # authpriv.info
        head, _, body = message.partition(": ")
        assert "psops[" in head
        rec = json.loads(body)
        _assert_record(rec, operation=op, file=f, outcome="ok",
                       keys=[] if op == "encrypt" else [{"kind": "age", "key": age_env.recipient}])
        _no_secrets(message)


def test_syslog_unreachable_is_an_audit_error(tmp_path: Path) -> None:
    from psops.lifecycle.audit import SyslogSink

    with pytest.raises(AuditError, match="cannot reach syslog"):
        SyslogSink(str(tmp_path / "nobody-listens.sock"))


def test_audit_settings_validation(tmp_path: Path) -> None:
    def settings(audit: object) -> object:
        cfg = tmp_path / ".sops-policy.yaml"
        cfg.write_text(json.dumps({"creation_rules": [], "audit": audit}))
        os.utime(cfg, ns=(0, os.stat(cfg).st_mtime_ns + 1))
        return audit_settings(load_config(cfg))

    got = settings({"file": "x/audit.log", "syslog": True})
    assert got.file == tmp_path / "x" / "audit.log" and got.syslog  # type: ignore[attr-defined]
    assert settings({"syslog": False}) is None
    for bad in ("yes", {"fil": "x"}, {"file": 3}, {"syslog": "on"}, {"syslog": {"facility": "mail2"}}):
        with pytest.raises(PolicyError):
            settings(bad)


def test_file_sink_appends_whole_lines(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "l.jsonl")
    for i in range(3):
        sink.write(AuditRecord(time="t", user="u", host="h", file=f"f{i}", operation="decrypt"))
    sink.close()
    assert [r["file"] for r in _records(tmp_path / "l.jsonl")] == ["f0", "f1", "f2"]
