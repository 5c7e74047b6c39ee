"""``psops git install|uninstall|textconv|merge|mergetool`` and ``psops check``: the git integration commands.

The work is done by :mod:`psops.git`; these functions parse options, print and turn results into exit codes.
Everything under :mod:`psops.git` is imported inside the commands, so other commands never load it.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from psops.cli import options as o
from psops.cli.output import about, warn

git_app = typer.Typer(
    name="git",
    help="Git integration: diff and merge drivers, a mergetool, setup.\n\n"
    "Encrypted files show decrypted in git diff/log/show, merge structurally and stay encrypted.",
    epilog="Examples:\npsops git install --attributes '*.enc.yaml' --hook\ngit diff secrets.enc.yaml",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _order(decryption_order: str | None) -> list[str] | None:
    return [k.strip() for k in decryption_order.split(",") if k.strip()] if decryption_order else None


def default_command() -> str:
    """How git should invoke psops: ``psops`` when it is on PATH, else this Python with ``-m psops``."""
    if shutil.which("psops"):
        return "psops"
    return f"{shlex.quote(sys.executable)} -m psops"


@git_app.command()
def install(
    global_: Annotated[bool, typer.Option("--global", help="Write the user's ~/.gitconfig instead of the "
                                                            "repository's .git/config.")] = False,
    attributes: Annotated[list[str] | None, typer.Option(
        "--attributes", "-a", metavar="GLOB",
        help="Add 'GLOB diff=psops merge=psops' to .gitattributes (the global attributes file with --global). "
             "Repeat for several patterns.")] = None,
    hook: Annotated[bool, typer.Option("--hook", help="Also write the pre-commit guard to the repository's "
                                                      "hooks folder (refuses to replace a foreign hook).")] = False,
    cache_textconv: Annotated[bool, typer.Option(
        "--cache-textconv", help="Let git cache textconv output. Off by default: git would store the DECRYPTED "
                                 "text as objects under refs/notes/textconv/psops.")] = False,
    command: Annotated[str | None, typer.Option(
        "--command", help="How git should run psops (default: 'psops' when on PATH, else python -m psops).")] = None,
) -> None:
    """Set up git's diff and merge drivers and the psops mergetool.

    Writes the repository's .git/config (--global: ~/.gitconfig); --attributes adds 'GLOB diff=psops
    merge=psops' lines to .gitattributes; --hook writes the pre-commit guard. Running it again changes nothing.

    Examples:
        psops git install --attributes '*.enc.yaml' --attributes 'secrets/*.json' --hook
        psops git install --global
    """
    from psops.git.install import install as do_install

    with about(str(Path.cwd())):
        report = do_install(global_=global_, attributes=list(attributes or []), hook=hook,
                            cache_textconv=cache_textconv, command=command or default_command())
    for item in report.changed:
        sys.stdout.write(f"set {item}\n")
    if not report.changed:
        sys.stdout.write(f"psops is already configured in {report.config_path}\n")


@git_app.command()
def uninstall(
    global_: Annotated[bool, typer.Option("--global", help="Clean the user's ~/.gitconfig instead of the "
                                                            "repository's .git/config.")] = False,
) -> None:
    """Remove psops' git settings, attribute lines and hook.

    Examples:
        psops git uninstall
    """
    from psops.git.install import uninstall as do_uninstall

    with about(str(Path.cwd())):
        report = do_uninstall(global_=global_)
    for item in report.changed:
        sys.stdout.write(f"removed {item}\n")
    if not report.changed:
        sys.stdout.write(f"nothing of psops was configured in {report.config_path}\n")


@git_app.command()
def textconv(
    file: o.FileArg,
    decryption_order: o.DecryptionOrder = None,
) -> None:
    """Print FILE decrypted for git diff (textconv); never fails.

    Without a usable key each encrypted value is shown as <encrypted:FINGERPRINT> of its ciphertext, so a
    reviewer still sees which values changed.

    Examples:
        git config diff.psops.textconv 'psops git textconv'
        psops git textconv secrets.enc.yaml
    """
    from psops.files import read_input
    from psops.git.textconv import textconv as convert

    with about(file):
        data = read_input(file)
    result = convert(data, file, decryption_order=_order(decryption_order))
    for message in result.warnings:
        warn(f"{file}: {message}")
    sys.stdout.buffer.write(result.data)
    sys.stdout.buffer.flush()


@git_app.command()
def merge(
    base: Annotated[str, typer.Argument(help="The common ancestor's version (git's %O).")],
    ours: Annotated[str, typer.Argument(help="Our version; the result is written here (git's %A).")],
    theirs: Annotated[str, typer.Argument(help="Their version (git's %B).")],
    marker_size: Annotated[int, typer.Argument(help="Conflict marker size (git's %L).")] = 7,
    path: Annotated[str | None, typer.Argument(help="The file's path in the repository (git's %P).")] = None,
    decryption_order: o.DecryptionOrder = None,
) -> None:
    """Merge driver: 3-way merge of an encrypted file, kept encrypted.

    The decrypted trees of BASE, OURS and THEIRS are merged and the result is written encrypted into OURS. On
    conflicting changes psops exits 71 and leaves OURS unchanged (still encrypted).

    Examples:
        git config merge.psops.driver 'psops git merge %O %A %B %L %P'
    """
    from psops.git.driver import run_driver

    name = path or ours
    with about(name):
        notes = run_driver(base, ours, theirs, marker_size=marker_size, name=name,
                           decryption_order=_order(decryption_order))
    for note in notes:
        sys.stderr.write(f"psops: {name}: {note}\n")


def mergetool(
    file: Annotated[str, typer.Argument(help="The conflicted file in the work tree (git's $MERGED).",
                                        metavar="FILE")],
    base: Annotated[Path | None, typer.Option("--base", help="The base version (git's $BASE); default: the "
                                                             "index's stage 1.")] = None,
    local: Annotated[Path | None, typer.Option("--local", help="Our version (git's $LOCAL); default: the "
                                                              "index's stage 2.")] = None,
    remote: Annotated[Path | None, typer.Option("--remote", help="Their version (git's $REMOTE); default: the "
                                                                "index's stage 3.")] = None,
    decryption_order: o.DecryptionOrder = None,
) -> None:
    """Resolve a merge conflict of an encrypted file in your editor.

    The file opens decrypted, with conflict markers around the conflicting parts; save it to encrypt the
    result. The editor is $SOPS_EDITOR, $EDITOR, else vim/nano/vi; the temp file is private and always removed.

    Examples:
        psops mergetool secrets.enc.yaml
        git mergetool --tool=psops secrets.enc.yaml   (after psops git install)
    """
    from psops.git.mergetool import resolve

    with about(file):
        if local is not None and remote is not None:
            from psops.files import read_input

            base_data = read_input(str(base)) if base is not None and base.is_file() else None
            ours, theirs = read_input(str(local)), read_input(str(remote))
            staged = False
        else:
            from psops.errors import MergeConflict
            from psops.git.plumbing import stage_blobs

            stages = stage_blobs(file)
            if 2 not in stages or 3 not in stages:
                raise MergeConflict("the file is not in a merge conflict (no ours/theirs stages in the index)",
                                    hint="pass --local and --remote to merge two files")
            base_data, ours, theirs = stages.get(1), stages[2], stages[3]
            staged = True
        result = resolve(file, base=base_data, ours=ours, theirs=theirs, decryption_order=_order(decryption_order))
    for note in result.notes:
        sys.stderr.write(f"psops: {file}: {note}\n")
    how = "resolved in the editor" if result.edited else "merged without conflict"
    sys.stderr.write(f"psops: {file}: {how} and written encrypted"
                     + (f"; mark it resolved with: git add {shlex.quote(file)}\n" if staged else "\n"))


git_app.command("mergetool")(mergetool)


def check(
    paths: Annotated[list[str] | None, typer.Argument(help="Files to check (with --staged: their staged "
                                                            "versions; default: every staged change).",
                                                       metavar="[PATH]...")] = None,
    staged: Annotated[bool, typer.Option("--staged", help="Check the index's versions, not the work tree "
                                                          "(what a commit would record).")] = False,
    verify_mac: Annotated[bool, typer.Option("--verify-mac", help="Also decrypt SOPS files and check their MAC "
                                                                  "(needs a key; files without one are "
                                                                  "reported as warnings).")] = False,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="Print the rules and exit.")] = False,
) -> None:
    """Refuse commits of plaintext secrets (the pre-commit check).

    Finds unencrypted files a creation rule covers, clear-text values in SOPS files, conflict markers, broken
    SOPS files, private keys and well-known credentials. Findings print as 'path:line rule' (never the
    secret); exit 72 when there is any. Silence a false positive with a .psops-allowlist line 'GLOB [RULE...]'
    or a 'psops:allow' comment on the line.

    Examples:
        psops check --staged   (what the pre-commit hook runs)
        psops check secrets/*.yaml
        psops check --list-rules
    """
    from psops.errors import CheckFailed, ConflictingParameters
    from psops.git.check import ALL_RULES, check_files, check_staged

    if list_rules:
        for name, description in ALL_RULES.items():
            sys.stdout.write(f"{name}: {description}\n")
        return
    started = time.perf_counter()
    if staged:
        report = check_staged(paths or [], verify_mac=verify_mac)
    else:
        if not paths:
            raise ConflictingParameters("nothing to check", hint="pass files, or --staged for the index")
        report = check_files(paths, verify_mac=verify_mac)
    elapsed = time.perf_counter() - started
    for message in report.warnings:
        warn(message)
    for finding in report.findings:
        sys.stdout.write(f"{finding}\n")
    sys.stdout.flush()
    if report.findings:
        files = len({f.path for f in report.findings})
        raise CheckFailed(f"{len(report.findings)} finding(s) in {files} of {report.files} file(s) checked "
                          f"in {elapsed:.2f} s: commit refused",
                          hint="fix them, or silence a false positive in .psops-allowlist or with psops:allow")
