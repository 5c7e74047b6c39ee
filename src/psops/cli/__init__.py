"""Command-line entry point: runs the typer app and is the one place errors become exit codes.

A :class:`psops.errors.PsopsError` becomes ``psops: error: FILE: message`` (plus a ``hint:`` line) on stderr
and its exit code; anything unexpected becomes one ``internal error`` line (exit 1), with the traceback only
under ``--verbose`` or ``PSOPS_VERBOSE=1``. Nothing is written to stdout after an error.
"""

from __future__ import annotations

import os
import sys


def _verbose(argv: list[str]) -> bool:
    return "--verbose" in argv or os.environ.get("PSOPS_VERBOSE", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run psops with ``argv`` (default: sys.argv[1:]) and exit with the command's status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-v"]):  # fast path: no typer import
        from psops import __version__

        sys.stdout.write(f"psops {__version__}\n")
        return 0
    from psops.errors import PsopsError

    try:
        from typer.main import get_command

        from psops.cli.app import app

        # standalone mode: click prints its own usage errors and exits; psops errors propagate to us
        try:
            get_command(app).main(args=args, prog_name="psops", standalone_mode=True)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return 0
    except PsopsError as exc:
        sys.stderr.write(f"psops: error: {exc}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("psops: interrupted\n")
        return 85
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if _verbose(args):
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"psops: internal error: {type(exc).__name__} (run with --verbose for details)\n")
        return 1


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
