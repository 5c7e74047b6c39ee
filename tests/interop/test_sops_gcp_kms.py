"""GCP Cloud KMS files against the real sops binary, both directions, through the local KMS stand-in.

sops 3.11 has no endpoint override, so it talks to ``cloudkms.googleapis.com:443`` as usual, through
``HTTPS_PROXY``: a CONNECT proxy on 127.0.0.1 that routes exactly that host to the stand-in's TLS port and
refuses anything else (gRPC-Go sends the host name to the proxy without resolving it, so no DNS query is
made). The stand-in's certificate names cloudkms.googleapis.com and is trusted through ``SSL_CERT_FILE``;
sops authenticates with ``GOOGLE_OAUTH_ACCESS_TOKEN``. psops reaches the same stand-in directly.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.connect_proxy import ConnectProxy, connect_proxy
from fixtures.gcp_kms import PUBLIC_HOST, GcpKmsServer, resource_id
from psops import operations
from psops.keys import reset_services
from psops.keys.base import KeyStanza

PLAIN = b'{\n\t"db_password": "hunter2",\n\t"replicas": 3,\n\t"nested": {\n\t\t"token": "s3cr3t"\n\t}\n}\n'


@pytest.fixture
def kms_proxy(gcp_kms_server: GcpKmsServer) -> Iterator[ConnectProxy]:
    """A CONNECT proxy that sends cloudkms.googleapis.com:443 to the stand-in's TLS port."""
    port = int(gcp_kms_server.tls_endpoint.rsplit(":", 1)[1])
    with connect_proxy({f"{PUBLIC_HOST}:443": ("127.0.0.1", port)}) as proxy:
        yield proxy


def _sops(sops_bin: str, server: GcpKmsServer, proxy: ConnectProxy, *args: str,
          cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "SOPS_GCP_", "PSOPS_GCP_"))}
    env.update({
        "GOOGLE_OAUTH_ACCESS_TOKEN": server.access_token,
        "SOPS_GCP_KMS_CLIENT_TYPE": "grpc",
        "SSL_CERT_FILE": str(server.ca.ca_file),
        "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url, "HTTP_PROXY": proxy.url, "http_proxy": proxy.url,
        "NO_PROXY": "", "no_proxy": "",
    })
    return subprocess.run([sops_bin, *args], env=env, cwd=cwd, capture_output=True, timeout=60, check=False)


def test_psops_file_decrypts_with_sops(sops_bin: str, gcp_kms_env: GcpKmsServer, kms_proxy: ConnectProxy,
                                       tmp_path: Path) -> None:
    plan = operations.EncryptPlan(key_groups=[[KeyStanza("gcp_kms", {"resource_id": resource_id("main")})]])
    path = tmp_path / "psops.json"
    path.write_bytes(operations.encrypt_bytes(PLAIN, plan, input_format="json", output_format="json"))
    before = len(gcp_kms_env.calls)
    proc = _sops(sops_bin, gcp_kms_env, kms_proxy, "decrypt", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == json.loads(PLAIN)
    assert gcp_kms_env.calls[before:] == [("Decrypt", resource_id("main"), b"")]
    assert set(kms_proxy.requested) == {f"{PUBLIC_HOST}:443"}


def test_sops_file_decrypts_with_psops(sops_bin: str, gcp_kms_env: GcpKmsServer, kms_proxy: ConnectProxy,
                                       tmp_path: Path) -> None:
    path = tmp_path / "sops.json"
    path.write_bytes(PLAIN)
    before = len(gcp_kms_env.calls)
    proc = _sops(sops_bin, gcp_kms_env, kms_proxy, "encrypt", "--gcp-kms", resource_id("other"), "--in-place",
                 str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    # sops calls Encrypt with the resource id and no AAD, and stores the ciphertext as standard base64
    assert gcp_kms_env.calls[before:] == [("Encrypt", resource_id("other"), b"")]
    data = path.read_bytes()
    [entry] = json.loads(data)["sops"]["gcp_kms"]
    assert list(entry) == ["resource_id", "created_at", "enc"] and entry["resource_id"] == resource_id("other")
    reset_services()
    result = operations.decrypt_bytes(data, input_format="json", output_format="json")
    assert json.loads(result.data) == json.loads(PLAIN)
