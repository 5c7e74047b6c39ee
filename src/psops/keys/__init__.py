"""Registry of key services, by the name of their list in the ``sops`` metadata block.

Services are imported on first use, so decrypting an age file never imports GnuPG or a cloud SDK.

Third-party key types: a separate package can add a key service without touching psops by declaring an
entry point in the group ``psops.key_services`` (:data:`ENTRY_POINT_GROUP`). The entry point's *name* is the
metadata list name the stanzas are stored under (e.g. ``example_kms`` -> ``sops.example_kms: [...]``); its
*value* is ``module:Class``, a class built with no arguments that implements
:class:`psops.keys.base.KeyService`. In ``pyproject.toml``::

    [project.entry-points."psops.key_services"]
    example_kms = "psops_example_kms:ExampleKmsService"

Entry points are read only when a kind is not built in (built-in kinds always win), once per process.
sops itself ignores lists it does not know, so a file that also has a sops-readable key stays readable by sops.
"""

from __future__ import annotations

import sys

from psops.errors import PsopsError
from psops.keys.base import KeyStanza

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: decrypting an age file never imports typing
if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from psops.keys.service import KeyService

__all__ = ["ENTRY_POINT_GROUP", "KNOWN_KINDS", "KeyService", "KeyStanza", "get_service", "is_supported",
           "plugin_kinds"]

ENTRY_POINT_GROUP = "psops.key_services"

# metadata list name -> "module:class"
_REGISTRY: dict[str, str] = {
    "age": "psops.keys.age:AgeService",
    "pgp": "psops.keys.pgp:PgpService",
    "kms": "psops.keys.aws_kms:AwsKmsService",
    "hc_vault": "psops.keys.vault:VaultTransitService",
    "gcp_kms": "psops.keys.gcp_kms:GcpKmsService",
    "azure_kv": "psops.keys.azure_kv:AzureKeyVaultService",
}

# Every key list SOPS 3.x knows, in the order sops keeps them in memory (kms first, age last). Kinds
# psops has no service for yet are kept verbatim in the file but cannot wrap or unwrap.
KNOWN_KINDS: tuple[str, ...] = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age")

_instances: dict[str, KeyService] = {}
_plugins: dict[str, EntryPoint] | None = None


def _plugin_entry_points() -> dict[str, EntryPoint]:
    global _plugins
    if _plugins is None:
        from importlib import metadata as importlib_metadata

        found: dict[str, EntryPoint] = {}
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in _REGISTRY and ep.name not in found:
                found[ep.name] = ep
        _plugins = found
    return _plugins


def plugin_kinds() -> tuple[str, ...]:
    """Key kinds provided by installed packages through the ``psops.key_services`` entry-point group."""
    return tuple(_plugin_entry_points())


def is_supported(kind: str) -> bool:
    """True when psops has a key service for ``kind`` (built in, or from an installed plug-in package)."""
    return kind in _REGISTRY or kind in _plugin_entry_points()


def get_service(kind: str) -> KeyService:
    """Return the (cached) key service for ``kind``, importing its module on first use."""
    service = _instances.get(kind)
    if service is None:
        target = _REGISTRY.get(kind)
        if target is not None:
            module_name, class_name = target.split(":")
            __import__(module_name)  # not importlib.import_module: importlib is not otherwise needed here
            service = getattr(sys.modules[module_name], class_name)()
        else:
            service = _load_plugin(kind)
        _instances[kind] = service
    return service


def _load_plugin(kind: str) -> KeyService:
    ep = _plugin_entry_points().get(kind)
    if ep is None:
        raise PsopsError(
            f"psops has no key service for {kind!r} keys yet",
            hint="decrypt with another key of the file, use sops for this key type, or install a package "
                 f"that provides it (entry-point group {ENTRY_POINT_GROUP})",
        )
    try:
        service = ep.load()()
    except Exception as exc:
        raise PsopsError(f"the key service plug-in {ep.value!r} for {kind!r} keys failed to load: "
                         f"{type(exc).__name__}", hint="reinstall or update the package that provides it") from None
    missing = [m for m in ("parse_recipients", "wrap", "unwrap", "describe", "identity") if not hasattr(service, m)]
    if missing:
        raise PsopsError(f"the key service plug-in {ep.value!r} for {kind!r} keys lacks {', '.join(missing)}",
                         hint="it must implement psops.keys.base.KeyService")
    return service  # type: ignore[no-any-return]


def reset_services() -> None:
    """Forget cached services, the identities they loaded and the plug-in list (environment changed, tests)."""
    global _plugins
    _instances.clear()
    _plugins = None


def __getattr__(name: str) -> object:
    """``KeyService`` (the Protocol, in :mod:`psops.keys.service`) is imported on first use."""
    if name == "KeyService":
        from psops.keys.service import KeyService

        return KeyService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
