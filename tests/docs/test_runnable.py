"""Every code block marked runnable in the docs runs, in order, as a reader would type it.

The convention (``<!-- runnable -->`` before a ```` ```bash ```` block) and the environment the blocks get
are described in ``tests/fixtures/docs.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.docs import DOCS, REPO, docs_env, marker_count, pages_with_runnable_blocks, run_session, runnable_blocks

PAGES = pages_with_runnable_blocks()


def test_the_tutorial_is_runnable_from_start_to_end() -> None:
    tutorial = DOCS / "tutorial.md"
    assert tutorial in PAGES
    text = " ".join(b.text for b in runnable_blocks(tutorial))
    for step in ("psops keygen", "psops encrypt", "psops set", "psops git install",
                 "git commit", "git diff", "psops exec-env", "psops decrypt"):
        assert step in text, f"the tutorial's runnable blocks no longer cover {step!r}"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_marker_is_followed_by_a_bash_block(page: Path) -> None:
    assert len(runnable_blocks(page)) == marker_count(page), \
        f"{page.relative_to(REPO)}: a <!-- runnable --> marker is not directly followed by a ```bash block"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_runnable_blocks_run(page: Path, tmp_path: Path, psops_bin: str) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    run_session(runnable_blocks(page), work, docs_env(home, str(Path(psops_bin).parent)))
