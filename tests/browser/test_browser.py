"""Every notebook in a real JupyterLab, driven by headless Debian Chromium (Playwright,
no `playwright install`).

For each notebook: run all cells on a fresh kernel; no cell may end in an error and no
widget may fail to display; then the notebook's first slider is nudged with the arrow
keys and the output it drives must change. Screenshots are kept in
test-artifacts/browser/.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from notebook_files import NOTEBOOKS, ROOT
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
TOKEN = uuid.uuid4().hex
RUN_TIMEOUT_MS = 180_000

# Synchronous predicates (wait_for_function does not await promises).
NOTEBOOK = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
KERNEL_IDLE = f"""() => {{
  const w = {NOTEBOOK};
  const session = w && w.sessionContext && w.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
}}"""
ALL_EXECUTED = f"""() => {{
  const w = {NOTEBOOK};
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return w.sessionContext.session.kernel.status === 'idle'
         && cells.every(c => c.model.executionCount !== null);
}}"""
ERRORS = f"""() => {{
  const w = {NOTEBOOK};
  const found = [];
  for (const cell of w.content.widgets.filter(c => c.model.type === 'code')) {{
    for (let i = 0; i < cell.model.outputs.length; i++) {{
      const out = cell.model.outputs.get(i).toJSON();
      if (out.output_type === 'error') found.push(out.ename + ': ' + out.evalue);
    }}
  }}
  return found;
}}"""
# What the first slider's cell shows, widgets aside: its images and text.
SHOWN = """() => {
  const handle = document.querySelector('.widget-slider .noUi-handle');
  const cell = handle.closest('.jp-Cell');
  const parts = [];
  for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
    if (out.querySelector('.jupyter-widgets')) continue;
    out.querySelectorAll('img').forEach(
      img => parts.push('img:' + img.src.length + ':' + img.src.slice(-300)));
    parts.push(out.innerText);
  }
  return parts.join('|');
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token, serving a copy of notebooks/ (autosave
    never touches the repo).
    """
    root = tmp_path_factory.mktemp("lab")
    for path in NOTEBOOKS:
        shutil.copy(path, root / path.name)
    port = free_port()
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / ".ws"),
        JUPYTER_CONFIG_DIR=str(root / ".config"),
        PYTHONUNBUFFERED="1",
    )
    log = open(root / "server.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            "--LabApp.expose_app_in_browser=True",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
        ]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.terminate()
                pytest.fail(
                    "JupyterLab did not start:\n"
                    + (root / "server.log").read_text()[-3000:]
                )
            time.sleep(0.5)
    yield base
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), (
        "Debian's chromium is missing: `make test` installs it (apt-get install "
        "chromium)"
    )
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield chromium
        chromium.close()


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
        page.goto(
            f"{lab}/lab/workspaces/{uuid.uuid4().hex}/tree/{path.name}?token={TOKEN}"
        )
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        page.wait_for_function(
            f"() => {{ const w = {NOTEBOOK}; "
            "return !!(w && w.content && w.content.widgets); }",
            timeout=60_000,
        )
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)

        page.evaluate(
            "async () => { await window.jupyterapp.commands.execute("
            "'notebook:clear-all-cell-outputs'); }"
        )
        page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
        page.wait_for_function(ALL_EXECUTED, timeout=RUN_TIMEOUT_MS, polling=500)
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}-1-after-run-all.png"))

        assert page.evaluate(ERRORS) == [], "a cell ended in an error"
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
