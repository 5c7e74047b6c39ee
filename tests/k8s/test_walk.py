"""Finding manifest files (sorted, by extension, .psopsignore) and reading them within the safety limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.cli import assert_clean_error, run
from psops.errors import CannotReadInput, UnsafeInput
from psops.k8s.walk import WalkOptions, collect_inputs, ignored, parse_ignore, parse_size, read_limited


def touch(path: Path, text: str = "kind: ConfigMap\nmetadata: {name: x}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(root: Path, **kw: object) -> list[str]:
    return [str(i.rel) for i in collect_inputs([str(root)], WalkOptions(**kw))]  # type: ignore[arg-type]


def test_folders_are_walked_sorted_for_manifest_extensions(tmp_path: Path) -> None:
    for rel in ("b/z.yaml", "b/a.yml", "a.json", "c.YAML", "notes.txt", "kustomize/README.md", ".git/x.yaml",
                "b/sub/deep.yaml"):
        touch(tmp_path / rel)
    assert names(tmp_path) == ["a.json", "b/a.yml", "b/sub/deep.yaml", "b/z.yaml", "c.YAML"]
    items = collect_inputs([str(tmp_path / "b" / "z.yaml"), "-"])
    assert [(i.display, str(i.rel)) for i in items] == [(str(tmp_path / "b" / "z.yaml"), "z.yaml"),
                                                        ("-", "stdin.yaml")]


def test_psopsignore_patterns(tmp_path: Path) -> None:
    for rel in ("app/deploy.yaml", "app/values.yaml", "app/tmp/x.yaml", "charts/c/templates/t.yaml",
                "keep/values.yaml", "app/kustomization.yaml", "sub/kustomization.yaml", "sub/svc.yaml"):
        touch(tmp_path / rel)
    (tmp_path / ".psopsignore").write_text("# not manifests\nvalues.yaml\n!keep/values.yaml\ntmp/\n/charts\n"
                                           "**/kustomization.yaml\n")
    (tmp_path / "sub" / ".psopsignore").write_text("svc.yaml\n")
    assert names(tmp_path) == ["app/deploy.yaml", "keep/values.yaml"]


def test_ignore_rules_unit() -> None:
    rules = parse_ignore("*.enc.yaml\n!important.enc.yaml\nbuild/\n/top.yaml\na/**/b.yaml\nf[0-9].yaml\n", "")
    assert ignored(rules, "x/s.enc.yaml", False)
    assert not ignored(rules, "x/important.enc.yaml", False)
    assert ignored(rules, "x/build", True) and not ignored(rules, "x/build", False)
    assert ignored(rules, "top.yaml", False) and not ignored(rules, "x/top.yaml", False)
    assert ignored(rules, "a/b.yaml", False) and ignored(rules, "a/x/y/b.yaml", False)
    assert ignored(rules, "f7.yaml", False) and not ignored(rules, "fx.yaml", False)
    nested = parse_ignore("secret.yaml\n", "team")
    assert ignored(nested, "team/x/secret.yaml", False) and not ignored(nested, "other/secret.yaml", False)


def test_symlinks_inside_are_followed_and_loops_cut(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "real" / "a.yaml")
    (root / "alias").symlink_to(root / "real")
    (root / "real" / "loop").symlink_to(root)
    (root / "link.yaml").symlink_to(root / "real" / "a.yaml")
    assert names(root) == ["alias/a.yaml", "link.yaml", "real/a.yaml"]


def test_symlinks_leaving_the_roots_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    touch(outside / "stolen.yaml")
    touch(root / "ok.yaml")
    (root / "evil.yaml").symlink_to(outside / "stolen.yaml")
    with pytest.raises(UnsafeInput) as info:
        collect_inputs([str(root)])
    assert info.value.path == f"{root}/evil.yaml" and "outside" in info.value.message
    assert names(root, allow_outside_symlinks=True) == ["evil.yaml", "ok.yaml"]
    # a second root makes the target legitimate
    assert len(collect_inputs([str(root), str(outside)])) == 3


def test_broken_symlink_is_a_read_error(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    with pytest.raises(CannotReadInput):
        collect_inputs([str(tmp_path)])


def test_size_limit_and_special_files(tmp_path: Path) -> None:
    big = touch(tmp_path / "big.yaml", "a: " + "x" * 2000 + "\n")
    with pytest.raises(UnsafeInput) as info:
        read_limited(big, "big.yaml", 1000)
    assert "limit" in info.value.message
    assert read_limited(big, "big.yaml", 5000).startswith(b"a: x")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeInput) as info:
        read_limited(fifo, "pipe.yaml", 1000)  # never blocks waiting for a writer
    assert "regular" in info.value.message
    link = tmp_path / "link.yaml"
    link.symlink_to(big)
    with pytest.raises(UnsafeInput):
        read_limited(link, "link.yaml", 5000)  # a link where a resolved path was expected


def test_parse_size() -> None:
    assert parse_size("1048576") == 1048576
    assert parse_size("512K") == 512 * 1024 and parse_size("8M") == 8 * 1024**2 and parse_size("1GiB") == 1024**3
    with pytest.raises(ValueError):
        parse_size("lots")


def test_cli_refuses_escaping_symlink_and_big_files(tmp_path: Path, psops_bin: str) -> None:
    root = tmp_path / "repo"
    touch(root / "ok.yaml")
    (root / "key.yaml").symlink_to(touch(tmp_path / "elsewhere" / "key.yaml"))
    proc = run(psops_bin, "k8s", "decrypt", root)
    assert_clean_error(proc, 74, names=f"{root}/key.yaml")
    (root / "key.yaml").unlink()
    touch(root / "huge.yaml", "a: " + "x" * 5000 + "\n")
    proc = run(psops_bin, "k8s", "decrypt", "--max-file-size", "4K", root)
    assert_clean_error(proc, 74, names=f"{root}/huge.yaml")
    proc = run(psops_bin, "k8s", "decrypt", "--max-file-size", "lots", root)
    assert proc.returncode == 2 and b"--max-file-size" in proc.stderr
