"""Monolith or microservices: the explorers and helpers of notebook 03.

A monolith is one unit holding the orchestrator and every tool: calls inside it are free, but a
crash of any part takes the whole replica down, and you scale (and pay for) whole replicas. In
microservices each tool is its own service: a crash fails only the calls to it, the hot service
scales alone, and every call pays a network hop. :func:`tool_heavy` is the notebook's workload;
:func:`blast_radius_panel` and :func:`network_panel` are its two explorers.
"""

from __future__ import annotations

import dataclasses

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

import simlib as sl
from simlib.cost import infrastructure_per_hour
from simlib.dists import Deterministic, Exponential, Geometric, LogNormal
from simlib.plots import COLOURS, TEMPLATE
from simlib.widgets import Control, Explorer, crash, explore, slider

MONOLITH = sl.Architecture("stateless", "sync", "monolith")
MICROSERVICES = sl.Architecture("stateless", "sync", "microservices")


def tool_heavy(**changes) -> sl.Scenario:
    """A tool-heavy agent: 2-turn sessions of about 3 steps, one tool call per step, two in
    three of them to a slow ``code`` tool (2 calls at once per replica) and the rest to a fast
    ``search``. Three replicas; in microservices the code service also has 3 replicas."""
    scenario = sl.Scenario(
        architecture=MONOLITH,
        workload=sl.Workload(arrival_rate=0.5, turns=Deterministic(2),
                             think_time=Exponential(10), steps=Geometric(3),
                             tools_per_step=Deterministic(1),
                             prompt_tokens=LogNormal(median=400, p95=1500),
                             output_tokens=LogNormal(median=100, p95=400)),
        tools=(sl.Tool("code", LogNormal(median=1.0, p95=4.0), capacity=2, replicas=3,
                       weight=2.0),
               sl.Tool("search", LogNormal(median=0.3, p95=2.0), capacity=8, replicas=1)),
        workers=sl.Workers(count=3, slots=16), duration=600, warmup=60, slo_latency=30.0)
    return scenario.with_(**changes)


def in_series(**changes) -> sl.Scenario:
    """:func:`tool_heavy` cut down so that every turn calls exactly two services one after
    the other: the context service once (a 2-turn session writes after turn 1, reads before
    turn 2) and the code tool once (one step, one tool call)."""
    base = tool_heavy(duration=1200)
    return base.with_(**{"workload.steps": Deterministic(1), "tools": base.tools[:1],
                         **changes})


def blast_radius(scenario: sl.Scenario, tool: str, restart: float, at: float = 200.0,
                 seeds=range(8)) -> list[dict]:
    """Crash ``tools.<tool>`` at ``at`` for ``restart`` seconds in both deployments, same seeds:
    one row per design with the failed turns (mean and 95% CI), split into those failed at the
    crash (cause ``crash``) and those refused while it was down (cause ``service_down``)."""
    rows = []
    for arch in (MONOLITH, MICROSERVICES):
        fault = sl.faults.Crash(f"tools.{tool}", at=at, restart=restart)
        runs = sl.replicate(scenario.with_(architecture=arch, faults=(fault,)), seeds=seeds,
                            progress=False)
        mean, low, high = sl.confidence_interval(runs["n_failed"])
        rows.append({"tool": tool, "restart": restart, "design": arch.deployment,
                     "failed": mean, "failed_low": low, "failed_high": high,
                     "at_crash": runs["cause_crash"].mean(),
                     "while_down": runs["cause_service_down"].mean()})
    return rows


def size_for_p95(scenario: sl.Scenario, path: str, counts: list[int], target: float,
                 seeds=range(4)) -> pd.DataFrame:
    """Sweep ``path`` (``workers.count``, ``tools.code.replicas``) over ``counts``: one row per
    count with the p95 latency (mean and 95% CI over ``seeds``), whether the mean meets
    ``target``, the infrastructure $/h and the cost per ok turn."""
    table = sl.sweep(scenario, {path: counts}, seeds=seeds, progress=False)
    rows = []
    for count, runs in table.groupby(path):
        mean, low, high = sl.confidence_interval(runs["latency_p95"])
        rows.append({"count": count, "p95": mean, "p95_low": low, "p95_high": high,
                     "meets": mean <= target,
                     "infra_per_hour": infrastructure_per_hour(scenario.with_(**{path: count})),
                     "cost_per_ok": runs["cost_per_ok"].mean()})
    return pd.DataFrame(rows)


def sizing_figure(sizing: dict, target: float) -> go.Figure:
    """p95 latency (95% CI bars) against infrastructure $/h, one line per (load, design) of
    ``sizing`` (tables from :func:`size_for_p95`), with the target as a dashed line."""
    fig = go.Figure()
    for (load, design), table in sizing.items():
        fig.add_scatter(x=table["infra_per_hour"], y=table["p95"], mode="lines+markers",
                        name=f"{design}, {load} load", text=table["count"],
                        line={"color": COLOURS[f"stateless/sync/{design}"],
                              "dash": "solid" if load == "high" else "dot"},
                        error_y={"type": "data", "array": table["p95_high"] - table["p95"],
                                 "arrayminus": table["p95"] - table["p95_low"]})
    fig.add_hline(y=target, line_dash="dash", line_color=COLOURS["formula"])
    fig.update_layout(template=TEMPLATE, xaxis_title="infrastructure ($/h)",
                      yaxis_title="p95 latency (s)", yaxis_type="log",
                      title="What each design pays for its p95")
    return fig


def _crashed_tool() -> Control:
    """Which tool the crash slider crashes (the crash itself is :func:`simlib.widgets.crash`)."""
    def make():
        return w.Dropdown(options=["code", "search"], value="code", description="crashed tool")

    def apply(scenario, name):
        faults = tuple(dataclasses.replace(f, target=f"tools.{name}")
                       if isinstance(f, sl.faults.Crash) else f for f in scenario.faults)
        return scenario.with_(faults=faults)
    return Control("crashed tool", make, apply)


def _partition(tool: str = "code", start: float = 150.0) -> Control:
    """A slider for how long the network to ``tools.<tool>`` is cut (0 = no partition)."""
    def make():
        return w.FloatSlider(min=0, max=120, step=10, value=0, continuous_update=False,
                             description=f"partition to {tool} (s)",
                             style={"description_width": "initial"},
                             layout=w.Layout(width="340px"))

    def apply(scenario, seconds):
        if not seconds:
            return scenario
        cut = sl.faults.Partition(f"tools.{tool}", start=start, duration=seconds)
        return scenario.with_(faults=scenario.faults + (cut,))
    return Control(f"partition to {tool}", make, apply)


def blast_radius_panel(seed: int = 0) -> Explorer:
    """Monolith (blue) and microservices (teal) on the same seed, with a tool crash at 150 s.

    Move "tool crash: restart" above 0: the monolith loses the turns in flight on replica 0
    (whatever they were doing), then the other replicas carry on; microservices lose only turns
    that call the crashed tool, but for as long as it is down. Lengthen the restart and watch
    which "failed" bar grows. Switch the crashed tool to ``search``: the monolith's bar does not
    care which part crashed; the microservices bar shrinks to the turns that use search.
    Raise the arrival rate: more turns in flight, more to lose in both."""
    scenario = tool_heavy(duration=300)
    controls = [slider("workload.arrival_rate", 0.1, 1.0, 0.1, "arrival rate (sessions/s)",
                       value=0.5),
                crash("tools.code", at=150.0, label="tool crash: restart (s)"),
                _crashed_tool()]
    return explore(scenario, controls=controls, views=["outcomes", "goodput"],
                   compare=[MICROSERVICES], seed=seed)


def network_panel(seed: int = 0) -> Explorer:
    """Microservices (teal) against the monolith (blue), whose calls never leave the process.

    Raise "hop latency": every tool call and context read or write pays it, so the
    microservices latency curve shifts right by about hops per turn x hop latency. Raise the
    network error rate: each hop is one more component in series, and availability (in the
    table) falls like (1 - error rate) ** hops. Cut the network to the code service for a while
    (at 150 s): goodput drops for the window, as if the service had crashed."""
    scenario = tool_heavy(duration=300, architecture=MICROSERVICES)
    controls = [slider("network.hop_latency", 0.0, 0.5, 0.005, "hop latency (s)", value=0.005),
                slider("network.error_rate", 0.0, 0.05, 0.005, "network error rate"),
                _partition("code")]
    return explore(scenario, controls=controls, views=["latency_cdf", "goodput"],
                   compare=[MONOLITH], seed=seed)
