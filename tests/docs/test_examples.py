"""Each example's ``run.sh`` runs as a user would run it, from a temp copy of its folder.

``examples/k8s/*/run.sh`` are run by ``tests/k8s/test_examples.py`` (they need kubectl on PATH); the last test
here makes sure no example script is left out of both.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest

from fixtures.cli import ok, run
from fixtures.docs import REPO

EXAMPLES = REPO / "examples"

# What each script must print (besides exiting 0): the point it demonstrates.
EXPECT: dict[str, list[bytes]] = {
    "quickstart": [b"password: n3w-s3cr3t", b"sops:"],
    "app-secrets": [b"app: API token ...4242, SMTP password set: True",
                    b"app: database db.internal:5432 as shop (password of 28 characters)",
                    b"+    password: n3w-database-passw0rd", b"2 files: 2 encrypted"],
    "key-groups": [b"only 1 of the 2 key groups needed", b"prod-horse-battery-staple   (alice + bob)",
                   b"prod-horse-battery-staple   (bob + carol)", b"updated prod/db.yaml (data key rotated)",
                   b"alice + bob: refused now", b"shop   (erin + bob)"],
}


def top_level_scripts() -> list[str]:
    """The examples with a run.sh directly in their folder."""
    return sorted(p.parent.name for p in EXAMPLES.glob("*/run.sh"))


@pytest.mark.parametrize("name", top_level_scripts())
def test_example_runs(name: str, tmp_path: Path, psops_bin: str, sops_bin: str) -> None:
    copy = tmp_path / name
    shutil.copytree(EXAMPLES / name, copy)
    tools = os.pathsep.join([str(Path(psops_bin).parent), str(Path(sops_bin).parent)])
    out = ok(run("bash", copy / "run.sh", cwd=tmp_path, env={"PATH": tools + os.pathsep + os.environ["PATH"]}))
    assert name in EXPECT, f"examples/{name}/run.sh: add what it must print to EXPECT"
    for fragment in EXPECT[name]:
        assert fragment in out, (name, fragment, out.decode(errors="replace")[-3000:])


def test_every_example_script_is_run_by_some_test() -> None:
    k8s_test = REPO / "tests" / "k8s" / "test_examples.py"
    tree = ast.parse(k8s_test.read_text())
    k8s_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "EXPECT" for t in targets):
                k8s_names |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    for script in EXAMPLES.rglob("run.sh"):
        rel = script.relative_to(EXAMPLES)
        if len(rel.parts) == 2:
            assert rel.parts[0] in EXPECT, f"examples/{rel} is not run by tests/docs/test_examples.py"
        else:
            assert rel.parts[0] == "k8s" and len(rel.parts) == 3 and rel.parts[1] in k8s_names, \
                f"examples/{rel} is run by no test"


def test_each_example_has_its_own_policy_and_readme() -> None:
    for name in top_level_scripts():
        if name == "quickstart":  # writes its policy on the fly, to show the step
            continue
        folder = EXAMPLES / name
        assert (folder / ".sops-policy.yaml").is_file(), f"examples/{name} has no .sops-policy.yaml"
        assert (folder / "README.md").is_file(), f"examples/{name} has no README.md"
