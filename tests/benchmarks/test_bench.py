"""The benchmark cannot rot: its smoke mode runs here (correctness only), and the import budget is enforced.

``python -m bench.run --quick`` generates the 10-value files, encrypts them with sops and psops, checks that
both tools decrypt both files to the same bytes, times one run of each command and writes its report; only
the exit status and the report's shape are checked, never a timing. The import budget is pass/fail on module
names: ``python -X importtime -c ENTRY decrypt`` (psops started as its console script starts it) of a small age
file must not import the CLI framework, a cloud SDK, gRPC, python-gnupg or GitPython (and a JSON file must not
even import the YAML library).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.cli import ok, run

if TYPE_CHECKING:
    from conftest import AgeKey

ROOT = Path(__file__).resolve().parents[2]


def _bench_module(name: str) -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"bench.{name}")


def test_quick_benchmark_runs_and_reports(tmp_path: Path, sops_bin: str) -> None:
    report_path = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path / "out"),
                           "--json", str(report_path)], cwd=ROOT, capture_output=True, timeout=300, check=False,
                          env=dict(os.environ))
    text = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "files verified" in text
    report = json.loads(report_path.read_text())
    cases = {(r["fmt"], r["size"], r["op"]) for r in report["rows"]}
    assert cases == {(fmt, 10, op) for fmt in ("yaml", "json") for op in ("decrypt", "encrypt")}
    for row in report["rows"]:
        assert row["sops_s"] > 0 and row["psops_s"] > 0 and row["psops_rss_mib"] > 0
    assert report["imports"]["decrypt"]["forbidden"] == []
    assert report["psops"].startswith("psops ")
    # the README installs with an up-to-date pip, whose console script does not import re
    assert report["psops_script_imports_re"] is False, "psops' script imports re: pip install -U pip, reinstall"


def test_old_pip_console_scripts_are_recognised(tmp_path: Path) -> None:
    imports = _bench_module("imports")
    old = tmp_path / "old"  # distlib's template, as pip < 25 writes it
    old.write_text("#!/venv/bin/python3\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom psops.cli import run\n"
                   "if __name__ == '__main__':\n"
                   "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(run())\n")
    new = tmp_path / "new"  # pip >= 25
    new.write_text("#!/venv/bin/python3\nimport sys\nfrom psops.cli import run\nif __name__ == '__main__':\n"
                   "    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n    sys.exit(run())\n")
    assert imports.script_imports_re(str(old)) is True
    assert imports.script_imports_re(str(new)) is False


def test_generator_is_deterministic_and_counts_values() -> None:
    gen = _bench_module("generate")
    for n in (10, 100, 1000):
        tree = gen.make_tree(n)
        assert gen.count_leaves(tree) == n
        assert gen.yaml_text(tree) == gen.yaml_text(gen.make_tree(n))
        assert "#" in gen.yaml_text(tree)
        assert json.loads(gen.json_text(tree)) == tree


@pytest.fixture
def tiny_files(age_env: AgeKey, work: Path, psops_bin: str) -> dict[str, Path]:
    out = {}
    for fmt, text in (("yaml", "# note\nuser: admin\npassword: hunter2\n"), ("json", '{"password": "hunter2"}\n')):
        plain = work / f"tiny.{fmt}"
        plain.write_text(text)
        enc = work / f"tiny-age.{fmt}"
        enc.write_bytes(ok(run(psops_bin, "encrypt", "--age", age_env.recipient, plain)))
        out[fmt] = enc
    return out


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_decrypt_stays_within_the_import_budget(fmt: str, tiny_files: dict[str, Path], work: Path) -> None:
    imports = _bench_module("imports")
    report = imports.check_imports(["decrypt", str(tiny_files[fmt])], cwd=str(work))
    assert report.returncode == 0
    assert "psops.engine" in report.modules, "importtime output was not parsed"
    # started as its console script starts it (not -m psops, whose runpy would load modules first)
    assert "runpy" not in report.modules
    assert report.forbidden == [], f"psops decrypt imported {report.forbidden}"
    # no creation-rules file around: the policy module is not needed
    assert "psops.policy" not in report.modules
    if fmt == "json":
        assert not [m for m in report.modules if m.startswith(("ruamel", "_ruamel_yaml"))]


@pytest.mark.parametrize("with_config", [False, True], ids=["no-config", "sops-yaml"])
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_decrypt_keeps_heavy_standard_modules_off_the_start_up_path(fmt: str, with_config: bool,
                                                                    tiny_files: dict[str, Path], work: Path,
                                                                    age_env: AgeKey) -> None:
    imports = _bench_module("imports")
    if with_config:  # as in a repository: the config is found, read and applied on every decrypt
        (work / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: ''\n    age: {age_env.recipient}\n")
    report = imports.check_imports(["decrypt", str(tiny_files[fmt])], cwd=str(work))
    assert report.returncode == 0
    assert ("psops.policy.config" in report.modules) == with_config
    assert "psops.cli.keysel" not in report.modules  # key selection is for encrypting
    assert imports.hits(list(report.modules), imports.STARTUP_HEAVY) == []
    assert "typing" not in report.modules
    # no regex engine (re, with enum) and no json package: hand-written checks and the C scanner instead;
    # contextvars (a C extension) only for the audit trail; bisect's C functions without their wrapper module
    assert imports.hits(list(report.modules), ("re", "enum", "json", "_contextvars", "bisect")) == []
    # nor the standard helpers the -m entry point would have loaded already (runpy imports them)
    assert imports.hits(list(report.modules), ("collections", "contextlib", "functools", "importlib.util")) == []
    # libyaml's extension loads without ruamel's constructor/emitter/representer side (import_c_parser)
    assert imports.hits(list(report.modules), imports.RUAMEL_UNUSED) == []
    if fmt == "json":  # a simple config is read without any YAML library (psops.policy.simple_yaml)
        assert not [m for m in report.modules if m.startswith(("ruamel", "_ruamel_yaml", "psops.formats.yaml_store"))]


def test_version_imports_almost_nothing(work: Path) -> None:
    imports = _bench_module("imports")
    report = imports.check_imports(["--version"], cwd=str(work))
    assert report.returncode == 0
    heavy = imports.hits(list(report.modules), [*imports.FORBIDDEN, "ruamel", "cryptography", "pyrage", "psops.engine"])
    assert heavy == []


def test_importtime_parser() -> None:
    imports = _bench_module("imports")
    text = ("import time: self [us] | cumulative | imported package\n"
            "import time:       120 |        120 |   typer.core\n"
            "import time:        80 |        200 | typer\n"
            "something else\n")
    assert imports.parse_importtime(text) == {"typer.core": 120, "typer": 200}
    assert imports.parse_importtime(text, top_level_only=True) == {"typer": 200}
    assert imports.hits(["typer", "typer.core", "typerx", "psops"]) == ["typer", "typer.core"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_encrypt_keeps_heavy_standard_modules_off_the_start_up_path(fmt: str, work: Path, age_env: AgeKey) -> None:
    imports = _bench_module("imports")
    (work / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: ''\n    age: {age_env.recipient}\n")
    plain = work / f"plain.{fmt}"
    plain.write_text("# note\nuser: admin\npassword: hunter2\n" if fmt == "yaml" else '{"password": "hunter2"}\n')
    report = imports.check_imports(["encrypt", "--age", age_env.recipient, str(plain)], cwd=str(work))
    assert report.returncode == 0
    assert "psops.engine" in report.modules and report.forbidden == []
    # lastmodified from the time module; rule copies without copy; no regex engine, no json package
    assert imports.hits(list(report.modules), (*imports.STARTUP_HEAVY, "typing", "re", "enum", "json", "datetime",
                                               "copy")) == []
