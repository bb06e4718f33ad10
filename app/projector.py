"""Projector helpers for `make app`: each page shows one explorer with ``big(module.panel())``.

:func:`big` makes the charts taller and their text larger, for the back of a room, and changes
nothing else: the explorer's controls, runs and data are the notebooks' own.
"""

from __future__ import annotations

from simlib.widgets import Explorer

HEIGHT = 440
"""Pixels per chart at least (the notebooks use 320 to 420)."""
FONT = 16
"""Chart font size in pixels (plotly's default is 12)."""


def big(explorer: Explorer, height: int = HEIGHT, font: int = FONT) -> Explorer:
    """Enlarge ``explorer``'s charts for a projector and return the explorer (to be displayed)."""
    for figure in explorer.figures:
        figure.update_layout(height=max(height, figure.layout.height or 0),
                             font={"size": font})
        # A FigureWidget hands layout changes made before it is shown to the browser only in
        # _repr_mimebundle_, which runs when it is displayed on its own; inside the explorer's
        # VBox it never runs, and the browser would draw the old layout. Run it here.
        figure._repr_mimebundle_()
    return explorer
