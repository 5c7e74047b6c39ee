"""Kubernetes manifests: decrypt trees and streams for ``kubectl apply``, encrypt Secrets, KSOPS and Flux rules.

Modules, each with one job:

* :mod:`psops.k8s.stream` cuts a multi-document YAML stream into documents, keeping their bytes;
* :mod:`psops.k8s.walk` finds input files (folders, ``.psopsignore``) and reads them within safety limits;
* :mod:`psops.k8s.decrypt` decrypts what carries SOPS metadata, concurrently, and passes the rest through;
* :mod:`psops.k8s.checks` checks decrypted Secrets and refuses duplicates;
* :mod:`psops.k8s.flux` holds Flux's conventions (``decrypt: disabled``, SOPS files inside Secret data);
* :mod:`psops.k8s.ksops` is the KSOPS generator, as a KRM function and a legacy exec plugin;
* :mod:`psops.k8s.encrypt` encrypts manifests with the ``^(data|stringData)$`` convention.

Everything works in memory: plaintext never goes to a temporary file.
"""

from __future__ import annotations

from psops.k8s.decrypt import DecryptOptions, ManifestDoc, SourceResult, decrypt_paths, decrypt_source, render_stream
from psops.k8s.walk import WalkOptions

__all__ = ["DecryptOptions", "ManifestDoc", "SourceResult", "WalkOptions", "decrypt_paths", "decrypt_source",
           "render_stream"]
