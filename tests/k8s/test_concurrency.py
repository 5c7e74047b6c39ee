"""Files are decrypted concurrently: key-service round trips overlap (bounded by --jobs).

The key service is a real OpenBao (Vault) dev server on 127.0.0.1, reached through a loopback relay that holds
every request for 150 ms, like a KMS in another region. The relay counts requests in flight at once; the
test asserts on that count, never on wall-clock time (times are printed for the record).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fixtures.cli import load_yaml, ok, run
from psops.k8s.decrypt import DecryptOptions, decrypt_paths, parallel_map
from psops.k8s.encrypt import encrypt_manifest
from psops.keys import get_service
from psops.operations import EncryptPlan

FILES = 12
DELAY = 0.15


def test_unwrapping_overlaps_across_files(vault: Any, latency_proxy: Any, tmp_path: Path, psops_bin: str) -> None:
    proxy = latency_proxy(urlparse(vault.address).port, DELAY)
    key_uri = f"http://127.0.0.1:{proxy.port}/v1/transit/keys/psops"
    plan = EncryptPlan(key_groups=[get_service("hc_vault").parse_recipients(key_uri)])
    tree = tmp_path / "secrets"
    tree.mkdir()

    def make(i: int) -> None:
        text = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i:02d}\nstringData:\n  token: t{i}\n"
        (tree / f"s{i:02d}.yaml").write_bytes(encrypt_manifest(text.encode(), plan, fmt="yaml", where=str(i)))

    parallel_map(make, list(range(FILES)), FILES)
    assert b"hc_vault" in (tree / "s00.yaml").read_bytes()

    proxy.max_in_flight = 0
    start = time.perf_counter()
    results = decrypt_paths([str(tree)], DecryptOptions(jobs=1))
    serial = time.perf_counter() - start
    assert proxy.max_in_flight == 1
    assert [load_yaml(d.text)["stringData"]["token"] for r in results for d in r.docs] == \
        [f"t{i}" for i in range(FILES)]

    proxy.max_in_flight = 0
    requests_before = proxy.requests
    start = time.perf_counter()
    out = ok(run(psops_bin, "k8s", "decrypt", "--jobs", "8", tree))
    concurrent = time.perf_counter() - start
    assert proxy.requests - requests_before >= FILES  # every data key went through the slow relay
    assert proxy.max_in_flight >= 4, proxy.max_in_flight
    assert out.count(b"kind: Secret") == FILES
    print(f"\n{FILES} Vault-wrapped files, {DELAY * 1000:.0f} ms per round trip: --jobs 1 in-process {serial:.2f} s,"
          f" --jobs 8 CLI (with start-up) {concurrent:.2f} s, {proxy.max_in_flight} round trips at once")
