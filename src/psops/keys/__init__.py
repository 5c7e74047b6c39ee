"""Registry of key services, by the name of their list in the ``sops`` metadata block.

Services are imported on first use, so decrypting an age file never imports GnuPG or a cloud SDK.
"""

from __future__ import annotations

import importlib

from psops.errors import PsopsError
from psops.keys.base import KeyService, KeyStanza

__all__ = ["KNOWN_KINDS", "KeyService", "KeyStanza", "get_service", "is_supported"]

# metadata list name -> "module:class"
_REGISTRY: dict[str, str] = {
    "age": "psops.keys.age:AgeService",
    "pgp": "psops.keys.pgp:PgpService",
}

# Every key list SOPS 3.x knows, in the order sops keeps them in memory (kms first, age last). Kinds
# psops has no service for yet are kept verbatim in the file but cannot wrap or unwrap.
KNOWN_KINDS: tuple[str, ...] = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age")

_instances: dict[str, KeyService] = {}


def is_supported(kind: str) -> bool:
    """True when psops has a key service for ``kind``."""
    return kind in _REGISTRY


def get_service(kind: str) -> KeyService:
    """Return the (cached) key service for ``kind``, importing its module on first use."""
    service = _instances.get(kind)
    if service is None:
        target = _REGISTRY.get(kind)
        if target is None:
            raise PsopsError(
                f"psops has no key service for {kind!r} keys yet",
                hint="decrypt with another key of the file, or use sops for this key type",
            )
        module_name, class_name = target.split(":")
        service = getattr(importlib.import_module(module_name), class_name)()
        _instances[kind] = service
    return service


def reset_services() -> None:
    """Forget cached services and the identities they loaded (environment changed, tests)."""
    _instances.clear()
