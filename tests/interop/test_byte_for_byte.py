"""Byte-for-byte parity: for a corpus of files written by the real sops binary, ``psops decrypt`` prints
exactly the bytes ``sops decrypt`` prints. The share is reported in the terminal summary (section
"byte-for-byte parity with sops decrypt") and the test fails unless every file matches.

The corpus is made at test time by the sops binary from the plaintexts below (YAML samples shared with the
YAML store tests, JSON samples here), with an age test key generated for the run.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import AgeKey
from fixtures.cli import describe, run
from fixtures.parity import parity_results, record_parity
from formats.test_yaml_store import SAMPLES as YAML_SAMPLES

JSON_SAMPLES: dict[str, str] = {
    "flat": '{"a": "x", "n": 42, "f": 1.5, "t": true, "nul": null, "e": ""}',
    "nested": '{"a": {"b": {"c": [1, [2, 3], {"d": "e"}]}}, "emp": {}, "el": []}',
    "escapes": '{"html": "<a href=\\"x\\">&</a>", "ctl": "tab\\there\\nnl", "uni": "h\\u00e9llo \\u2028 \\ud83d\\ude00"}',
    "numbers": '{"big": 1e21, "small": 1e-7, "neg": -0.0, "int": 12345678901234567890, "frac": 0.1, "exp": 2.5e10}',
    "duplicates": '{"a": 1, "a": 2, "b": {"c": 1, "c": "x"}}',
    "unicode_keys": '{"ключ": "значение", "日本": ["東京", "大阪"], "emoji 🔑": "🔒"}',
    "deep_list": '{"m": [[[["x"]]], [], [{}], [null, true, false]]}',
    "unencrypted": '{"pw_unencrypted": "clear", "nested": {"x_unencrypted": {"y": "also clear"}}, "s": "secret"}',
    "empty": "{}",
    "long": json.dumps({f"key{i}": f"value {i} " * 5 for i in range(50)}),
}

CORPUS: list[tuple[str, str]] = [(f"yaml-{k}.yaml", v) for k, v in sorted(YAML_SAMPLES.items())] + [
    (f"json-{k}.json", v) for k, v in sorted(JSON_SAMPLES.items())
]
_CORPUS_NAME = "YAML/JSON corpus written by sops"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, age_key: AgeKey, sops_bin: str) -> dict[str, Path]:
    """Every plaintext encrypted by the real sops; returns name -> encrypted file."""
    folder = tmp_path_factory.mktemp("corpus")

    def make(item: tuple[str, str]) -> tuple[str, Path]:
        name, text = item
        plain = folder / name
        plain.write_text(text, encoding="utf-8")
        proc = run(sops_bin, "encrypt", "--age", age_key.recipient, plain,
                   env={"SOPS_DISABLE_VERSION_CHECK": "1"})
        assert proc.returncode == 0, describe(proc)
        enc = folder / ("enc-" + name)
        enc.write_bytes(proc.stdout)
        return name, enc

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(make, CORPUS))


@pytest.mark.parametrize("name", [name for name, _ in CORPUS])
def test_psops_decrypt_prints_what_sops_prints(name: str, corpus: dict[str, Path], age_env: AgeKey,
                                                psops_bin: str, sops_bin: str) -> None:
    enc = corpus[name]
    theirs = run(sops_bin, "decrypt", enc)
    assert theirs.returncode == 0, describe(theirs)
    ours = run(psops_bin, "decrypt", enc)
    record_parity(_CORPUS_NAME, name, ours.returncode == 0 and ours.stdout == theirs.stdout)
    assert ours.returncode == 0, describe(ours)
    assert ours.stdout == theirs.stdout


def test_share_of_the_corpus_that_matches_byte_for_byte() -> None:
    """Runs after the per-file tests (same module, file order) and reports the share."""
    results = parity_results(_CORPUS_NAME)
    assert len(results) == len(CORPUS), "the per-file tests must run first (run the whole module)"
    matched = sum(results.values())
    print(f"\npsops decrypt == sops decrypt, byte for byte: {matched}/{len(CORPUS)} "
          f"({100 * matched / len(CORPUS):.0f}%) of the YAML/JSON corpus")
    assert matched == len(CORPUS)
