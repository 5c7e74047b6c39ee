"""Help-text conventions: a command's examples are printed after its options, as click's epilog.

A command's docstring is its help: a one-line summary, paragraphs of description (click re-wraps them to the
terminal), and last an ``Examples:`` paragraph with one command line per line::

    Encrypt a plaintext file (to stdout, --in-place or --output).

    Keys come from ...

    Examples:
        psops encrypt --age age1... secrets.yaml > secrets.enc.yaml
        psops encrypt -i secrets.enc.yaml

:func:`finish_help` moves that paragraph out of each command's help into its epilog, marked with
click's ``\\b`` so the command lines are printed as written instead of being re-wrapped. A final paragraph
``Example: a;`` / ``b`` (one command per line, ``;`` at line ends) is read the same way, as is a group's
``epilog="Example: ..."``. ``docs/gen_cli_reference.py`` renders the reference docs from the same click
objects, and ``tests/docs/test_cli_help.py`` holds every command to the convention.
"""

from __future__ import annotations

import inspect
from typing import Any

_HEADINGS = ("Examples:", "Example:")
NO_WRAP = "\b"


def split_examples(text: str) -> tuple[str, list[str]]:
    """Split help text into its description and the command lines of its final ``Examples:`` paragraph."""
    clean = inspect.cleandoc(text)
    paragraphs = clean.split("\n\n")
    last = paragraphs[-1].strip()
    heading = next((h for h in _HEADINGS if last.startswith(h)), None)
    if heading is None:
        return clean, []
    body = last[len(heading):]
    lines = [line.strip().removesuffix(";").rstrip() for line in body.splitlines()]
    examples = [line for line in lines if line]
    return "\n\n".join(paragraphs[:-1]).rstrip(), examples


def epilog_text(examples: list[str]) -> str:
    """The epilog click prints verbatim: an ``Examples:`` heading and one indented command per line."""
    return "\n".join([NO_WRAP, "Examples:", *(f"  {line}" for line in examples)])


def examples_of(epilog: str | None) -> list[str]:
    """The example command lines of an epilog made by :func:`epilog_text` (empty when there are none)."""
    if not epilog:
        return []
    lines = epilog.replace(NO_WRAP, "").strip().splitlines()
    if not lines or lines[0].strip() not in _HEADINGS:
        return []
    return [line.strip() for line in lines[1:] if line.strip()]


def _normalise_epilog(epilog: str | None) -> str | None:
    if not epilog or epilog.startswith(NO_WRAP):
        return epilog
    text = epilog.strip()
    if not text.startswith(_HEADINGS):
        return epilog
    _, examples = split_examples(text)
    return epilog_text(examples) if examples else epilog


def summary_of(text: str) -> str:
    """The one-line summary of help text: its first paragraph, on one line."""
    first = inspect.cleandoc(text).split("\n\n", 1)[0]
    return " ".join(first.split())


def finish_help(app: Any) -> None:
    """Apply the conventions to every command of a typer app, groups included.

    Each command's examples become its epilog, and its summary (the first paragraph) its ``short_help``, so
    command lists show the whole summary, wrapped, rather than click's truncated first sentence.
    """
    info = getattr(app, "info", None)
    if info is not None:
        if isinstance(info.epilog, str):
            info.epilog = _normalise_epilog(info.epilog)
        if isinstance(info.help, str) and not isinstance(info.short_help, str):
            info.short_help = summary_of(info.help)
    for command in app.registered_commands:
        doc = command.help if isinstance(command.help, str) else inspect.getdoc(command.callback)
        if not doc:
            continue
        description, examples = split_examples(doc)
        if examples and not isinstance(command.epilog, str):
            command.help = description
            command.epilog = epilog_text(examples)
        if not isinstance(command.short_help, str):
            command.short_help = summary_of(description)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            finish_help(group.typer_instance)


__all__ = ["epilog_text", "examples_of", "finish_help", "split_examples", "summary_of"]
