"""The merge driver: ``psops git merge %O %A %B %L %P`` merges an encrypted file structurally.

Git hands the driver three temp files (base ``%O``, ours ``%A``, theirs ``%B``) and the path ``%P``; the
driver writes the result into ``%A`` and exits 0, or non-zero for a conflict. Here:

1. base, ours and theirs are opened (decrypted, MAC checked), each with its own data key;
2. the decrypted trees are merged by :mod:`psops.git.merge`;
3. a clean result is sealed and written to ``%A`` atomically; a conflict leaves ``%A`` exactly as ours (a valid
   encrypted file, never plaintext, never conflict markers inside ciphertext) and exits non-zero.

**Which keys seal the result.** The *key material* of a side is its master-key set (per group, plus the
Shamir threshold) and its data key. It is merged 3-way as one unit: if theirs kept the base's key material,
ours' is used; if ours kept it, theirs' is used (so a branch that ran ``updatekeys`` or ``rotate`` wins over
one that only edited values — note that ``sops updatekeys`` does not touch ``lastmodified``); if both sides
changed it, the side whose ``lastmodified`` is newer wins (ours on a tie). The result is sealed with the
winning side's data key and master keys, so values that did not change keep their ciphertext. When both
sides changed it and their data keys differ (someone rotated), a fresh data key is made and wrapped for the
winning key set, so neither side's old data key survives. The selection rules (``encrypted_regex`` ...) are
merged 3-way the same way, ours winning when both changed them.

Files that carry no SOPS metadata on any side are merged as text by ``git merge-file``.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from psops.cipher import parse_time
from psops.engine import Decrypted, encrypt_document, has_metadata
from psops.errors import DecryptError, GitError, MergeConflict, PsopsError
from psops.files import atomic_write, read_input
from psops.formats import StoreSettings, get_store
from psops.git.blobformat import detect_format
from psops.git.merge import Conflict, MergeResult, Side, merge_documents
from psops.metadata import Metadata, attach_metadata, build_metadata
from psops.operations import load_encrypted, open_encrypted, reseal
from psops.policy import key_identity
from psops.selection import EncryptionRules
from psops.tree import Document

_PROBE_AAD = "\x00psops-data-key-probe"


@dataclass
class Sides:
    """The three opened versions of a file (``base`` is None when the sides have no common ancestor)."""

    fmt: str
    base: Decrypted | None
    ours: Decrypted
    theirs: Decrypted


@dataclass
class MergeOutcome:
    """What the driver writes (ours unchanged on conflict), the conflicts, and notes about the key choice."""

    data: bytes
    conflicts: list[Conflict]
    notes: list[str] = field(default_factory=list)


def store_settings(name: str) -> StoreSettings:
    """Layout settings (indent) from the config that applies to ``name``; defaults without one."""
    from psops.policy import discover_config

    try:
        cfg = discover_config(Path(name), creation_rules=False)
    except PsopsError:
        return StoreSettings()
    return cfg.stores if cfg is not None else StoreSettings()


def open_sides(base: bytes | None, ours: bytes, theirs: bytes, *, name: str,
               decryption_order: Sequence[str] | None = None,
               settings: StoreSettings | None = None) -> Sides:
    """Decrypt the three versions (MAC checked); a failure names the side and is a MergeConflict."""
    fmt = detect_format(name, ours)

    def open_one(side: str, data: bytes) -> Decrypted:
        try:
            return open_encrypted(data, input_format=fmt, decryption_order=decryption_order, settings=settings)
        except PsopsError as exc:
            raise MergeConflict(f"cannot open {side}: {exc.message}", path=name,
                                hint=exc.hint or "resolve the file by hand; it was left as ours") from None

    opened_base = open_one("the base version", base) if base is not None and base.strip() else None
    return Sides(fmt, opened_base, open_one("ours", ours), open_one("theirs", theirs))


def is_encrypted_blob(data: bytes, name: str) -> bool:
    """True when ``data`` parses and carries a top-level ``sops`` block."""
    try:
        return has_metadata(load_encrypted(data, detect_format(name, data)))
    except PsopsError:
        return False


def _key_set(meta: Metadata) -> tuple[object, ...]:
    groups = tuple(tuple(sorted(f"{s.kind}:{key_identity(s).strip()}" for s in group)) for group in meta.key_groups)
    return (groups, meta.threshold())


def same_data_key(a: Decrypted, b: Decrypted) -> bool:
    """True when two opened files share their data key (checked by a probe value, not by comparing keys)."""
    probe = a.cipher.encrypt_bytes(b"probe", "str", _PROBE_AAD)
    try:
        b.cipher.decrypt_bytes(probe, _PROBE_AAD)
    except DecryptError:
        return False
    return True


def _key_material_changed(side: Decrypted, base: Decrypted | None) -> bool:
    if base is None:
        return True
    return _key_set(side.metadata) != _key_set(base.metadata) or not same_data_key(side, base)


def _newer(ours: Decrypted, theirs: Decrypted) -> Side:
    def stamp(d: Decrypted) -> float:
        try:
            return parse_time(d.metadata.lastmodified).timestamp()
        except ValueError:
            return float("-inf")

    return "theirs" if stamp(theirs) > stamp(ours) else "ours"


def _merge_rules(sides: Sides) -> EncryptionRules:
    ours, theirs = sides.ours.metadata.rules, sides.theirs.metadata.rules
    base = sides.base.metadata.rules if sides.base else None
    if base is not None and ours == base:
        return theirs
    return ours


def seal_merged(sides: Sides, doc: Document, *, settings: StoreSettings | None = None) -> tuple[bytes, list[str]]:
    """Encrypt a merged document with the key material chosen as the module docstring says."""
    notes: list[str] = []
    ours_changed = _key_material_changed(sides.ours, sides.base)
    theirs_changed = _key_material_changed(sides.theirs, sides.base)
    fresh = False
    if not theirs_changed:
        winner: Side = "ours"
    elif not ours_changed:
        winner = "theirs"
        notes.append("used theirs' master keys and data key (only theirs changed them)")
    else:
        winner = _newer(sides.ours, sides.theirs)
        fresh = not same_data_key(sides.ours, sides.theirs)
        if winner == "theirs" or fresh:
            notes.append(f"both sides changed the keys: used {winner}' master keys (newer lastmodified)"
                         + ("; made a fresh data key" if fresh else ""))
    chosen = sides.ours if winner == "ours" else sides.theirs
    rules = _merge_rules(sides)
    if not fresh:
        opened = Decrypted(chosen.doc, chosen.metadata.replace(rules=rules), chosen.cipher)
        return reseal(opened, doc, output_format=sides.fmt, settings=settings), notes
    meta = chosen.metadata
    encrypted, new_meta = encrypt_document(doc, meta.key_groups, rules=rules, shamir_threshold=meta.shamir_threshold,
                                           default_rules=sides.fmt != "binary")
    out_fmt = "json" if sides.fmt == "binary" else sides.fmt
    attach_metadata(encrypted, build_metadata(new_meta, empty_list_as_null=out_fmt == "json"))
    return get_store(sides.fmt, settings).dump(encrypted), notes


def merge_blobs(base: bytes | None, ours: bytes, theirs: bytes, *, name: str,
                decryption_order: Sequence[str] | None = None) -> MergeOutcome:
    """Merge three encrypted versions of ``name``; on conflict the outcome's data is ours, unchanged."""
    settings = store_settings(name)
    sides = open_sides(base, ours, theirs, name=name, decryption_order=decryption_order, settings=settings)
    result: MergeResult = merge_documents(sides.base.doc if sides.base else None, sides.ours.doc, sides.theirs.doc)
    if not result.clean:
        return MergeOutcome(ours, result.conflicts)
    data, notes = seal_merged(sides, result.doc, settings=settings)
    return MergeOutcome(data, [], notes)


def merge_plain_text(base: str, ours: str, theirs: str, *, marker_size: int, name: str) -> int:
    """Merge files without SOPS metadata as text with ``git merge-file`` (result in ``ours``); conflict count."""
    args = ["git", "merge-file", f"--marker-size={marker_size}", "-L", f"{name} (ours)", "-L", f"{name} (base)",
            "-L", f"{name} (theirs)", ours, base, theirs]
    try:
        proc = subprocess.run(args, capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git merge-file could not run: {type(exc).__name__}", path=name) from None
    if proc.returncode < 0 or proc.returncode > 127:
        raise GitError("git merge-file failed", path=name)
    return proc.returncode


def run_driver(base_path: str, ours_path: str, theirs_path: str, *, marker_size: int = 7, name: str | None = None,
               decryption_order: Sequence[str] | None = None) -> list[str]:
    """The whole driver: merge into ``ours_path``; returns notes, raises MergeConflict on conflict."""
    display = name or ours_path
    base, ours, theirs = (read_input(p) for p in (base_path, ours_path, theirs_path))
    if not any(is_encrypted_blob(b, display) for b in (base, ours, theirs)):
        conflicts = merge_plain_text(base_path, ours_path, theirs_path, marker_size=marker_size, name=display)
        if conflicts:
            raise MergeConflict(f"{conflicts} text conflict(s) (the file is not encrypted)", path=display,
                                hint="resolve the conflict markers, then git add the file")
        return []
    outcome = merge_blobs(base, ours, theirs, name=display, decryption_order=decryption_order)
    if outcome.conflicts:
        where = ", ".join(f"{c.where()} ({c.reason})" for c in outcome.conflicts[:10])
        more = f" and {len(outcome.conflicts) - 10} more" if len(outcome.conflicts) > 10 else ""
        raise MergeConflict(f"conflicting changes at {where}{more}; the file was left as ours, still encrypted",
                            path=display,
                            hint=f"resolve with 'git mergetool --tool=psops {display}' (or 'psops git mergetool')")
    with contextlib.suppress(OSError):
        if Path(ours_path).read_bytes() == outcome.data:
            return outcome.notes
    atomic_write(ours_path, outcome.data)
    return outcome.notes


__all__ = [
    "MergeOutcome",
    "Sides",
    "is_encrypted_blob",
    "merge_blobs",
    "merge_plain_text",
    "open_sides",
    "run_driver",
    "same_data_key",
    "seal_merged",
    "store_settings",
]
