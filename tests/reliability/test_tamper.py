"""The tamper matrix: every way of changing an encrypted file behind psops' back is refused, in every format.

For each format (yaml, json, dotenv, ini, binary) a sample with canary secrets is encrypted, by psops and by
the real sops, then changed one way at a time: a flipped bit in a value's data, IV or tag; two ciphertexts
swapped; an encrypted value renamed, moved or copied under a new key; keys reordered, deleted or added; the
``lastmodified`` changed; the ``mac`` changed or deleted; a clear-text value covered by the MAC edited; the
file truncated; the metadata pointing at a key that cannot decrypt, or at none. ``psops decrypt`` must exit
with the integrity error (25: a value fails authentication, 51: the MAC does not match) or the metadata
error (2 unreadable, 12 missing, 128 no key) and print nothing on stdout; only ``--ignore-mac`` gets past a
MAC error, with a warning. Every tampered psops file is also refused by sops (so the change is real).

The changes are made on the parsed tree with psops' own store for the format and written back in the same
layout, so each case changes exactly one thing. Renaming a clear-text key is the one change the SOPS format
cannot see (the MAC covers values, not key names); a test records that limitation (SECURITY.md).
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyrage
import pytest

from fixtures.cli import assert_clean_error, run
from fixtures.reliability import CANARY, FORMATS, SAMPLES, Sample, cli, encrypt_sample
from psops.formats import get_store
from psops.tree import Document, Mapping, Value

if TYPE_CHECKING:
    from conftest import AgeKey

INTEGRITY = {25, 51}
VALUE_AUTH = {25}
MAC = {51}
METADATA = {2, 12, 128}
ANY_REFUSAL = INTEGRITY | METADATA

Tamper = Callable[[Document, Sample], None]


def _store_format(sample: Sample) -> str:
    return "json" if sample.fmt == "binary" else sample.fmt


def load(path: Path, sample: Sample) -> Document:
    """Parse an encrypted file with psops' store for its format (binary files are JSON envelopes)."""
    return get_store(_store_format(sample)).load(path.read_bytes())


def dump(doc: Document, sample: Sample) -> bytes:
    """Write a (tampered) tree back in the format's layout."""
    return get_store(_store_format(sample)).dump(doc)


def _parent(doc: Document, path: tuple[str, ...]) -> Mapping:
    node: Value = doc[0]
    for key in path[:-1]:
        assert isinstance(node, Mapping)
        node = node.get(key)
    assert isinstance(node, Mapping), path
    return node


def _metadata(doc: Document) -> Mapping:
    block = doc[0].get("sops")
    assert isinstance(block, Mapping)
    return block


def _flip_field(field_name: str, which: int = 0) -> Tamper:
    """Flip the lowest bit of the first byte of one base64 field of the ``which``-th secret's ENC value."""
    def tamper(doc: Document, sample: Sample) -> None:
        path = sample.secrets[which]
        parent = _parent(doc, path)
        enc = parent.get(path[-1])
        assert isinstance(enc, str) and enc.startswith("ENC[AES256_GCM,"), enc
        head, _, rest = enc.partition(f"{field_name}:")
        b64, comma, tail = rest.partition(",")
        raw = bytearray(base64.b64decode(b64))
        raw[0] ^= 0x01
        parent.set(path[-1], f"{head}{field_name}:{base64.b64encode(bytes(raw)).decode()}{comma}{tail}")
    return tamper


def _swap(doc: Document, sample: Sample) -> None:
    (pa, pb) = sample.secrets
    a_parent, b_parent = _parent(doc, pa), _parent(doc, pb)
    va, vb = a_parent.get(pa[-1]), b_parent.get(pb[-1])
    a_parent.set(pa[-1], vb)
    b_parent.set(pb[-1], va)


def _rename_secret(doc: Document, sample: Sample) -> None:
    path = sample.secrets[0]
    parent = _parent(doc, path)
    i = parent.index(path[-1])
    parent.items[i] = (path[-1] + "2", parent.items[i][1])


def _move_secret(doc: Document, sample: Sample) -> None:
    assert sample.move_to is not None
    path = sample.secrets[0]
    value = _parent(doc, path).pop(path[-1])
    target = _parent(doc, (*sample.move_to, "_"))
    target.items.append((path[-1], value))


def _copy_secret(doc: Document, sample: Sample) -> None:
    path = sample.secrets[0]
    parent = _parent(doc, path)
    parent.items.append((path[-1] + "_copy", parent.get(path[-1])))


def _reorder(doc: Document, sample: Sample) -> None:
    (pa, pb) = sample.secrets
    parent = _parent(doc, pa)
    ia, ib = parent.index(pa[-1]), parent.index(pb[-1])
    parent.items[ia], parent.items[ib] = parent.items[ib], parent.items[ia]


def _delete_secret(doc: Document, sample: Sample) -> None:
    path = sample.secrets[-1]
    _parent(doc, path).pop(path[-1])


def _add_clear_key(doc: Document, sample: Sample) -> None:
    path = sample.clear or sample.secrets[0]
    _parent(doc, path).items.append(("injected_unencrypted", "added by an attacker"))


def _edit_clear_value(doc: Document, sample: Sample) -> None:
    assert sample.clear is not None
    _parent(doc, sample.clear).set(sample.clear[-1], "edited by an attacker")


def _lastmodified(doc: Document, sample: Sample) -> None:
    block = _metadata(doc)
    stamp = block.get("lastmodified")
    assert isinstance(stamp, str) and stamp.endswith("Z"), stamp
    seconds = int(stamp[17:19])
    block.set("lastmodified", f"{stamp[:17]}{(seconds + 1) % 60:02d}Z")


def _flip_mac(doc: Document, sample: Sample) -> None:
    block = _metadata(doc)
    mac = block.get("mac")
    assert isinstance(mac, str)
    head, _, rest = mac.partition("data:")
    raw = bytearray(base64.b64decode(rest.partition(",")[0]))
    raw[0] ^= 0x01
    block.set("mac", f"{head}data:{base64.b64encode(bytes(raw)).decode()},{rest.partition(',')[2]}")


def _delete_mac(doc: Document, sample: Sample) -> None:
    _metadata(doc).pop("mac")


def _other_recipient(other: AgeKey) -> Tamper:
    """Point the age stanza at a key the user does not hold (the data key wrapped to it, correctly)."""
    def tamper(doc: Document, sample: Sample) -> None:
        stanzas = _metadata(doc).get("age")
        assert isinstance(stanzas, list) and isinstance(stanzas[0], Mapping)
        wrapped = pyrage.encrypt(b"\x00" * 32, [pyrage.x25519.Recipient.from_str(other.recipient)])
        armored = ("-----BEGIN AGE ENCRYPTED FILE-----\n" + base64.encodebytes(wrapped).decode()
                   + "-----END AGE ENCRYPTED FILE-----\n")
        stanzas[0].set("recipient", other.recipient)
        stanzas[0].set("enc", armored)
    return tamper


def _no_keys(doc: Document, sample: Sample) -> None:
    _metadata(doc).pop("age")


def _bogus_recipient(doc: Document, sample: Sample) -> None:
    stanzas = _metadata(doc).get("age")
    assert isinstance(stanzas, list) and isinstance(stanzas[0], Mapping)
    stanzas[0].set("recipient", "age1notarealrecipient")
    stanzas[0].set("enc", "-----BEGIN AGE ENCRYPTED FILE-----\nbm90IGFnZQ==\n-----END AGE ENCRYPTED FILE-----\n")


@dataclass(frozen=True)
class Case:
    """One way of tampering, the exit codes that refuse it, and the formats it applies to."""

    name: str
    tamper: Tamper | None  # None: built per test (needs a fixture)
    codes: set[int]
    formats: tuple[str, ...] = FORMATS
    mac_only: bool = False  # refused only by the MAC: --ignore-mac reads it (with a warning)


TEXT_FORMATS = ("yaml", "json", "dotenv", "ini")
NESTED = ("yaml", "json", "ini")

CASES = [
    Case("flip-data-bit", _flip_field("data"), VALUE_AUTH),
    Case("flip-iv-bit", _flip_field("iv"), VALUE_AUTH),
    Case("flip-tag-bit", _flip_field("tag"), VALUE_AUTH),
    Case("flip-second-value-data-bit", _flip_field("data", 1), VALUE_AUTH, TEXT_FORMATS),
    Case("swap-two-ciphertexts", _swap, VALUE_AUTH, TEXT_FORMATS),
    Case("rename-encrypted-key", _rename_secret, VALUE_AUTH),
    Case("move-encrypted-value", _move_secret, VALUE_AUTH, NESTED),
    Case("copy-ciphertext-under-new-key", _copy_secret, VALUE_AUTH),
    Case("reorder-keys", _reorder, MAC, TEXT_FORMATS, mac_only=True),
    Case("delete-key", _delete_secret, MAC, TEXT_FORMATS, mac_only=True),
    Case("add-clear-key", _add_clear_key, MAC, TEXT_FORMATS, mac_only=True),
    Case("edit-clear-value", _edit_clear_value, MAC, TEXT_FORMATS, mac_only=True),
    Case("change-lastmodified", _lastmodified, MAC, mac_only=True),
    Case("flip-mac-bit", _flip_mac, MAC, mac_only=True),
    Case("delete-mac", _delete_mac, MAC, mac_only=True),
    Case("metadata-other-recipient", None, {128}),
    Case("metadata-bogus-recipient", _bogus_recipient, {128}),
    Case("metadata-no-keys", _no_keys, {2}),
]
# binary: deleting its only value or adding a key (which the binary rules say must be encrypted)
BINARY_CASES = [
    Case("binary-delete-data", _delete_secret, MAC, ("binary",)),  # --ignore-mac: no data to write (exit 4)
    Case("binary-add-clear-key", _add_clear_key, VALUE_AUTH, ("binary",)),
]
MATRIX = [(c, f) for c in CASES + BINARY_CASES for f in c.formats]


@pytest.fixture(params=["psops", "sops"])
def writer(request: pytest.FixtureRequest) -> str:
    """Which program wrote the encrypted file that is tampered with."""
    return str(request.param)


_ENCRYPTED: dict[tuple[str, str, str], bytes] = {}


def encrypted(sample: Sample, folder: Path, recipient: str, writer: str, sops_bin: str) -> Path:
    """The sample encrypted by ``writer`` (psops in-process, or the real sops); made once per run and key."""
    path = folder / sample.name
    cache_key = (sample.fmt, writer, recipient)
    if cache_key not in _ENCRYPTED:
        if writer == "psops":
            encrypt_sample(sample, folder, recipient)
        else:
            path.write_bytes(sample.text)
            extra = ["--input-type", "binary", "--output-type", "binary"] if sample.fmt == "binary" else []
            proc = run(sops_bin, "encrypt", "--age", recipient, *extra, "-i", path)
            assert proc.returncode == 0, proc.stderr.decode()
        _ENCRYPTED[cache_key] = path.read_bytes()
    path.write_bytes(_ENCRYPTED[cache_key])
    return path


def decrypt_args(sample: Sample, path: Path, *extra: str) -> list[str]:
    """``decrypt`` arguments for a sample's file."""
    types = ["--input-type", "binary", "--output-type", "binary"] if sample.fmt == "binary" else []
    return ["decrypt", *types, *extra, str(path)]


def assert_refused(sample: Sample, path: Path, codes: set[int]) -> str:
    """psops decrypt refuses the file with one of ``codes``, prints nothing on stdout, one error line."""
    argv = decrypt_args(sample, path)
    result = cli(*argv)
    info = result.describe(argv)
    assert result.code in codes, info
    assert result.out == b"", info
    lines = result.err_text.splitlines()
    assert lines and lines[0].startswith("psops: error: ") and str(path) in lines[0], info
    assert all(line.startswith("hint: ") for line in lines[1:]) and len(lines) <= 2, info
    assert CANARY not in result.err_text, info
    return lines[0]


@pytest.mark.parametrize(("case", "fmt"), MATRIX, ids=[f"{c.name}-{f}" for c, f in MATRIX])
def test_tampered_file_is_refused(case: Case, fmt: str, writer: str, age_env: AgeKey, other_age_key: AgeKey,
                                  tmp_path: Path, sops_bin: str) -> None:
    sample = SAMPLES[fmt]
    path = encrypted(sample, tmp_path, age_env.recipient, writer, sops_bin)
    assert cli(*decrypt_args(sample, path)).code == 0  # the untouched file decrypts
    doc = load(path, sample)
    tamper = case.tamper or _other_recipient(other_age_key)
    tamper(doc, sample)
    tampered = dump(doc, sample)
    assert tampered != path.read_bytes()
    path.write_bytes(tampered)
    sops_check = None
    if writer == "psops":  # sops must refuse it too (so the change is real); runs while psops is checked
        types = ["--input-type", "binary", "--output-type", "binary"] if fmt == "binary" else []
        sops_check = subprocess.Popen([sops_bin, "decrypt", *types, str(path)], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)

    assert_refused(sample, path, case.codes)
    ignored = cli(*decrypt_args(sample, path, "--ignore-mac"))
    if case.mac_only:
        # --ignore-mac is the one way past a MAC error, and it says so
        assert ignored.code == 0, ignored.describe(["--ignore-mac"])
        assert "warning" in ignored.err_text and "MAC was not checked" in ignored.err_text
    else:  # a value that fails authentication (or a missing key) is no MAC matter: still refused
        assert ignored.code != 0 and ignored.out == b"", ignored.describe(["--ignore-mac"])
    if sops_check is not None:
        out, _ = sops_check.communicate(timeout=60)
        assert sops_check.returncode != 0 and out == b"", "sops accepted a tampered file"


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75, 0.95])
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file_is_refused(fmt: str, fraction: float, age_env: AgeKey, tmp_path: Path) -> None:
    sample = SAMPLES[fmt]
    path = encrypt_sample(sample, tmp_path, age_env.recipient)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    assert_refused(sample, path, ANY_REFUSAL)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_ignore_mac_shows_the_edited_value_and_warns(fmt: str, age_env: AgeKey, tmp_path: Path) -> None:
    sample = SAMPLES[fmt]
    path = encrypt_sample(sample, tmp_path, age_env.recipient)
    doc = load(path, sample)
    _edit_clear_value(doc, sample)
    path.write_bytes(dump(doc, sample))
    result = cli(*decrypt_args(sample, path, "--ignore-mac"))
    assert result.code == 0, result.describe(["--ignore-mac"])
    assert b"edited by an attacker" in result.out
    assert result.err_text.startswith("psops: warning: ") and "tampered" in result.err_text


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_set_and_rotate_refuse_a_tampered_file_and_leave_it_alone(fmt: str, age_env: AgeKey,
                                                                   tmp_path: Path) -> None:
    sample = SAMPLES[fmt]
    path = encrypt_sample(sample, tmp_path, age_env.recipient)
    doc = load(path, sample)
    _edit_clear_value(doc, sample)
    path.write_bytes(dump(doc, sample))
    before = path.read_bytes()
    index = "".join(f'["{k}"]' for k in sample.secrets[0])
    for argv in (["set", str(path), index, '"new"'], ["rotate", str(path)]):
        result = cli(*argv)
        assert result.code == 51, result.describe(argv)
        assert result.out == b"" and path.read_bytes() == before


def test_clear_text_key_rename_is_not_detected_a_documented_format_limit(age_env: AgeKey, tmp_path: Path) -> None:
    """The SOPS MAC hashes values in order, not key names: renaming a clear-text key goes unnoticed.

    This is the format sops defines (psops must read what sops writes), recorded in SECURITY.md; encrypted
    values are bound to their key path by the AAD, so renaming an encrypted key is caught (matrix above)."""
    sample = SAMPLES["yaml"]
    path = encrypt_sample(sample, tmp_path, age_env.recipient)
    path.write_bytes(path.read_bytes().replace(b"c_unencrypted:", b"d_unencrypted:"))
    result = cli(*decrypt_args(sample, path))
    assert result.code == 0 and b"d_unencrypted: clear text" in result.out


@pytest.mark.parametrize("fmt", FORMATS)
def test_installed_psops_refuses_a_changed_lastmodified(fmt: str, age_env: AgeKey, tmp_path: Path,
                                                        psops_bin: str) -> None:
    sample = SAMPLES[fmt]
    path = encrypt_sample(sample, tmp_path, age_env.recipient)
    doc = load(path, sample)
    _lastmodified(doc, sample)
    path.write_bytes(dump(doc, sample))
    proc = run(psops_bin, *decrypt_args(sample, path))
    line = assert_clean_error(proc, 51, names=str(path))
    assert "MAC mismatch" in line and CANARY.encode() not in proc.stderr
