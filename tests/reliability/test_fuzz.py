"""Fuzzing every parser, the ENC codec and the metadata reader (hypothesis; bounded in the default run).

No input may end in anything but a :class:`psops.errors.PsopsError` (a clean message and exit code): not a
traceback, not a hang (each example has a deadline), not unbounded memory (inputs are small; the hostile
input suite covers size). Inputs are random bytes, random text, and valid files with random byte-level
mutations (flips, insertions, deletions, truncation, splices of format syntax). Mutated *encrypted* files
must either be refused or decrypt to exactly what was encrypted, as far as the SOPS format authenticates it:
the canonical bytes of every value, in order (comments and clear-text key names are not covered by the MAC;
SECURITY.md). ``PSOPS_FUZZ_EXAMPLES=5000 pytest tests/reliability -k fuzz`` is the long run; the atheris
harness under ``fuzz/`` is the coverage-guided one (docs/limits.md).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.reliability import CANARY, FORMATS, SAMPLES, cli, encrypt_sample, examples
from fixtures.strategies import UNICODE
from psops.cipher import ValueCipher, canonical, parse_enc
from psops.errors import DecryptError, PsopsError
from psops.formats import get_store
from psops.formats.flatten import unflatten_metadata
from psops.metadata import parse_metadata
from psops.operations import decrypt_bytes
from psops.tree import Comment, Mapping, Value, leaves

if TYPE_CHECKING:
    from conftest import AgeKey

_FUZZ: Any = {
    "deadline": timedelta(seconds=5),
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                              HealthCheck.data_too_large, HealthCheck.filter_too_much],
}

# Syntax fragments of every format, spliced into inputs so mutations reach past the first parse error.
TOKENS = [b"\n", b": ", b"- ", b"[", b"]", b"{", b"}", b",", b'"', b"'", b"#", b";", b"=", b"&a ", b"*a",
          b"!!binary ", b"|", b">", b"---\n", b"sops:\n", b"[sops]\n", b"sops_version=3.11.0\n", b"\\n",
          b"\x00", b"\xff", b"\t", b"    ", b"ENC[AES256_GCM,", b"__map_", b"__list_", b"<<: *a\n", b"\r"]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few random byte-level edits."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice", "truncate", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[pos:pos + draw(st.integers(1, 16))]
        elif op == "splice":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "truncate":
            del data[pos:]
        elif op == "dup" and data:
            end = min(len(data), pos + draw(st.integers(1, 64)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


def inputs_for(fmt: str) -> st.SearchStrategy[bytes]:
    """Random bytes, random text, and mutated samples of ``fmt``."""
    return st.one_of(
        st.binary(max_size=256),
        st.text(UNICODE, max_size=128).map(lambda t: t.encode("utf-8")),
        st.lists(st.sampled_from([*TOKENS, b"a", b"b", b"1", b"x: y\n", b"k = v\n"]), max_size=40).map(b"".join),
        mutated(SAMPLES[fmt].text),
    )


def load_cleanly(fmt: str, data: bytes) -> list[Mapping] | None:
    """Parse with the store; a PsopsError is a clean refusal (None), anything else fails the test."""
    try:
        return get_store(fmt).load(data)
    except PsopsError:
        return None


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_store_load_and_dump(fmt: str) -> None:
    @settings(max_examples=examples(150), **_FUZZ)
    @given(data=inputs_for(fmt))
    def check(data: bytes) -> None:
        doc = load_cleanly(fmt, data)
        if doc is None:
            return
        try:
            out = get_store(fmt).dump(doc)  # whatever was read can be written, or refused cleanly
        except PsopsError:
            return
        again = load_cleanly(fmt, out)
        if fmt != "yaml":  # YAML: see test_yaml_limits.py (literal blocks with an indentation indicator)
            assert again is not None, f"{fmt}: psops cannot read what it wrote:\n{out!r}"
    check()


@settings(max_examples=examples(200), **_FUZZ)
@given(text=st.one_of(
    st.text(UNICODE, max_size=120),
    st.builds(lambda d, i, t, ty: f"ENC[AES256_GCM,data:{d},iv:{i},tag:{t},type:{ty}]",
              st.text("ABCDEFabcdef0123456789+/=", max_size=24), st.text("ABCDEFabcdef0123456789+/=", max_size=48),
              st.text("ABCDEFabcdef0123456789+/=", max_size=28), st.text("abcdefghijklmnopqrstuvwxyz", max_size=8)),
))
def test_fuzz_enc_codec(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_enc(text)
    cipher = ValueCipher(b"k" * 32)
    with pytest.raises(DecryptError):
        cipher.decrypt(text, "a:")


@settings(max_examples=examples(200), **_FUZZ)
@given(plain=st.binary(max_size=64), tag=st.sampled_from(["str", "int", "float", "bool", "time", "comment",
                                                           "bytes", "nope", ""]))
def test_fuzz_typed_plaintexts_decode_or_fail_cleanly_without_quoting_them(plain: bytes, tag: str) -> None:
    """A value that authenticates but whose plaintext is not of its type tag: DecryptError, plaintext unsaid."""
    cipher = ValueCipher(b"k" * 32)
    if not tag:
        return
    secret = plain + CANARY.encode()
    enc = cipher.encrypt_bytes(secret, tag, "a:")
    try:
        cipher.decrypt(enc, "a:")
    except DecryptError as exc:
        assert CANARY not in str(exc) and CANARY not in repr(exc.__context__ or "")


_META_KEYS = ["version", "mac", "lastmodified", "age", "pgp", "kms", "key_groups", "shamir_threshold",
              "encrypted_regex", "unencrypted_suffix", "mac_only_encrypted", "recipient", "enc", "fp",
              "created_at", "arn", "psops_data_key_created_at", "hc_vault", "azure_kv", "gcp_kms"]
_META_SCALARS = st.one_of(st.sampled_from(["3.11.0", "1.0", "", "2024-01-01T00:00:00Z", "age1x", "x",
                                           "ENC[AES256_GCM,data:,iv:,tag:,type:str]"]),
                          st.integers(-5, 5), st.booleans(), st.none(), st.floats(), st.text(UNICODE, max_size=12))


def _meta_values() -> st.SearchStrategy[Value]:
    return st.recursive(
        _META_SCALARS,
        lambda children: st.one_of(
            st.lists(st.tuples(st.sampled_from(_META_KEYS), children), max_size=6).map(Mapping),
            st.lists(children, max_size=4)),
        max_leaves=20)


@settings(max_examples=examples(60), **_FUZZ)
@given(block=st.lists(st.tuples(st.sampled_from(_META_KEYS), _meta_values()), max_size=10).map(Mapping))
def test_fuzz_metadata_reader(block: Mapping) -> None:
    with contextlib.suppress(PsopsError):
        parse_metadata(block)


@settings(max_examples=examples(100), **_FUZZ)
@given(pairs=st.lists(st.tuples(
    st.lists(st.one_of(st.sampled_from(["age", "enc", "recipient", "version", "mac", "key_groups", "x", ""]),
                       st.integers(0, 3).map(str), st.text(UNICODE, max_size=5)), max_size=6).map(
        lambda parts: "".join(parts)).map(lambda k: k.replace("  ", "__map_").replace(" ", "__list_")),
    st.text(UNICODE, max_size=12)), max_size=12))
def test_fuzz_flat_metadata_reader(pairs: list[tuple[str, str]]) -> None:
    with contextlib.suppress(PsopsError):
        parse_metadata(unflatten_metadata(pairs))


def _authenticated_view(doc: list[Mapping]) -> list[bytes]:
    """What the SOPS MAC vouches for: the canonical bytes of every value, in document order."""
    return [canonical(v)[0] for branch in doc for _, v in leaves(branch)
            if v is not None and not isinstance(v, Comment)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_mutated_encrypted_files_are_refused_or_intact(fmt: str, age_env: AgeKey, tmp_path: Path) -> None:
    sample = SAMPLES[fmt]
    encrypted = encrypt_sample(sample, tmp_path, age_env.recipient).read_bytes()
    store_fmt = "binary" if fmt == "binary" else fmt
    expected = _authenticated_view(get_store(store_fmt).load(sample.text))

    @settings(max_examples=examples(60), **_FUZZ)
    @given(data=mutated(encrypted))
    def check(data: bytes) -> None:
        try:
            result = decrypt_bytes(data, input_format=store_fmt, output_format=store_fmt)
        except PsopsError as exc:
            assert CANARY not in str(exc)
            return
        got = _authenticated_view(get_store(store_fmt).load(result.data))
        assert got == expected, "a changed file decrypted to different data"
    check()


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_cli_reports_bad_input_in_one_line_with_an_exit_code(fmt: str, age_env: AgeKey,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / SAMPLES[fmt].name
    types = ["--input-type", "binary", "--output-type", "binary"] if fmt == "binary" else []

    @settings(max_examples=examples(40), **_FUZZ)
    @given(data=inputs_for(fmt))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        for argv in (["decrypt", *types, str(path)], ["encrypt", "--age", age_env.recipient, *types, str(path)]):
            result = cli(*argv)
            if result.code == 0:
                continue
            info = result.describe(argv)
            assert result.out == b"", info
            lines = result.err_text.splitlines()
            assert lines and lines[0].startswith("psops: error: "), info
            assert "internal error" not in result.err_text and "Traceback" not in result.err_text, info
    check()

