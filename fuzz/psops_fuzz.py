"""Coverage-guided fuzzing of psops' parsers with atheris (libFuzzer), a separate, long-running command.

Targets, chosen by the first input byte: the five stores' parsers (yaml, json, dotenv, ini, binary) plus a
write-back of whatever they read, the ENC value codec, the metadata reader, and decryption of a whole file
(a fixed test key is generated at start; mutated encrypted files must be refused cleanly or decrypt). Any
exception other than :class:`psops.errors.PsopsError` is a crash; libFuzzer's ``-timeout`` catches hangs and
``-rss_limit_mb`` memory growth. Setup and commands: docs/limits.md ("Long runs")::

    pip install -e '.[fuzz]'
    python fuzz/psops_fuzz.py -max_total_time=600 -rss_limit_mb=2048 -timeout=10 fuzz/corpus/
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    # the stores are imported lazily by get_store: import them here so they are instrumented too
    import psops.engine
    import psops.formats.binary_store
    import psops.formats.dotenv_store
    import psops.formats.ini_store
    import psops.formats.json_store
    import psops.formats.yaml_store
    import psops.keys.age  # noqa: F401
    from psops.cipher import ValueCipher, parse_enc
    from psops.errors import PsopsError
    from psops.formats import get_store
    from psops.formats.flatten import unflatten_metadata
    from psops.limits import ensure_recursion_room
    from psops.metadata import parse_metadata
    from psops.operations import EncryptPlan, decrypt_bytes, encrypt_bytes

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
SEEDS = {
    "yaml": b"a: secret\nb: [1, 2.5, true, null]\nnested:\n    c: 2024-01-01T00:00:00Z # comment\n",
    "json": b'{"a": "secret", "b": [1, 2.5, true, null], "nested": {"c": "x"}}',
    "dotenv": b"a=secret\n#comment\nb=two\n",
    "ini": b"[s]\na = secret\n; comment\nb = two\n",
    "binary": b"\x00\x01binary secret\xff",
}
_CIPHER = ValueCipher(b"k" * 32)
_ENCRYPTED: dict[str, bytes] = {}


def _setup_key() -> None:
    """A throwaway age identity for the decryption target (never a real key)."""
    import pyrage

    from psops.keys.base import KeyStanza

    identity = pyrage.x25519.Identity.generate()
    folder = tempfile.mkdtemp(prefix="psops-fuzz-")
    keys = os.path.join(folder, "keys.txt")
    with open(keys, "w") as fh:
        fh.write(f"{identity}\n")
    os.environ["SOPS_AGE_KEY_FILE"] = keys
    plan = EncryptPlan(key_groups=[[KeyStanza("age", {"recipient": str(identity.to_public())})]])
    for fmt, seed in SEEDS.items():
        _ENCRYPTED[fmt] = encrypt_bytes(seed, plan, input_format=fmt, output_format=fmt)


def _mutate_encrypted(fmt: str, fdp: atheris.FuzzedDataProvider) -> bytes:
    data = bytearray(_ENCRYPTED[fmt])
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        if not data:
            break
        pos = fdp.ConsumeIntInRange(0, len(data) - 1)
        data[pos:pos + fdp.ConsumeIntInRange(0, 8)] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 8))
    return bytes(data)


def test_one_input(raw: bytes) -> None:
    """One fuzz case; only PsopsError may escape the library."""
    fdp = atheris.FuzzedDataProvider(raw)
    target = fdp.ConsumeIntInRange(0, 8)
    try:
        if target < len(FORMATS):
            fmt = FORMATS[target]
            store = get_store(fmt)
            doc = store.load(fdp.ConsumeBytes(fdp.remaining_bytes()))
            store.dump(doc)
        elif target == 5:
            text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
            with contextlib.suppress(ValueError):
                parse_enc(text)
            _CIPHER.decrypt(text, "a:")
        elif target == 6:
            pairs = [(fdp.ConsumeUnicodeNoSurrogates(24), fdp.ConsumeUnicodeNoSurrogates(24))
                     for _ in range(fdp.ConsumeIntInRange(0, 12))]
            parse_metadata(unflatten_metadata(pairs))
        else:
            fmt = FORMATS[fdp.ConsumeIntInRange(0, len(FORMATS) - 1)]
            decrypt_bytes(_mutate_encrypted(fmt, fdp), input_format=fmt, output_format=fmt)
    except PsopsError:
        pass


def main() -> None:
    """Run libFuzzer with psops' targets."""
    ensure_recursion_room()
    _setup_key()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
