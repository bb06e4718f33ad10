"""Helpers shared by the panel tests (tests/test_panels_*.py), which drive an explorer
(:class:`simlib.widgets.Explorer`: ``controls``, ``figures``, ``timings``) the way a learner
would and read the numbers off its charts. tests/conftest.py puts tests/ on ``sys.path``, so a
test module imports them with ``from panels import ...``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: The seeds a panel test averages or sums over: never one seed's luck.
SEEDS = (0, 1, 2)


def move(explorer, label: str, value) -> None:
    """Set a control; a changed value must re-run and redraw (one more timing)."""
    before, changed = len(explorer.timings), explorer.controls[label].value != value
    explorer.controls[label].value = value
    assert len(explorer.timings) == before + changed


def window_mean(trace, start: float = 0.0, end: float = np.inf, how=np.mean) -> float:
    """The mean (or ``how``) of a chart trace's y over its points with ``start <= x < end``
    (all of them by default)."""
    x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
    return float(how(y[(x >= start) & (x < end)]))


def mean_y(figure, trace: int = 0, start: float = 0.0, end: float = np.inf) -> float:
    """:func:`window_mean` of the ``trace``-th trace of ``figure``."""
    return window_mean(figure.data[trace], start, end)


def bars(explorer, figure: int = 0) -> dict[str, dict]:
    """A bar chart of the explorer: per trace (a design, or a kind of turn), bar -> height."""
    return {t.name: dict(zip(t.x, t.y, strict=True)) for t in explorer.figures[figure].data}


def median_latency(explorer, figure: int) -> dict[str, float]:
    """Per trace of a latency chart (latencies on x), the median latency."""
    return {t.name: float(np.median(t.x)) for t in explorer.figures[figure].data}


def per_seed(explorer, read: Callable, seeds: Sequence[int] = SEEDS) -> list:
    """``read(explorer)`` with the explorer's seed box at each of ``seeds`` in turn; the seed
    is set back to what it was."""
    box = explorer.controls["seed"]
    was, seen = box.value, []
    for seed in seeds:
        box.value = seed
        seen.append(read(explorer))
    box.value = was
    return seen


def over_seeds(explorer, read: Callable, seeds: Sequence[int] = SEEDS):
    """The mean over ``seeds`` of ``read(explorer)`` (see :func:`per_seed`): of a number, of
    an array (element by element), or of a dict of numbers (key by key)."""
    seen = per_seed(explorer, read, seeds)
    if isinstance(seen[0], dict):
        return {key: float(np.mean([s[key] for s in seen])) for key in seen[0]}
    mean = np.mean(np.asarray(seen, dtype=float), axis=0)
    return float(mean) if np.ndim(mean) == 0 else mean
