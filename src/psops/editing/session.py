"""One ``psops edit`` session: decrypt, edit in a private temp file, validate, re-encrypt, write atomically.

The model, step by step:

1. The editor is resolved first (no editor: exit 201 before anything is decrypted). An existing FILE is opened
   with :func:`psops.operations.open_encrypted` (data key, IV stash, metadata); a missing FILE gets a plan from
   the creation rules or key flags and starts from a small template (:mod:`psops.editing.templates`).
2. The plaintext goes to a 0600 file named like FILE (same extension) in a 0700 private dir
   (:mod:`psops.editing.workspace`); with ``--show-master-keys`` the ``sops`` block is shown too.
3. The editor runs with the terminal attached. SIGINT/SIGTERM/SIGHUP stop the editor and psops (exit 85);
   the private dir goes on every exit path (:mod:`psops.editing.signals`).
4. Byte-identical content: exit 200, FILE untouched (not even its mtime). Content that parses to the same tree
   (layout-only change): also 200. Otherwise the new tree is validated (syntax, a reserved ``sops`` key, an
   edited metadata block, values that cannot be encrypted) and re-sealed with :func:`psops.operations.reseal`
   under the same data key, so unchanged values keep their exact ciphertext; a new file is encrypted with
   :func:`psops.operations.encrypt_bytes`.
5. Content that cannot be saved: in a terminal the user is asked to reopen the editor; otherwise (or if they
   decline) the edits go to a 0600 rescue file whose path the error names (exit 204). Edits are never lost
   silently: an interrupted session or a failing editor also keeps changed content there.
6. FILE is re-read before the atomic write; if another program changed it meanwhile, nothing is overwritten.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from psops.editing.compare import restore_document, same_document, same_value
from psops.editing.editor import EditorCommand, EditorRun, resolve_editor, run_editor
from psops.editing.signals import SignalTrap, signal_name
from psops.editing.templates import template_for
from psops.editing.workspace import keep_edits, private_dir
from psops.errors import (
    CannotWriteOutput,
    EditorFailed,
    EditRejected,
    FileUnchanged,
    Interrupted,
    PsopsError,
)
from psops.files import atomic_write, read_input
from psops.formats import StoreSettings, get_store
from psops.metadata import attach_metadata, build_metadata, reserved_key_at, split_metadata
from psops.operations import EncryptPlan, encrypt_bytes, open_encrypted, reseal
from psops.tree import Document, Mapping

_EXTENSIONS = {"yaml": (".yaml", ".yml"), "json": (".json",), "dotenv": (".env",), "ini": (".ini",)}
_UNSAFE = re.compile(r"[^A-Za-z0-9._+@%,=-]")
_QUICK_RETURN_SECONDS = 1.0


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@dataclass
class EditOptions:
    """How to read, show and write the file being edited."""

    input_format: str
    output_format: str
    show_master_keys: bool = False
    ignore_mac: bool = False
    decryption_order: Sequence[str] | None = None
    settings: StoreSettings = field(default_factory=StoreSettings)
    interactive: bool = False


class _Invalid(Exception):
    """Edited content that cannot be saved as it is; the user may fix it in the editor."""


class _Conflict(Exception):
    """FILE changed under us; reopening the editor cannot help."""


class _Target(Protocol):
    """What is being edited: an existing encrypted file or a new one."""

    shown: bytes
    warnings: list[str]

    def build(self, data: bytes) -> bytes | None:
        """Validate edited bytes and return the encrypted output (None: content unchanged)."""
        ...

    def write(self, out: bytes) -> None:
        """Write the output to FILE (raises _Conflict if FILE changed meanwhile)."""
        ...

    def rescue_hint(self, rescue: Path) -> str:
        """How to apply rescued edits later."""
        ...


def temp_name(path: str, fmt: str) -> str:
    """The temp file's name: FILE's base name (shell-safe characters), with the format's extension."""
    base = _UNSAFE.sub("_", Path(path).name) or "file"
    exts = _EXTENSIONS.get(fmt)
    if exts and not base.lower().endswith(exts):
        base += exts[0]
    return base


def _refuse_reserved(doc: Document) -> None:
    i = reserved_key_at(doc)
    if i is not None:
        where = f" (document {i + 1})" if len(doc) > 1 else ""
        raise _Invalid(f"the top-level key 'sops' is reserved for the encryption metadata{where}; rename it")


def _parse(store_load: Callable[[bytes], Document], data: bytes) -> Document:
    try:
        return store_load(data)
    except PsopsError as exc:
        raise _Invalid(exc.message.replace("\n", " ")) from None


class _ExistingFile:
    """An encrypted FILE opened with its data key; saved with :func:`reseal`."""

    def __init__(self, path: str, options: EditOptions) -> None:
        self.path = path
        self.options = options
        if Path(path).is_symlink():
            raise CannotWriteOutput("refusing to edit through a symbolic link (it would be replaced by a file)",
                                    hint="edit the link's target path instead")
        self.original = read_input(path)
        self.opened = open_encrypted(self.original, input_format=options.input_format,
                                     ignore_mac=options.ignore_mac, decryption_order=options.decryption_order,
                                     settings=options.settings)
        self.warnings = list(self.opened.warnings)
        self.store = get_store(options.output_format, options.settings)
        shown_doc = [Mapping(list(branch.items)) for branch in self.opened.doc]
        if options.show_master_keys:
            if options.output_format == "binary":
                raise PsopsError("--show-master-keys cannot show the metadata of a binary file",
                                 hint="edit it without --show-master-keys")
            attach_metadata(shown_doc, build_metadata(self.opened.metadata,
                                                      empty_list_as_null=options.output_format == "json"))
        self.shown = self.store.dump(shown_doc)
        self.reference = self.store.load(self.shown)
        self.reference_blocks: list[Mapping] = []
        if options.show_master_keys:
            for branch in self.reference:
                block = split_metadata(branch)
                assert block is not None
                self.reference_blocks.append(block)

    def build(self, data: bytes) -> bytes | None:
        doc = _parse(self.store.load, data)
        if self.options.show_master_keys:
            self._check_metadata(doc)
        else:
            _refuse_reserved(doc)
        if same_document(doc, self.reference):
            return None
        doc = restore_document(doc, self.reference, self.opened.doc)
        try:
            return reseal(self.opened, doc, output_format=self.options.output_format, settings=self.options.settings)
        except PsopsError as exc:
            raise _Invalid(exc.message) from None

    def _check_metadata(self, doc: Document) -> None:
        for i, branch in enumerate(doc):
            where = f" of document {i + 1}" if len(doc) > 1 else ""
            try:
                block = split_metadata(branch)
            except PsopsError as exc:
                raise _Invalid(exc.message) from None
            if block is None:
                raise _Invalid(f"the 'sops' metadata block{where} was removed; psops refuses edits to the metadata "
                               "(put it back as it was)")
            reference = self.reference_blocks[min(i, len(self.reference_blocks) - 1)]
            if not same_value(block, reference):
                raise _Invalid(f"the 'sops' metadata block{where} was changed; psops refuses edits to the metadata "
                               "(undo that change; change keys with psops rotate or updatekeys)")

    def write(self, out: bytes) -> None:
        try:
            current = read_input(self.path)
        except PsopsError:
            current = None
        if current != self.original:
            raise _Conflict("the file was changed or removed by another program while you were editing; "
                            "it was not overwritten")
        atomic_write(self.path, out)

    def rescue_hint(self, rescue: Path) -> str:
        return f"fix them, then run: psops replace {self.path} {rescue} (and delete {rescue})"


class _NewFile:
    """A FILE that does not exist yet: a template, encrypted with the plan's keys on save."""

    def __init__(self, path: str, options: EditOptions, plan: Callable[[], EncryptPlan]) -> None:
        self.path = path
        self.options = options
        folder = Path(path).parent
        if not folder.is_dir():
            raise CannotWriteOutput(f"cannot create the file: {folder} is not a directory",
                                    hint="create the directory first")
        self.plan = plan()
        self.store = get_store(options.output_format, self.plan.settings)
        self.shown = template_for(options.output_format)
        self.reference = self.store.load(self.shown)
        self.warnings: list[str] = []
        if options.show_master_keys:
            self.warnings.append("--show-master-keys: a new file has no metadata until it is saved")

    def build(self, data: bytes) -> bytes | None:
        doc = _parse(self.store.load, data)
        _refuse_reserved(doc)
        if same_document(doc, self.reference):
            return None
        try:
            return encrypt_bytes(data, self.plan, input_format=self.options.output_format,
                                 output_format=self.options.output_format)
        except PsopsError as exc:
            raise _Invalid(exc.message) from None

    def write(self, out: bytes) -> None:
        if os.path.lexists(self.path):
            raise _Conflict("another program created the file while you were editing; it was not overwritten")
        atomic_write(self.path, out)

    def rescue_hint(self, rescue: Path) -> str:
        return (f"fix them, then run: psops encrypt --filename-override {self.path} --output {self.path} {rescue} "
                f"(and delete {rescue})")


class _Session:
    """The edit loop over one temp file."""

    def __init__(self, path: str, target: _Target, editor: EditorCommand, trap: SignalTrap, tmp: Path,
                 *, interactive: bool, say: Callable[[str], None]) -> None:
        self.path = path
        self.target = target
        self.editor = editor
        self.trap = trap
        self.tmp = tmp
        self.interactive = interactive
        self.say = say

    def run(self) -> None:
        latest: bytes | None = self.target.shown
        while True:
            if self.trap.signum is not None:
                raise self._abort(self.trap.interrupted("nothing was saved"), latest)
            try:
                run = run_editor(self.editor, self.tmp, self.trap)
            except EditorFailed as exc:
                raise self._abort(exc, latest) from None
            latest = self._read_back()
            if self.trap.signum is not None:
                raise self._abort(self.trap.interrupted("nothing was saved"), latest)
            if run.returncode != 0:
                raise self._abort(self._editor_failure(run), latest)
            if latest is None:
                raise EditRejected("the temporary file was deleted in the editor; nothing was saved")
            if latest == self.target.shown:
                raise FileUnchanged("the file has not changed; nothing was written", hint=self._quick_hint(run))
            try:
                out = self.target.build(latest)
            except _Invalid as problem:
                if self.interactive and self._ask_reopen(str(problem), latest):
                    continue
                raise self._abort(EditRejected(str(problem)), latest) from None
            if out is None:
                raise FileUnchanged("only the layout changed, not the content; nothing was written")
            if self.trap.signum is not None:
                raise self._abort(self.trap.interrupted("nothing was saved"), latest)
            try:
                self.target.write(out)
            except _Conflict as conflict:
                raise self._abort(EditRejected(str(conflict)), latest) from None
            except PsopsError as exc:
                raise self._abort(exc, latest) from None
            return

    def _read_back(self) -> bytes | None:
        try:
            with open(self.tmp, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EditRejected(f"cannot read the edited temporary file back: {exc.strerror}") from None

    def _editor_failure(self, run: EditorRun) -> EditorFailed:
        if run.returncode < 0:
            how = f"was killed by {signal_name(-run.returncode)}"
        else:
            how = f"exited with status {run.returncode}"
        return EditorFailed(f"the editor {how}; nothing was saved")

    def _quick_hint(self, run: EditorRun) -> str | None:
        if run.seconds < _QUICK_RETURN_SECONDS and self.editor.source != "default":
            return ("if your editor returns before you close the file (a GUI editor), make it wait, "
                    f"e.g. {self.editor.source}='code --wait'")
        return None

    def _ask_reopen(self, problem: str, latest: bytes) -> bool:
        self.say(f"psops: error: {self.path}: {problem}")
        sys.stderr.write("Press Enter to reopen the editor, or type q and Enter to stop "
                         "(your edits will be kept in a private file): ")
        sys.stderr.flush()
        try:
            with self.trap.raising():
                line = sys.stdin.readline()
        except Interrupted as exc:
            raise self._abort(exc, latest) from None
        if not line:
            sys.stderr.write("\n")
            return False
        return line.strip().lower() not in ("q", "quit", "n", "no")

    def _abort(self, error: PsopsError, latest: bytes | None) -> PsopsError:
        """Keep changed content in a rescue file and say where in ``error``."""
        if latest is not None and latest != self.target.shown:
            rescue = keep_edits(latest, self.tmp.name)
            error.message += f"; your edits are kept in {rescue} (mode 0600)"
            error.hint = self.target.rescue_hint(rescue)
        return error


def edit_file(path: str, options: EditOptions, *, plan: Callable[[], EncryptPlan],
              editor: EditorCommand | None = None, say: Callable[[str], None] = _stderr) -> None:
    """Edit encrypted ``path`` in an editor (or create it from a template); see the module docstring."""
    editor = editor or resolve_editor()
    target: _Target = _ExistingFile(path, options) if os.path.lexists(path) else _NewFile(path, options, plan)
    for message in target.warnings:
        say(f"psops: warning: {path}: {message}")
    with SignalTrap() as trap, private_dir("psops-edit-") as space:
        tmp = space.write_file(temp_name(path, options.output_format), target.shown)
        _Session(path, target, editor, trap, tmp, interactive=options.interactive, say=say).run()
