"""status_of: read-only facts per file (no key needed), derived vs recorded data-key times, stale keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fixtures.cli import assert_clean_error, ok, run
from fixtures.lifecycle import sops_block, write_policy
from psops.lifecycle.status import status_of, summarize

if TYPE_CHECKING:
    from conftest import AgeKey


def test_status_without_any_key(work: Path, age_key: AgeKey, other_age_key: AgeKey, sops_bin: str) -> None:
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_key.recipient, "rotate_after": "12h"}])
    f = work / "s.yaml"
    f.write_text("a: secret-value\n")
    ok(run(sops_bin, "encrypt", "--age", age_key.recipient, "-i", f))  # sops: no recorded time
    created = datetime.strptime(sops_block(f)["lastmodified"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    soon, late = created + timedelta(hours=1), created + timedelta(hours=13)
    st = status_of("s.yaml", now=soon)  # no SOPS_AGE_KEY_FILE here: nothing is decrypted
    assert (st.encrypted, st.rule, st.due, st.stale, st.error) == (True, True, False, False, None)
    assert st.data_key_created_source == "derived" and st.data_key_age_seconds == 3600
    assert st.rotate_after == "12h" and status_of("s.yaml", now=late).due
    write_policy(work, [{"path_regex": r"\.yaml$", "age": other_age_key.recipient}])
    st = status_of("s.yaml", now=soon)
    assert st.stale and not st.due and st.rotate_after is None
    assert (st.keys_to_add, st.keys_to_remove) == ([f"age:{other_age_key.recipient}"], [f"age:{age_key.recipient}"])
    (work / "plain.yaml").write_text("b: c\n")
    items = [status_of(p, now=soon) for p in ("s.yaml", "plain.yaml", "missing.yaml")]
    assert not items[1].encrypted and items[1].error is None and items[1].rule
    assert items[2].error == "no such file"
    assert summarize(items) == "3 files: 1 encrypted, 1 stale, 1 not encrypted, 1 unreadable"
    assert all("secret-value" not in repr(i) for i in items)


def test_malformed_rotate_after_is_a_config_error_not_a_rotation(work: Path, age_env: AgeKey, psops_bin: str) -> None:
    """rotate --due and status must refuse a policy whose rotate_after cannot be read (exit 5), touching nothing."""
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_env.recipient}])
    f = work / "s.yaml"
    f.write_text("a: secret\n")
    ok(run(psops_bin, "encrypt", "-i", f))
    before = f.read_bytes()
    write_policy(work, [{"path_regex": r"\.yaml$", "age": age_env.recipient, "rotate_after": "ninety days"}])
    assert_clean_error(run(psops_bin, "rotate", "--due", f), 5)
    assert f.read_bytes() == before
    assert_clean_error(run(psops_bin, "status", "--check", f), 5)
