"""Every selection-rule switch, multi-document YAML, timestamps, empty documents and age-only Shamir groups,
written by psops and by the real sops from the same ``.sops.yaml``, each read back by the other tool.

For each case both tools encrypt the same plaintext under the same rule: the encrypted files must have the
same shape (which leaves and comments are ciphertext, with which type tag and length, which stay clear), and
each tool must decrypt the other's file to exactly the bytes the other tool prints.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import AgeKey
from fixtures.cli import ENC_RE, ok, run
from psops.formats.yaml_store import YamlStore
from psops.tree import Comment, Mapping, Value

SAMPLE = """\
# top comment
user: admin
password: hunter2
# sops:enc
api_key: k3y
token_secret: t0k3n
db:
    # sops:enc
    host: db.local
    password_unencrypted: clear
    port: 5432
    ratio: 0.5
    enabled: true
    created: 2024-01-02T10:00:00Z
    hosts:
        - a
        - b
# sops:nocrypt
note: readable
"""

RULES = {
    "default": "",
    "unencrypted_suffix": "unencrypted_suffix: _unencrypted",
    "encrypted_suffix": "encrypted_suffix: _secret",
    "unencrypted_regex": "unencrypted_regex: ^(user|note|host)$",
    "encrypted_regex": "encrypted_regex: ^(password|api_key)$",
    "encrypted_comment_regex": "encrypted_comment_regex: sops:enc",
    "unencrypted_comment_regex": "unencrypted_comment_regex: sops:nocrypt",
    "mac_only_encrypted": "mac_only_encrypted: true",
}


@dataclass
class Pair:
    """The same plaintext encrypted by psops and by sops under one rule."""

    work: Path
    psops_bin: str
    sops_bin: str
    psops_file: Path
    sops_file: Path


def _config(age: AgeKey, rule: str) -> str:
    extra = f"    {rule}\n" if rule else ""
    return f"creation_rules:\n  - path_regex: \\.yaml$\n    age: {age.recipient}\n{extra}"


def _encrypt_both(work: Path, psops_bin: str, sops_bin: str, age: AgeKey, rule: str, text: str,
                  name: str = "plain.yaml") -> Pair:
    (work / ".sops.yaml").write_text(_config(age, rule))
    (work / name).write_text(text)
    psops_file = work / f"psops.{name}"
    sops_file = work / f"sops.{name}"
    psops_file.write_bytes(ok(run(psops_bin, "encrypt", name, cwd=work)))
    sops_file.write_bytes(ok(run(sops_bin, "encrypt", name, cwd=work)))
    return Pair(work, psops_bin, sops_bin, psops_file, sops_file)


def _shape(data: bytes) -> list[tuple[object, ...]]:
    """Per leaf and comment, in order: where it is and what it is (clear value, or ENC type and length)."""
    out: list[tuple[object, ...]] = []

    def leaf(path: tuple[str, ...], value: Value) -> None:
        text = value.text if isinstance(value, Comment) else value
        kind = "comment" if isinstance(value, Comment) else "value"
        m = ENC_RE.match(text) if isinstance(text, str) else None
        if m:
            out.append((path, kind, "enc", m["type"], len(base64.b64decode(m["data"]))))
        else:
            out.append((path, kind, "clear", text))

    def walk(node: Value, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items:
                if isinstance(k, Comment):
                    leaf(path, k)
                elif k != "sops":
                    walk(v, (*path, k))
        elif isinstance(node, list):
            for v in node:
                walk(v, path)
        else:
            leaf(path, node)

    for branch in YamlStore().load(data):
        walk(branch, ())
    return out


def _rule_fields(data: bytes) -> dict[str, object]:
    block = YamlStore().load(data)[0].get("sops")
    assert isinstance(block, Mapping)
    names = (*RULES, "mac_only_encrypted")
    return {k: v for k, v in block.items if isinstance(k, str) and k in names}


def _cross_check(pair: Pair) -> None:
    sops_of_sops = ok(run(pair.sops_bin, "decrypt", pair.sops_file))
    assert ok(run(pair.psops_bin, "decrypt", pair.sops_file)) == sops_of_sops
    assert ok(run(pair.sops_bin, "decrypt", pair.psops_file)) == sops_of_sops
    assert ok(run(pair.psops_bin, "decrypt", pair.psops_file)) == sops_of_sops


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_switch_matches_sops_both_ways(rule: str, age_env: AgeKey, work: Path, psops_bin: str,
                                           sops_bin: str) -> None:
    pair = _encrypt_both(work, psops_bin, sops_bin, age_env, RULES[rule], SAMPLE)
    psops_raw, sops_raw = pair.psops_file.read_bytes(), pair.sops_file.read_bytes()
    assert _shape(psops_raw) == _shape(sops_raw)
    assert _rule_fields(psops_raw) == _rule_fields(sops_raw)
    _cross_check(pair)


def test_mac_only_encrypted_lets_sops_read_an_edited_clear_value(age_env: AgeKey, work: Path, psops_bin: str,
                                                                  sops_bin: str) -> None:
    pair = _encrypt_both(work, psops_bin, sops_bin, age_env,
                         "mac_only_encrypted: true\n    encrypted_regex: ^password$", SAMPLE)
    for path in (pair.psops_file, pair.sops_file):
        edited = path.read_text().replace("user: admin", "user: root")
        path.write_text(edited)
        for tool in (psops_bin, sops_bin):
            assert b"user: root" in ok(run(tool, "decrypt", path))


MULTI_DOC = """\
# first
a: 1
s: one
---
b: [x, y]
when: 2001-12-14t21:59:43.10-05:00
---
c:
    d: three
"""


@pytest.mark.parametrize(("name", "text"), [
    ("multi.yaml", MULTI_DOC),
    ("times.yaml", "date: 2024-01-02\nspace: 2001-12-14 21:59:43.10\nzone: 2006-01-02T15:04:05+07:06\n"
                   "nozone: 2001-12-14T21:59:43\n"),
    ("emptydoc.yaml", "---\n"),
    ("types.yaml", "i: 0x1F\no: 017\nf: .5\nn: .inf\nb: TRUE\ny: yes\nnul: ~\ne: ''\nq: '123'\n"
                   "multi: |\n    line one\n    line two\n"),
])
def test_documents_and_types_match_sops_both_ways(name: str, text: str, age_env: AgeKey, work: Path,
                                                  psops_bin: str, sops_bin: str) -> None:
    pair = _encrypt_both(work, psops_bin, sops_bin, age_env, "", text, name=name)
    assert _shape(pair.psops_file.read_bytes()) == _shape(pair.sops_file.read_bytes())
    _cross_check(pair)


def test_completely_empty_file_is_refused_like_sops(age_env: AgeKey, work: Path, psops_bin: str,
                                                    sops_bin: str) -> None:
    (work / "empty.yaml").write_bytes(b"")
    ours = run(psops_bin, "encrypt", "--age", age_env.recipient, "empty.yaml", cwd=work)
    theirs = run(sops_bin, "encrypt", "--age", age_env.recipient, "empty.yaml", cwd=work)
    assert theirs.returncode != 0 and ours.returncode == 92
    assert b"empty" in ours.stderr and ours.stdout == b""


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom"])
def test_utf16_yaml_with_a_byte_order_mark_is_read_as_sops_reads_it(encoding: str, age_env: AgeKey, work: Path,
                                                                    psops_bin: str, sops_bin: str) -> None:
    text = "# a comment\nkey: välue\nlist: [1, 2]\n"
    data = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode("utf-16")
    (work / ".sops.yaml").write_text(_config(age_env, ""))
    (work / "wide.yaml").write_bytes(data)
    pair = Pair(work, psops_bin, sops_bin, work / "psops.wide.yaml", work / "sops.wide.yaml")
    pair.psops_file.write_bytes(ok(run(psops_bin, "encrypt", "wide.yaml", cwd=work)))
    pair.sops_file.write_bytes(ok(run(sops_bin, "encrypt", "wide.yaml", cwd=work)))
    assert _shape(pair.psops_file.read_bytes()) == _shape(pair.sops_file.read_bytes())
    _cross_check(pair)
    assert ok(run(psops_bin, "decrypt", pair.psops_file)).decode() == "# a comment\nkey: välue\nlist:\n    - 1\n    - 2\n"


@pytest.mark.parametrize(("args", "code"), [
    (["decrypt", "gone.yaml"], 100),  # sops: "cannot operate on non-existent file"
    (["decrypt", "dangling.yaml"], 100),
    (["encrypt", "--age", "{R}", "gone.yaml"], 100),
    (["set", "gone.yaml", '["a"]', '"1"'], 2),  # the other commands: unreadable input
    (["exec-env", "gone.yaml", "true"], 2),
])
def test_a_missing_file_exits_as_with_sops(args: list[str], code: int, age_env: AgeKey, work: Path, psops_bin: str,
                                           sops_bin: str) -> None:
    (work / "dangling.yaml").symlink_to(work / "nowhere.yaml")
    argv = [a.replace("{R}", age_env.recipient) for a in args]
    theirs = run(sops_bin, *argv, cwd=work)
    ours = run(psops_bin, *argv, cwd=work)
    assert theirs.returncode == code, theirs.stderr
    assert ours.returncode == code, ours.stderr
    assert ours.stderr.startswith(b"psops: error: ") and b".yaml: no such file" in ours.stderr


@pytest.mark.parametrize(("text", "accepted"), [
    ("%YAML 1.1\n---\na: 1\n", True),
    ("%YAML 1.2\n---\na: 1\n", False),  # go-yaml v3 reads YAML 1.1 documents only (libyaml takes 1.2)
    ("a: 1\n...\n%YAML 1.2\n---\nb: 2\n", False),
])
def test_yaml_version_directives_as_sops(text: str, accepted: bool, age_env: AgeKey, work: Path, psops_bin: str,
                                         sops_bin: str) -> None:
    (work / "v.yaml").write_text(text)
    ours = run(psops_bin, "encrypt", "--age", age_env.recipient, "v.yaml", cwd=work)
    theirs = run(sops_bin, "encrypt", "--age", age_env.recipient, "v.yaml", cwd=work)
    assert (theirs.returncode == 0) is accepted, theirs.stderr
    assert (ours.returncode == 0) is accepted, ours.stderr
    if not accepted:
        assert b"incompatible YAML document" in theirs.stderr
        assert ours.returncode == 2 and b"v.yaml: " in ours.stderr and b"incompatible YAML document" in ours.stderr
        assert ours.stdout == b""


@pytest.mark.parametrize("threshold", [2, 3])
def test_age_key_groups_shamir_both_ways(threshold: int, age_key: AgeKey, other_age_key: AgeKey, work: Path,
                                         tmp_path: Path, psops_bin: str, sops_bin: str) -> None:
    import pyrage

    third = pyrage.x25519.Identity.generate()
    identities = [age_key.identity, other_age_key.identity, str(third)]
    recipients = [age_key.recipient, other_age_key.recipient, str(third.to_public())]
    groups = "".join(f"      - age:\n          - {r}\n" for r in recipients)
    (work / ".sops.yaml").write_text(
        f"creation_rules:\n  - shamir_threshold: {threshold}\n    key_groups:\n{groups}")
    (work / "s.yaml").write_text("secret: value\nlist: [1, 2]\n")
    files = {"psops": ok(run(psops_bin, "encrypt", "s.yaml", cwd=work)),
             "sops": ok(run(sops_bin, "encrypt", "s.yaml", cwd=work))}
    for writer, data in files.items():
        enc = work / f"{writer}.enc.yaml"
        enc.write_bytes(data)
        block = YamlStore().load(data)[0].get("sops")
        assert isinstance(block, Mapping) and block.get("shamir_threshold") == threshold
        for count in (threshold - 1, threshold):
            keyfile = tmp_path / f"{writer}-{count}.txt"
            keyfile.write_text("\n".join(identities[:count]) + "\n")
            for tool in (psops_bin, sops_bin):
                proc = run(tool, "decrypt", enc, env={"SOPS_AGE_KEY_FILE": str(keyfile)})
                if count >= threshold:
                    assert proc.returncode == 0 and b"secret: value" in proc.stdout, (writer, tool, count)
                else:
                    assert proc.returncode == 128, (writer, tool, count, proc.stderr)
