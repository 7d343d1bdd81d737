"""The website in a real browser: its landing page (the course map) and a chapter,
served on 127.0.0.1 as a static host would serve them. Screenshots are kept in
test-artifacts/browser/."""

import functools
import http.server
import threading

import pytest
from harness import ARTIFACTS


@pytest.fixture(scope="module")
def site(built_book):
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(built_book)
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_landing_page_leads_to_a_chapter_with_its_figures(site, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{site}/index.html")  # redirects to the README, the course map
        page.wait_for_selector("article h1")
        assert "interactive course" in page.locator("article h1").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "book-landing.png"))
        page.locator("article a[href='notebooks/05_churn.html']").first.click()
        page.wait_for_selector("article h1")
        assert page.locator("article h1").first.inner_text().startswith("05 · Churn")
        loaded = page.evaluate(
            "() => [...document.querySelectorAll('article img')]"
            ".filter(img => img.complete && img.naturalWidth > 0).length"
        )
        assert loaded >= 5, f"only {loaded} figures loaded"
        assert page.locator("a[href*='colab.research.google.com']").count() >= 1
        assert page.locator("a[href*='mybinder.org']").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "book-chapter-05.png"), full_page=False)
    finally:
        page.close()
