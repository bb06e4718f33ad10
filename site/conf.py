"""Sphinx configuration of the lab's website: ``make site`` builds it into site/_build/html.

The build reads the repository's own files in place: the source folder is the repository root
and this folder holds only the configuration and the home page (``sphinx-build -c site .
site/_build/html``). ``include_patterns`` picks the pages: README.md, docs/*.md, the notebooks
and site/index.md, so every relative link between them (``docs/scorecard.md``,
``../notebooks/01_stateless_vs_stateful.ipynb``) resolves in the site as it does on disk.
The notebooks are not executed: myst-nb shows their stored outputs, so a build needs no kernel.

Charts. A notebook stores each plotly figure as ``application/vnd.plotly.v1+json`` and each
explorer as an ipywidgets view; once re-executed with images on, both also carry an
``image/png`` of their default state. The site shows the PNG wherever there is one. A plotly
figure without one is drawn interactively by the plotly.js bundled in the installed plotly
package, copied into ``_static`` (the site loads nothing from a CDN; MathJax too comes from a
package, sphinx-mathjax-offline). An explorer without a PNG cannot be drawn on a static page:
it is left as myst-nb's empty widget view, which tests/browser/test_site.py reports.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import plotly.io

PLOTLY = "application/vnd.plotly.v1+json"
#: Machine-readable twins of an output that has a readable one: a verdict table's rows for
#: tools/scorecard.py (its text/html shows).
DATA_ONLY = ("application/vnd.simlib.verdict+json",)
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
#: The home page, at site/index.html; the site's index.html sends the browser there.
HOME = "site/index"

project = "Resilient Agents Lab"
author = "the Resilient Agents Lab contributors"
copyright = "the Resilient Agents Lab contributors (MIT licence)"
root_doc = HOME
include_patterns = [f"{HOME}.md", "README.md", "docs/*.md", "notebooks/*.ipynb"]
# Not walked at all (include_patterns alone would still walk .venv's thousands of files).
exclude_patterns = [".venv", ".git", "site/_build", "student", "build", "**/.ipynb_checkpoints"]
extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {"show_toc_level": 2}
# The theme's light/dark switch starts from "auto" (left empty, its script logs an error).
html_context = {"default_mode": "auto"}
# Without an icon the browser asks for /favicon.ico and logs a 404.
html_favicon = "favicon.svg"

# MyST: "$...$" math as in JupyterLab, and anchors for the headings that README.md and docs/*.md
# link to ("#1-learning-objectives").
myst_enable_extensions = ["dollarmath", "amsmath"]
# Pandoc's rule for inline math, so that prices stay prices: no space just inside a "$", and no
# digit just after a closing one. "a worker ($0.20) plus a tool ($0.05)" is text; "$\rho = 0.9$"
# is math. (JupyterLab and GitHub pair any two dollars.)
myst_dmath_allow_space = False
myst_dmath_allow_digits = False
myst_heading_anchors = 3

# myst-nb: stored outputs only, never a kernel.
nb_execution_mode = "off"
# The PNG first wherever an output has one; an explorer without one falls to its widget view
# (nothing drawn) rather than its text repr ("VBox(children=...)").
nb_mime_priority_overrides = [
    ("html", "image/png", 5),
    ("html", "application/vnd.jupyter.widget-view+json", 60),
]


def plotly_html(figure: dict, div_id: str) -> str:
    """A plotly figure as an HTML fragment drawn by the page's plotly.js (not embedded)."""
    return plotly.io.to_html(figure, include_plotlyjs=False, full_html=False,
                             div_id=div_id, validate=False)


def chart_outputs(notebook: dict, stem: str) -> dict:
    """Replace each plotly output by its PNG when it has one, else by an interactive chart;
    drop the data-only MIME types."""
    for c, cell in enumerate(notebook["cells"]):
        for o, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            for mime in DATA_ONLY:
                data.pop(mime, None)
            if PLOTLY not in data:
                continue
            figure = data.pop(PLOTLY)
            if "image/png" not in data:
                data["text/html"] = plotly_html(figure, f"plotly-{stem}-{c}-{o}")
    return notebook


def on_source_read(app, docname: str, source: list[str]) -> None:
    """Sphinx hook: rewrite a notebook's plotly outputs before myst-nb reads it."""
    if docname.startswith("notebooks/"):
        notebook = chart_outputs(json.loads(source[0]), docname.split("/")[-1])
        source[0] = json.dumps(notebook)


def on_page_context(app, pagename, templatename, context, doctree) -> None:
    """Sphinx hook: load plotly.js on the pages that draw a plotly chart."""
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file("plotly.min.js")


def on_build_finished(app, exception) -> None:
    """Sphinx hook: plotly.js from the plotly package into _static, and a root index.html."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    shutil.copyfile(PLOTLY_JS, out / "_static" / "plotly.min.js")
    (out / "index.html").write_text(
        f'<!DOCTYPE html><meta charset="utf-8"><title>{project}</title>'
        f'<link rel="icon" href="_static/{html_favicon}">'
        f'<meta http-equiv="refresh" content="0; url={HOME}.html">'
        f'<a href="{HOME}.html">{project}</a>\n')


def setup(app):
    """Register the hooks above."""
    app.connect("source-read", on_source_read)
    app.connect("html-page-context", on_page_context)
    app.connect("build-finished", on_build_finished)
