"""Shamir secret sharing over GF(2^8), byte for byte as SOPS (HashiCorp Vault's scheme) does it.

The field is GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1. Each byte of the secret is the constant term of
a random polynomial of degree threshold-1; share *i* (0-based) is that polynomial evaluated at x = i+1, and a
share is encoded as the y bytes followed by the x byte (so a 32-byte data key gives 33-byte shares).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from psops.errors import PsopsError


def _mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return out


_TABLES: tuple[list[list[int]], list[int]] | None = None


def _tables() -> tuple[list[list[int]], list[int]]:
    """The 256x256 multiplication table and the inverses, built on first use (not at import: ~50 ms)."""
    global _TABLES
    if _TABLES is None:
        mul = [[_mul(a, b) for b in range(256)] for a in range(256)]
        inv = [0] + [next(b for b in range(1, 256) if mul[a][b] == 1) for a in range(1, 256)]
        _TABLES = (mul, inv)
    return _TABLES


def split(secret: bytes, parts: int, threshold: int, *, random: Callable[[int], bytes] = os.urandom) -> list[bytes]:
    """Split ``secret`` into ``parts`` shares, any ``threshold`` of which recover it."""
    if not 2 <= threshold <= parts <= 255:
        raise PsopsError(f"invalid Shamir parameters: {threshold} of {parts}",
                         hint="shamir_threshold must be between 2 and the number of key groups")
    if not secret:
        raise PsopsError("cannot split an empty secret")
    _MUL, _ = _tables()
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for i in range(parts):
        shares[i][-1] = i + 1
    for pos, byte in enumerate(secret):
        coeffs = [byte, *random(threshold - 1)]
        for i in range(parts):
            x = i + 1
            y = 0
            for c in reversed(coeffs):  # Horner's rule
                y = _MUL[y][x] ^ c
            shares[i][pos] = y
    return [bytes(s) for s in shares]


def combine(shares: Sequence[bytes]) -> bytes:
    """Recover the secret from two or more shares (Lagrange interpolation at x = 0)."""
    if len(shares) < 2:
        raise PsopsError("at least two Shamir shares are needed")
    length = len(shares[0])
    if length < 2 or any(len(s) != length for s in shares):
        raise PsopsError("Shamir shares have different lengths")
    _MUL, _INV = _tables()
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise PsopsError("duplicate Shamir share")
    secret = bytearray(length - 1)
    for pos in range(length - 1):
        acc = 0
        for i, xi in enumerate(xs):
            num, den = 1, 1
            for j, xj in enumerate(xs):
                if i != j:
                    num = _MUL[num][xj]
                    den = _MUL[den][xi ^ xj]
            acc ^= _MUL[shares[i][pos]][_MUL[num][_INV[den]]]
        secret[pos] = acc
    return bytes(secret)
