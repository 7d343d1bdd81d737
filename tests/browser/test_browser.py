"""Every notebook in a real JupyterLab, driven by headless Debian Chromium (Playwright,
no `playwright install`).

For each notebook: run all cells on a fresh kernel; no cell may end in an error and no
widget may fail to display; then the notebook's first slider is nudged with the arrow
keys and the output it drives must change. Screenshots are kept in
test-artifacts/browser/.
"""

import pytest
from harness import (
    ARTIFACTS,
    ERRORS,
    KERNEL_IDLE,
    SHOWN,
    has_math,
    open_in_lab,
    run_all,
)
from notebook_files import NOTEBOOKS
from playwright.sync_api import TimeoutError as PlaywrightTimeout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab_and_its_slider_drives_the_output(
    lab, browser, path
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors = []
    page.on(
        "console",
        lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
    )
    try:
        open_in_lab(page, lab, path.name)
        run_all(page)
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}-1-after-run-all.png"))

        assert page.evaluate(ERRORS) == [], "a cell ended in an error"
        if has_math(path):  # the built-in MathJax typesets the markdown's TeX
            page.wait_for_function(
                "() => document.querySelectorAll('mjx-container').length > 0",
                timeout=30_000,
            )
        assert page.get_by_text("Error displaying widget").count() == 0

        handle = page.locator(".widget-slider .noUi-handle").first
        handle.scroll_into_view_if_needed()
        page.wait_for_function(f"() => ({SHOWN})().includes('img:')", timeout=30_000)
        page.evaluate(f"() => {{ window.__shown_before = ({SHOWN})(); }}")
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        try:
            page.wait_for_function(
                f"() => ({SHOWN})() !== window.__shown_before",
                timeout=30_000,
                polling=200,
            )
        except PlaywrightTimeout:
            page.screenshot(
                path=str(ARTIFACTS / f"{path.stem}-2-slider-did-nothing.png")
            )
            pytest.fail(
                "moving the first slider did not change the figure or text it drives"
            )
        page.wait_for_function(KERNEL_IDLE, timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}-2-after-slider.png"))
        assert page.get_by_text("Error displaying widget").count() == 0
        assert page.evaluate(ERRORS) == []
    finally:
        page.close()
