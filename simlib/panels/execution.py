"""Panels of notebook 02 (sync vs async): what a turn holds while it waits, and who hears
about a failure.

The workload (:func:`simlib.presets.threaded_agent_turn`) is one tool-using agent turn: 3
steps, each a short CPU burst (0.05 s), one LLM call (about 3 s) and two search calls (about
0.6 s each, one after the other), on one worker with Starlette's 40 threads (sync) or 64
in-flight places (async). A *sync* turn holds one thread for its whole 13 s, waiting included;
an *async* turn is acknowledged at once and holds an in-flight place (memory, no thread),
taking a core only for its 3 x 0.05 s of CPU. The numbers a notebook prints next to the
simulation come from :mod:`simlib.capacity`: the turn time and ceilings (``mean_turn_time``,
``ceilings``) and how much of a held thread's time is CPU work (``slot_use``), which the
throughput panel's :func:`slot_time` chart draws.

Which design carries more is decided by a setting: sync threads per worker against async
in-flight places. :func:`max_throughput` is a design's lowest ceiling, :func:`edge_by_threads`
the async-over-sync ratio of those ceilings as the threads move, :func:`flip_threads` where the
edge falls under a margin, and :func:`saturated` measures the throughputs by simulation at an
offered load past every ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import plots, presets, stats
from ..capacity import ceilings, own_ceilings, slot_use, stable
from ..experiment import replicate, sweep
from ..records import Result
from ..resilience import DeadLetter, Policy, RateLimit
from ..scenario import Scenario
from ..widgets import Explorer, explore, latency_spike, outage, pick, slider

DEAD_LETTER = DeadLetter(delay=30.0, redeliveries=3)
"""The dead-letter path of the panels: redeliver a failed turn after 30 s, at most 3 times."""


PANEL = presets.threaded_agent_turn(duration=300.0, **{"workload.arrival_rate": 0.5})
"""The silent-failure explorer's scenario: the notebook's, 300 s long at half a session per
second (a slider update stays under the lab's budget)."""
SHORT_PANEL = PANEL.with_(duration=200.0, warmup=40.0)
"""The throughput explorer's: 200 s (40 s warm-up), so that a run at its top arrival rate, past
the sync ceiling, still redraws within the budget."""


def slot_time(results: Mapping[str, Result], scenario: Scenario,
              styled: bool = True) -> go.Figure:
    """Per design: thread (sync) or core (async) seconds per finished turn, split into CPU work
    and waiting."""
    names = list(results)
    uses = [slot_use(results[n]) for n in names]
    per = [max(u["turns"], 1) for u in uses]
    fig = go.Figure()
    fig.add_bar(x=names, y=[u["cpu_seconds"] / n for u, n in zip(uses, per, strict=True)],
                name="CPU work", marker={"color": plots.COLOURS["formula"]})
    fig.add_bar(x=names, y=[(u["held_seconds"] - u["cpu_seconds"]) / n
                            for u, n in zip(uses, per, strict=True)],
                name="held, waiting", marker={"color": "#bab0ac"})
    fig.update_layout(barmode="stack")
    return plots.layout(fig, "design", "seconds held per turn", "What a thread does", styled)


def throughput_panel(seed: int = 0) -> Explorer:
    """Sync against async on the same worker and the same arrivals (same seed).

    Controls: the arrival rate (0.25 to 4 sessions/s; the sync ceiling at 40 threads is about
    3), the sync threads per worker (1 to 80) and an LLM slow-down (x times slower for 60 s
    from t = 80 s). Charts: ok turns finished per second, turns in the system, and what a
    thread does per turn.

    What to try:

    - raise the arrival rate past 3: sync goodput flattens at its ceiling while its in-system
      curve climbs for the whole run; async follows the arrivals (up to the search tool's
      capacity, about 4.6);
    - lower the threads to 2 (the first edition's pools): sync's ceiling collapses, async does
      not notice (it holds no thread);
    - look at the thread chart: a sync thread spends almost all of its 13 s waiting for the LLM
      and the tools; an async turn uses a core for 0.15 s;
    - at 2 per second, add a 3x LLM slow-down: every sync turn holds its thread 3 times longer,
      the ceiling falls below the arrival rate, and a backlog builds that outlives the spike.
    """
    controls = [
        slider("arrival rate (per s)", 0.25, 4.0, 0.25, 0.5, "workload.arrival_rate"),
        slider("threads per worker", 1, 80, 1, PANEL.workers.slots, "workers.slots",
               integer=True),
        latency_spike("llm", start=80.0, duration=60.0, label="LLM slow-down x"),
    ]
    return explore(SHORT_PANEL, controls=controls, compare=[presets.ASYNC],
                   seed=seed, views=["goodput", "in_system", slot_time])


def silent_failure_panel(seed: int = 0) -> Explorer:
    """Who hears about a failure: sync against async, with and without a dead-letter queue.

    Controls: the arrival rate, an LLM outage (the error rate of a 60 s window from t = 150 s),
    the dead-letter path (none, or redeliver after 30 s at most 3 times; async only) and the
    LLM provider's requests/minute limit (enforced over 1 s windows; calls over it are answered
    429 after the SDK's 2 retries).
    Charts: how the measured turns ended, and ok turns per second over time.

    What to try:

    - set the outage to 1: sync turns end ``failed`` (the caller got an error and can act), the
      same async turns end ``silent_failure`` (acknowledged, then lost: nobody is told);
    - switch the dead-letter queue on: the silent failures come back as ok, 30 to 90 s late,
      and goodput bumps up after the window as the redeliveries arrive;
    - outage back to 0, limit 45/min, arrival rate 0.3: both designs draw 429s (40 threads are
      no brake), sync's as ``failed``, async's as ``silent_failure``;
    - with that overload, switch the dead-letter queue on: redeliveries are more calls into the
      same limit. A dead-letter path helps a transient fault, not a sustained overload.
    """
    controls = [
        slider("arrival rate (per s)", 0.1, 2.0, 0.1, 0.5, "workload.arrival_rate"),
        outage("llm", start=150.0, duration=60.0, label="LLM outage error rate"),
        pick("dead-letter queue", {"none": None, "redeliver (30 s, 3 times)": DEAD_LETTER},
             "none", "resilience.dead_letter"),
        pick("LLM requests/min", {"no limit": None, "120": 120.0, "75": 75.0, "45": 45.0},
             "no limit", "llm.requests_per_minute"),
    ]
    return explore(PANEL, controls=controls, compare=[presets.ASYNC],
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
                        "Throughput: sync hits its thread ceiling")



# -- which design carries more: sync threads against async in-flight places ---------------------

THREADS = (1, 2, 4, 8, 16, 24, 32, 40, 48, 64, 80, 96)
"""Sync threads per worker on the sensitivity chart: from the first edition's small pools to
past Starlette's 40 (a sync server can be given more; each thread is memory and a stack)."""
PLACES = (16, 64, 256)
"""Async in-flight places per worker on the sensitivity chart (64 is :class:`simlib.Workers`'s
default)."""
EDGE = 1.1
"""An async throughput edge under 10% is called gone: smaller than the seeds' spread here."""


def max_throughput(scenario: Scenario) -> float:
    """Turns per second the design can sustain: its lowest ceiling
    (:func:`simlib.capacity.own_ceilings`: sync turns have no in-flight cap, async turns hold no
    thread). :func:`simlib.capacity.load` is the offered rate over it."""
    return min(own_ceilings(scenario).values())


def edge_by_threads(scenario: Scenario, threads=THREADS, places=PLACES) -> pd.DataFrame:
    """By the ceilings: sync's and async's maximum throughput (turns/s) as the sync threads per
    worker move, async at each number of in-flight places per worker; one row per thread count,
    columns ``sync``, ``async <places>`` and ``edge <places>`` (async over sync)."""
    rows = {}
    for n in threads:
        row = {"sync": max_throughput(scenario.with_(architecture=presets.SIMPLE,
                                                     **{"workers.slots": n}))}
        for m in places:
            top = max_throughput(scenario.with_(architecture=presets.ASYNC,
                                                **{"workers.max_in_flight": m}))
            row[f"async {m}"], row[f"edge {m}"] = top, top / row["sync"]
        rows[n] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("threads per worker")


def flip_threads(scenario: Scenario, places: int | None = None, edge: float = EDGE) -> int:
    """The fewest sync threads per worker from which async's maximum throughput (at ``places``
    in-flight places per worker, the scenario's by default) is under ``edge`` times sync's."""
    places = places or scenario.workers.max_in_flight
    top = max_throughput(scenario.with_(architecture=presets.ASYNC,
                                        **{"workers.max_in_flight": places}))
    n = 1
    while top / max_throughput(scenario.with_(architecture=presets.SIMPLE,
                                              **{"workers.slots": n})) >= edge:
        n += 1
    return n


def saturated(scenario: Scenario, threads=(8, 24, 40, 64), seeds=range(3),
              over: float = 1.3) -> pd.DataFrame:
    """Throughput measured at ``over`` times async's maximum (past every ceiling, so each design
    runs at its own): sync at each of ``threads`` per worker and async at the scenario's
    in-flight places, one row per (design, threads, seed) with ``throughput`` and the
    ``formula`` (:func:`max_throughput`)."""
    offered = over * max_throughput(scenario.with_(architecture=presets.ASYNC))
    busy = scenario.with_(**{"workload.arrival_rate": offered, "duration": 300.0})
    table = sweep(busy.with_(architecture=presets.SIMPLE), {"workers.slots": list(threads)},
                  seeds=seeds, progress=False).assign(design="sync")
    table["formula"] = [max_throughput(busy.with_(**{"workers.slots": int(n)}))
                        for n in table["workers.slots"]]
    other = replicate(busy.with_(architecture=presets.ASYNC), seeds=seeds, progress=False)
    other = other.reset_index().assign(design="async", formula=max_throughput(
        busy.with_(architecture=presets.ASYNC)))
    other["workers.slots"] = busy.workers.max_in_flight
    columns = ["design", "workers.slots", "throughput", "formula"]
    return pd.concat([table[columns], other[columns]], ignore_index=True)


def edge_figure(edges: pd.DataFrame, measured: pd.DataFrame | None = None,
                flip: int | None = None) -> go.Figure:
    """The sensitivity chart: maximum throughput against sync threads per worker, sync's line
    and async's at each number of in-flight places (flat: async holds no thread), the measured
    throughputs of :func:`saturated` as markers with 95% intervals, and the flip point."""
    fig = go.Figure()
    x = list(edges.index)
    fig.add_scatter(x=x, y=edges["sync"], mode="lines", name="sync (formula)",
                    line={"color": plots.COLOURS[presets.SIMPLE.name]})
    for m, dash in zip(PLACES, ("dot", "solid", "dash"), strict=True):
        fig.add_scatter(x=x, y=edges[f"async {m}"], mode="lines",
                        name=f"async, {m} in-flight places (formula)",
                        line={"color": plots.COLOURS[presets.ASYNC.name], "dash": dash})
    if measured is not None:
        for design, arch in (("sync", presets.SIMPLE), ("async", presets.ASYNC)):
            points = stats.mean_with_ci(measured[measured["design"] == design], "workers.slots",
                                        "throughput")
            fig.add_scatter(x=points["workers.slots"] if design == "sync" else [max(x)],
                            y=points["mean"], mode="markers", name=f"{design}, simulated",
                            marker={"color": plots.COLOURS[arch.name], "size": 9},
                            error_y={"type": "data", "array": points["high"] - points["mean"],
                                     "arrayminus": points["mean"] - points["low"]})
    if flip is not None:
        fig.add_vline(x=flip, line_dash="dash", line_color=plots.COLOURS["formula"])
    return plots.layout(fig, "sync threads per worker", "maximum turns per second",
                        "Who carries more: threads against in-flight places")


def latency_table(table: pd.DataFrame, scenario: Scenario,
                  columns=("latency_all_p50", "latency_all_p95")) -> pd.DataFrame:
    """Latency of every ended turn (whatever its outcome) per (arrival rate, execution) of a
    sweep, as ``mean [CI]`` text, or "unstable" where the design is offered its capacity or
    more (such a number only grows with the run's length)."""
    keys = ["workload.arrival_rate", "architecture.execution"]
    out = {}
    for key, runs in table.groupby(keys, sort=False):
        arch = presets.ASYNC if key[1] == "async" else presets.SIMPLE
        steady = stable(scenario.with_(architecture=arch, **{keys[0]: key[0]}))
        out[key] = {c: _shown(stats.reported(runs[c], steady)) for c in columns}
    return pd.DataFrame.from_dict(out, orient="index").rename_axis(keys)


def _shown(value) -> str:
    return value if isinstance(value, str) else f"{value:.1f}"


def limiter(scenario: Scenario) -> Policy:
    """A client-side limiter matched to the provider's per-second rate: a bucket refilled at
    the requests/minute limit / 60 per second that holds one rate window's worth (at least 1):
    the caller waits instead of drawing a 429."""
    rpm, window = scenario.llm.requests_per_minute, scenario.llm.rate_window
    return Policy(rate_limit=RateLimit(per_second=rpm / 60, burst=max(1.0, rpm * window / 60)))


def near_the_limit(scenario: Scenario, rates=(0.3, 0.4), seeds=range(6)) -> pd.DataFrame:
    """Sync and async near the provider's requests/minute limit (the scenario's), each with the
    provider's 1 s window, with the first edition's 60 s window, without the SDK's retries, and
    with a client-side :func:`limiter`: one summary row per (rate, provider, design, seed)."""
    variants = {"1 s window": {}, "60 s window": {"llm.rate_window": 60.0},
                "1 s, no SDK retries": {"llm.sdk_retries": 0},
                "1 s + client limiter": {"resilience.llm": limiter(scenario)}}
    runs = []
    for rate in rates:
        for name, changes in variants.items():
            for arch in (presets.SIMPLE, presets.ASYNC):
                one = scenario.with_(architecture=arch, **{"workload.arrival_rate": rate},
                                     **changes)
                runs.append(replicate(one, seeds=seeds, progress=False).reset_index().assign(
                    **{"workload.arrival_rate": rate, "provider": name,
                       "design": arch.execution}))
    return pd.concat(runs, ignore_index=True)
