"""The recipes: encrypt a document, decrypt it (MAC checked by default), re-seal it after a change.

One data key per file encrypts every selected leaf (see :mod:`psops.cipher`); a MAC over all leaves (SHA-512
of their canonical plaintexts, upper-case hex, itself encrypted with ``lastmodified`` as AAD) guards the
whole tree, so a value moved, removed, added or edited in clear text is detected. The data key is wrapped by
every master key of every key group (:mod:`psops.keys`); with several groups it is first split with Shamir
and each group wraps one share. Clocks and randomness are parameters so tests can pin them.
"""

from __future__ import annotations

import os
import sys

from psops.cipher import ENC_PREFIX, ValueCipher, canonical, is_encrypted_value, parse_enc, parse_plaintext
from psops.errors import (
    DecryptError,
    EmptyDocument,
    KeyAttempt,
    KeyServiceError,
    MacMismatch,
    NoEncryptionKey,
    NoKeyMatched,
    NotMine,
    PsopsError,
)
from psops.keys import KNOWN_KINDS, get_service, is_supported
from psops.keys.base import KeyStanza
from psops.metadata import (
    DATA_KEY_CREATED_AT,
    WRITE_VERSION,
    Metadata,
    mac_aad,
    now_rfc3339,
    parse_metadata,
    split_metadata,
)
from psops.record import Record
from psops.selection import EncryptionRules
from psops.tree import Comment, Document, Leaf, Mapping, Value

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence
    from contextvars import ContextVar
    from datetime import datetime

try:  # hmac.compare_digest itself, without importing hmac (and hashlib's OpenSSL binding through it)
    from _operator import _compare_digest as compare_digest
except ImportError:  # pragma: no cover - another interpreter
    from hmac import compare_digest  # type: ignore[no-redef]

try:  # the interpreter's own SHA-512: loading OpenSSL's hashlib binding costs ~4 ms of a small decrypt
    # (by version: a failed import searches every sys.path entry)
    if sys.version_info >= (3, 12):
        from _sha2 import sha512 as _sha512  # type: ignore[import-not-found,unused-ignore]
    else:
        from _sha512 import sha512 as _sha512  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:  # an interpreter built without it
    from hashlib import sha512 as _sha512  # type: ignore[assignment,no-redef,unused-ignore]

DEFAULT_DECRYPTION_ORDER = ("age", "pgp")
# SHA-256 of b"sops": the MAC's initial input under mac_only_encrypted (tests/test_engine.py recomputes it)
MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex("8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69")


def _aad(path: tuple[str, ...]) -> str:
    return ":".join(path) + ":"


class _TreeWalker:
    """One pass over a document that encrypts or decrypts selected leaves and hashes the MAC."""

    def __init__(self, cipher: ValueCipher, rules: EncryptionRules, *, decrypting: bool) -> None:
        self.cipher = cipher
        self.rules = rules
        self.decrypting = decrypting
        self.hasher = _sha512()
        if rules.mac_only_encrypted:
            self.hasher.update(MAC_ONLY_ENCRYPTED_INIT)
        self.warnings: list[str] = []

    def mac(self) -> str:
        return str(self.hasher.hexdigest()).upper()

    def value(self, value: Value, path: tuple[str, ...], active: tuple[str, ...]) -> Value:
        if type(value) is str:  # most values: straight to the leaf
            return self.leaf(value, path, active)
        if isinstance(value, Mapping):
            return self.mapping(value, path, active)
        if isinstance(value, list):
            return self.sequence(value, path, active)
        if isinstance(value, Comment):
            return self.comment(value, path, active)
        return self.leaf(value, path, active)

    def mapping(self, node: Mapping, path: tuple[str, ...], active: tuple[str, ...]) -> Mapping:
        out: list[tuple[str | Comment, Value]] = []
        pending: tuple[str, ...] = ()
        for key, val in node.items:
            if isinstance(key, Comment):
                new = self.comment(key, path, active + pending + (key.text,))
                pending = (*pending, new.text)
                out.append((new, None))
            else:
                out.append((key, self.value(val, (*path, key), active + pending)))
                pending = ()
        return Mapping(out)

    def sequence(self, node: list[Value], path: tuple[str, ...], active: tuple[str, ...]) -> list[Value]:
        out: list[Value] = []
        pending: tuple[str, ...] = ()
        for val in node:
            if self.decrypting and isinstance(val, str) and val.startswith(ENC_PREFIX) and val.endswith(
                "type:comment]"
            ):
                # sops 3.11 writes encrypted comments inside lists as plain list elements: read them back.
                val = Comment(val)
            if isinstance(val, Comment):
                new = self.comment(val, path, active + pending + (val.text,))
                pending = (*pending, new.text)
                out.append(new)
            else:
                out.append(self.value(val, path, active + pending))
                pending = ()
        return out

    def comment(self, node: Comment, path: tuple[str, ...], active: tuple[str, ...]) -> Comment:
        text = node.text
        if self.decrypting:
            if not text.startswith(ENC_PREFIX):
                return node
            try:
                plain, _ = self.cipher.decrypt_bytes(text, _aad(path))
            except DecryptError:
                self.warnings.append(f"kept a comment at {_aad(path)!r} that does not decrypt, as it is")
                return node
            return Comment(plain.decode("utf-8", "surrogateescape"))
        rule_active = active[:-1] if self.rules.encrypted_comment_regex else active
        if not text or not self.rules.should_encrypt(path, rule_active):
            return node
        return Comment(self.cipher.encrypt_bytes(text.encode("utf-8", "surrogateescape"), "comment", _aad(path)))

    def leaf(self, value: Leaf, path: tuple[str, ...], active: tuple[str, ...]) -> Value:
        if value is None:
            return None
        selected = self.rules.should_encrypt(path, active)
        if self.decrypting:
            if selected and value != "":
                if not isinstance(value, str) or not value.startswith(ENC_PREFIX):
                    raise DecryptError(
                        f"value at {_aad(path)!r} should be encrypted but is clear text",
                        hint="the file was edited by hand; re-encrypt it from its plaintext",
                    )
                plain, type_tag = self.cipher.decrypt_bytes(value, _aad(path))
                if type_tag == "str":
                    # the canonical form of a string is its UTF-8 bytes: the plaintext itself
                    self.hasher.update(plain)
                    return plain.decode("utf-8", "surrogateescape")
                try:
                    value = parse_plaintext(plain, type_tag)
                except ValueError as exc:
                    raise DecryptError(f"value at {_aad(path)!r}: {exc}") from None
            elif self.rules.mac_only_encrypted:
                return value
            data, _ = canonical(value)
            self.hasher.update(data)
            return value
        data, type_tag = canonical(value)
        if selected or not self.rules.mac_only_encrypted:
            self.hasher.update(data)
        if selected:
            return self.cipher.encrypt_bytes(data, type_tag, _aad(path))
        return value


def encrypt_tree(doc: Document, cipher: ValueCipher, rules: EncryptionRules) -> tuple[Document, str]:
    """Encrypt the selected leaves of every branch; return the new branches and the MAC (hex)."""
    walker = _TreeWalker(cipher, rules, decrypting=False)
    out = [walker.mapping(branch, (), ()) for branch in doc]
    return out, walker.mac()


def decrypt_tree(doc: Document, cipher: ValueCipher, rules: EncryptionRules) -> tuple[Document, str, list[str]]:
    """Decrypt every encrypted leaf; return the plain branches, the computed MAC and warnings."""
    walker = _TreeWalker(cipher, rules, decrypting=True)
    out = [walker.mapping(branch, (), ()) for branch in doc]
    return out, walker.mac(), walker.warnings


def wrap_data_key(data_key: bytes, groups: Sequence[Sequence[KeyStanza]], threshold: int = 0,
                  *, random: Callable[[int], bytes] = os.urandom) -> list[list[KeyStanza]]:
    """Wrap the data key (or, for several groups, one Shamir share per group) to every master key."""
    if not groups or not any(groups):
        raise NoEncryptionKey(
            "no master key to encrypt with",
            hint="pass --age or --pgp, set SOPS_AGE_RECIPIENTS, or add a creation rule to .sops-policy.yaml",
        )
    if any(not g for g in groups):
        raise NoEncryptionKey("a key group has no master keys", hint="every key group needs at least one key")
    if len(groups) == 1:
        parts = [data_key]
    else:
        from psops import shamir  # only with several key groups

        parts = shamir.split(data_key, len(groups), threshold or len(groups), random=random)
    wrapped: list[list[KeyStanza]] = []
    for part, group in zip(parts, groups, strict=True):
        wrapped.append([get_service(stanza.kind).wrap(stanza, part) for stanza in group])
    return wrapped


def parse_decryption_order(text: str | None) -> tuple[str, ...] | None:
    """``--decryption-order age,pgp`` (or SOPS_DECRYPTION_ORDER) -> key kinds; None when not given."""
    return tuple(k.strip() for k in text.split(",") if k.strip()) if text else None


def _order(decryption_order: Sequence[str] | None) -> list[str]:
    order = list(decryption_order or DEFAULT_DECRYPTION_ORDER)
    if len(set(order)) != len(order):
        raise PsopsError("duplicate key type in the decryption order")
    unknown = [k for k in order if k not in KNOWN_KINDS and not is_supported(k)]
    if unknown:
        raise PsopsError(f"unknown key type {unknown[0]!r} in the decryption order",
                         hint="use age, pgp, kms, gcp_kms, azure_kv, hc_vault, hckms")
    return order + [k for k in KNOWN_KINDS if k not in order]


MAX_PARALLEL_GROUPS = 8
"""Key groups unwrapped at the same time (each group's keys are still tried one after another)."""


class _ServiceLocks:
    """One lock per key kind whose service does not declare ``thread_safe = True``.

    Groups are unwrapped concurrently; a service that keeps unsynchronised state (identities loaded on first
    use, a gpg-agent) is then entered by one group at a time, while network services run in parallel."""

    def __init__(self, concurrent: bool) -> None:
        self._concurrent = concurrent
        self._locks: dict[str, threading.Lock] = {}

    def prepare(self, kind: str) -> None:
        if is_supported(kind) and not getattr(get_service(kind), "thread_safe", False) and self._concurrent:
            import threading  # only with several groups: a single group runs in this thread, no lock needed

            self._locks.setdefault(kind, threading.Lock())

    def lock(self, kind: str) -> threading.Lock | None:
        """The lock to hold while ``kind``'s service runs (None: no other group runs at the same time)."""
        return self._locks.get(kind)


def _unwrap_group(gi: int, group: Sequence[KeyStanza], rank: dict[str, int],
                  locks: _ServiceLocks) -> tuple[bytes | None, list[KeyAttempt]]:
    """Try the group's keys in decryption order; return the first data key (or share) and the failed tries."""
    attempts: list[KeyAttempt] = []
    for stanza in sorted(group, key=lambda s: rank.get(s.kind, len(rank))):
        if not is_supported(stanza.kind):
            attempts.append(KeyAttempt(gi, stanza.kind, _describe(stanza), "psops has no service for it yet"))
            continue
        service = get_service(stanza.kind)
        lock = locks.lock(stanza.kind)
        try:
            if lock is None:
                return service.unwrap(stanza), attempts
            with lock:
                return service.unwrap(stanza), attempts
        except NotMine as exc:
            attempts.append(KeyAttempt(gi, stanza.kind, service.describe(stanza), str(exc)))
        except KeyServiceError as exc:
            described = service.describe(stanza)
            attempts.append(KeyAttempt(gi, stanza.kind, described, _reason(exc, described)))
    return None, attempts


def _reason(exc: KeyServiceError, described: str) -> str:
    """A key service's failure for the attempt list: its message after the key's name, and its hint."""
    marker = described + ": "
    message = exc.message.split(marker, 1)[1] if described and marker in exc.message else exc.message
    return f"{message} (hint: {exc.hint})" if exc.hint else message


_unwrapped_by: ContextVar[list[KeyStanza] | None] | None = None


def unwrapped_by() -> ContextVar[list[KeyStanza] | None]:
    """The context variable that, set to a list, collects the master key that opened each key group.

    :func:`unwrap_data_key` appends to it; the audit trail (:mod:`psops.lifecycle.audit`) sets it around one
    operation and nothing else reads it. It is made on first use (contextvars is a C extension a plain decrypt
    need not load); the audit module asks for it when it is imported, so it exists before any scope sets it.
    """
    global _unwrapped_by
    if _unwrapped_by is None:
        from contextvars import ContextVar

        _unwrapped_by = ContextVar("psops_unwrapped_by", default=None)
    return _unwrapped_by


def unwrap_data_key(meta: Metadata, decryption_order: Sequence[str] | None = None) -> bytes:
    """Recover the data key: the first master key that works in each group, then Shamir across groups.

    Independent key groups are unwrapped concurrently (at most :data:`MAX_PARALLEL_GROUPS` at once), so a
    slow network key in one group does not hold up the others; inside a group keys are tried in decryption
    order (local age and PGP keys before network ones by default) and the first that works ends the group.
    """
    order = _order(decryption_order)
    rank = {kind: i for i, kind in enumerate(order)}
    groups = meta.key_groups
    locks = _ServiceLocks(concurrent=len(groups) > 1)
    for kind in dict.fromkeys(s.kind for g in groups for s in g):
        locks.prepare(kind)  # services are built here, in this thread, before any worker runs
    if len(groups) == 1:
        results = [_unwrap_group(0, groups[0], rank, locks)]
    else:
        # imported here: concurrent.futures (and the logging it pulls in) costs ~4 ms on every single-group decrypt
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_GROUPS, len(groups)),
                                thread_name_prefix="psops-unwrap") as pool:
            results = list(pool.map(lambda ig: _unwrap_group(ig[0], ig[1], rank, locks), enumerate(groups)))
    parts = [part for part, _ in results if part is not None]
    attempts = [a for _, tried in results for a in tried]
    needed = meta.threshold()
    if len(groups) == 1:
        if not parts:
            raise NoKeyMatched(attempts)
        key = parts[0]
    else:
        if len(parts) < needed:
            raise NoKeyMatched(attempts, detail=f"only {len(parts)} of the {needed} key groups needed")
        from psops import shamir

        key = shamir.combine(parts)
    if len(key) != 32:
        raise KeyServiceError(f"the unwrapped data key has {len(key)} bytes instead of 32")
    used = _unwrapped_by.get() if _unwrapped_by is not None else None  # (None: no audit scope ever set it)
    if used is not None:
        # _unwrap_group records one attempt per key tried before the one that worked, in rank order.
        used.extend(sorted(group, key=lambda s: rank.get(s.kind, len(rank)))[len(tried)]
                    for group, (part, tried) in zip(groups, results, strict=True) if part is not None)
    return key


def _describe(stanza: KeyStanza) -> str:
    for name in ("recipient", "fp", "arn", "resource_id", "vault_url", "key_name", "key_id"):
        if name in stanza.fields:
            return str(stanza.fields[name])
    return "?"


def make_mac(cipher: ValueCipher, mac_hex: str, lastmodified: str) -> str:
    """Encrypt the MAC with ``lastmodified`` as AAD, as sops stores it."""
    return cipher.encrypt_bytes(mac_hex.encode(), "str", mac_aad(lastmodified))


def verify_mac(cipher: ValueCipher, meta: Metadata, computed: str) -> None:
    """Raise MacMismatch unless the stored MAC decrypts and equals ``computed``."""
    if not meta.mac:
        raise MacMismatch(f"MAC mismatch: the file has no MAC, computed {computed}",
                          hint="the file was damaged or edited by hand; --ignore-mac reads it anyway")
    try:
        parse_enc(meta.mac)
        stored, _ = cipher.decrypt_bytes(meta.mac, mac_aad(meta.lastmodified))
    except (DecryptError, ValueError):
        raise MacMismatch("MAC mismatch: the stored MAC does not authenticate (lastmodified or mac altered)",
                          hint="restore the file from version control; --ignore-mac reads it anyway") from None
    if not compare_digest(stored.decode("ascii", "replace").upper(), computed):
        raise MacMismatch("MAC mismatch: the file's content does not match its MAC (it was modified)",
                          hint="restore the file from version control; --ignore-mac reads it anyway")


class Decrypted(Record):
    """A decrypted document with what is needed to write it back encrypted under the same data key."""

    __slots__ = ("doc", "metadata", "cipher", "warnings")

    def __init__(self, doc: Document, metadata: Metadata, cipher: ValueCipher,
                 warnings: list[str] | None = None) -> None:
        self.doc = doc
        self.metadata = metadata
        self.cipher = cipher
        self.warnings: list[str] = [] if warnings is None else warnings


def open_document(doc: Document) -> tuple[Document, Metadata]:
    """Return the branches without their ``sops`` items (the input is not changed) and the parsed metadata."""
    if not doc:
        raise EmptyDocument("the file has no document")
    branches = [Mapping(list(branch.items)) for branch in doc]
    blocks = [split_metadata(branch) for branch in branches]
    return branches, parse_metadata(blocks[0])


def decrypt_document(doc: Document, *, ignore_mac: bool = False,
                     decryption_order: Sequence[str] | None = None, for_rewrite: bool = True) -> Decrypted:
    """Decrypt a loaded encrypted document; checks the MAC unless ``ignore_mac``.

    ``for_rewrite=False`` when the result is only read: the cipher then keeps no IV stash (see
    :class:`psops.cipher.ValueCipher`), which :func:`seal_document` would need to keep unchanged values'
    ciphertexts.
    """
    doc, meta = open_document(doc)
    data_key = unwrap_data_key(meta, decryption_order)
    cipher = ValueCipher(data_key, remember_ivs=for_rewrite)
    plain, computed, warnings = decrypt_tree(doc, cipher, meta.rules)
    if ignore_mac:
        warnings.append("the MAC was not checked (--ignore-mac): the file may have been tampered with")
    else:
        verify_mac(cipher, meta, computed)
    return Decrypted(plain, meta, cipher, warnings)


def encrypt_document(doc: Document, groups: Sequence[Sequence[KeyStanza]], *, rules: EncryptionRules,
                     shamir_threshold: int = 0, now: datetime | None = None, default_rules: bool = True,
                     random: Callable[[int], bytes] = os.urandom) -> tuple[Document, Metadata]:
    """Encrypt a plaintext document under a new data key wrapped for ``groups``.

    With no selection rule, SOPS' default ``unencrypted_suffix: _unencrypted`` applies unless
    ``default_rules`` is false (the binary store encrypts its one value under no rule at all).
    """
    if not doc:
        raise EmptyDocument("the file has no document")
    if default_rules:
        rules = rules.with_default()
    data_key = random(32)
    wrapped = wrap_data_key(data_key, groups, shamir_threshold, random=random)
    stamp = now_rfc3339(now)  # one instant for created_at and lastmodified
    meta = Metadata(key_groups=wrapped, rules=rules,
                    shamir_threshold=(shamir_threshold or len(groups)) if len(groups) > 1 else 0,
                    extensions={DATA_KEY_CREATED_AT: stamp})  # for rotate_after (docs/lifecycle.md)
    return seal_document(doc, meta, ValueCipher(data_key, random=random), now=now, stamp=stamp)


def seal_document(doc: Document, meta: Metadata, cipher: ValueCipher,
                  *, now: datetime | None = None, stamp: str | None = None) -> tuple[Document, Metadata]:
    """Encrypt ``doc`` under an existing data key (unchanged values keep their ciphertext); fresh MAC.

    ``lastmodified`` is ``stamp`` when given (already formatted), else ``now`` (default: the current time)."""
    encrypted, mac_hex = encrypt_tree(doc, cipher, meta.rules)
    lastmodified = stamp if stamp is not None else now_rfc3339(now)
    meta = Metadata(key_groups=meta.key_groups, rules=meta.rules, shamir_threshold=meta.shamir_threshold,
                    lastmodified=lastmodified, mac=make_mac(cipher, mac_hex, lastmodified),
                    version=WRITE_VERSION, extensions=dict(meta.extensions))
    return encrypted, meta


def has_metadata(doc: Document) -> bool:
    """True when the first branch carries a ``sops`` mapping (the file is already encrypted)."""
    return bool(doc) and isinstance(doc[0].get("sops"), Mapping)


__all__ = [
    "Decrypted",
    "decrypt_document",
    "encrypt_document",
    "has_metadata",
    "is_encrypted_value",
    "parse_decryption_order",
    "seal_document",
    "unwrap_data_key",
    "unwrapped_by",
    "wrap_data_key",
]
