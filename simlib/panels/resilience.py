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

from .. import plots, presets, stats
from ..capacity import llm_capacity
from ..engine import run
from ..experiment import run_many
from ..faults import Outage, Overloaded, windows
from ..metrics import measured
from ..records import Result
from ..resilience import (
    Bulkhead,
    CircuitBreaker,
    Fallback,
    LoadShedding,
    Policy,
    Retry,
    RetryBudget,
)
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


# -- layers of retries (the SDK's under the application's) ----------------------------------------


def layered_requests(p: float, retries: int, sdk_retries: int) -> float:
    """Requests per call when each of ``retries`` + 1 attempts of the application is an SDK
    call that itself tries ``sdk_retries`` + 1 times, every request failing independently with
    probability ``p``: the layers multiply, so a call makes up to ``(retries + 1)(sdk_retries +
    1)`` requests, and on average ``(1 - p^n) / (1 - p)`` of them (``n`` requests in all)."""
    n = (retries + 1) * (sdk_retries + 1)
    return float(n) if p >= 1 else (1 - p**n) / (1 - p)


def layered_success(p: float, retries: int, sdk_retries: int) -> float:
    """Share of calls that succeed through both layers: ``1 - p^((retries+1)(sdk_retries+1))``."""
    return 1 - p ** ((retries + 1) * (sdk_retries + 1))


def layered(error_rates=(0.1, 0.3, 0.5), retries: int = 3, sdk_retries: int = 2,
            seeds=range(6)) -> pd.DataFrame:
    """The provider overloaded (529, :class:`simlib.faults.Overloaded`) for a whole run at each
    of ``error_rates``; 64 servers for 2 calls/s of 1 s (nobody queues). One row per (rate,
    seed): LLM requests per call (SDK retries included), application attempts per call, and
    the share answered ok, over the measured turns that ended, with the two formulas beside
    them."""
    rows = []
    for p in error_rates:
        scenario = presets.mmc(2.0, 1.0, 64, duration=400.0, warmup=40.0,
                               faults=(Overloaded("llm", 0.0, 400.0, p),), **{
                                   "llm.sdk_retries": sdk_retries, "resilience.llm": Policy(
                                       retry=Retry(retries, "none", 0.0, 0.0))})
        for seed in seeds:
            result = run(scenario, seed)
            turns = measured(result.turns)
            turns = turns[turns["outcome"] != "in_flight"]  # the calls that ended
            rows.append({"error_rate": p, "seed": seed, "calls": len(turns),
                         "requests": float(turns["llm_calls"].mean()),
                         "attempts": float(turns["attempts"].mean()),
                         "success": float((turns["outcome"] == "ok").mean()),
                         "requests_formula": layered_requests(p, retries, sdk_retries),
                         "success_formula": layered_success(p, retries, sdk_retries)})
    return pd.DataFrame(rows)


# -- the storm against the arrival rate ----------------------------------------------------------


def storm_by_rate(collapses: Mapping[float, stats.CI]) -> pd.DataFrame:
    """Collapse probabilities (rate -> Wilson CI, e.g. from ``collapse_probability`` on
    ``presets.retry_storm(rate, trigger=True)``) as a table sorted by rate: mean, low, high."""
    return pd.DataFrame({rate: ci._asdict() for rate, ci in sorted(collapses.items())}).T \
        .rename_axis("rate")


def tipping_rate(table: pd.DataFrame, share: float = 0.5) -> float:
    """The first arrival rate of :func:`storm_by_rate` at which the collapse probability
    reaches ``share`` (nan if none does). Not interpolated: the storm tips abruptly, at
    capacity over tries, where the retried load reaches the endpoint's capacity."""
    hit = table.index[table["mean"].to_numpy(float) >= share]
    return float(hit[0]) if len(hit) else float("nan")


def rate_figure(table: pd.DataFrame, bound: float) -> go.Figure:
    """Collapse probability (95% Wilson interval) against the arrival rate after the trigger,
    with the rate from which retries can hold a collapse up (capacity over tries, dotted)."""
    fig = go.Figure()
    fig.add_scatter(x=table.index, y=table["mean"], mode="lines+markers", name="collapsed",
                    line={"color": PALETTE[1]}, error_y={
                        "type": "data", "symmetric": False, "array": table["high"] - table["mean"],
                        "arrayminus": table["mean"] - table["low"]})
    fig.add_vline(x=bound, line_dash="dot", line_color=plots.COLOURS["formula"])
    return plots.layout(fig, "arrival rate (turns/s; dotted: capacity over tries)",
                        "share of runs collapsed", "The storm: where retries tip it")


# -- an outage, fast or slow failures --------------------------------------------------------------

RETRY = Retry(3, "full", base=0.2, cap=10.0)
"""The application's retries in the outage experiments: 3, full jitter from 0.2 s."""
OUTAGE = Outage("llm", start=150.0, duration=60.0)
"""The outage of notebook 04: every call fails for 60 s from t = 150 s."""


def outage_setups() -> dict[str, dict]:
    """The four answers to an outage, as ``with_`` changes: no pattern; the application's
    retries (:data:`RETRY`); those retries inside the breaker (:data:`BREAKER`); and the
    breaker with a fallback to a cheaper model (counted ``degraded``)."""
    retries = {"resilience.llm": Policy(retry=RETRY)}
    breaker = {"resilience.llm": Policy(retry=RETRY, breaker=BREAKER)}
    return {"no pattern": {}, "retries": retries, "retries + breaker": breaker,
            "breaker + fallback": {**breaker, "resilience.fallback": Fallback()}}


def outage_runs(scenario: Scenario | None = None, seeds=range(8), n_jobs: int = 2) -> pd.DataFrame:
    """:data:`OUTAGE` on ``scenario`` (default :func:`simlib.presets.qa_service`) under each of
    :func:`outage_setups`: one summary row per (setup, seed)."""
    scenario = (scenario or presets.qa_service()).with_(faults=(OUTAGE,))
    setups = outage_setups()
    jobs = [(scenario.with_(**change), seed) for change in setups.values() for seed in seeds]
    rows = run_many(jobs, n_jobs=n_jobs, progress=False)
    table = pd.DataFrame(rows).reset_index(drop=True)
    table.insert(0, "setup", [name for name in setups for _ in seeds])
    table.insert(1, "seed", [seed for _ in setups for seed in seeds])
    return table


ERROR_LATENCIES = (0.2, 0.5, 1.0, 2.0, 4.0)
"""Median seconds a failed call takes to come back, over the realistic range: a refused
connection or a 5xx/529 in a fraction of a second (the default, 0.2 s), up to a struggling
provider that answers an error after seconds (a hung call waits for the client's timeout)."""


def failure_speed(latencies=ERROR_LATENCIES, seeds=range(5), setups=("no pattern",
                  "retries + breaker"), n_jobs: int = 2) -> pd.DataFrame:
    """The outage on :func:`simlib.presets.qa_service` for each median ``error_latency`` in
    ``latencies`` (None: after a full generation, the textbook provider) and each of
    ``setups``: one summary row per (error latency, setup, seed), 300 s runs."""
    base = presets.qa_service(duration=300.0).with_(faults=(OUTAGE,))
    changes = outage_setups()
    keys = [(lat, name, seed) for lat in latencies for name in setups for seed in seeds]
    jobs = [(base.with_(**presets.slow_failures(lat), **changes[name]), seed)
            for lat, name, seed in keys]
    table = pd.DataFrame(run_many(jobs, n_jobs=n_jobs, progress=False)).reset_index(drop=True)
    table.insert(0, "error_latency", [lat for lat, _, _ in keys])
    table.insert(1, "setup", [name for _, name, _ in keys])
    table.insert(2, "seed", [seed for _, _, seed in keys])
    return table


def breaker_gain(table: pd.DataFrame, column: str = "slo_attainment") -> pd.DataFrame:
    """Per error latency (:data:`FULL_GENERATION` for None): the breaker's paired gain over no
    pattern (``retries + breaker`` minus ``no pattern``, seed by seed) in ``column``, as mean,
    low and high."""
    rows = {}
    for lat, group in table.groupby("error_latency", sort=False, dropna=False):
        by = group.pivot(index="seed", columns="setup", values=column)
        key = FULL_GENERATION if pd.isna(lat) else float(lat)
        rows[key] = stats.difference(by["retries + breaker"], by["no pattern"])._asdict()
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("error_latency")


FULL_GENERATION = "full generation"
""":func:`breaker_gain`'s label for failures known only after a full generation."""


def crossings(gain: pd.DataFrame) -> list[float]:
    """Where the breaker's mean gain over no pattern changes sign, by linear interpolation
    between neighbouring error latencies of the grid (rows with an error latency only)."""
    gain = gain[[not isinstance(i, str) for i in gain.index]]
    x, y = np.asarray(gain.index, dtype=float), gain["mean"].to_numpy(float)
    return [float(x[i - 1] + (x[i] - x[i - 1]) * y[i - 1] / (y[i - 1] - y[i]))
            for i in range(1, len(x)) if (y[i - 1] > 0) != (y[i] > 0)]


def failure_speed_figure(table: pd.DataFrame) -> go.Figure:
    """Share of turns answered ok within the target against the failed call's median
    latency, one line per setup with its 95% intervals (log x)."""
    fig = go.Figure()
    known = table[table["error_latency"].notna()]
    for i, (name, group) in enumerate(known.groupby("setup", sort=False)):
        ci = stats.mean_with_ci(group, "error_latency", "slo_attainment")
        fig.add_scatter(x=ci["error_latency"], y=ci["mean"], name=name, mode="lines+markers",
                        line={"color": PALETTE[i]}, error_y={"type": "data", "symmetric": False,
                        "array": ci["high"] - ci["mean"], "arrayminus": ci["mean"] - ci["low"]})
    fig = plots.layout(fig, "median seconds for a failed call to come back (log)",
                       "share ok within 10 s", "An outage: does the breaker help?")
    fig.update_xaxes(type="log")
    return fig


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
    """The chat service of :func:`simlib.presets.qa_service` (the realistic provider: failures
    come back fast, the SDK retries twice) in trouble, and the patterns that answer it.

    Trouble (each from 150 to 210 s): an LLM brown-out (a share of calls fail: network issues
    on the way to the provider, or the provider itself), an LLM slow-down, a flash crowd
    (unpredictable users); and limited resources (worker slots). Patterns: retries with full
    jitter, a circuit breaker, load shedding on queue wait, a fallback answer (a cheaper model,
    0.3 s, counted as degraded). Charts: how turns ended, and turns in the system.

    What to try:

    - brown-out 0.3: the SDK's own two retries already rescue most calls (1 - 0.3^3 succeed);
      the application's retries rescue nearly all the rest;
    - brown-out 1 (a full outage) with 3 retries: each failing turn now makes up to 12
      requests (4 attempts x 3 SDK requests) and holds its slot through the SDK's backoffs, so
      a queue builds (the in-system bump); add the breaker: calls fail at once, the queue
      vanishes; add the fallback: the failures become degraded answers;
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
    return explore(presets.qa_service(), controls, views=["outcomes", "in_system"], seed=seed)
