"""dotenv, INI and binary files against the real sops binary, both directions, with age keys.

* ``sops encrypt`` -> psops decrypt prints exactly the bytes ``sops decrypt`` prints, for a corpus of files;
* psops encrypt -> ``sops decrypt`` gives the bytes ``sops decrypt`` gives for a sops-encrypted copy, and the
  psops file is laid out as the sops file is (ciphertexts aside);
* comments are encrypted and come back; ``_unencrypted`` keys stay clear; key groups with a Shamir
  threshold and ``mac_only_encrypted`` survive the flattened metadata;
* the sops project's PGP vectors for these formats decrypt to their expected bytes.

psops runs in-process here (the library recipes the CLI uses) to keep the corpus fast; the CLI itself is run
as a subprocess for the vectors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import describe, ok, run, write_age_identity
from fixtures.gnupg import GpgKey, shared_dir
from psops.keys import get_service
from psops.operations import EncryptPlan, decrypt_bytes, encrypt_bytes
from psops.selection import EncryptionRules

if TYPE_CHECKING:
    from conftest import AgeKey

DOTENV = {
    "basic": "# top comment\nFOO=bar\n\nSPACED = v \nMULTI=a\\nb\nNUM=42\npublic_unencrypted=clear\n#another\nEMPTY=\n",
    "specials": "KEY=значение ✓ 日本語\nQUOTED=\"double\" 'single'\nEQ=a=b=c\nHASH=a#b ; c\n#\n# \n"
                "URL=https://x.example/?a=1&b=2\nexport EXPORTED=1\n",
    "crlf": "A=1\r\nB=two\r\n#c\r\n",
    "no_final_newline": "A=1\nB=2",
    "only_comment": "# just a comment\n",
    "empty": "",
    "backslashes": "B=back\\\\slash\\\\n\nT=tab\there\nS=\\t\\r\n",
    "odd_keys": "  =spaces key\n=empty key\nlower.dotted-key=x\n",
}

INI = {
    "basic": "top = 1\n; before section\n[sec1]  ; inline on header\n# c1\n# c2\nk1 = a#b\nk2 : \"quoted\"  \n"
             "k3 = `x;y`\nk4 = \"\"\"multi\nline\"\"\"\nk5 =\n  k6   =   spaced value   \nk7 = ' single '\n"
             "k8 = cont \\\n  inued\n[sec2]\nx=1\n",
    "example": "; An example file for use with sops!\n[name]\nfirstName = John\nlastName = Smith\nage = 25.4\n\n"
               "[address]\ncity = New York\npostalCode = 10021-3100\nstate = NY\nstreetAddress = 21 2nd Street\n\n"
               "[phoneNumbers]\nhome = 212 555-1234\noffice = 646 555-4567\n\n[not private]\n"
               "notsecret_unencrypted = hi there!\n",
    "duplicates": "[a]\nx=1\n[b]\ny=2\n[a]\nz=3\nx=4\nz=5\nk=v\n",
    "default_twice": "k=1\n[DEFAULT]\nj=2\n[a]\nx=1\n",
    "unicode": "[ключи]\nключ = значение\nk = ✓\nlonger_ascii_key = 日本語\n",
    "empty": "",
    "only_comment": "; only a comment\n",
    "sections_only": "[a]\n[b]\n; dangling\n",
    "quoting": "[q]\nbt = `has \"dq\" and 'sq'`\ntq = \"\"\"has `tick`\"\"\"\nlead = \"  lead\"\nsemi = `a;b#c`\n"
               "`key=with:delims` = v\ndq = \"a#b\"\nsq = 'x'\ninner = \"a\"b\"\n\"quoted key\" = 1\n",
    "crlf": "[a]\r\nx = 1\r\n; c\r\ny = two words\r\n",
    "comments_everywhere": "# head 1\n; head 2\n[s]\n; before a\na = 1 # after a\nb = 2\n;; double marker\n"
                           "c = 3\n#   spaced\n[t]\nd = 4\n",
}

BINARY = {
    "bytes": bytes(range(256)) + b"\x00\xff\xfe\xc3\x28 tail",
    "text": "line one\nligne deux é\n".encode(),
    "empty": b"",
    "jsonish": b'{"sops": "not metadata", "data": 1}',
}

CORPUS: list[tuple[str, str, bytes]] = (
    [("dotenv", name, text.encode()) for name, text in DOTENV.items()]
    + [("ini", name, text.encode()) for name, text in INI.items()]
    + [("binary", name, data) for name, data in BINARY.items()]
)
IDS = [f"{fmt}-{name}" for fmt, name, _ in CORPUS]
EXT = {"dotenv": ".env", "ini": ".ini", "binary": ".bin"}


def _plan(recipients: list[list[str]], *, rules: EncryptionRules | None = None, threshold: int = 0) -> EncryptPlan:
    age = get_service("age")
    groups = [[stanza for r in group for stanza in age.parse_recipients(r)] for group in recipients]
    return EncryptPlan(key_groups=groups, rules=rules or EncryptionRules(), shamir_threshold=threshold)


def psops_encrypt(data: bytes, fmt: str, plan: EncryptPlan) -> bytes:
    return encrypt_bytes(data, plan, input_format=fmt, output_format=fmt)


def psops_decrypt(data: bytes, fmt: str) -> bytes:
    return decrypt_bytes(data, input_format=fmt, output_format=fmt).data


class Sops:
    """The real sops binary, working on files in one folder."""

    def __init__(self, exe: str, folder: Path) -> None:
        self.exe, self.folder = exe, folder

    def put(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def encrypt(self, path: Path, fmt: str, *flags: str) -> bytes:
        return ok(run(self.exe, "encrypt", "--input-type", fmt, "--output-type", fmt, *flags, path,
                      cwd=self.folder))

    def decrypt(self, path: Path, fmt: str) -> bytes:
        return ok(run(self.exe, "decrypt", "--input-type", fmt, "--output-type", fmt, path, cwd=self.folder))


@pytest.fixture
def sops(sops_bin: str, tmp_path: Path) -> Sops:
    return Sops(sops_bin, tmp_path)


@pytest.fixture(scope="module")
def corpus_results() -> dict[str, bool]:
    """Which corpus files psops decrypted to exactly sops' bytes (filled by the per-file tests)."""
    return {}


def _sops_then_psops(fmt: str, name: str, plain: bytes, recipient: str, sops: Sops) -> tuple[bytes, bytes]:
    """Encrypt with sops; return (psops decrypt output, sops decrypt output)."""
    path = sops.put(f"{name}{EXT[fmt]}", plain)
    encrypted = sops.put(f"{name}.enc{EXT[fmt]}", sops.encrypt(path, fmt, "--age", recipient))
    return psops_decrypt(encrypted.read_bytes(), fmt), sops.decrypt(encrypted, fmt)


@pytest.mark.parametrize(("fmt", "name", "plain"), CORPUS, ids=IDS)
def test_sops_encrypted_file_decrypts_to_sops_bytes(fmt: str, name: str, plain: bytes, age_env: AgeKey, sops: Sops,
                                                    corpus_results: dict[str, bool]) -> None:
    got, expected = _sops_then_psops(fmt, name, plain, age_env.recipient, sops)
    corpus_results[f"{fmt}-{name}"] = got == expected
    assert got == expected


@pytest.mark.parametrize(("fmt", "name", "plain"), CORPUS, ids=IDS)
def test_psops_encrypted_file_decrypts_with_sops(fmt: str, name: str, plain: bytes, age_env: AgeKey,
                                                 sops: Sops) -> None:
    path = sops.put(f"{name}{EXT[fmt]}", plain)
    ours = sops.put(f"{name}.psops{EXT[fmt]}", psops_encrypt(plain, fmt, _plan([[age_env.recipient]])))
    theirs = sops.put(f"{name}.sops{EXT[fmt]}", sops.encrypt(path, fmt, "--age", age_env.recipient))
    assert sops.decrypt(ours, fmt) == sops.decrypt(theirs, fmt)
    if fmt == "binary":
        assert sops.decrypt(ours, fmt) == plain


def test_byte_for_byte_share_over_the_whole_corpus(corpus_results: dict[str, bool], age_env: AgeKey,
                                                    sops: Sops) -> None:
    """Reports the share of the corpus psops decrypts to sops' exact bytes (reusing the per-file results)."""
    for fmt, name, plain in CORPUS:
        if f"{fmt}-{name}" not in corpus_results:  # the per-file test was not selected in this run
            got, expected = _sops_then_psops(fmt, name, plain, age_env.recipient, sops)
            corpus_results[f"{fmt}-{name}"] = got == expected
    matched = sum(corpus_results.values())
    print(f"\npsops decrypt == sops decrypt, byte for byte: {matched}/{len(CORPUS)} "
          f"({100 * matched / len(CORPUS):.0f}%) of the dotenv/INI/binary corpus")
    assert matched == len(CORPUS), sorted(k for k, v in corpus_results.items() if not v)


_MASKS = [
    (re.compile(rb"ENC\[AES256_GCM,data:[^\]]*\]"), b"ENC[...]"),
    (re.compile(rb"-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----(\\n)?"), b"AGE"),
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), b"TIME"),
]


def _mask(data: bytes) -> bytes:
    """Mask ciphertexts and times; drop psops' own ``psops_*`` metadata fields (sops ignores them)."""
    for pattern, repl in _MASKS:
        data = pattern.sub(repl, data)
    return b"".join(line for line in data.splitlines(keepends=True)
                    if not re.match(rb"(sops_)?psops_\w* *=", line))


@pytest.mark.parametrize("fmt", ["dotenv", "ini"])
@pytest.mark.parametrize("name", ["basic", "only_comment"])
def test_psops_lays_out_encrypted_files_as_sops_does(fmt: str, name: str, age_env: AgeKey, sops: Sops) -> None:
    plain = (DOTENV if fmt == "dotenv" else INI)[name].encode()
    ours = _mask(psops_encrypt(plain, fmt, _plan([[age_env.recipient]])))
    theirs = _mask(sops.encrypt(sops.put(f"p{EXT[fmt]}", plain), fmt, "--age", age_env.recipient))
    if fmt == "ini":  # sops 3.11 writes the [sops] keys in random order; psops sorts them
        ours_data, _, ours_meta = ours.partition(b"[sops]\n")
        theirs_data, _, theirs_meta = theirs.partition(b"[sops]\n")
        assert ours_data == theirs_data
        assert sorted(ours_meta.splitlines()) == sorted(theirs_meta.splitlines())
    else:
        assert ours == theirs


@pytest.mark.parametrize("fmt", ["dotenv", "ini"])
def test_comments_are_encrypted_and_come_back(fmt: str, age_env: AgeKey, sops: Sops) -> None:
    plain = (DOTENV if fmt == "dotenv" else INI)["basic"].encode()
    marker = b"#ENC[AES256_GCM," if fmt == "dotenv" else b"; ENC[AES256_GCM,"
    ours = sops.put(f"c.psops{EXT[fmt]}", psops_encrypt(plain, fmt, _plan([[age_env.recipient]])))
    theirs = sops.put(f"c.sops{EXT[fmt]}", sops.encrypt(sops.put(f"c{EXT[fmt]}", plain), fmt,
                                                        "--age", age_env.recipient))
    for encrypted in (ours, theirs):
        data = encrypted.read_bytes()
        assert b"top comment" not in data and b"before section" not in data
        assert data.count(marker) >= 2
        for decrypted in (psops_decrypt(data, fmt), sops.decrypt(encrypted, fmt)):
            assert (b"# top comment\n" in decrypted) if fmt == "dotenv" else (b"; before section\n" in decrypted)


@pytest.mark.parametrize("fmt", ["dotenv", "ini"])
def test_unencrypted_suffix_keys_stay_clear(fmt: str, age_env: AgeKey, sops: Sops) -> None:
    plain, clear = ((DOTENV["basic"], b"public_unencrypted=clear\n") if fmt == "dotenv"
                    else (INI["example"], b"notsecret_unencrypted = hi there!\n"))
    ours = psops_encrypt(plain.encode(), fmt, _plan([[age_env.recipient]]))
    theirs = sops.encrypt(sops.put(f"u{EXT[fmt]}", plain.encode()), fmt, "--age", age_env.recipient)
    for data in (ours, theirs):
        assert clear in data
        assert (b"sops_unencrypted_suffix=_unencrypted\n" in data) if fmt == "dotenv" else \
            re.search(rb"\nunencrypted_suffix +\= _unencrypted\n", data)


@pytest.fixture
def two_age_keys(age_key: AgeKey, other_age_key: AgeKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    key_file = tmp_path / "two-keys.txt"
    write_age_identity(key_file, f"{age_key.identity}\n{other_age_key.identity}")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    return [age_key.recipient, other_age_key.recipient]


@pytest.mark.parametrize("fmt", ["dotenv", "ini"])
def test_key_groups_with_shamir_threshold_and_mac_only_encrypted(fmt: str, two_age_keys: list[str],
                                                                 sops: Sops) -> None:
    plain = (DOTENV if fmt == "dotenv" else INI)["basic"].encode()
    expected = sops.decrypt(sops.put(f"g.sops{EXT[fmt]}", sops.encrypt(sops.put(f"g{EXT[fmt]}", plain), fmt,
                                                                       "--age", two_age_keys[0])), fmt)
    plan = _plan([[two_age_keys[0]], [two_age_keys[1]]], threshold=2,
                 rules=EncryptionRules(mac_only_encrypted=True))
    ours = psops_encrypt(plain, fmt, plan)
    flat = b"sops_shamir_threshold=2\n" if fmt == "dotenv" else b"shamir_threshold "
    assert flat in ours and b"key_groups__list_1__map_age__list_0__map_recipient" in ours
    assert b"mac_only_encrypted" in ours
    assert sops.decrypt(sops.put(f"g.psops{EXT[fmt]}", ours), fmt) == expected
    # and the other way: sops writes the groups from a creation rule, psops reads them
    (sops.folder / ".sops.yaml").write_text(
        "creation_rules:\n  - shamir_threshold: 2\n    mac_only_encrypted: true\n    key_groups:\n"
        f"      - age: [{two_age_keys[0]}]\n      - age: [{two_age_keys[1]}]\n")
    theirs = sops.encrypt(sops.put(f"h{EXT[fmt]}", plain), fmt)
    assert b"key_groups__list_1__map_age" in theirs and b"mac_only_encrypted" in theirs
    assert psops_decrypt(theirs, fmt) == expected


VECTORS = shared_dir() / "vectors" / "sops-repo"
LINE_VECTORS = [
    ("functional-tests_res_format.enc.env", "dotenv"),
    ("functional-tests_res_format.enc.ini", "ini"),
    ("functional-tests_res_format-2.enc.ini", "ini"),  # sops 3.13.1: triple-quoted PGP armor in [sops]
    ("example.ini", "ini"),
    ("example.txt", "binary"),
]


def test_every_line_format_vector_is_listed() -> None:
    present = sorted(p.name for p in (VECTORS / "encrypted").iterdir() if p.suffix in (".env", ".ini", ".txt"))
    assert present == sorted(name for name, _ in LINE_VECTORS)


@pytest.mark.parametrize(("name", "fmt"), LINE_VECTORS, ids=[n for n, _ in LINE_VECTORS])
def test_pgp_vector_decrypts_to_the_expected_bytes(name: str, fmt: str, sops_vector_gpg: GpgKey,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(sops_vector_gpg.home))
    data = (VECTORS / "encrypted" / name).read_bytes()
    assert psops_decrypt(data, fmt) == (VECTORS / "expected" / name).read_bytes()


def test_binary_vector_with_the_cli(sops_vector_gpg: GpgKey, monkeypatch: pytest.MonkeyPatch, psops_bin: str) -> None:
    monkeypatch.setenv("GNUPGHOME", str(sops_vector_gpg.home))
    proc = run(psops_bin, "decrypt", "--input-type", "binary", "--output-type", "binary",
               VECTORS / "encrypted" / "example.txt")
    assert ok(proc) == (VECTORS / "expected" / "example.txt").read_bytes(), describe(proc)
