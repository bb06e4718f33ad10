"""Panels of notebook 01, stateless vs stateful: where a conversation's context lives.

A stateless design keeps the context in a store, like a library that lends the same book to any
reader: every turn fetches it and puts it back, so any worker can serve any turn. A stateful
design keeps it in the worker's memory, like a tutor who remembers the pupil: no trip to the
library, but the pupil must always see the same tutor (sticky routing), and if the tutor falls
ill the memory goes too (a crash loses contexts, unless checkpoints are written).

Three explorers, each comparing the two ends of the state axis on one seed:

* :func:`store_panel` - the store's cost and its limits (context size, connections, outage);
* :func:`routing_panel` - sticky routing against pooling on an M/M/c queue, with the formulas;
* :func:`crash_panel` - a worker crash: failed turns, lost contexts, checkpoints.

and the small helpers the notebook uses to turn runs into its checked numbers. The workload is
:func:`simlib.presets.multi_turn_chat`; the pooled and sticky p95 formulas are
:func:`simlib.capacity.mmc_p95`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import plots, presets
from ..capacity import mmc_p95
from ..engine import run
from ..faults import windows
from ..records import Result
from ..resilience import Checkpointing
from ..scenario import Scenario
from ..widgets import Explorer, crash, explore, outage, slider

# -- measurements ----------------------------------------------------------------------------


def prompt_cache_saving(scenario: Scenario, seed: int) -> pd.Series:
    """Seconds of service each ok follow-up turn (turn 2 on) saves when stateful, paired turn
    by turn with the stateless run of the same seed (same sessions, same draws). Service is
    finish - admitted, so queueing is left out: what remains is the store round trip and the
    prompt-cache discount on the time to first token."""
    keys = ["session", "turn"]
    pair = run(scenario.with_(architecture=presets.SIMPLE), seed).turns.merge(
        run(scenario.with_(architecture=presets.STATEFUL), seed).turns, on=keys,
        suffixes=("_a", "_b"))
    pair = pair[(pair["turn"] > 1) & ~pair["warmup_a"] & (pair["outcome_a"] == "ok")
                & (pair["outcome_b"] == "ok")]
    return (pair["finish_a"] - pair["admitted_a"]) - (pair["finish_b"] - pair["admitted_b"])


def store_busy(result: Result) -> float:
    """Mean store connections busy after the warm-up: with more connections than ever fill,
    this is the store work the workload offers, in connections."""
    timeline = result.timeline
    return float(timeline[timeline["time"] >= result.scenario.warmup]["store_busy"].mean())


def sticky_vs_pooled_figure(table: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Simulated p95 against arrival rate for both designs (a sweep over
    ``architecture.state`` and ``workload.arrival_rate`` of an M/M/c-shaped ``scenario``),
    each with 95% error bars and its own formula curve."""
    rate = "workload.arrival_rate"
    top = scenario.workers.count * scenario.workers.slots / scenario.llm.ttft.mean
    grid = np.linspace(0.05, 0.88, 84) * top
    fig = go.Figure()
    for design, label in ((presets.SIMPLE, "pooled: one M/M/c"),
                          (presets.STATEFUL, "sticky: c x M/M/1")):
        curve = {rate: grid, "latency_p95": [mmc_p95(scenario.with_(**{rate: r}), design.state)
                                             for r in grid]}
        part = plots.simulated_vs_formula(table[table["architecture.state"] == design.state],
                                          rate, "latency_p95", curve, x_title="", y_title="",
                                          name=design.name)
        part.data[0].update(name=f"formula, {label}", line_dash="dot" if design.state ==
                            "stateful" else "solid")
        fig.add_traces(part.data)
    fig.update_layout(template=plots.TEMPLATE, title="p95 against load: pooled vs sticky",
                      xaxis_title="turns per second", yaxis_title="p95 time in system (s)",
                      legend={"x": 0.02, "y": 0.98})
    return fig


# -- the explorers' own charts ---------------------------------------------------------------


def _p95(result: Result) -> float:
    turns = result.turns
    ok = turns[(turns["outcome"] == "ok") & ~turns["warmup"]]["latency"]
    return float(ok.quantile(0.95)) if len(ok) else float("nan")


def sticky_p95(results: dict, scenario: Scenario, styled: bool = True) -> go.Figure:
    """Simulated p95 per design as bars, each with its own formula as a dark diamond."""
    names = list(results)
    fig = go.Figure()
    fig.add_bar(x=names, y=[_p95(results[n]) for n in names], name="simulated p95",
                marker={"color": [plots.COLOURS[n] for n in names]})
    fig.add_scatter(x=names, y=[mmc_p95(scenario, n.split("/")[0]) for n in names],
                    mode="markers", name="formula p95",
                    marker={"color": plots.COLOURS["formula"], "symbol": "diamond", "size": 14})
    return plots.layout(fig, "design", "p95 time in system (s)",
                        "p95: pooled M/M/c, sticky c x M/M/1", styled)


def context_lost(results: dict, scenario: Scenario, styled: bool = True) -> go.Figure:
    """Turns answered without their full context so far, per design, over time."""
    fig = go.Figure()
    for name, result in results.items():
        lost = result.turns[result.turns["context_lost"]]["arrival"].sort_values().tolist()
        fig.add_scatter(x=[0.0, *lost, scenario.duration], y=[0, *range(1, len(lost) + 1),
                        len(lost)], mode="lines", name=name,
                        line={"color": plots.COLOURS[name], "shape": "hv"})
    return plots.layout(plots.shade(fig, windows(scenario)), "time (s)", "turns so far",
                        "Turns that lost their context", styled)


def _checkpoint(scenario: Scenario, every: int) -> Scenario:
    return scenario.with_(**{"resilience.checkpoint": Checkpointing(every) if every else None})


# -- the explorers ---------------------------------------------------------------------------


def store_panel(seed: int = 0) -> Explorer:
    """The context store, stateless against stateful, on the chat workload.

    Try: raise "store s per 1k tokens" (a slower store, or bigger contexts): the stateless
    latency curve moves right; the stateful one does not move at all (it never calls the
    store). Then drop "store connections" to 1 or 2 with a slow store: the store-busy line
    flattens at the connection count, a queue forms in front of the store, and the stateless
    tail explodes: the store is the bottleneck. Finally turn on the store outage (150 to 210 s):
    stateless turns fail (error rate in the table); stateful turns do not notice."""
    scenario = presets.multi_turn_chat(**{"store.per_1k_tokens": 0.05, "store.servers": 4})
    controls = [slider("sessions per second", 0.2, 0.8, 0.1, 0.5, "workload.arrival_rate"),
                slider("store s per 1k tokens", 0.0, 0.3, 0.05, 0.05, "store.per_1k_tokens"),
                slider("store connections", 1, 8, 1, 4, "store.servers", integer=True),
                outage("store", start=150.0, duration=60.0)]
    return explore(scenario, controls, views=["latency_cdf", "store_busy"],
                   compare=[presets.STATEFUL], seed=seed)


def routing_panel(seed: int = 0) -> Explorer:
    """Pooling against sticky routing on an M/M/c queue: single-slot workers, 1 s of work each.

    Pooled (stateless): one queue, the next turn goes to any free worker: an M/M/c. Sticky
    (stateful): each session is hashed to one worker, so there are c separate M/M/1 queues at
    1/c of the rate each, and a turn may wait behind a busy worker while another sits idle.
    Try: raise the rate towards 3.6 (90% busy with 4 workers) and watch the sticky bar pull
    away from the pooled one, each next to its own formula (the diamonds). Add workers: both
    fall, sticky stays behind. Crash worker 0 (at 150 s): pooled spreads the load over the rest;
    sticky sends the crashed worker's new sessions to its neighbour, now twice as loaded (the
    formulas assume no crash, so expect the bars to leave the diamonds)."""
    scenario = presets.mmc(2.8, 1.0, 4, duration=300.0, warmup=30.0)
    controls = [slider("turns per second", 0.4, 3.8, 0.2, 2.8, "workload.arrival_rate"),
                slider("workers", 2, 8, 1, 4, "workers.count", integer=True),
                crash("workers", at=150.0)]
    return explore(scenario, controls, views=[sticky_p95, "queued"],
                   compare=[presets.STATEFUL], seed=seed)


def crash_panel(seed: int = 0) -> Explorer:
    """A crash of worker 0 at t = 150 s, stateless against stateful, on the chat workload.

    Try: give the crash a restart time. Both designs fail the turns that were on the worker
    (the "failed" bars); the stateful design also loses every conversation that lived there,
    so those sessions' next turns start without their history (the lost-context line jumps
    after 150 s). Checkpoint every turn: nothing is lost (the next turn restores the
    checkpoint). Checkpoint every few turns: nearly as many turns are flagged (each misses
    *some* history), but each loses only the turns since its last checkpoint. Raise the load to
    see the jump grow with the number of conversations per worker."""
    controls = [slider("sessions per second", 0.2, 0.8, 0.1, 0.5, "workload.arrival_rate"),
                crash("workers", at=150.0),
                slider("checkpoint every N turns (0 = never)", 0, 6, 1, 0, _checkpoint,
                       integer=True)]
    return explore(presets.multi_turn_chat(), controls, views=["outcomes", context_lost],
                   compare=[presets.STATEFUL], seed=seed)
