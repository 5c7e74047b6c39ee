"""The mergetool: resolve a conflicted encrypted file in the editor, decrypted, with conflict markers.

The three versions (from the index stages, or the files ``git mergetool`` hands over) are opened and merged
structurally twice: once resolving each conflict to ours, once to theirs. Both results are rendered in the
file's format; they differ only where the conflicts are, and a line diff of the two renderings gives the
conflict regions::

    <<<<<<< ours
        password: from-our-branch
    =======
        password: from-their-branch
    >>>>>>> theirs

The text goes to a private temp file through ``psops edit``'s machinery (:mod:`psops.editing`: mode 0600 in a
0700 directory of its own, removed on every exit path, SIGINT/SIGTERM/SIGHUP trapped until it is gone) and the
editor (``$SOPS_EDITOR``, ``$EDITOR``, else vim, nano, vi) is run on it. On
save the text must hold no conflict marker, must parse, and must not carry a ``sops`` block; it is then sealed
like a driver merge (:func:`psops.git.driver.seal_merged`: the chosen side's data key, unchanged values keep
their ciphertext) and written atomically to the working file. When the structural merge has no conflict at
all (the driver was not installed, so git's line merge failed), the result is written without an editor.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from psops.editing.editor import EditorCommand, resolve_editor, run_editor
from psops.editing.session import temp_name
from psops.editing.signals import SignalTrap
from psops.editing.workspace import private_dir
from psops.engine import has_metadata
from psops.errors import EditorFailed, MergeConflict, PsopsError
from psops.files import atomic_write
from psops.formats import StoreSettings, get_store
from psops.git.driver import Sides, open_sides, seal_merged, store_settings
from psops.git.merge import Conflict, merge_documents
from psops.tree import Document


@dataclass
class ConflictView:
    """The decrypted text shown in the editor and the conflicts it holds."""

    text: bytes
    conflicts: list[Conflict]
    doc: Document  # the merge with every conflict resolved to ours


@dataclass
class MergetoolResult:
    """What was written and whether the editor was needed."""

    data: bytes
    edited: bool
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _lines(data: bytes) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    return lines


def with_markers(ours: bytes, theirs: bytes, *, marker_size: int = 7) -> bytes:
    """Interleave two renderings: equal lines once, differing regions between conflict markers."""
    a, b = _lines(ours), _lines(theirs)
    out: list[bytes] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(a[i1:i2])
            continue
        out.append(b"<" * marker_size + b" ours\n")
        out.extend(a[i1:i2])
        out.append(b"=" * marker_size + b"\n")
        out.extend(b[j1:j2])
        out.append(b">" * marker_size + b" theirs\n")
    return b"".join(out)


def conflict_view(sides: Sides, *, marker_size: int = 7, settings: StoreSettings | None = None) -> ConflictView:
    """Render the merge of ``sides`` with markers around every conflicting region."""
    base = sides.base.doc if sides.base else None
    store = get_store(sides.fmt, settings)
    as_ours = merge_documents(base, sides.ours.doc, sides.theirs.doc, prefer="ours")
    if as_ours.clean:
        return ConflictView(store.dump(as_ours.doc), [], as_ours.doc)
    as_theirs = merge_documents(base, sides.ours.doc, sides.theirs.doc, prefer="theirs")
    text = with_markers(store.dump(as_ours.doc), store.dump(as_theirs.doc), marker_size=marker_size)
    return ConflictView(text, as_ours.conflicts, as_ours.doc)


def has_markers(data: bytes, marker_size: int = 7) -> int:
    """The 1-based line number of the first conflict marker line, or 0 when there is none."""
    starts = (b"<" * marker_size, b"=" * marker_size, b">" * marker_size, b"|" * marker_size)
    for number, line in enumerate(data.splitlines(), 1):
        if line.startswith(starts) and (len(line) == marker_size or line[marker_size:marker_size + 1] in b" \t"):
            return number
    return 0


@contextlib.contextmanager
def private_file(fmt: str, data: bytes, name: str) -> Iterator[Path]:
    """A 0600 file holding ``data`` in a fresh 0700 directory (psops edit's workspace); removed at the end."""
    with private_dir("psops-merge-") as space:
        yield space.write_file(temp_name(name, fmt), data)


def _edit(editor: EditorCommand, path: Path, trap: SignalTrap) -> bytes:
    """Run the editor once and read the file back; EditorFailed/Interrupted when that did not work."""
    trap.check("nothing was written")
    run = run_editor(editor, path, trap)
    trap.check("nothing was written")
    if run.returncode != 0:
        code = run.returncode
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise EditorFailed(f"the editor {how}; nothing was written")
    try:
        return path.read_bytes()
    except OSError:
        raise EditorFailed("the temporary file was removed in the editor; nothing was written") from None


def validate_resolution(data: bytes, fmt: str, *, marker_size: int = 7,
                        settings: StoreSettings | None = None) -> Document:
    """Parse the edited text; MergeConflict when markers remain, it does not parse, or it has a sops block."""
    line = has_markers(data, marker_size)
    if line:
        raise MergeConflict(f"conflict markers remain (line {line}); nothing was written",
                            hint="remove every <<<<<<< ======= >>>>>>> block, keeping the value you want")
    try:
        doc = get_store(fmt, settings).load(data)
    except PsopsError as exc:
        raise MergeConflict(f"the resolved file does not parse: {exc.message}; nothing was written",
                            hint="fix the syntax and run the mergetool again") from None
    if has_metadata(doc):
        raise MergeConflict("the resolved file has a top-level 'sops' key; nothing was written",
                            hint="the metadata is written by psops; remove the sops block")
    return doc


def resolve(merged_path: str | Path, *, base: bytes | None, ours: bytes, theirs: bytes, name: str | None = None,
            marker_size: int = 7, decryption_order: Sequence[str] | None = None) -> MergetoolResult:
    """Resolve the conflict of ``merged_path`` (see the module docstring) and write the encrypted result."""
    display = name or str(merged_path)
    settings = store_settings(display)
    sides = open_sides(base, ours, theirs, name=display, decryption_order=decryption_order, settings=settings)
    view = conflict_view(sides, marker_size=marker_size, settings=settings)
    if not view.conflicts:
        data, notes = seal_merged(sides, view.doc, settings=settings)
        atomic_write(merged_path, data)
        return MergetoolResult(data, edited=False, notes=notes)
    editor = resolve_editor()
    with SignalTrap() as trap, private_file(sides.fmt, view.text, display) as path:
        while True:
            edited = _edit(editor, path, trap)
            try:
                if edited == view.text:
                    raise MergeConflict("the file was saved unchanged, with its conflict markers; nothing was written",
                                        hint="edit the marked regions, keeping the values you want")
                doc = validate_resolution(edited, sides.fmt, marker_size=marker_size, settings=settings)
                break
            except MergeConflict as exc:
                if not _ask_again(exc, trap):
                    raise
    data, notes = seal_merged(sides, doc, settings=settings)
    atomic_write(merged_path, data)
    return MergetoolResult(data, edited=True, conflicts=view.conflicts, notes=notes)


def _ask_again(exc: MergeConflict, trap: SignalTrap) -> bool:
    """On a terminal, offer to re-open the editor after a failed validation."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    sys.stderr.write(f"psops: {exc.message}\nPress Enter to return to the editor, or Ctrl-C to give up: ")
    sys.stderr.flush()
    with trap.raising():
        sys.stdin.readline()
    return True


__all__ = [
    "ConflictView",
    "MergetoolResult",
    "conflict_view",
    "has_markers",
    "private_file",
    "resolve",
    "validate_resolution",
    "with_markers",
]
