"""Checks on decrypted Secrets (base64 data, string stringData) and duplicate Secrets across an output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.cli import assert_clean_error, run
from psops.errors import ManifestCheckFailed
from psops.k8s.checks import ObjectRef, check_duplicates, check_secret, object_ref


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, **fields}


def test_valid_secret_passes() -> None:
    check_secret(secret(data={"a": "aHVudGVyMg==", "b": "", "pem": "LS0t\nLS0t\n"}, stringData={"u": "x"}), "f")


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"data": {"password": "not base64!"}}, "data key 'password' is not valid base64"),
    ({"data": {"password": "aHVudGVyMg"}}, "data key 'password' is not valid base64"),  # padding missing
    ({"data": {"port": 5432}}, "data key 'port' is not a string"),
    ({"stringData": {"port": 5432}}, "stringData key 'port' is a number, not a string"),
    ({"stringData": {"on": True}}, "stringData key 'on' is a boolean"),
    ({"stringData": {"x": None}}, "stringData key 'x' is a null"),
    ({"data": ["a"]}, "'data' is not a mapping"),
])
def test_bad_secret_names_the_key_never_the_value(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ManifestCheckFailed) as info:
        check_secret(secret(**fields), "apps/db.yaml")
    assert info.value.path == "apps/db.yaml" and fragment in info.value.message
    assert "Secret shop/db" in info.value.message
    assert "not base64!" not in str(info.value) and "5432" not in str(info.value)


def test_duplicates() -> None:
    a = ObjectRef("Secret", "db", "shop")
    check_duplicates([(a, "x.yaml"), (ObjectRef("Secret", "db", "other"), "y.yaml"),
                      (ObjectRef("ConfigMap", "db", "shop"), "z.yaml")])
    with pytest.raises(ManifestCheckFailed) as info:
        check_duplicates([(a, "x.yaml"), (ObjectRef("Secret", "db", "shop"), "y.yaml")])
    assert info.value.path == "y.yaml" and "also defined in x.yaml" in info.value.message
    assert object_ref({"kind": "Secret", "metadata": {"name": "n"}}).label() == "Secret n"
    assert object_ref([1]).label() == "document"


def test_cli_refuses_bad_decrypted_secret_and_duplicates(age_env: Any, psops_bin: str, sops_bin: str,
                                                        tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  port: 5432\n")
    ok = run(sops_bin, "encrypt", "--age", age_env.recipient, "--encrypted-regex", "^(data|stringData)$", "-i",
             bad)
    assert ok.returncode == 0, ok.stderr
    proc = run(psops_bin, "k8s", "decrypt", bad)
    assert_clean_error(proc, 73, names="stringData key 'port'")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (tree / name).write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: same}\n")
    proc = run(psops_bin, "k8s", "decrypt", tree)
    line = assert_clean_error(proc, 73, names="b.yaml")
    assert "duplicate Secret same" in line and "a.yaml" in line
