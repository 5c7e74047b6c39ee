"""The import budget of the hot path: which modules ``psops decrypt`` of a small age file loads.

``python -X importtime -c ENTRY decrypt FILE`` lists every module imported (one stderr line each, with its own
and cumulative import time). ENTRY is what the console script pip 25 and later writes does (pypa/pip#13166):
import ``psops.cli.run`` and call it. Not ``-m psops``, which adds what :mod:`runpy` imports (contextlib,
collections, importlib.util) and so hides them from the budget; and not the installed script itself, whose
text depends on the pip that wrote it: before pip 25 it imports :mod:`re` (with enum, functools and
collections: ~7 ms here) before psops runs, which would hide a psops ``import re`` from the budget.
:func:`script_imports_re` tells whether the installed script is such an old one (the benchmark warns).

The budget is a list of modules that must not appear: the CLI framework (typer, click, rich, pydantic),
cloud SDKs, gRPC, python-gnupg and GitPython. It is pass/fail on module names only; the microseconds are
reported, never asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FORBIDDEN: tuple[str, ...] = (
    "typer", "click", "rich", "pydantic", "pydantic_core", "shellingham",
    "boto3", "botocore", "s3transfer", "google", "grpc", "azure", "msal", "hvac", "requests",
    "gnupg", "git", "gitdb",
)

# Standard-library modules the decrypt path keeps off (docs/design.md, "Start-up"): each costs milliseconds
# on a small decrypt and is replaced there by something lighter (psops.record for dataclasses, os.path for
# pathlib, the interpreter's _sha512 for hashlib). typing is also kept off for JSON files (ruamel needs it).
STARTUP_HEAVY: tuple[str, ...] = ("dataclasses", "inspect", "pathlib", "hashlib", "tempfile", "subprocess",
                                  "concurrent", "threading", "logging")
# ruamel.yaml modules the YAML store never uses (libyaml's extension imports them for one error class each)
RUAMEL_UNUSED: tuple[str, ...] = ("ruamel.yaml.main", "ruamel.yaml.constructor", "ruamel.yaml.representer",
                                  "ruamel.yaml.emitter", "ruamel.yaml.serializer", "ruamel.yaml.comments",
                                  "ruamel.yaml.composer", "ruamel.yaml.scanner", "ruamel.yaml.parser")


@dataclass
class ImportReport:
    """Modules a command imported, with their cumulative import time (microseconds)."""

    argv: list[str]
    returncode: int
    modules: dict[str, int]
    forbidden: list[str]
    top_level: dict[str, int]  # the imports not nested in another one (interpreter start-up's and the program's)

    def slowest(self, n: int = 8) -> list[tuple[str, int]]:
        """The ``n`` top-level imports with the largest cumulative time."""
        return sorted(self.top_level.items(), key=lambda kv: -kv[1])[:n]


def parse_importtime(stderr: str, *, top_level_only: bool = False) -> dict[str, int]:
    """``import time: self | cumulative | name`` lines -> {module: cumulative us}.

    The name is indented by two spaces per nesting level; ``top_level_only`` keeps the imports made directly
    by the interpreter's start-up or by the program (whose cumulative times add up to the whole import cost).
    """
    out: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        if top_level_only and parts[2][:2] == "  ":
            continue
        out[parts[2].strip()] = int(parts[1])
    return out


def hits(modules: Sequence[str], forbidden: Sequence[str] = FORBIDDEN) -> list[str]:
    """The modules of ``modules`` that are, or are inside, a forbidden package."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


# The console script of pip >= 25 (its template, without the Windows suffix handling): psops and nothing else.
ENTRY = "import sys\nfrom psops.cli import run\nsys.argv[0] = 'psops'\nsys.exit(run())"


def script_imports_re(script: str) -> bool:
    """True when a console script imports :mod:`re` itself (written by pip < 25: ~7 ms on every run)."""
    with open(script, encoding="utf-8", errors="replace") as fh:
        return any(line.strip() == "import re" for line in fh)


def check_imports(args: Sequence[str], *, python: str = sys.executable, env: Mapping[str, str] | None = None,
                  cwd: str | None = None) -> ImportReport:
    """Run ``python -X importtime -c ENTRY ARGS`` (psops as its console script starts it); report the imports."""
    argv = [python, "-X", "importtime", "-c", ENTRY, *args]
    proc = subprocess.run(argv, capture_output=True, env=dict(env if env is not None else os.environ), cwd=cwd,
                          timeout=120, check=False)
    stderr = proc.stderr.decode("utf-8", "replace")
    modules = parse_importtime(stderr)
    return ImportReport(argv=list(args), returncode=proc.returncode, modules=modules,
                        forbidden=hits(list(modules)), top_level=parse_importtime(stderr, top_level_only=True))


__all__ = ["ENTRY", "FORBIDDEN", "RUAMEL_UNUSED", "STARTUP_HEAVY", "ImportReport", "check_imports", "hits",
           "parse_importtime", "script_imports_re"]
