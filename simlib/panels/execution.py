"""Panels of notebook 02 (sync vs async): what a turn holds while it waits, and who hears
about a failure.

The workload (:func:`simlib.presets.tool_agent_turn`) is one tool-using agent turn: 3 steps,
each a short CPU burst (0.05 s), one LLM call (about 3 s) and two search calls (about 0.6 s each),
on 2 workers of 2 slots. A *sync* turn holds one of those 4 slots for its whole 13 s, waiting
included, and calls its tools one after the other; an *async* turn is acknowledged at once,
holds a CPU slot only for its 3 x 0.05 s of CPU and fans its tools out in parallel. The numbers a
notebook prints next to the simulation come from :mod:`simlib.capacity`: the sync turn time and
ceiling (``mean_turn_time``, ``ceilings``) and how much of a held slot's time is CPU work
(``slot_use``), which the throughput panel's :func:`slot_time` chart draws.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import plots, presets, stats
from ..capacity import ceilings, slot_use
from ..records import Result
from ..resilience import DeadLetter
from ..scenario import Scenario
from ..widgets import Explorer, explore, latency_spike, outage, pick, slider

DEAD_LETTER = DeadLetter(delay=30.0, redeliveries=3)
"""The dead-letter path of the panels: redeliver a failed turn after 30 s, at most 3 times."""


def slot_time(results: Mapping[str, Result], scenario: Scenario,
              styled: bool = True) -> go.Figure:
    """Per design: worker-slot seconds per finished turn, split into CPU work and waiting."""
    names = list(results)
    uses = [slot_use(results[n]) for n in names]
    per = [max(u["turns"], 1) for u in uses]
    fig = go.Figure()
    fig.add_bar(x=names, y=[u["cpu_seconds"] / n for u, n in zip(uses, per, strict=True)],
                name="CPU work", marker={"color": plots.COLOURS["formula"]})
    fig.add_bar(x=names, y=[(u["held_seconds"] - u["cpu_seconds"]) / n
                            for u, n in zip(uses, per, strict=True)],
                name="slot held, waiting", marker={"color": "#bab0ac"})
    fig.update_layout(barmode="stack")
    return plots.layout(fig, "design", "slot seconds per turn", "What a worker slot does", styled)


def throughput_panel(seed: int = 0) -> Explorer:
    """Sync against async on the same 4 worker slots and the same arrivals (same seed).

    Controls: the arrival rate (0.05 to 0.8 sessions/s; the sync ceiling is about 0.3), the
    slots per worker (1 to 8) and an LLM slow-down (x times slower for 60 s from t = 150 s).
    Charts: ok turns finished per second, turns in the system, and what a slot does per turn.

    What to try:

    - raise the arrival rate past 0.3: sync goodput flattens at its ceiling while its
      in-system curve climbs for the whole run; async follows the arrivals;
    - at 0.5 per second, give each worker 4 slots: sync's ceiling doubles (slots / turn time),
      async hardly changes (its slots only run 0.15 s of CPU per turn);
    - look at the slot chart: a sync slot spends almost all of its 13 s waiting for the LLM and
      the tools; an async turn uses a slot for 0.15 s;
    - at 0.2 per second, add a 3x LLM slow-down: every sync turn holds its slot 3 times longer,
      the ceiling falls below the arrival rate, and a backlog builds that outlives the spike.
    """
    controls = [
        slider("arrival rate (per s)", 0.05, 0.8, 0.05, 0.2, "workload.arrival_rate"),
        slider("slots per worker", 1, 8, 1, 2, "workers.slots", integer=True),
        latency_spike("llm", start=150.0, duration=60.0, label="LLM slow-down x"),
    ]
    return explore(presets.tool_agent_turn(), controls=controls, compare=[presets.ASYNC],
                   seed=seed, views=["goodput", "in_system", slot_time])


def silent_failure_panel(seed: int = 0) -> Explorer:
    """Who hears about a failure: sync against async, with and without a dead-letter queue.

    Controls: the arrival rate, an LLM outage (the error rate of a 60 s window from t = 150 s),
    the dead-letter path (none, or redeliver after 30 s at most 3 times; async only) and the
    LLM provider's requests/minute limit (calls over it are answered 429).
    Charts: how the measured turns ended, and ok turns per second over time.

    What to try:

    - set the outage to 1: sync turns end ``failed`` (the caller got an error and can act), the
      same async turns end ``silent_failure`` (acknowledged, then lost: nobody is told);
    - switch the dead-letter queue on: the silent failures come back as ok, 30 to 90 s late,
      and goodput bumps up after the window as the redeliveries arrive;
    - outage back to 0, limit 75/min, arrival rate 0.6: sync stays under the limit (4 slots
      cannot make more than about 55 calls a minute), async pushes every turn's calls into it,
      and the 429s become silent failures;
    - with that overload, switch the dead-letter queue on: redeliveries are more calls into the
      same limit, so goodput falls further. A dead-letter path helps a transient fault, not a
      sustained overload.
    """
    controls = [
        slider("arrival rate (per s)", 0.05, 0.8, 0.05, 0.2, "workload.arrival_rate"),
        outage("llm", start=150.0, duration=60.0, label="LLM outage error rate"),
        pick("dead-letter queue", {"none": None, "redeliver (30 s, 3 times)": DEAD_LETTER},
             "none", "resilience.dead_letter"),
        pick("LLM requests/min", {"no limit": None, "120": 120.0, "75": 75.0, "45": 45.0},
             "no limit", "llm.requests_per_minute"),
    ]
    return explore(presets.tool_agent_turn(), controls=controls, compare=[presets.ASYNC],
                   seed=seed, views=["outcomes", "goodput"])


def throughput_figure(table: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Throughput against arrival rate from a sweep over ``workload.arrival_rate`` and
    ``architecture.execution``: mean and 95% interval per design, and the sync formula
    min(arrival rate, slots / mean turn time) as a line."""
    x = "workload.arrival_rate"
    fig = go.Figure()
    rates = np.linspace(table[x].min(), table[x].max(), 60)
    top = ceilings(scenario)["sync: worker slots"]
    fig.add_scatter(x=rates, y=np.minimum(rates, top), mode="lines", name="sync formula",
                    line={"color": plots.COLOURS["formula"], "dash": "dash"})
    for execution, arch in (("sync", presets.SIMPLE), ("async", presets.ASYNC)):
        points = stats.mean_with_ci(table[table["architecture.execution"] == execution],
                                    x, "throughput")
        colour = plots.COLOURS[arch.name]
        fig.add_scatter(x=points[x], y=points["mean"], mode="markers+lines", name=arch.name,
                        marker={"color": colour, "size": 8}, line={"color": colour},
                        error_y={"type": "data", "array": points["high"] - points["mean"],
                                 "arrayminus": points["mean"] - points["low"]})
    return plots.layout(fig, "arrival rate (sessions/s)", "turns finished per second",
                        "Throughput: sync hits its slot ceiling")

