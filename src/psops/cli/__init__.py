"""Command-line entry point: runs the typer app and is the one place errors become exit codes.

A :class:`psops.errors.PsopsError` becomes ``psops: error: FILE: message`` (plus a ``hint:`` line) on stderr
and its exit code; anything unexpected becomes one ``internal error`` line (exit 1), with the traceback only
under ``--verbose`` or ``PSOPS_VERBOSE=1``. Nothing is written to stdout after an error.

Start-up cost: ``--version`` and the common ``decrypt``/``encrypt`` invocations never import typer; they are
recognised by the strict parser in :mod:`psops.cli.fast` and run with the same helpers as the typer commands.
Everything else (help, usage errors, other commands) goes through the typer app.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re) costs ~5 ms before --version
if TYPE_CHECKING:
    from psops.cli.fast import Invocation
    from psops.errors import PsopsError


def _verbose(argv: list[str]) -> bool:
    return "--verbose" in argv or os.environ.get("PSOPS_VERBOSE", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run psops with ``argv`` (default: sys.argv[1:]) and exit with the command's status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-v"]):  # fast path: no typer import
        from psops import __version__

        sys.stdout.write(f"psops {__version__}\n")
        return 0
    from psops.limits import ensure_recursion_room

    ensure_recursion_room()  # every walk over a tree of psops.limits.MAX_DEPTH levels must fit
    from psops.cli import fast

    invocation = fast.parse(args)
    if invocation is not None:
        return _run_fast(invocation, args)
    return main_typer(args)


def main_typer(argv: list[str]) -> int:
    """Run ``argv`` through the typer app only, without the fast path (tests compare the two)."""
    args = list(argv)
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
        return _report(exc)
    except KeyboardInterrupt:
        sys.stderr.write("psops: interrupted\n")
        return 85
    except BrokenPipeError:
        return 1
    except RecursionError:
        return _too_deep()
    except Exception as exc:
        return _internal(exc, args)


def _report(exc: PsopsError) -> int:
    sys.stderr.write(f"psops: error: {exc}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")
    return exc.exit_code


def _too_deep() -> int:
    """A recursion that escaped every store's depth check still ends as a clean read error (exit 2)."""
    from psops.limits import too_deep

    return _report(too_deep())


def _internal(exc: Exception, args: list[str]) -> int:
    if _verbose(args):
        import traceback

        traceback.print_exc()
    sys.stderr.write(f"psops: internal error: {type(exc).__name__} (run with --verbose for details)\n")
    return 1


def _run_fast(invocation: Invocation, args: list[str]) -> int:
    """Run a command the fast path parsed, reporting errors exactly as the typer path does.

    The cyclic garbage collector is off for this short-lived process (the document trees hold no cycles;
    scanning their millions of objects repeatedly made large files superlinear). KeyboardInterrupt and a
    closed stdout end as click ends them in the typer path (``Aborted!``, exit 1).
    """
    import gc

    global _exit_now
    _exit_now = True
    gc_was_enabled = gc.isenabled()
    gc.disable()
    from psops.cli import fast
    from psops.errors import PsopsError

    try:
        fast.run(invocation)
        return 0
    except PsopsError as exc:
        return _report(exc)
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted!\n")
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except RecursionError:
        return _too_deep()
    except Exception as exc:
        return _internal(exc, args)
    finally:
        if gc_was_enabled:
            gc.enable()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


_exit_now = False  # set when the fast path ran: nothing is left for interpreter teardown to do


def run() -> None:
    """Console-script entry point.

    After a fast-path command the process ends with ``os._exit`` once stdout and stderr are flushed: the
    interpreter's teardown (freeing every object of a large document one by one, a last garbage collection)
    costs time and does nothing for the user; files were already written and synced.
    """
    code = main()
    if _exit_now:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            code = code or 1
        os._exit(code)
    raise SystemExit(code)
