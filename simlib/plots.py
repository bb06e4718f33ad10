"""Plots: from result tables to plotly figures, and nothing else.

Every function here takes DataFrames that :func:`simlib.run`, :func:`simlib.replicate` or
:func:`simlib.sweep` already produced and returns a ``plotly.graph_objects.Figure``. No function
runs a simulation: a notebook runs the experiment once, then draws it as many ways as it likes.

Two habits run through the lab's charts:

- **One colour per design, everywhere.** :data:`COLOURS` fixes the colour of each of the eight
  designs (state x execution x deployment), so "stateful/async/monolith" is the same purple in
  every notebook, and a formula is always a dark grey line.
- **A simulated number carries its uncertainty.** A run is one draw of a random experiment, so a
  sweep has several seeds per point; the chart shows their mean with a 95% Student-t confidence
  interval (:func:`simlib.confidence_interval`). When a formula exists, it should pass through
  most of the error bars (about 19 in 20). Near saturation the bars widen: queues there remember
  their past for a long time, so each run tells you less, and only longer runs narrow the bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from .experiment import confidence_interval

COLOURS: dict[str, str] = {
    "stateless/sync/monolith": "#4e79a7",
    "stateless/sync/microservices": "#76b7b2",
    "stateless/async/monolith": "#59a14f",
    "stateless/async/microservices": "#edc948",
    "stateful/sync/monolith": "#e15759",
    "stateful/sync/microservices": "#f28e2b",
    "stateful/async/monolith": "#b07aa1",
    "stateful/async/microservices": "#9c755f",
    "formula": "#3b3b3b",
}
"""A fixed colour for each design name (``Architecture.name``), and one for formulas."""

TEMPLATE = "plotly_white"


def mean_with_ci(table: pd.DataFrame, x: str, y: str, level: float = 0.95) -> pd.DataFrame:
    """One row per value of ``x``: the mean of ``y`` over the seeds and its confidence interval
    (columns ``x``, ``mean``, ``low``, ``high``, ``runs``), sorted by ``x``."""
    rows = [(key, *confidence_interval(group[y], level), len(group))
            for key, group in table.groupby(x, sort=True)]
    return pd.DataFrame(rows, columns=[x, "mean", "low", "high", "runs"])


def simulated_vs_formula(table: pd.DataFrame, x: str, y: str,
                         formula: pd.DataFrame | Mapping[str, Sequence[float]], *,
                         x_title: str, y_title: str, title: str | None = None,
                         name: str = "simulated") -> go.Figure:
    """Simulated means with 95% error bars, and a formula's curve, on one chart.

    ``table`` is a sweep: one row per (``x``, seed), with a column ``y``. ``formula`` holds the
    same two columns (a DataFrame, or a dict of lists) on a fine grid of ``x``. ``name`` labels
    the markers; a design name such as "stateless/sync/monolith" also picks its colour.
    """
    points = mean_with_ci(table, x, y)
    curve = pd.DataFrame(formula)
    colour = COLOURS.get(name, COLOURS["stateless/sync/monolith"])
    fig = go.Figure()
    fig.add_scatter(x=curve[x], y=curve[y], mode="lines", name="formula",
                    line={"color": COLOURS["formula"], "width": 2})
    fig.add_scatter(x=points[x], y=points["mean"], mode="markers", name=name,
                    marker={"color": colour, "size": 8},
                    error_y={"type": "data", "array": points["high"] - points["mean"],
                             "arrayminus": points["mean"] - points["low"], "color": colour})
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=x_title, yaxis_title=y_title,
                      legend={"x": 0.02, "y": 0.98}, margin={"t": 60 if title else 30})
    return fig
