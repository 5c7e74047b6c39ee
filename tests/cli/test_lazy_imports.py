"""psops imports heavy or optional libraries only when a file needs them.

Decrypting an age-encrypted file must not load any cloud SDK, gRPC, python-gnupg or GitPython, and
``psops --version`` must not even load the CLI framework (typer/click) or the YAML library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import describe, ok, run

if TYPE_CHECKING:
    from conftest import AgeKey

FORBIDDEN_FOR_AGE_DECRYPT = ["boto3", "botocore", "google.cloud", "grpc", "gnupg", "azure", "hvac", "git"]
FORBIDDEN_FOR_VERSION = ["typer", "click", "ruamel"]

PLAIN = {
    "json": '{"user": "admin", "password": "hunter2", "nested": {"token": "t0k3n"}}\n',
    "yaml": "user: admin\npassword: hunter2\nnested:\n    token: t0k3n\n",
}

# Decrypt in-process through the CLI entry point, then record every module loaded.
_DECRYPT_AND_LIST = """
import json, sys
from psops.cli import main
rc = main(["decrypt", sys.argv[1]])
sys.stdout.flush()
with open(sys.argv[2], "w") as fh:
    json.dump(sorted(sys.modules), fh)
raise SystemExit(rc)
"""

_VERSION_AND_LIST = """
import json, sys
from psops.cli import main
rc = main(["--version"])
sys.stdout.write(json.dumps(sorted(sys.modules)) + "\\n")
raise SystemExit(rc)
"""


def _hits(modules: list[str], forbidden: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_age_decrypt_loads_no_cloud_gpg_or_git_module(fmt: str, age_env: AgeKey, work: Path,
                                                      sops_bin: str) -> None:
    plain = work / f"plain.{fmt}"
    plain.write_text(PLAIN[fmt])
    enc = work / f"enc.{fmt}"
    enc.write_bytes(ok(run(sops_bin, "encrypt", "--age", age_env.recipient, plain)))
    modules_file = work / "modules.json"

    proc = run(sys.executable, "-c", _DECRYPT_AND_LIST, enc, modules_file)
    assert ok(proc) == ok(run(sops_bin, "decrypt", enc)), describe(proc)
    modules = json.loads(modules_file.read_text())
    assert "psops.keys.age" in modules or "pyrage" in modules  # the age path really ran
    assert _hits(modules, FORBIDDEN_FOR_AGE_DECRYPT) == []


def test_version_in_process_loads_no_cli_framework_or_yaml() -> None:
    proc = run(sys.executable, "-c", _VERSION_AND_LIST)
    first, modules_line = ok(proc).decode().splitlines()
    assert first.startswith("psops ")
    assert _hits(json.loads(modules_line), FORBIDDEN_FOR_VERSION) == []


def test_version_importtime_shows_no_cli_framework_or_yaml() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "psops", "--version"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("psops ")
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:") and "|" in line]
    assert "psops" in imported  # the report is really there
    assert _hits(imported, FORBIDDEN_FOR_VERSION) == []
