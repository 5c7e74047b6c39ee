"""MkDocs hooks (mkdocs.yml ``hooks:``): the docs read the same on GitHub and on the built site.

* Pages link to repository files outside ``docs/`` with ordinary relative links (``../examples/k8s/``), which
  work when browsing the repository. MkDocs cannot resolve them, so :func:`on_page_markdown` rewrites each
  one whose target exists: to ``repo_url``/blob/main/PATH when mkdocs.yml sets ``repo_url``, else to the
  repository path as inline code. A target that does not exist is left alone, so the strict build reports
  it as a broken link.
* A page under ``docs/`` that the nav does not list is appended to the nav's "Reference" section by
  :func:`on_config` (titled by its first heading), so a page another change adds is never left out of the
  site; list it in mkdocs.yml to place it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<target>[^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\S\n]*$", re.MULTILINE | re.DOTALL)
_EXTRA_SECTION = "Reference"


def _listed(nav: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= _listed(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            found |= _listed(value)
    return found


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip().strip("`")
    return path.stem


def on_config(config: Any, **_: Any) -> Any:
    """Append pages the nav does not list to its Reference section."""
    docs = Path(config["docs_dir"])
    nav = config.get("nav")
    if not nav:
        return config
    listed = _listed(nav)
    extra = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md")
                   if p.relative_to(docs).as_posix() not in listed)
    if not extra:
        return config
    section = next((item for item in nav if isinstance(item, dict) and _EXTRA_SECTION in item), None)
    if section is None:
        section = {_EXTRA_SECTION: []}
        nav.append(section)
    for rel in extra:
        section[_EXTRA_SECTION].append({_title(docs / rel): rel})
    return config


def _rewrite(match: re.Match[str], page_dir: Path, docs: Path, repo: Path, repo_url: str) -> str:
    text, target = match.group("text"), match.group("target")
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return match.group(0)
    path_part, _, fragment = target.partition("#")
    resolved = Path(os.path.normpath(page_dir / path_part))
    if resolved == docs or docs in resolved.parents or repo not in resolved.parents:
        return match.group(0)
    if not resolved.exists():
        return match.group(0)  # left for MkDocs to report as a broken link
    rel = resolved.relative_to(repo).as_posix() + ("/" if resolved.is_dir() else "")
    if repo_url:
        kind = "tree" if resolved.is_dir() else "blob"
        anchor = f"#{fragment}" if fragment else ""
        return f"[{text}]({repo_url.rstrip('/')}/{kind}/main/{rel.rstrip('/')}{anchor})"
    plain = text.strip("`").rstrip("/")
    if plain and rel.startswith(plain):
        return text if text.startswith("`") else f"`{text}`"
    return f"{text} (`{rel}`)"


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    """Rewrite links to repository files outside docs/ (outside fenced code blocks)."""
    docs = Path(config["docs_dir"]).resolve()
    repo = Path(config["config_file_path"]).resolve().parent
    page_dir = (docs / page.file.src_uri).parent
    repo_url = config.get("repo_url") or ""
    out: list[str] = []
    last = 0
    for fence in _FENCE.finditer(markdown):
        chunk = markdown[last:fence.start()]
        out.append(_LINK.sub(lambda m: _rewrite(m, page_dir, docs, repo, repo_url), chunk))
        out.append(fence.group(0))
        last = fence.end()
    out.append(_LINK.sub(lambda m: _rewrite(m, page_dir, docs, repo, repo_url), markdown[last:]))
    return "".join(out)
