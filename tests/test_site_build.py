"""The website (`make site`) builds without a warning, and its pages link only to files it has.

The build is the Makefile's: ``sphinx-build -W --keep-going -c site . OUT`` (Sphinx with
myst-nb, site/conf.py), so a broken cross-reference, a link to a missing page or heading, an
image that is not there or a notebook output that cannot be shown fails ``make test``. It reads
the stored outputs and runs no kernel: about 15 s. The checks in a real browser (every page
loads, every chart shows) are tests/browser/test_site.py.

conf.py's rewriting of the notebooks' chart outputs is tested here on small made-up outputs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLOTLY = "application/vnd.plotly.v1+json"
FIGURE = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {}}


def load_conf():
    """site/conf.py as a module (it is not a package)."""
    spec = importlib.util.spec_from_file_location("site_conf", ROOT / "site" / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The site built once, as `make site` builds it, into a temporary folder."""
    out = tmp_path_factory.mktemp("site") / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-c", "site", ".", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stderr[-5000:]}"
    return out


class Links(HTMLParser):
    """The href and src attributes of a page's tags."""

    def __init__(self):
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.targets += [value for name, value in attrs if name in ("href", "src") and value]


def local_targets(page: Path) -> list[str]:
    """The page's links and sources that point into the site (no scheme, host or bare #)."""
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return [t for t in parser.targets if not urlsplit(t).scheme and not t.startswith(("#", "//"))]


def test_site_builds_without_warnings(built):
    pages = {p.relative_to(built).as_posix() for p in built.rglob("*.html")}
    notebooks = {f"notebooks/{p.stem}.html" for p in (ROOT / "notebooks").glob("*.ipynb")}
    expected = {"index.html", "site/index.html", "README.html", "docs/scorecard.html",
                "docs/instructor_guide.html"} | notebooks
    assert expected <= pages, f"pages missing from the site: {sorted(expected - pages)}"
    assert (built / "_static" / "plotly.min.js").is_file()


def test_every_local_link_and_source_exists(built):
    missing = []
    for page in built.rglob("*.html"):
        if page.relative_to(built).parts[0].startswith("_"):
            continue  # _static's template fragments, not pages
        for target in local_targets(page):
            path = unquote(urlsplit(target).path)
            if path and not (page.parent / path).exists():
                missing.append(f"{page.relative_to(built)}: {target}")
    assert not missing, "links to files the site does not have:\n" + "\n".join(missing)


def test_plotly_output_with_a_png_shows_the_png():
    conf = load_conf()
    output = {"output_type": "display_data", "data": {PLOTLY: FIGURE, "image/png": "iVBOR"}}
    notebook = conf.chart_outputs({"cells": [{"outputs": [output]}]}, "nb")
    assert notebook["cells"][0]["outputs"][0]["data"] == {"image/png": "iVBOR"}


def test_plotly_output_without_a_png_becomes_an_interactive_chart():
    conf = load_conf()
    output = {"output_type": "display_data", "data": {PLOTLY: FIGURE}}
    data = conf.chart_outputs({"cells": [{"outputs": [output]}]}, "nb")["cells"][0]["outputs"][0]
    html = data["data"]["text/html"]
    assert list(data["data"]) == ["text/html"]
    assert 'id="plotly-nb-0-0"' in html and "Plotly.newPlot" in html
    assert "<script src" not in html  # plotly.js comes from _static, not embedded or a CDN


def test_verdict_data_is_dropped_and_its_table_kept():
    conf = load_conf()
    output = {"output_type": "execute_result",
              "data": {"application/vnd.simlib.verdict+json": [{}], "text/html": "<table>",
                       "text/plain": "claim"}}
    data = conf.chart_outputs({"cells": [{"outputs": [output]}]}, "nb")["cells"][0]["outputs"][0]
    assert set(data["data"]) == {"text/html", "text/plain"}


def test_png_comes_before_every_other_output_type():
    """An explorer with a PNG shows the PNG, not its (undrawable) widget view or its text."""
    conf = load_conf()
    priorities = {mime: rank for builder, mime, rank in conf.nb_mime_priority_overrides
                  if builder == "html"}
    widget = "application/vnd.jupyter.widget-view+json"
    assert priorities["image/png"] < priorities[widget] < 100  # text/plain is 100 in myst-nb


def test_prices_are_text_and_formulas_are_math():
    """conf.py's dollar-math settings: "$0.20" is a price, "$\\rho$" a formula."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    conf = load_conf()
    config = MdParserConfig(enable_extensions=set(conf.myst_enable_extensions),
                            dmath_allow_space=conf.myst_dmath_allow_space,
                            dmath_allow_digits=conf.myst_dmath_allow_digits)
    html = create_md_parser(config, RendererHTML).render(
        "a worker ($0.20) plus a tool ($0.05); $0.70/h vs microservices $1.90/h; "
        "cost per ok of $0.00191 against $0.00164; $\\rho = 0.9$ where $c_a$ and $c_s$")
    assert html.count('class="math inline"') == 3
    assert "($0.20) plus a tool ($0.05)" in html and "$0.70/h vs microservices $1.90/h" in html
