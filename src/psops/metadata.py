"""The ``sops`` metadata block <-> :class:`Metadata` records.

The block names the master keys that wrap the file's data key (flat lists for one key group, ``key_groups``
for several, split with Shamir), the selection rule, ``lastmodified``, the encrypted ``mac`` and ``version``.
Readers accept any field order, ``null``/``[]``/absent key lists, and old layouts; the writer emits SOPS 3.11's
struct order so files look as if ``sops`` wrote them. Stanzas of key kinds psops cannot use are kept verbatim.
"""

from __future__ import annotations

from psops.cipher import format_time, is_canonical_utc, parse_time
from psops.errors import CannotReadInput, MetadataNotFound
from psops.keys import KNOWN_KINDS
from psops.keys.base import KeyStanza
from psops.lazyre import lazy_compile
from psops.record import Record
from psops.selection import RULE_NAMES, EncryptionRules, rules_from_mapping
from psops.tree import Comment, Document, Mapping, Value, is_time

TYPE_CHECKING = False  # not typing.TYPE_CHECKING (start-up cost, docs/design.md)
if TYPE_CHECKING:
    from datetime import datetime

SOPS_KEY = "sops"
EXTENSION_PREFIX = "psops_"
DATA_KEY_CREATED_AT = "psops_data_key_created_at"
"""Extension field: when the file's current data key was generated (written by psops encrypt and rotate)."""
# The version psops writes: a real SOPS semver (sops refuses non-semver versions and treats < 3.3.0 files
# with a legacy KMS recovery routine).
WRITE_VERSION = "3.11.0"

_GROUP_ORDER = ("pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")
_ALWAYS_IN_GROUP = ("hc_vault", "age")
_TOP_BEFORE_LASTMODIFIED = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")
# What _looks_semantic tests (hand-written: no regex engine at start-up; the tests compare the two).
_SEMVER_RE = lazy_compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def _looks_semantic(version: str) -> bool:
    """``_SEMVER_RE.match(version)``: ``[v]MAJOR.MINOR.PATCH`` at the start (any decimal digits, as ``\\d``)."""
    parts = (version[1:] if version.startswith("v") else version).split(".", 2)
    return len(parts) == 3 and parts[0].isdecimal() and parts[1].isdecimal() and parts[2][:1].isdecimal()


class Metadata(Record):
    """The parsed ``sops`` block of one file.

    ``extensions`` holds psops' own fields of the sops block (names starting with ``psops_``, e.g. the data
    key's creation time, see docs/lifecycle.md): sops ignores them when reading and drops them when it
    rewrites the file.
    """

    __slots__ = ("key_groups", "rules", "shamir_threshold", "lastmodified", "mac", "version", "extensions")

    def __init__(self, key_groups: list[list[KeyStanza]], rules: EncryptionRules | None = None,
                 shamir_threshold: int = 0, lastmodified: str = "", mac: str = "", version: str = WRITE_VERSION,
                 extensions: dict[str, str] | None = None) -> None:
        self.key_groups = key_groups
        self.rules = EncryptionRules() if rules is None else rules
        self.shamir_threshold = shamir_threshold
        self.lastmodified = lastmodified
        self.mac = mac
        self.version = version
        self.extensions: dict[str, str] = {} if extensions is None else extensions

    def threshold(self) -> int:
        """The number of groups needed to recover the data key (1 for a single group)."""
        if len(self.key_groups) <= 1:
            return 1
        return self.shamir_threshold or len(self.key_groups)


def now_rfc3339(now: datetime | None = None) -> str:
    """Current UTC time at whole seconds with ``Z``, as sops writes ``lastmodified`` and ``created_at``."""
    if now is None:  # the time module, not datetime (~2 ms to import at start-up)
        import time

        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    from datetime import UTC

    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mac_aad(lastmodified: str) -> str:
    """The AAD of the MAC: ``lastmodified`` re-formatted as Go RFC 3339 (fraction dropped, Z for UTC).

    What sops writes (``2006-01-02T15:04:05Z``, a valid date) is its own re-formatting and is returned as it
    is, without importing :mod:`datetime`; anything else is parsed and formatted.
    """
    if is_canonical_utc(lastmodified):
        return lastmodified
    return format_time(parse_time(lastmodified).replace(microsecond=0))


def _plain(value: Value) -> object:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items if not isinstance(k, Comment)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not isinstance(v, Comment)]
    if is_time(value):
        return format_time(value)
    return value


def _stanzas(kind: str, raw: object, where: str) -> list[KeyStanza]:
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list):
        raise CannotReadInput(f"metadata field {where}{kind} must be a list")
    out: list[KeyStanza] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise CannotReadInput(f"metadata entry in {where}{kind} must be a mapping")
        created = entry.get("created_at")
        if created is not None:
            try:
                parse_time(str(created))
            except ValueError:
                raise CannotReadInput(f"metadata {where}{kind}: created_at {created!r} is not RFC 3339") from None
        out.append(KeyStanza(kind, dict(entry)))
    return out


# Fields of the sops block that are never key lists: only other names are looked up among plug-in key kinds.
_NOT_KEY_LISTS = frozenset(("shamir_threshold", "key_groups", "lastmodified", "mac", "version",
                            "mac_only_encrypted", *RULE_NAMES))


def _looks_like_key_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(e, dict) and "enc" in e for e in value)


def _plugin_kinds_in(raw: dict[str, object]) -> list[str]:
    """Key kinds among the fields of ``raw`` beyond sops' own: those of installed plug-ins (entry-point group
    psops.key_services), and lists shaped like key lists (mappings with ``enc``), kept so that a file
    rewritten without the plug-in keeps its keys and errors can name them.

    The entry points are only scanned when the block has a field psops does not know itself."""
    extra = [n for n in raw if n not in KNOWN_KINDS and n not in _NOT_KEY_LISTS
             and not n.startswith(EXTENSION_PREFIX)]
    if not extra:
        return []
    from psops.keys import plugin_kinds

    plugins = plugin_kinds()
    return [n for n in extra if n in plugins or _looks_like_key_list(raw[n])]


def _group(raw: dict[str, object], where: str) -> list[KeyStanza]:
    group: list[KeyStanza] = []
    for kind in (*KNOWN_KINDS, *_plugin_kinds_in(raw)):
        group.extend(_stanzas(kind, raw.get(kind), where))
    return group


def reserved_key_at(doc: Document) -> int | None:
    """The index of the first document of a plaintext that uses the reserved top-level ``sops`` key, or None.
    Encrypting it would write the metadata next to that key."""
    for i, branch in enumerate(doc):
        if SOPS_KEY in branch:
            return i
    return None


def split_metadata(branch: Mapping) -> Mapping | None:
    """Remove the ``sops`` item from a branch and return it (None when the branch has none)."""
    i = branch.index(SOPS_KEY)
    if i < 0:
        return None
    value = branch.items.pop(i)[1]
    if not isinstance(value, Mapping):
        raise CannotReadInput("the top-level 'sops' key is not a mapping")
    return value


def parse_metadata(block: Mapping | None) -> Metadata:
    """Read a ``sops`` block; raises MetadataNotFound / CannotReadInput."""
    if block is None:
        raise MetadataNotFound("sops metadata not found: the file is not encrypted",
                               hint="encrypt it first with 'psops encrypt'")
    raw = _plain(block)
    assert isinstance(raw, dict)
    version = raw.get("version")
    version = "" if version is None else str(version)
    if not version:
        raise CannotReadInput("sops metadata has no version", hint="the file is damaged")
    if not (_looks_semantic(version) or version.startswith("1.")):
        raise CannotReadInput(f"sops metadata version {version!r} is not a semantic version")
    flat = _group(raw, "")
    groups: list[list[KeyStanza]]
    if flat:
        groups = [flat]
    else:
        raw_groups = raw.get("key_groups") or []
        if not isinstance(raw_groups, list):
            raise CannotReadInput("metadata field key_groups must be a list")
        groups = []
        for i, g in enumerate(raw_groups):
            if not isinstance(g, dict):
                raise CannotReadInput("metadata key_groups entries must be mappings")
            groups.append(_group(g, f"key_groups[{i}]."))
    if not any(groups):
        raise CannotReadInput("no keys found in the file's sops metadata")
    try:
        rules = rules_from_mapping(raw)
    except Exception as exc:
        raise CannotReadInput(f"invalid rules in sops metadata: {exc}") from None
    threshold = raw.get("shamir_threshold") or 0
    if isinstance(threshold, str):
        threshold = int(float(threshold))
    if not isinstance(threshold, int | float):
        raise CannotReadInput("metadata field shamir_threshold must be a number")
    lastmodified = str(raw.get("lastmodified") or "")
    return Metadata(
        key_groups=groups,
        rules=rules,
        shamir_threshold=int(threshold),
        lastmodified=lastmodified,
        mac=str(raw.get("mac") or ""),
        version=version,
        extensions={k: str(v) for k, v in raw.items()
                    if k.startswith(EXTENSION_PREFIX) and isinstance(v, str | int | float) and not isinstance(v, bool)},
    )


def _stanza_mapping(stanza: KeyStanza) -> Mapping:
    items: list[tuple[str | Comment, Value]] = []
    for k, v in stanza.fields.items():
        if isinstance(v, dict):
            items.append((k, Mapping([(str(ck), str(cv)) for ck, cv in sorted(v.items())])))
        else:
            items.append((k, v))  # type: ignore[arg-type]
    return Mapping(items)


def _kind_list(group: list[KeyStanza], kind: str) -> list[Value]:
    return [_stanza_mapping(s) for s in group if s.kind == kind]


def _extra_kinds(group: list[KeyStanza]) -> list[str]:
    """Plug-in key kinds in ``group`` (written after sops' own lists, in first-seen order)."""
    return [k for k in dict.fromkeys(s.kind for s in group) if k not in KNOWN_KINDS]


def build_metadata(meta: Metadata, *, empty_list_as_null: bool = False) -> Mapping:
    """Lay out a ``sops`` block in SOPS 3.11's field order.

    An empty ``hc_vault``/``age`` list inside ``key_groups`` is written as ``[]`` (YAML) or, with
    ``empty_list_as_null``, as null (JSON), as sops writes them.
    """
    out = Mapping()
    single = len(meta.key_groups) == 1
    if not single:
        out.items.append(("shamir_threshold", meta.threshold()))
        groups: list[Value] = []
        for group in meta.key_groups:
            g = Mapping()
            for kind in (*_GROUP_ORDER, *_extra_kinds(group)):
                entries = _kind_list(group, kind)
                if entries:
                    g.items.append((kind, entries))
                elif kind in _ALWAYS_IN_GROUP:
                    g.items.append((kind, None if empty_list_as_null else []))
            groups.append(g)
        out.items.append(("key_groups", groups))
    else:
        for kind in (*_TOP_BEFORE_LASTMODIFIED, *_extra_kinds(meta.key_groups[0])):
            entries = _kind_list(meta.key_groups[0], kind)
            if entries:
                out.items.append((kind, entries))
    out.items.append(("lastmodified", meta.lastmodified))
    out.items.append(("mac", meta.mac))
    if single:
        entries = _kind_list(meta.key_groups[0], "pgp")
        if entries:
            out.items.append(("pgp", entries))
    for name in RULE_NAMES:
        value = getattr(meta.rules, name)
        if value:
            out.items.append((name, value))
    if meta.rules.mac_only_encrypted:
        out.items.append(("mac_only_encrypted", True))
    for name, text in meta.extensions.items():
        out.items.append((name, text))
    out.items.append(("version", meta.version))
    return out


def attach_metadata(doc: Document, block: Mapping) -> None:
    """Append the ``sops`` block as the last item of every branch (as sops does for YAML streams)."""
    for branch in doc:
        branch.items.append((SOPS_KEY, block))
