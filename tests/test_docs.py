"""The documentation site (mkdocs.yml, docs/) builds with `mkdocs build --strict`, so a link to a missing page or
heading, or a page left out of the nav, fails; README stays short and links every page of the site."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
README = os.path.join(ROOT, "README.md")
NO_MKDOCS = importlib.util.find_spec("mkdocs") is None
needs_mkdocs = pytest.mark.skipif(
    NO_MKDOCS, reason="mkdocs is not installed: `pip install -e '.[docs]'` (make test installs it)"
)
LINK = re.compile(r"\]\((docs/[\w./-]+\.md)(?:#([\w-]+))?\)")


def build(config: str, site: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", config, "--site-dir", site],
        capture_output=True,
        text=True,
    )


def nav_pages() -> list[str]:
    with open(os.path.join(ROOT, "mkdocs.yml"), encoding="utf-8") as f:
        nav = yaml.safe_load(f)["nav"]
    return [page for entry in nav for page in entry.values()]


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def section(text: str, title: str) -> list[str]:
    """The table rows of the section headed `## <title>`."""
    body = re.split(rf"^## {re.escape(title)}\n", text, flags=re.M)[1].split("\n## ")[0]
    return [line for line in body.splitlines() if line.startswith("|")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = build(os.path.join(ROOT, "mkdocs.yml"), str(out))
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-3000:]}"
    return out


@needs_mkdocs
def test_the_site_builds_strict_with_every_page(site):
    for page in nav_pages():
        html = "index.html" if page == "index.md" else os.path.join(page[: -len(".md")], "index.html")
        assert (site / html).exists(), f"{page} is in the nav but was not built"
    assert (site / "reproduction" / "index.html").read_text().count("figures/") >= 4  # the report's figures


@needs_mkdocs
@pytest.mark.parametrize(
    "broken", ["[a page](no-such-page.md)", "[a heading](methods.md#no-such-heading)"], ids=["page", "anchor"]
)
def test_a_broken_link_fails_the_build(tmp_path, broken):
    shutil.copytree(os.path.join(ROOT, "docs"), tmp_path / "docs")
    shutil.copy(os.path.join(ROOT, "mkdocs.yml"), tmp_path / "mkdocs.yml")
    with open(tmp_path / "docs" / "api.md", "a", encoding="utf-8") as f:
        f.write(f"\nSee {broken}.\n")
    result = build(str(tmp_path / "mkdocs.yml"), str(tmp_path / "site"))
    assert result.returncode != 0, "a broken link did not fail `mkdocs build --strict`"
    output = result.stdout + result.stderr
    assert "Aborted with" in output and broken.split("(")[1].rstrip(")") in output


@needs_mkdocs
def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path):
    shutil.copytree(os.path.join(ROOT, "docs"), tmp_path / "docs")
    shutil.copy(os.path.join(ROOT, "mkdocs.yml"), tmp_path / "mkdocs.yml")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    result = build(str(tmp_path / "mkdocs.yml"), str(tmp_path / "site"))
    assert result.returncode != 0 and "orphan.md" in result.stdout + result.stderr


@needs_mkdocs
def test_readme_links_resolve_to_built_pages_and_headings(site):
    links = LINK.findall(read(README))
    assert links, "README links no docs page"
    for page, anchor in links:
        name = page[len("docs/") : -len(".md")]
        html = site / ("index.html" if name == "index" else os.path.join(name, "index.html"))
        assert html.exists(), f"README links {page}, which the site does not have"
        if anchor:
            assert f'id="{anchor}"' in html.read_text(), f"README links {page}#{anchor}: no such heading"


def test_readme_is_short_and_links_every_page():
    text = read(README)
    assert len(text.splitlines()) <= 300, "README.md is over 300 lines: move the manual into a docs/ page"
    assert "make demo" in text and "make test" in text
    linked = {page for page, _ in LINK.findall(text)}
    missing = sorted(f"docs/{p}" for p in nav_pages() if f"docs/{p}" not in linked)
    assert not missing, f"README does not link these docs pages: {missing}"


@pytest.mark.parametrize("title", ["Command cookbook", "Config groups"])
def test_readme_and_the_home_page_hold_the_same_table(title):
    readme = [row.replace("](docs/", "](") for row in section(read(README), title)]
    home = section(read(os.path.join(ROOT, "docs", "index.md")), title)
    assert readme, f"README has no '## {title}' table"
    assert readme == home, f"README's '{title}' table and docs/index.md's differ: keep one copy of each change in both"
