"""The reference docs are held to the code: every command and option has help text and appears in the
generated reference, which must be current; every environment variable psops reads is documented."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fixtures.docs import DOCS, REPO


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
COMMANDS: list[tuple[Any, Any]] = GEN.commands()
IDS = [ctx.command_path for _, ctx in COMMANDS]


def test_generated_pages_are_current() -> None:
    stale = [str(p.relative_to(REPO)) for p in GEN.stale_pages()]
    assert not stale, f"stale generated docs {stale}: run python docs/gen_reference.py and commit the result"


# Commands whose summaries are longer than a line, in modules the docs do not own (psops.cli.k8s_cmds):
# shorten the summary there, then remove the command from this set.
@pytest.mark.parametrize(("command", "ctx"), COMMANDS, ids=IDS)
def test_command_has_summary_description_and_examples(command: Any, ctx: Any) -> None:
    from psops.cli.helptext import examples_of, summary_of

    path = ctx.command_path
    assert (command.help or "").strip(), f"{path} has no help text"
    summary = summary_of(command.help)
    limit = 70
    assert len(summary) <= limit, f"{path}: the summary should fit on one line ({len(summary)} chars): {summary}"
    examples = examples_of(command.epilog)
    assert examples, f"{path} has no Examples: epilog (end its docstring with an 'Examples:' paragraph)"
    for line in examples:
        assert "psops" in line or line.startswith("git "), \
            f"{path}: example {line!r} runs neither psops nor git (a wrapped line?)"


@pytest.mark.parametrize(("command", "ctx"), COMMANDS, ids=IDS)
def test_every_parameter_has_help_and_is_in_the_reference(command: Any, ctx: Any) -> None:
    page = (DOCS / "reference" / "cli.md").read_text()
    path = ctx.command_path
    heading = f"\n## {path}\n"
    assert heading in page, f"{path} is missing from docs/reference/cli.md"
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    for param in GEN.params_of(command):
        name = param.opts[0] if param.param_type_name == "option" else param.name
        assert (getattr(param, "help", None) or "").strip(), f"{path} {name}: no help text"
        record = param.get_help_record(ctx)
        assert record is not None and record[0] in section, f"{path} {name} is missing from its reference section"


def test_every_command_is_in_the_reference_index() -> None:
    page = (DOCS / "reference" / "cli.md").read_text()
    for _, ctx in COMMANDS[1:]:
        assert f"[`{ctx.command_path}`](#{GEN.anchor(ctx.command_path)})" in page, ctx.command_path


def test_every_environment_variable_is_documented() -> None:
    page = (DOCS / "reference" / "environment.md").read_text()
    names: set[str] = set()
    for _, ctx in COMMANDS:
        for param in GEN.params_of(ctx.command):
            envvar = getattr(param, "envvar", None)
            names.update([envvar] if isinstance(envvar, str) else list(envvar or []))
    for source in (REPO / "src" / "psops").rglob("*.py"):
        names.update(re.findall(r"\bPSOPS_[A-Z0-9_]+\b", source.read_text()))
        names.update(re.findall(r"""environ(?:\.get)?[(\[]\s*["'](SOPS_[A-Z0-9_]+)["']""", source.read_text()))
    undocumented = sorted(n for n in names if f"`{n}`" not in page)
    assert not undocumented, f"document these in docs/reference/environment.md: {undocumented}"


def test_every_exit_code_is_in_the_reference() -> None:
    page = (DOCS / "reference" / "exit-codes.md").read_text()
    for cls in GEN.error_classes():
        assert f"| {cls.exit_code} | `{cls.__name__}` |" in page, cls.__name__


def test_the_generator_check_mode_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    assert GEN.main(["--check"]) == 0, capsys.readouterr().err


def test_markdown_escaping_keeps_code_spans() -> None:
    assert GEN.md_text("use ``--config`` with *.yaml | <x>") == r"use `--config` with \*.yaml \| \<x\>"
    assert GEN.anchor("psops k8s install-plugin") == "psops-k8s-install-plugin"


def test_reference_pages_are_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for page in ("docs/tutorial.md", "docs/reference/cli.md"):
        assert page in readme, page
    assert Path(DOCS / "gen_reference.py").is_file()
