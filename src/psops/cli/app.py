"""The typer application: command registration and global options."""

from __future__ import annotations

from typing import Annotated

import typer

from psops import __version__
from psops.cli import crypt, edit, exec_cmds, git_cmds, helptext, k8s_cmds, lifecycle_cmds, misc, values

app = typer.Typer(
    name="psops",
    help="psops: encrypted secrets in git, wire-compatible with SOPS 3.x.\n\n"
    "Encrypts the values of YAML, JSON, dotenv and INI files (binary files whole) with a per-file data key "
    "wrapped by age, PGP, cloud KMS or Vault keys; keys stay readable, a MAC guards the whole file.",
    epilog="Examples:\n"
    "psops keygen\n"
    "psops encrypt -i secrets.enc.yaml\n"
    "psops decrypt secrets.enc.yaml\n"
    "psops edit secrets.enc.yaml\n"
    "psops COMMAND --help",
    rich_markup_mode=None,  # click's plain help: paragraphs re-wrapped to the terminal, nothing read as markup
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"psops {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: Annotated[bool, typer.Option("--verbose", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", "-v", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """psops: encrypted secrets in git, wire-compatible with SOPS 3.x."""


app.command()(crypt.encrypt)
app.command()(crypt.decrypt)
app.command()(misc.filestatus)
app.command()(misc.keygen)
app.command()(edit.edit)
app.command()(edit.replace)
app.command("exec-env")(exec_cmds.exec_env)
app.command("exec-file")(exec_cmds.exec_file)
app.command("set")(values.set_value_command)
app.command("unset")(values.unset_value_command)
app.add_typer(git_cmds.git_app, name="git")
app.add_typer(k8s_cmds.k8s_app, name="k8s")
app.command()(git_cmds.check)
app.command("mergetool")(git_cmds.mergetool)
app.command()(lifecycle_cmds.rotate)
app.command()(lifecycle_cmds.updatekeys)
app.command()(lifecycle_cmds.status)

helptext.finish_help(app)  # keep last: examples print after the options, summaries are never cut
