"""The README keeps its two newcomer commands byte for byte (CI runs the second), and its links resolve."""

from __future__ import annotations

import re

from fixtures.docs import REPO

MAIN_JOB = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -U pip && pip install . && examples/quickstart/run.sh"
TESTS = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -U pip && pip install -q -e '.[test]' && ./scripts/check"


def test_the_two_newcomer_commands_are_unchanged_and_ci_runs_the_second() -> None:
    lines = (REPO / "README.md").read_text().splitlines()
    assert MAIN_JOB in lines and TESTS in lines
    assert lines.index(MAIN_JOB) < lines.index(TESTS)
    assert TESTS in (REPO / ".ci" / "run").read_text().splitlines()
    assert (REPO / "examples" / "quickstart" / "run.sh").is_file()


def test_readme_links_resolve() -> None:
    text = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"^[a-z]+://", t)]
    assert local, "the README links to the docs"
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
