"""Projector helpers for `make app`: each page shows one explorer with ``big(module.panel())``.

:func:`big` changes two things and nothing else (the explorer's controls, runs and data are the
notebooks' own):

- **Size.** Taller charts and larger text, for the back of a room.
- **Start-up.** A plotly ``FigureWidget`` is an anywidget whose browser code (``_esm``) is all of
  plotly.js, 5 MB, and the browser evaluates it once per chart. anywidget gives each chart 2 s
  to get ready and, if it is late, drops every later update from the kernel for good (anywidget
  0.11, ``Runtime`` in ``runtime.ts``): the chart is drawn but stays still when a slider moves.
  A page's charts all start at once, so on a slow or busy machine the third one is often late.
  :func:`big` gives each chart a small module that evaluates plotly.js once per page and shares
  it, so every chart is ready when the first one is.
"""

from __future__ import annotations

import json
from functools import cache

import plotly

from simlib.widgets import Explorer

HEIGHT = 440
"""Pixels per chart at least (the notebooks use 320 to 420)."""
FONT = 16
"""Chart font size in pixels (plotly's default is 12)."""
SHARED = "const key = Symbol.for("
"""How the module of :func:`shared` begins."""


def big(explorer: Explorer, height: int = HEIGHT, font: int = FONT) -> Explorer:
    """Enlarge ``explorer``'s charts for a projector, make them share one copy of plotly.js in
    the browser, and return the explorer (to be displayed)."""
    for figure in explorer.figures:
        figure.update_layout(height=max(height, figure.layout.height or 0),
                             font={"size": font})
        # A FigureWidget hands layout changes made before it is shown to the browser only in
        # _repr_mimebundle_, which runs when it is displayed on its own; inside the explorer's
        # VBox it never runs, and the browser would draw the old layout. Run it here.
        figure._repr_mimebundle_()
        if not figure._esm.startswith(SHARED):  # not twice: the module would await itself
            figure._esm = shared(figure._esm)
    return explorer


@cache
def shared(esm: str) -> str:
    """An anywidget module that evaluates ``esm`` (plotly's widget code) the first time any chart
    on the page loads it and hands every chart that one module."""
    key = json.dumps(f"resilient-agents-lab/plotly-{plotly.__version__}")
    return (f"{SHARED}{key});\n"
            "globalThis[key] ??= import(URL.createObjectURL(new Blob(\n"
            f"  [{json.dumps(esm)}], {{type: 'text/javascript'}})));\n"
            "export default (await globalThis[key]).default;\n")
