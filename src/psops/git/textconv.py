"""The diff textconv: any blob git hands us -> stable text for ``git diff``, ``git log -p`` and ``git show``.

Git runs ``psops git textconv FILE`` on each side of a diff, where FILE is a temp file (or the work-tree file)
and the format is told by its name or content (:mod:`psops.git.blobformat`), never by creation rules. Output:

* an encrypted file we can decrypt: the decrypted document in its own format (the ``sops`` block dropped),
  followed by one ``# psops: master key ...`` line per master key, so a changed key set shows in the diff while
  ``lastmodified`` and ``mac`` (which change on every write) do not. If the MAC does not match, a first line
  ``# psops: MAC MISMATCH ...`` says so;
* an encrypted file without a usable key: the same tree with each encrypted value replaced by
  ``<encrypted:FINGERPRINT>``, the first 12 hex digits of the SHA-256 of its ``ENC[...]`` string. Unchanged
  values keep their ciphertext when psops or sops rewrite a file, so the reviewer still sees which keys changed;
* anything else (a plaintext file, a file we cannot parse): the bytes unchanged.

It never fails the diff: every problem becomes one of the outputs above and a warning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from psops.cipher import ENC_PREFIX
from psops.engine import has_metadata, open_document
from psops.errors import MacMismatch, PsopsError
from psops.formats import get_store
from psops.git.blobformat import detect_format
from psops.keys.base import KeyStanza
from psops.operations import open_encrypted
from psops.policy import key_identity
from psops.tree import Comment, Document, Mapping, Value

FINGERPRINT_HEX = 12
_ESCAPED_FP = re.compile(rb"\\u003cencrypted:([0-9a-f]{%d})\\u003e" % FINGERPRINT_HEX)


@dataclass
class TextconvResult:
    """The text to show and warnings for stderr."""

    data: bytes
    warnings: list[str] = field(default_factory=list)


def fingerprint(enc: str) -> str:
    """The short stable stand-in for an encrypted value: ``<encrypted:`` + SHA-256 prefix + ``>``."""
    return f"<encrypted:{hashlib.sha256(enc.encode('utf-8', 'surrogateescape')).hexdigest()[:FINGERPRINT_HEX]}>"


def textconv(data: bytes, name: str | None = None, *,
             decryption_order: Sequence[str] | None = None) -> TextconvResult:
    """Convert one blob to the text git diffs (see the module docstring); never raises a PsopsError."""
    fmt = detect_format(name, data)
    try:
        store = get_store(fmt)
        doc = store.load(data)
    except PsopsError as exc:
        return TextconvResult(data, [f"shown as is: {exc.message}"] if data.strip() else [])
    if not has_metadata(doc):
        return TextconvResult(data)
    try:
        branches, meta = open_document(doc)
    except PsopsError as exc:
        return TextconvResult(data, [f"shown as is: {exc.message}"])
    trailer = key_trailer(meta.key_groups)
    header = b""
    warnings: list[str] = []
    try:
        try:
            opened = open_encrypted(data, input_format=fmt, decryption_order=decryption_order)
        except MacMismatch:
            opened = open_encrypted(data, input_format=fmt, ignore_mac=True, decryption_order=decryption_order)
            header = b"# psops: MAC MISMATCH: this version was modified without its key (shown anyway)\n"
            warnings.append("MAC mismatch: the file was modified without its key")
        body = store.dump(opened.doc)
    except PsopsError as exc:
        warnings.append(f"values shown as fingerprints: {exc.message}")
        body = store.dump(fingerprint_tree(branches))
        if fmt in ("json", "binary"):  # the JSON store escapes < and > as Go does; undo it for the stand-ins
            body = _ESCAPED_FP.sub(rb"<encrypted:\1>", body)
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return TextconvResult(header + body + trailer, warnings)


def fingerprint_tree(doc: Document) -> Document:
    """The document with every ``ENC[...]`` value and encrypted comment replaced by its fingerprint."""
    return [_fp_mapping(branch) for branch in doc]


def _fp_mapping(node: Mapping) -> Mapping:
    return Mapping([(_fp_comment(k) if isinstance(k, Comment) else k, _fp(v)) for k, v in node.items])


def _fp_comment(comment: Comment) -> Comment:
    return Comment(fingerprint(comment.text)) if comment.text.startswith(ENC_PREFIX) else comment


def _fp(value: Value) -> Value:
    if isinstance(value, Mapping):
        return _fp_mapping(value)
    if isinstance(value, list):
        return [_fp(v) for v in value]
    if isinstance(value, Comment):
        return _fp_comment(value)
    if isinstance(value, str) and value.startswith(ENC_PREFIX):
        return fingerprint(value)
    return value


def key_trailer(groups: list[list[KeyStanza]]) -> bytes:
    """One ``# psops: master key`` line per master key (with its group when there are several groups)."""
    lines = []
    for gi, group in enumerate(groups):
        where = f" (group {gi + 1})" if len(groups) > 1 else ""
        for stanza in group:
            lines.append(f"# psops: master key{where}: {stanza.kind} {key_identity(stanza).strip()}\n")
    return "".join(lines).encode("utf-8", "replace")


__all__ = ["TextconvResult", "fingerprint", "fingerprint_tree", "key_trailer", "textconv"]
