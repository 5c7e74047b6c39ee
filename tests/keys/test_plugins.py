"""Third-party key services through the ``psops.key_services`` entry-point group.

A tiny test-only distribution (a package plus a ``*.dist-info`` with ``entry_points.txt``) is written to a
temp dir and put on ``sys.path`` (or ``PYTHONPATH`` for the installed executable), exactly as pip would lay
it out. Its key service really wraps: AES-256-GCM under a key from ``PSOPS_TEST_SEALED_KEY``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import assert_clean_error, describe, ok, run
from psops.errors import PsopsError
from psops.keys import ENTRY_POINT_GROUP, get_service, is_supported, plugin_kinds, reset_services
from psops.keys.base import KeyStanza
from psops.operations import EncryptPlan, decrypt_bytes, encrypt_bytes

if TYPE_CHECKING:
    from conftest import AgeKey

PLUGIN_SOURCE = '''\
"""A test-only psops key service: AES-256-GCM under the hex key in PSOPS_TEST_SEALED_KEY."""
import base64, os
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psops.errors import KeyServiceError, NotMine
from psops.keys.base import KeyStanza


class SealedService:
    kind = "test_sealed"

    def _key(self):
        hexkey = os.environ.get("PSOPS_TEST_SEALED_KEY", "")
        if not hexkey:
            raise NotMine("PSOPS_TEST_SEALED_KEY is not set")
        return AESGCM(bytes.fromhex(hexkey))

    def parse_recipients(self, spec):
        return [KeyStanza("test_sealed", {"label": s.strip()}) for s in spec.split(",") if s.strip()]

    def wrap(self, recipient, data_key):
        nonce = os.urandom(12)
        sealed = nonce + self._key().encrypt(nonce, data_key, recipient.fields["label"].encode())
        return KeyStanza("test_sealed", {"label": recipient.fields["label"],
                                         "enc": base64.b64encode(sealed).decode()})

    def unwrap(self, stanza):
        raw = base64.b64decode(stanza.enc)
        try:
            return self._key().decrypt(raw[:12], raw[12:], str(stanza.fields["label"]).encode())
        except Exception:
            raise KeyServiceError("sealed key does not open") from None

    def describe(self, stanza):
        return str(stanza.fields.get("label"))

    def identity(self, stanza):
        return "test_sealed:" + self.describe(stanza)
'''

ENTRY_POINTS = f"""\
[{ENTRY_POINT_GROUP}]
test_sealed = psops_test_keyservice:SealedService
age = psops_test_keyservice:SealedService
broken = psops_test_keyservice:DoesNotExist
"""

SEALED_KEY = "11" * 32


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A directory laid out like site-packages with the test plug-in distribution installed."""
    site = tmp_path / "site"
    pkg = site / "psops_test_keyservice"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN_SOURCE)
    dist = site / "psops_test_keyservice-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: psops-test-keyservice\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


@pytest.fixture
def plugin(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plug-in importable in this process, with its key set."""
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv("PSOPS_TEST_SEALED_KEY", SEALED_KEY)
    reset_services()
    yield plugin_dir
    sys.modules.pop("psops_test_keyservice", None)
    reset_services()


def test_kinds_not_built_in_come_from_entry_points(plugin: Path) -> None:
    assert is_supported("test_sealed")
    assert "test_sealed" in plugin_kinds() and "broken" in plugin_kinds()
    assert "age" not in plugin_kinds()  # built-in kinds cannot be replaced
    assert type(get_service("age")).__name__ == "AgeService"
    assert type(get_service("test_sealed")).__name__ == "SealedService"


def test_without_the_package_the_kind_is_unknown() -> None:
    assert not is_supported("test_sealed")
    with pytest.raises(PsopsError, match="no key service for 'test_sealed'") as info:
        get_service("test_sealed")
    assert info.value.hint and ENTRY_POINT_GROUP in info.value.hint


def test_a_broken_plugin_is_reported(plugin: Path) -> None:
    with pytest.raises(PsopsError, match="failed to load: AttributeError"):
        get_service("broken")


def test_plugin_keys_round_trip_through_a_file(plugin: Path) -> None:
    plan = EncryptPlan(key_groups=[[KeyStanza("test_sealed", {"label": "ops"})]])
    enc = encrypt_bytes(b'{"password": "s3cr3t"}', plan, input_format="json", output_format="json")
    meta = json.loads(enc)["sops"]
    assert list(meta)[:2] == ["test_sealed", "lastmodified"]
    assert list(meta["test_sealed"][0]) == ["label", "enc"]
    out = decrypt_bytes(enc, input_format="json", output_format="json", decryption_order=["test_sealed", "age"])
    assert json.loads(out.data) == {"password": "s3cr3t"}


def test_plugin_key_groups_with_shamir(plugin: Path, age_env: AgeKey) -> None:
    groups = [[KeyStanza("test_sealed", {"label": "a"})], [KeyStanza("age", {"recipient": age_env.recipient})],
              [KeyStanza("test_sealed", {"label": "b"})]]
    enc = encrypt_bytes(b'{"k": "v"}', EncryptPlan(key_groups=groups, shamir_threshold=2), input_format="json",
                        output_format="json")
    meta = json.loads(enc)["sops"]
    assert [sorted(k for k, v in g.items() if v) for g in meta["key_groups"]] == [["test_sealed"], ["age"],
                                                                                  ["test_sealed"]]
    assert json.loads(decrypt_bytes(enc, input_format="json", output_format="json").data) == {"k": "v"}


def test_installed_executable_finds_the_plugin_and_sops_ignores_its_list(plugin: Path, age_env: AgeKey,
                                                                         work: Path, psops_bin: str,
                                                                         sops_bin: str) -> None:
    group = [KeyStanza("test_sealed", {"label": "ops"}), KeyStanza("age", {"recipient": age_env.recipient})]
    path = work / "secrets.json"
    path.write_bytes(encrypt_bytes(b'{"password": "s3cr3t"}', EncryptPlan(key_groups=[group]),
                                   input_format="json", output_format="json"))
    with_plugin = {"PYTHONPATH": os.pathsep.join(p for p in (str(plugin), os.environ.get("PYTHONPATH")) if p)}
    # The plug-in key alone opens it in a fresh psops process (entry points are read there)...
    proc = run(psops_bin, "decrypt", "--decryption-order", "test_sealed", path.name, env=with_plugin,
               unset=["SOPS_AGE_KEY_FILE"])
    assert json.loads(ok(proc)) == {"password": "s3cr3t"}, describe(proc)
    # ...without the package, psops names the key it could not use...
    proc = run(psops_bin, "decrypt", path.name, unset=["SOPS_AGE_KEY_FILE"])
    line = assert_clean_error(proc, 128, names="secrets.json")
    assert "test_sealed ?: psops has no service for it yet" in line
    # ...and sops, which does not know the list, still opens the file with the age key of the same group.
    assert json.loads(ok(run(sops_bin, "decrypt", path.name))) == {"password": "s3cr3t"}


def test_a_file_rewritten_without_the_plugin_keeps_its_key_list(plugin_dir: Path, age_env: AgeKey,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from psops.operations import open_encrypted, reseal

    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv("PSOPS_TEST_SEALED_KEY", SEALED_KEY)
    reset_services()
    group = [KeyStanza("test_sealed", {"label": "ops"}), KeyStanza("age", {"recipient": age_env.recipient})]
    enc = encrypt_bytes(b'{"a": "b"}', EncryptPlan(key_groups=[group]), input_format="json", output_format="json")
    sys.path.remove(str(plugin_dir))
    sys.modules.pop("psops_test_keyservice", None)
    reset_services()
    assert not is_supported("test_sealed")
    opened = open_encrypted(enc, input_format="json")  # opens with age
    again = json.loads(reseal(opened, opened.doc, output_format="json"))
    assert again["sops"]["test_sealed"] == json.loads(enc)["sops"]["test_sealed"]
