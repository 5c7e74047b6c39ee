"""The typer-free fast path for ``decrypt``/``encrypt`` behaves exactly like the typer commands.

Every invocation below runs twice in this process, once through :func:`psops.cli.main` (which takes the fast
path) and once through :func:`psops.cli.main_typer` (the typer app), and must give the same exit code, the
same stderr and the same stdout (for ``encrypt``, whose output is random, the same plaintext once decrypted).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from psops.cli import fast, main, main_typer

if TYPE_CHECKING:
    from conftest import AgeKey

PLAIN_YAML = """\
# database settings
db:
    user: admin
    password: hunter2 # rotate
    port: 5432
hosts:
    - a.internal
    - b.internal
token_unencrypted: visible
"""
PLAIN_JSON = '{"user": "admin", "password": "hunter2", "nested": {"n": 1.5, "ok": true}}\n'

Result = tuple[int, bytes, bytes]


def _call(entry: Callable[[list[str]], int], args: list[str], capfd: pytest.CaptureFixture[bytes],
          stdin: bytes | None, monkeypatch: pytest.MonkeyPatch) -> Result:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = entry(args)
    sys.stdout.flush()
    sys.stderr.flush()
    out, err = capfd.readouterr()
    return code, out, err


@pytest.fixture
def files(age_env: AgeKey, work: Path, capfdbinary: pytest.CaptureFixture[bytes],
          monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Plain and encrypted YAML/JSON files in the working directory (encrypted by psops)."""
    out: dict[str, Path] = {}
    for fmt, text in (("yaml", PLAIN_YAML), ("json", PLAIN_JSON)):
        plain = work / f"plain.{fmt}"
        plain.write_text(text)
        code, data, err = _call(main, ["encrypt", "--age", age_env.recipient, str(plain)], capfdbinary, None,
                                monkeypatch)
        assert code == 0, err
        enc = work / f"secrets.enc.{fmt}"
        enc.write_bytes(data)
        out[f"plain.{fmt}"], out[f"enc.{fmt}"] = plain, enc
    tampered = work / "tampered.yaml"
    tampered.write_text(out["enc.yaml"].read_text().replace("port: ENC", "port:  ENC", 1)
                        .replace("token_unencrypted: visible", "token_unencrypted: changed"))
    out["tampered.yaml"] = tampered
    return out


def _both(args: list[str], capfd: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch,
          stdin: bytes | None = None) -> tuple[Result, Result]:
    assert fast.parse(args) is not None, f"the fast path should accept {args}"
    return (_call(main, args, capfd, stdin, monkeypatch), _call(main_typer, args, capfd, stdin, monkeypatch))


DECRYPT_CASES: list[list[str]] = [
    ["decrypt", "secrets.enc.yaml"],
    ["decrypt", "secrets.enc.json"],
    ["--verbose", "decrypt", "secrets.enc.yaml"],
    ["decrypt", "--extract", '["db"]["password"]', "secrets.enc.yaml"],
    ["decrypt", "--extract", '["db"]', "secrets.enc.yaml"],
    ["decrypt", "--extract=[\"hosts\"][1]", "secrets.enc.yaml"],
    ["decrypt", "--extract", '["nope"]', "secrets.enc.yaml"],
    ["decrypt", "--output-type", "json", "secrets.enc.yaml"],
    ["decrypt", "--input-type", "json", "secrets.enc.yaml"],
    ["decrypt", "--input-type", "nonsense", "secrets.enc.yaml"],
    ["decrypt", "secrets.enc.yaml", "--ignore-mac"],
    ["decrypt", "tampered.yaml"],
    ["decrypt", "--ignore-mac", "tampered.yaml"],
    ["decrypt", "plain.yaml"],
    ["decrypt", "missing.yaml"],
    ["decrypt", "--in-place", "--output", "x.yaml", "secrets.enc.yaml"],
    ["decrypt", "--decryption-order", "age,nonsense", "secrets.enc.yaml"],
    ["decrypt", "--config", "no-such-config.yaml", "secrets.enc.yaml"],
    ["decrypt", "--filename-override", "other.json", "secrets.enc.yaml"],
]


@pytest.mark.parametrize("args", DECRYPT_CASES, ids=lambda a: " ".join(a))
def test_decrypt_fast_path_matches_typer(args: list[str], files: dict[str, Path],
                                         capfdbinary: pytest.CaptureFixture[bytes],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fast_result, typer_result = _both(args, capfdbinary, monkeypatch)
    assert fast_result == typer_result


def test_decrypt_env_and_stdin_match_typer(files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = files["enc.yaml"].read_bytes()
    fast_result, typer_result = _both(["decrypt", "--input-type", "yaml", "-"], capfdbinary, monkeypatch, data)
    assert fast_result == typer_result
    assert fast_result[0] == 0 and b"password: hunter2" in fast_result[1]
    monkeypatch.setenv("SOPS_DECRYPTION_ORDER", "bogus")
    fast_result, typer_result = _both(["decrypt", "secrets.enc.yaml"], capfdbinary, monkeypatch)
    assert fast_result == typer_result
    assert fast_result[0] != 0 and b"bogus" in fast_result[2]


def test_decrypt_with_a_config_file_matches_typer(files: dict[str, Path], work: Path,
                                                  capfdbinary: pytest.CaptureFixture[bytes],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (work / ".sops.yaml").write_text("stores:\n    json:\n        indent: 2\n")
    fast_result, typer_result = _both(["decrypt", "secrets.enc.json"], capfdbinary, monkeypatch)
    assert fast_result == typer_result
    assert fast_result[1].startswith(b'{\n  "user"')


def test_decrypt_in_place_and_output_match_typer(files: dict[str, Path], work: Path,
                                                 capfdbinary: pytest.CaptureFixture[bytes],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    results = []
    for entry in (main, main_typer):
        copy = work / "copy.enc.yaml"
        copy.write_bytes(files["enc.yaml"].read_bytes())
        res_in_place = _call(entry, ["decrypt", "-i", "copy.enc.yaml"], capfdbinary, None, monkeypatch)
        res_output = _call(entry, ["decrypt", "--output", "out.yaml", "secrets.enc.yaml"], capfdbinary, None,
                           monkeypatch)
        results.append((res_in_place, copy.read_bytes(), res_output, (work / "out.yaml").read_bytes()))
    assert results[0] == results[1]
    assert results[0][1] == results[0][3]
    assert b"password: hunter2" in results[0][1]


ENCRYPT_CASES: list[list[str]] = [
    ["encrypt", "--age", "{R}", "plain.yaml"],
    ["encrypt", "-a", "{R}", "plain.json"],
    ["encrypt", "--age={R}", "--unencrypted-suffix", "_unencrypted", "plain.yaml"],
    ["encrypt", "--age", "{R}", "--encrypted-regex", "^pass", "plain.yaml"],
    ["encrypt", "--age", "{R}", "--output-type", "json", "plain.yaml"],
    ["encrypt", "--age", "{R}", "--shamir-secret-sharing-threshold", "1", "plain.yaml"],
    ["encrypt", "--age", "{R}", "secrets.enc.yaml"],
    ["encrypt", "--age", "not-a-recipient", "plain.yaml"],
    ["encrypt", "--age", "{R}", "--encryption-context", "bad", "plain.yaml"],
    ["encrypt", "--age", "{R}", "--encrypted-suffix", "_x", "--unencrypted-suffix", "_y", "plain.yaml"],
    ["encrypt", "plain.yaml"],
    ["encrypt", "--age", "{R}", "missing.yaml"],
]


@pytest.mark.parametrize("template", ENCRYPT_CASES, ids=lambda a: " ".join(a))
def test_encrypt_fast_path_matches_typer(template: list[str], files: dict[str, Path], age_env: AgeKey,
                                         capfdbinary: pytest.CaptureFixture[bytes],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    args = [a.replace("{R}", age_env.recipient) for a in template]
    (fast_code, fast_out, fast_err), (typer_code, typer_out, typer_err) = _both(args, capfdbinary, monkeypatch)
    assert (fast_code, fast_err) == (typer_code, typer_err)
    assert bool(fast_out) == bool(typer_out)
    if fast_code == 0:
        # random data keys and IVs: compare what the two encrypted files decrypt to
        fmt = "json" if "json" in args or args[-1].endswith(".json") else "yaml"
        plain = []
        for out in (fast_out, typer_out):
            assert b"ENC[AES256_GCM," in out
            code, data, err = _call(main, ["decrypt", "--input-type", fmt, "-"], capfdbinary, out, monkeypatch)
            assert code == 0, err
            plain.append(data)
        assert plain[0] == plain[1]


def test_encrypt_recipients_from_environment(files: dict[str, Path], age_env: AgeKey,
                                             capfdbinary: pytest.CaptureFixture[bytes],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_AGE_RECIPIENTS", age_env.recipient)
    (fast_code, fast_out, fast_err), (typer_code, _, typer_err) = _both(["encrypt", "plain.yaml"], capfdbinary,
                                                                       monkeypatch)
    assert (fast_code, fast_err) == (typer_code, typer_err) == (0, b"")
    assert age_env.recipient.encode() in fast_out


# --- the parser itself -----------------------------------------------------------------------------------


def test_parse_accepts_common_invocations() -> None:
    assert fast.parse(["decrypt", "f.yaml"], {}) == ("decrypt", {"file": "f.yaml"})
    assert fast.parse(["decrypt", "-i", "f.yaml"], {}) == ("decrypt", {"file": "f.yaml", "in_place": True})
    assert fast.parse(["decrypt", "--output", "o.yaml", "f.yaml"], {}) == (
        "decrypt", {"file": "f.yaml", "output": "o.yaml"})
    assert fast.parse(["encrypt", "--age=age1x", "-"], {}) == ("encrypt", {"file": "-", "age": "age1x"})
    assert fast.parse(["encrypt", "--shamir-secret-sharing-threshold", "2", "f.yaml"], {}) == (
        "encrypt", {"file": "f.yaml", "shamir_secret_sharing_threshold": 2})


def test_parse_takes_environment_variables_like_click() -> None:
    env = {"SOPS_DECRYPTION_ORDER": "pgp,age", "SOPS_CONFIG": "", "SOPS_AGE_RECIPIENTS": "age1env"}
    assert fast.parse(["decrypt", "f.yaml"], env) == ("decrypt", {"file": "f.yaml", "decryption_order": "pgp,age"})
    assert fast.parse(["decrypt", "--decryption-order", "age", "f.yaml"], env) == (
        "decrypt", {"file": "f.yaml", "decryption_order": "age"})
    assert fast.parse(["encrypt", "f.yaml"], env) == ("encrypt", {"file": "f.yaml", "age": "age1env"})
    assert fast.parse(["decrypt", "f.yaml"], {"SOPS_CONFIG": "c.yaml"}) == (
        "decrypt", {"file": "f.yaml", "config": "c.yaml"})


@pytest.mark.parametrize("args", [
    [], ["--version"], ["--help"], ["decrypt"], ["decrypt", "--help"], ["decrypt", "-h", "f.yaml"],
    ["decrypt", "a.yaml", "b.yaml"], ["decrypt", "--", "f.yaml"], ["decrypt", "--bogus", "f.yaml"],
    ["decrypt", "-i", "-i", "f.yaml"], ["decrypt", "--in-place=yes", "f.yaml"], ["decrypt", "--output", "f.yaml"],
    ["decrypt", "--output", "", "f.yaml"], ["decrypt", "--extract", "-x", "f.yaml"], ["decrypt", "", "f.yaml"],
    ["decrypt", "--age", "age1x", "f.yaml"], ["encrypt", "-ia", "age1x", "f.yaml"],
    ["encrypt", "--shamir-secret-sharing-threshold", "two", "f.yaml"],
    ["encrypt", "--shamir-secret-sharing-threshold", "-1", "f.yaml"], ["encrypt", "-a=age1x", "f.yaml"],
    ["filestatus", "f.yaml"], ["keygen"], ["edit", "f.yaml"], ["decrypt", "--verbose", "f.yaml"],
])
def test_parse_leaves_everything_else_to_typer(args: list[str]) -> None:
    assert fast.parse(args, {}) is None


def test_config_search_constants_match_the_policy_module() -> None:
    from psops.policy import CONFIG_NAMES, MAX_SEARCH_DEPTH

    assert fast.CONFIG_NAMES == CONFIG_NAMES
    assert fast.MAX_SEARCH_DEPTH == MAX_SEARCH_DEPTH


def test_every_fast_option_exists_on_the_typer_command() -> None:
    """The fast path knows no option the typer command lacks (names, short forms, environment variables)."""
    from typer.main import get_command

    from psops.cli.app import app

    group = get_command(app)
    for name, table in fast.COMMANDS.items():
        command = group.commands[name]  # type: ignore[attr-defined]
        options = {opt: p for p in command.params for opt in p.opts}
        for spelling, (param, kind, env) in table.items():
            assert spelling in options, (name, spelling)
            p = options[spelling]
            assert p.name == param, (name, spelling)
            assert (p.envvar or "") == env, (name, spelling)
            assert (kind == fast.FLAG) == bool(getattr(p, "is_flag", False)), (name, spelling)
