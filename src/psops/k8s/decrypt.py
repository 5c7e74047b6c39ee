"""Decrypt a tree of Kubernetes manifests into one stream for ``kubectl apply -f -``, never touching disk.

Each input file is cut into documents by :mod:`psops.k8s.stream` (a JSON file is one document). Every
document is first read with a fast YAML/JSON loader, only to learn its kind, name, annotations and whether it
has a top-level ``sops`` mapping. Documents that carry SOPS metadata form *units*: all documents of one file
with the same ``sops`` block were encrypted together (sops writes the block into every document of a
multi-document file, and its MAC covers them all), so each unit is re-read with the SOPS-exact store and
decrypted as one by :func:`psops.engine.decrypt_document`, MAC checked unless ``ignore_mac``. Its documents
come out without the ``sops`` block, re-emitted as YAML (JSON for JSON inputs); every other document goes
out as its own bytes. Flux's rules (:mod:`psops.k8s.flux`) apply: the ``decrypt: disabled`` annotation keeps a
document encrypted, and SOPS files inside Secret ``data`` values are decrypted. The checks of
:mod:`psops.k8s.checks` run on what was decrypted, and duplicate Secrets are refused across the whole output.

Files are processed concurrently by a bounded thread pool (:data:`DEFAULT_JOBS`): unwrapping a data key with
a KMS, Vault or gpg waits on I/O with the GIL released, so many round trips overlap. Parsing and AES-GCM are
Python code holding the GIL, so for local age keys threads change little. Results keep the input order, the
first failing file (in that order) is the error reported, and nothing is output unless every file succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from psops.engine import decrypt_document
from psops.errors import CannotReadInput, ConflictingParameters, MacMismatch, PsopsError
from psops.k8s.checks import ObjectRef, check_duplicates, check_secret, object_ref
from psops.k8s.flux import decrypt_data_value, decrypt_disabled
from psops.k8s.stream import Chunk, has_content, join_documents, split_stream
from psops.k8s.walk import InputFile, WalkOptions, collect_inputs, read_input_file
from psops.tree import Mapping, to_plain

DEFAULT_JOBS = 32
"""Files decrypted at the same time by default."""

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class DecryptOptions:
    """How ``psops k8s decrypt`` treats its inputs."""

    ignore_mac: bool = False
    decryption_order: tuple[str, ...] | None = None
    only_kinds: frozenset[str] = frozenset()
    skip_kinds: frozenset[str] = frozenset()
    indent: int = 2
    jobs: int = DEFAULT_JOBS
    walk: WalkOptions = field(default_factory=WalkOptions)
    input_type: str | None = None
    """yaml or json for standard input and unknown extensions (default: guess from the first byte)."""

    def wants(self, kind: str | None) -> bool:
        """Whether a document of ``kind`` goes to the output under the kind filters."""
        if self.only_kinds and kind not in self.only_kinds:
            return False
        return kind not in self.skip_kinds


@dataclass
class ManifestDoc:
    """One document of the output."""

    source: str
    """The input it came from, as displayed."""
    index: int
    """Its position among the documents of that input (0-based)."""
    text: bytes
    """Its bytes in the output."""
    ref: ObjectRef
    decrypted: bool = False
    """True when SOPS metadata (or an embedded SOPS file) was decrypted to make it."""
    tree: Mapping = field(default_factory=Mapping)
    """The document as a tree (decrypted, or as read for documents passed through)."""
    where: str = ""
    """The input and, for multi-document inputs, the document number (for messages)."""


@dataclass
class SourceResult:
    """The output documents of one input, plus warnings for stderr."""

    item: InputFile
    docs: list[ManifestDoc]
    warnings: list[str] = field(default_factory=list)


# --- loading --------------------------------------------------------------------------------------------


def detect_format(name: str, data: bytes, explicit: str | None = None) -> str:
    """``yaml`` or ``json``: the explicit type, else by extension, else JSON when it parses as a JSON object."""
    if explicit:
        if explicit not in ("yaml", "json"):
            raise ConflictingParameters(f"manifests are YAML or JSON, not {explicit!r}", path=name)
        return explicit
    lower = name.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if data.lstrip()[:1] == b"{":
        try:
            json.loads(data)
        except ValueError:
            return "yaml"
        return "json"
    return "yaml"


def load_document(text: bytes, fmt: str, where: str) -> Mapping:
    """One document as a tree, read by the SOPS-exact store (the one parse both routing and decryption use)."""
    from psops.formats import get_store

    try:
        doc = get_store(fmt).load(text)
    except PsopsError as exc:
        raise exc.with_path(where) from None
    if len(doc) != 1:
        raise CannotReadInput(f"expected one document, found {len(doc)}", path=where)
    return doc[0]


def _render(tree: Mapping, fmt: str, indent: int) -> bytes:
    if fmt == "json":
        from psops.formats.json_store import JsonStore

        return JsonStore(indent).dump([tree])
    from psops.formats.yaml_store import YamlStore

    return YamlStore(indent=indent).dump([tree])


def _unit_key(block: object) -> str:
    return json.dumps(block, sort_keys=True, default=str)


# --- one input --------------------------------------------------------------------------------------------


def decrypt_source(name: str, data: bytes, options: DecryptOptions | None = None,
                   fmt: str | None = None) -> tuple[list[ManifestDoc], list[str]]:
    """Decrypt one input's bytes: its output documents (in order, filtered) and warnings."""
    options = options or DecryptOptions()
    fmt = fmt or detect_format(name, data, options.input_type)
    chunks = split_stream(data) if fmt != "json" else [Chunk(0, b"", b"", data, 1)] if has_content(data) else []
    multi = len(chunks) > 1

    def where(i: int) -> str:
        return f"{name} (document {i + 1})" if multi else name

    texts = [c.body if fmt == "json" else c.text for c in chunks]
    trees = [load_document(text, fmt, where(c.index)) for text, c in zip(texts, chunks, strict=True)]
    plains = [to_plain(tree) for tree in trees]
    units: dict[str, list[int]] = {}
    for i, plain in enumerate(plains):
        if isinstance(plain, dict) and isinstance(plain.get("sops"), dict):
            units.setdefault(_unit_key(plain["sops"]), []).append(i)
    out: list[ManifestDoc | None] = [None] * len(chunks)
    warnings: list[str] = []
    for idxs in units.values():
        wanted = [i for i in idxs if not decrypt_disabled(plains[i]) and _maybe_wanted(plains[i], options)]
        if not wanted:
            continue
        label = where(idxs[0]) if len(idxs) == 1 else (
            f"{name} (documents {', '.join(str(i + 1) for i in idxs)})" if multi else name)
        try:
            result = decrypt_document([trees[i] for i in idxs], ignore_mac=options.ignore_mac,
                                      decryption_order=options.decryption_order, for_rewrite=False)
        except MacMismatch as exc:
            exc.hint = (f"{exc.hint}; if kustomize or another tool edited the metadata before decryption, "
                        "encrypt with mac_only_encrypted (psops k8s encrypt --mac-only-encrypted)")
            raise exc.with_path(label) from None
        except PsopsError as exc:
            raise exc.with_path(label) from None
        warnings += [f"{label}: {w}" for w in result.warnings]
        for i, tree in zip(idxs, result.doc, strict=True):
            plain = to_plain(tree)
            if decrypt_disabled(plains[i]) or decrypt_disabled(plain):
                continue
            assert isinstance(plain, dict)
            out[i] = ManifestDoc(name, i, _render(tree, fmt, options.indent), object_ref(plain), True, tree,
                                 where(i))
    docs: list[ManifestDoc] = []
    for i in range(len(chunks)):
        doc = out[i]
        if doc is None:
            plain = plains[i]
            doc = ManifestDoc(name, i, texts[i], object_ref(plain), False, trees[i], where(i))
            if doc.ref.kind == "Secret" and options.wants("Secret") and not decrypt_disabled(plain):
                doc = _decrypt_blobs(doc, plain, fmt, options)
        elif doc.ref.kind == "Secret":
            doc = _decrypt_blobs(doc, to_plain(doc.tree), fmt, options)
        if not options.wants(doc.ref.kind):
            continue
        if doc.decrypted and doc.ref.kind == "Secret":
            plain_doc = to_plain(doc.tree)
            if isinstance(plain_doc, dict):
                check_secret(plain_doc, doc.where)
        docs.append(doc)
    return docs, warnings


def _maybe_wanted(plain: object, options: DecryptOptions) -> bool:
    """False only when the clear-text kind is known and filtered out (then the unit need not be decrypted)."""
    kind = plain.get("kind") if isinstance(plain, dict) else None
    if isinstance(kind, str) and not kind.startswith("ENC["):
        return options.wants(kind)
    return True


def _decrypt_blobs(doc: ManifestDoc, plain: object, fmt: str, options: DecryptOptions) -> ManifestDoc:
    """Decrypt SOPS files held in a Secret's ``data`` values (Flux's secretGenerator convention)."""
    data = plain.get("data") if isinstance(plain, dict) else None
    if not isinstance(data, dict):
        return doc
    replaced: dict[str, str] = {}
    for key, value in data.items():
        try:
            new = decrypt_data_value(value, str(key), ignore_mac=options.ignore_mac,
                                     decryption_order=options.decryption_order)
        except PsopsError as exc:
            raise exc.with_path(doc.where) from None
        if new is not None:
            replaced[str(key)] = new
    if not replaced:
        return doc
    tree = doc.tree
    data_node = tree.get("data")
    assert isinstance(data_node, Mapping)
    for key, new in replaced.items():
        data_node.set(key, new)
    return ManifestDoc(doc.source, doc.index, _render(tree, fmt, options.indent), doc.ref, True, tree, doc.where)


# --- many inputs ------------------------------------------------------------------------------------------


def parallel_map(fn: Callable[[_T], _R], items: Sequence[_T], jobs: int) -> list[_R]:
    """``[fn(x) for x in items]`` on at most ``jobs`` threads; the first failure in input order is raised
    and work not started yet is cancelled."""
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="psops-k8s")
    futures: list[Future[_R]] = [pool.submit(fn, x) for x in items]
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _warm_key_services() -> None:
    """Build the age service in this thread, so worker threads share one instance (and its identity cache)."""
    from psops.keys import get_service

    get_service("age")


def decrypt_inputs(items: Sequence[InputFile], options: DecryptOptions | None = None) -> list[SourceResult]:
    """Decrypt every input (concurrently, bounded by ``options.jobs``) and run the cross-file checks."""
    options = options or DecryptOptions()
    _warm_key_services()

    def one(item: InputFile) -> SourceResult:
        data = read_input_file(item, options.walk.max_file_size)
        docs, warnings = decrypt_source(item.display, data, options)
        return SourceResult(item, docs, warnings)

    results = parallel_map(one, items, options.jobs)
    check_duplicates((doc.ref, doc.where) for r in results for doc in r.docs)
    return results


def decrypt_paths(paths: Sequence[str], options: DecryptOptions | None = None) -> list[SourceResult]:
    """Collect the inputs under ``paths`` (files, folders, ``-``) and decrypt them."""
    options = options or DecryptOptions()
    return decrypt_inputs(collect_inputs(list(paths), options.walk), options)


def render_stream(results: Iterable[SourceResult]) -> bytes:
    """All output documents as one ``---``-separated stream."""
    return join_documents(doc.text for r in results for doc in r.docs)


def check_output_dir(output_dir: Path, roots: Sequence[str]) -> None:
    """Refuse an output folder inside (or equal to) an input folder: plaintext would land among the sources."""
    import os

    out_real = os.path.realpath(output_dir)
    for root in roots:
        if root == "-":
            continue
        real = os.path.realpath(root)
        base = real if os.path.isdir(real) else os.path.dirname(real)
        if out_real == base or out_real.startswith(base.rstrip(os.sep) + os.sep):
            raise ConflictingParameters("--output-dir is inside an input folder: plaintext would land next to "
                                        "the encrypted files", path=str(output_dir),
                                        hint="choose an output folder outside the inputs")


def write_tree(results: Sequence[SourceResult], output_dir: Path, roots: Sequence[str]) -> list[Path]:
    """Write each input's documents to ``output_dir``/its relative path (folders 0700, files 0600)."""
    from psops.files import atomic_write

    check_output_dir(output_dir, roots)
    seen: dict[str, str] = {}
    written: list[Path] = []
    for r in results:
        key = str(r.item.rel)
        if key in seen:
            raise ConflictingParameters(f"two inputs map to the same output file {key!r}: {seen[key]} and "
                                        f"{r.item.display}", path=str(output_dir),
                                        hint="decrypt them into separate output folders")
        seen[key] = r.item.display
    for r in results:
        if not r.docs:
            continue
        target = output_dir / str(r.item.rel)
        _private_dirs(target.parent)
        if target.exists() and not target.is_symlink() and (target.stat().st_mode & 0o077):
            target.chmod(0o600)
        atomic_write(target, join_documents(doc.text for doc in r.docs), default_mode=0o600)
        written.append(target)
    return written


def _private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 0700."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700)


__all__ = [
    "DEFAULT_JOBS",
    "DecryptOptions",
    "ManifestDoc",
    "SourceResult",
    "check_output_dir",
    "decrypt_inputs",
    "decrypt_paths",
    "decrypt_source",
    "detect_format",
    "load_document",
    "parallel_map",
    "render_stream",
    "write_tree",
]
