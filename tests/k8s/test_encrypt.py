"""``psops k8s encrypt``: the Kubernetes convention by default, refusal to hide metadata, sops reads the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.cli import ENC_RE, assert_clean_error, load_yaml, ok, run
from psops.errors import ManifestCheckFailed
from psops.k8s.encrypt import K8S_ENCRYPTED_REGEX, check_readable, k8s_rules
from psops.selection import EncryptionRules
from psops.tree import from_plain

SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n  labels:\n    app: db\n"
          "type: Opaque\ndata:\n  password: aHVudGVyMg==\nstringData:\n  user: admin\n")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  mode: fast\n"


def load_all(data: bytes) -> list[Any]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe", pure=True).load_all(data) if d is not None]


def test_convention_by_default_and_sops_reads_it(work: Path, age_env: Any, psops_bin: str, sops_bin: str) -> None:
    (work / "secret.yaml").write_text(SECRET + "---\n" + CONFIGMAP)
    out = ok(run(psops_bin, "k8s", "encrypt", "--age", age_env.recipient, "secret.yaml"))
    docs = load_all(out)
    secret = docs[0]
    assert secret["metadata"] == {"name": "db", "namespace": "shop", "labels": {"app": "db"}}
    assert secret["apiVersion"] == "v1" and secret["kind"] == "Secret" and secret["type"] == "Opaque"
    assert ENC_RE.match(secret["data"]["password"]) and ENC_RE.match(secret["stringData"]["user"])
    assert secret["sops"]["encrypted_regex"] == K8S_ENCRYPTED_REGEX
    assert ENC_RE.match(docs[1]["data"]["mode"]) and docs[1]["metadata"] == {"name": "cfg"}
    (work / "enc.yaml").write_bytes(out)
    assert load_all(ok(run(sops_bin, "decrypt", "enc.yaml"))) == load_all((work / "secret.yaml").read_bytes())
    # and back through the pipeline command
    plain = load_all(ok(run(psops_bin, "k8s", "decrypt", "enc.yaml")))
    assert plain == load_all((work / "secret.yaml").read_bytes())


def test_in_place_many_files_and_already_encrypted(work: Path, age_env: Any, psops_bin: str) -> None:
    for name in ("a.yaml", "b.json"):
        (work / name).write_text(SECRET if name.endswith("yaml") else
                                 '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "j"}, '
                                 '"stringData": {"k": "v"}}\n')
    proc = run(psops_bin, "k8s", "encrypt", "-i", "--age", age_env.recipient, "a.yaml", "b.json")
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    assert b"ENC[" in (work / "a.yaml").read_bytes() and b'"sops"' in (work / "b.json").read_bytes()
    assert (work / "a.yaml").stat().st_mode & 0o777 == 0o644  # the file keeps its mode
    docs = load_all(ok(run(psops_bin, "k8s", "decrypt", work)))
    assert {d["metadata"]["name"] for d in docs} == {"db", "j"}
    proc = run(psops_bin, "k8s", "encrypt", "-i", "--age", age_env.recipient, "a.yaml")
    assert_clean_error(proc, 203, names="a.yaml")


def test_creation_rules_apply(work: Path, age_env: Any, psops_bin: str) -> None:
    (work / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: only-data\\.yaml$\n    encrypted_regex: ^data$\n"
                                     f"    age: {age_env.recipient}\n  - age: {age_env.recipient}\n")
    (work / "only-data.yaml").write_text(SECRET)
    (work / "default.yaml").write_text(SECRET)
    ok(run(psops_bin, "k8s", "encrypt", "-i", "only-data.yaml", "default.yaml"))
    chosen = load_yaml((work / "only-data.yaml").read_bytes())
    assert chosen["stringData"] == {"user": "admin"} and chosen["sops"]["encrypted_regex"] == "^data$"
    default = load_yaml((work / "default.yaml").read_bytes())
    assert default["sops"]["encrypted_regex"] == K8S_ENCRYPTED_REGEX  # not sops' _unencrypted default
    assert default["metadata"]["name"] == "db"


@pytest.mark.parametrize("flag", [["--unencrypted-regex", "^password$"], ["--encrypted-regex", "^(metadata|data)$"],
                                  ["--encrypted-suffix", "name"]])
def test_rules_that_would_hide_metadata_are_refused(work: Path, age_env: Any, psops_bin: str,
                                                    flag: list[str]) -> None:
    (work / "s.yaml").write_text(CONFIGMAP + "---\n" + SECRET)
    proc = run(psops_bin, "k8s", "encrypt", "--age", age_env.recipient, *flag, "s.yaml")
    line = assert_clean_error(proc, 73, names="s.yaml (document")
    assert "would encrypt" in line and "Kubernetes tools must read" in line
    assert b"ENC[" not in (work / "s.yaml").read_bytes()


def test_check_readable_unit() -> None:
    doc = [from_plain({"kind": "Secret", "metadata": {"name": "n"}, "data": {"a": "b"}})]
    check_readable(doc, k8s_rules(EncryptionRules()), "f")  # type: ignore[arg-type]
    with pytest.raises(ManifestCheckFailed, match=r"Secret n: the selection rule would encrypt metadata\.name"):
        check_readable(doc, EncryptionRules(encrypted_regex="^(metadata|data)$"), "f")  # type: ignore[arg-type]
    with pytest.raises(ManifestCheckFailed, match=r"would encrypt (apiVersion|kind)"):
        check_readable(doc, EncryptionRules(), "f")  # type: ignore[arg-type]
    # documents that are not Kubernetes objects are not judged
    check_readable([from_plain({"metadata": {"x": 1}})], EncryptionRules(), "f")  # type: ignore[list-item]
    assert k8s_rules(EncryptionRules(mac_only_encrypted=True)).mac_only_encrypted
    assert k8s_rules(EncryptionRules(encrypted_suffix="_enc")).encrypted_suffix == "_enc"


def test_mac_only_encrypted_lets_tools_edit_metadata(work: Path, age_env: Any, psops_bin: str,
                                                     sops_bin: str) -> None:
    from psops.errors import DecryptError, MacMismatch
    from psops.k8s.decrypt import decrypt_source

    (work / "s.yaml").write_text(SECRET)
    ok(run(psops_bin, "k8s", "encrypt", "-i", "--mac-only-encrypted", "--age", age_env.recipient, "s.yaml"))
    data = (work / "s.yaml").read_bytes()
    assert b"mac_only_encrypted: true" in data
    assert load_yaml(ok(run(sops_bin, "decrypt", "s.yaml")))["stringData"] == {"user": "admin"}
    # what kustomize does to metadata (a namespace, a label) keeps the MAC valid ...
    edited = data.replace(b"namespace: shop", b"namespace: shop-prod").replace(b"app: db", b"app: db-v2")
    docs, _ = decrypt_source("s.yaml", edited)
    assert load_yaml(docs[0].text)["metadata"]["namespace"] == "shop-prod"
    # ... a dropped secret value does not
    dropped = b"".join(line for line in data.splitlines(keepends=True) if not line.lstrip().startswith(b"user:"))
    with pytest.raises((MacMismatch, DecryptError)):
        decrypt_source("s.yaml", dropped)
    # without it, the same metadata edit is caught, with a hint towards the option
    (work / "full.yaml").write_text(SECRET)
    ok(run(psops_bin, "k8s", "encrypt", "-i", "--age", age_env.recipient, "full.yaml"))
    with pytest.raises(MacMismatch) as info:
        decrypt_source("full.yaml", (work / "full.yaml").read_bytes().replace(b"namespace: shop", b"namespace: x"))
    assert info.value.hint and "--mac-only-encrypted" in info.value.hint
