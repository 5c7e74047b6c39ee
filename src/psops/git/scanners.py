"""Secret-pattern scanners: find private key material and well-known credentials in a text, by line.

Each rule is a compiled regular expression run once over the whole text (line numbers come from the match
offset), so a thousand files scan in well under a second. Before scanning, ``ENC[AES256_GCM,...]`` values are
masked: ciphertext is not a leak. The generic rule, ``high-entropy-assignment``, needs a secret-sounding name
(password, token, api_key ...) assigned a value of 16 or more characters whose Shannon entropy is at least 3.5
bits per character, and skips templating placeholders (``${X}``, ``{{ x }}``, ``<x>``).

A match is reported as ``(line, rule)`` and never with the matched text. A line carrying ``psops:allow``
silences every rule on it; ``psops:allow RULE[,RULE...]`` only the named ones.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

_ENC_VALUE = re.compile(r"ENC\[AES256_GCM,[^\]\n]*\]")
_ALLOW = re.compile(r"psops:allow(?:[ =:]+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*))?")
_PLACEHOLDER = re.compile(r"^(?:\$\{.*\}|\{\{.*\}\}|<.*>|%\(.*\)s?|\$\(.*\))$")
MIN_ENTROPY = 3.5
GENERIC_RULE = "high-entropy-assignment"  # not reported on a line where a specific rule matched
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Rule:
    """One scanner rule: its name, what it finds, its pattern and an optional check of the matched value."""

    name: str
    description: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None
    hints: tuple[str, ...] = ()  # the regex runs only when one of these occurs (lower-cased text if folded)
    folded: bool = False

    def may_match(self, text: str, lowered: str) -> bool:
        """A cheap substring pre-check before the regex runs."""
        haystack = lowered if self.folded else text
        return not self.hints or any(h in haystack for h in self.hints)


def shannon_entropy(text: str) -> float:
    """Bits of entropy per character of ``text`` (0 for an empty string)."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _high_entropy(match: re.Match[str]) -> bool:
    value = match.group("value").strip("\"'")
    if len(value) < MIN_SECRET_LENGTH or _PLACEHOLDER.match(value):
        return False
    classes = sum(1 for test in (str.islower, str.isupper, str.isdigit) if any(test(c) for c in value))
    return classes >= 2 and shannon_entropy(value) >= MIN_ENTROPY


_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey", "access_key",
                 "access-key", "accesskey", "private_key", "private-key", "privatekey", "credential", "auth_key",
                 "auth-key", "authkey")
_SECRET_NAME = (r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|"
                r"auth[_-]?key)[A-Za-z0-9_.-]*")

RULES: tuple[Rule, ...] = (
    Rule("age-secret-key", "an age identity (AGE-SECRET-KEY-1...)",
         re.compile(r"AGE-SECRET-KEY-(?:PQ-)?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{20,}"), hints=("AGE-SECRET-KEY-",)),
    Rule("pgp-private-key", "an armored PGP private key block",
         re.compile(r"-----BEGIN PGP PRIVATE KEY BLOCK-----"), hints=("PRIVATE KEY",)),
    Rule("pem-private-key", "a PEM private key (RSA, EC, DSA, OpenSSH, PKCS#8)",
         re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"), hints=("PRIVATE KEY",)),
    Rule("aws-access-key-id", "an AWS access key id (AKIA..., ASIA...)",
         re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
         hints=("AKIA", "ASIA", "ABIA", "ACCA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA")),
    Rule("aws-secret-access-key", "an AWS secret access key assigned to aws_secret_access_key",
         re.compile(r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"),
         hints=("secret",), folded=True),
    Rule("github-token", "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
         re.compile(r"(?<![A-Za-z0-9_])(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})"),
         hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    Rule("slack-token", "a Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-)",
         re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[0-9A-Za-z]+-[0-9A-Za-z-]{6,}"), hints=("xox",)),
    Rule("slack-webhook", "a Slack incoming-webhook URL",
         re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"),
         hints=("hooks.slack.com",)),
    Rule(GENERIC_RULE, "a random-looking value assigned to a secret-sounding name",
         re.compile(rf"(?i){_SECRET_NAME}[\"']?\s*(?::=|=>|:|=)\s*"
                    r"(?P<value>\"[^\"\n]{16,}\"|'[^'\n]{16,}'|[^\s\"',;#]{16,})"),
         _high_entropy, hints=_SECRET_WORDS, folded=True),
)

RULE_NAMES = frozenset(rule.name for rule in RULES)


class LineIndex:
    """Maps character offsets of a text to 1-based line numbers and gives each line's text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        """Offsets where lines start (computed on first use: most files have no finding)."""
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        return self._starts

    def line_of(self, offset: int) -> int:
        """The 1-based line number holding ``offset``."""
        return bisect.bisect_right(self.starts, offset)

    def line(self, number: int) -> str:
        """The text of line ``number`` (1-based), without its newline."""
        start = self.starts[number - 1]
        end = self.starts[number] - 1 if number < len(self.starts) else len(self.text)
        return self.text[start:end]


def allowed_on_line(line: str, rule: str, known: frozenset[str] = RULE_NAMES) -> bool:
    """True when ``line`` carries a ``psops:allow`` comment covering ``rule``.

    Words after ``psops:allow`` that name no rule in ``known`` are prose: the comment then covers every rule.
    """
    for match in _ALLOW.finditer(line):
        names = match.group(1)
        if not names:
            return True
        listed = {n.strip() for n in names.split(",")}
        if rule in listed or not listed & known:
            return True
    return False


def is_binary(data: bytes) -> bool:
    """git's heuristic: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:8000]


def scan_text(text: str, index: LineIndex | None = None) -> list[tuple[int, str]]:
    """Every ``(line, rule)`` where a rule matches (ciphertext masked, inline allows applied), sorted."""
    masked = _ENC_VALUE.sub(lambda m: "ENC[]", text) if "ENC[AES256_GCM," in text else text
    lines = index if index is not None and masked is text else LineIndex(masked)
    lowered = masked.lower()
    found: set[tuple[int, str]] = set()
    for rule in RULES:
        if not rule.may_match(masked, lowered):
            continue
        for match in rule.pattern.finditer(masked):
            if rule.accept is not None and not rule.accept(match):
                continue
            number = lines.line_of(match.start())
            if not allowed_on_line(lines.line(number), rule.name):
                found.add((number, rule.name))
    specific = {line for line, name in found if name != GENERIC_RULE}
    return sorted((line, name) for line, name in found if name != GENERIC_RULE or line not in specific)


__all__ = [
    "RULES",
    "RULE_NAMES",
    "LineIndex",
    "Rule",
    "allowed_on_line",
    "is_binary",
    "scan_text",
    "shannon_entropy",
]
