"""Help-text conventions: examples leave the description for the epilog, summaries are kept whole."""

from __future__ import annotations

from fixtures.cli import ok, run
from psops.cli.helptext import epilog_text, examples_of, split_examples, summary_of

DOC = """Encrypt a file.

    Keys come from the flags.

    Examples:
        psops encrypt -i a.yaml
        psops encrypt --age age1x b.json > b.enc.json
    """


def test_the_examples_paragraph_is_split_off() -> None:
    description, examples = split_examples(DOC)
    assert description == "Encrypt a file.\n\nKeys come from the flags."
    assert examples == ["psops encrypt -i a.yaml", "psops encrypt --age age1x b.json > b.enc.json"]


def test_the_older_example_form_with_semicolons_is_read_too() -> None:
    _, examples = split_examples("Do it.\n\nExample: psops a x;\npsops b y")
    assert examples == ["psops a x", "psops b y"]


def test_help_without_examples_is_left_alone() -> None:
    assert split_examples("Do it.\n\nMore text.") == ("Do it.\n\nMore text.", [])


def test_epilog_round_trip_and_verbatim_marker() -> None:
    epilog = epilog_text(["psops a", "psops b --x"])
    assert epilog.startswith("\b\nExamples:\n")
    assert examples_of(epilog) == ["psops a", "psops b --x"]
    assert examples_of(None) == [] and examples_of("Something else") == []


def test_summary_is_the_first_paragraph_on_one_line() -> None:
    assert summary_of("Refuse commits of\n    plaintext secrets.\n\nMore.") == "Refuse commits of plaintext secrets."


def test_examples_print_after_the_options(psops_bin: str) -> None:
    text = ok(run(psops_bin, "encrypt", "--help", env={"COLUMNS": "80"})).decode()
    assert text.index("Options:") < text.index("Examples:")
    assert "\n    psops encrypt -i secrets.enc.yaml\n" in text
    listing = ok(run(psops_bin, "--help", env={"COLUMNS": "80"})).decode()
    assert "..." not in listing.split("Commands:")[1].split("Examples:")[0]  # summaries are never cut
