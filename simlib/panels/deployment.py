"""Monolith or microservices: the explorers and helpers of notebook 03.

A monolith is one unit holding the orchestrator and every tool: calls inside it are free, but a
crash of any part takes the whole replica down, and you scale (and pay for) whole replicas. In
microservices each tool is its own service: a crash fails only the calls to it, the hot service
scales alone, and every call pays a network hop. :func:`simlib.presets.tool_heavy` is the
notebook's workload; :func:`blast_radius_panel` and :func:`network_panel` are its two explorers.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import plotly.graph_objects as go

import simlib as sl
from simlib import presets, stats
from simlib.cost import infrastructure_per_hour
from simlib.plots import COLOURS, TEMPLATE
from simlib.widgets import Explorer, crash, explore, pick, slider, with_fault

DEPLOYMENTS = (presets.SIMPLE, presets.MICROSERVICES)
"""The two ends of the deployment axis, stateless and sync both."""


def blast_radius(scenario: sl.Scenario, tool: str, restart: float, at: float = 200.0,
                 seeds=range(8)) -> pd.DataFrame:
    """Crash ``tools.<tool>`` at ``at`` for ``restart`` seconds in both deployments, same seeds:
    one summary row per (design, seed), with columns ``tool``, ``restart`` and ``design`` (the
    deployment). The failed turns are ``n_failed``: those failed at the crash (cause ``crash``)
    and those refused while it was down (cause ``service_down``)."""
    fault = sl.faults.Crash(f"tools.{tool}", at=at, restart=restart)
    runs = [sl.replicate(scenario.with_(architecture=arch, faults=(fault,)), seeds=seeds,
                         progress=False).reset_index().assign(design=arch.deployment)
            for arch in DEPLOYMENTS]
    return pd.concat(runs, ignore_index=True).assign(tool=tool, restart=restart)


def size_for_p95(scenario: sl.Scenario, path: str, counts: list[int], target: float,
                 seeds=range(4)) -> pd.DataFrame:
    """Sweep ``path`` (``workers.count``, ``tools.code.replicas``) over ``counts``: one row per
    count (the index) with the p95 latency's ``mean``, ``low`` and ``high`` (95% CI over
    ``seeds``), whether the mean ``meets`` ``target``, the ``infra_per_hour`` and the mean
    ``cost_per_ok``."""
    table = sl.sweep(scenario, {path: counts}, seeds=seeds, progress=False)
    out = stats.ci_table(table, path, "latency_p95")
    out["meets"] = out["mean"] <= target
    out["infra_per_hour"] = [infrastructure_per_hour(scenario.with_(**{path: count}))
                             for count in out.index]
    out["cost_per_ok"] = table.groupby(path)["cost_per_ok"].mean()
    return out


def sizing_figure(sizing: dict, target: float) -> go.Figure:
    """p95 latency (95% CI bars) against infrastructure $/h, one line per (load, design) of
    ``sizing`` (tables from :func:`size_for_p95`), with the target as a dashed line."""
    fig = go.Figure()
    for (load, design), table in sizing.items():
        fig.add_scatter(x=table["infra_per_hour"], y=table["mean"], mode="lines+markers",
                        name=f"{design}, {load} load", text=list(table.index),
                        line={"color": COLOURS[f"stateless/sync/{design}"],
                              "dash": "solid" if load == "high" else "dot"},
                        error_y={"type": "data", "array": table["high"] - table["mean"],
                                 "arrayminus": table["mean"] - table["low"]})
    fig.add_hline(y=target, line_dash="dash", line_color=COLOURS["formula"])
    fig.update_layout(template=TEMPLATE, xaxis_title="infrastructure ($/h)",
                      yaxis_title="p95 latency (s)", yaxis_type="log",
                      title="What each design pays for its p95")
    return fig


def _crashed_tool(scenario: sl.Scenario, name: str) -> sl.Scenario:
    """Point the scenario's crash (made by :func:`simlib.widgets.crash`) at ``tools.<name>``."""
    faults = tuple(dataclasses.replace(f, target=f"tools.{name}")
                   if isinstance(f, sl.faults.Crash) else f for f in scenario.faults)
    return scenario.with_(faults=faults)


def _partition(tool: str = "code", start: float = 150.0):
    """A control's apply: cut the network to ``tools.<tool>`` for that many seconds (0: not)."""
    def apply(scenario: sl.Scenario, seconds: float) -> sl.Scenario:
        if not seconds:
            return scenario
        return with_fault(scenario, sl.faults.Partition(f"tools.{tool}", start, seconds))
    return apply


def blast_radius_panel(seed: int = 0) -> Explorer:
    """Monolith (blue) and microservices (teal) on the same seed, with a tool crash at 150 s.

    Move "tool crash: restart" above 0: the monolith loses the turns in flight on replica 0
    (whatever they were doing), then the other replicas carry on; in microservices replica 0 of
    the code service goes down and its balancer routes around it: only the calls in progress on
    it fail. Switch the crashed tool to ``search``, a service of one replica: the monolith's bar
    does not care which part crashed; the microservices bar grows with the restart, since the
    lone replica refuses every call until it is back. Raise the arrival rate: more turns in
    flight, more to lose in both."""
    scenario = presets.tool_heavy(duration=300)
    controls = [slider("arrival rate (sessions/s)", 0.1, 1.0, 0.1, 0.5, "workload.arrival_rate"),
                crash("tools.code", at=150.0, label="tool crash: restart (s)"),
                pick("crashed tool", ["code", "search"], "code", _crashed_tool)]
    return explore(scenario, controls=controls, views=["outcomes", "goodput"],
                   compare=[presets.MICROSERVICES], seed=seed)


def network_panel(seed: int = 0) -> Explorer:
    """Microservices (teal) against the monolith (blue), whose calls never leave the process.

    Raise "hop latency": every tool call and context read or write pays it, so the
    microservices latency curve shifts right by about hops per turn x hop latency. Raise the
    network error rate: each hop is one more component in series, and availability (in the
    table) falls like (1 - error rate) ** hops. Cut the network to the code service for a while
    (at 150 s): goodput drops for the window, as if the service had crashed."""
    scenario = presets.tool_heavy(duration=300, architecture=presets.MICROSERVICES)
    controls = [slider("hop latency (s)", 0.0, 0.5, 0.005, 0.005, "network.hop_latency"),
                slider("network error rate", 0.0, 0.05, 0.005, 0.0, "network.error_rate"),
                slider("partition to code (s)", 0, 120, 10, 0, _partition("code"))]
    return explore(scenario, controls=controls, views=["latency_cdf", "goodput"],
                   compare=[presets.SIMPLE], seed=seed)
