"""Panels: the ready-made explorers of each notebook, one module per notebook.

A notebook shows a panel with one short line (``sl.panels.state.store_panel()``); tests and the
interactivity benchmark build the very same explorer from here and drive its controls. Each
function returns a :class:`simlib.widgets.Explorer` with a default scenario small enough to
redraw well within the lab's budget (p95 under 0.3 s per slider move).

A panel module holds its notebook's explorers, their constants and the figures only that
notebook draws (and the few multi-run experiments the notebook is about). Everything else has a
home in the core: capacity arithmetic in :mod:`simlib.capacity`, intervals and verdict tables in
:mod:`simlib.stats`, workloads and designs in :mod:`simlib.presets`, controls in
:mod:`simlib.widgets`. A panel imports the core, never another panel and never a private name
(``tests/test_panel_imports.py`` checks).
"""

import importlib

NOTEBOOKS = ("queueing", "state", "execution", "deployment", "resilience", "choosing", "growth",
             "replay", "own", "provider", "durable")


def __getattr__(name: str):
    if name in NOTEBOOKS:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'simlib.panels' has no attribute {name!r}")
