"""The k8s benchmark still runs: its generator and its comparison on a tiny tree (correctness only, no timing)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from fixtures.k8s import bench_module


def test_bench_generator_and_comparison_on_a_tiny_tree(tmp_path: Path, age_env: Any, sops_bin: str,
                                                       psops_bin: str) -> None:
    bench = bench_module()
    spec = bench.TreeSpec(secrets=5, sops_secrets=2, apps=2, bundle_every=2)
    tree = bench.generate_tree(tmp_path / "tree", age_env.recipient, sops_bin=sops_bin, spec=spec, jobs=2)
    assert len(tree.secrets) == 5 and tree.sops_files and tree.psops_files
    assert any(p.name.startswith("bundle") for p in tree.encrypted_files)
    for path in tree.sops_files:
        assert b"sops:" in path.read_bytes() and b"encrypted_regex: ^(data|stringData)$" in path.read_bytes()
    out = io.StringIO()
    times = bench.run_bench(tree, psops=psops_bin, sops_bin=sops_bin, rounds=1, env=dict(os.environ), out=out)
    assert set(times) == {"psops", "psops_jobs1", "sops_loop"}
    assert "ratio sops loop / psops" in out.getvalue()
