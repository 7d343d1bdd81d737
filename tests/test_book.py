"""The website (`make book`): built offline from the committed outputs with warnings as
errors, a page per notebook with its figures, claims table and launch buttons, and no
broken internal link."""

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from notebook_files import NOTEBOOKS
from tools_path import repository, version


def page(book: Path, name: str) -> str:
    return (book / name).read_text()


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_a_page_with_its_figures_claims_and_launch_buttons(
    built_book, path
):
    markup = page(built_book, f"notebooks/{path.stem}.html")
    nb = nbformat.read(path, as_version=4)
    figures = sum(
        "image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])
    )
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', markup)
    assert len(images) >= figures > 0
    for src in images:
        if not src.startswith("http"):
            assert (built_book / "notebooks" / unquote(src)).resolve().is_file(), src
    claims_output = json.dumps(nb.cells[-1].outputs, ensure_ascii=False)
    claims = re.findall(r"<td style='text-align:left'>(.*?)</td>", claims_output)
    assert claims, "the committed claims table"
    for claim in claims:
        assert html.unescape(claim) in text_of(markup), claim[:80]
    slug = repository().removeprefix("https://github.com/")
    tag = f"v{version()}"  # the release whose course_lib the Colab cell installs
    binder = f"https://mybinder.org/v2/gh/{slug}/{tag}?urlpath=lab/tree/notebooks/"
    colab = f"https://colab.research.google.com/github/{slug}/blob/{tag}/notebooks/"
    assert html.escape(binder + path.name) in markup or binder + path.name in markup
    assert colab + path.name in markup


def test_landing_page_is_the_course_map_and_search_is_built(built_book):
    landing = text_of(page(built_book, "README.html"))
    for path in NOTEBOOKS:
        assert f'href="notebooks/{path.stem}.html"' in page(built_book, "README.html")
    assert "For lecturers" in landing and "License and citation" in landing
    assert (built_book / "search.html").is_file()
    assert "Churn" in (built_book / "searchindex.js").read_text()


def test_no_internal_link_is_broken(built_book):
    broken = []
    for html_file in built_book.rglob("*.html"):
        if "_static" in html_file.parts:  # the theme's own templates
            continue
        markup = html_file.read_text()
        for target in re.findall(r'(?:href|src)="([^"]+)"', markup):
            parts = urlsplit(html.unescape(target))
            if parts.scheme or target.startswith(("#", "mailto:", "//")):
                continue
            resolved = (html_file.parent / unquote(parts.path)).resolve()
            if parts.path and not resolved.exists():
                broken.append(f"{html_file.relative_to(built_book)} → {target}")
            elif parts.fragment and parts.path.endswith(".html"):
                ids = re.findall(r'id="([^"]+)"', resolved.read_text())
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{html_file.relative_to(built_book)} → {target}")
    assert not broken, broken[:20]


def test_the_claims_page_lists_every_finding_with_its_baseline(built_book):
    from course_lib.claims import load_sweep

    shown = text_of(page(built_book, "book/claims.html"))
    for curly, straight in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"')):
        shown = shown.replace(curly, straight)  # Sphinx's smart quotes
    assert "The claims and how often they hold" in shown
    findings = [
        (claim, entry)
        for table in load_sweep().values()
        for claim, entry in table.items()
        if entry["kind"] == "finding"
    ]
    assert findings
    for claim, entry in findings:
        assert " ".join(claim.split()) in " ".join(shown.split()), claim[:80]
        assert entry["against"] in shown
