"""``psops git install`` / ``uninstall`` run as a user would, checked with ``git config`` itself."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fixtures.cli import load_yaml
from fixtures.gitrepo import GitRepo
from psops.git.install import PRE_COMMIT_HOOK

PROJECT = Path(__file__).resolve().parents[2]


def _config(repo: GitRepo, *args: str) -> str:
    proc = repo.git("config", *args, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else ""


def test_install_is_idempotent_and_uninstall_reverses_it(repo: GitRepo, psops_bin: str) -> None:
    repo.write(".gitattributes", "*.png binary\n")
    first = repo.run(psops_bin, "git", "install", "--attributes", "*.enc.yaml", "-a", "secrets/*.json", "--hook")
    assert first.returncode == 0, first.stderr
    assert b"set diff.psops.textconv" in first.stdout
    assert _config(repo, "--get", "diff.psops.textconv") == "psops git textconv"
    assert _config(repo, "--get", "diff.psops.cachetextconv") == "false"  # never cache decrypted text
    assert _config(repo, "--get", "merge.psops.driver") == "psops git merge %O %A %B %L %P"
    assert _config(repo, "--get", "mergetool.psops.cmd") == (
        'psops git mergetool --base "$BASE" --local "$LOCAL" --remote "$REMOTE" "$MERGED"')
    assert _config(repo, "--bool", "--get", "mergetool.psops.trustExitCode") == "true"
    assert repo.out("check-attr", "diff", "merge", "--", "a.enc.yaml", "secrets/x.json", "b.yaml").splitlines() == [
        "a.enc.yaml: diff: psops", "a.enc.yaml: merge: psops",
        "secrets/x.json: diff: psops", "secrets/x.json: merge: psops",
        "b.yaml: diff: unspecified", "b.yaml: merge: unspecified"]
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    assert hook.read_text() == PRE_COMMIT_HOOK and os.access(hook, os.X_OK)

    config_before = (repo.path / ".git" / "config").read_bytes()
    attributes_before = repo.read(".gitattributes")
    again = repo.run(psops_bin, "git", "install", "--attributes", "*.enc.yaml", "-a", "secrets/*.json", "--hook")
    assert again.returncode == 0 and b"already configured" in again.stdout
    assert (repo.path / ".git" / "config").read_bytes() == config_before
    assert repo.read(".gitattributes") == attributes_before

    gone = repo.run(psops_bin, "git", "uninstall")
    assert gone.returncode == 0, gone.stderr
    assert repo.git("config", "--get-regexp", "psops", check=False).returncode == 1
    assert repo.read(".gitattributes") == b"*.png binary\n"
    assert not hook.exists()


def test_global_install_writes_the_user_config_and_attributes(repo: GitRepo, psops_bin: str,
                                                             clean_env: Path) -> None:
    proc = repo.run(psops_bin, "git", "install", "--global", "--attributes", "*.sops.json")
    assert proc.returncode == 0, proc.stderr
    assert (clean_env / ".gitconfig").is_file()
    assert _config(repo, "--global", "--get", "merge.psops.driver") == "psops git merge %O %A %B %L %P"
    assert (clean_env / ".config" / "git" / "attributes").read_text() == "*.sops.json diff=psops merge=psops\n"
    assert repo.out("check-attr", "merge", "--", "x.sops.json").strip() == "x.sops.json: merge: psops"
    assert repo.run(psops_bin, "git", "uninstall", "--global").returncode == 0
    assert _config(repo, "--global", "--get", "merge.psops.driver") == ""
    assert repo.out("check-attr", "merge", "--", "x.sops.json").strip() == "x.sops.json: merge: unspecified"


def test_a_foreign_pre_commit_hook_is_never_replaced(repo: GitRepo, psops_bin: str) -> None:
    hook = repo.write(".git/hooks/pre-commit", "#!/bin/sh\necho mine\n")
    proc = repo.run(psops_bin, "git", "install", "--hook")
    assert proc.returncode == 3 and b"did not write" in proc.stderr
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert repo.run(psops_bin, "git", "uninstall").returncode == 0
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def test_outside_a_repository_install_is_a_clean_error(tmp_path: Path, psops_bin: str) -> None:
    from fixtures.cli import assert_clean_error, run

    proc = run(psops_bin, "git", "install", cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert_clean_error(proc, 70, names="not inside a git repository")


def test_shipped_hook_script_and_pre_commit_framework_manifest() -> None:
    script = PROJECT / "git-hooks" / "pre-commit"
    assert script.read_text() == PRE_COMMIT_HOOK
    assert script.stat().st_mode & stat.S_IXUSR
    hooks = load_yaml((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["psops-check"]
    hook = hooks[0]
    assert hook["entry"] == "psops check --staged" and hook["language"] == "python"
    assert hook["pass_filenames"] is True and hook["require_serial"] is True
