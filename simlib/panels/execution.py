"""Panels of notebook 02 (sync vs async): what a turn holds while it waits, and who hears
about a failure.

The workload is one tool-using agent turn: 3 steps, each a short CPU burst (0.05 s), one LLM call
(about 3 s) and two search calls (about 0.6 s each), on 2 workers of 2 slots. A *sync* turn holds
one of those 4 slots for its whole 13 s, waiting included, and calls its tools one after the
other; an *async* turn is acknowledged at once, holds a CPU slot only for its 3 x 0.05 s of CPU
and fans its tools out in parallel. The helpers here turn that into numbers a notebook can print
next to the simulation: the sync turn time and ceiling (:func:`mean_turn_time`,
:func:`ceilings`) and how much of a held slot's time is CPU work (:func:`slot_use`).
Importing this module adds one chart to :data:`simlib.widgets.VIEWS`, ``execution_slot_time``
(worker-slot seconds per turn, CPU work against waiting), which its throughput panel shows.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import plots, presets, stats
from ..config import LLM, Architecture, Tool, Workload
from ..dists import Deterministic, LogNormal
from ..records import Result
from ..resilience import DeadLetter
from ..scenario import Scenario
from ..widgets import VIEWS, Explorer, explore, latency_spike, outage, pick, slider

SYNC = Architecture("stateless", "sync", "monolith")
ASYNC = Architecture("stateless", "async", "monolith")
DEAD_LETTER = DeadLetter(delay=30.0, redeliveries=3)
"""The dead-letter path of the panels: redeliver a failed turn after 30 s, at most 3 times."""


def agent(**changes) -> Scenario:
    """The notebook's workload, from ``presets.qa_bot``: one-turn sessions of 3 steps, each
    step a 0.05 s CPU burst, one LLM call and 2 search calls (median 0.3 s, p95 2 s), on 2
    workers of 2 slots, 0.2 sessions per second, 400 s (60 s warm-up). Sync, stateless,
    monolith; ``changes`` in ``with_`` form."""
    scenario = presets.qa_bot(**{
        "architecture": SYNC, "workload.arrival_rate": 0.2,
        "workload.steps": Deterministic(3), "workload.tools_per_step": Deterministic(2),
        "tools": (Tool("search", LogNormal(median=0.3, p95=2.0), capacity=16),),
        "workers.slots": 2, "workers.cpu_per_step": Deterministic(0.05),
        "duration": 400.0, "warmup": 60.0, "slo_latency": 30.0})
    return scenario.with_(**changes)


def _tool_mean(scenario: Scenario) -> float:
    """Mean latency of one tool call (tools picked by weight)."""
    weights = np.array([t.weight for t in scenario.tools], dtype=float)
    means = np.array([t.latency.mean for t in scenario.tools], dtype=float)
    return float(weights @ means / weights.sum()) if len(weights) else 0.0


def call_time(llm: LLM, workload: Workload) -> float:
    """Mean seconds of one LLM call: time to first token, then the output tokens at the
    decode rate (the whole answer, not just its first token)."""
    return llm.ttft.mean + workload.output_tokens.mean / llm.decode_rate


def step_parts(scenario: Scenario) -> dict[str, float]:
    """Mean seconds of one sync step, by part: CPU, LLM call, tool calls one after another."""
    return {"cpu": scenario.workers.cpu_per_step.mean,
            "llm": call_time(scenario.llm, scenario.workload),
            "tools": scenario.workload.tools_per_step.mean * _tool_mean(scenario)}


def mean_turn_time(scenario: Scenario) -> float:
    """The formula for a sync turn's mean time on its slot (no queueing, no faults): steps x
    (CPU + LLM time to first token + output / decode rate + tools per step x tool latency)."""
    return scenario.workload.steps.mean * sum(step_parts(scenario).values())


def ceilings(scenario: Scenario) -> dict[str, float]:
    """Turns per second each resource can sustain at 100% busy (the smallest one binds).

    Sync turns are bounded by their slots: slots / mean turn time. Async turns need a CPU slot
    only for their bursts, so their ceilings are elsewhere: the CPU, the in-flight cap (at
    least count x max_in_flight / sync turn time, since async turns are no slower), the tools'
    capacity (monolith: every replica carries its own tools) and the LLM's requests/minute."""
    s, w = scenario.workload.steps.mean, scenario.workers
    cpu = s * w.cpu_per_step.mean
    turn = mean_turn_time(scenario)
    tool_seconds = s * scenario.workload.tools_per_step.mean * _tool_mean(scenario)
    per_tool = [t.capacity * (w.count if scenario.architecture.deployment == "monolith"
                              else t.replicas) for t in scenario.tools if t.capacity]
    rpm = scenario.llm.requests_per_minute
    return {
        "sync: worker slots": w.count * w.slots / turn,
        "async: CPU slots": w.count * w.slots / cpu if cpu else float("inf"),
        "async: in-flight cap": w.count * w.max_in_flight / turn,
        "tools: capacity": sum(per_tool) / tool_seconds if per_tool and tool_seconds
        else float("inf"),
        "LLM: requests/min": rpm / 60 / s if rpm else float("inf"),
    }


def slot_use(result: Result) -> dict[str, float]:
    """Worker-slot seconds of the measured turns that finished: CPU work and time held.

    A sync turn holds its slot from admission to finish; an async turn holds a CPU slot only
    for its bursts. CPU seconds are ``cpu_per_step`` mean x the steps run (one LLM call each:
    exact with a deterministic ``cpu_per_step`` and no retries or fallback). ``idle_share`` is
    the share of held slot time spent waiting: 1 - CPU / held."""
    turns = result.turns[~result.turns["warmup"] & result.turns["finish"].notna()]
    cpu = float(result.scenario.workers.cpu_per_step.mean * turns["llm_calls"].sum())
    held = float((turns["finish"] - turns["admitted"]).sum()) \
        if result.scenario.architecture.execution == "sync" else cpu
    return {"turns": len(turns), "cpu_seconds": cpu, "held_seconds": held,
            "idle_share": 1 - cpu / held if held else float("nan")}


def _slot_time(results: Mapping[str, Result], scenario: Scenario) -> go.Figure:
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
    return plots._layout(fig, "design", "slot seconds per turn", "What a worker slot does")


VIEWS["execution_slot_time"] = _slot_time


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
        slider("workload.arrival_rate", 0.05, 0.8, 0.05, label="arrival rate (per s)",
               value=0.2),
        slider("workers.slots", 1, 8, 1, label="slots per worker", value=2, integer=True),
        latency_spike("llm", start=150.0, duration=60.0, label="LLM slow-down x"),
    ]
    return explore(agent(), controls=controls, compare=[ASYNC], seed=seed,
                   views=["goodput", "in_system", "execution_slot_time"])


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
        slider("workload.arrival_rate", 0.05, 0.8, 0.05, label="arrival rate (per s)",
               value=0.2),
        outage("llm", start=150.0, duration=60.0, label="LLM outage error rate"),
        pick("resilience.dead_letter", {"none": None, "redeliver (30 s, 3 times)": DEAD_LETTER},
             label="dead-letter queue", value="none"),
        pick("llm.requests_per_minute", {"no limit": None, "120": 120.0, "75": 75.0,
                                         "45": 45.0}, label="LLM requests/min", value="no limit"),
    ]
    return explore(agent(), controls=controls, compare=[ASYNC], seed=seed,
                   views=["outcomes", "goodput"])


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
    for execution, arch in (("sync", SYNC), ("async", ASYNC)):
        points = stats.mean_with_ci(table[table["architecture.execution"] == execution],
                                    x, "throughput")
        colour = plots.COLOURS[arch.name]
        fig.add_scatter(x=points[x], y=points["mean"], mode="markers+lines", name=arch.name,
                        marker={"color": colour, "size": 8}, line={"color": colour},
                        error_y={"type": "data", "array": points["high"] - points["mean"],
                                 "arrayminus": points["mean"] - points["low"]})
    return plots._layout(fig, "arrival rate (sessions/s)", "turns finished per second",
                         "Throughput: sync hits its slot ceiling")


def text_table(rows: list[tuple[str, ...]], headers: tuple[str, ...],
               widths: tuple[int, ...]) -> str:
    """Rows of text as a plain table, each column wrapped to its width (for printed verdicts)."""
    lines = []
    for row in [headers, *rows]:
        cells = [textwrap.wrap(str(text), width) or [""] for text, width in
                 zip(row, widths, strict=True)]
        for i in range(max(len(c) for c in cells)):
            lines.append(" | ".join(f"{(c[i] if i < len(c) else ''):<{width}}"
                                    for c, width in zip(cells, widths, strict=True)).rstrip())
        if row is headers:
            lines.append("-+-".join("-" * width for width in widths))
    return "\n".join(lines)
