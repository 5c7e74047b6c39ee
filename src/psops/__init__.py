"""psops: a Git-native encrypted secrets manager, wire-compatible with SOPS 3.x."""

__version__ = "0.1.0"
