"""AWS KMS key service against a real moto server on 127.0.0.1: stanza layout, roles, profiles, failures."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from fixtures.aws import AwsKms
from fixtures.loopback import BlackHole, closed_port
from psops.errors import KeyServiceError, NotMine
from psops.keys import aws_kms as kms_module
from psops.keys import get_service
from psops.keys.aws_kms import region_from_arn, role_session_name
from psops.keys.base import KeyStanza
from psops.policy import parse_kms_arn

DATA_KEY = bytes(range(32))


def _recipient(arn: str, **fields: object) -> KeyStanza:
    return KeyStanza("kms", {"arn": arn, **fields})


def test_wrap_writes_the_sops_fields_in_order(aws_kms: AwsKms) -> None:
    service = get_service("kms")
    stanza = service.wrap(_recipient(aws_kms.keys.key_arn, context={"b": "2", "a": "1"}, aws_profile=""), DATA_KEY)
    assert list(stanza.fields) == ["arn", "context", "created_at", "enc", "aws_profile"]
    assert stanza.fields["arn"] == aws_kms.keys.key_arn
    assert list(stanza.fields["context"]) == ["a", "b"]  # type: ignore[arg-type]
    assert stanza.fields["aws_profile"] == ""
    assert str(stanza.fields["created_at"]).endswith("Z")
    blob = base64.b64decode(stanza.enc, validate=True)  # standard base64 of CiphertextBlob
    assert blob and DATA_KEY not in blob
    assert service.unwrap(stanza) == DATA_KEY


def test_without_context_and_role_only_arn_created_at_enc_and_profile_are_written(aws_kms: AwsKms) -> None:
    stanza = get_service("kms").wrap(parse_kms_arn(aws_kms.keys.key_arn), DATA_KEY)
    assert list(stanza.fields) == ["arn", "created_at", "enc", "aws_profile"]


def test_alias_arn_wraps_and_unwraps(aws_kms: AwsKms) -> None:
    service = get_service("kms")
    stanza = service.wrap(_recipient(aws_kms.keys.alias_arn), DATA_KEY)
    assert stanza.fields["arn"] == aws_kms.keys.alias_arn
    assert service.unwrap(stanza) == bytes(range(32))


def test_role_is_assumed_through_sts_with_the_sops_session_name(aws_kms: AwsKms) -> None:
    service = get_service("kms")
    recipient = parse_kms_arn(f"{aws_kms.keys.key_arn}+{aws_kms.keys.role_arn}")
    before = len(aws_kms.assumed_roles())
    stanza = service.wrap(recipient, DATA_KEY)
    assert list(stanza.fields) == ["arn", "role", "created_at", "enc", "aws_profile"]
    assert stanza.fields["role"] == aws_kms.keys.role_arn
    assert aws_kms.assumed_roles()[before:] == [(aws_kms.keys.role_arn, role_session_name())]
    assert service.unwrap(stanza) == DATA_KEY


def test_role_session_name_is_sanitized_and_cut_like_sops() -> None:
    # sops strips [^a-zA-Z0-9=,.@-_] -- where '@-_' is a range, so '-' itself is stripped too.
    assert role_session_name("build-host_01.example.com") == "sops@buildhost_01.example.com"
    assert role_session_name("host name/with:odd*chars") == "sops@hostnamewithoddchars"
    long = role_session_name("h" * 100)
    assert len(long) == 63 and long.startswith("sops@hhh")


@pytest.mark.parametrize(("arn", "region"), [
    ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "eu-west-1"),
    ("arn:aws:kms:us-east-2:111122223333:alias/sops", "us-east-2"),
    ("arn:aws-cn:kms:cn-north-1:111122223333:key/k", "cn-north-1"),
    ("arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/a", "us-gov-west-1"),
])
def test_region_comes_from_the_arn(arn: str, region: str) -> None:
    assert region_from_arn(arn) == region


@pytest.mark.parametrize("arn", ["alias/sops", "1234abcd-12ab", "arn:aws:s3:::bucket", ""])
def test_a_value_that_is_not_a_kms_arn_is_refused(arn: str) -> None:
    with pytest.raises(KeyServiceError, match="no valid AWS KMS ARN") as info:
        get_service("kms").wrap(_recipient(arn), DATA_KEY)
    assert info.value.hint and "arn:aws:kms:REGION" in info.value.hint


def _write_profile(home: Path, name: str) -> None:
    aws = home / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "credentials").write_text(f"[{name}]\naws_access_key_id = profilekey\n"
                                     "aws_secret_access_key = profilesecret\n")
    (aws / "config").write_text(f"[profile {name}]\nregion = us-east-1\n")


def test_aws_profile_is_read_from_the_shared_config(aws_kms: AwsKms, clean_env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _write_profile(clean_env, "psops-test")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    service = get_service("kms")
    stanza = service.wrap(parse_kms_arn(aws_kms.keys.key_arn, aws_profile="psops-test"), DATA_KEY)
    assert stanza.fields["aws_profile"] == "psops-test"
    assert service.unwrap(stanza) == DATA_KEY


def test_a_missing_aws_profile_is_named(aws_kms: AwsKms) -> None:
    with pytest.raises(KeyServiceError, match="AWS profile 'nope' is not configured") as info:
        get_service("kms").wrap(parse_kms_arn(aws_kms.keys.key_arn, aws_profile="nope"), DATA_KEY)
    assert aws_kms.keys.key_arn in info.value.message


# ---------------------------------------------------------------------------------------------------------
# failure classes
# ---------------------------------------------------------------------------------------------------------


def test_wrong_encryption_context_is_reported_with_a_hint(aws_kms: AwsKms) -> None:
    service = get_service("kms")
    stanza = service.wrap(_recipient(aws_kms.keys.key_arn, context={"app": "web"}), DATA_KEY)
    stanza.fields["context"] = {"app": "db"}
    with pytest.raises(KeyServiceError) as info:
        service.unwrap(stanza)
    assert aws_kms.keys.key_arn in info.value.message
    assert "InvalidCiphertextException" in info.value.message
    assert "encryption context" in info.value.message
    assert info.value.hint and "encryption context must be exactly" in info.value.hint
    stanza.fields.pop("context")  # a missing context is wrong too
    with pytest.raises(KeyServiceError, match="InvalidCiphertextException"):
        service.unwrap(stanza)


def test_disabled_key_is_reported(aws_kms: AwsKms) -> None:
    with pytest.raises(KeyServiceError) as info:
        get_service("kms").wrap(_recipient(aws_kms.keys.disabled_key_arn), DATA_KEY)
    assert aws_kms.keys.disabled_key_arn in info.value.message
    assert "the key is disabled" in info.value.message and "DisabledException" in info.value.message
    assert info.value.hint and "enable-key" in info.value.hint


def test_key_disabled_after_wrapping_cannot_unwrap(aws_kms: AwsKms) -> None:
    arn = aws_kms.new_key()
    service = get_service("kms")
    stanza = service.wrap(_recipient(arn), DATA_KEY)
    kms = aws_kms.kms()
    kms.disable_key(KeyId=arn.rsplit("/", 1)[1])
    try:
        with pytest.raises(KeyServiceError, match="the key is disabled"):
            service.unwrap(stanza)
    finally:
        kms.enable_key(KeyId=arn.rsplit("/", 1)[1])
    assert service.unwrap(stanza) == DATA_KEY


def test_unknown_key_is_reported(aws_kms: AwsKms) -> None:
    arn = aws_kms.keys.key_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(KeyServiceError) as info:
        get_service("kms").wrap(_recipient(arn), DATA_KEY)
    assert arn in info.value.message and "does not exist" in info.value.message
    assert "NotFoundException" in info.value.message


def test_ciphertext_of_another_key_is_access_denied(aws_kms: AwsKms) -> None:
    service = get_service("kms")
    stanza = service.wrap(_recipient(aws_kms.keys.key_arn), DATA_KEY)
    stanza.fields["arn"] = aws_kms.keys.other_key_arn  # KeyId no longer matches the ciphertext
    with pytest.raises(KeyServiceError) as info:
        service.unwrap(stanza)
    assert aws_kms.keys.other_key_arn in info.value.message
    assert "access denied" in info.value.message and "AccessDeniedException" in info.value.message


def test_unreachable_endpoint_fails_fast(aws_kms: AwsKms, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"http://127.0.0.1:{closed_port()}")
    start = time.monotonic()
    with pytest.raises(KeyServiceError) as info:
        get_service("kms").wrap(_recipient(aws_kms.keys.key_arn), DATA_KEY)
    assert time.monotonic() - start < 10
    assert aws_kms.keys.key_arn in info.value.message and "unreachable" in info.value.message
    assert info.value.hint and "AWS_ENDPOINT_URL_KMS" in info.value.hint


def test_a_silent_endpoint_times_out(aws_kms: AwsKms, black_hole: BlackHole,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSOPS_AWS_KMS_TIMEOUT", "0.5")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"http://127.0.0.1:{black_hole.port}")
    start = time.monotonic()
    with pytest.raises(KeyServiceError, match=r"unreachable.*ReadTimeoutError"):
        get_service("kms").wrap(_recipient(aws_kms.keys.key_arn), DATA_KEY)
    elapsed = time.monotonic() - start
    assert elapsed < 0.5 * kms_module.MAX_ATTEMPTS + 3, elapsed


def test_a_bad_timeout_setting_is_reported(aws_kms: AwsKms, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSOPS_AWS_KMS_TIMEOUT", "soon")
    with pytest.raises(KeyServiceError, match="PSOPS_AWS_KMS_TIMEOUT='soon' is not a number"):
        get_service("kms").wrap(_recipient(aws_kms.keys.key_arn), DATA_KEY)


def test_no_credentials_at_all_means_not_mine(aws_kms: AwsKms, monkeypatch: pytest.MonkeyPatch) -> None:
    service = get_service("kms")
    stanza = service.wrap(_recipient(aws_kms.keys.key_arn), DATA_KEY)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    from psops.keys import reset_services

    reset_services()
    with pytest.raises(NotMine, match="no AWS credentials"):
        get_service("kms").unwrap(stanza)


def test_damaged_enc_is_reported_without_a_call(aws_kms: AwsKms) -> None:
    stanza = KeyStanza("kms", {"arn": aws_kms.keys.key_arn, "enc": "not base64!", "aws_profile": ""})
    with pytest.raises(KeyServiceError, match="not valid base64"):
        get_service("kms").unwrap(stanza)


def test_describe_and_identity(aws_kms: AwsKms) -> None:
    service = get_service("kms")
    plain = parse_kms_arn(aws_kms.keys.key_arn)
    with_role = parse_kms_arn(f"{aws_kms.keys.key_arn}+{aws_kms.keys.role_arn}")
    assert service.describe(plain) == aws_kms.keys.key_arn
    assert service.describe(with_role) == f"{aws_kms.keys.key_arn}+{aws_kms.keys.role_arn}"
    assert service.identity(plain) == service.identity(with_role) == "kms:" + aws_kms.keys.key_arn
    assert [s.fields for s in service.parse_recipients(f" {aws_kms.keys.key_arn} ,{aws_kms.keys.alias_arn}")] == [
        {"arn": aws_kms.keys.key_arn, "aws_profile": ""}, {"arn": aws_kms.keys.alias_arn, "aws_profile": ""}]
