"""``psops check``: the pre-commit guard. Reads staged blobs (or given files) and lists what must not be committed.

With ``--staged`` the files are the index's versions, read in one ``git cat-file --batch`` process: the files
changed against HEAD, or the given paths. Each file is checked for:

* ``not-encrypted``: the file matches the ``path_regex`` of a creation rule (of the ``.sops-policy.yaml`` /
  ``.sops.yaml`` that applies to it) but carries no SOPS metadata. A rule without ``path_regex`` (a catch-all)
  does not count: it would claim every file in the repository;
* ``plaintext-value``: in a SOPS file, a non-empty leaf that the file's own selection rule (suffix or regex,
  from its metadata) says is encrypted holds clear text. Files using comment-regex rules are skipped here:
  their encrypted comments cannot be read without the key;
* ``conflict-marker``: a SOPS-looking YAML/JSON file holds ``<<<<<<<``/``=======``/``>>>>>>>`` lines;
* ``broken-sops-file``: a SOPS-looking YAML/JSON file does not parse, its ``sops`` block is invalid or lacks a
  MAC, or a value is a malformed ``ENC[...]`` string;
* ``mac-mismatch`` (only with ``--verify-mac``, when a key is available): the MAC or a value fails to
  authenticate;
* the secret patterns of :mod:`psops.git.scanners`, in every text file.

Each finding is ``path:line rule``; the secret itself is never printed. Findings are silenced by the
allowlist (:mod:`psops.git.allowlist`) or by a ``psops:allow`` comment on the reported line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from psops.cipher import ENC_PREFIX, parse_enc
from psops.engine import has_metadata, open_document
from psops.errors import DecryptError, MacMismatch, PsopsError
from psops.formats import get_store
from psops.formats.json_store import go_json_string
from psops.git.allowlist import ALLOWLIST_NAME, Allowlist, load_allowlist
from psops.git.blobformat import detect_format, looks_like_sops
from psops.git.plumbing import index_entries, read_blobs, staged_changes, toplevel
from psops.git.scanners import RULES, LineIndex, allowed_on_line, is_binary, scan_text
from psops.metadata import Metadata
from psops.policy import CONFIG_NAMES, Config, find_config, load_config
from psops.selection import EncryptionRules
from psops.tree import Comment, Mapping, Value

STRUCTURAL_RULES: dict[str, str] = {
    "not-encrypted": "the file matches a creation rule's path_regex but is not encrypted",
    "plaintext-value": "a value the file's own rules say is encrypted is clear text",
    "conflict-marker": "a SOPS file contains conflict markers",
    "broken-sops-file": "a SOPS file does not parse, its metadata is invalid, or an ENC value is malformed",
    "mac-mismatch": "(--verify-mac) the MAC or a value fails to authenticate: the file was modified",
}
ALL_RULES: dict[str, str] = {**STRUCTURAL_RULES, **{rule.name: rule.description for rule in RULES}}
_KNOWN = frozenset(ALL_RULES)
_STRUCTURED = ("yaml", "json", "binary")
_MARKER = re.compile(r"^(?:<{7}|>{7})(?: |$)|^={7}$")
_LINE_IN_MESSAGE = re.compile(r"line (\d+)")
_SKIP_NAMES = frozenset({*CONFIG_NAMES, ALLOWLIST_NAME})


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is and which rule found it (never the secret)."""

    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.rule}"


@dataclass
class CheckReport:
    """All findings (sorted), warnings for stderr and the number of files checked."""

    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0


class _Locator:
    """Finds the line of a key path in a YAML or JSON text (a best effort: the tree keeps no positions)."""

    def __init__(self, index: LineIndex, fmt: str) -> None:
        self.index = index
        self.fmt = fmt
        self.lines = index.text.split("\n")
        self.last: dict[tuple[str, ...], int] = {}

    def _key_re(self, key: str) -> re.Pattern[str]:
        if self.fmt == "yaml":
            return re.compile(r"(?:^|[\s{,?-])[\"']?" + re.escape(key) + r"[\"']?\s*:(?:\s|$)")
        return re.compile(re.escape(go_json_string(key)) + r"\s*:")

    def _find(self, pattern: re.Pattern[str] | str, start: int) -> int:
        for number in range(max(start, 1), len(self.lines) + 1):
            line = self.lines[number - 1]
            if (pattern in line) if isinstance(pattern, str) else pattern.search(line):
                return number
        return 0

    def locate(self, path: tuple[str, ...], value: object = None) -> int:
        """The line of the leaf at ``path`` (the next occurrence after the last one reported), else 1."""
        line = 1
        for depth, key in enumerate(path):
            start = line if depth < len(path) - 1 else max(line, self.last.get(path, 0) + 1)
            found = self._find(self._key_re(key), start)
            if not found:
                return line
            line = found
        if isinstance(value, str) and value and "\n" not in value:
            hit = self._find(value, line)
            if hit:
                line = hit
        self.last[path] = line
        return line

    def sops_line(self) -> int:
        """The line of the top-level ``sops`` key (1 when not found)."""
        return self._find(re.compile(r'^sops:|^\s*"sops"\s*:'), 1) or 1


class Checker:
    """Checks files one at a time against the rules, with per-folder caches of the creation rules."""

    def __init__(self, root: Path, *, verify_mac: bool = False, allowlist: Allowlist | None = None) -> None:
        self.root = root
        self.verify_mac = verify_mac
        self.allowlist = allowlist or Allowlist()
        self._configs: dict[str, Config | None] = {}
        self._parsed: dict[Path, Config] = {}
        self.warnings: list[str] = list(self.allowlist.warnings)

    # -- creation rules ---------------------------------------------------------------------------------------

    def _config_for(self, abs_path: Path) -> Config | None:
        """The config that applies to a file: found per folder, parsed once per config file."""
        folder = str(abs_path.parent)
        if folder not in self._configs:
            config: Config | None = None
            try:
                found = find_config(abs_path)
                if found is not None:
                    if found.path not in self._parsed:
                        self._parsed[found.path] = load_config(found.path)
                    config = self._parsed[found.path]
            except PsopsError as exc:
                message = f"{exc}: creation rules not checked there"
                if message not in self.warnings:
                    self.warnings.append(message)
            self._configs[folder] = config
        return self._configs[folder]

    def requires_encryption(self, abs_path: Path) -> bool:
        """True when a creation rule with a ``path_regex`` matches the file."""
        config = self._config_for(abs_path)
        if config is None:
            return False
        try:
            rule = config.match(abs_path)
        except PsopsError:
            return False
        return rule is not None and bool(rule.path_regex)

    # -- one file ---------------------------------------------------------------------------------------------

    def check(self, path: str, data: bytes, abs_path: Path | None = None) -> list[Finding]:
        """All findings for one file's content (allowlist and inline allows applied)."""
        abs_path = abs_path or self.root / path
        raw: list[tuple[int, str]] = []
        index: LineIndex | None = None
        fmt = detect_format(path, data)
        if is_binary(data):
            encrypted = False
        else:
            text = data.decode("utf-8", "replace")
            index = LineIndex(text)
            encrypted = self._sops_checks(path, data, fmt, index, raw)
            raw.extend(scan_text(text, index))
        if not encrypted and Path(path).name not in _SKIP_NAMES and self.requires_encryption(abs_path):
            raw.append((1, "not-encrypted"))
        findings = []
        for line, rule in sorted(set(raw)):
            if self.allowlist.covers(path, rule):
                continue
            if index is not None and rule in STRUCTURAL_RULES and line <= len(index.starts) \
                    and allowed_on_line(index.line(line), rule, _KNOWN):
                continue
            findings.append(Finding(path, line, rule))
        return findings

    def _sops_checks(self, path: str, data: bytes, fmt: str, index: LineIndex,
                     out: list[tuple[int, str]]) -> bool:
        """Structural checks of a SOPS-looking file; returns True when it carries SOPS metadata."""
        if fmt not in _STRUCTURED or (fmt == "binary" and not data.lstrip().startswith(b"{")):
            # dotenv/INI (no structural check yet) count as encrypted when they carry SOPS markers
            return fmt in ("dotenv", "ini") and (looks_like_sops(data) or b"sops_version=" in data
                                                 or b"[sops]" in data)
        if not looks_like_sops(data):
            return False
        markers = [n for n, line in enumerate(index.text.split("\n"), 1) if _MARKER.match(line)]
        if markers:
            starts = [n for n in markers if index.line(n).startswith("<")]
            out.extend((n, "conflict-marker") for n in (starts or markers[:1]))
            return True
        locator = _Locator(index, fmt)
        try:
            doc = get_store(fmt).load(data)
        except PsopsError as exc:
            m = _LINE_IN_MESSAGE.search(exc.message)
            out.append((int(m.group(1)) if m else 1, "broken-sops-file"))
            return True
        if not has_metadata(doc):
            if ENC_PREFIX in index.text:
                out.append((1, "broken-sops-file"))  # encrypted values without their sops block
            return False
        try:
            branches, meta = open_document(doc)
        except PsopsError:
            out.append((locator.sops_line(), "broken-sops-file"))
            return True
        if not meta.mac:
            out.append((locator.sops_line(), "broken-sops-file"))
        else:
            try:
                parse_enc(meta.mac)
            except ValueError:
                out.append((locator.sops_line(), "broken-sops-file"))
        for branch in branches:
            self._leaves(branch, (), meta.rules, locator, out)
        if self.verify_mac:
            self._verify(path, data, fmt, meta, locator, out)
        return True

    def _leaves(self, value: Value, path: tuple[str, ...], rules: EncryptionRules, locator: _Locator,
                out: list[tuple[int, str]]) -> None:
        if isinstance(value, Mapping):
            for key, child in value.items:
                if not isinstance(key, Comment):
                    self._leaves(child, (*path, key), rules, locator, out)
            return
        if isinstance(value, list):
            for child in value:
                self._leaves(child, path, rules, locator, out)
            return
        if value is None or value == "" or isinstance(value, Comment):
            return
        if isinstance(value, str) and value.startswith(ENC_PREFIX):
            try:
                parse_enc(value)
            except ValueError:
                out.append((locator.locate(path), "broken-sops-file"))
            return
        if not rules.uses_comments and rules.should_encrypt(path):
            out.append((locator.locate(path, value if isinstance(value, str) else None), "plaintext-value"))

    def _verify(self, path: str, data: bytes, fmt: str, meta: Metadata, locator: _Locator,
                out: list[tuple[int, str]]) -> None:
        from psops.operations import open_encrypted

        try:
            open_encrypted(data, input_format=fmt)
        except (MacMismatch, DecryptError):
            out.append((locator.sops_line(), "mac-mismatch"))
        except PsopsError as exc:
            self.warnings.append(f"{path}: MAC not verified: {exc.message}")


def _report(checker: Checker, items: list[tuple[str, bytes, Path]]) -> CheckReport:
    report = CheckReport(files=len(items))
    for path, data, abs_path in items:
        report.findings.extend(checker.check(path, data, abs_path))
    report.findings.sort()
    report.warnings = checker.warnings
    return report


def check_staged(paths: Sequence[str] = (), *, cwd: str | Path | None = None,
                 verify_mac: bool = False) -> CheckReport:
    """Check the staged (index) versions: of ``paths``, or of every file changed against HEAD."""
    root = toplevel(cwd)
    entries = index_entries(paths, cwd=cwd) if paths else staged_changes(cwd=root)
    entries = [e for e in entries if e.stage == 0 and e.is_regular_file]
    blobs = read_blobs([e.oid for e in entries], cwd=root)
    checker = Checker(root, verify_mac=verify_mac, allowlist=load_allowlist(root, known_rules=_KNOWN))
    return _report(checker, [(e.path, blobs.get(e.oid, b""), root / e.path) for e in entries])


def check_files(paths: Sequence[str], *, verify_mac: bool = False) -> CheckReport:
    """Check files in the working tree as they are on disk (paths shown as given)."""
    from psops.files import read_input

    try:
        root = toplevel()
    except PsopsError:
        root = Path.cwd()
    checker = Checker(root, verify_mac=verify_mac, allowlist=load_allowlist(root, known_rules=_KNOWN))
    items = []
    for path in paths:
        abs_path = Path(os.path.abspath(path))
        try:
            rel = abs_path.relative_to(root).as_posix()
        except ValueError:
            rel = path
        items.append((rel, read_input(path), abs_path))
    return _report(checker, items)


__all__ = ["ALL_RULES", "STRUCTURAL_RULES", "CheckReport", "Checker", "Finding", "check_files", "check_staged"]
