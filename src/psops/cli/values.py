"""``psops set`` and ``psops unset``: change one value of an encrypted file in place (atomically).

As ``sops set FILE INDEX VALUE`` / ``sops unset FILE INDEX``: the value is JSON (or read from a file or
standard input so it stays out of process listings); unchanged values keep their ciphertext.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from psops.cli import options as o
from psops.cli.keysel import store_settings
from psops.cli.output import about, warn
from psops.engine import parse_decryption_order
from psops.errors import CannotReadInput, ConflictingParameters, MissingArgument
from psops.files import atomic_write, read_input
from psops.formats.textutil import decode_utf8
from psops.lifecycle.audit import audited
from psops.operations import resolve_formats
from psops.values import ValueChange, parse_value, set_value, unset_value

EditedFile = Annotated[str, typer.Argument(help="The encrypted file to change in place.", metavar="FILE")]
Index = Annotated[str, typer.Argument(help='Path of the value, e.g. \'["db"]["password"]\' or \'["list"][0]\'.',
                                      metavar="INDEX")]
Value = Annotated[
    str | None,
    typer.Argument(help="The new value as JSON ('\"text\"', 42, true, null, {...}, [...]); with --value-file a "
                        "path to read it from; omitted with --value-stdin.", metavar="VALUE", show_default=False),
]
ValueFile = Annotated[
    bool, typer.Option("--value-file", help="Treat VALUE as a file holding the JSON value (keeps it out of ps).")
]
ValueStdin = Annotated[
    bool, typer.Option("--value-stdin", help="Read the JSON value from standard input (VALUE is not given).")
]
SetIdempotent = Annotated[
    bool, typer.Option("--idempotent", help="Do nothing (no write) if INDEX already has this value.")
]
UnsetIdempotent = Annotated[
    bool, typer.Option("--idempotent", help="Do nothing (no error, no write) if INDEX does not exist.")
]



def _check_file(file: str) -> None:
    if file == "-":
        raise ConflictingParameters("set/unset change a file in place; standard input cannot be used",
                                    hint="pass the path of the encrypted file")


def _read_value(value: str | None, value_file: bool, value_stdin: bool) -> str:
    if value_file and value_stdin:
        raise ConflictingParameters("--value-file and --value-stdin exclude each other")
    if value_stdin:
        if value is not None:
            raise ConflictingParameters("--value-stdin reads the value from standard input; do not also pass VALUE")
        return decode_utf8(sys.stdin.buffer.read(), "value")
    if value is None:
        raise MissingArgument("the value to set is missing",
                              hint="pass VALUE as JSON, a file with --value-file, or use --value-stdin")
    if value_file:
        try:
            return decode_utf8(read_input(value), "value")
        except CannotReadInput as exc:
            raise exc.with_path(value) from None
    return value


def _finish(file: str, change: ValueChange) -> None:
    for message in change.warnings:
        warn(f"{file}: {message}")
    if change.data is not None:
        atomic_write(file, change.data)


def set_value_command(
    file: EditedFile,
    index: Index,
    value: Value = None,
    value_file: ValueFile = False,
    value_stdin: ValueStdin = False,
    idempotent: SetIdempotent = False,
    input_type: o.InputType = None,
    output_type: o.OutputType = None,
    ignore_mac: o.IgnoreMac = False,
    decryption_order: o.DecryptionOrder = None,
    config: o.ConfigOpt = None,
) -> None:
    """Set one value of an encrypted file, in place.

    Missing keys are created (intermediate mappings too); an index past the end of a list appends. Other
    values keep their ciphertext. VALUE is JSON; --value-file or --value-stdin keep it out of process lists.

    Examples:
        psops set secrets.enc.yaml '["db"]["password"]' '"s3cr3t"'
        echo '{"a": 1}' | psops set --value-stdin f.enc.json '["x"]'
    """
    with about(file), audited("set", file, config=config):
        _check_file(file)
        text = _read_value(value, value_file, value_stdin)
        fin, fout = resolve_formats(file, input_type, output_type)
        change = set_value(read_input(file), index, parse_value(text), input_format=fin, output_format=fout,
                           ignore_mac=ignore_mac, decryption_order=parse_decryption_order(decryption_order),
                           settings=store_settings(config, file), idempotent=idempotent)
        _finish(file, change)


def unset_value_command(
    file: EditedFile,
    index: Index,
    idempotent: UnsetIdempotent = False,
    input_type: o.InputType = None,
    output_type: o.OutputType = None,
    ignore_mac: o.IgnoreMac = False,
    decryption_order: o.DecryptionOrder = None,
    config: o.ConfigOpt = None,
) -> None:
    """Remove one value of an encrypted file, in place.

    INDEX names a key or a list element; other values keep their ciphertext.

    Examples:
        psops unset secrets.enc.yaml '["db"]["password"]'
        psops unset --idempotent f.enc.json '["tags"][0]'
    """
    with about(file), audited("unset", file, config=config):
        _check_file(file)
        fin, fout = resolve_formats(file, input_type, output_type)
        change = unset_value(read_input(file), index, input_format=fin, output_format=fout, ignore_mac=ignore_mac,
                             decryption_order=parse_decryption_order(decryption_order),
                                settings=store_settings(config, file),
                             idempotent=idempotent)
        _finish(file, change)


__all__ = ["set_value_command", "unset_value_command"]
