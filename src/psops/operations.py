"""File-level operations shared by the CLI and the library API: encrypt, decrypt, extract, status.

These glue a store (format), the creation rules (policy) and the engine together; they take and return bytes
and never print. Which keys encrypt a file: key flags/environment when given, else the first matching
creation rule of the nearest ``.sops-policy.yaml``/``.sops.yaml``.
"""

from __future__ import annotations

from psops.engine import Decrypted, decrypt_document, encrypt_document, has_metadata, seal_document
from psops.errors import AlreadyEncrypted, CannotDumpTree, NoEncryptionKey, PsopsError
from psops.formats import StoreSettings, format_for, get_store
from psops.keys.base import KeyStanza
from psops.metadata import attach_metadata, build_metadata, reserved_key_at
from psops.record import Record
from psops.selection import EncryptionRules
from psops.tree import Document, Mapping, Value, get_path, parse_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


class EncryptPlan(Record):
    """Everything needed to encrypt one file: keys, threshold, selection rules, layout."""

    __slots__ = ("key_groups", "rules", "shamir_threshold", "settings")

    def __init__(self, key_groups: list[list[KeyStanza]], rules: EncryptionRules | None = None,
                 shamir_threshold: int = 0, settings: StoreSettings | None = None) -> None:
        self.key_groups = key_groups
        self.rules = EncryptionRules() if rules is None else rules
        self.shamir_threshold = shamir_threshold
        self.settings = StoreSettings() if settings is None else settings


class DecryptResult(Record):
    """Output bytes plus warnings for stderr."""

    __slots__ = ("data", "warnings")

    def __init__(self, data: bytes, warnings: list[str]) -> None:
        self.data = data
        self.warnings = warnings


def encrypt_bytes(data: bytes, plan: EncryptPlan, *, input_format: str, output_format: str) -> bytes:
    """Encrypt plaintext ``data`` of ``input_format`` and serialize it as ``output_format``."""
    in_store = get_store(input_format, plan.settings)
    doc = in_store.load(data)
    if has_metadata(doc):
        raise AlreadyEncrypted(
            "the file already has a top-level 'sops' entry: it is encrypted already",
            hint="use 'psops decrypt' or edit it; rename the 'sops' key if this is a plaintext file",
        )
    # any other top-level 'sops' key, in any document: the metadata would be written next to it, a file that
    # neither tool reads back (sops refuses it in the first document, and writes such a file for the others)
    i = reserved_key_at(doc)
    if i is not None:
        where = f" in document {i + 1}" if len(doc) > 1 else ""
        raise AlreadyEncrypted(f"the top-level key 'sops'{where} is reserved for the encryption metadata",
                               hint="rename the 'sops' key")
    is_binary = input_format == "binary"
    if is_binary:
        plan = plan.replace(rules=EncryptionRules())
    encrypted, meta = encrypt_document(doc, plan.key_groups, rules=plan.rules,
                                       shamir_threshold=plan.shamir_threshold, default_rules=not is_binary)
    out_fmt = "json" if output_format == "binary" else output_format
    attach_metadata(encrypted, build_metadata(meta, empty_list_as_null=out_fmt == "json"))
    return get_store(output_format, plan.settings).dump(encrypted)


def load_encrypted(data: bytes, input_format: str, settings: StoreSettings | None = None) -> Document:
    """Parse an encrypted file's bytes."""
    return get_store(input_format, settings).load(data)


def decrypt_bytes(data: bytes, *, input_format: str, output_format: str, ignore_mac: bool = False,
                  extract: str | None = None, decryption_order: Sequence[str] | None = None,
                  settings: StoreSettings | None = None) -> DecryptResult:
    """Decrypt ``data``; with ``extract`` return just that value (strings raw, subtrees formatted)."""
    doc = load_encrypted(data, input_format, settings)
    result = decrypt_document(doc, ignore_mac=ignore_mac, decryption_order=decryption_order, for_rewrite=False)
    out_store = get_store(output_format, settings)
    if extract is None:
        return DecryptResult(out_store.dump(result.doc), result.warnings)
    value = get_path(result.doc[0], parse_path(extract))
    return DecryptResult(render_value(value, output_format, settings), result.warnings)


def open_encrypted(data: bytes, *, input_format: str, ignore_mac: bool = False,
                   decryption_order: Sequence[str] | None = None,
                   settings: StoreSettings | None = None) -> Decrypted:
    """Load and decrypt an encrypted file, keeping what is needed to write it back (key, IV stash, metadata)."""
    doc = load_encrypted(data, input_format, settings)
    return decrypt_document(doc, ignore_mac=ignore_mac, decryption_order=decryption_order)


def reseal(opened: Decrypted, new_doc: Document, *, output_format: str,
           settings: StoreSettings | None = None) -> bytes:
    """Encrypt ``new_doc`` with the opened file's data key and master keys; unchanged values keep their
    ciphertext, so a one-value change is a one-line diff. Fresh MAC and ``lastmodified``."""
    encrypted, meta = seal_document(new_doc, opened.metadata, opened.cipher)
    out_fmt = "json" if output_format == "binary" else output_format
    attach_metadata(encrypted, build_metadata(meta, empty_list_as_null=out_fmt == "json"))
    return get_store(output_format, settings).dump(encrypted)


def render_value(value: Value, output_format: str, settings: StoreSettings | None = None) -> bytes:
    """Render an extracted value as sops does: strings raw, other values in the output format."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        return value
    if output_format in ("json", "binary"):
        from psops.formats.json_store import JsonStore

        store = JsonStore(settings.json_indent if settings else -1)
        if isinstance(value, Mapping):
            return store.dump([value])
        out: list[str] = []
        store._value(value, 0, out)
        return "".join(out).encode()
    if output_format == "yaml":
        from psops.formats.yaml_store import YamlStore

        ystore = YamlStore(indent=settings.yaml_indent if settings else 4)
        return ystore.dump_value(value)
    raise CannotDumpTree(f"cannot print an extracted subtree as {output_format}")


def file_status(data: bytes, input_format: str) -> bool:
    """True when the file carries SOPS metadata with a non-empty version and MAC (as ``sops filestatus``)."""
    try:
        doc = get_store(input_format).load(data)
    except PsopsError:
        return False
    if not has_metadata(doc):
        return False
    block = doc[0].get("sops")
    assert isinstance(block, Mapping)
    return bool(block.get("version")) and bool(block.get("mac"))


def resolve_formats(path: str, input_type: str | None, output_type: str | None) -> tuple[str, str]:
    """Input and output formats: explicit types win, else by extension; output defaults to input."""
    fin = format_for(path, input_type)
    fout = format_for(path, output_type) if output_type else fin
    return fin, fout


def require_keys(groups: list[list[KeyStanza]], path: str) -> list[list[KeyStanza]]:
    """Fail with a helpful error when no master key is known for ``path``."""
    if not groups or not any(groups):
        raise NoEncryptionKey(
            "config file not found, or has no creation rules, and no keys provided through command line options",
            path=path,
            hint="pass --age/--pgp, set SOPS_AGE_RECIPIENTS, or add a creation rule to .sops-policy.yaml",
        )
    return groups


__all__ = [
    "DecryptResult",
    "EncryptPlan",
    "decrypt_bytes",
    "encrypt_bytes",
    "file_status",
    "open_encrypted",
    "reseal",
]
