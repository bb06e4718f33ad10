"""Static images: a PNG of every chart, stored in the notebook beside the live chart.

A notebook stores each output as a *bundle*, the same thing in several formats (mimetypes), and
whoever opens the notebook shows the richest format it can draw, like a letter sent both as
HTML and as plain text. JupyterLab draws a plotly figure (``application/vnd.plotly.v1+json``)
and a live explorer (``application/vnd.jupyter.widget-view+json``); GitHub, nbviewer and a
static site cannot, since they run no JavaScript of plotly's and no kernel. So each figure and
each explorer also puts an ``image/png`` of its charts in its bundle: JupyterLab still prefers
the live chart, and the others show the picture.

Pictures are drawn by plotly.js itself, in a headless Chromium that kaleido drives: :func:`png`
is one figure's picture, :func:`stacked` several figures one under another (an explorer's
charts, with a caption naming its controls). Chromium takes about 3 s to start and then about
0.3 s a picture, so it starts once, on the first picture, and stays up until Python exits.

That is a cost nobody should pay by accident, so pictures are made only when the environment
says so: ``SIMLIB_STATIC_IMAGES=1`` (``make notebooks`` sets it). Otherwise :func:`wanted` is
false, no bundle gets a picture and no browser starts: a learner's kernel and CI pay nothing.
Two hooks add the pictures, and both live here:

* plain figures: importing this module registers the plotly renderer :data:`RENDERER`, and with
  the switch on adds it to plotly's default renderers, so ``fig.show()`` displays the figure's
  JSON *and* its PNG in one bundle;
* explorers: :meth:`simlib.widgets.Explorer._repr_mimebundle_` adds :func:`bundle` of its charts
  to the widget's own bundle.
"""

from __future__ import annotations

import base64
import html
import os
import struct
import textwrap
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

SWITCH = "SIMLIB_STATIC_IMAGES"
"""The environment variable that turns pictures on (value ``1``)."""

RENDERER = "simlib_png"
"""The name of the plotly renderer that adds a figure's PNG to its bundle."""

WIDTH = 800
"""Width of every picture in pixels; a figure's height is its layout's (plotly's 500 if unset)."""

CAPTION_LINE = 18
"""Pixels per line of an explorer picture's caption."""


def wanted() -> bool:
    """Whether pictures are asked for: ``SIMLIB_STATIC_IMAGES=1`` in the environment."""
    return os.environ.get(SWITCH, "") == "1"


def browser() -> str | None:
    """The path of the Chromium-like browser kaleido would use (``BROWSER_PATH`` first, then the
    usual names on ``PATH``), or None if there is none."""
    from choreographer.browsers.chromium import Chromium
    return Chromium.find_browser(skip_local=False)


def _start() -> None:
    """Start kaleido's long-lived browser once; later pictures reuse it (kaleido stops it when
    Python exits)."""
    import kaleido
    if not browser():
        raise RuntimeError(f"{SWITCH}=1 needs Chrome or Chromium to draw pictures: install one "
                           "(apt-get install chromium) or set BROWSER_PATH to it")
    # MathJax would be fetched from a CDN; the lab's charts use no LaTeX.
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)


def png(figure: go.Figure | dict, width: int = WIDTH) -> bytes:
    """The PNG picture of a plotly figure (or figure dict), ``width`` pixels wide."""
    import kaleido
    _start()
    return kaleido.calc_fig_sync(figure, opts={"format": "png", "width": width})


def size(picture: bytes) -> tuple[int, int]:
    """A PNG's (width, height) in pixels, read from its header."""
    if not picture.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG")
    return struct.unpack(">II", picture[16:24])


def stacked(figures: Sequence[go.Figure], caption: str = "") -> bytes:
    """One PNG of ``figures`` one under another, under a ``caption`` (plain text, wrapped).

    plotly composes it: each figure's picture becomes a layout image of an otherwise empty
    figure, placed by its share of the total height, and that figure is drawn once more."""
    pictures = [png(figure) for figure in figures]
    lines = textwrap.wrap(caption, 110)
    top = CAPTION_LINE * len(lines) + (10 if lines else 0)
    height = top + sum(size(p)[1] for p in pictures)
    sheet = go.Figure(layout={"width": WIDTH, "height": height, "margin": dict.fromkeys("lrtb", 0),
                              "xaxis": {"visible": False}, "yaxis": {"visible": False},
                              "paper_bgcolor": "white", "plot_bgcolor": "white"})
    if lines:
        sheet.add_annotation(text="<br>".join(html.escape(line) for line in lines),
                             x=0.01, y=1 - 5 / height, xref="paper", yref="paper",
                             xanchor="left", yanchor="top", align="left", showarrow=False,
                             font={"size": 13, "color": "#444"})
    for picture in pictures:
        wide, high = size(picture)
        sheet.add_layout_image(source="data:image/png;base64," + _b64(picture),
                               xref="paper", yref="paper", x=0, y=1 - top / height,
                               sizex=wide / WIDTH, sizey=high / height, xanchor="left",
                               yanchor="top", sizing="stretch", layer="above")
        top += high
    return png(sheet)


def bundle(figures: Sequence[go.Figure], caption: str = "") -> dict[str, str]:
    """``{"image/png": ...}`` (base64, as a notebook stores it) of ``figures`` stacked under
    ``caption``, to add to a display bundle; ``{}`` unless pictures are :func:`wanted`."""
    if not wanted() or not figures:
        return {}
    return {"image/png": _b64(stacked(figures, caption))}


def _b64(picture: bytes) -> str:
    return base64.b64encode(picture).decode("ascii")


class PngRenderer(MimetypeRenderer):
    """A plotly renderer whose bundle is the figure's PNG (base64). Combined with plotly's own
    (``"plotly_mimetype+simlib_png"``), ``fig.show()`` displays one bundle with both."""

    def to_mimebundle(self, fig_dict: dict) -> dict[str, str]:
        return {"image/png": _b64(png(fig_dict))}


def install() -> None:
    """Register :data:`RENDERER` with plotly and, if pictures are :func:`wanted`, add it to the
    default renderers. Runs when this module is imported; running it again changes nothing."""
    pio.renderers[RENDERER] = PngRenderer()
    names = [name for name in (pio.renderers.default or "").split("+") if name]
    if wanted() and RENDERER not in names:
        pio.renderers.default = "+".join([*names, RENDERER])


install()
