"""Panels of notebook 00 (start here): one queue, held against the M/M/c formula.

The explorer here is the lab's simplest: ``presets.mmc`` is an agent reduced to a single queue
(requests arrive at random, wait for one of ``c`` workers, each takes an exponential 1 s of LLM
time on average), so every number it shows has a formula to check it against.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import simpy

from .. import plots, presets, theory
from ..experiment import replicate
from ..stats import confidence_interval
from ..widgets import Explorer, explore, flash_crowd, latency_spike, slider

SERVICE_MEAN = 1.0
"""Seconds of work per request in the panels' queue (one LLM call)."""


def mmc_panel(seed: int = 0, arrival_rate: float = 3.0, servers: int = 4,
              duration: float = 500.0) -> Explorer:
    """Explore an M/M/c queue: simulated p95 next to the Erlang C formula's p95.

    Controls: the arrival rate (0.4 to 3.9 requests per second, so that with the default 4
    workers utilisation runs from 10% to 97.5%), the number of workers (1 to 8), an LLM slow-down
    (every call x times slower for 60 s from t = 200 s) and a flash crowd (x times the arrival
    rate for 60 s from t = 200 s).

    What to try:

    - move the arrival rate up in steps and watch the p95 bar: each step raises it more than the
      step before (the mean wait grows like 1 / (1 - utilisation), convex everywhere, with no
      knee), and near full utilisation a small step costs seconds; the dashed line is the
      formula;
    - remove workers at 3 requests per second: with 3, utilisation is 100% and the formula line
      disappears (no steady state); with 2, the in-system curve climbs for the whole run, by
      about one request per second, instead of hovering;
    - add a 3x LLM slow-down: the formula does not change (it knows nothing about the fault), but
      the in-system curve piles up during the red window and takes a long time to drain, so the
      simulated p95 leaves the formula behind. A formula describes the steady state, not a bad
      minute;
    - add a 2x flash crowd at 3 requests per second: 6 arrive per second while 4 are served, so
      about 120 requests pile up in the minute, and drain at the spare 1 per second;
    - change the seed: one 500 s run is one draw, so the bar moves around the line; near full
      utilisation it moves a lot.
    """
    scenario = presets.mmc(arrival_rate, SERVICE_MEAN, servers, duration=duration,
                           warmup=50.0)
    controls = [
        slider("arrival rate (per s)", 0.4, 3.9, 0.1, arrival_rate, "workload.arrival_rate"),
        slider("workers", 1, 8, 1, servers, "workers.count", integer=True),
        latency_spike("llm", start=200.0, duration=60.0, label="LLM slow-down x"),
        flash_crowd(start=200.0, duration=60.0, label="flash crowd x"),
    ]
    return explore(scenario, controls=controls,
                   views=["p95_vs_formula", "latency_cdf", "in_system"], seed=seed)


# -- what predicts waiting: utilisation, servers and variability --------------------------------

SAME_UTILISATION = (("1 worker, exponential work", 1, "exponential"),
                    ("1 worker, constant work", 1, "deterministic"),
                    ("4 workers, exponential work", 4, "exponential"),
                    ("4 workers, constant work", 4, "deterministic"))
"""The queues :func:`same_utilisation` compares: (label, workers, service-time kind)."""

SCV = {"exponential": 1.0, "deterministic": 0.0}
"""Squared coefficient of variation of each service-time kind (variance / mean squared)."""


def wait_formula(rho: float, servers: int, kind: str, service_mean: float = SERVICE_MEAN) -> float:
    """Mean wait in the queue of Poisson arrivals at utilisation ``rho`` on ``servers`` workers:
    the Allen-Cunneen form of Kingman's formula, the M/M/c wait (Erlang C) times
    ``(1 + SCV of service) / 2`` (arrivals' SCV is 1 for Poisson). Exact for M/M/c and for M/D/1
    (Pollaczek-Khinchine); an approximation, good to a few percent, for M/D/c."""
    rate = rho * servers / service_mean
    return theory.mmc_wait(rate, service_mean, servers) * (1 + SCV[kind]) / 2


def waits_at(rho: float = 0.9, seeds=range(8), duration: float = 2000.0,
             warmup: float = 200.0) -> dict[str, pd.Series]:
    """The simulated mean wait in the queue of each run, per queue of
    :data:`SAME_UTILISATION`, every queue ``rho`` busy (arrival rate ``rho x workers / S``)."""
    out = {}
    for label, servers, kind in SAME_UTILISATION:
        scenario = presets.mmc(rho * servers / SERVICE_MEAN, SERVICE_MEAN, servers,
                               duration=duration, warmup=warmup, kind=kind)
        out[label] = replicate(scenario, seeds=seeds, progress=False)["mean_queue_wait"]
    return out


def same_utilisation(rho: float = 0.9, seeds=range(8), duration: float = 2000.0,
                     warmup: float = 200.0) -> pd.DataFrame:
    """Queues that are all ``rho`` busy but differ in their number of workers and in how
    variable the work is (:func:`waits_at`): per queue, the simulated mean wait in the queue
    (``mean``, ``low``, ``high``: the mean over ``seeds`` and its 95% CI, as
    :func:`simlib.stats.formatted` prints them), the formula (:func:`wait_formula`), whether
    the CI holds it, and the formula's ratio to the first queue's. One utilisation, waits a
    factor of several apart: utilisation alone does not predict waiting."""
    rows = []
    waits = waits_at(rho, seeds, duration, warmup)
    for label, servers, kind in SAME_UTILISATION:
        simulated = confidence_interval(waits[label])
        formula = wait_formula(rho, servers, kind)
        rows.append({"queue": label, "workers": servers, "work SCV": SCV[kind],
                     "mean": simulated.mean, "low": simulated.low, "high": simulated.high,
                     "formula": formula, "inside": simulated.covers(formula)})
    table = pd.DataFrame(rows).set_index("queue")
    table["vs first"] = table["formula"] / table["formula"].iloc[0]
    return table


def relative_rise(check: pd.DataFrame, low: float, high: float) -> float:
    """How much the formula's mean time in system rises between two arrival rates of a
    :func:`simlib.stats.ci_table` indexed by rate (0.36 = +36%)."""
    return float(check.loc[high, "formula"] / check.loc[low, "formula"] - 1)


def recovery_arithmetic(rate: float, servers: int, factor: float, seconds: float,
                        service_mean: float = SERVICE_MEAN) -> float:
    """Seconds to drain the backlog of a slow spell, by arithmetic on rates: during it the
    workers finish ``servers / (factor x service_mean)`` per second while ``rate`` arrive, so
    the backlog grows for ``seconds``; afterwards it drains at the spare
    ``servers / service_mean - rate`` per second."""
    backlog = (rate - servers / (factor * service_mean)) * seconds
    return max(backlog, 0.0) / (servers / service_mean - rate)


# -- the method, once: a queue in plain SimPy ------------------------------------------------------

def tiny_mmc(arrival_rate: float, service_mean: float, servers: int, duration: float,
             seed: int = 0) -> list[tuple[float, float]]:
    """An M/M/c queue in plain SimPy, the whole of it: (arrival time, wait) of every request
    that reached a worker before ``duration``. simlib does the same, with agents around it."""
    env, rng = simpy.Environment(), np.random.default_rng(seed)
    workers, waits = simpy.Resource(env, capacity=servers), []

    def request(arrived):
        with workers.request() as slot:
            yield slot  # wait for a free worker
            waits.append((arrived, env.now - arrived))
            yield env.timeout(rng.exponential(service_mean))  # the work

    def arrivals():
        while True:
            yield env.timeout(rng.exponential(1 / arrival_rate))  # Poisson arrivals
            env.process(request(env.now))

    env.process(arrivals())
    env.run(until=duration)
    return waits


def mean_wait(waits: list[tuple[float, float]], warmup: float = 0.0) -> float:
    """Mean wait of the requests of :func:`tiny_mmc` that arrived after ``warmup`` seconds."""
    return float(np.mean([wait for arrived, wait in waits if arrived >= warmup]))


def seeds_needed(values, relative: float = 0.05) -> int:
    """Replications for a 95% interval of half-width ``relative`` x the mean, from a first
    batch of ``values``: the half-width shrinks like 1 / sqrt(n), so n = n0 x (h0 / h)^2."""
    ci = confidence_interval(values)
    return math.ceil(len(values) * (ci.half_width / (relative * abs(ci.mean))) ** 2)


def simlib_waits(arrival_rate: float, service_mean: float, servers: int, duration: float,
                 seeds, warmup: float) -> list[float]:
    """The same queue in simlib (:func:`simlib.presets.mmc`), one mean wait per seed: the
    summary's ``mean_queue_wait`` (arrival to worker) of the turns after ``warmup``."""
    scenario = presets.mmc(arrival_rate, service_mean, servers, duration=duration, warmup=warmup)
    return replicate(scenario, seeds)["mean_queue_wait"].tolist()


def warmup_curve(runs: list[list[tuple[float, float]]], width: float = 25.0) -> pd.DataFrame:
    """The mean wait of the requests arriving in each ``width``-second bin from the start,
    over every run of :func:`tiny_mmc` (a run starts with an empty queue: its first bins sit
    below the long-run mean). Columns ``time`` (the bin's middle) and ``wait``."""
    arrived = np.concatenate([[a for a, _ in r] for r in runs])
    waits = np.concatenate([[w for _, w in r] for r in runs])
    bins = np.floor(arrived / width).astype(int)
    table = pd.DataFrame({"bin": bins, "wait": waits}).groupby("bin")["wait"].mean()
    return pd.DataFrame({"time": (table.index.to_numpy() + 0.5) * width, "wait": table.to_numpy()})


def warmup_figure(curve: pd.DataFrame, warmup: float, formula: float) -> go.Figure:
    """:func:`warmup_curve` against the long-run mean wait (Erlang C), the warm-up cut shaded."""
    fig = go.Figure()
    fig.add_vrect(x0=0, x1=warmup, fillcolor="#bab0ac", opacity=0.25, line_width=0,
                  annotation_text="warm-up, left out", annotation_position="top left")
    fig.add_scatter(x=curve["time"], y=curve["wait"], mode="lines+markers", name="simulated",
                    line={"color": plots.COLOURS["stateless/sync/monolith"]})
    fig.add_hline(y=formula, line_dash="dash", line_color=plots.COLOURS["formula"],
                  annotation_text="Erlang C", annotation_position="bottom right")
    width = float(curve["time"].iloc[0] * 2) if len(curve) else 0.0
    return plots.layout(fig, "arrival time since the start (s)", "mean wait (s)",
                        f"Mean wait of the requests arriving in each {width:g} s, over the runs")

