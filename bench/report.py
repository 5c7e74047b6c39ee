"""Render ``bench.run`` JSON reports as Markdown tables (for bench/RESULTS.md).

    python -m bench.report bench/out/report.json                    # one run
    python -m bench.report after.json --before before.json          # with the psops/sops ratio before
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _key(row: dict[str, Any]) -> tuple[str, int, str]:
    return row["fmt"], row["size"], row["op"]


def markdown(report: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """The report's rows as a Markdown table (medians; ratios psops/sops)."""
    old = {_key(r): r for r in (before or {}).get("rows", [])}
    head = ["format", "values", "op", "sops ms", "psops ms", "ratio", "CPU ratio", "sops MiB", "psops MiB"]
    if before:
        head += ["ratio before", "psops ms before"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["rows"]:
        cells = [r["fmt"], f"{r['size']:,}", r["op"], f"{r['sops_s'] * 1000:.0f}", f"{r['psops_s'] * 1000:.0f}",
                 f"**{r['ratio']:.2f}**", f"{r['cpu_ratio']:.2f}", f"{r['sops_rss_mib']:.0f}",
                 f"{r['psops_rss_mib']:.0f}"]
        if before:
            b = old.get(_key(r))
            cells += [f"{b['ratio']:.2f}", f"{b['psops_s'] * 1000:.0f}"] if b else ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the Markdown table of a report."""
    ap = argparse.ArgumentParser(prog="python -m bench.report")
    ap.add_argument("report", type=Path)
    ap.add_argument("--before", type=Path, default=None)
    args = ap.parse_args(argv)
    report = json.loads(args.report.read_text())
    before = json.loads(args.before.read_text()) if args.before else None
    print(markdown(report, before))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
