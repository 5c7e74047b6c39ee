"""The KSOPS generator (``apiVersion: viaduct.ai/v1``, ``kind: ksops``), as a KRM function and an exec plugin.

A generator manifest names encrypted files and Secrets to build from them::

    apiVersion: viaduct.ai/v1
    kind: ksops
    metadata: {name: secrets}
    files: [./db.enc.yaml]              # encrypted manifests, emitted decrypted (sops block dropped)
    secretFrom:                         # Secrets assembled from encrypted files
      - metadata: {name: app, namespace: shop, labels: {...}, annotations: {...}}
        type: Opaque
        files: [./config.enc.json, tls.crt=./cert.enc.pem]  # stringData[key] = decrypted text
        binaryFiles: [./keystore.enc.p12]                 # data[key] = base64 of the decrypted bytes
        envs: [./app.enc.env]                             # stringData[K] = V for each K=V of a dotenv file

A key is the file's name, or what stands before ``=``. Files are decrypted in their own format (by
extension; an env file with no known extension is dotenv), MAC checked, never written anywhere.

Two ways kustomize runs it: as a *KRM function* (``psops k8s krm``: a ``ResourceList`` on stdin, the same
list with the generated items appended on stdout; relative paths from the working directory, which kustomize
sets to the kustomization's folder), and as a *legacy exec plugin* (``psops k8s ksops CONFIG``: kustomize
passes the path of a copy of the generator manifest and reads a YAML stream from stdout).

Safety: every path must resolve inside the allowed roots: ``$PSOPS_K8S_ROOT`` (``os.pathsep``-separated
folders) when set, else the enclosing git work tree of the working directory, else the working directory
itself, so a repository cannot make a shared runner decrypt files of another checkout.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from psops.errors import GeneratorError, PsopsError
from psops.formats import format_for
from psops.k8s.checks import ObjectRef, check_duplicates, check_secret, object_ref
from psops.k8s.decrypt import DecryptOptions, ManifestDoc, decrypt_source, detect_format, load_document, parallel_map
from psops.k8s.stream import join_documents
from psops.k8s.walk import confine, read_limited
from psops.tree import Comment, Mapping, Value, from_plain, to_plain

GENERATOR_API_VERSION = "viaduct.ai/v1"
GENERATOR_KIND = "ksops"
ROOT_ENV = "PSOPS_K8S_ROOT"
RESOURCE_LIST_API_VERSION = "config.kubernetes.io/v1"
_KEY = re.compile(r"[-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class SecretSpec:
    """One ``secretFrom`` entry."""

    metadata: dict[str, object]
    type: str | None = None
    files: tuple[str, ...] = ()
    binary_files: tuple[str, ...] = ()
    envs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Generator:
    """A parsed KSOPS generator manifest."""

    name: str
    files: tuple[str, ...] = ()
    secret_from: tuple[SecretSpec, ...] = ()


@dataclass(frozen=True)
class GenerateOptions:
    """Where relative paths start, which roots they must stay in, and how to decrypt."""

    base: Path
    roots: tuple[str, ...]
    decrypt: DecryptOptions = field(default_factory=DecryptOptions)
    allow_outside: bool = False


def _strings(value: object, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise GeneratorError(f"'{what}' must be a list of file paths", path=where)
    return tuple(value)


def parse_generator(obj: object, where: str) -> Generator:
    """Validate a generator manifest (plain Python data) and return it."""
    if not isinstance(obj, dict):
        raise GeneratorError("the generator manifest is not a mapping", path=where)
    kind = obj.get("kind")
    if kind not in (GENERATOR_KIND, "ksops-exec", None):
        raise GeneratorError(f"expected kind {GENERATOR_KIND!r}, got {kind!r}", path=where)
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    files = _strings(obj.get("files"), "files", where)
    raw_from = obj.get("secretFrom")
    if raw_from is None and "files" not in obj:
        raise GeneratorError("missing the required 'files' or 'secretFrom' key", path=where,
                             hint="list encrypted manifests under files:, or Secrets to build under secretFrom:")
    if raw_from is not None and not isinstance(raw_from, list):
        raise GeneratorError("'secretFrom' must be a list", path=where)
    specs: list[SecretSpec] = []
    for n, entry in enumerate(raw_from or [], 1):
        at = f"secretFrom[{n - 1}]"
        if not isinstance(entry, dict):
            raise GeneratorError(f"{at} is not a mapping", path=where)
        smeta = entry.get("metadata")
        if not isinstance(smeta, dict) or not isinstance(smeta.get("name"), str) or not smeta["name"]:
            raise GeneratorError(f"{at}.metadata.name is required", path=where)
        stype = entry.get("type")
        if stype is not None and not isinstance(stype, str):
            raise GeneratorError(f"{at}.type must be a string", path=where)
        specs.append(SecretSpec(
            metadata=smeta, type=stype,
            files=_strings(entry.get("files"), f"{at}.files", where),
            binary_files=_strings(entry.get("binaryFiles"), f"{at}.binaryFiles", where),
            envs=_strings(entry.get("envs"), f"{at}.envs", where)))
    return Generator(name=name if isinstance(name, str) else "", files=files, secret_from=tuple(specs))


def default_roots(base: Path) -> tuple[str, ...]:
    """``$PSOPS_K8S_ROOT`` folders, else the git work tree around ``base``, else ``base`` (all resolved)."""
    env = os.environ.get(ROOT_ENV, "")
    if env:
        return tuple(os.path.realpath(p) for p in env.split(os.pathsep) if p)
    real = Path(os.path.realpath(base))
    for folder in (real, *real.parents):
        if (folder / ".git").exists():
            return (str(folder),)
    return (str(real),)


# --- generating -------------------------------------------------------------------------------------------


@dataclass
class Generated:
    """One generated resource: its YAML/JSON bytes and, when at hand, its tree."""

    text: bytes
    tree: Mapping | None
    fmt: str = "yaml"

    def as_tree(self, where: str) -> Mapping:
        """The resource as a tree (parsed from ``text`` when it was passed through)."""
        if self.tree is None:
            from psops.formats import get_store

            doc = get_store(self.fmt).load(self.text)
            if len(doc) != 1:
                raise GeneratorError("a generated document did not parse back", path=where)
            self.tree = doc[0]
        return self.tree


def _read(rel: str, options: GenerateOptions, where: str) -> tuple[str, bytes]:
    display = rel
    path = confine(options.base, rel, list(options.roots), display, allow_outside=options.allow_outside)
    return display, read_limited(path, display, options.decrypt.walk.max_file_size)


def _decrypt_whole(rel: str, fmt: str, options: GenerateOptions, where: str) -> tuple[bytes, list[Value]]:
    """Decrypt one secretFrom file: its plaintext bytes in its own format, and its top-level items."""
    from psops.formats import get_store
    from psops.operations import open_encrypted

    display, data = _read(rel, options, where)
    try:
        opened = open_encrypted(data, input_format=fmt, ignore_mac=options.decrypt.ignore_mac,
                                decryption_order=options.decrypt.decryption_order)
        text = get_store(fmt).dump(opened.doc)
    except PsopsError as exc:
        raise exc.with_path(display) from None
    return text, [opened.doc[0]]


def _split_key(entry: str) -> tuple[str, str]:
    key, sep, rel = entry.partition("=")
    if not sep:
        return Path(entry).name, entry
    return key, rel


def _check_key(key: str, seen: set[str], spec_name: str, where: str) -> None:
    if not _KEY.fullmatch(key):
        raise GeneratorError(f"Secret {spec_name}: key {key!r} is not a valid Secret key ([-._a-zA-Z0-9]+)",
                             path=where, hint="name the key explicitly: KEY=path")
    if key in seen:
        raise GeneratorError(f"Secret {spec_name}: key {key!r} is given twice", path=where)
    seen.add(key)


def _secret(spec: SecretSpec, options: GenerateOptions, where: str) -> Mapping:
    name = str(spec.metadata["name"])
    seen: set[str] = set()
    string_data: dict[str, str] = {}
    data: dict[str, str] = {}
    jobs: list[tuple[str, str, str]] = []  # (what, key, path)
    for entry in spec.files:
        key, rel = _split_key(entry)
        _check_key(key, seen, name, where)
        jobs.append(("file", key, rel))
    for entry in spec.binary_files:
        key, rel = _split_key(entry)
        _check_key(key, seen, name, where)
        jobs.append(("binary", key, rel))
    for rel in spec.envs:
        jobs.append(("env", "", rel))

    def run(job: tuple[str, str, str]) -> tuple[bytes, list[Value]]:
        what, _key, rel = job
        fmt = format_for(rel)
        if what == "env" and fmt == "binary":
            fmt = "dotenv"
        return _decrypt_whole(rel, fmt, options, where)

    results = parallel_map(run, jobs, options.decrypt.jobs)
    for (what, key, rel), (text, branches) in zip(jobs, results, strict=True):
        if what == "binary":
            data[key] = base64.b64encode(text).decode("ascii")
        elif what == "file":
            try:
                string_data[key] = text.decode("utf-8")
            except UnicodeDecodeError:
                raise GeneratorError(f"Secret {name}: {rel} is not UTF-8 text", path=where,
                                     hint="list it under binaryFiles instead") from None
        else:
            branch = branches[0]
            assert isinstance(branch, Mapping)
            for k, v in branch.items:
                if isinstance(k, Comment):
                    continue
                _check_key(k, seen, name, where)
                string_data[k] = v if isinstance(v, str) else str(to_plain(v))
    items: list[tuple[str | Comment, Value]] = [
        ("apiVersion", "v1"), ("kind", "Secret"), ("metadata", from_plain(spec.metadata))]
    if spec.type:
        items.append(("type", spec.type))
    if data:
        items.append(("data", Mapping([(k, data[k]) for k in sorted(data)])))
    if string_data:
        items.append(("stringData", Mapping([(k, string_data[k]) for k in sorted(string_data)])))
    return Mapping(items)


def generate(gen: Generator, options: GenerateOptions, where: str = "generator") -> list[Generated]:
    """Everything the generator produces, in order: the ``files`` documents, then the ``secretFrom`` Secrets."""
    from psops.formats.yaml_store import YamlStore

    def one_file(rel: str) -> tuple[list[ManifestDoc], str]:
        display, data = _read(rel, options, where)
        fmt = detect_format(display, data)
        docs, _warnings = decrypt_source(display, data, options.decrypt, fmt)
        return docs, fmt

    out: list[Generated] = []
    refs: list[tuple[ObjectRef, str]] = []
    for docs, fmt in parallel_map(one_file, list(gen.files), options.decrypt.jobs):
        for doc in docs:
            out.append(Generated(doc.text, doc.tree, fmt))
            refs.append((doc.ref, doc.where))
    store = YamlStore(indent=options.decrypt.indent)
    for spec in gen.secret_from:
        tree = _secret(spec, options, where)
        plain = to_plain(tree)
        assert isinstance(plain, dict)
        check_secret(plain, where)
        refs.append((object_ref(plain), f"{where} (secretFrom {spec.metadata['name']})"))
        out.append(Generated(store.dump([tree]), tree))
    check_duplicates(refs)
    return out


def run_exec_plugin(config: bytes, options: GenerateOptions, where: str) -> bytes:
    """The legacy exec plugin: a generator manifest in, a YAML stream of resources out."""
    gen = parse_generator(to_plain(load_document(config, "yaml", where)), where)
    return join_documents(g.text for g in generate(gen, options, where))


def run_krm(data: bytes, options: GenerateOptions, where: str = "ResourceList") -> bytes:
    """The KRM function: a ``ResourceList`` in; the same list with the generated resources appended out."""
    from psops.formats.yaml_store import YamlStore

    if not data.strip():
        raise GeneratorError("no ResourceList on standard input", path=where,
                             hint="kustomize runs this as a KRM function; see 'psops k8s krm --help'")
    try:
        doc = YamlStore().load(data)
    except PsopsError as exc:
        raise GeneratorError(f"the ResourceList is not valid YAML: {exc.message}", path=where) from None
    rl = doc[0]
    if rl.get("kind") != "ResourceList":
        raise GeneratorError(f"expected kind ResourceList, got {rl.get('kind')!r}", path=where)
    items = rl.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise GeneratorError("'items' of the ResourceList is not a list", path=where)
    config = rl.get("functionConfig")
    if not isinstance(config, Mapping):
        raise GeneratorError("the ResourceList has no functionConfig (the ksops generator manifest)", path=where)
    gen = parse_generator(to_plain(config), f"{where} functionConfig")
    generated = [g.as_tree(where) for g in generate(gen, options, f"generator {gen.name or '(unnamed)'}")]
    api = rl.get("apiVersion")
    out = Mapping([("apiVersion", api if isinstance(api, str) else RESOURCE_LIST_API_VERSION),
                   ("kind", "ResourceList"), ("items", [*items, *generated])])
    return YamlStore(indent=options.decrypt.indent).dump([out])


def plugin_wrapper(psops_command: list[str]) -> bytes:
    """The executable script kustomize runs as the legacy ``viaduct.ai/v1/ksops`` exec plugin."""
    import shlex

    command = " ".join(shlex.quote(part) for part in psops_command)
    return (f"#!/bin/sh\n# kustomize exec plugin for apiVersion {GENERATOR_API_VERSION}, kind {GENERATOR_KIND}:"
            f" decrypts with psops.\nexec {command} k8s ksops \"$@\"\n").encode()


def plugin_path(plugin_home: Path) -> Path:
    """Where kustomize looks for the exec plugin: ``PLUGIN_HOME/viaduct.ai/v1/ksops/ksops``."""
    return plugin_home / "viaduct.ai" / "v1" / GENERATOR_KIND / GENERATOR_KIND


def default_plugin_home() -> Path:
    """``$KUSTOMIZE_PLUGIN_HOME``, else ``$XDG_CONFIG_HOME/kustomize/plugin`` (``~/.config`` by default)."""
    home = os.environ.get("KUSTOMIZE_PLUGIN_HOME", "")
    if home:
        return Path(home)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kustomize" / "plugin"


__all__ = [
    "GENERATOR_API_VERSION",
    "GENERATOR_KIND",
    "ROOT_ENV",
    "GenerateOptions",
    "Generated",
    "Generator",
    "SecretSpec",
    "default_plugin_home",
    "default_roots",
    "generate",
    "parse_generator",
    "plugin_path",
    "plugin_wrapper",
    "run_exec_plugin",
    "run_krm",
]
