"""Azure Key Vault files against the real sops binary, both directions, through the local vault stand-in.

sops (Go, azidentity's DefaultAzureCredential) reaches the stand-in as it would reach a real vault: the vault
URL is ``https://127.0.0.1:<port>``, the CA is trusted through ``SSL_CERT_FILE``, and its credential is the
App Service managed identity (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` on the same server), picked alone
with ``AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential``. Any other address would go through a proxy on a
closed loopback port, so nothing leaves the machine even if an SDK tried. psops uses its own client-secret
credentials against the stand-in's authority.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from fixtures.azure_kv import AzureKvServer
from fixtures.loopback import closed_port
from psops import operations
from psops.keys import get_service

PLAIN = b'{\n\t"db_password": "hunter2",\n\t"replicas": 3,\n\t"flags": [\n\t\ttrue,\n\t\t"x"\n\t]\n}\n'


def _sops_env(server: AzureKvServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AZURE_") and k not in ("REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY")}
    dead = f"http://127.0.0.1:{closed_port()}"
    env.update({
        "SSL_CERT_FILE": str(server.ca.ca_file),
        "IDENTITY_ENDPOINT": f"{server.base_url}/msi/token",
        "IDENTITY_HEADER": server.identity_header,
        "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
        "HTTPS_PROXY": dead, "HTTP_PROXY": dead, "https_proxy": dead, "http_proxy": dead,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    return env


def _sops(sops_bin: str, server: AzureKvServer, *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], env=_sops_env(server), cwd=cwd, capture_output=True, timeout=60,
                          check=False)


def test_psops_file_decrypts_with_sops(sops_bin: str, azure_kv_env: AzureKvServer, tmp_path: Path) -> None:
    [key] = get_service("azure_kv").parse_recipients(azure_kv_env.key_url("main"))
    plan = operations.EncryptPlan(key_groups=[[key]])
    path = tmp_path / "psops.json"
    path.write_bytes(operations.encrypt_bytes(PLAIN, plan, input_format="json", output_format="json"))
    before = len(azure_kv_env.calls)
    proc = _sops(sops_bin, azure_kv_env, "decrypt", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == json.loads(PLAIN)
    version = json.loads(path.read_bytes())["sops"]["azure_kv"][0]["version"]
    assert ("POST", f"/keys/main/{version}/decrypt") in azure_kv_env.calls[before:]


def test_sops_file_decrypts_with_psops(sops_bin: str, azure_kv_env: AzureKvServer, tmp_path: Path) -> None:
    path = tmp_path / "sops.json"
    path.write_bytes(PLAIN)
    proc = _sops(sops_bin, azure_kv_env, "encrypt", "--azure-kv", azure_kv_env.key_url("other"), "--in-place",
                 str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    # sops got its token from the managed identity endpoint and asked the vault to encrypt
    assert any(c[1] == "/msi/token" for c in azure_kv_env.calls)
    assert ("POST", f"/keys/other/{azure_kv_env.keys['other'].latest}/encrypt") in azure_kv_env.calls
    data = path.read_bytes()
    [entry] = json.loads(data)["sops"]["azure_kv"]
    # what sops writes is what psops writes: a pinned version and raw base64url of one RSA block
    assert list(entry) == ["vault_url", "name", "version", "created_at", "enc"]
    assert entry["version"] == azure_kv_env.keys["other"].latest
    assert re.fullmatch(r"[A-Za-z0-9_-]+", entry["enc"])
    result = operations.decrypt_bytes(data, input_format="json", output_format="json")
    assert json.loads(result.data) == json.loads(PLAIN)
