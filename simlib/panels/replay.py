"""Panels and helpers of notebook 07 (real traces): replay real traffic, and its Poisson twin.

A queueing formula is a promise made about a Poisson process: requests that arrive
independently, at a steady rate. Real traffic keeps the promise on average and breaks it in
detail. Think of a lift in an office tower: a hundred people an hour is nothing if they come one
at a time, and a queue in the lobby if they all arrive at 9:00. Same mean rate, different
answer. This module replays three public traces (Azure LLM inference 2023, conversation and code,
and the RAGPulse sessions) through a design, next to each trace's *Poisson twin*
(:func:`simlib.presets.from_trace` with ``replay=False``: the same mean rate, token sizes and
session lengths, with independent arrivals), and measures what the difference costs.

The originals are not shipped. :func:`find` looks for them in a folder you name (the ``trace_dir``
argument or the ``SIMLIB_TRACE_DIR`` environment variable) and then beside the repository.
Without them :func:`load` builds a stand-in from ``data/`` (:func:`standin`): each minute's
request count of the original, token sizes from the quantile tables, no sessions. It keeps the
bursts of a minute or more and loses the faster ones, so the full lesson needs the originals.

Two explorers: :func:`replay_panel` (one trace, replay or twin, load, slots, an LLM slow-down)
and :func:`sessions_panel` (RAGPulse sessions, stateless against stateful). The formulas a
replay is held against are :func:`simlib.capacity.service_time` and
:func:`simlib.capacity.allen_cunneen_wait`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import capacity, plots, presets, stats, traces
from ..engine import run
from ..experiment import replicate, sweep
from ..scenario import Scenario
from ..traces import Trace
from ..widgets import Control, Explorer, crash, explore, latency_spike, pick, slider

ENV = "SIMLIB_TRACE_DIR"
"""The environment variable that names a folder holding the original traces."""

COLOURS = {"replay": "#e15759", "Poisson twin": "#4e79a7"}
ARRIVALS = ("replay", "Poisson twin")


@dataclass(frozen=True)
class Piece:
    """The part of a trace the notebook replays: ``[start, end)`` seconds of the original,
    played ``speed`` times faster, on ``count`` workers of ``slots`` slots, with a p95 target
    (also the SLO) of ``target`` seconds."""

    start: float
    end: float
    speed: float
    count: int
    slots: int
    target: float


PIECES = {
    "azure-conv": Piece(0.0, 900.0, 1.0, 2, 12, 10.0),
    "azure-code": Piece(0.0, 1200.0, 1.0, 2, 4, 5.0),
    "ragpulse": Piece(0.0, 86_400.0, 144.0, 4, 4, 12.0),
}
"""15 minutes of conversation, 20 minutes of code, and RAGPulse's first day squeezed into 600 s
(144 times faster: the shape of a day at 144 times its traffic)."""


# -- finding and loading -----------------------------------------------------------------------


def find(name: str, trace_dir: str | Path | None = None) -> Path | None:
    """The original trace ``name`` ("azure-conv", "azure-code", "ragpulse"), or None.

    Looks in ``trace_dir`` (else the folder in ``$SIMLIB_TRACE_DIR``), laid out like
    ``../shared/data`` or flat, then in ``../shared/data`` (:func:`simlib.traces.find`)."""
    return traces.find(name, trace_dir or os.environ.get(ENV))


def summary() -> pd.DataFrame:
    """``data/traces_summary.csv``: one row per original trace (always present in the repo)."""
    return pd.read_csv(traces.DATA / "traces_summary.csv", comment="#").set_index("trace")


def minute_counts(name: str) -> np.ndarray:
    """Requests that arrived in each minute of the whole original, from the table that ships in
    ``data/<name>_arrivals.csv`` (made by ``data/derive.py``)."""
    table = pd.read_csv(traces.DATA / f"{name}_arrivals.csv", comment="#")
    return table.sort_values("minute")["requests"].to_numpy(dtype=int)


def standin(name: str, seed: int = 0) -> Trace:
    """A stand-in for a whole original from ``data/``: every minute's request count from
    :func:`minute_counts`, each request at a random time inside its minute; token sizes from
    the quantile table (:func:`simlib.traces.from_quantiles`); no sessions. It keeps the
    bursts and silences that last a minute or more, and loses everything faster (and RAGPulse's
    sessions): a drift twin (:func:`drift_twin`) of the original at 60-s bins."""
    counts = minute_counts(name)
    rng = np.random.default_rng(seed)
    minutes = np.repeat(np.arange(len(counts)), counts)
    times = np.sort(60.0 * minutes + rng.uniform(0, 60, len(minutes)))
    tokens = traces.from_quantiles(traces.DATA / f"{name}_tokens.csv", n=len(times), seed=seed)
    return Trace(f"{name} (stand-in)", times, tokens.prompt_tokens,
                 tokens.output_tokens, None, tokens.source)


def load(name: str, trace_dir: str | Path | None = None) -> Trace:
    """The whole original trace if :func:`find` finds it, else its :func:`standin`."""
    path = find(name, trace_dir)
    return traces.load(path) if path is not None else standin(name)


def source(trace: Trace) -> str:
    """Where a loaded trace came from, without the machine's folders: the original's file name,
    or the stand-in's quantile table."""
    path = Path(trace.source)
    if trace.name.endswith("(stand-in)"):
        return (f"stand-in from data/{path.name.replace('_tokens', '_arrivals')} and "
                f"{path.name} (per-minute counts)")
    return f"original {path.parent.name}/{path.name}"


def piece(trace: Trace, name: str | None = None) -> Trace:
    """The notebook's piece of a whole trace (:data:`PIECES`): cut, then sped up."""
    p = PIECES[name or _base(trace)]
    return trace.window(p.start, p.end).scaled(p.speed)


def _base(trace: Trace) -> str:
    return trace.name.removesuffix(" (stand-in)").removesuffix(" (drift twin)")


# -- scenarios ---------------------------------------------------------------------------------


def scenario(trace: Trace, replay: bool = True, name: str | None = None, **changes) -> Scenario:
    """``presets.from_trace`` on the trace's piece size: the Q&A bot (one LLM call a turn),
    stateless, sync, a monolith, on the :data:`PIECES` workers and slots, with the p95 target as
    its SLO. ``replay=False`` gives the Poisson twin. ``changes`` in ``with_`` form."""
    p = PIECES[name or _base(trace)]
    base = {"workers.count": p.count, "workers.slots": p.slots, "slo_latency": p.target}
    return presets.from_trace(trace, replay=replay, **{**base, **changes})


def compare(trace: Trace, seeds=range(8), **changes) -> pd.DataFrame:
    """Replay and Poisson twin of ``trace`` on the same design: one summary row per
    (arrivals, seed). A replay's seeds vary only the service side (time to first token, CPU,
    routing); the twin's also vary the arrivals and the token sizes."""
    frames = [replicate(scenario(trace, kind == "replay", **changes), seeds=seeds,
                        progress=False).reset_index().assign(arrivals=kind) for kind in ARRIVALS]
    return pd.concat(frames, ignore_index=True)


def size(trace: Trace, grid: dict, seeds=range(3), **changes) -> pd.DataFrame:
    """:func:`simlib.sweep` over ``grid`` (dotted path -> values) for the replay and for the
    twin, stacked, with an ``arrivals`` column."""
    frames = [sweep(scenario(trace, kind == "replay", **changes), grid, seeds=seeds,
                    progress=False).assign(arrivals=kind) for kind in ARRIVALS]
    return pd.concat(frames, ignore_index=True)


def smallest(table: pd.DataFrame, path: str, target: float,
             column: str = "latency_p95") -> dict[str, object]:
    """Per arrivals kind, the smallest value of ``path`` whose mean ``column`` over the seeds
    is within ``target`` (None if no value in the sweep is)."""
    means = table.groupby(["arrivals", path])[column].mean()
    out = {}
    for kind in ARRIVALS:
        ok = means[kind][means[kind] <= target] if kind in means.index else means.iloc[:0]
        out[kind] = ok.index.min().item() if len(ok) else None
    return out


# -- burstiness --------------------------------------------------------------------------------


def burstiness(trace: Trace, bucket: float = 10.0) -> dict[str, float]:
    """How bursty a trace is: mean rate, inter-arrival CV (1 for Poisson), dispersion of the
    counts in ``bucket``-second bins (variance / mean, 1 for Poisson: see
    :class:`simlib.traces.Trace`, which ``data/derive.py`` uses too), the busiest bin's rate as
    a multiple of the mean, and the longest silence."""
    counts = np.bincount((trace.times // bucket).astype(int))
    return {"rate": trace.rate, "cv": trace.interarrival_cv(),
            "dispersion": trace.dispersion(bucket),
            "peak": float(counts.max() / bucket / trace.rate),
            "max_gap": float(np.diff(trace.times).max())}


def fluid_wait(trace: Trace, mean_service: float, slots: int, bucket: float = 10.0) -> float:
    """The mean queue wait a *fluid* model predicts from the counts in ``bucket``-second bins
    (the arithmetic notebook 00 uses for a slow minute and a flash crowd): each bin brings
    ``count x mean_service`` seconds of work, the slots clear ``slots x bucket`` of it, and the
    rest is a backlog carried to the next bin. A request waits for the backlog in front of it
    over the slots (the mean of the backlog at the start and the end of its bin). It ignores
    the randomness inside a bin, so it misses the small waits of Poisson traffic, and sees the
    long ones of bursts."""
    counts = np.bincount((trace.times // bucket).astype(int)).astype(float)
    backlog, waits = 0.0, np.zeros(len(counts))
    for k, n in enumerate(counts):
        after = max(0.0, backlog + n * mean_service - slots * bucket)
        waits[k] = (backlog + after) / 2 / slots
        backlog = after
    return float((counts * waits).sum() / counts.sum())


def drift_twin(trace: Trace, bucket: float = 60.0, seed: int = 0) -> Trace:
    """``trace`` with each request moved to a random time inside its own ``bucket``-second bin:
    the rate drifts from bin to bin exactly as in the trace, but inside a bin the arrivals are
    Poisson-like. Replaying it against the replay and the twin says how much of a trace's
    extra wait comes from the drifting rate alone."""
    rng = np.random.default_rng(seed)
    start = (trace.times // bucket) * bucket
    times = start + rng.uniform(0, bucket, len(trace))
    order = np.argsort(times, kind="stable")
    return Trace(f"{trace.name} (drift twin)", times[order],
                 trace.prompt_tokens[order], trace.output_tokens[order],
                 None if trace.sessions is None else trace.sessions[order], trace.source)


def utilisation(trace: Trace, changes: dict | None = None) -> float:
    """Offered load of ``trace``'s piece design with ``changes``: requests/s x mean service
    time (:func:`simlib.capacity.service_time`) over the slots. At 1 or more the queue has no
    steady state: a number measured on it is reported as unstable."""
    design = scenario(trace, **(changes or {}))
    mean, _ = capacity.service_time(design, trace)
    return trace.rate * mean / (design.workers.count * design.workers.slots)


def stable_ci(table: pd.DataFrame, trace: Trace, column: str, path: str,
              by: str = "arrivals", within=stats.COUNT) -> pd.Series:
    """Per (``by``, value of ``path``): the mean of ``column`` with its interval, or
    "unstable" where the design's offered load (:func:`utilisation`) is 1 or more
    (:func:`simlib.stats.reported`)."""
    out = {}
    for (kind, value), part in table.groupby([by, path], sort=False):
        steady = utilisation(trace, {path: value}) < 1
        out[(kind, value)] = stats.reported(part[column], steady, within=within)
    return pd.Series(out)


def quota_sweep(trace: Trace, factors, seeds=range(3), base_tier: int = 2,
                **changes) -> pd.DataFrame:
    """The piece on 40-thread workers against a provider with Anthropic's ``base_tier``
    limits (:func:`simlib.presets.tier`) times each of ``factors``, replay and twin: one row
    per (arrivals, factor, seed) with the share of turns refused (429, after the SDK's own
    retries) and the p95 of every turn, failed ones included."""
    rows = []
    limits = presets.tier(base_tier)
    for factor in factors:
        quota = {k: v * factor for k, v in limits.items()}
        for kind in ARRIVALS:
            design = scenario(trace, kind == "replay", **{"workers.slots": 40, **quota,
                                                         **changes})
            table = replicate(design, seeds=seeds, progress=False).reset_index()
            rows.append(table.assign(refused=table["cause_rate_limited"] / table["arrivals"],
                                     arrivals=kind, factor=float(factor)))
    return pd.concat(rows, ignore_index=True)


flip = stats.crossing
"""Where a swept curve first crosses a level (:func:`simlib.stats.crossing`)."""


def first_below(table: pd.DataFrame, path: str, column: str, level: float,
                by: str = "arrivals") -> dict[str, float | None]:
    """Per ``by`` value, where the mean of ``column`` over the seeds first falls to ``level``
    as ``path`` grows (:func:`flip`, interpolated; the smallest value if
    it starts below; None if it never does)."""
    out = {}
    for kind, part in table.groupby(by, sort=False):
        means = part.groupby(path)[column].mean()
        below = means.to_numpy() <= level
        out[kind] = float(means.index[0]) if below[0] else flip(means.index, means, level)
    return out


def sticky_ratio(trace: Trace, slots, seeds=range(3), **changes) -> pd.DataFrame:
    """Stateful over stateless p95 on the replay of ``trace`` for each number of ``slots``
    per worker (the piece's workers): one row per slots value with both p95s (mean over the
    seeds), their ratio, and whether the design is stable (:func:`utilisation` below 1)."""
    grid = {"workers.slots": list(slots), "architecture.state": ["stateless", "stateful"]}
    table = sweep(scenario(trace, **changes), grid, seeds=seeds, progress=False)
    p95 = table.groupby(["workers.slots", "architecture.state"])["latency_p95"].mean().unstack()
    p95["ratio"] = p95["stateful"] / p95["stateless"]
    p95["stable"] = [utilisation(trace, {"workers.slots": n, **changes}) < 1 for n in p95.index]
    return p95


def cached_share(trace: Trace, seed: int = 0, **changes) -> float:
    """Share of the input tokens the provider's prompt cache served (by prefix) in one run of
    the replay of ``trace``'s piece design with ``changes``."""
    turns = run(scenario(trace, **changes), seed).turns
    return float(turns["tokens_cached"].sum() / turns["tokens_in"].sum())


def ratio_figure(table: pd.DataFrame, level: float, title: str) -> go.Figure:
    """The stateful / stateless p95 ratio against slots per worker (log x), the ``level``
    dashed; unstable points (load 1 or more) drawn hollow."""
    fig = go.Figure()
    fig.add_scatter(x=table.index, y=table["ratio"], mode="lines+markers", name="replay",
                    marker={"symbol": ["circle" if s else "circle-open" for s in table["stable"]],
                            "size": 10, "color": COLOURS["replay"]})
    fig.add_hline(y=level, line_dash="dash", line_color=plots.COLOURS["formula"])
    fig.update_xaxes(type="log")
    return plots.layout(fig, "slots (threads) per worker", "p95 stateful / p95 stateless", title)


def quota_figure(table: pd.DataFrame, level: float, title: str) -> go.Figure:
    """Share of turns refused against the quota (a multiple of the tier's limits, log x), replay
    and twin, with 95% CI bars; ``level`` dashed."""
    fig = go.Figure()
    for kind, part in table.groupby("arrivals", sort=False):
        cis = [stats.confidence_interval(g["refused"], within=stats.SHARE)
               for _, g in part.groupby("factor")]
        x = sorted(part["factor"].unique())
        y = np.array([c.mean for c in cis])
        fig.add_scatter(x=x, y=y, mode="lines+markers", name=kind,
                        line={"color": COLOURS[kind]},
                        error_y={"type": "data", "array": np.array([c.high for c in cis]) - y,
                                 "arrayminus": y - np.array([c.low for c in cis])})
    fig.add_hline(y=level, line_dash="dash", line_color=plots.COLOURS["formula"])
    fig.update_xaxes(type="log")
    return plots.layout(fig, "quota, as a multiple of tier 2's limits", "share of turns refused",
                        title)


# -- figures -----------------------------------------------------------------------------------


def counts_figure(by_name: dict[str, Trace], bucket: float = 10.0,
                  title: str = "Same hour, same provider: arrivals per 10 s") -> go.Figure:
    """Requests per second in ``bucket``-second bins over time, one line per trace, each with
    its mean rate dotted: the same mean can hide very different minutes."""
    fig = go.Figure()
    for (name, trace), colour in zip(by_name.items(), ("#4e79a7", "#e15759", "#59a14f"),
                                     strict=False):
        counts = np.bincount((trace.times // bucket).astype(int))
        fig.add_scatter(x=(np.arange(len(counts)) + 0.5) * bucket, y=counts / bucket,
                        mode="lines", name=name, line={"color": colour, "width": 1.2})
        fig.add_hline(y=trace.rate, line={"color": colour, "dash": "dot"})
    return plots.layout(fig, "time (s)", f"requests / s ({bucket:g}-s bins)", title)


def sizing_figure(table: pd.DataFrame, path: str, target: float, title: str) -> go.Figure:
    """p95 latency against ``path`` (mean and 95% interval over the seeds), replay against
    Poisson twin, with the p95 target as a dashed line (log scale: the replay is far above)."""
    fig = go.Figure()
    for kind in ARRIVALS:
        points = stats.mean_with_ci(table[table["arrivals"] == kind], path, "latency_p95")
        fig.add_scatter(x=points[path], y=points["mean"], mode="lines+markers", name=kind,
                        line={"color": COLOURS[kind]},
                        error_y={"type": "data", "array": points["high"] - points["mean"],
                                 "arrayminus": points["mean"] - points["low"]})
    fig.add_hline(y=target, line={"color": plots.COLOURS["formula"], "dash": "dash"},
                  annotation_text=f"target {target:g} s")
    fig.update_yaxes(type="log")
    return plots.layout(fig, path, "p95 latency (s)", title)


# -- explorers ---------------------------------------------------------------------------------


def arrivals_control(twin: Scenario) -> Control:
    """A dropdown between the replay (the scenario as it is) and the workload of ``twin``."""
    def apply(scenario: Scenario, workload) -> Scenario:
        return scenario if workload is None else scenario.with_(workload=workload)
    return pick("arrivals", dict(zip(ARRIVALS, (None, twin.workload), strict=True)), "replay",
                apply)


def speed_control(speed: float, rate: float, high: float) -> Control:
    """A speed-up slider (0.5 to ``high``): a replay plays ``speed x`` the slider value times
    faster than the original (``workload.replay_speed``); the twin arrives at ``rate x`` it."""
    def apply(s: Scenario, v: float) -> Scenario:
        if s.workload.replay is not None:
            return s.with_(**{"workload.replay_speed": speed * v})
        return s.with_(**{"workload.arrival_rate": rate * v})
    return slider("speed-up x", 0.5, high, 0.25, 1.0, apply)


def _replayed(trace: Trace, name: str, start: float, speed: float, duration: float,
              high: float, **changes) -> tuple[Scenario, list[Control]]:
    """A panel's scenario, replaying ``trace`` from ``start`` at ``speed`` for ``duration``
    seconds (cut to what the top speed-up ``high`` can reach: a shorter trace replays faster),
    and its arrivals and speed-up controls. The twin has the mean rate of the first
    ``duration`` seconds at speed-up 1."""
    part = trace.window(start, start + duration * speed * high + 1)
    first = part.window(0.0, duration * speed).scaled(speed)
    twin = scenario(first, False, name, duration=duration, **changes)
    base = scenario(part, True, name, duration=duration, **changes)
    controls = [arrivals_control(twin),
                speed_control(speed, twin.workload.arrival_rate, high)]
    return base.with_(**{"workload.replay_speed": speed}), controls


def replay_panel(name: str = "azure-code", trace: Trace | None = None, seed: int = 0,
                 duration: float = 300.0) -> Explorer:
    """One trace through one design (stateless, sync, monolith), replayed or as its Poisson
    twin, for its first ``duration`` seconds. ``trace`` is the whole trace (default:
    :func:`load` of ``name``).

    Controls: arrivals (replay or Poisson twin, same mean rate), a speed-up (the replay plays
    faster; the twin's rate grows by the same factor), slots per worker (2 workers) and an LLM
    slow-down (x times slower for 60 s from t = 180 s). Charts: turns in the system and the
    latency distribution of ok turns.

    What to try (on the code trace):

    - flip between replay and twin: the twin's in-system line hovers at a few turns, the
      replay's jumps past a hundred in the burst after 180 s and takes a while to drain; the
      latency curves part at the tail;
    - raise the slots per worker until the replay's latency curve is as steep as the twin's:
      count how many more slots the real traffic needs for the same p95;
    - speed the twin up to 2x: it stays calm. Speed the replay to 2x: its bursts get taller;
    - the 3x LLM slow-down lands on that burst: it costs the replay far more than the twin,
      because it strikes when the queue is already long.
    """
    trace = trace if trace is not None else load(name)
    p = PIECES[name]
    base, controls = _replayed(trace, name, p.start, p.speed, duration, 2.0)
    controls += [slider("slots per worker", 1, 16, 1, p.slots, "workers.slots", integer=True),
                 latency_spike("llm", start=180.0, duration=60.0, label="LLM slow-down x")]
    return explore(base, controls, views=["in_system", "latency_cdf"], seed=seed)


def sessions_panel(trace: Trace | None = None, seed: int = 0) -> Explorer:
    """RAGPulse sessions, stateless (any worker, context from the store) against stateful
    (each session pinned to one worker by a hash of its id), on the same arrivals: the first
    6 hours of the trace played 72 times faster (300 s), on 3 workers of 4 slots.

    Controls: arrivals (replay, with the real sessions and their gaps, or the Poisson twin),
    a speed-up, the number of workers and a crash of worker 0 at 150 s (its restart time).
    Charts: the latency distribution of ok turns and turns in the system.

    What to try: on the replay, the stateful curve sits to the right of the stateless one in
    the tail: sticky routing cannot move a turn to an idle worker, and bursts make that matter.
    Switch to the twin: the gap shrinks. Move the workers between 2 and 5: the gap is widest
    when they are busiest. Crash worker 0 for 60 s: both designs fail the turns that were on
    it; stateless spreads the rest over the other workers, stateful's pinned sessions move to
    a neighbour without their context (the error rate is in the table).
    """
    trace = trace if trace is not None else load("ragpulse")
    base, controls = _replayed(trace, "ragpulse", 0.0, 72.0, 300.0, 2.0,
                               **{"workers.count": 3})
    controls += [slider("workers", 2, 8, 1, 3, "workers.count", integer=True),
                 crash("workers", at=150.0, label="worker 0 crash: restart (s)")]
    return explore(base, controls, views=["latency_cdf", "in_system"],
                   compare=[presets.STATEFUL], seed=seed)
