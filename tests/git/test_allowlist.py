"""The ``.psops-allowlist`` format."""

from __future__ import annotations

from pathlib import Path

from psops.git.allowlist import load_allowlist, parse_allowlist


def test_patterns_rules_comments_and_base_names() -> None:
    allow = parse_allowlist(
        "# comment line\n"
        "\n"
        "docs/*.pem   pem-private-key   # trailing comment\n"
        "tests/*\n"
        "known_hosts github-token slack-token\n",
        known_rules=frozenset({"pem-private-key", "github-token", "slack-token"}),
    )
    assert [(e.pattern, sorted(e.rules), e.line) for e in allow.entries] == [
        ("docs/*.pem", ["pem-private-key"], 3), ("tests/*", [], 4),
        ("known_hosts", ["github-token", "slack-token"], 5)]
    assert allow.covers("docs/a.pem", "pem-private-key")
    assert allow.covers("docs/deep/er/a.pem", "pem-private-key")  # * crosses folders
    assert not allow.covers("docs/a.pem", "github-token")
    assert allow.covers("tests/fixtures/any.txt", "anything")
    assert allow.covers("etc/ssh/known_hosts", "slack-token")  # no '/' in the pattern: base name anywhere
    assert not allow.covers("src/app.py", "github-token")
    assert allow.warnings == []


def test_unknown_rule_names_are_warned_about(tmp_path: Path) -> None:
    (tmp_path / ".psops-allowlist").write_text("x.txt github-tokn\n")
    allow = load_allowlist(tmp_path, known_rules=frozenset({"github-token"}))
    assert allow.warnings == [".psops-allowlist:1: unknown rule 'github-tokn' (see psops check --list-rules)"]
    assert load_allowlist(tmp_path / "nowhere").entries == []
