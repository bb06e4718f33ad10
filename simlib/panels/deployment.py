"""Monolith or microservices: the explorers and helpers of notebook 03.

A monolith is one unit holding the orchestrator and every tool: calls inside it are free, but a
crash of any part takes that whole replica down, and you scale (and pay for) whole replicas. In
microservices each tool is its own service of its own replicas behind a balancer: a replica's
crash fails only the calls in progress on it, the hot service scales alone, and every call pays
a network hop. Which failure you get decides the verdicts: one replica crashing on its own
(``Crash(index=0)``), every replica at once (``index=None``: a bad deploy or a poison input, the
correlated failure), or a slow service instead of a dead one (a :class:`simlib.faults.
LatencySpike`). :func:`crash_sweep` and :func:`restart_flip` compare the first two as the
restart time moves, :func:`slow_sweep` and :func:`slow_flip` the third as the slow-down grows.
:func:`simlib.presets.tool_heavy` is the notebook's workload; :func:`blast_radius_panel` and
:func:`network_panel` are its two explorers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import simlib as sl
from simlib import capacity, presets, stats
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
    count (the index) with the p95 latency of every ended turn (``latency_all_p95``): its
    ``mean``, ``low`` and ``high`` (95% CI over ``seeds``); whether the queue is ``stable``;
    whether it ``meets`` ``target`` ("yes" when the whole interval is under it, "no" when the
    whole interval is over it or the queue is unstable, else "too close"); the
    ``infra_per_hour`` and the mean ``cost_per_ok``."""
    table = sl.sweep(scenario, {path: counts}, seeds=seeds, progress=False)
    out = stats.ci_table(table, path, "latency_all_p95")
    out["stable"] = [capacity.stable(scenario.with_(**{path: count})) for count in out.index]
    out["meets"] = np.where(~out["stable"] | (out["low"] > target), "no",
                            np.where(out["high"] <= target, "yes", "too close"))
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


SCOPES = {"one replica": 0, "every replica (bad deploy)": None}
"""Which replicas a crash takes: replica 0 on its own, or all of them at once."""


def crash_sweep(scenario: sl.Scenario, tool: str = "code", restarts=(5, 15, 30, 120),
                at: float = 200.0, seeds=range(5), scopes=tuple(SCOPES)) -> pd.DataFrame:
    """Crash ``tools.<tool>`` at ``at`` in both deployments, same seeds: one replica on its own
    (its restart does not change who is lost: the balancer routes around it, so it runs once,
    at 30 s) and every replica at once at each of ``restarts`` (``scopes`` of :data:`SCOPES`).
    One summary row per (scope, restart, design, seed)."""
    runs = []
    for scope in scopes:
        index = SCOPES[scope]
        for restart in (restarts if index is None else (30,)):
            fault = sl.faults.Crash(f"tools.{tool}", at=at, restart=restart, index=index)
            for arch in DEPLOYMENTS:
                table = sl.replicate(scenario.with_(architecture=arch, faults=(fault,)),
                                     seeds=seeds, progress=False).reset_index()
                runs.append(table.assign(scope=scope, restart=restart, design=arch.deployment))
    return pd.concat(runs, ignore_index=True).assign(tool=tool)


def restart_flip(sweep: pd.DataFrame, column: str = "n_failed") -> float:
    """The restart (s) from which a bad deploy of the tool's service costs microservices more
    failed turns than a bad deploy costs the monolith: where the two mean curves of
    :func:`crash_sweep` cross, by linear interpolation between the restarts measured (the
    monolith's loss does not grow with the restart; the microservices' does)."""
    bad = sweep[sweep["scope"] != "one replica"]
    means = bad.groupby(["restart", "design"])[column].mean().unstack()
    gap = (means["microservices"] - means["monolith"]).to_numpy()
    restarts = means.index.to_numpy(dtype=float)
    flip = stats.crossing(restarts, gap, 0.0, already=True)
    return float("inf") if flip is None else flip


def crash_figure(sweep: pd.DataFrame, flip: float | None = None) -> go.Figure:
    """Failed turns against the restart time: per design, a crash of one replica (flat) and of
    every replica (a bad deploy), mean and 95% interval over the seeds, and the flip."""
    fig = go.Figure()
    restarts = sorted(sweep["restart"].unique())
    for (scope, design), runs in sweep.groupby(["scope", "design"], sort=False):
        points = stats.mean_with_ci(runs, "restart", "n_failed")
        if scope == "one replica":  # the same whatever the restart: a flat line
            points = pd.concat([points] * 2, ignore_index=True).assign(
                restart=[restarts[0], restarts[-1]])
        fig.add_scatter(x=points["restart"], y=points["mean"], mode="lines+markers",
                        name=f"{design}, {scope}",
                        line={"color": COLOURS[f"stateless/sync/{design}"],
                              "dash": "dot" if scope == "one replica" else "solid"},
                        error_y={"type": "data", "array": points["high"] - points["mean"],
                                 "arrayminus": points["mean"] - points["low"]})
    if flip is not None and np.isfinite(flip):
        fig.add_vline(x=flip, line_dash="dash", line_color=COLOURS["formula"])
    fig.update_layout(template=TEMPLATE, xaxis_title="restart (s)", yaxis_title="failed turns",
                      title="Who loses more turns to a crash: it depends on which crash")
    return fig


def slow_sweep(scenario: sl.Scenario, factors=(1, 4, 6, 10, 20), timeout: float = 10.0,
               tool: str = "code", start: float = 150.0, duration: float = 100.0,
               seeds=range(3)) -> pd.DataFrame:
    """A slow failure: ``tools.<tool>`` ``factor`` times slower for ``duration`` seconds from
    ``start`` (every replica), in both deployments, without and with a ``timeout`` on tool
    calls. One summary row per (factor, timeout, design, seed); ``timeout`` is 0 for none."""
    runs = []
    for factor in factors:
        spike = sl.faults.LatencySpike(f"tools.{tool}", start=start, duration=duration,
                                       factor=float(factor))
        for limit in (0.0, timeout):
            policy = sl.Policy(timeout=sl.Timeout(limit)) if limit else sl.Policy()
            for arch in DEPLOYMENTS:
                one = scenario.with_(architecture=arch, faults=(spike,) if factor > 1 else (),
                                     **{"resilience.tools": policy})
                table = sl.replicate(one, seeds=seeds, progress=False).reset_index()
                runs.append(table.assign(factor=factor, timeout=limit, design=arch.deployment))
    return pd.concat(runs, ignore_index=True)


def slow_flip(sweep: pd.DataFrame, design: str = "microservices", share: float = 0.9,
              timeout: float = 0.0) -> float:
    """The slow-down factor from which ``design``'s goodput falls under ``share`` of its goodput
    without the slow-down (linear interpolation between the factors measured; inf if never)."""
    runs = sweep[(sweep["design"] == design) & (sweep["timeout"] == timeout)]
    means = runs.groupby("factor")["goodput"].mean()
    ratio = (means / means.iloc[0]).to_numpy()
    factors = means.index.to_numpy(dtype=float)
    flip = stats.crossing(factors, ratio, share)  # the ratio starts at 1 and falls
    return float("inf") if flip is None else flip


def slow_figure(sweep: pd.DataFrame) -> go.Figure:
    """Goodput against the slow-down factor of one tool, per design, without and with a
    timeout on tool calls (mean and 95% interval over the seeds)."""
    fig = go.Figure()
    for (limit, design), runs in sweep.groupby(["timeout", "design"]):
        points = stats.mean_with_ci(runs, "factor", "goodput")
        fig.add_scatter(x=points["factor"], y=points["mean"], mode="lines+markers",
                        name=f"{design}, " + (f"{limit:.0f} s timeout" if limit else "no timeout"),
                        line={"color": COLOURS[f"stateless/sync/{design}"],
                              "dash": "solid" if limit else "dot"},
                        error_y={"type": "data", "array": points["high"] - points["mean"],
                                 "arrayminus": points["mean"] - points["low"]})
    fig.update_layout(template=TEMPLATE, xaxis_title="slow-down of the code tool (x)",
                      xaxis_type="log", yaxis_title="goodput (ok turns/s)",
                      title="A slow service: the split does not isolate it, a timeout does")
    return fig


def parallel_availability(one: float, replicas: int) -> float:
    """Availability of a service of ``replicas`` replicas that each fail on their own (up
    ``one`` of the time) behind a balancer that routes around a down one: it is down only when
    all of them are, 1 - (1 - one) ** replicas."""
    return 1 - (1 - one) ** replicas


LOADS = tuple(np.round(np.arange(0.1, 2.01, 0.05), 2))
"""Arrival rates (sessions/s) of the cost-by-load chart."""


def cost_by_load(scenario: sl.Scenario, rates=LOADS, utilisation: float = 0.7) -> pd.DataFrame:
    """Infrastructure $/h of each deployment sized by the utilisation rule
    (:func:`simlib.capacity.size_fleet`: every resource at most ``utilisation`` busy) at each
    arrival rate: one row per rate, one column per deployment."""
    rows = {}
    for rate in rates:
        rows[rate] = {arch.deployment: infrastructure_per_hour(capacity.size_fleet(
            scenario.with_(architecture=arch, **{"workload.arrival_rate": float(rate)}),
            utilisation)) for arch in DEPLOYMENTS}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("arrival rate")


def cost_flip(costs: pd.DataFrame) -> float:
    """The lowest arrival rate of :func:`cost_by_load` from which microservices cost less per
    hour than the monolith at every higher rate measured (inf if never)."""
    cheaper = (costs["microservices"] < costs["monolith"]).to_numpy()
    if not cheaper[-1]:
        return float("inf")
    last_not = np.flatnonzero(~cheaper)
    return float(costs.index[last_not[-1] + 1] if len(last_not) else costs.index[0])


def cost_figure(costs: pd.DataFrame, flip: float | None = None,
                measured: dict | None = None) -> go.Figure:
    """$/h against the arrival rate for each deployment sized by the utilisation rule, with the
    flip, and the cheapest configurations the simulation found (``measured``: {(rate,
    design): $/h}) as markers."""
    fig = go.Figure()
    for design in costs.columns:
        fig.add_scatter(x=costs.index, y=costs[design], mode="lines", line_shape="hv",
                        name=f"{design}, sized at 70% busy",
                        line={"color": COLOURS[f"stateless/sync/{design}"]})
    for (rate, design), cost in (measured or {}).items():
        fig.add_scatter(x=[rate], y=[cost], mode="markers", showlegend=False,
                        name=f"{design}, cheapest meeting the p95 target",
                        marker={"color": COLOURS[f"stateless/sync/{design}"], "size": 11,
                                "symbol": "star"})
    if flip is not None and np.isfinite(flip):
        fig.add_vline(x=flip, line_dash="dash", line_color=COLOURS["formula"])
    fig.update_layout(template=TEMPLATE, xaxis_title="arrival rate (sessions/s)",
                      yaxis_title="infrastructure ($/h)",
                      title="Which deployment is cheaper, as the load grows")
    return fig


def _crash_scope(scenario: sl.Scenario, index) -> sl.Scenario:
    """Set which replicas the scenario's crash takes (0: one, None: every replica)."""
    faults = tuple(dataclasses.replace(f, index=index) if isinstance(f, sl.faults.Crash) else f
                   for f in scenario.faults)
    return scenario.with_(faults=faults)


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
    lone replica refuses every call until it is back. Switch "which replicas" to a bad deploy:
    the monolith loses every turn in flight and serves nobody until it is back (the goodput
    chart's gap); the microservices' code service refuses every call for the restart. Raise
    the arrival rate: more turns in flight, more to lose in both."""
    scenario = presets.tool_heavy(duration=300)
    controls = [slider("arrival rate (sessions/s)", 0.1, 1.0, 0.1, 0.5, "workload.arrival_rate"),
                crash("tools.code", at=150.0, label="tool crash: restart (s)"),
                pick("crashed tool", ["code", "search"], "code", _crashed_tool),
                pick("which replicas", SCOPES, "one replica", _crash_scope)]
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
