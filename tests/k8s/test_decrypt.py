"""``psops k8s decrypt`` on the generated tree (200 Secrets, sops- and psops-encrypted, multi-document files),
plus the rules for single streams: units, filters, JSON, --ignore-mac, --output-dir."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from fixtures.cli import assert_clean_error, load_yaml, ok, run
from psops.errors import CannotReadInput, MacMismatch
from psops.k8s.decrypt import DecryptOptions, decrypt_source, render_stream
from psops.k8s.stream import split_stream


def load_stream(data: bytes) -> list[Any]:
    """The documents of a stream, as a user's YAML library reads them."""
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe", pure=True).load_all(data) if d is not None]


def secrets_by_name(docs: list[Any]) -> dict[tuple[str, str], Any]:
    return {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d.get("kind") == "Secret"}


def test_tree_stream_holds_every_document_decrypted(k8s_tree: Any, age_env: Any, psops_bin: str) -> None:
    out = ok(run(psops_bin, "k8s", "decrypt", k8s_tree.root))
    docs = load_stream(out)
    assert len(docs) == k8s_tree.documents
    assert len(k8s_tree.secrets) == 200 and len(k8s_tree.sops_files) >= 30 and len(k8s_tree.psops_files) >= 100
    # decrypted Secrets equal the originals, exactly
    assert secrets_by_name(docs) == k8s_tree.secrets
    # no SOPS metadata or ciphertext survives
    assert all("sops" not in d for d in docs)
    assert b"ENC[" not in out and b"sops:" not in out
    # every other document is passed through byte for byte
    for raw in k8s_tree.plain_documents:
        assert raw in out
    # documents come in sorted path order: namespaces.yaml (the last top-level entry) ends the stream
    assert [d["kind"] for d in docs[-3:]] == ["Namespace"] * 3


def test_sops_and_psops_files_decrypt_the_same_as_sops(k8s_tree: Any, age_env: Any, psops_bin: str,
                                                       sops_bin: str) -> None:
    bundles = [p for p in k8s_tree.encrypted_files if p.name.startswith("bundle")]
    sops_bundle = next(p for p in bundles if p in k8s_tree.sops_files)
    psops_bundle = next(p for p in bundles if p in k8s_tree.psops_files)
    for path in (sops_bundle, psops_bundle):
        ours = load_stream(ok(run(psops_bin, "k8s", "decrypt", path)))
        theirs = load_stream(ok(run(sops_bin, "decrypt", path)))
        assert ours == theirs, path
    assert len(load_stream(ok(run(psops_bin, "k8s", "decrypt", psops_bundle)))) == 3


def test_tampered_secret_fails_the_run_naming_its_path(k8s_tree_copy: Path, age_env: Any, psops_bin: str) -> None:
    victim = sorted(k8s_tree_copy.rglob("secret-0*.yaml"))[3]
    text = victim.read_text()
    moved = re.sub(r"(?m)^(    namespace: )team-\w+$", r"\1kube-system", text)
    assert moved != text
    victim.write_text(moved)  # a reviewer would not notice: metadata stays readable
    proc = run(psops_bin, "k8s", "decrypt", k8s_tree_copy)
    line = assert_clean_error(proc, 51, names=str(victim.relative_to(k8s_tree_copy)))
    assert "MAC mismatch" in line
    # --ignore-mac is an explicit choice, and it warns
    proc = run(psops_bin, "k8s", "decrypt", "--ignore-mac", victim)
    assert proc.returncode == 0 and b"kube-system" in proc.stdout
    assert b"MAC was not checked" in proc.stderr


def test_ciphertext_swapped_between_files_fails(k8s_tree_copy: Path, age_env: Any, psops_bin: str) -> None:
    a, b = sorted(k8s_tree_copy.rglob("secret-*.yaml"))[:2]
    enc_a = re.search(r"password: (ENC\[[^\]]+\])", a.read_text())
    assert enc_a
    b.write_text(re.sub(r"password: ENC\[[^\]]+\]", f"password: {enc_a.group(1)}", b.read_text()))
    proc = run(psops_bin, "k8s", "decrypt", b.parent)
    assert_clean_error(proc, None, names=b.name)


def test_only_kind_and_skip_kind(k8s_tree: Any, age_env: Any, psops_bin: str) -> None:
    docs = load_stream(ok(run(psops_bin, "k8s", "decrypt", "--only-kind", "Secret", k8s_tree.root)))
    assert len(docs) == 200 and {d["kind"] for d in docs} == {"Secret"}
    docs = load_stream(ok(run(psops_bin, "k8s", "decrypt", "--skip-kind", "Secret,ConfigMap",
                              "--skip-kind", "Namespace", k8s_tree.root / "apps" / "app-01")))
    assert sorted(d["kind"] for d in docs) == ["Deployment", "Service"]


def test_output_dir_mirrors_the_tree_privately(k8s_tree: Any, age_env: Any, psops_bin: str,
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run(psops_bin, "k8s", "decrypt", "--output-dir", out, k8s_tree.root)
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(written) == len(k8s_tree.encrypted_files) + len(k8s_tree.plain_files)
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (p for p in out.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    sample = k8s_tree.psops_files[0]
    mirrored = out / sample.relative_to(k8s_tree.root)
    assert secrets_by_name(load_stream(mirrored.read_bytes())).items() <= k8s_tree.secrets.items()
    plain = k8s_tree.plain_files[1]
    assert (out / plain.relative_to(k8s_tree.root)).read_bytes() == plain.read_bytes()
    # plaintext must not land inside the input tree
    proc = run(psops_bin, "k8s", "decrypt", "--output-dir", k8s_tree.root / "apps" / "decrypted", k8s_tree.root)
    assert_clean_error(proc, 8, names="decrypted")


def test_stdin_stream(age_env: Any, psops_bin: str, k8s_tree: Any) -> None:
    data = k8s_tree.sops_files[0].read_bytes()
    out = ok(run(psops_bin, "k8s", "decrypt", stdin=data))
    assert secrets_by_name(load_stream(out)).items() <= k8s_tree.secrets.items()
    out = ok(run(psops_bin, "k8s", "decrypt", "-", stdin=b"kind: ConfigMap\nmetadata: {name: a}\n"))
    assert out == b"kind: ConfigMap\nmetadata: {name: a}\n"


# --- one stream, in-process ---------------------------------------------------------------------------------


@pytest.fixture
def enc(age_env: Any) -> Any:
    """Encrypt a manifest stream in-process (k8s convention) for the test's age key."""
    from psops.k8s.encrypt import encrypt_manifest
    from psops.keys.base import KeyStanza
    from psops.operations import EncryptPlan

    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": age_env.recipient})]])

    def encrypt(text: str, fmt: str = "yaml") -> bytes:
        return encrypt_manifest(text.encode(), plan, fmt=fmt, where="test")

    return encrypt


SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  password: {value}\n"


def test_independently_encrypted_documents_in_one_stream(enc: Any) -> None:
    stream = b"".join([enc(SECRET.format(name="a", value="one")), b"---\nkind: ConfigMap\nmetadata: {name: c}\n",
                       b"---\n", enc(SECRET.format(name="b", value="two"))])
    assert len(split_stream(stream)) == 3
    docs, warnings = decrypt_source("joined.yaml", stream)
    plain = [load_yaml(d.text) for d in docs]
    assert [d["metadata"]["name"] for d in plain] == ["a", "c", "b"]
    assert plain[0]["stringData"] == {"password": "one"} and plain[2]["stringData"] == {"password": "two"}
    assert [d.decrypted for d in docs] == [True, False, True] and warnings == []


def test_mac_is_checked_per_unit_and_names_the_document(enc: Any) -> None:
    good = enc(SECRET.format(name="a", value="one"))
    bad = enc(SECRET.format(name="b", value="two")).replace(b"name: b", b"name: x")
    stream = good + b"---\n" + bad
    with pytest.raises(MacMismatch) as info:
        decrypt_source("joined.yaml", stream)
    assert info.value.path == "joined.yaml (document 2)"
    docs, warnings = decrypt_source("joined.yaml", stream, DecryptOptions(ignore_mac=True))
    assert load_yaml(docs[1].text)["metadata"]["name"] == "x"
    assert [w.split(":")[0] for w in warnings] == ["joined.yaml (document 1)", "joined.yaml (document 2)"]
    assert all("MAC was not checked" in w for w in warnings)


def test_multi_document_file_is_one_unit(enc: Any) -> None:
    data = enc(SECRET.format(name="a", value="1x") + "---\n" + SECRET.format(name="b", value="2y"))
    assert data.count(b"\nsops:\n") == 2
    docs, _ = decrypt_source("both.yaml", data)
    assert [load_yaml(d.text)["stringData"]["password"] for d in docs] == ["1x", "2y"]
    # dropping one document of the unit breaks its MAC
    first = split_stream(data)[0].text
    with pytest.raises(MacMismatch) as info:
        decrypt_source("both.yaml", first)
    assert info.value.path == "both.yaml"


def test_json_manifests(enc: Any) -> None:
    text = '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "j"}, "stringData": {"k": "v"}}'
    data = enc(text, "json")
    docs, _ = decrypt_source("s.json", data)
    assert load_yaml(docs[0].text)["stringData"] == {"k": "v"}
    plain = b'{"kind": "ConfigMap", "metadata": {"name": "p"}}\n'
    docs, _ = decrypt_source("p.json", plain)
    assert docs[0].text == plain
    # guessed from the first byte on stdin
    docs, _ = decrypt_source("-", data)
    assert docs[0].decrypted


def test_filters_skip_units_they_do_not_need(enc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data = enc(SECRET.format(name="a", value="one")) + b"---\nkind: ConfigMap\nmetadata: {name: c}\n"
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")  # no key: a Secret must not even be opened
    docs, _ = decrypt_source("f.yaml", data, DecryptOptions(only_kinds=frozenset({"ConfigMap"})))
    assert [d.ref.name for d in docs] == ["c"]


def test_invalid_documents_are_named(age_env: Any) -> None:
    with pytest.raises(CannotReadInput) as info:
        decrypt_source("bad.yaml", b"kind: A\n---\nkind: [unclosed\n")
    assert info.value.path == "bad.yaml (document 2)"
    with pytest.raises(CannotReadInput) as info:
        decrypt_source("list.yaml", b"- a\n- b\n")
    assert info.value.path == "list.yaml"


def test_render_stream_separates_documents(enc: Any) -> None:
    from psops.k8s.decrypt import SourceResult
    from psops.k8s.walk import InputFile

    docs, _ = decrypt_source("a.yaml", b"kind: A\nmetadata: {name: a}")  # no final newline
    docs2, _ = decrypt_source("b.yaml", b"kind: B\nmetadata: {name: b}\n")
    stream = render_stream([SourceResult(InputFile("a.yaml", None, Path("a.yaml")), docs),  # type: ignore[arg-type]
                            SourceResult(InputFile("b.yaml", None, Path("b.yaml")), docs2)])  # type: ignore[arg-type]
    assert stream == b"kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n"
