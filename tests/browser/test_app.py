"""`make app` in a real browser: Voila serves app/ (one page per explorer) and every page shows
its explorer without code, with plotly FigureWidgets that hold data and redraw when a slider moves.

The server is started with the very options of the Makefile's ``app`` recipe (read from the
Makefile), plus ``--no-browser`` and a free port. Each page runs in its own Voila kernel, as it
would on the presenter's machine; the page is viewed at 1920x1080, a projector's resolution.
"""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import ipywidgets as w
import plotly
import pytest
from conftest import ROOT, SHOTS, free_port, plot_data, serve, stop
from plotly.utils import PlotlyJSONEncoder

from simlib.widgets import Explorer

APP = ROOT / "app"
PAGES = sorted(APP.glob("*.ipynb"))
PROJECTOR = {"width": 1920, "height": 1080}

#: The only console errors allowed, each a resource that fails on this machine and that the
#: explorers do not need. Voila's templates link Font Awesome from cdn.jsdelivr.net (the tree
#: page version 4.5, the notebook page version 5); the explorers use no icons, and this closed
#: network (like a classroom without internet) cannot resolve the CDN. The classic tree page has
#: no icon link, so Chromium asks for /favicon.ico, which Voila answers 404.
BENIGN = (
    ("Failed to load resource: net::ERR_NAME_NOT_RESOLVED",
     re.compile(r"https://cdn\.jsdelivr\.net/npm/(@fortawesome/fontawesome-free@|font-awesome@)")),
    ("Failed to load resource: the server responded with a status of 404 (Not Found)",
     re.compile(r"http://127\.0\.0\.1:\d+/favicon\.ico$")),
)

#: The plotted numbers of every chart on the page, in page order.
PLOT_DATA = plot_data()

#: True once every chart numbered in ``redrawn`` plots other numbers than in ``before``.
REDRAWN = "([before, redrawn]) => { const now = (" + PLOT_DATA + """)();
    return redrawn.every(i => now[i] !== before[i]); }"""

#: True once the page shows ``n`` charts, each drawn by plotly with at least one point.
CHARTS_DRAWN = """n => {
    const graphs = document.querySelectorAll('.js-plotly-plot');
    return graphs.length === n && Array.from(graphs).every(g => g._fullLayout && g.data &&
        g.data.some(t => (t.x && t.x.length) || (t.y && t.y.length)));
}"""


def make_app_options() -> list[str]:
    """The options `make app` passes to voila, read from the Makefile's ``app`` recipe."""
    recipe = re.search(r"^app: .*\n\t\$\(BIN\)/voila (.+) \$\(APP\)$",
                       (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has no `app:` recipe of the form `$(BIN)/voila ... $(APP)`"
    return recipe.group(1).split()


def expected(page: Path) -> dict:
    """What ``page`` must show, from running its code here: its explorer's charts, sliders and
    table, which slider the test moves (the first one below its maximum) and which charts that
    one step redraws."""
    shown, namespace = [], {}
    for cell in json.loads(page.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(page), "exec"), namespace)
        if last is not None:
            shown.append(eval(compile(ast.Expression(last.value), str(page), "eval"), namespace))
    explorers = [x for x in shown if isinstance(x, Explorer)]
    assert len(explorers) == 1, f"{page.name} should show one explorer, shows {len(explorers)}"
    explorer = explorers[0]
    sliders = [c for c in explorer.controls.values() if isinstance(c, w.FloatSlider | w.IntSlider)]
    moved = next(i for i, c in enumerate(sliders) if c.value < c.max)
    before = [plotted(f) for f in explorer.figures]
    slider = sliders[moved]
    slider.value = min(round(slider.value + slider.step, 9), slider.max)  # one ArrowRight
    redrawn = [i for i, f in enumerate(explorer.figures) if plotted(f) != before[i]]
    return {"charts": len(explorer.figures), "sliders": len(sliders), "moved": moved,
            "redrawn": redrawn}


def plotted(figure) -> str:
    """A figure's traces as JSON (to tell whether an update changed them)."""
    return json.dumps(figure.to_plotly_json()["data"], cls=PlotlyJSONEncoder, sort_keys=True)


def value(handle) -> float:
    """A slider handle's value (noUiSlider keeps it in ``aria-valuenow``)."""
    return float(handle.get_attribute("aria-valuenow"))


def maximum(handle) -> float:
    """A slider handle's maximum."""
    return float(handle.get_attribute("aria-valuemax"))


def unexplained(errors: list[tuple[str, str]]) -> list[str]:
    """Console errors (text, source url: the ``page`` fixture's ``page.console_errors``) except
    the :data:`BENIGN` ones."""
    return [f"{text} ({url})" for text, url in errors
            if not any(text == t and pattern.match(url) for t, pattern in BENIGN)]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The `make app` server over app/ (same options, no browser, a free port): its base url."""
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / "voila.log"
    args = ["-m", "voila", *make_app_options(), "--no-browser", f"--port={port}", "app"]
    process = serve(args, f"http://127.0.0.1:{port}/", log, ROOT)
    yield f"http://127.0.0.1:{port}"
    stop(process)


def test_make_app_serves_localhost_without_code():
    options = make_app_options()
    assert "--Voila.ip=127.0.0.1" in options
    assert not any(o.startswith("--strip_sources") for o in options)  # Voila's default: strip


def test_page_list(dashboard, page):
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{dashboard}/")
    links = page.locator("a[href*='/voila/render/']")
    links.first.wait_for(timeout=60_000)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert [h.split("/voila/render/")[1].split("?")[0] for h in hrefs] == [p.name for p in PAGES]
    page.wait_for_timeout(1000)
    assert not unexplained(page.console_errors), unexplained(page.console_errors)


@pytest.mark.parametrize("notebook", PAGES, ids=[p.stem for p in PAGES])
def test_page(dashboard, page, notebook, monkeypatch):
    monkeypatch.syspath_prepend(str(APP))
    want = expected(notebook)
    assert want["redrawn"], f"moving slider {want['moved']} redraws no chart, even in Python"

    page.set_viewport_size(PROJECTOR)
    began = time.monotonic()
    page.goto(f"{dashboard}/voila/render/{notebook.name}", timeout=180_000)
    page.wait_for_function(CHARTS_DRAWN, arg=want["charts"], timeout=120_000)
    loaded = time.monotonic() - began

    # The whole explorer is there: its charts (checked above), its sliders and its table.
    handles = page.locator(".noUi-handle").all()
    assert len(handles) == want["sliders"]
    assert page.locator(".widget-html table").count() == 1
    # No code: no input areas of code cells, no prompts, no editor, no source text.
    assert page.locator(".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .cm-editor").count() == 0
    text = page.inner_text("body")
    assert "import " not in text and "big(" not in text
    # No error output (Voila renders tracebacks and stderr as stderr outputs).
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert "Traceback" not in text and "There was an error" not in text
    # The projector layout of app/projector.py reached the browser.
    sizes = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                          ".map(g => [g._fullLayout.height, g._fullLayout.font.size])")
    assert all(h >= 440 and f == 16 for h, f in sizes), sizes
    # ... and its charts share one plotly module.
    assert page.evaluate("key => globalThis[Symbol.for(key)] instanceof Promise",
                         f"resilient-agents-lab/plotly-{plotly.__version__}")

    # Move the first slider below its maximum one step right, as Python did in expected():
    # every chart Python redrew must be redrawn in the browser. (A chart whose anywidget model
    # missed its 2 s start-up deadline is drawn but never redrawn: see
    # simlib.widgets.share_plotly. Its "[anywidget] Failed to initialize model." page error is
    # not among the BENIGN ones.)
    handle = next(h for h in handles if value(h) < maximum(h))
    assert handles.index(handle) == want["moved"]
    position = "h => h.parentElement.style.transform"  # noUiSlider moves the handle's parent
    old, before = handle.evaluate(position), page.evaluate(PLOT_DATA)
    handle.focus()
    page.keyboard.press("ArrowRight")
    began = time.monotonic()
    page.wait_for_function(REDRAWN, arg=[before, want["redrawn"]], timeout=60_000)
    redrawn = time.monotonic() - began
    assert handle.evaluate(position) != old

    SHOTS.mkdir(parents=True, exist_ok=True)
    name = "app.png" if notebook.stem.startswith("00") else f"app_{notebook.stem}.png"
    page.screenshot(path=str(SHOTS / name))
    print(f"{notebook.name}: drawn in {loaded:.1f} s, {len(want['redrawn'])} of "
          f"{want['charts']} charts redrawn {redrawn:.1f} s after a slider move")
    assert not unexplained(page.console_errors), unexplained(page.console_errors)
