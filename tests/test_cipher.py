"""The ENC value codec: SOPS' known-answer vector, canonical plaintexts, AAD binding, the IV stash."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.strategies import around
from psops import cipher
from psops.cipher import ValueCipher, canonical, format_time, parse_enc, parse_plaintext, parse_time
from psops.errors import DecryptError, EncryptError
from psops.tree import Comment

# From sops' aes/cipher_test.go (spec 2.6): key is 32 x "f", AAD "bar:", plaintext "foo".
KAT_KEY = b"f" * 32
KAT_VALUE = "ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]"


def test_known_answer_vector_decrypts() -> None:
    assert ValueCipher(KAT_KEY).decrypt(KAT_VALUE, "bar:") == "foo"


def test_known_answer_vector_fails_with_other_aad() -> None:
    with pytest.raises(DecryptError) as err:
        ValueCipher(KAT_KEY).decrypt(KAT_VALUE, "")
    assert err.value.exit_code == 25
    assert "foo" not in str(err.value)


def test_known_answer_vector_reencrypts_identically_through_the_stash() -> None:
    cipher = ValueCipher(KAT_KEY)
    assert cipher.decrypt(KAT_VALUE, "bar:") == "foo"
    assert cipher.encrypt("foo", "bar:") == KAT_VALUE


def test_read_only_cipher_keeps_no_ivs() -> None:
    cipher = ValueCipher(KAT_KEY, remember_ivs=False)  # what psops decrypt uses: nothing is re-encrypted
    assert cipher.decrypt(KAT_VALUE, "bar:") == "foo"
    assert parse_enc(cipher.encrypt("foo", "bar:"))[1] != parse_enc(KAT_VALUE)[1]


def test_changed_value_gets_a_fresh_iv() -> None:
    cipher = ValueCipher(KAT_KEY)
    cipher.decrypt(KAT_VALUE, "bar:")
    other = cipher.encrypt("fop", "bar:")
    assert parse_enc(other)[1] != parse_enc(KAT_VALUE)[1]


def test_encrypted_value_layout() -> None:
    enc = ValueCipher(b"k" * 32).encrypt("hello", "a:b:")
    data, iv, tag, type_tag = parse_enc(enc)
    assert len(iv) == 32 and len(tag) == 16 and len(data) == len(b"hello") and type_tag == "str"
    assert enc.startswith("ENC[AES256_GCM,data:") and enc.endswith(",type:str]")
    assert base64.b64encode(iv).decode() in enc


@pytest.mark.parametrize(
    ("value", "plain", "tag"),
    [
        ("héllo", "héllo".encode(), "str"),
        (True, b"True", "bool"),
        (False, b"False", "bool"),
        (42, b"42", "int"),
        (-7, b"-7", "int"),
        (3.14, b"3.14", "float"),
        (1.0, b"1", "float"),
        (1e3, b"1000", "float"),
        (1e-7, b"0.0000001", "float"),
        (1e300, b"1" + b"0" * 300, "float"),
        (12345678901234567000.0, b"12345678901234567000", "float"),
        (-0.0, b"-0", "float"),
        (float("inf"), b"+Inf", "float"),
        (float("-inf"), b"-Inf", "float"),
        (float("nan"), b"NaN", "float"),
        (datetime(2024, 1, 2, tzinfo=timezone.utc), b"2024-01-02T00:00:00Z", "time"),
        (datetime(2001, 12, 14, 21, 59, 43, 100000, tzinfo=timezone(timedelta(hours=-5))),
         b"2001-12-14T21:59:43.1-05:00", "time"),
        (Comment(" top comment"), b" top comment", "comment"),
    ],
)
def test_canonical_plaintext_matches_go(value: object, plain: bytes, tag: str) -> None:
    assert canonical(value) == (plain, tag)  # type: ignore[arg-type]


def test_int_outside_int64_is_refused() -> None:
    with pytest.raises(EncryptError):
        canonical(2**63)


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_bool_spellings_true(text: str) -> None:
    assert parse_plaintext(text.encode(), "bool") is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_go_bool_spellings_false(text: str) -> None:
    assert parse_plaintext(text.encode(), "bool") is False


@pytest.mark.parametrize("text", ["1_000", " 7", "0x10", "1.0", ""])
def test_int_plaintext_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        parse_plaintext(text.encode(), "int")


def test_int_plaintext_with_leading_zeros_parses_like_atoi() -> None:
    assert parse_plaintext(b"007", "int") == 7
    assert canonical(7)[0] == b"7"


def test_time_roundtrip_and_zone() -> None:
    ts = parse_time("2006-01-02T15:04:05+07:06")
    assert format_time(ts) == "2006-01-02T15:04:05+07:06"
    with pytest.raises(ValueError):
        parse_time("2006-01-02 15:04:05")


def test_empty_string_is_not_encrypted() -> None:
    assert ValueCipher(b"k" * 32).encrypt("", "a:") == ""


@pytest.mark.parametrize(
    "bad",
    [
        "ENC[AES256_GCM,data:,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]",
        "ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z0==,type:str]",
        "ENC[AES256_GCM,data:oYy,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]",
        "ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==]",
        "ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]x",
    ],
)
def test_malformed_enc_strings_are_clean_errors(bad: str) -> None:
    with pytest.raises(DecryptError) as err:
        ValueCipher(KAT_KEY).decrypt(bad, "bar:")
    assert "corrupt" in err.value.message


def test_flipped_tag_bit_fails_authentication() -> None:
    _data, _iv, tag, _ = parse_enc(KAT_VALUE)
    bad_tag = bytes([tag[0] ^ 1]) + tag[1:]
    forged = KAT_VALUE.replace(base64.b64encode(tag).decode(), base64.b64encode(bad_tag).decode())
    with pytest.raises(DecryptError, match="failed authentication"):
        ValueCipher(KAT_KEY).decrypt(forged, "bar:")


# The hand-written ENC and int parsers run instead of their regular expressions (no regex engine at start-up);
# the patterns stay in psops.cipher as the grammar, and these tests hold the two together.
_ENC_FRAGMENTS = ("ENC[AES256_GCM,data:", "ENC[AES256_GCM,", ",iv:", "iv:", ",tag:", ",type:", "type:", "]", "[",
                  "=", "==", "abc", "Q", "+/", "A1z9", "str", "int", "bytes", "Str", ",", ":", "é", "\n", "data:")


@settings(max_examples=500, deadline=None)
@given(around(cipher._ENC_RE._source, *_ENC_FRAGMENTS, fullmatch=False))
def test_split_enc_matches_the_enc_pattern(text: str) -> None:
    m = cipher._ENC_RE.match(text)
    assert cipher._split_enc(text) == (m.groups() if m else None)


@pytest.mark.parametrize("text", [KAT_VALUE, KAT_VALUE + "\n", KAT_VALUE.replace("type:str", "type:"),
                                  KAT_VALUE.replace("data:oYyi", "data:"), KAT_VALUE.replace("oYyi", "oY=yi"),
                                  KAT_VALUE + "\n\n", KAT_VALUE.replace("str]", "str]x"),
                                  KAT_VALUE.replace(",iv:", ",iv:,iv:"), KAT_VALUE.replace(",tag:", ",iv:A,tag:"),
                                  KAT_VALUE.replace("type:str", "type:str,type:str"),
                                  KAT_VALUE.replace("type:str", "type:s,tr"), KAT_VALUE.replace(",iv:", ",IV:")])
def test_split_enc_on_edge_cases(text: str) -> None:
    m = cipher._ENC_RE.match(text)
    assert cipher._split_enc(text) == (m.groups() if m else None)


@settings(max_examples=800, deadline=None)
@given(around(cipher._INT_RE._source, "+", "-", "0", "12", "9", "\n", " ", "x", "١", "_", fullmatch=False))
def test_int_text_check_matches_the_int_pattern(text: str) -> None:
    assert cipher._is_int_text(text) == bool(cipher._INT_RE.match(text))


def _parse_enc_by_pattern(value: str) -> tuple[bytes, bytes, bytes, str]:
    """parse_enc as it was written with the pattern (the reference for its outcome and error messages)."""
    m = cipher._ENC_RE.match(value)
    if not m:
        raise ValueError("not a well-formed ENC[AES256_GCM,...] value")
    data_b64, iv_b64, tag_b64, type_tag = m.groups()
    try:
        data, iv, tag = (base64.b64decode(f, validate=True) for f in (data_b64, iv_b64, tag_b64))
    except ValueError as exc:
        raise ValueError(f"bad base64 in ENC value: {exc}") from exc
    if len(tag) != cipher.TAG_SIZE or not iv:
        raise ValueError("bad IV or tag length in ENC value")
    return data, iv, tag, type_tag


def _outcome(parse: Any, value: str) -> object:
    try:
        return parse(value)
    except ValueError as exc:
        return str(exc).split(":")[0]


@settings(max_examples=500, deadline=None)
@given(st.one_of(around(cipher._ENC_RE._source, *_ENC_FRAGMENTS, fullmatch=False),
                 st.builds(lambda d, i, t, ty: f"ENC[AES256_GCM,data:{d},iv:{i},tag:{t},type:{ty}]",
                           st.sampled_from(["", "QQ==", "QQ", "Q===", "=QQ=", "QQ=Q", "QUJD", "QU\nJD", "é"]),
                           st.sampled_from(["", "MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=", "AA==", "A"]),
                           st.sampled_from(["t5z2Z023Up0kxwCgw1gNxg==", "t5z2Z023Up0kxwCgw1gNxg", "AAAA", "+/+/"]),
                           st.sampled_from(["str", "", "Str", "int", "x1"]))))
def test_parse_enc_agrees_with_the_pattern_in_outcome_and_message(value: str) -> None:
    assert _outcome(cipher.parse_enc, value) == _outcome(_parse_enc_by_pattern, value)
