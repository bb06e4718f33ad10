"""The website (`make site`) in headless Chromium: every page loads, every chart shows.

The ``site`` fixture builds the site once, as `make site` does, into a temporary folder and
serves it with Python's http.server on 127.0.0.1. Then:

- ``test_page_loads`` opens each page and fails on an HTTP error for the page or anything it
  loads (a script, a font, an image), a request that fails outright (the site must load nothing
  from another host: there is no CDN here), a console error, an ``<img>`` that did not load
  (``naturalWidth == 0``, after making lazy images load) and a link to the same host that answers
  404;
- ``test_charts_show`` holds each notebook page against its notebook file: every output that is
  a chart in the notebook (a plotly figure, or an explorer's ipywidgets view) must show on the
  page as a loaded image or as a plotly chart that plotly.js drew (a ``.main-svg`` with a size).
  An explorer whose output has no PNG shows nothing on a static page (its widget view needs a
  kernel) and fails here; once the notebooks are re-executed with images on, every explorer and
  figure output carries an ``image/png`` and the site shows it;
- ``test_screenshot`` saves notebook 00's page at its first chart to
  ``tests/browser/screenshots/site_00_start_here.png`` and, with ``UPDATE_SCREENSHOT=1``, to
  ``docs/site_page.png``, the README's picture of the site.

myst-nb's HTML that this relies on: a code cell is a ``div.cell`` (one per code cell of the
notebook, in order; markdown cells are not), its outputs are in ``div.cell_output``; a widget
view without a PNG is left as ``<script type="application/vnd.jupyter.widget-view+json">``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from conftest import NOTEBOOKS, ROOT, SHOTS, free_port, serve, stop

PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"
NOTEBOOK_PAGES = [f"notebooks/{p.stem}.html" for p in sorted(NOTEBOOKS.glob("*.ipynb"))]
DOC_PAGES = [f"docs/{p.stem}.html" for p in sorted((ROOT / "docs").glob("*.md"))]
#: Every page of the site: index.html only sends the browser on to site/index.html.
PAGES = ["index.html", "site/index.html", "README.html", *DOC_PAGES, *NOTEBOOK_PAGES,
         "genindex.html", "search.html"]
SCREENSHOT_PAGE = "notebooks/00_start_here.html"
#: Milliseconds to wait for plotly.js to draw, or for images to load.
DRAW_TIMEOUT = 20_000
#: Status of each same-host link already asked for (many pages share links).
LINK_STATUS: dict[str, int] = {}

#: JS: make lazy images load, wait (at most DRAW_TIMEOUT) until every image has loaded or
#: failed, and return the src of each that did not load.
BROKEN_IMAGES = f"""async () => {{
    const images = [...document.images];
    images.forEach(i => {{ i.loading = 'eager'; }});
    const settled = images.map(i => i.complete ? null : new Promise(r => {{
        i.addEventListener('load', r); i.addEventListener('error', r); }}));
    await Promise.race([Promise.all(settled),
                        new Promise(r => setTimeout(r, {DRAW_TIMEOUT}))]);
    return images.filter(i => !i.complete || i.naturalWidth === 0)
                 .map(i => i.getAttribute('src'));
}}"""

#: JS: for each code cell (div.cell) in order, what its outputs show: images that loaded, plotly
#: charts that plotly.js drew, and widget views left undrawn.
CELL_CHARTS = """() => [...document.querySelectorAll('div.cell')].map(cell => {
    const outputs = [...cell.querySelectorAll('.cell_output')];
    const all = selector => outputs.flatMap(o => [...o.querySelectorAll(selector)]);
    const drawn = gd => [...gd.querySelectorAll('svg.main-svg')]
        .some(svg => svg.getBoundingClientRect().width > 0);
    return {
        images: all('img').filter(i => i.complete && i.naturalWidth > 0).length,
        plotly: all('.plotly-graph-div').filter(drawn).length,
        widgets: all('script[type="application/vnd.jupyter.widget-view+json"]').length,
    };
})"""


def build_site(out: Path) -> None:
    """Build the site into ``out`` exactly as `make site` does (warnings are errors)."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-c", "site", ".", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stderr[-5000:]}"


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site, built once for the session."""
    out = tmp_path_factory.mktemp("site") / "html"
    build_site(out)
    return out


@pytest.fixture(scope="session")
def site(built_site, tmp_path_factory) -> Iterator[str]:
    """The built site over http.server on 127.0.0.1: yields its base url."""
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / "site-http.log"
    args = ["-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
            str(built_site)]
    base = f"http://127.0.0.1:{port}"
    process = serve(args, f"{base}/index.html", log, built_site)
    yield base
    stop(process)


def chart_kinds(notebook: Path) -> list[list[str]]:
    """For each code cell of the notebook file, in order, the kind of each chart output."""
    cells = json.loads(notebook.read_text())["cells"]
    kinds = []
    for cell in (c for c in cells if c["cell_type"] == "code"):
        data = [o.get("data", {}) for o in cell.get("outputs", [])]
        kinds.append(["plotly figure" if PLOTLY in d else "explorer (widget view)"
                      for d in data if PLOTLY in d or WIDGET in d])
    return kinds


def open_page(page, base: str, path: str) -> list[str]:
    """Open ``base/path``, wait until the network is quiet; return the problems with the
    page's own requests: answers of 400 or more and requests that failed outright."""
    problems: list[str] = []
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status} {r.url}"))
    # A request the browser cancelled (ERR_ABORTED: index.html's redirect leaves before its
    # icon arrives) is no failure; one to a host that is not there (a CDN) is.
    page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
            and problems.append(f"failed {r.url}: {r.failure}"))
    response = page.goto(f"{base}/{path}", wait_until="load")
    if path == "index.html":
        page.wait_for_url(f"{base}/site/index.html")
    elif response is None or not response.ok:
        problems.append(f"HTTP {response.status if response else 'no answer'} for the page")
    page.wait_for_load_state("networkidle")
    return problems


def link_status(url: str) -> int:
    """The HTTP status of a same-host link (asked once per url)."""
    if url not in LINK_STATUS:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                LINK_STATUS[url] = answer.status
        except urllib.error.HTTPError as err:
            LINK_STATUS[url] = err.code
    return LINK_STATUS[url]


def broken_links(page, base: str) -> list[str]:
    """The page's links to the same host (fragments dropped) that answer 404."""
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    host = urlsplit(base).netloc
    same_host = {urldefrag(h).url for h in hrefs if urlsplit(h).netloc == host}
    return sorted(url for url in same_host if link_status(url) == 404)


def test_every_page_is_visited(built_site):
    """PAGES lists every page of the built site (template fragments in _static aside)."""
    pages = {p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html")
             if not p.relative_to(built_site).parts[0].startswith("_")}
    assert pages == set(PAGES), (f"not in PAGES: {sorted(pages - set(PAGES))}; "
                                 f"not built: {sorted(set(PAGES) - pages)}")


@pytest.mark.parametrize("path", PAGES)
def test_page_loads(path, site, page):
    """No HTTP error, failed request, console error, broken image or 404 link."""
    problems = open_page(page, site, path)
    problems += [f"image did not load: {src}" for src in page.evaluate(BROKEN_IMAGES)]
    problems += [f"link answers 404: {url}" for url in broken_links(page, site)]
    problems += [f"console: {text} ({where})" for text, where in page.console_errors]
    assert not problems, f"{path}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOK_PAGES)
def test_charts_show(path, site, page):
    """Every chart output of the notebook shows as a loaded image or a drawn plotly chart."""
    kinds = chart_kinds(NOTEBOOKS / f"{Path(path).stem}.ipynb")
    open_page(page, site, path)
    page.evaluate(BROKEN_IMAGES)  # load the lazy images
    page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                           ".every(gd => gd.querySelector('svg.main-svg'))",
                           timeout=DRAW_TIMEOUT)
    shown = page.evaluate(CELL_CHARTS)
    assert len(shown) == len(kinds), (
        f"{path}: {len(shown)} code cells on the page, {len(kinds)} in the notebook")
    missing = [f"code cell {i + 1}: {', '.join(want)}; shows {s['images']} image(s), "
               f"{s['plotly']} drawn plotly chart(s), {s['widgets']} undrawn widget view(s)"
               for i, (want, s) in enumerate(zip(kinds, shown, strict=True))
               if want and s["images"] + s["plotly"] < len(want)]
    assert not missing, (
        f"{path}: chart outputs that show neither an image nor a drawn chart (an explorer "
        "needs the image/png that re-executing the notebooks with images on stores):\n"
        + "\n".join(missing))


def test_screenshot(site, page):
    """Notebook 00's page at its first chart: the README's picture of the site."""
    open_page(page, site, SCREENSHOT_PAGE)
    page.evaluate(BROKEN_IMAGES)
    chart = page.locator(".cell_output img, .cell_output .plotly-graph-div").first
    chart.wait_for(timeout=DRAW_TIMEOUT)
    page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                           ".every(gd => gd.querySelector('svg.main-svg'))",
                           timeout=DRAW_TIMEOUT)
    # The chart's cell near the top, its code above it, under the theme's sticky header.
    page.evaluate("el => window.scrollTo(0, el.closest('div.cell').getBoundingClientRect().top"
                  " + window.scrollY - 120)", chart.element_handle())
    page.wait_for_timeout(300)  # the right-hand contents highlight the section on scroll
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "site_00_start_here.png"
    page.screenshot(path=shot)
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / "docs" / "site_page.png")
