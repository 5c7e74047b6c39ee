"""``psops keygen`` and ``psops filestatus``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from psops.cli import options as o
from psops.cli.output import about
from psops.errors import CannotWriteOutput
from psops.files import read_input
from psops.formats import format_for
from psops.keys.age import default_key_file
from psops.operations import file_status


def keygen(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the identity (default: the SOPS age key file)."),
    ] = None,
) -> None:
    """Create an age identity and print its public key.

    The identity goes to $XDG_CONFIG_HOME/sops/age/keys.txt (mode 0600; with --output, to that file), where
    psops and sops look for it; an existing file is never overwritten. Share the printed public key (age1...):
    it is what creation rules and --age list.

    Examples:
        psops keygen
        psops keygen --output ci-key.txt
    """
    import pyrage

    target = output or default_key_file()
    with about(str(target)):
        identity = pyrage.x25519.Identity.generate()
        recipient = str(identity.to_public())
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = f"# created: by psops keygen\n# public key: {recipient}\n{identity}\n"
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CannotWriteOutput("an identity file exists already; psops keygen does not overwrite it",
                                    hint="use --output PATH for a new file, or keep the existing key") from None
        except OSError as exc:
            raise CannotWriteOutput(f"cannot create the key file: {exc.strerror}") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    sys.stderr.write(f"psops: wrote a new age identity to {target}\n")
    sys.stdout.write(f"Public key: {recipient}\n")


def filestatus(
    file: o.FileArg,
    input_type: o.InputType = None,
) -> None:
    """Print whether FILE is encrypted, as JSON.

    Prints {"encrypted":true} or {"encrypted":false}, as sops filestatus does; no key is needed.

    Examples:
        psops filestatus secrets.enc.yaml
    """
    with about(file):
        encrypted = file_status(read_input(file), format_for(file, input_type))
    sys.stdout.write(json.dumps({"encrypted": encrypted}, separators=(",", ":")) + "\n")
