"""Lecture mode: every notebook as a RISE slideshow in headless Chromium.

Each notebook opens at /rise/<path> with as many horizontal slides as it has cells
marked "slide", the arrow key moves on, math is typeset, and no slide or sub-slide runs
past a 1280 × 800 window; on the start-here notebook the widget cell, run on its slide,
shows a live slider that drives its figure.
Screenshots are kept in test-artifacts/browser/.
"""

import nbformat
import pytest
from harness import (
    ARTIFACTS,
    BOTTOM,
    KERNEL_IDLE,
    MATH,
    PRESENT,
    SLIDES,
    has_math,
    open_in_lab,
    open_slideshow,
    run_all,
)
from notebook_files import NOTEBOOKS


def slide_count(path):
    nb = nbformat.read(path, as_version=4)
    return sum(
        c.metadata.get("slideshow", {}).get("slide_type") == "slide" for c in nb.cells
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_presents_as_slides(lab, browser, path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slides = slide_count(path)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        open_slideshow(page, lab, path.name)
        assert page.evaluate(SLIDES) == slides >= 6
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}-slide-1.png"))
        first = page.evaluate(PRESENT)
        assert first.startswith(f"{path.stem[:2]} · "), first[:80]
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => ({PRESENT})() !== {first!r}", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}-slide-2.png"))
        if has_math(path):
            page.wait_for_function(f"() => ({MATH})() > 0", timeout=30_000)
        assert page.get_by_text("Error displaying widget").count() == 0
        page.keyboard.press("Home")
        seen, too_tall = set(), []
        while True:  # every slide and sub-slide, in lecture order
            page.wait_for_timeout(300)
            where, bottom = page.evaluate(BOTTOM)
            if where in seen:
                break
            seen.add(where)
            if bottom > 800:
                too_tall.append(f"{where} ends at {bottom}px")
                page.screenshot(path=str(ARTIFACTS / f"{path.stem}-too-tall.png"))
            page.keyboard.press("Space")
        assert not too_tall, f"cut off at 1280 × 800: {too_tall}"
    finally:
        page.close()


def test_widget_runs_live_on_its_slide(lab, browser):
    path = NOTEBOOKS[0]  # 00_start_here: its widget check has a slide of its own
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        open_in_lab(page, lab, path.name)  # the lecturer runs the notebook first;
        run_all(page)  # the slideshow then shares its kernel
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        open_slideshow(page, lab, path.name)
        for _ in range(40):
            if (
                page.locator(".reveal section.present:not(.stack) .jp-CodeCell")
                .filter(has_text="LivePanel")
                .count()
            ):
                break
            page.keyboard.press("Space")  # the next slide or sub-slide
            page.wait_for_timeout(300)
        cell = page.locator(".reveal section.present:not(.stack) .jp-CodeCell").filter(
            has_text="LivePanel"
        )
        assert cell.count() == 1, "no slide shows the widget cell"
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")  # run, and stay on this slide
        handle = cell.locator(".widget-slider .noUi-handle").first
        handle.wait_for(timeout=30_000)
        element = cell.element_handle()
        before = cell.locator(".jp-OutputArea-output img").first.get_attribute("src")
        page.screenshot(path=str(ARTIFACTS / "slideshow-widget-before.png"))
        box = handle.bounding_box()  # drag the slider, as a lecturer would
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 80, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        page.wait_for_function(
            "([cell, before]) => cell.querySelector('.jp-OutputArea-output img').src"
            " !== before",
            arg=[element, before],
            timeout=30_000,
        )
        page.screenshot(path=str(ARTIFACTS / "slideshow-widget-after.png"))
        assert page.get_by_text("Error displaying widget").count() == 0
    finally:
        page.close()
