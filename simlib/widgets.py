"""Explorers: controls that re-run a simulation and redraw its charts in place.

An :class:`Explorer` is three things wired together, like a mixing desk: **controls** (sliders,
dropdowns, a seed box), a **compute** function that turns the controls' values into results (run
a scenario once per design, say), and **views**, chart functions that draw those results. Moving
a control calls compute and redraws every chart inside ``batch_update``, so each redraws once. A
setting seen before is served from a cache, so moving a slider back is instant.

:func:`explore` builds the common explorer: a scenario, controls that change it, and the same
seed run on each design to compare. ``explore(scenario, controls=[...], views=[...])``.

A control is a :class:`Control`, made by one of two constructors:

* :func:`slider` ``(label, low, high, step, value, apply=...)``, a number;
* :func:`pick` ``(label, options, value, apply=...)``, a dropdown of values, or of names that
  stand for values (``{"off": None, "on": BREAKER}``).

``apply`` says what the control does to the scenario: a dotted path (``"workers.count"``) sets
that field; a function ``apply(scenario, value) -> scenario`` does anything else (add a fault,
set two fields). :func:`outage`, :func:`latency_spike`, :func:`crash` and :func:`flash_crowd`
are sliders whose ``apply`` adds a fault of that strength (0, or 1 for a factor: no fault).

A view is a function ``view(results, scenario) -> plotly Figure``; if it also takes a keyword
``styled``, the explorer passes ``styled=False`` when it redraws and keeps only the new traces
and shapes (see :func:`simlib.plots.layout`). :data:`VIEWS` names the standard charts, so that
``views=["latency_cdf", "in_system"]`` works too.

Everything works without a browser: setting ``explorer.controls["arrival rate"].value = 3`` in
Python re-runs and updates ``explorer.figures``; tests and benchmarks drive explorers that way,
and :func:`explorers` lists the ones alive in this kernel.
"""

from __future__ import annotations

import inspect
import json
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly
import plotly.graph_objects as go

from . import plots, static
from .capacity import mmc_p95
from .config import Architecture, FlashCrowd
from .engine import run
from .faults import Crash, LatencySpike, Outage, windows
from .records import Result
from .scenario import Scenario

_LIVE: weakref.WeakSet = weakref.WeakSet()

Apply = str | Callable[[Scenario, Any], Scenario] | None
"""What a control does to the scenario: a dotted path to set, a function, or None (nothing: a
control that only the compute function reads, such as a requirement)."""
View = str | Callable[..., go.Figure]


@dataclass(frozen=True)
class Control:
    """One knob: ``make()`` builds its widget, ``apply(scenario, value)`` the changed scenario."""

    label: str
    make: Callable[[], w.ValueWidget]
    apply: Callable[[Scenario, Any], Scenario]


def _applier(apply: Apply) -> Callable[[Scenario, Any], Scenario]:
    if apply is None:
        return lambda scenario, value: scenario
    if isinstance(apply, str):
        return lambda scenario, value: scenario.with_(**{apply: value})
    return apply


STYLE = {"description_width": "initial"}
WIDTH = "340px"


def slider(label: str, low: float, high: float, step: float, value: float,
           apply: Apply = None, integer: bool = False, **options) -> Control:
    """A slider from ``low`` to ``high`` (so no invalid scenario can be asked for) that redraws
    when released, not while dragged. ``options`` go to the widget (``readout_format=".1%"``)."""
    kind = w.IntSlider if integer else w.FloatSlider

    def make():
        return kind(min=low, max=high, step=step, value=value, description=label,
                    continuous_update=False, style=STYLE, layout=w.Layout(width=WIDTH),
                    **options)
    return Control(label, make, _applier(apply))


def pick(label: str, options: Sequence | Mapping[str, Any], value: Any,
         apply: Apply = None) -> Control:
    """A dropdown. ``options`` is a list of values, or a mapping of names to what they stand
    for: the learner reads a name ("10% of successes", "off"), ``apply`` gets the object (a
    name may stand for None). ``value`` is the name (or value) shown first."""
    names = list(options)

    def make():
        return w.Dropdown(options=names, value=value, description=label, style=STYLE)
    chosen = _applier(apply)
    if isinstance(options, Mapping):
        return Control(label, make, lambda scenario, name: chosen(scenario, options[name]))
    return Control(label, make, chosen)


def with_fault(scenario: Scenario, fault) -> Scenario:
    """``scenario`` with one more fault."""
    return scenario.with_(faults=scenario.faults + (fault,))


def outage(target: str = "llm", start: float = 200.0, duration: float = 60.0,
           label: str | None = None) -> Control:
    """A slider for the error rate of an outage window (0 = none, 1 = full outage)."""
    def apply(scenario, rate):
        return with_fault(scenario, Outage(target, start, duration, rate)) if rate else scenario
    return slider(label or f"{target} outage error rate", 0, 1, 0.05, 0, apply)


def latency_spike(target: str = "llm", start: float = 200.0, duration: float = 60.0,
                  label: str | None = None) -> Control:
    """A slider for the slow-down factor of a latency spike (1 = none)."""
    def apply(scenario, factor):
        return with_fault(scenario, LatencySpike(target, start, duration, factor)) \
            if factor > 1 else scenario
    return slider(label or f"{target} slow-down x", 1, 20, 0.5, 1, apply)


def crash(target: str = "workers", at: float = 200.0, label: str | None = None) -> Control:
    """A slider for the restart time of a crash of replica 0 at ``at`` (0 = no crash)."""
    def apply(scenario, restart):
        return with_fault(scenario, Crash(target, at, restart)) if restart else scenario
    return slider(label or f"{target} crash: restart (s)", 0, 300, 10, 0, apply)


def flash_crowd(start: float = 200.0, duration: float = 60.0,
                label: str | None = None) -> Control:
    """A slider for the arrival-rate factor of a flash crowd (1 = none)."""
    def apply(scenario, factor):
        return with_fault(scenario, FlashCrowd(start, duration, factor)) if factor > 1 \
            else scenario
    return slider(label or "flash crowd x", 1, 10, 0.5, 1, apply)


# -- the standard views: {design: Result} -> a figure ----------------------------------------


def _turns(results: Mapping[str, Result]) -> dict[str, pd.DataFrame]:
    return {name: result.turns for name, result in results.items()}


def p95_vs_formula(results: Mapping[str, Result], scenario: Scenario,
                   styled: bool = True) -> go.Figure:
    """Simulated p95 per design against the M/M/c formula's (a scenario shaped like
    ``presets.mmc``)."""
    return plots.p95_against_formula({n: r.summary()["latency_p95"] for n, r in results.items()},
                                     mmc_p95(scenario, "stateless"), styled)


def latency_cdf(results: Mapping[str, Result], scenario: Scenario,
                styled: bool = True) -> go.Figure:
    """The latency distribution of ok turns, per design."""
    return plots.latency_cdf(_turns(results), styled)


def goodput(results: Mapping[str, Result], scenario: Scenario, styled: bool = True) -> go.Figure:
    """Ok turns per second over time, per design, fault windows shaded."""
    return plots.goodput_over_time(_turns(results), scenario.duration, windows=windows(scenario),
                                   styled=styled)


def outcomes(results: Mapping[str, Result], scenario: Scenario, styled: bool = True) -> go.Figure:
    """How the measured turns ended, per design."""
    return plots.outcomes(_turns(results), styled)


def timeline(column: str, title: str) -> Callable[..., go.Figure]:
    """A view of one timeline column over time, per design, fault windows shaded."""
    def view(results: Mapping[str, Result], scenario: Scenario, styled: bool = True):
        return plots.timeline({n: r.timeline for n, r in results.items()}, column, title,
                              windows(scenario), styled)
    view.__name__ = column
    return view


VIEWS: Mapping[str, Callable[..., go.Figure]] = MappingProxyType({
    "p95_vs_formula": p95_vs_formula, "latency_cdf": latency_cdf, "goodput": goodput,
    "outcomes": outcomes,
    "in_system": timeline("in_system", "Turns in the system"),
    "queued": timeline("queued", "Turns waiting for a worker"),
    "busy": timeline("busy", "Worker slots held by turns"),
    "cpu_busy": timeline("cpu_busy", "CPU slots busy"),
    "store_busy": timeline("store_busy", "Store connections busy"),
    "workers_up": timeline("workers_up", "Workers up"),
})
"""The standard charts, by name (read-only): a panel's own charts are passed as functions."""

SUMMARY = ("goodput", "latency_p50", "latency_p95", "error_rate", "availability",
           "cost_per_ok", "utilisation")


def design_summary(results: Mapping[str, Result]) -> pd.DataFrame:
    """The summary numbers of each design's run, one row per design."""
    return pd.DataFrame({name: r.summary()[list(SUMMARY)] for name, r in results.items()}).T


def _view(view: View) -> Callable[..., go.Figure]:
    if callable(view):
        return view
    if view not in VIEWS:
        raise ValueError(f"views must be functions or among {sorted(VIEWS)}, got {view!r}")
    return VIEWS[view]


class Explorer:
    """A live panel: ``controls`` (label -> widget, the seed box last), ``figures`` (plotly
    FigureWidgets), ``update()``, ``timings`` (seconds each update took), ``results`` (what
    compute returned last) and ``summary()``.

    ``compute(values)`` gets the controls' values (label -> value, the seed included) and
    returns the results the ``views`` draw; ``scenario(values)`` is the scenario they describe
    (the views get it too). ``summary(results)`` is the table under the charts; ``table``, if
    given, is what is shown of it (default: the summary itself)."""

    def __init__(self, controls: Sequence[Control], views: Sequence[View],
                 compute: Callable[[dict], Any], scenario: Callable[[dict], Scenario],
                 summary: Callable[[Any], pd.DataFrame] = design_summary,
                 table: Callable[[Any], pd.DataFrame] | None = None, seed: int = 0):
        self.compute, self.describe = compute, scenario
        self._summary, self._shown = summary, table or summary
        self._draw = [_view(v) for v in views]
        self.views = [v if isinstance(v, str) else v.__name__ for v in views]
        self._styles = ["styled" in inspect.signature(v).parameters for v in self._draw]
        self.controls = {c.label: c.make() for c in controls}
        self.controls["seed"] = w.BoundedIntText(value=seed, min=0, max=10**6,
                                                 description="seed", style=STYLE,
                                                 layout=w.Layout(width="160px"))
        self.timings: list[float] = []
        self._cache: dict[tuple, Any] = {}
        self.results = self._compute()
        self.figures = [share_plotly(go.FigureWidget(view(self.results, self.current())))
                        for view in self._draw]
        self.table = w.HTML(self._html())
        for widget in self.controls.values():
            widget.observe(lambda _: self.update(), names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values()),
                                     layout=w.Layout(flex_flow="row wrap")),
                              w.HBox(self.figures, layout=w.Layout(flex_flow="row wrap")),
                              self.table])
        _LIVE.add(self)

    def values(self) -> dict[str, Any]:
        """The controls' values now, by label (the seed included)."""
        return {label: widget.value for label, widget in self.controls.items()}

    def current(self) -> Scenario:
        """The scenario the controls describe now."""
        return self.describe(self.values())

    def _compute(self):
        values = self.values()
        key = tuple(values.values())
        if key not in self._cache:
            self._cache[key] = self.compute(values)
        return self._cache[key]

    def update(self) -> None:
        """Compute for the controls' values (or reuse a cached result) and redraw in place."""
        began = time.perf_counter()
        self.results = self._compute()
        scenario = self.current()
        for view, styles, figure in zip(self._draw, self._styles, self.figures, strict=True):
            fresh = view(self.results, scenario, styled=False) if styles \
                else view(self.results, scenario)
            with figure.batch_update():
                for old, new in zip(figure.data, fresh.data, strict=True):
                    old.x, old.y = new.x, new.y
                figure.layout.shapes = fresh.layout.shapes
        self.table.value = self._html()
        self.timings.append(time.perf_counter() - began)

    def seen(self) -> set[tuple]:
        """The settings already computed (the controls' values, the seed last): moving back to
        one of them redraws from the cache."""
        return set(self._cache)

    def memory(self) -> tuple:
        """What this explorer keeps between moves: its results by setting, and what its
        ``compute`` keeps of its own (the chooser's ``runs``). :meth:`recall` puts it back, so
        that a benchmark can time the same move again from the same state."""
        runs = getattr(self.compute, "runs", None)
        return dict(self._cache), None if runs is None else dict(runs)

    def recall(self, memory: tuple) -> None:
        """Forget everything computed since :meth:`memory` returned ``memory``."""
        self._cache = dict(memory[0])
        if memory[1] is not None:
            self.compute.runs = dict(memory[1])

    def summary(self) -> pd.DataFrame:
        """The table of the last results (default: one row of summary numbers per design)."""
        return self._summary(self.results)

    def close(self) -> None:
        """Close every widget of this explorer: the kernel keeps an open widget (and so the
        explorer, its runs and charts) alive until it is closed. For explorers made only to be
        driven from code and never shown again."""
        for widget in [*self.controls.values(), *self.figures, self.table, self.widget,
                       *self.widget.children]:
            widget.close()
        _LIVE.discard(self)

    def _html(self) -> str:
        return self._shown(self.results).to_html(float_format=lambda v: f"{v:.3g}", border=0)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """How Jupyter displays an explorer: its widget's bundle (the live panel, and a line of
        text) plus, with ``SIMLIB_STATIC_IMAGES=1``, a PNG of its charts as they are now, under
        a caption naming the controls, for readers without a kernel (see :mod:`simlib.static`).
        A closed explorer is its text alone."""
        widget = self.widget._repr_mimebundle_  # None once the widget is closed
        if widget is None:
            return {"text/plain": repr(self.widget)}
        return widget(**kwargs) | static.bundle(self.figures, self.caption())

    def _ipython_display_(self):
        """Display the bundle as output (``display_data``, as a widget is, not ``Out[n]``)."""
        from IPython.display import display
        display(self._repr_mimebundle_(), raw=True)

    def caption(self) -> str:
        """One line naming the controls and their values, for the explorer's static picture."""
        values = ", ".join(f"{label} {_shown(value)}" for label, value in self.values().items())
        return f"A picture of the explorer at {values}. Run the notebook to move its controls."


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def explore(scenario: Scenario, controls: Sequence[Control] = (),
            views: Sequence[View] = ("latency_cdf", "in_system"),
            compare: Sequence[Architecture] = (), seed: int = 0) -> Explorer:
    """The common explorer: ``scenario`` changed by each control's ``apply`` in turn, run with
    the seed box's seed on its own design and on each of ``compare`` (the same seed: the same
    arrivals), drawn by ``views``, with one summary row per design under the charts."""
    designs = [scenario.architecture, *compare]
    specs = list(controls)

    def describe(values: dict) -> Scenario:
        changed = scenario
        for spec in specs:
            changed = spec.apply(changed, values[spec.label])
        return changed

    def compute(values: dict) -> dict[str, Result]:
        changed = describe(values)
        return {d.name: run(changed.with_(architecture=d), values["seed"]) for d in designs}
    return Explorer(specs, views, compute, describe, seed=seed)


def explorers() -> list[Explorer]:
    """The explorers alive in this kernel (benchmarks and tests drive them)."""
    return list(_LIVE)


SHARED = "const key = Symbol.for("
"""How the browser module of :func:`shared_module` begins."""


def share_plotly(figure: go.FigureWidget) -> go.FigureWidget:
    """Make ``figure`` load plotly.js in the browser once per page, shared with every other chart.

    A plotly ``FigureWidget`` is an anywidget whose browser code (``_esm``) is all of plotly.js,
    5 MB, evaluated once per chart. anywidget (0.11, ``Runtime`` in ``runtime.ts``) gives each
    chart 2 s to get ready and, if it is late, drops every later update from the kernel: the
    chart is drawn but stays still when a slider moves. A notebook's charts all start at once,
    so on a busy machine (30 learners on one JupyterHub) the third is often late. Measured in
    Chromium here: 3 and 6 charts were ready after 2.5 and 4.8 s each loading plotly.js, after
    about 1.2 s sharing one load."""
    if not figure._esm.startswith(SHARED):  # not twice: the module would await itself
        figure._esm = shared_module(figure._esm)
    return figure


@cache
def shared_module(esm: str) -> str:
    """An anywidget module that evaluates ``esm`` (plotly's widget code) the first time any chart
    on the page loads it and hands every chart that one module."""
    key = json.dumps(f"resilient-agents-lab/plotly-{plotly.__version__}")
    return (f"{SHARED}{key});\n"
            "globalThis[key] ??= import(URL.createObjectURL(new Blob(\n"
            f"  [{json.dumps(esm)}], {{type: 'text/javascript'}})));\n"
            "export default (await globalThis[key]).default;\n")
