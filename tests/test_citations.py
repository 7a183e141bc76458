"""The repository stands alone: what README, docs, configs, scripts and code cite exists inside it
(or is a public source named as such), never a file beside the checkout or an internal document."""

import os
import re
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
# repository paths as README, the docs pages and comments write them: src/..., tests/..., conf/..., scripts/...,
# docs/..., and the package's own folders (`model/compile.py`, `serve/rows.py`: under src/ptune_exp/)
PATH = re.compile(
    r"(?<![\w./-])((?:src|tests|scripts|conf|docs|"
    r"tasks|methods|injection|compare|config|storage|model|runs|artifacts|pipeline|serve|bench)"
    r"/[\w./-]*\w\.(?:py|ya?ml|md|json|png|svg))"
)
OUTSIDE = re.compile(r"\.\./shared|\bGUIDE\b|issue notes|not testable here")


def tracked(*suffixes: str) -> list[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in files if f.endswith(suffixes) and f != "tests/test_citations.py"]


def cited_paths(text: str) -> set[str]:
    return {m for m in PATH.findall(text) if "<" not in m and "*" not in m}


def exists(path: str) -> bool:
    """A cited path exists in the repository, or inside the package (`conf/...`, `tasks/...` as the code
    names its own modules)."""
    return any(os.path.exists(os.path.join(ROOT, p)) for p in (path, os.path.join("src", "ptune_exp", path)))


def test_the_path_pattern_finds_paths_and_skips_placeholders():
    text = "see `src/ptune_exp/pipeline/run.py`, conf/method/ptv2.yaml, model/compile.py and tests/x_<name>.py, not mysrc/a.py"
    assert cited_paths(text) == {"src/ptune_exp/pipeline/run.py", "conf/method/ptv2.yaml", "model/compile.py"}


def documents() -> list[str]:
    """README.md and every page of the documentation site, tracked by git or not yet."""
    pages = sorted(f"docs/{name}" for name in os.listdir(os.path.join(ROOT, "docs")) if name.endswith(".md"))
    return ["README.md", *pages]


def test_readme_and_every_docs_page_are_checked():
    checked = set(tracked(".md", ".py", ".yaml", ".toml", "Makefile", ".cfg")) | set(documents())
    assert {"README.md", "docs/index.md", "docs/reproduction.md"} <= checked


@pytest.mark.parametrize(
    "path", sorted(set(tracked(".md", ".py", ".yaml", ".toml", "Makefile", ".cfg")) | set(documents()))
)
def test_no_citation_points_outside_the_repository(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    assert not OUTSIDE.search(text), f"{path} cites {OUTSIDE.search(text).group(0)!r}: cite a public source instead"
    missing = sorted(p for p in cited_paths(text) if not exists(p))
    assert not missing, f"{path} cites files the repository does not have: {missing}"
