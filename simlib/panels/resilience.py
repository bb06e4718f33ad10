"""Faults and resilience: the explorers and helpers of notebook 04.

Two systems. :func:`simlib.presets.busy_qa_bot` is a small chat service (one LLM call of about
3 s per turn on 2 workers of 4 slots, 2 turns/s: about 80% busy) that meets the three kinds of
trouble of production (network issues, limited resources, unpredictable users) and the patterns
that answer them: retries, a circuit breaker, load shedding, a fallback
(:func:`patterns_panel`). The retry storm is ``sl.presets.retry_storm``: one LLM endpoint of
capacity 10 calls/s, callers that time out after 1 s without cancelling and retry 3 times at
once; :func:`storm_fixes` changes one policy at a time to see which one prevents its metastable
collapse, and :func:`storm_panel` explores it with the :func:`attempts` chart (LLM attempts per
second against the endpoint's capacity).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import plots, presets
from ..capacity import llm_capacity
from ..faults import windows
from ..metrics import measured
from ..records import Result
from ..resilience import Bulkhead, CircuitBreaker, Fallback, LoadShedding, Retry, RetryBudget
from ..scenario import Scenario
from ..widgets import Explorer, explore, flash_crowd, latency_spike, outage, pick, slider

BREAKER = CircuitBreaker(failure_threshold=0.5, window=30.0, min_calls=5, open_time=10.0)
"""The breaker of this notebook: opens for 10 s when at least half of the calls that ended in the
last 30 s (5 at least) failed. It wraps the retries, so it counts a call once, after its last
attempt: a slow, retried call reaches it late."""
BUDGET = RetryBudget(ratio=0.1, max_tokens=10.0)
"""The retry budget: about one retry per ten successes, at most 10 in a burst."""
BACKOFFS = {"immediate": ("none", 0.0, 0.0), "exponential, no jitter": ("none", 0.5, 10.0),
            "full jitter": ("full", 0.5, 10.0), "equal jitter": ("equal", 0.5, 10.0),
            "decorrelated jitter": ("decorrelated", 0.5, 10.0)}
"""Backoff choices of the storm panel: name -> (kind, base, cap)."""
SAMPLE_EVERY = 1.0
"""Seconds between timeline samples in this notebook's storms: a collapse is read from the turns
table (``presets.SINCE``), and a coarser timeline makes a healthy run about twice as fast."""


def storm_fixes(scenario: Scenario) -> dict[str, Scenario]:
    """The storm scenario with one policy changed at a time (and the preset's safe set): no
    retries; backoff with full jitter; a retry budget; timeouts that cancel the call; a circuit
    breaker; a bulkhead (1 call in progress, 10 waiting, the rest refused at once). The backoff
    and the budget are the preset's own (``safe=True``), taken apart."""
    safe = presets.retry_storm(safe=True).resilience.llm.retry
    changes = {
        "no retries": {"retry": None},
        "backoff + full jitter": {"retry": safe, "retry.budget": None},
        "retry budget (10%)": {"retry.budget": safe.budget},
        "timeout cancels the call": {"timeout.cancel": True},
        "circuit breaker": {"breaker": BREAKER},
        "bulkhead (1 + 10 waiting)": {"bulkhead": Bulkhead(max_concurrent=1, max_queue=10)},
        "jitter + budget (preset safe)": {"retry": safe},
    }
    return {name: scenario.with_(**{f"resilience.llm.{k}": v for k, v in change.items()})
            for name, change in changes.items()}


# -- measurements --------------------------------------------------------------------------------


def retry_sleeps(result: Result) -> pd.Series:
    """The backoff sleep before the first retry, one per measured turn that took exactly two
    attempts: latency - 2 x service. Exact when the scenario has a deterministic LLM time, no
    output tokens, no CPU and no queueing (``presets.mmc`` with many servers, ``kind=
    "deterministic"``): a retried attempt takes the same time as the first."""
    turns = measured(result.turns)
    two = turns[(turns["attempts"] == 2) & (turns["outcome"] == "ok")]
    return two["latency"] - 2 * result.scenario.llm.ttft.mean


def attempts_per_second(result: Result, bucket: float = 10.0) -> pd.Series:
    """LLM attempts per second (retries included), by the arrival time of their turn, in
    buckets of ``bucket`` seconds (index: the bucket's middle)."""
    turns = result.turns
    return plots.per_second(turns["arrival"], turns["attempts"], result.scenario.duration,
                            bucket)


def ok_per_second(result: Result, bucket: float = 10.0) -> pd.Series:
    """Turns answered ok per second, by finish time, in buckets (0 where none finished)."""
    turns = result.turns
    done = turns[turns["outcome"] == "ok"]["finish"]
    return plots.per_second(done, None, result.scenario.duration, bucket)


def waiting_abandoned(result: Result) -> float:
    """Abandoned calls in the system on average: wasted work (call-seconds that calls ran on,
    queued or served, after their caller gave up) over the measured seconds (Little's law)."""
    scenario = result.scenario
    return float(result.summary()["wasted_work"] / (scenario.duration - scenario.warmup))


# -- charts --------------------------------------------------------------------------------------

PALETTE = ("#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#9c755f")


def _attempts_figure(results: Mapping[str, Result], scenario: Scenario,
                     colours: Mapping[str, str], styled: bool = True) -> go.Figure:
    """Attempts per second (solid) and ok answers per second (dotted) per run, and the LLM's
    capacity (dashed grey), with fault windows shaded."""
    fig = go.Figure()
    for name, result in results.items():
        rate, done = attempts_per_second(result), ok_per_second(result)
        fig.add_scatter(x=rate.index, y=rate.to_numpy(), mode="lines", name=f"{name}: attempts",
                        line={"color": colours[name]})
        fig.add_scatter(x=done.index, y=done.to_numpy(), mode="lines", name=f"{name}: ok answers",
                        line={"color": colours[name], "dash": "dot"})
    capacity = llm_capacity(scenario)
    fig.add_scatter(x=[0.0, scenario.duration], y=[capacity, capacity] if np.isfinite(capacity)
                    else [None, None], mode="lines", name="LLM capacity",
                    line={"color": plots.COLOURS["formula"], "dash": "dash"})
    return plots.layout(plots.shade(fig, windows(scenario)), "time (s)", "per second",
                        "LLM attempts and ok answers", styled)


def storm_figure(results: Mapping[str, Result]) -> go.Figure:
    """One run per policy (same seed): LLM attempts per second against its capacity, and ok
    answers per second. A storm is attempts pinned far above the answers after the trigger."""
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(results)}
    scenario = next(iter(results.values())).scenario
    return _attempts_figure(results, scenario, colours)


def attempts(results: Mapping[str, Result], scenario: Scenario, styled: bool = True) -> go.Figure:
    """The storm panel's chart: :func:`storm_figure` for an explorer's designs."""
    colours = {name: plots.COLOURS.get(name, PALETTE[0]) for name in results}
    return _attempts_figure(results, scenario, colours, styled)


# -- controls' effects ---------------------------------------------------------------------------


def _backoff(scenario: Scenario, choice: tuple[str, float, float]) -> Scenario:
    """The LLM's retry with the backoff of a :data:`BACKOFFS` choice (kind, base and cap)."""
    kind, base, cap = choice
    return scenario.with_(**{"resilience.llm.retry.backoff": kind,
                             "resilience.llm.retry.base": base, "resilience.llm.retry.cap": cap})


def _retries(scenario: Scenario, retries: int) -> Scenario:
    """Retries of a failed LLM call, full-jitter backoff from 0.2 s (0 = none)."""
    retry = Retry(retries, "full", 0.2, 10.0) if retries else None
    return scenario.with_(**{"resilience.llm.retry": retry})


def _shedding(scenario: Scenario, wait: float) -> Scenario:
    """Turns that wait longer than ``wait`` for a worker are shed (0 = no shedding)."""
    return scenario.with_(**{"resilience.shedding": LoadShedding(max_wait=wait) if wait
                             else None})


# -- the explorers -------------------------------------------------------------------------------


def storm_panel(seed: int = 0) -> Explorer:
    """The retry storm: one LLM endpoint (capacity 10 calls/s), 1 s timeouts, retries.

    Controls: the arrival rate; an LLM slow-down (x times slower from 60 to 80 s: the
    trigger); retries, their backoff, the timeout and whether it cancels the abandoned call;
    a retry budget; a circuit breaker. Charts: LLM attempts per second (solid, by the arrival
    of their turn) against the endpoint's capacity (dashed) and ok answers per second
    (dotted); how the measured turns ended. 160 s per run, 50 s of warm-up.

    What to try:

    - at 4 turns/s, set the slow-down to 10: during the spike every call times out and is
      retried at once; attempts jump far above the capacity line and *stay* there after the
      spike ends, while ok answers fall to zero: the overload feeds itself;
    - switch on the retry budget, or make the timeout cancel the call, or the breaker: the
      spike still hurts, but the system is back within seconds of its end;
    - try the backoff kinds with the budget off: jitter spreads the retries in time but sends
      as many, so the storm stays;
    - lower the rate: at 1.5 turns/s the same spike passes (6 attempts/s fit under the
      capacity, and the backlog drains); at 2 it drains too, but slower than this run is long;
      at 3 it never does. With no trigger, at 4 or 5 turns/s a seed now and then collapses on
      its own: try a few seeds.
    """
    # the slow-down control is the trigger
    scenario = presets.retry_storm(4.0, duration=160.0, sample_every=SAMPLE_EVERY)
    controls = [
        slider("arrival rate (turns/s)", 1.0, 5.0, 0.5, 4.0, "workload.arrival_rate"),
        latency_spike("llm", start=60.0, duration=20.0, label="LLM slow-down x (60-80 s)"),
        slider("retries", 0, 5, 1, 3, "resilience.llm.retry.retries", integer=True),
        pick("backoff", BACKOFFS, "immediate", _backoff),
        slider("timeout (s)", 0.5, 5.0, 0.5, 1.0, "resilience.llm.timeout.seconds"),
        pick("abandoned call", {"keeps running": False, "is cancelled": True}, "keeps running",
             "resilience.llm.timeout.cancel"),
        pick("retry budget", {"off": None, "10% of successes": BUDGET}, "off",
             "resilience.llm.retry.budget"),
        pick("circuit breaker", {"off": None, "on": BREAKER}, "off", "resilience.llm.breaker"),
    ]
    return explore(scenario, controls, views=[attempts, "outcomes"], seed=seed)


def patterns_panel(seed: int = 0) -> Explorer:
    """The chat service of :func:`simlib.presets.busy_qa_bot` in trouble, and the patterns that
    answer it.

    Trouble (each from 150 to 210 s): an LLM brown-out (a share of calls fail: network issues
    on the way to the provider, or the provider itself), an LLM slow-down, a flash crowd
    (unpredictable users); and limited resources (worker slots). Patterns: retries with full
    jitter, a circuit breaker, load shedding on queue wait, a fallback answer (a cheaper model,
    0.3 s, counted as degraded). Charts: how turns ended, and turns in the system.

    What to try:

    - brown-out 0.3: about 30% of the window's turns fail; 2 or 3 retries rescue nearly all
      of them (1 - 0.3^(N+1)) for a few more calls;
    - brown-out 1 (a full outage) with 3 retries: fewer failures, but each failing turn holds
      its slot for four 3 s attempts, so a queue builds (the in-system bump); add the breaker:
      calls fail at once, the queue vanishes; add the fallback: the failures become degraded
      answers;
    - flash crowd x3, or slow-down x4: the queue and the latency grow for the whole window and
      beyond; shed after 10 s: some turns are refused, the rest are answered in time;
    - drop the slots to 2 per worker: the same trouble hurts far more when capacity is tight.
    """
    controls = [
        slider("arrival rate (turns/s)", 0.5, 3.0, 0.25, 2.0, "workload.arrival_rate"),
        flash_crowd(start=150.0, duration=60.0, label="flash crowd x (150-210 s)"),
        slider("slots per worker (2 workers)", 1, 8, 1, 4, "workers.slots", integer=True),
        outage("llm", start=150.0, duration=60.0, label="LLM brown-out error rate"),
        latency_spike("llm", start=150.0, duration=60.0, label="LLM slow-down x"),
        slider("LLM retries (full jitter)", 0, 5, 1, 0, _retries, integer=True),
        pick("circuit breaker", {"off": None, "on": BREAKER}, "off", "resilience.llm.breaker"),
        slider("shed after waiting (s, 0 = never)", 0.0, 60.0, 5.0, 0.0, _shedding),
        pick("fallback", {"off": None, "cheaper model (0.3 s)": Fallback()}, "off",
             "resilience.fallback"),
    ]
    return explore(presets.busy_qa_bot(), controls, views=["outcomes", "in_system"], seed=seed)
