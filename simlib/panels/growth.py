"""Start simple: the explorer and helpers of notebook 06, traffic that grows over months.

A product's traffic grows month by month. Months of seconds are too long to simulate, so each
month is one representative window (10 minutes) at that month's *mean* arrival rate
(:func:`monthly_rates`): the month's bill is that window scaled to 730 hours, and its SLO is
judged on the same window (bursts are a separate question: the explorer's flash crowd).

Two strategies meet the same months with the same seeds:

* **simple first** starts as a stateless/sync/monolith with one worker of 40 threads, its
  provider on Anthropic's tier 2 (:func:`simlib.presets.startup`). Each month it runs what
  it has; while the SLO is missed it reads the metrics (``capacity.loads``), names the
  saturated resource (``capacity.bottleneck``) and makes the smallest change that relieves it
  (:func:`fix`: ``capacity.smallest_fix``, or the next provider tier), then checks again.
  Fixes take time to land, so a share ``lag`` of the month is served by the design it started
  the month with.
* **complex first** builds stateless/async/microservices on day one, sized (by the same loop) for
  the final month, and keeps it.

:func:`grow` plays the months for one strategy, :func:`growth_figure` draws cost and SLO over
the months, and :func:`growth_panel` is the explorer, with its :func:`loads_chart`. Reading the
metrics (``loads``, ``bottleneck``, ``smallest_fix``) is :mod:`simlib.capacity`'s; the product
and "complex first"'s start are :func:`simlib.presets.startup` and
:func:`simlib.presets.startup_complex` (the first edition's: ``product`` and ``complex_start``).
Where the verdicts flip: :func:`slo_by_lag`, :func:`forecast_sweep`, :func:`flip`,
:func:`sensitivity_figure`; Little's law per resource: :func:`formula_loads`,
:func:`first_saturated`; the provider's tiers: :func:`tier_months`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import capacity, plots, presets, stats
from ..capacity import (
    SATURATED,
    bottleneck,
    demand,
    loads,
    mean_loads,
    smallest_fix,
    tool_capacity,
    utilisation_formula,
    waiting_share,
)
from ..cost import infrastructure_per_hour
from ..engine import run
from ..metrics import window
from ..records import Result
from ..scenario import Scenario
from ..widgets import Explorer, explore, flash_crowd, pick, slider


def monthly_rates(first: float = 0.1, growth: float = 1.5, months: int = 8) -> list[float]:
    """Session arrival rate of each month: ``first`` times ``growth`` per month."""
    return [first * growth**m for m in range(months)]


# -- playing the months ------------------------------------------------------------------------


def runs(scenario: Scenario, seeds: Sequence[int]) -> list[Result]:
    """One :class:`Result` per seed, kept whole (turns and timeline), to read by hand."""
    return [run(scenario, seed) for seed in seeds]


@dataclass(frozen=True)
class Reading:
    """What the fixing loop keeps of one run: its summary, :func:`loads` and
    :func:`waiting_share` (small enough to remember many of them)."""

    scenario: Scenario
    row: pd.Series
    loads: dict
    waiting: float

    def summary(self) -> pd.Series:
        return self.row


@functools.lru_cache(maxsize=2048)
def read(scenario: Scenario, seed: int) -> Reading:
    """Run once and keep the :class:`Reading`. Remembered: a run depends only on its scenario
    and seed, so asking again (the same design in the same month) costs nothing."""
    result = run(scenario, seed)
    return Reading(scenario, result.summary(), loads(result), waiting_share(result))


def readings(scenario: Scenario, seeds: Sequence[int]) -> list[Reading]:
    """One :class:`Reading` per seed."""
    return [read(scenario, seed) for seed in seeds]


def fix(scenario: Scenario, found: tuple[str, float, str], waiting: float = 0.0,
        max_workers: int = 3) -> tuple[Scenario, str]:
    """:func:`simlib.capacity.smallest_fix`, except for the provider: a team whose turns are
    refused (429) moves up one of Anthropic's usage tiers (:data:`simlib.presets.ANTHROPIC_TIERS`,
    a credit purchase) when its provider is on one, rather than asking for twice the quota."""
    now = presets.tier_of(scenario)
    if found[0] == "LLM rate limit" and now is not None and now + 1 in presets.ANTHROPIC_TIERS:
        credit = presets.TIER_CREDIT[now + 1]
        return (scenario.with_(**presets.tier(now + 1)),
                f"{found[2]}: move up to tier {now + 1} (${credit} of credits)")
    return smallest_fix(scenario, found, waiting, max_workers)


def right_size(scenario: Scenario, seeds: Sequence[int], target: float = 0.95,
               max_fixes: int = 8,
               max_workers: int = 3) -> list[tuple[Scenario, list[Reading], str]]:
    """The fixing loop: run ``scenario`` on ``seeds``; while the mean SLO attainment is below
    ``target``, apply :func:`fix` to the :func:`bottleneck` and run again.

    Returns every design tried, in order: ``(scenario, its readings, why it was changed)``; the
    last one is kept (its reason is empty, or says why fixing stopped: nothing saturated, or
    ``max_fixes`` reached)."""
    steps = []
    while True:
        done = readings(scenario, seeds)
        if np.mean([r.summary()["slo_attainment"] for r in done]) >= target:
            return steps + [(scenario, done, "")]
        found = bottleneck([r.loads for r in done])
        if found is None or len(steps) == max_fixes:
            why = "SLO missed, nothing saturated" if found is None else "too many fixes"
            return steps + [(scenario, done, why)]
        waiting = float(np.mean([r.waiting for r in done]))
        changed, reason = fix(scenario, found, waiting, max_workers)
        steps.append((scenario, done, reason))
        scenario = changed


def step_table(steps: Sequence[tuple]) -> pd.DataFrame:
    """The designs :func:`right_size` tried, side by side: one column per design ("design 0"
    first), one row per resource, each the mean busy share over the seeds (the provider: the
    share of turns refused)."""
    return pd.DataFrame({f"design {k}": pd.Series(mean_loads([r.loads for r in done]))
                         for k, (_, done, _) in enumerate(steps)})


def _measures(results: Sequence[Reading]) -> dict[str, np.ndarray]:
    """Per seed: SLO attainment, p95, total $/h (infrastructure plus tokens and store
    operations, the measured window scaled to an hour), $ per 1,000 ok turns, and the
    infrastructure $/h."""
    rows = pd.DataFrame([r.summary() for r in results])
    span = window(results[0].scenario)
    infra = infrastructure_per_hour(results[0].scenario)
    return {"slo": rows["slo_attainment"].to_numpy(), "p95": rows["latency_p95"].to_numpy(),
            "cost_per_hour": rows["cost"].to_numpy() / span * 3600,
            "cost_per_1k_ok": 1000 * rows["cost_per_ok"].to_numpy(),
            "ok_per_hour": rows["n_ok"].to_numpy() / span * 3600,
            "infra_per_hour": np.full(len(rows), infra)}


def design_label(scenario: Scenario) -> str:
    """A short description of a design and its size, e.g. ``sync/monolith, 3 workers, store
    2``."""
    a, parts = scenario.architecture, [f"{scenario.workers.count} workers"]
    if a.deployment == "microservices":
        parts += [f"{t.name} x{t.replicas}" for t in scenario.tools]
    parts.append(f"store {scenario.store.servers}")
    return f"{a.execution}/{a.deployment}, " + ", ".join(parts)


def month_mix(steps: Sequence[tuple], lag: float) -> dict[str, np.ndarray]:
    """A month served by the designs of ``steps`` in turn: each design that had to be fixed
    serves ``lag`` of the month while its fix lands, the last one the rest (per seed, so
    paired seeds stay paired). If the fixes take the whole month, the last design never
    serves."""
    return _mix([_measures(results) for _, results, _ in steps], lag)


def _mix(parts: Sequence[dict[str, np.ndarray]], lag: float) -> dict[str, np.ndarray]:
    """:func:`month_mix` of the designs' :func:`_measures`, in order."""
    weights, left = [], 1.0
    for _ in parts[:-1]:
        weights.append(min(lag, left))
        left -= weights[-1]
    weights.append(left)
    return {key: sum(w * part[key] for w, part in zip(weights, parts, strict=True))
            for key in parts[0]}


SEEDED = ("slo", "cost_per_hour", "ok_per_hour")
"""The measures :func:`grow` keeps per seed (columns ``<name>_seeds``), for totals with CIs."""


def grow(strategy: str, rates: Sequence[float], seeds: Sequence[int] = range(3),
         target: float = 0.95, lag: float = 0.25, max_workers: int = 3,
         first_edition: bool = False) -> pd.DataFrame:
    """Play the months for ``strategy`` ("simple first" or "complex first"), the same seeds
    every month. One row per month: the rate, the design that ends the month (its label and
    its ``scenario``), the changes made, and the month's SLO attainment, p95, total $/h, $ per
    1,000 ok turns and infrastructure $/h (means over the seeds; CIs (:class:`~simlib.stats.CI`)
    of the SLO and the total $/h in ``slo_ci`` and ``cost_per_hour_ci``; per-seed values in
    the ``<name>_seeds`` columns).

    Simple first starts from ``presets.startup`` (40 threads per worker, Anthropic's tier 2;
    ``first_edition=True``: ``presets.product``, 8 slots and 480 requests a minute) and each
    month runs last month's design at this month's rate; if it misses the SLO it is fixed
    (:func:`right_size`), each fix serving ``lag`` of the month before it lands
    (:func:`month_mix`). Complex first is sized once, for the last month's rate, from
    ``presets.startup_complex`` (or ``complex_start``), and kept. Each month's designs'
    per-seed measures stay in ``parts``, so :func:`slo_by_lag` can mix them again."""
    simple, complex_ = ((presets.product, presets.complex_start) if first_edition
                        else (presets.startup, presets.startup_complex))
    if strategy == "complex first":
        sizing = right_size(complex_(**{"workload.arrival_rate": rates[-1]}),
                            seeds, target, max_workers=max_workers)
        scenario, changes = sizing[-1][0], [reason for _, _, reason in sizing[:-1]]
    else:
        scenario, changes = simple(), []
    rows = []
    for month, rate in enumerate(rates, start=1):
        here = scenario.with_(**{"workload.arrival_rate": rate})
        if strategy == "complex first":
            steps = [(here, readings(here, seeds), "")]
        else:
            steps = right_size(here, seeds, target, max_workers=max_workers)
            changes = [reason for _, _, reason in steps if reason]
        scenario = steps[-1][0]
        parts = [_measures(results) for _, results, _ in steps]
        mix = _mix(parts, lag)
        rows.append({"strategy": strategy, "month": month, "rate": rate,
                     "design": design_label(scenario), "architecture": scenario.architecture.name,
                     "scenario": scenario,
                     "changes": changes, "slo_start": float(parts[0]["slo"].mean()),
                     "start_stable": capacity.stable(steps[0][0]),
                     "parts": parts,
                     **{key: float(values.mean()) for key, values in mix.items()},
                     "slo_ci": stats.confidence_interval(mix["slo"], within=stats.SHARE),
                     "cost_per_hour_ci": stats.confidence_interval(mix["cost_per_hour"],
                                                                   within=stats.COUNT),
                     **{f"{key}_seeds": list(mix[key]) for key in SEEDED}})
        changes = []
    return pd.DataFrame(rows)


def compare(rates: Sequence[float], seeds: Sequence[int] = range(3), target: float = 0.95,
            lag: float = 0.25, n_jobs: int = 1, first_edition: bool = False) -> pd.DataFrame:
    """:func:`grow` for both strategies, one table (simple first's rows first); ``n_jobs=2``
    plays the two strategies in two processes at once (joblib)."""
    tables = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(grow)(strategy, rates, seeds, target, lag, first_edition=first_edition)
        for strategy in ("simple first", "complex first"))
    return pd.concat(tables, ignore_index=True)


HOURS_PER_MONTH = 730.0


def _seed_totals(part: pd.DataFrame) -> dict[str, np.ndarray]:
    """One strategy's months summed per seed: total $, $ per 1,000 ok turns, mean SLO."""
    seeds = {key: np.array(part[f"{key}_seeds"].tolist()) for key in SEEDED}
    total = seeds["cost_per_hour"].sum(axis=0) * HOURS_PER_MONTH
    ok = seeds["ok_per_hour"].sum(axis=0) * HOURS_PER_MONTH
    return {"total": total, "per_1k_ok": 1000 * total / ok, "slo": seeds["slo"].mean(axis=0)}


WITHIN = {"total": stats.COUNT, "per_1k_ok": stats.COUNT, "slo": stats.SHARE}
"""The values each total's mean can take (its interval is cut to them)."""


def totals(table: pd.DataFrame, target: float = 0.95) -> pd.DataFrame:
    """Per strategy, over all the months (730 h each): infrastructure dollars; total dollars,
    dollars per 1,000 ok turns and the mean SLO attainment over the months, each a
    :class:`~simlib.stats.CI` over the seeds (each seed's months are summed first); the months
    whose mean attainment missed ``target``; and the changes made."""
    rows = []
    for strategy, part in table.groupby("strategy", sort=False):
        rows.append({"strategy": strategy,
                     "infra": float(part["infra_per_hour"].sum() * HOURS_PER_MONTH),
                     **{name: stats.confidence_interval(values, within=WITHIN[name])
                        for name, values in _seed_totals(part).items()},
                     "missed": int((part["slo"] < target).sum()),
                     "changes": int(part["changes"].map(len).sum())})
    return pd.DataFrame(rows).set_index("strategy")


def paired(table: pd.DataFrame, name: str) -> stats.CI:
    """Simple first minus complex first for a total of :func:`totals` (``total``,
    ``per_1k_ok`` or ``slo``): mean and 95% CI of the difference, seed by seed. Both strategies
    saw the same arrivals on each seed, so the pairing removes the traffic's own noise."""
    simple, complex_ = (_seed_totals(table[table["strategy"] == s])[name]
                        for s in ("simple first", "complex first"))
    return stats.difference(simple, complex_)


# -- where the verdicts flip -------------------------------------------------------------------


def shown(value, spec: str = ".3f") -> str:
    """A :class:`~simlib.stats.CI` (or number) formatted with ``spec``; a string, such as
    :data:`simlib.stats.UNSTABLE`, as it is."""
    return value if isinstance(value, str) else format(value, spec)


def slo_by_lag(table: pd.DataFrame, lags: Sequence[float],
               strategy: str = "simple first") -> pd.DataFrame:
    """Mean SLO attainment over the months (a :class:`~simlib.stats.CI` over the seeds) had
    each fix taken ``lag`` of a month to land, for each lag. No new runs: the fixing loop does
    not depend on the lag, so each month's designs (``parts`` of :func:`grow`) are mixed
    again with :func:`_mix`."""
    part = table[table["strategy"] == strategy]
    rows = []
    for lag in lags:
        seeds = np.mean([_mix(parts, lag)["slo"] for parts in part["parts"]], axis=0)
        rows.append({"lag": float(lag), "slo": float(seeds.mean()),
                     "slo_ci": stats.confidence_interval(seeds, within=stats.SHARE)})
    return pd.DataFrame(rows)


flip = stats.crossing
"""Where a swept curve first crosses a level (:func:`simlib.stats.crossing`)."""


def forecast_sweep(design: Scenario, planned: float, factors: Sequence[float],
                   seeds: Sequence[int]) -> pd.DataFrame:
    """A design sized for ``planned`` sessions/s met by ``factor`` times that traffic: its mean
    SLO attainment over the seeds, whether the design is stable at that traffic
    (:func:`simlib.capacity.stable`), and the attainment's CI, or "unstable" where it is not
    (:func:`simlib.stats.reported`: its value would depend on the run's length)."""
    rows = []
    for factor in factors:
        here = design.with_(**{"workload.arrival_rate": planned * factor})
        slo = [r.summary()["slo_attainment"] for r in readings(here, seeds)]
        steady = capacity.stable(here)
        rows.append({"factor": float(factor), "slo": float(np.mean(slo)), "stable": steady,
                     "slo_ci": stats.reported(slo, steady, within=stats.SHARE)})
    return pd.DataFrame(rows)


def formula_loads(scenario: Scenario) -> dict[str, float]:
    """Little's law per resource, from the workload's means (no simulation): the worker
    threads' busy share (:func:`simlib.capacity.utilisation_formula`) and each tool's busy
    calls (calls per second times mean latency) over its capacity."""
    out = {"worker slots": utilisation_formula(scenario)}
    need = demand(scenario)
    for tool in scenario.tools:
        out[f"tool {tool.name}"] = need[f"tools.{tool.name}"] / tool_capacity(scenario, tool)
    return out


def first_saturated(make, rates: Sequence[float]) -> tuple[int, str] | None:
    """The first month (1-based) whose :func:`formula_loads` put a resource past
    :data:`SATURATED`, and that resource; ``make(rate)`` builds the month's scenario."""
    for month, rate in enumerate(rates, start=1):
        load = formula_loads(make(rate))
        name = max(load, key=load.get)
        if load[name] >= SATURATED:
            return month, name
    return None


def token_demand(results: Sequence[Result]) -> dict[str, float]:
    """Per LLM call, measured: uncached input tokens (what counts against an input-token
    limit), output tokens, and LLM calls per turn."""
    rows = pd.concat([r.turns for r in results])
    calls = rows["llm_calls"].sum()
    uncached = rows["tokens_in"].sum() - rows["tokens_cached"].sum()
    return {"input": float(uncached / calls), "output": float(rows["tokens_out"].sum() / calls),
            "calls_per_turn": float(calls / len(rows))}


def tier_months(per_call: Mapping[str, float], turn_rates: Sequence[float]) -> pd.DataFrame:
    """For each Anthropic tier (:data:`simlib.presets.ANTHROPIC_TIERS`), the first month
    whose mean demand (turns/s x calls per turn, x tokens per call, per minute) passes one of
    its limits, and which (0: already month 1; None: never within ``turn_rates``)."""
    rows = []
    for n, limits in presets.ANTHROPIC_TIERS.items():
        first, which = None, ""
        for month, turns in enumerate(turn_rates, start=1):
            calls = turns * per_call["calls_per_turn"] * 60
            need = (calls, calls * per_call["input"], calls * per_call["output"])
            over = [name for name, used, cap in zip(("requests", "input tokens",
                                                     "output tokens"), need, limits,
                                                    strict=True) if used > cap]
            if over:
                first, which = month, ", ".join(over)
                break
        rows.append({"tier": n, "requests/min": limits[0], "input tokens/min": limits[1],
                     "output tokens/min": limits[2], "credit $": presets.TIER_CREDIT[n],
                     "first month over": first, "limit passed": which})
    table = pd.DataFrame(rows).set_index("tier")
    table["first month over"] = table["first month over"].astype("Int64")
    return table


def sensitivity_figure(curves: Mapping[str, pd.DataFrame], x: str, target: float,
                       title: str, xlabel: str) -> go.Figure:
    """SLO attainment (95% CI bars) against a setting ``x``, one line per curve, the target
    dashed: where a line crosses it, the verdict flips. A point from an unstable design (its
    ``slo_ci`` is "unstable") is drawn hollow, without a bar."""
    fig = go.Figure()
    for name, table in curves.items():
        cis = list(table["slo_ci"])
        low, high = (np.array([getattr(ci, end, m) for ci, m in zip(cis, table["slo"],
                                                                      strict=True)])
                     for end in ("low", "high"))
        symbols = ["circle" if isinstance(ci, stats.CI) else "circle-open" for ci in cis]
        fig.add_scatter(x=table[x], y=table["slo"], mode="lines+markers", name=name,
                        marker={"symbol": symbols, "size": 9},
                        error_y={"type": "data", "array": high - table["slo"],
                                 "arrayminus": table["slo"] - low})
    fig.add_hline(y=target, line_dash="dash", line_color=plots.COLOURS["formula"])
    return plots.layout(fig, xlabel, "SLO attainment", title)


# -- charts and the explorer -------------------------------------------------------------------

STRATEGY_COLOURS = {"simple first": plots.COLOURS[presets.SIMPLE.name],
                    "complex first": plots.COLOURS[presets.ASYNC_MICROSERVICES.name]}


def growth_figure(table: pd.DataFrame, target: float = 0.95) -> go.Figure:
    """Infrastructure $/h and SLO attainment (95% CI bars) month by month, per strategy; the
    SLO target as a dashed line. Hover a point for the design, the whole bill (tokens
    included) and the changes of that month."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Infrastructure cost",
                                                        "SLO attainment"))
    for strategy, part in table.groupby("strategy", sort=False):
        colour = STRATEGY_COLOURS[strategy]
        hover = [f"{d}<br>with tokens: ${c:.2f}/h<br>{'<br>'.join(f) or 'no change'}"
                 for d, c, f in zip(part["design"], part["cost_per_hour"], part["changes"],
                                    strict=True)]
        fig.add_scatter(x=part["month"], y=part["infra_per_hour"], mode="lines+markers",
                        name=strategy, line={"color": colour}, text=hover, row=1, col=1)
        low, high = (np.array([getattr(ci, end) for ci in part["slo_ci"]])
                     for end in ("low", "high"))
        fig.add_scatter(x=part["month"], y=part["slo"], mode="lines+markers", name=strategy,
                        line={"color": colour}, text=hover, showlegend=False, row=1, col=2,
                        error_y={"type": "data", "array": high - part["slo"],
                                 "arrayminus": part["slo"] - low})
    fig.add_hline(y=target, line_dash="dash", line_color=plots.COLOURS["formula"], row=1, col=2)
    fig.update_xaxes(title_text="month")
    fig.update_yaxes(title_text="$ per hour", row=1, col=1)
    fig.update_yaxes(title_text="share of turns ok within the SLO", row=1, col=2)
    fig.update_layout(template=plots.TEMPLATE, title="Simple first against complex first",
                      legend={"orientation": "h", "y": -0.2})
    return fig


def loads_chart(results: Mapping[str, Result], scenario: Scenario,
                styled: bool = True) -> go.Figure:
    """Per design, how busy each resource is (the rate limit: share of turns refused)."""
    fig = go.Figure()
    for name, result in results.items():
        load = loads(result)
        fig.add_bar(x=list(load), y=list(load.values()), name=name,
                    marker={"color": plots.colour(name)})
    fig.add_hline(y=SATURATED, line_dash="dash", line_color=plots.COLOURS["formula"])
    fig.update_layout(barmode="group")
    return plots.layout(fig, "resource", "share of capacity busy", "Where is the bottleneck?",
                        styled)


THREADS = (4, 8, 16, 40)
"""Threads per sync worker the explorer offers: 40 is Starlette's default pool (AnyIO's
thread limiter), 8 the first edition's setting."""


def growth_panel(seed: int = 0) -> Explorer:
    """One month, both strategies' designs on the same seed: the simple sync monolith (blue)
    against async microservices (yellow), with the same workers and store connections (the
    microservices also run two search replicas), on :func:`simlib.presets.startup`'s
    settings (40 threads per worker, Anthropic's tier 2).

    Controls: the month's arrival rate (sessions/s), threads per sync worker (:data:`THREADS`),
    the workers (monolith replicas, or orchestrators), the store connections, and a flash crowd
    (the rate times x for a minute from t = 150 s). Charts: how busy each resource is (dashed:
    80%, where :func:`bottleneck` calls it saturated), the latency distribution, and turns in
    the system.

    What to try:

    - at 40 threads raise the rate from 0.2 to 0.8: the monolith's search tool (2 calls at once
      per replica) passes the line first, and its threads fill behind it, waiting;
    - at 0.8, set 2 workers: each monolith replica brings its own copy of the tool;
    - set 8 threads (the first edition) and the rate to 0.4: now the thread pool is the
      bottleneck, long before the tool;
    - at 0.3 with 1 worker, add a 4x flash crowd: the monolith's one copy of the tool
      overflows and it builds a backlog (turns in the system) above the async design's; 2
      workers absorb it.
    """
    scenario = presets.startup(duration=300.0, warmup=60.0, **{"workload.arrival_rate": 0.2,
                                                               "tools.search.replicas": 2})
    controls = [slider("arrival rate (sessions/s)", 0.1, 2.0, 0.1, 0.2, "workload.arrival_rate"),
                pick("threads per worker", THREADS, 40, "workers.slots"),
                slider("workers", 1, 8, 1, 1, "workers.count", integer=True),
                slider("store connections", 1, 8, 1, 2, "store.servers", integer=True),
                flash_crowd(start=150.0, duration=60.0, label="flash crowd x")]
    return explore(scenario, controls=controls, compare=[presets.ASYNC_MICROSERVICES], seed=seed,
                   views=[loads_chart, "latency_cdf", "in_system"])
