"""Local keys are tried before network ones: ``psops decrypt`` of a file whose group lists an age key, a
KMS key and a Vault key opens it with age and never imports boto3 or hvac (nor contacts the services).

The case runs psops' CLI entry point in a fresh interpreter and reports which heavy modules ended up in
``sys.modules`` (on stderr, so the decrypted output stays on stdout).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fixtures.cli import describe, ok, run

if TYPE_CHECKING:
    from conftest import AgeKey

HEAVY = ("boto3", "botocore", "hvac", "requests", "gnupg", "google.cloud.kms", "grpc", "azure.keyvault.keys",
         "azure.identity")

_PROBE = (
    "import json, sys\n"
    "from psops.cli import main\n"
    "code = main(['decrypt', sys.argv[1]])\n"
    f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
    "sys.stderr.write('HEAVY=' + json.dumps(heavy) + '\\n')\n"
    "raise SystemExit(code)\n"
)


def _decrypt_and_list_heavy_modules(path: Path) -> tuple[bytes, list[str]]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, describe(proc)
    line = [x for x in proc.stderr.decode().splitlines() if x.startswith("HEAVY=")]
    assert line, describe(proc)
    return proc.stdout, json.loads(line[-1].removeprefix("HEAVY="))


def test_age_key_is_tried_before_kms_and_vault_keys_of_the_same_group(age_env: AgeKey, work: Path,
                                                                        psops_bin: str) -> None:
    (work / "plain.json").write_text('{"token": "t0k3n"}')
    enc = work / "secrets.json"
    enc.write_bytes(ok(run(psops_bin, "encrypt", "--age", age_env.recipient, "plain.json")))
    doc = json.loads(enc.read_text())
    # Add network keys to the group (as a second recipient list would); they are never contacted.
    doc["sops"]["kms"] = [{"arn": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
                           "created_at": "2024-01-01T00:00:00Z", "enc": "AAAA", "aws_profile": ""}]
    doc["sops"]["hc_vault"] = [{"vault_address": "http://127.0.0.1:9", "engine_path": "transit",
                                "key_name": "k", "created_at": "2024-01-01T00:00:00Z", "enc": "vault:v1:AAAA"}]
    enc.write_text(json.dumps(doc, indent="\t"))
    out, heavy = _decrypt_and_list_heavy_modules(enc)
    assert json.loads(out) == {"token": "t0k3n"}
    assert heavy == []
