"""Metrics: from the turns table and the timeline to the numbers a design is judged by.

The warm-up is dropped here and only here (:func:`measured_rows`, and :func:`measured` for a
table): a turn counts if it *arrived* in
the measured window ``[warmup, duration)``. Rates that describe what the system delivered
(throughput, goodput) count turns that *finished* in the window instead, because an overloaded
system's output is capped by its capacity, whatever arrived.

Latency is measured on turns answered ``ok`` (``latency_p50`` ...), and on every turn that
ended, whatever its outcome (``latency_all_p50``, ``latency_all_p95``): a design that fails
fast must not look fast. SLO attainment is the share of measured turns
answered ok within ``slo_latency``; a turn still in flight at the end counts as a miss once it is
older than the target, and is left out while it is younger (it might still make it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cost import infrastructure_per_hour
from .faults import windows
from .layout import KINDS
from .resilience import POLICY_CAUSES

ERRORS = ("failed", "timed_out", "shed", "silent_failure")
TURN_CAUSES = ("queue_full", "queue_timeout", "onprem_full", "step_limit")
"""Why a turn may end before or beyond what its components say: refused by load shedding or
compliance, or stopped by the agent loop's step cap."""
CAUSES = tuple(dict.fromkeys(
    [cause for kind in KINDS for cause in kind.causes]
    + list(POLICY_CAUSES) + list(TURN_CAUSES)))
"""Every cause family a turn can end with: what each component declares its ``serve`` may
return, what the resilience patterns return, and the turn-level refusals."""


def measured_rows(turns: pd.DataFrame) -> np.ndarray:
    """Which rows arrived after the warm-up (the one place warm-up is dropped)."""
    return ~turns["warmup"].to_numpy()


def measured(turns: pd.DataFrame) -> pd.DataFrame:
    """The turns that arrived after the warm-up."""
    return turns[measured_rows(turns)]


def window(scenario) -> float:
    """Length in seconds of the measured window."""
    return scenario.duration - scenario.warmup


def summary(scenario, turns: pd.DataFrame, timeline: pd.DataFrame) -> pd.Series:
    """The summary row of one run (see the module docstring for what each number counts).

    It selects the measured turns column by column (``m(name)``, a numpy array) rather than
    copying the whole table, and counts outcomes and causes on the categories' codes: a
    million-turn table is summarised without a second copy of it, and an explorer's small one
    in about a millisecond (pandas' own indexing took four)."""
    rows = measured_rows(turns)  # one column at a time, not a copy of the table

    def m(name: str) -> np.ndarray:
        return turns[name].to_numpy()[rows]

    n = int(rows.sum())
    span = window(scenario)
    names = list(turns["outcome"].cat.categories)
    codes = turns["outcome"].cat.codes.to_numpy()
    is_ok = codes == names.index("ok")
    counts = dict(zip(names, np.bincount(codes[rows], minlength=len(names)).tolist(),
                      strict=True))
    ended = n - counts["in_flight"]
    latency = turns["latency"].to_numpy()[rows & is_ok]
    every = turns["latency"].to_numpy()[rows & (codes != names.index("in_flight"))]
    finish = turns["finish"].to_numpy()
    finished_in_window = (finish >= scenario.warmup) & (finish < scenario.duration)
    ok_finished = finished_in_window & is_ok
    cost = infrastructure_per_hour(scenario) * span / 3600 + float(np.nansum(m("cost")))
    in_flight_age = scenario.duration - m("arrival")
    young = (codes[rows] == names.index("in_flight")) & \
        (in_flight_age < scenario.slo_latency)
    slo_base = n - int(young.sum())
    errors = sum(counts[name] for name in ERRORS)
    calls, attempts = int(m("calls").sum()), m("attempts")
    row = {
        "arrivals": n,
        "arrival_rate": n / span,
        "throughput": int(finished_in_window.sum()) / span,
        "goodput": int(ok_finished.sum()) / span,
        "latency_mean": _stat(latency, np.mean),
        "latency_p50": _stat(latency, np.percentile, 50),
        "latency_p95": _stat(latency, np.percentile, 95),
        "latency_p99": _stat(latency, np.percentile, 99),
        "latency_all_p50": _stat(every, np.percentile, 50),
        "latency_all_p95": _stat(every, np.percentile, 95),
        "error_rate": errors / ended if ended else np.nan,
        "availability": (counts["ok"] + counts["degraded"]) / ended if ended else np.nan,
        "slo_attainment": int((latency <= scenario.slo_latency).sum()) / slo_base
        if slo_base else np.nan,
        "cost": cost,
        "cost_per_ok": cost / counts["ok"] if counts["ok"] else np.nan,
        "utilisation": utilisation(scenario, timeline),
        "mean_in_system": _after_warmup(scenario, timeline)["in_system"].mean(),
        "mean_queue_wait": _mean_wait(m("admitted"), m("arrival")),
        "context_lost": int(m("context_lost").sum()),
        "sensitive": int(m("sensitive").sum()),
        "violations": int(m("violation").sum()),
        "wasted_work": _growth(scenario, timeline, "wasted"),
        "attempts_per_turn": float(attempts.mean()) if n else np.nan,
        "retry_amplification": float(attempts.sum() / calls) if calls else np.nan,
        "breaker_open_time": _growth(scenario, timeline, "breaker_open_time"),
        "time_to_recover": recovery(scenario, turns),
    }
    row.update({f"n_{name}": count for name, count in counts.items()})
    families = dict.fromkeys(CAUSES, 0)
    causes = turns["cause"]
    for cause, count in zip(causes.cat.categories,  # per category: cheap
                            np.bincount(causes.cat.codes.to_numpy()[rows] + 1,
                                        minlength=len(causes.cat.categories) + 1)[1:].tolist(),
                            strict=True):
        family = str(cause).split(":")[0]
        if family in families:
            families[family] += count
    row.update({f"cause_{name}": count for name, count in families.items()})
    return pd.Series(row, name="summary")


def _growth(scenario, timeline: pd.DataFrame, column: str) -> float:
    """How much a cumulative timeline column grew over the measured window."""
    after = _after_warmup(scenario, timeline)[column].to_numpy()
    return float(after[-1] - after[0]) if len(after) else 0.0


def time_to_recover(scenario, turns: pd.DataFrame, start: float, end: float,
                    span: float = 60.0, tolerance: float = 0.1) -> float:
    """Seconds from the end of a fault until goodput and p95 latency, over a sliding ``span``,
    are back within ``tolerance`` of their level before the fault (from the warm-up to
    ``start``); ``inf`` if that never happens before the run ends."""
    ok = turns.loc[turns["outcome"].to_numpy() == "ok", ["arrival", "finish", "latency"]]
    before = ok[(ok["arrival"] >= scenario.warmup) & (ok["finish"] < start)]
    if start - scenario.warmup < span or len(before) < 20:
        return np.nan
    goodput = len(before) / (start - scenario.warmup)
    p95 = np.percentile(before["latency"], 95)
    finish, arrival, latency = (ok[c].to_numpy() for c in ("finish", "arrival", "latency"))
    for t in np.arange(end, scenario.duration - span, span / 10):
        done = (finish >= t) & (finish < t + span)
        came = (arrival >= t) & (arrival < t + span)
        if done.sum() >= (1 - tolerance) * goodput * span and came.any() and \
                np.percentile(latency[came], 95) <= (1 + tolerance) * p95:
            return float(t - end)
    return float("inf")


def recovery(scenario, turns: pd.DataFrame) -> float:
    """Time to recover from the last fixed-time fault window of the scenario (NaN if none)."""
    spans = [w for w in windows(scenario) if w[0] > scenario.warmup]
    if not spans:
        return np.nan
    start, end = spans[-1]
    return time_to_recover(scenario, turns, start, end)


def _mean_wait(admitted: np.ndarray, arrival: np.ndarray) -> float:
    """Mean wait for a worker of the measured turns that got one (NaN if none did)."""
    wait = admitted - arrival
    wait = wait[~np.isnan(wait)]
    return float(wait.mean()) if len(wait) else np.nan


def _stat(values: np.ndarray, fn, *args) -> float:
    return float(fn(values, *args)) if len(values) else np.nan


def _after_warmup(scenario, timeline: pd.DataFrame) -> pd.DataFrame:
    return timeline[timeline["time"].to_numpy() >= scenario.warmup]


def utilisation(scenario, timeline: pd.DataFrame) -> float:
    """Mean share of worker places busy: threads held by whole turns (sync), or cores running
    CPU bursts (async)."""
    w = scenario.workers
    column = "cpu_busy" if scenario.architecture.asynchronous else "busy"
    slots = w.count * (w.cores if scenario.architecture.asynchronous else w.slots)
    return float(_after_warmup(scenario, timeline)[column].mean() / slots)


def collapsed(turns: pd.DataFrame, since: float, threshold: float = 0.5) -> bool:
    """Has the run collapsed? True when fewer than ``threshold`` of the turns arriving after
    ``since`` (a time well after any trigger has ended) were answered ok."""
    late = turns[turns["arrival"].to_numpy() >= since]
    return bool(len(late)) and float((late["outcome"] == "ok").mean()) < threshold
