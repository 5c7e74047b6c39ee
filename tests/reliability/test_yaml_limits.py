"""Hostile YAML: alias bombs, deep nesting, and the YAML store's error messages (docs/limits.md).

The limits the YAML store must enforce, the same as the other stores (psops.limits):

* alias expansion: at most ``MAX_ALIAS_NODES`` (1,000,000) nodes added by aliases per document, and go-yaml
  v3's ratio rule on top (``document contains excessive aliasing``, the message sops gives), checked while
  the events are built, before any copy is made;
* nesting: at most ``MAX_DEPTH`` (1000) levels, checked while libyaml's events are pulled (so a 100k-level
  flow list is refused after ~1000 events instead of hanging libyaml's quadratic simple-key scan);
* one-line errors that never quote document content (it may be a secret).

Every case runs the installed ``psops`` under a memory limit and a timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.cli import assert_clean_error, ok, run
from fixtures.reliability import CANARY, GIB, bounded
from psops.limits import MAX_DEPTH

if TYPE_CHECKING:
    from conftest import AgeKey


@pytest.fixture
def enc(psops_bin: str, age_env: AgeKey) -> list[str]:
    """``psops encrypt --age RECIPIENT`` (a file argument follows)."""
    return [psops_bin, "encrypt", "--age", age_env.recipient]


def alias_bomb(levels: int = 9, fan: int = 9) -> str:
    """"Billion laughs": each anchor is a list of ``fan`` aliases of the previous one (fan**levels leaves)."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * fan)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly_in_bounded_memory(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    run_ = bounded([*enc, path], timeout=20, memory=2 * GIB)
    line = assert_clean_error(run_.proc, 2, names=str(path))
    assert "alias" in line
    assert run_.seconds < 5 and run_.peak_mib < 500, (run_.seconds, run_.peak_mib)


def test_a_merge_key_bomb_is_refused(enc: list[str], tmp_path: Path) -> None:
    lines = ["m0: &m0 {k: v}"]
    lines += [f"m{i}: &m{i} [{', '.join([f'*m{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = tmp_path / "merge.yaml"
    path.write_text("\n".join(lines) + "\nx:\n    <<: *m7\n")
    assert_clean_error(bounded([*enc, path], timeout=20, memory=2 * GIB).proc, 2, names=str(path))


def test_ordinary_alias_use_still_works(enc: list[str], psops_bin: str, sops_bin: str, tmp_path: Path) -> None:
    """A budget, not a ban: 500 references to a small anchor are fine (sops reads them too)."""
    body = "base: &base {user: app, password: " + CANARY + "}\n" + "".join(f"s{i}: *base\n" for i in range(500))
    path = tmp_path / "aliases.yaml"
    path.write_text(body)
    encrypted = tmp_path / "aliases.enc.yaml"
    encrypted.write_bytes(ok(bounded([*enc, path], timeout=30).proc))
    out = ok(run(psops_bin, "decrypt", encrypted))
    assert out.count(CANARY.encode()) == 501
    assert out == ok(run(sops_bin, "decrypt", encrypted))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_a_deep_flow_list_is_refused_quickly(depth: int, enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "\n")
    run_ = bounded([*enc, path], timeout=20, memory=2 * GIB)
    assert f"more than {MAX_DEPTH} levels" in assert_clean_error(run_.proc, 2, names=str(path))
    assert run_.seconds < 5, run_.seconds


def test_a_deep_flow_mapping_is_refused(enc: list[str], tmp_path: Path) -> None:
    depth = 5000
    path = tmp_path / "deepmap.yaml"
    path.write_text("a: " + "{b: " * depth + "1" + "}" * depth + "\n")
    run_ = bounded([*enc, path], timeout=20, memory=2 * GIB)
    assert f"more than {MAX_DEPTH} levels" in assert_clean_error(run_.proc, 2, names=str(path))


def _block(depth: int) -> str:
    """Block mappings nested ``depth`` levels (the root mapping counts as 1), one space per level."""
    return "".join(" " * i + f"k{i}:\n" for i in range(depth - 1)) + " " * (depth - 1) + "leaf: 1\n"


def test_block_nesting_up_to_the_limit_round_trips(enc: list[str], psops_bin: str, tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text(_block(MAX_DEPTH))
    encrypted = tmp_path / "block.enc.yaml"
    encrypted.write_bytes(ok(bounded([*enc, path], timeout=30).proc))
    assert ok(run(psops_bin, "decrypt", encrypted)).count(b"k") >= MAX_DEPTH - 1


def test_block_nesting_past_the_limit_is_refused(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text(_block(MAX_DEPTH + 1))
    run_ = bounded([*enc, path], timeout=20, memory=2 * GIB)
    assert f"more than {MAX_DEPTH} levels" in assert_clean_error(run_.proc, 2, names=str(path))


# --- messages: one line, no document content ---

def test_a_nul_byte_is_refused_in_one_line(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"a: x\x00y\n")
    assert_clean_error(bounded([*enc, path]).proc, 2, names=str(path))


def test_a_scalar_document_is_refused_without_quoting_it(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "scalar.yaml"
    path.write_text(f"{CANARY}\n")
    run_ = bounded([*enc, path])
    assert_clean_error(run_.proc, 2, names=str(path))
    assert CANARY.encode() not in run_.proc.stderr


def test_an_out_of_range_integer_is_refused_without_quoting_it(enc: list[str], tmp_path: Path) -> None:
    path = tmp_path / "uint.yaml"
    path.write_text("pin: 18446744073709551615\n")
    run_ = bounded([*enc, path])
    assert_clean_error(run_.proc, None, names=str(path))
    assert b"18446744073709551615" not in run_.proc.stderr


def test_a_multi_line_string_with_leading_space_in_a_list_comes_back_readable(psops_bin: str, enc: list[str],
                                                                              tmp_path: Path) -> None:
    """go-yaml v3 writes ``- |4-`` (a literal block with an indentation indicator) for such a string in a
    list, which neither go-yaml nor psops can read back: ``psops decrypt -i`` would leave a file that
    cannot be encrypted again. psops should write it double-quoted instead."""
    path = tmp_path / "lead.json"
    path.write_text('{"list": ["\\n0", "  indented\\nsecond", "\\u2028separator first\\nsecond"]}')
    encrypted = tmp_path / "lead.enc.json"
    encrypted.write_bytes(ok(bounded([*enc, path]).proc))
    plain = tmp_path / "lead.yaml"
    plain.write_bytes(ok(run(psops_bin, "decrypt", "--output-type", "yaml", encrypted)))
    ok(bounded([*enc, plain]).proc)
