"""Files written by many sops versions (the sops project's own fixtures) decrypt to exactly what sops 3.11 prints.

The vectors live in ``$PSOPS_SHARED_DIR/vectors/sops-repo`` (default: the ``shared`` folder beside the repository);
see its README.md. They are PGP-encrypted to the sops project's public test keys (fixture ``sops_vector_gpg``).
Only the YAML and JSON vectors are covered here; dotenv, INI and binary come with their stores.
"""

from __future__ import annotations

import pytest

from fixtures.cli import assert_clean_error, describe, ok, run
from fixtures.gnupg import GpgKey, shared_dir

VECTORS = shared_dir() / "vectors" / "sops-repo"

YAML_JSON_VECTORS = [
    "example.json",
    "example.yaml",
    "examples_all_in_one_config_secret.enc.json",
    "examples_per_file_config.enc_static_github.json",
    "functional-tests_res_comments.enc.yaml",
    "functional-tests_res_comments_unencrypted_comments.yaml",
    "functional-tests_res_format.enc.json",
    "functional-tests_res_format.enc.yaml",
    "functional-tests_res_multiple_keys.yaml",
]
NO_MAC = "functional-tests_res_no_mac.yaml"


@pytest.fixture
def vector_gpg_env(sops_vector_gpg: GpgKey, monkeypatch: pytest.MonkeyPatch) -> GpgKey:
    monkeypatch.setenv("GNUPGHOME", str(sops_vector_gpg.home))
    return sops_vector_gpg


def test_every_yaml_and_json_vector_is_listed() -> None:
    encrypted = VECTORS / "encrypted"
    assert encrypted.is_dir(), f"vector folder not found: {encrypted} (set PSOPS_SHARED_DIR)"
    present = sorted(p.name for p in encrypted.iterdir() if p.suffix in (".yaml", ".json"))
    assert present == sorted([*YAML_JSON_VECTORS, NO_MAC])
    for name in present:
        assert (VECTORS / "expected" / name).is_file(), name


@pytest.mark.parametrize("name", YAML_JSON_VECTORS)
def test_vector_decrypts_to_the_expected_bytes(name: str, vector_gpg_env: GpgKey, psops_bin: str) -> None:
    proc = run(psops_bin, "decrypt", VECTORS / "encrypted" / name)
    assert ok(proc) == (VECTORS / "expected" / name).read_bytes(), describe(proc)


def test_no_mac_vector_needs_ignore_mac(vector_gpg_env: GpgKey, psops_bin: str) -> None:
    path = VECTORS / "encrypted" / NO_MAC
    assert_clean_error(run(psops_bin, "decrypt", path), 51, names=NO_MAC)
    proc = run(psops_bin, "decrypt", "--ignore-mac", path)
    assert ok(proc) == (VECTORS / "expected" / NO_MAC).read_bytes(), describe(proc)
