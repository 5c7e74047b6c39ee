"""Comment placement against the real sops, on comments added where people write them.

The YAML samples of ``tests/formats/test_yaml_store.py`` get head comments (aligned with the line they
precede), line comments and blank lines at random places; for each variant the bytes ``sops decrypt`` prints
after ``sops encrypt`` must be the bytes psops' YAML store writes after reading the variant (what a file that
either tool encrypted decrypts to). The places where psops keeps a comment that sops' writer drops or moves
(docs/explanation/differences.md: on an empty `[]`/`{}`, before an empty `-` item, after a later document's
`---`) are left out by construction. A seeded, bounded run by default (two sops processes per variant);
``PSOPS_FUZZ_EXAMPLES=N`` runs N/10 variants per sample group.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from fixtures.reliability import scaled
from formats.test_yaml_store import SAMPLES, STORE

# samples whose comments sit where the two writers differ on purpose, or that hold several documents
_LEFT_OUT = {"comments_before_directive", "comments_before_first_document_start", "comments_on_empty_lists",
             "comments_empty_values", "emptydoc"}
NAMES = [name for name in sorted(SAMPLES) if name not in _LEFT_OUT and "\n---" not in SAMPLES[name]
         and "[] #" not in SAMPLES[name] and "{} #" not in SAMPLES[name]]
_BLOCK_HEADERS = ("|", ">", "|-", ">-", "|+", ">+")
VARIANTS = scaled(8, per=10)  # per group; read at import, before the fixtures scrub PSOPS_* variables


def with_comments(text: str, rng: random.Random) -> str:
    """``text`` with 1-4 comments or blank lines where people put them."""
    lines = text.split("\n")
    for _ in range(rng.randrange(1, 5)):
        i = rng.randrange(0, len(lines))
        line = lines[i]
        stripped = line.strip()
        prev = lines[i - 1].rstrip() if i else ""
        if not stripped or stripped.startswith("#") or prev.endswith(_BLOCK_HEADERS):
            continue  # (a line of a block scalar holds no comment)
        if any(lines[j].rstrip().endswith(_BLOCK_HEADERS) and len(lines[j]) - len(lines[j].lstrip())
               < len(line) - len(line.lstrip()) for j in range(max(0, i - 8), i)):
            continue  # possibly inside a block scalar
        before = "\n".join(lines[:i])
        if before.count("[") > before.count("]") or before.count("{") > before.count("}"):
            continue  # inside a flow collection spread over lines
        roll = rng.random()
        indent = len(line) - len(line.lstrip())
        if roll < 0.45 and stripped != "-" and not stripped.startswith("- -"):
            # (before a `- - k: v # c` line sops drops a head comment when it hoists the line comment)
            lines.insert(i, " " * indent + f"# head {i}")
        elif roll < 0.8 and "#" not in line and not line.rstrip().endswith(("[]", "{}", "-")):
            lines[i] = line + f" # line {i}"
        elif stripped != "-":
            lines.insert(i, "")
    return "\n".join(lines)


def _sops(sops_bin: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], env=env, capture_output=True, check=False, timeout=60)


@pytest.mark.parametrize("group", range(3))
def test_comments_are_placed_as_sops_places_them(group: int, sops_bin: str, sops_env: dict[str, str],
                                                 age_key: object, tmp_path: Path) -> None:
    rng = random.Random(f"comments-{group}")
    recipient = age_key.recipient  # type: ignore[attr-defined]
    differences = []
    for n in range(VARIANTS):
        name = rng.choice(NAMES)
        text = with_comments(SAMPLES[name], rng)
        plain = tmp_path / f"v{n}.yaml"
        plain.write_text(text, encoding="utf-8")
        encrypted = _sops(sops_bin, ["encrypt", "--age", recipient, str(plain)], sops_env)
        assert encrypted.returncode == 0, (name, text, encrypted.stderr.decode(errors="replace"))
        enc = tmp_path / f"v{n}.enc.yaml"
        enc.write_bytes(encrypted.stdout)
        theirs = _sops(sops_bin, ["decrypt", str(enc)], sops_env)
        assert theirs.returncode == 0, theirs.stderr.decode(errors="replace")
        ours = STORE.dump(STORE.load(text.encode("utf-8")))
        if ours != theirs.stdout:
            differences.append(f"--- {name} variant:\n{text}\n--- sops:\n{theirs.stdout.decode()}\n"
                               f"--- psops:\n{ours.decode()}")
    assert not differences, "\n".join(differences[:2])
