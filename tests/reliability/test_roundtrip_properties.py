"""Property tests: random documents come back unchanged through psops, psops-then-sops and sops-then-psops.

For every format a random tree in that format's domain (tests/fixtures/strategies.py: nested mappings and
lists, unicode keys and values, every scalar type, comment lines; any bytes for binary) is written as
plaintext, encrypted and decrypted. What comes back must be the data the plaintext holds (as psops' store
for the format reads it): byte for byte for binary files. The sops properties run the real ``sops`` binary
once per direction per example, so they take fewer examples; ``PSOPS_FUZZ_EXAMPLES=N`` raises every budget
(docs/limits.md, "Long runs").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fixtures.reliability import cli, examples
from fixtures.strategies import BRANCHES, normalized, yaml_branches, yaml_comparable
from psops.formats import get_store
from psops.tree import Mapping

if TYPE_CHECKING:
    import pytest

    from conftest import AgeKey

TEXT_FORMATS = ("yaml", "json", "dotenv", "ini")
_EXT = {"yaml": ".yaml", "json": ".json", "dotenv": ".env", "ini": ".ini", "binary": ".bin"}
_SETTINGS: Any = {"deadline": None,
                  "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large]}
# With sops in the loop every shrinking step runs sops twice: the bounded default run reports the failing
# example as found; long runs (PSOPS_FUZZ_EXAMPLES) shrink it.
_SOPS_SETTINGS: Any = {**_SETTINGS, "phases": tuple(Phase) if os.environ.get("PSOPS_FUZZ_EXAMPLES") else
                       (Phase.explicit, Phase.reuse, Phase.generate)}


def comparable(fmt: str, branch: Mapping) -> Any:
    """A branch's data for comparison (YAML comment lines by order, not by level: yaml_comparable)."""
    return yaml_comparable(branch) if fmt == "yaml" else normalized(branch)


def plaintext(fmt: str, branch: Mapping) -> tuple[bytes, Any]:
    """The plaintext file for ``branch`` and the data psops' store reads back from it."""
    store = get_store(fmt)
    data = store.dump([branch])
    return data, [comparable(fmt, b) for b in store.load(data)]


def read_back(fmt: str, data: bytes) -> Any:
    """What a decrypted file holds, for comparison with :func:`plaintext`'s reading."""
    return [comparable(fmt, b) for b in get_store(fmt).load(data)]


def psops_encrypt(fmt: str, data: bytes, recipient: str) -> bytes:
    """Encrypt plaintext bytes with psops (in-process CLI, standard input)."""
    result = cli("encrypt", "--age", recipient, "--input-type", fmt, "--output-type", fmt, "-", stdin=data)
    assert result.code == 0, result.describe(["encrypt", fmt])
    return result.out


def psops_decrypt(fmt: str, data: bytes) -> bytes:
    """Decrypt bytes with psops (in-process CLI, standard input)."""
    result = cli("decrypt", "--input-type", fmt, "--output-type", fmt, "-", stdin=data)
    assert result.code == 0, result.describe(["decrypt", fmt])
    return result.out


def sops_start(sops_bin: str, command: str, fmt: str, path: Path) -> subprocess.Popen[bytes]:
    """Start ``sops encrypt|decrypt`` on ``path`` (age key from the environment)."""
    extra = ["--age", Path(path.parent / "recipient").read_text()] if command == "encrypt" else []
    return subprocess.Popen([sops_bin, command, *extra, "--input-type", fmt, "--output-type", fmt, str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def sops_result(proc: subprocess.Popen[bytes]) -> bytes:
    """Wait for a started sops; its stdout (a failure fails the test with sops' message)."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"{proc.args}: exit {proc.returncode}\n{err.decode(errors='replace')}"
    return out


def sops(sops_bin: str, command: str, fmt: str, path: Path) -> bytes:
    """Run ``sops encrypt|decrypt`` on ``path``; return stdout."""
    return sops_result(sops_start(sops_bin, command, fmt, path))


def _sops_workspace(tmp_path: Path, recipient: str) -> Path:
    folder = tmp_path / "sops-io"
    folder.mkdir(exist_ok=True)
    (folder / "recipient").write_text(recipient)
    return folder


# --- psops alone ---

def _psops_round_trip(fmt: str, branch: Mapping, recipient: str) -> None:
    data, expected = plaintext(fmt, branch)
    encrypted = psops_encrypt(fmt, data, recipient)
    assert read_back(fmt, psops_decrypt(fmt, encrypted)) == expected


@settings(max_examples=examples(40), **_SETTINGS)
@given(branch=BRANCHES["yaml"]())
def test_yaml_round_trips_through_psops(branch: Mapping, age_env: AgeKey) -> None:
    _psops_round_trip("yaml", branch, age_env.recipient)


@settings(max_examples=examples(40), **_SETTINGS)
@given(branch=BRANCHES["json"]())
def test_json_round_trips_through_psops(branch: Mapping, age_env: AgeKey) -> None:
    _psops_round_trip("json", branch, age_env.recipient)


@settings(max_examples=examples(40), **_SETTINGS)
@given(branch=BRANCHES["dotenv"]())
def test_dotenv_round_trips_through_psops(branch: Mapping, age_env: AgeKey) -> None:
    _psops_round_trip("dotenv", branch, age_env.recipient)


@settings(max_examples=examples(40), **_SETTINGS)
@given(branch=BRANCHES["ini"]())
def test_ini_round_trips_through_psops(branch: Mapping, age_env: AgeKey) -> None:
    _psops_round_trip("ini", branch, age_env.recipient)


@settings(max_examples=examples(40), **_SETTINGS)
@given(blob=st.binary(max_size=512))
def test_binary_round_trips_through_psops_byte_for_byte(blob: bytes, age_env: AgeKey) -> None:
    assert psops_decrypt("binary", psops_encrypt("binary", blob, age_env.recipient)) == blob


# --- with the real sops, both directions (two sops runs per example) ---

def _with_sops(fmt: str, branch: Mapping, recipient: str, sops_bin: str, folder: Path) -> None:
    data, expected = plaintext(fmt, branch)
    theirs = folder / f"plain{_EXT[fmt]}"
    theirs.write_bytes(data)
    sealing = sops_start(sops_bin, "encrypt", fmt, theirs)  # both sops runs overlap with psops' work
    ours = folder / f"psops{_EXT[fmt]}"
    ours.write_bytes(psops_encrypt(fmt, data, recipient))
    opening = sops_start(sops_bin, "decrypt", fmt, ours)
    assert read_back(fmt, psops_decrypt(fmt, sops_result(sealing))) == expected, "sops -> psops changed the data"
    assert read_back(fmt, sops_result(opening)) == expected, "psops -> sops changed the data"


@settings(max_examples=examples(12), **_SOPS_SETTINGS)
@given(branch=yaml_branches(list_comments=False))
def test_yaml_round_trips_between_psops_and_sops(branch: Mapping, age_env: AgeKey, sops_bin: str,
                                                  tmp_path: Path) -> None:
    _with_sops("yaml", branch, age_env.recipient, sops_bin, _sops_workspace(tmp_path, age_env.recipient))


@settings(max_examples=examples(12), **_SOPS_SETTINGS)
@given(branch=BRANCHES["json"]())
def test_json_round_trips_between_psops_and_sops(branch: Mapping, age_env: AgeKey, sops_bin: str,
                                                  tmp_path: Path) -> None:
    _with_sops("json", branch, age_env.recipient, sops_bin, _sops_workspace(tmp_path, age_env.recipient))


@settings(max_examples=examples(12), **_SOPS_SETTINGS)
@given(branch=BRANCHES["dotenv"]())
def test_dotenv_round_trips_between_psops_and_sops(branch: Mapping, age_env: AgeKey, sops_bin: str,
                                                    tmp_path: Path) -> None:
    _with_sops("dotenv", branch, age_env.recipient, sops_bin, _sops_workspace(tmp_path, age_env.recipient))


@settings(max_examples=examples(12), **_SOPS_SETTINGS)
@given(branch=BRANCHES["ini"]())
def test_ini_round_trips_between_psops_and_sops(branch: Mapping, age_env: AgeKey, sops_bin: str,
                                                 tmp_path: Path) -> None:
    _with_sops("ini", branch, age_env.recipient, sops_bin, _sops_workspace(tmp_path, age_env.recipient))


@settings(max_examples=examples(12), **_SOPS_SETTINGS)
@given(blob=st.binary(max_size=512))
def test_binary_round_trips_between_psops_and_sops(blob: bytes, age_env: AgeKey, sops_bin: str,
                                                    tmp_path: Path) -> None:
    folder = _sops_workspace(tmp_path, age_env.recipient)
    theirs = folder / "plain.bin"
    theirs.write_bytes(blob)
    sealing = sops_start(sops_bin, "encrypt", "binary", theirs)
    ours = folder / "psops.bin"
    ours.write_bytes(psops_encrypt("binary", blob, age_env.recipient))
    assert sops(sops_bin, "decrypt", "binary", ours) == blob
    assert psops_decrypt("binary", sops_result(sealing)) == blob


def test_budget_env_var_is_documented(pytestconfig: pytest.Config) -> None:
    """The long-run command in docs/limits.md uses the variable this suite reads."""
    limits = (pytestconfig.rootpath / "docs" / "limits.md").read_text()
    assert "PSOPS_FUZZ_EXAMPLES=" in limits
