"""Hostile input: each gets a clear error (or is handled) within bounded time and memory (docs/limits.md).

Every case runs the installed ``psops`` under an address-space limit and a wall-clock timeout and asserts
the exit code, a one-line ``psops: error:`` with its hint, nothing on stdout, and the time and peak memory
the run took. Covered: nesting deeper than 1000 levels (JSON; dotenv/INI flattened metadata), huge single
values, multi-megabyte files, inputs over the 256 MiB limit (a sparse file, an endless character device,
standard input), invalid UTF-8, NUL bytes, duplicate keys, a symbolic link or a directory as the output, a
read-only target and a read-only folder. YAML alias bombs and deep YAML are in test_yaml_limits.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import assert_clean_error, ok, run
from fixtures.reliability import GIB, bounded, unprivileged
from psops.limits import MAX_DEPTH, MAX_INPUT_BYTES

if TYPE_CHECKING:
    from conftest import AgeKey

@pytest.fixture
def enc(psops_bin: str, age_env: AgeKey) -> list[str]:
    """``psops encrypt --age RECIPIENT`` (a file argument follows)."""
    return [psops_bin, "encrypt", "--age", age_env.recipient]


def nested_json(depth: int) -> str:
    """A JSON object of total nesting ``depth`` (the root object counts as 1)."""
    inner = depth - 2
    return '{"a": ' + '{"b": ' * inner + '["leaf"]' + "}" * inner + "}"


# --- nesting ---

def test_json_nested_exactly_to_the_limit_round_trips(enc: list[str], psops_bin: str, tmp_path: Path,
                                                        sops_bin: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(nested_json(MAX_DEPTH))
    encrypted = tmp_path / "deep.enc.json"
    encrypted.write_bytes(ok(bounded([*enc, path], timeout=30).proc))
    out = ok(run(psops_bin, "decrypt", encrypted))
    assert out.count(b'"b":') == MAX_DEPTH - 2 and b'"leaf"' in out
    assert out == ok(run(sops_bin, "decrypt", encrypted))  # sops reads what psops wrote


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 200_000])
def test_json_nested_deeper_than_the_limit_is_refused(depth: int, enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(nested_json(depth))
    run_ = bounded([*enc, path], timeout=20, memory=2 * GIB)
    line = assert_clean_error(run_.proc, 2, names=str(path))
    assert f"more than {MAX_DEPTH} levels" in line
    assert run_.seconds < 10


@pytest.mark.parametrize("fmt", ["dotenv", "ini"])
def test_deep_or_huge_flattened_metadata_is_refused(fmt: str, psops_bin: str, tmp_path: Path) -> None:
    """``sops_a__map_a__map_...`` keys rebuild nested metadata; list positions allocate lists."""
    for name, flat_key, message in (
        ("deep", "age" + "__map_k" * 5000, f"more than {MAX_DEPTH} levels"),
        ("wide", "age__list_999999999__map_enc", "list position above"),
        ("digits", "age__list_" + "9" * 5000, "list position above"),
    ):
        path = tmp_path / (f"{name}.env" if fmt == "dotenv" else f"{name}.ini")
        line = f"sops_{flat_key}=x\nsops_version=3.11.0\n" if fmt == "dotenv" else \
            f"[sops]\n{flat_key} = x\nversion = 3.11.0\n"
        path.write_text("a=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n" + line
                        if fmt == "dotenv" else "[s]\na = 1\n" + line)
        run_ = bounded([psops_bin, "decrypt", path], timeout=20, memory=2 * GIB)
        assert message in assert_clean_error(run_.proc, 2, names=str(path)), name


# --- size ---

@pytest.mark.parametrize("fmt", ["yaml", "json", "dotenv", "binary"])
def test_a_huge_single_value_round_trips_in_bounded_time_and_memory(fmt: str, enc: list[str], psops_bin: str,
                                                                      tmp_path: Path) -> None:
    size = 8 * 1024 * 1024
    body = "s" * size
    text = {"yaml": f"big: {body}\n", "json": f'{{"big": "{body}"}}', "dotenv": f"big={body}\n",
            "binary": body}[fmt]
    ext = {"yaml": ".yaml", "json": ".json", "dotenv": ".env", "binary": ".bin"}[fmt]
    path = tmp_path / f"big{ext}"
    path.write_text(text)
    encrypted = tmp_path / f"big.enc{ext}"
    sealed = bounded([*enc, "--output", encrypted, path], timeout=60, memory=2 * GIB)
    ok(sealed.proc)
    opened = bounded([psops_bin, "decrypt", encrypted], timeout=60, memory=2 * GIB)
    assert body.encode() in ok(opened.proc)
    assert sealed.peak_mib < 8 * 40 and opened.peak_mib < 8 * 40, (sealed.peak_mib, opened.peak_mib)


@pytest.mark.parametrize(("fmt", "count", "width"), [
    ("yaml", 4_000, 1024),   # 4 MiB of long values
    ("json", 4_000, 1024),
    ("yaml", 20_000, 16),    # 20,000 keys (the per-value cost dominates)
])
def test_a_multi_megabyte_file_round_trips(fmt: str, count: int, width: int, enc: list[str], psops_bin: str,
                                           tmp_path: Path) -> None:
    filler = "x" * width
    if fmt == "yaml":
        text = "".join(f"key{i}: value-{i}-{filler}\n" for i in range(count))
    else:
        text = "{" + ",".join(f'"key{i}": "value-{i}-{filler}"' for i in range(count)) + "}"
    path = tmp_path / f"many.{fmt}"
    path.write_text(text)
    encrypted = tmp_path / f"many.enc.{fmt}"
    sealed = bounded([*enc, "--output", encrypted, path], timeout=90)
    ok(sealed.proc)
    out = ok(bounded([psops_bin, "decrypt", encrypted], timeout=90).proc)
    assert out.count(b"value-") == count and f"key{count - 1}".encode() in out
    assert sealed.peak_mib < 40 * max(1, path.stat().st_size / 2**20) + 100, sealed.peak_mib


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:  # sparse: takes no disk space
        fh.truncate(MAX_INPUT_BYTES + 1)
    run_ = bounded([*enc, path], timeout=20, memory=1 * GIB)
    assert "larger than 256 MiB" in assert_clean_error(run_.proc, 2, names=str(path))
    assert run_.peak_mib < 200, run_.peak_mib  # refused from its size, not after reading it


def test_an_endless_device_is_read_only_up_to_the_limit(enc: list[str]) -> None:
    run_ = bounded([*enc, "--input-type", "binary", "/dev/zero"], timeout=30, memory=2 * GIB)
    assert "larger than 256 MiB" in assert_clean_error(run_.proc, 2, names="/dev/zero")


def test_standard_input_over_the_limit_is_refused(enc: list[str], tmp_path: Path) -> None:
    source = tmp_path / "endless"
    with open(source, "wb") as fh:  # sparse; read through standard input, which has no size to check first
        fh.truncate(MAX_INPUT_BYTES + 4096)
    run_ = bounded([*enc, "--input-type", "binary", "-"], timeout=60, memory=2 * GIB, stdin=source)
    assert "larger than 256 MiB" in assert_clean_error(run_.proc, 2, names="standard input")


# --- bytes ---

@pytest.mark.parametrize(("fmt", "data"), [
    ("yaml", b"a: ok\nb: caf\xe9\n"),
    ("json", b'{"a": "caf\xe9"}'),
    ("dotenv", b"a=ok\nb=caf\xe9\n"),
    ("ini", b"[s]\na = caf\xe9\n"),
])
def test_invalid_utf8_in_a_text_format_is_refused_with_its_position(fmt: str, data: bytes, enc: list[str],
                                                                      tmp_path: Path) -> None:
    path = tmp_path / f"latin1.{ 'env' if fmt == 'dotenv' else fmt}"
    path.write_bytes(data)
    line = assert_clean_error(bounded([*enc, path]).proc, 2, names=str(path))
    assert "UTF-8" in line and b"caf" not in line.encode()


def test_invalid_utf8_and_nul_bytes_round_trip_exactly_as_binary(enc: list[str], psops_bin: str, tmp_path: Path,
                                                                   sops_bin: str) -> None:
    blob = bytes(range(256)) * 4 + b"\xff\xfe\x00\xc3\x28"
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    encrypted = tmp_path / "blob.enc.bin"
    ok(bounded([*enc, "--output", encrypted, path]).proc)
    assert ok(run(psops_bin, "decrypt", encrypted)) == blob
    assert ok(run(sops_bin, "decrypt", encrypted)) == blob


@pytest.mark.parametrize(("name", "data", "code"), [
    # YAML forbids control characters too (as sops): test_yaml_limits.py (its message is two lines today)
    ("nul.json", b'{"a": "x\x00y"}', 2),    # a raw NUL in a JSON string is invalid (as sops)
])
def test_raw_nul_bytes_where_the_format_forbids_them_are_refused(name: str, data: bytes, code: int,
                                                                  enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert_clean_error(bounded([*enc, path]).proc, code, names=str(path))


@pytest.mark.parametrize(("name", "data"), [
    ("nul.env", b"a=x\x00y\n"),
    ("nul.ini", b"[s]\na = x\x00y\n"),
    ("escaped.json", b'{"a": "x\\u0000y"}'),
])
def test_nul_bytes_the_format_allows_round_trip_and_sops_agrees(name: str, data: bytes, enc: list[str],
                                                                psops_bin: str, sops_bin: str,
                                                                tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    encrypted = tmp_path / f"enc.{name}"
    encrypted.write_bytes(ok(bounded([*enc, path]).proc))
    ours, theirs = ok(run(psops_bin, "decrypt", encrypted)), ok(run(sops_bin, "decrypt", encrypted))
    assert ours == theirs and (b"x\x00y" in ours or b"x\\u0000y" in ours)


@pytest.mark.parametrize(("name", "data", "expect"), [
    ("dup.json", b'{"a": 1, "a": 2}', b'{\n\t"a": 1,\n\t"a": 2\n}\n'),   # kept in order, as sops
    ("dup.env", b"a=1\na=2\n", b"a=1\na=2\n"),                  # kept in order, as sops
    ("dup.ini", b"[s]\na = 1\na = 2\n", b"[s]\na = 2\n"),        # go-ini: the last value wins, as sops
])
def test_duplicate_keys_are_read_as_sops_reads_them(name: str, data: bytes, expect: bytes, enc: list[str],
                                                   psops_bin: str, sops_bin: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    encrypted = tmp_path / f"enc.{name}"
    encrypted.write_bytes(ok(bounded([*enc, path]).proc))
    ours = ok(run(psops_bin, "decrypt", encrypted))
    assert ours.replace(b" ", b"").replace(b"\t", b"") == expect.replace(b" ", b"").replace(b"\t", b"")
    assert ours == ok(run(sops_bin, "decrypt", encrypted))


def test_duplicate_yaml_keys_are_refused(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_bytes(b"a: 1\nb: 2\na: 3\n")
    line = assert_clean_error(bounded([*enc, path]).proc, 2, names=str(path))
    assert 'mapping key "a" already defined at line 1' in line


def test_json_numbers_beyond_float64_are_refused_without_quoting_them(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "inf.json"
    path.write_text('{"pin": 9e999}')
    line = assert_clean_error(bounded([*enc, path]).proc, 2, names=str(path))
    assert "out of the float64 range" in line and "9e999" not in line


def test_lone_surrogate_escapes_in_json_become_u_fffd_as_in_sops(enc: list[str], psops_bin: str,
                                                                 sops_bin: str, tmp_path: Path) -> None:
    path = tmp_path / "sur.json"
    path.write_text('{"\\ud800k": ["\\udfff", "ok \\ud83d\\ude00"]}')
    encrypted = tmp_path / "sur.enc.json"
    encrypted.write_bytes(ok(bounded([*enc, path]).proc))
    ours = ok(run(psops_bin, "decrypt", encrypted))
    assert ours == ok(run(sops_bin, "decrypt", encrypted))
    assert "\ufffdk".encode() in ours and "ok \U0001f600".encode() in ours


# --- where the output goes ---

@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder for the files of one test."""
    path = tmp_path / "files"
    path.mkdir()
    return path


@pytest.fixture
def plain(folder: Path) -> Path:
    """A small plaintext YAML file, alone in its folder."""
    path = folder / "plain.yaml"
    path.write_text("token: abc\n")
    return path


def test_a_symlink_as_output_path_is_refused_and_its_target_untouched(enc: list[str], plain: Path,
                                                                      tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_text("precious\n")
    link = tmp_path / "out.yaml"
    link.symlink_to(target)
    line = assert_clean_error(bounded([*enc, "--output", link, plain]).proc, 3, names=str(link))
    assert "symbolic link" in line
    assert target.read_text() == "precious\n" and link.is_symlink()
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "nowhere" / "x.yaml")
    assert_clean_error(bounded([*enc, "--output", dangling, plain]).proc, 3, names=str(dangling))
    assert not (tmp_path / "nowhere").exists()


def test_in_place_on_a_symlink_is_refused_and_nothing_changes(enc: list[str], plain: Path,
                                                              folder: Path) -> None:
    link = folder / "link.yaml"
    link.symlink_to(plain)
    assert_clean_error(bounded([*enc, "-i", link]).proc, 3, names=str(link))
    assert plain.read_text() == "token: abc\n" and link.is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == ["link.yaml", "plain.yaml"]


def test_a_directory_as_output_path_is_refused(enc: list[str], plain: Path, tmp_path: Path) -> None:
    folder = tmp_path / "adir"
    folder.mkdir()
    assert_clean_error(bounded([*enc, "--output", folder, plain]).proc, 3, names=str(folder))
    assert list(folder.iterdir()) == []


def test_a_read_only_target_is_refused_and_left_as_it_was(enc: list[str], plain: Path, folder: Path) -> None:
    plain.chmod(0o444)
    run_ = bounded([*unprivileged(), *enc, "-i", plain])
    line = assert_clean_error(run_.proc, 3, names=str(plain))
    assert "read-only" in line
    assert plain.read_text() == "token: abc\n" and stat.S_IMODE(plain.stat().st_mode) == 0o444
    assert sorted(p.name for p in folder.iterdir()) == ["plain.yaml"]  # no temp file left behind
    other = folder / "other.yaml"
    other.write_text("old\n")
    other.chmod(0o444)
    assert "read-only" in assert_clean_error(bounded([*unprivileged(), *enc, "--output", other, plain]).proc, 3)
    assert other.read_text() == "old\n"


def test_a_read_only_folder_is_refused_with_a_clear_error(enc: list[str], plain: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        run_ = bounded([*unprivileged(), *enc, "--output", folder / "out.yaml", plain])
        line = assert_clean_error(run_.proc, 3, names=str(folder / "out.yaml"))
        assert "Permission denied" in line
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_in_place_writes_keep_mode_owner_and_group(plain: Path, enc: list[str], psops_bin: str) -> None:
    plain.chmod(0o640)
    owner = (4242, 4343) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(plain, *owner)
    ok(bounded([*enc, "-i", plain]).proc)
    info = plain.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and (info.st_uid, info.st_gid) == owner
    ok(run(psops_bin, "decrypt", "-i", plain))
    info = plain.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and (info.st_uid, info.st_gid) == owner
    assert plain.read_text() == "token: abc\n"



def test_a_fifo_as_output_is_written_to_not_replaced(plain: Path, enc: list[str], folder: Path) -> None:
    """Devices and FIFOs (``--output /dev/null``, a named pipe) get the bytes; they are never replaced by a
    regular file (which, for /dev/null as root, would put the output where every program writes)."""
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    ok(bounded([*enc, "--output", fifo, plain]).proc)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].startswith(b"token: ENC[AES256_GCM,")
    assert sorted(p.name for p in folder.iterdir()) == ["pipe", "plain.yaml"]


def test_a_failing_stdout_is_a_clean_error(plain: Path, enc: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([*enc, str(plain)], stdout=full, stderr=subprocess.PIPE, timeout=60, check=False)
    assert proc.returncode == 3
    assert proc.stderr.decode().splitlines() == ["psops: error: standard output: cannot write: No space left on device"]
