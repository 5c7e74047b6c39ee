"""Editor resolution: SOPS_EDITOR, then EDITOR (split like a shell), else vim, nano or vi from PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from psops.editing.editor import resolve_editor
from psops.errors import EditorFailed


def _fake_bin(folder: Path, *names: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name in names:
        exe = folder / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return folder


def test_sops_editor_wins_and_is_split_like_a_shell() -> None:
    chosen = resolve_editor({"SOPS_EDITOR": "'/opt/My Editor/ed' --wait -n", "EDITOR": "nano"})
    assert chosen.argv == ("/opt/My Editor/ed", "--wait", "-n")
    assert chosen.source == "SOPS_EDITOR"


def test_editor_is_used_when_sops_editor_is_unset_or_empty() -> None:
    assert resolve_editor({"SOPS_EDITOR": "", "EDITOR": "code --wait"}).argv == ("code", "--wait")


@pytest.mark.parametrize(("value", "words"), [("   ", "blank"), ("vim 'unclosed", "cannot be split")])
def test_unusable_editor_variables_are_clear_errors(value: str, words: str) -> None:
    with pytest.raises(EditorFailed, match=words) as info:
        resolve_editor({"EDITOR": value})
    assert info.value.exit_code == 201


def test_default_editors_in_order(tmp_path: Path) -> None:
    folder = _fake_bin(tmp_path / "bin", "vi", "nano")
    assert resolve_editor({"PATH": str(folder)}).argv == (str(folder / "nano"),)
    _fake_bin(folder, "vim")
    chosen = resolve_editor({"PATH": str(folder)})
    assert chosen.argv == (str(folder / "vim"),) and chosen.source == "default"


def test_no_editor_at_all(tmp_path: Path) -> None:
    with pytest.raises(EditorFailed, match="no editor found"):
        resolve_editor({"PATH": str(_fake_bin(tmp_path / "empty"))})
