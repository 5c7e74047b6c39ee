"""Format detection for blobs with git's temp names."""

from __future__ import annotations

import pytest

from psops.git.blobformat import detect_format, looks_like_sops

JSON_ENC = b'{\n\t"a": "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",\n\t"sops": {}\n}\n'
ENVELOPE = b'{\n\t"data": "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",\n\t"sops": {"version": "3"}\n}\n'


@pytest.mark.parametrize(("name", "data", "fmt"), [
    ("secrets.yaml", b"", "yaml"),
    ("/tmp/AbC123_secrets.yml", b"", "yaml"),
    ("x.JSON", b"", "json"),
    ("app.env", b"", "dotenv"),
    (".merge_file_Xy12", JSON_ENC, "json"),
    (None, ENVELOPE, "binary"),
    ("blob", b"a: 1\nsops:\n    version: 3.11.0\n", "yaml"),
    ("blob", b"plain bytes\n", "binary"),
    ("blob", b"{ not json", "json"),
])
def test_name_first_then_content(name: str | None, data: bytes, fmt: str) -> None:
    assert detect_format(name, data) == fmt


def test_looks_like_sops() -> None:
    assert looks_like_sops(JSON_ENC) and looks_like_sops(b"k: v\nsops:\n  x: 1\n")
    assert not looks_like_sops(b"k: v\n")
