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
  interval (:func:`simlib.stats.confidence_interval`). When a formula exists, it should pass through
  most of the error bars (about 19 in 20). Near saturation the bars widen: queues there remember
  their past for a long time, so each run tells you less, and only longer runs narrow the bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import static  # noqa: F401  (registers the renderer that stores a PNG beside each figure)
from .stats import mean_with_ci

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


# -- the explorers' charts: one trace per design, same order every time ----------------------------


def colour(name: str) -> str:
    """The colour of a design name (see :data:`COLOURS`); the formula's grey for any other."""
    return COLOURS.get(name, COLOURS["formula"])


def layout(fig: go.Figure, x_title: str, y_title: str, title: str,
           styled: bool = True) -> go.Figure:
    """Give ``fig`` the lab's look: its template, titles, height, margins and a legend below.

    ``styled=False`` leaves the figure as it is: an explorer redrawing after a slider move takes
    only the new traces and shapes of a fresh figure, and applying plotly's template alone costs
    about 7 ms a chart. Every chart function below passes its ``styled`` on to here."""
    if not styled:
        return fig
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=x_title, yaxis_title=y_title,
                      height=320, margin={"t": 50, "b": 40, "l": 60, "r": 20},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def shade(fig: go.Figure, windows: Sequence[tuple]) -> go.Figure:
    """Shade each ``(start, end)`` window (a fault's) in light red."""
    for start, end in windows:
        fig.add_vrect(x0=start, x1=end, fillcolor="#d62728", opacity=0.12, line_width=0)
    return fig


def latency_cdf(turns_by_design: Mapping[str, pd.DataFrame], styled: bool = True) -> go.Figure:
    """Cumulative share of ok turns answered within each latency, per design."""
    fig = go.Figure()
    for name, turns in turns_by_design.items():
        ok = turns[(turns["outcome"] == "ok") & ~turns["warmup"]]["latency"].sort_values()
        share = (pd.RangeIndex(1, len(ok) + 1) / max(len(ok), 1)).to_numpy()
        fig.add_scatter(x=ok.to_numpy(), y=share, mode="lines", name=name,
                        line={"color": colour(name)})
    return layout(fig, "latency (s)", "share of ok turns", "Latency distribution", styled)


def timeline(timelines: Mapping[str, pd.DataFrame], column: str = "in_system",
             title: str = "Turns in the system", windows: Sequence[tuple] = (),
             styled: bool = True) -> go.Figure:
    """A timeline column over time, per design, with fault windows shaded."""
    fig = go.Figure()
    for name, frame in timelines.items():
        fig.add_scatter(x=frame["time"], y=frame[column], mode="lines", name=name,
                        line={"color": colour(name), "width": 1.5})
    return layout(shade(fig, windows), "time (s)", column.replace("_", " "), title, styled)


def per_second(times: pd.Series, weights: pd.Series | None, duration: float,
               bucket: float) -> pd.Series:
    """Sum of ``weights`` (or a count of ``times``) per bucket of ``bucket`` seconds, divided
    by ``bucket``: a rate per second, indexed by each bucket's middle. Every bucket from 0 to
    ``duration`` is there, an empty one as 0: a rate that drops to nothing during an outage
    must be drawn as a drop, not as a line jumping over the gap."""
    keys = (times // bucket).astype(int)
    sums = weights.groupby(keys).sum() if weights is not None else keys.value_counts()
    index = np.arange(int(np.ceil(duration / bucket)))
    sums = sums.reindex(index, fill_value=0).sort_index()
    return pd.Series(sums.to_numpy() / bucket, index=(index + 0.5) * bucket)


def goodput_over_time(turns_by_design: Mapping[str, pd.DataFrame], duration: float,
                      bucket: float = 10.0, windows: Sequence[tuple] = (),
                      styled: bool = True) -> go.Figure:
    """Ok turns finished per second, in buckets of ``bucket`` seconds from 0 to ``duration``
    (0 where none finished), per design."""
    fig = go.Figure()
    for name, turns in turns_by_design.items():
        rate = per_second(turns[turns["outcome"] == "ok"]["finish"], None, duration, bucket)
        fig.add_scatter(x=rate.index, y=rate.to_numpy(), mode="lines", name=name,
                        line={"color": colour(name)})
    return layout(shade(fig, windows), "time (s)", "ok turns / s", "Goodput over time", styled)


def outcomes(turns_by_design: Mapping[str, pd.DataFrame], styled: bool = True) -> go.Figure:
    """How the measured turns ended, per design (one bar group per outcome)."""
    fig = go.Figure()
    for name, turns in turns_by_design.items():
        counts = turns[~turns["warmup"]]["outcome"].value_counts(sort=False)
        fig.add_bar(x=list(counts.index.astype(str)), y=counts.to_numpy(), name=name,
                    marker={"color": colour(name)})
    fig.update_layout(barmode="group")
    return layout(fig, "outcome", "turns", "How turns ended", styled)


def cost_vs_p95(table: pd.DataFrame, label: str = "design", styled: bool = True) -> go.Figure:
    """Cost per ok turn against p95 latency, one point per row (e.g. per design)."""
    fig = go.Figure()
    for _, row in table.iterrows():
        fig.add_scatter(x=[row["latency_p95"]], y=[row["cost_per_ok"]], mode="markers+text",
                        text=[row[label]], textposition="top center", name=row[label],
                        marker={"color": colour(row[label]), "size": 11})
    return layout(fig, "p95 latency (s)", "cost per ok turn ($)", "Cost against p95", styled)


def p95_against_formula(simulated: Mapping[str, float], formula: float | None,
                        styled: bool = True) -> go.Figure:
    """Simulated p95 latency per design as bars, and the formula's p95 as a dashed line
    (``None`` when the formula has no steady state: the queue grows without bound)."""
    fig = go.Figure()
    names = list(simulated)
    fig.add_bar(x=names, y=[simulated[n] for n in names], name="simulated p95",
                marker={"color": [colour(n) for n in names]})
    fig.add_scatter(x=names, y=[formula if formula is not None else None] * len(names),
                    mode="lines+markers", name="formula p95",
                    line={"color": COLOURS["formula"], "dash": "dash"})
    return layout(fig, "design", "p95 latency (s)", "Simulated p95 against the formula", styled)


def percentile_vs_load(table: pd.DataFrame, x: str, y: str = "latency_p95",
                       by: str | None = "design", x_title: str = "arrival rate (per s)",
                       y_title: str = "p95 latency (s)", styled: bool = True) -> go.Figure:
    """A sweep's ``y`` against ``x``: the mean over seeds as a line and its 95% confidence
    interval as a shaded band, one colour per value of ``by`` (a design name column)."""
    fig = go.Figure()
    groups = table.groupby(by, sort=False) if by else [("simulated", table)]
    for name, part in groups:
        points, tint = mean_with_ci(part, x, y), colour(str(name))
        fig.add_scatter(x=list(points[x]) + list(points[x])[::-1],
                        y=list(points["high"]) + list(points["low"])[::-1], fill="toself",
                        fillcolor=tint, opacity=0.2, line={"width": 0}, hoverinfo="skip",
                        showlegend=False)
        fig.add_scatter(x=points[x], y=points["mean"], mode="lines+markers", name=str(name),
                        line={"color": tint})
    return layout(fig, x_title, y_title, f"{y.replace('_', ' ')} against load", styled)

