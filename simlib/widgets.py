"""Explorers: sliders that re-run a scenario and redraw its charts in place.

``explore(scenario, controls=[...], views=[...])`` returns an :class:`Explorer`: a panel of
controls (sliders, dropdowns, a seed box), live plotly ``FigureWidget`` charts and a small summary
table. Moving a control changes the scenario (each control knows how: set a field, add a fault),
runs it once per design with the same seed, and updates the charts inside ``batch_update`` so they
redraw once. A setting seen before is served from a cache, so moving a slider back is instant.

Everything works without a browser: setting ``explorer.controls["arrival rate"].value = 3`` in
Python re-runs and updates ``explorer.figures``; tests and benchmarks drive explorers that way,
and ``explorers()`` lists the ones alive in this kernel.

A control is a :class:`Control`: a label, a widget factory and an ``apply(scenario, value)``.
:func:`slider`, :func:`choice` and :func:`pick` set a scenario field by its dotted path;
:func:`outage`, :func:`latency_spike`, :func:`crash` and :func:`flash_crowd` add a fault whose
strength is the slider's value (0 = no fault).
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import ipywidgets as w
import pandas as pd
import plotly
import plotly.graph_objects as go

from . import plots
from .config import Architecture, FlashCrowd
from .engine import run
from .faults import Crash, LatencySpike, Outage, windows
from .scenario import Scenario

_LIVE: weakref.WeakSet = weakref.WeakSet()


@dataclass(frozen=True)
class Control:
    """One knob: ``make()`` builds its widget, ``apply(scenario, value)`` the changed scenario."""

    label: str
    make: Callable[[], w.ValueWidget]
    apply: Callable[[Scenario, object], Scenario]


def _style():
    return {"description_width": "initial"}


def slider(path: str, low: float, high: float, step: float, label: str | None = None,
           value: float | None = None, integer: bool = False) -> Control:
    """A slider setting the field at ``path`` (bounded to valid values by ``low``/``high``)."""
    kind = w.IntSlider if integer else w.FloatSlider

    def make():
        return kind(min=low, max=high, step=step, value=value if value is not None else low,
                    description=label or path, continuous_update=False, style=_style(),
                    layout=w.Layout(width="340px"))
    return Control(label or path, make, lambda s, v: s.with_(**{path: v}))


def choice(path: str, options: Sequence, label: str | None = None, value=None) -> Control:
    """A dropdown setting the field at ``path`` to one of ``options``."""
    def make():
        return w.Dropdown(options=list(options), value=value if value is not None
                          else options[0], description=label or path, style=_style())
    return Control(label or path, make, lambda s, v: s.with_(**{path: v}))


def pick(path: str, options: Mapping[str, object], label: str, value: str) -> Control:
    """A dropdown of named settings for the field at ``path``: the learner reads a name ("10%
    of successes", "off"), the scenario gets the object it stands for (a name may stand for
    None)."""
    def make():
        return w.Dropdown(options=list(options), value=value, description=label,
                          style=_style())
    return Control(label, make, lambda s, v: s.with_(**{path: options[v]}))


def _with_fault(scenario: Scenario, fault) -> Scenario:
    return scenario.with_(faults=scenario.faults + (fault,))


def outage(target: str = "llm", start: float = 200.0, duration: float = 60.0,
           label: str | None = None) -> Control:
    """A slider for the error rate of an outage window (0 = none, 1 = full outage)."""
    def make():
        return w.FloatSlider(min=0, max=1, step=0.05, value=0, continuous_update=False,
                             description=label or f"{target} outage error rate",
                             style=_style(), layout=w.Layout(width="340px"))

    def apply(scenario, value):
        return _with_fault(scenario, Outage(target, start, duration, value)) if value else \
            scenario
    return Control(label or f"{target} outage", make, apply)


def latency_spike(target: str = "llm", start: float = 200.0, duration: float = 60.0,
                  label: str | None = None) -> Control:
    """A slider for the slow-down factor of a latency spike (1 = none)."""
    def make():
        return w.FloatSlider(min=1, max=20, step=0.5, value=1, continuous_update=False,
                             description=label or f"{target} slow-down x", style=_style(),
                             layout=w.Layout(width="340px"))

    def apply(scenario, value):
        return _with_fault(scenario, LatencySpike(target, start, duration, value)) \
            if value > 1 else scenario
    return Control(label or f"{target} latency spike", make, apply)


def crash(target: str = "workers", at: float = 200.0, label: str | None = None) -> Control:
    """A slider for the restart time of a crash of replica 0 at ``at`` (0 = no crash)."""
    def make():
        return w.FloatSlider(min=0, max=300, step=10, value=0, continuous_update=False,
                             description=label or f"{target} crash: restart (s)",
                             style=_style(), layout=w.Layout(width="340px"))

    def apply(scenario, value):
        return _with_fault(scenario, Crash(target, at, value)) if value else scenario
    return Control(label or f"{target} crash", make, apply)


def flash_crowd(start: float = 200.0, duration: float = 60.0,
                label: str | None = None) -> Control:
    """A slider for the arrival-rate factor of a flash crowd (1 = none)."""
    def make():
        return w.FloatSlider(min=1, max=10, step=0.5, value=1, continuous_update=False,
                             description=label or "flash crowd x", style=_style(),
                             layout=w.Layout(width="340px"))

    def apply(scenario, value):
        return _with_fault(scenario, FlashCrowd(start, duration, value)) if value > 1 \
            else scenario
    return Control(label or "flash crowd", make, apply)


def _mmc_p95(scenario: Scenario) -> float | None:
    """The M/M/c formula's p95 time in system for a scenario shaped like ``presets.mmc``."""
    from .theory import mmc_sojourn_quantile
    servers = scenario.workers.count * scenario.workers.slots
    try:
        return mmc_sojourn_quantile(scenario.workload.arrival_rate, scenario.llm.ttft.mean,
                                    servers, 0.95)
    except ValueError:  # no steady state
        return None


VIEWS: dict[str, Callable] = {
    "p95_vs_formula": lambda results, s: plots.p95_against_formula(
        {n: r.summary()["latency_p95"] for n, r in results.items()}, _mmc_p95(s),
        styled=not plots._DATA_ONLY),
    "latency_cdf": lambda results, s: plots.latency_cdf(
        {n: r.turns for n, r in results.items()}, styled=not plots._DATA_ONLY),
    "goodput": lambda results, s: plots.goodput_over_time(
        {n: r.turns for n, r in results.items()}, s.duration, windows=windows(s),
        styled=not plots._DATA_ONLY),
    "outcomes": lambda results, s: plots.outcomes({n: r.turns for n, r in results.items()},
                                                  styled=not plots._DATA_ONLY),
}


def _timeline_view(column: str, title: str) -> Callable:
    return lambda results, s: plots.timeline({n: r.timeline for n, r in results.items()},
                                             column, title, windows(s),
                                             styled=not plots._DATA_ONLY)


VIEWS.update({
    "in_system": _timeline_view("in_system", "Turns in the system"),
    "queued": _timeline_view("queued", "Turns waiting for a worker"),
    "busy": _timeline_view("busy", "Worker slots held by turns"),
    "cpu_busy": _timeline_view("cpu_busy", "CPU slots busy"),
    "store_busy": _timeline_view("store_busy", "Store connections busy"),
    "workers_up": _timeline_view("workers_up", "Workers up"),
})
"""The charts an explorer can show, by name: each makes a figure from {design: Result}."""

SUMMARY = ("goodput", "latency_p50", "latency_p95", "error_rate", "availability",
           "cost_per_ok", "utilisation")


class Explorer:
    """A live panel: ``controls`` (label -> widget), ``figures`` (FigureWidgets),
    ``update()``, ``timings`` (seconds each update took) and ``results`` (the last runs)."""

    def __init__(self, scenario: Scenario, controls: Sequence[Control],
                 views: Sequence[str], compare: Sequence[Architecture] = (), seed: int = 0):
        unknown = [v for v in views if v not in VIEWS]
        if unknown:
            raise ValueError(f"views must be among {sorted(VIEWS)}, got {unknown}")
        self.scenario, self.views = scenario, list(views)
        self.designs = [scenario.architecture, *compare]
        self.specs = {c.label: c for c in controls}
        self.controls = {c.label: c.make() for c in controls}
        self.controls["seed"] = w.BoundedIntText(value=seed, min=0, max=10**6,
                                                 description="seed", style=_style(),
                                                 layout=w.Layout(width="160px"))
        self.timings: list[float] = []
        self._cache: dict[tuple, dict] = {}
        self.results = self._run()
        self.figures = [share_plotly(go.FigureWidget(VIEWS[v](self.results, self.current())))
                        for v in self.views]
        self.table = w.HTML(self._table())
        for widget in self.controls.values():
            widget.observe(lambda _: self.update(), names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values()),
                                     layout=w.Layout(flex_flow="row wrap")),
                              w.HBox(self.figures, layout=w.Layout(flex_flow="row wrap")),
                              self.table])

    def current(self) -> Scenario:
        """The scenario the controls describe now."""
        scenario = self.scenario
        for label, spec in self.specs.items():
            scenario = spec.apply(scenario, self.controls[label].value)
        return scenario

    def _run(self) -> dict:
        key = tuple(widget.value for widget in self.controls.values())
        if key not in self._cache:
            scenario, seed = self.current(), self.controls["seed"].value
            self._cache[key] = {d.name: run(scenario.with_(architecture=d), seed)
                                for d in self.designs}
        return self._cache[key]

    def update(self) -> None:
        """Re-run for the controls' values (or reuse a cached run) and redraw in place."""
        began = time.perf_counter()
        self.results = self._run()
        scenario = self.current()
        for view, figure in zip(self.views, self.figures, strict=True):
            with plots.data_only():
                fresh = VIEWS[view](self.results, scenario)
            with figure.batch_update():
                for old, new in zip(figure.data, fresh.data, strict=True):
                    old.x, old.y = new.x, new.y
                figure.layout.shapes = fresh.layout.shapes
        self.table.value = self._table()
        self.timings.append(time.perf_counter() - began)

    def summary(self) -> pd.DataFrame:
        """The summary numbers of the last runs, one row per design."""
        return pd.DataFrame({name: r.summary()[list(SUMMARY)]
                             for name, r in self.results.items()}).T

    def close(self) -> None:
        """Close every widget of this explorer: the kernel keeps an open widget (and so the
        explorer, its runs and charts) alive until it is closed. For explorers made only to be
        driven from code and never shown again."""
        for widget in [*self.controls.values(), *self.figures, self.table, self.widget,
                       *self.widget.children]:
            widget.close()
        _LIVE.discard(self)

    def _table(self) -> str:
        return self.summary().to_html(float_format=lambda v: f"{v:.3g}", border=0)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)


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


def explore(scenario: Scenario, controls: Sequence[Control] = (),
            views: Sequence[str] = ("latency_cdf", "in_system"),
            compare: Sequence[Architecture] = (), seed: int = 0) -> Explorer:
    """Build an :class:`Explorer` (see the module docstring) and remember it."""
    return register(Explorer(scenario, controls, views, compare, seed))


def register(explorer: Explorer) -> Explorer:
    """Remember an explorer (or a subclass's instance) so that :func:`explorers` lists it."""
    _LIVE.add(explorer)
    return explorer


def explorers() -> list[Explorer]:
    """The explorers alive in this kernel (benchmarks and tests drive them)."""
    return list(_LIVE)
