"""Every notebook in JupyterLab, in headless Chromium: run all cells, then move an explorer.

For each ``notebooks/*.ipynb`` (on the ``lab`` fixture's copy) the test opens the notebook, clears
the stored outputs, runs all cells from the Run menu and waits for the kernel to finish; then it
checks that no cell printed a traceback, that the first explorer's plots change when its first
slider is moved with the keyboard, and that the browser console logged no error. It saves a
screenshot of that explorer to ``tests/browser/screenshots/{stem}.png`` and, for
``00_start_here``, to ``docs/explorer_00.png`` (the README's picture) once everything passed.

The JupyterLab 4 DOM this relies on:

- a notebook is a ``.jp-NotebookPanel``; its cells are ``.jp-Cell`` (``.jp-CodeCell`` for code),
  each with an input prompt ``.jp-InputPrompt`` reading ``[ ]:`` (not run), ``[*]:`` (running or
  queued) or ``[12]:`` (done);
- outputs are ``.jp-OutputArea-output`` elements with the output's MIME type in
  ``data-mime-type``; both stderr streams and errors (tracebacks) render as
  ``application/vnd.jupyter.stderr``, so errors are told apart by their text;
- the status bar holds the kernel status as text, ``Python 3 (ipykernel) | Idle``. (The notebook
  toolbar's ``.jp-Notebook-ExecutionIndicator`` says ``idle`` even before a kernel exists, so it
  is no sign that the kernel is ready.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import NOTEBOOKS, ROOT, SHOTS, plot_data
from playwright.sync_api import TimeoutError as PlaywrightTimeout

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
#: Seconds for one notebook's Run All (15 to 30 s of kernel time alone, on a shared 2-core box).
RUN_TIMEOUT = 300
#: Seconds for the explorer's plots to change after the slider moved (a few simulation runs).
SLIDER_TIMEOUT = 60
#: The status bar's kernel item once a kernel is connected and idle (not "No Kernel | Idle").
KERNEL_IDLE = re.compile(r"^(?!No Kernel).+ \| Idle$")
#: An exception line as IPython prints it ("ValueError: ...", "ZeroDivisionError  Traceback").
EXCEPTION_LINE = re.compile(r"^\s*\w*(Error|Exception)\b", re.MULTILINE)


def code_cells_with_source(name: str) -> int:
    """How many code cells of the notebook file have any source (JupyterLab skips empty ones)."""
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    return sum(c["cell_type"] == "code" and "".join(c["source"]).strip() != "" for c in cells)


def wait_kernel_idle(page, timeout: float = RUN_TIMEOUT) -> None:
    """Wait until the status bar shows a connected kernel that is idle."""
    page.locator(".jp-StatusBar-TextItem", has_text=KERNEL_IDLE).wait_for(
        timeout=timeout * 1000)


def menu(page, top: str, item: str) -> None:
    """Click ``item`` in the menu-bar menu ``top`` (Lumino menus: exact label text)."""
    page.locator(f".lm-MenuBar-itemLabel:text-is('{top}')").click()
    page.locator(f".lm-Menu-itemLabel:text-is('{item}')").click()


#: JS: the text of every code cell's input prompt.
PROMPTS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim())"""


def open_notebook(page, base: str, token: str, name: str) -> None:
    """Open a notebook in a reset workspace and wait for its kernel; clear the stored outputs.

    Clearing resets every prompt to ``[ ]``, so a number in a prompt later means this run made it.
    """
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    page.locator(".jp-NotebookPanel .jp-CodeCell").first.wait_for(timeout=120_000)
    wait_kernel_idle(page, timeout=120)
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => ({PROMPTS})().every(t => t === '[ ]:')")


def run_all(page) -> None:
    """Run all cells from the Run menu and wait until no prompt shows ``[*]`` and the kernel idles.

    Run All marks every queued cell ``[*]`` at once, and resets the rest to ``[ ]`` if one fails,
    so "no ``[*]`` left" means finished or stopped by an error, never "between two cells".
    """
    menu(page, "Run", "Run All Cells")
    # Started: some prompt is no longer blank (cleared prompts are "[ ]:").
    page.wait_for_function(f"() => ({PROMPTS})().some(t => t !== '[ ]:')", timeout=60_000)
    page.wait_for_function(f"() => !({PROMPTS})().includes('[*]:')",
                           timeout=RUN_TIMEOUT * 1000, polling=500)
    wait_kernel_idle(page)


def cell_errors(page) -> tuple[list[str], list[str]]:
    """(errors, stderr warnings) among the outputs, as "cell N [prompt] 'first line': text".

    An error is a stderr-typed output holding a traceback or an exception line, or any output
    saying a widget could not be displayed; other stderr text (warnings) is returned apart.
    """
    found = page.evaluate("""() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell')]
        .flatMap((cell, i) => [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
            cell: i + 1,
            prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
            source: ((cell.querySelector('.cm-line') || {}).textContent || '').slice(0, 80),
            mime: o.dataset.mimeType || '',
            text: o.textContent}))) """)
    errors, warnings = [], []
    for out in found:
        where = (f"cell {out['cell']} {out['prompt'].strip()} {out['source']!r}:\n"
                 f"{out['text'][-2000:]}")
        if out["mime"] == "application/vnd.jupyter.stderr":
            is_error = "Traceback" in out["text"] or EXCEPTION_LINE.search(out["text"])
            (errors if is_error else warnings).append(where)
        elif "Error displaying widget" in out["text"]:
            errors.append(where)
    return errors, warnings


def mark_first_explorer(page) -> None:
    """Mark the output holding the first explorer with ``data-test-explorer``.

    An explorer is an ipywidgets VBox of controls over plotly FigureWidgets, displayed as one
    cell output: the first ``.widget-slider`` (ipywidgets 8; the knob is noUiSlider's
    ``.noUi-handle``) whose ``.jp-OutputArea-output`` also holds a ``.js-plotly-plot`` (the div
    plotly.js draws into).
    """
    found = page.evaluate("""() => {
        for (const s of document.querySelectorAll('.jp-NotebookPanel .widget-slider')) {
            const out = s.closest('.jp-OutputArea-output');
            if (out && out.querySelector('.js-plotly-plot')) {
                out.setAttribute('data-test-explorer', '');
                return true;
            }
        }
        return false; }""")
    assert found, "no explorer (an output with a .widget-slider and a .js-plotly-plot) found"


PLOT_DATA = plot_data("[data-test-explorer]")
"""JS: the x/y arrays of the explorer's charts, one JSON string per chart."""


def move_first_slider(page) -> str:
    """Press an arrow key on the explorer's first slider; return its description and new value.

    noUiSlider moves one step per arrow key and fires "change", which an ipywidgets slider with
    continuous_update=False sends to the kernel: one explorer update. One press only, so that
    once the plots changed, the next idle kernel status means the update (plots, then the summary
    table) has fully arrived.
    """
    slider = page.locator("[data-test-explorer] .widget-slider").first
    handle = slider.locator(".noUi-handle").first
    slider.scroll_into_view_if_needed()
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    label = slider.locator(".widget-label").first.text_content()
    return f"{label!r} now {slider.locator('.widget-readout').first.text_content()}"


def screenshot_explorer(page, path: Path) -> None:
    """Save a picture of the whole explorer, its plots two by two where they fit.

    The notebook scrolls inside its own panel, so a part of the explorer below the viewport would
    come out grey: the left sidebar is collapsed (by clicking its open tab) and the viewport made
    wide and tall enough for the whole output. JupyterLab's toasts (it asks whether to fetch
    Jupyter news) are hidden so that none covers the plots.
    """
    page.add_style_tag(content=".Toastify { display: none !important; }")
    open_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if open_tab.count():
        open_tab.click()
    explorer = page.locator("[data-test-explorer]")
    page.set_viewport_size({"width": 1700, "height": 1000})
    box = explorer.bounding_box()
    page.set_viewport_size({"width": 1700, "height": min(4000, int(box["height"]) + 200)})
    explorer.scroll_into_view_if_needed()
    # Let plotly and Lumino redraw at the new size (both draw on animation frames).
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    SHOTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=path)


def shut_down_kernel(base: str, token: str, name: str) -> None:
    """Shut down the notebook's kernel through the server's REST API (8 idle kernels add up)."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}") as answer:
        sessions = json.load(answer)
    for session in sessions:
        if session["path"] == name and session.get("kernel"):
            url = f"{base}/api/kernels/{session['kernel']['id']}?token={token}"
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_explorer_responds(name, lab, page):
    """Run All without errors, then the first explorer's plots follow its first slider."""
    base, token = lab
    try:
        began = time.monotonic()
        open_notebook(page, base, token, name)
        run_all(page)
        ran = time.monotonic() - began

        errors, warnings = cell_errors(page)
        if warnings:
            print(f"{name}: stderr output (not errors):\n" + "\n".join(warnings))
        assert not errors, f"{name}: error outputs after Run All:\n" + "\n\n".join(errors)
        prompts = page.evaluate(PROMPTS)
        numbered = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts)
        expected = code_cells_with_source(name)
        assert numbered == expected, f"{name}: {numbered} of {expected} code cells ran: {prompts}"

        mark_first_explorer(page)
        # JupyterLab 4 renders only the cells near the viewport, and plotly draws a chart once
        # its div is attached: bring the explorer into view and give its charts time to draw.
        page.locator("[data-test-explorer]").scroll_into_view_if_needed()
        try:
            page.wait_for_function(f"() => ({PLOT_DATA})().some(c => JSON.parse(c).length)",
                                   timeout=SLIDER_TIMEOUT * 1000, polling=250)
        except PlaywrightTimeout:
            pytest.fail(f"{name}: the explorer's plots have no traces {SLIDER_TIMEOUT} s after "
                        "it came into view")
        before = page.evaluate(PLOT_DATA)
        moved = time.monotonic()
        slider = move_first_slider(page)
        try:
            page.wait_for_function(f"before => ({PLOT_DATA})().some((c, i) => c !== before[i])",
                                   arg=before,
                                   timeout=SLIDER_TIMEOUT * 1000, polling=250)
        except PlaywrightTimeout:
            pytest.fail(f"{name}: the explorer's plots did not change within {SLIDER_TIMEOUT} s "
                        f"of moving slider {slider} (an exception in the widget callback would "
                        "show in JupyterLab's log console)")
        wait_kernel_idle(page, timeout=SLIDER_TIMEOUT)
        responded = time.monotonic() - moved

        shot = SHOTS / f"{name.removesuffix('.ipynb')}.png"
        screenshot_explorer(page, shot)
        assert not page.console_errors, f"{name}: browser console errors:\n" + "\n".join(
            f"{text} ({url})" for text, url in page.console_errors)
        print(f"{name}: Run All {ran:.1f} s; slider {slider}: plots changed in {responded:.1f} s")
        if name.startswith("00_") and os.environ.get("UPDATE_SCREENSHOT"):
            shutil.copyfile(shot, ROOT / "docs" / "explorer_00.png")
    finally:
        shut_down_kernel(base, token, name)
