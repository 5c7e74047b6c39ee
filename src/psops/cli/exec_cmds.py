"""``psops exec-env`` and ``psops exec-file``."""

from __future__ import annotations

import os
import re
from typing import Annotated

import typer

from psops.cli import options as o
from psops.cli.keysel import store_settings
from psops.cli.output import about, warn
from psops.editing.signals import SignalTrap
from psops.engine import parse_decryption_order
from psops.errors import CannotWriteOutput
from psops.exec import DEFAULT_FILENAME, exec_command, plaintext_path, run_command, secrets_env
from psops.files import read_input
from psops.lifecycle.audit import audited
from psops.operations import decrypt_bytes, open_encrypted, resolve_formats

CommandArg = Annotated[
    str,
    typer.Argument(help="One command string, run with /bin/sh -c (quote it as one argument).", metavar="CMD"),
]
Pristine = Annotated[
    bool, typer.Option("--pristine", help="Start the command with only the secrets in its environment.")
]
SameProcess = Annotated[
    bool,
    typer.Option("--same-process", help="Replace psops with the command (exec) instead of running a child."),
]
Flatten = Annotated[
    bool,
    typer.Option("--flatten", help="Export nested mappings as NAME_KEY_SUBKEY variables (keys joined with _)."),
]
NoFifo = Annotated[
    bool,
    typer.Option("--no-fifo", help="Use a 0600 temporary file instead of a FIFO (removed afterwards)."),
]
Filename = Annotated[
    str,
    typer.Option("--filename", help="Name of the temporary file or FIFO that {} stands for."),
]

_SHELL_SAFE = re.compile(r"^[A-Za-z0-9._+@%,=/:-]+$")



def exec_env(
    file: o.FileArg,
    command: CommandArg,
    pristine: Pristine = False,
    same_process: SameProcess = False,
    flatten: Flatten = False,
    ignore_mac: o.IgnoreMac = False,
    input_type: o.InputType = None,
    decryption_order: o.DecryptionOrder = None,
    config: o.ConfigOpt = None,
) -> None:
    """Run a command with the file's values in its environment.

    The top-level values become environment variables of CMD (never arguments); nested mappings only with
    --flatten (as NAME_KEY); lists and keys with '=' or NUL are refused. psops exits with CMD's status.

    Examples:
        psops exec-env secrets.enc.yaml './deploy.sh'
        psops exec-env --pristine secrets.enc.env 'env'
    """
    with about(file), audited("exec-env", file, config=config):
        fin, _ = resolve_formats(file, input_type, None)
        opened = open_encrypted(read_input(file), input_format=fin, ignore_mac=ignore_mac,
                                decryption_order=parse_decryption_order(decryption_order),
                                settings=store_settings(config, file))
        for message in opened.warnings:
            warn(f"{file}: {message}")
        secrets = secrets_env(opened.doc[0], flatten=flatten)
    env = {} if pristine else dict(os.environ)
    env.update(secrets)
    if same_process:
        exec_command(command, env)
    raise typer.Exit(run_command(command, env))


def exec_file(
    file: o.FileArg,
    command: CommandArg,
    no_fifo: NoFifo = False,
    filename: Filename = DEFAULT_FILENAME,
    ignore_mac: o.IgnoreMac = False,
    input_type: o.InputType = None,
    output_type: o.OutputType = None,
    decryption_order: o.DecryptionOrder = None,
    config: o.ConfigOpt = None,
) -> None:
    """Run a command with {} replaced by the decrypted file's path.

    The path is a FIFO that can be read once (--no-fifo: a 0600 file), in a private 0700 temp dir removed when
    CMD ends. psops exits with CMD's status.

    Examples:
        psops exec-file secrets.enc.json 'jq .db {}'
        psops exec-file --no-fifo --filename app.ini secrets.enc.ini './app --config {}'
    """
    with about(file), audited("exec-file", file, config=config):
        fin, fout = resolve_formats(file, input_type, output_type)
        result = decrypt_bytes(read_input(file), input_format=fin, output_format=fout, ignore_mac=ignore_mac,
                               decryption_order=parse_decryption_order(decryption_order),
                                settings=store_settings(config, file))
        for message in result.warnings:
            warn(f"{file}: {message}")
        # the trap spans the temp dir's whole life: no signal can end psops between creation and removal
        with SignalTrap(forward=True) as trap, \
                plaintext_path(result.data, fifo=not no_fifo, filename=filename) as path:
            if not _SHELL_SAFE.match(str(path)):
                raise CannotWriteOutput(f"the temporary path {str(path)!r} is not safe to put in a shell command",
                                        hint="set TMPDIR to a path without spaces or shell characters")
            status = run_command(command.replace("{}", str(path)), os.environ, trap=trap)
    raise typer.Exit(status)
