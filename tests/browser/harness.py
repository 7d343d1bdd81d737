"""The browser tests' harness: a real JupyterLab on 127.0.0.1 with a token, Debian's
Chromium through Playwright (never `playwright install`), and the synchronous JavaScript
predicates the tests wait on (wait_for_function does not await promises).
"""

import re
import shutil
import uuid

import nbformat
from notebook_files import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
TOKEN = uuid.uuid4().hex
RUN_TIMEOUT_MS = 180_000

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


def open_in_lab(page, lab, name):
    """Open notebook ``name`` in JupyterLab (a fresh workspace); wait for its kernel."""
    page.goto(f"{lab}/lab/workspaces/{uuid.uuid4().hex}/tree/{name}?token={TOKEN}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_function(
        f"() => {{ const w = {NOTEBOOK}; "
        "return !!(w && w.content && w.content.widgets); }",
        timeout=60_000,
    )
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def run_all(page):
    """Clear every output, run all cells, and wait until each code cell has run."""
    page.evaluate(
        "async () => { await window.jupyterapp.commands.execute("
        "'notebook:clear-all-cell-outputs'); }"
    )
    page.evaluate(
        "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
    )
    page.wait_for_function(ALL_EXECUTED, timeout=RUN_TIMEOUT_MS, polling=500)


# RISE (jupyterlab-rise) serves a notebook's slideshow at /rise/<path>.
SLIDES = "() => document.querySelectorAll('.reveal .slides > section').length"
PRESENT = """() => {
  const present = '.reveal .slides section.present:not(.stack)';
  const shown = document.querySelectorAll(present);
  return [...shown].map(s => s.innerText.slice(0, 200)).join('|');
}"""
MATH = "() => document.querySelectorAll('.reveal mjx-container').length"
# Where the shown (sub-)slide's content ends, in CSS pixels from the top of the window.
BOTTOM = """() => {
  const s = document.querySelector('.reveal .slides section.present:not(.stack)');
  const bottoms = [...s.children].map(el => el.getBoundingClientRect().bottom);
  return [location.hash, Math.round(Math.max(0, ...bottoms))];
}"""


def open_slideshow(page, lab, name):
    """Open notebook ``name`` as a RISE slideshow and wait until Reveal has built it."""
    page.goto(f"{lab}/rise/{name}?token={TOKEN}")
    page.wait_for_function(
        "() => !!document.querySelector('.reveal.ready')", timeout=90_000
    )


def has_math(path) -> bool:
    """Whether a notebook's shown markdown holds TeX ($...$) for MathJax to typeset."""
    nb = nbformat.read(path, as_version=4)
    return any(
        c.cell_type == "markdown"
        and c.metadata.get("slideshow", {}).get("slide_type") != "skip"
        and re.search(r"\$[^$]+\$", c.source)
        for c in nb.cells
    )
