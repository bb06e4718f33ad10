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
from ..config import PromptCache
from ..engine import run
from ..faults import windows
from ..records import Result
from ..resilience import Checkpointing
from ..scenario import Scenario
from ..stats import CI, UNSTABLE, ci_table, confidence_interval, reported
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


# -- second edition: the settings that decide the verdicts ------------------------------------

def sticky_penalty(rho: float = 0.8, workers: int = 4, slots: int = 1) -> float:
    """The p95 of sticky routing over pooled, by formula (:func:`simlib.capacity.mmc_p95`),
    for ``workers`` workers of ``slots`` slots each, every slot ``rho`` busy with 1 s of
    exponential work: sticky is ``workers`` M/M/slots queues, pooled one M/M/(workers x slots).
    The more turns a worker serves at once, the more of the pooling a sticky worker keeps."""
    scenario = presets.mmc(rho * workers * slots, 1.0, workers, **{"workers.slots": slots})
    return mmc_p95(scenario, "stateful") / mmc_p95(scenario, "stateless")


def penalty_flip(rho: float = 0.8, workers: int = 4, below: float = 1.2,
                 most: int = 256) -> int:
    """The fewest slots per worker from which the sticky p95 penalty (:func:`sticky_penalty`)
    is under ``below``: sticky routing is "hard to scale" only for workers that serve fewer
    turns at once than this."""
    for slots in range(1, most + 1):
        if sticky_penalty(rho, workers, slots) < below:
            return slots
    raise ValueError(f"the penalty stays at or above {below} up to {most} slots per worker")


def penalty_runs(rho: float = 0.8, workers: int = 4, slots=(2, 8), seeds=range(5),
                 duration: float = 500.0, warmup: float = 100.0) -> pd.DataFrame:
    """Sticky against pooled on the same seeds (common random numbers), for each number of
    slots per worker: one row per (slots, seed) with both p95s and their ratio."""
    rows = []
    for k in slots:
        scenario = presets.mmc(rho * workers * k, 1.0, workers, duration=duration,
                               warmup=warmup, **{"workers.slots": k})
        for seed in seeds:
            pooled = run(scenario, seed).summary()["latency_p95"]
            sticky = run(scenario.with_(architecture=presets.STATEFUL), seed).summary()
            rows.append({"slots": k, "seed": seed, "pooled": pooled,
                         "sticky": sticky["latency_p95"],
                         "ratio": sticky["latency_p95"] / pooled})
    return pd.DataFrame(rows)


def sweep_ratios(table: pd.DataFrame, slots: int = 1) -> pd.DataFrame:
    """The rows of :func:`penalty_runs` from a sweep over ``architecture.state`` that already
    ran both designs on the same seeds (one setting otherwise), its workers having ``slots``
    slots each."""
    by = table.pivot_table(index="seed", columns="architecture.state", values="latency_p95")
    return pd.DataFrame({"slots": slots, "seed": by.index, "pooled": by["stateless"].to_numpy(),
                         "sticky": by["stateful"].to_numpy(),
                         "ratio": (by["stateful"] / by["stateless"]).to_numpy()})


def penalty_table(runs: pd.DataFrame, rho: float = 0.8, workers: int = 4) -> pd.DataFrame:
    """Per slots per worker: the simulated p95 ratio (mean over seeds and its 95% CI, as
    :func:`simlib.stats.formatted` prints it), the formula's ratio, and whether the CI holds
    it. ``runs`` is :func:`penalty_runs` (any ``slots``), with a ``ratio`` column."""
    table = ci_table(runs, "slots", "ratio",
                     formula=lambda k: sticky_penalty(rho, workers, int(k)))
    return table


def penalty_figure(runs: pd.DataFrame, rho: float = 0.8, workers: int = 4,
                   slots=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 40)) -> go.Figure:
    """The sticky p95 penalty against slots per worker: the formula as a line over the realistic
    range (1 slot to Starlette's 40 threads), the simulated ratios as markers with 95% error
    bars, and the 1.2x line where the verdict flips."""
    grid = list(slots)
    table = penalty_table(runs, rho, workers)
    fig = go.Figure()
    fig.add_scatter(x=grid, y=[sticky_penalty(rho, workers, k) for k in grid], mode="lines",
                    name="formula: M/M/k per worker over one M/M/(c k)",
                    line={"color": plots.COLOURS["formula"]})
    fig.add_scatter(x=table.index, y=table["mean"], mode="markers", name="simulated (CI)",
                    error_y={"type": "data", "symmetric": False,
                             "array": table["high"] - table["mean"],
                             "arrayminus": table["mean"] - table["low"]},
                    marker={"color": plots.COLOURS[presets.STATEFUL.name], "size": 9})
    fig.add_hline(y=1.2, line_dash="dot", annotation_text="1.2x")
    fig.update_xaxes(type="log")
    return plots.layout(fig, "slots (turns served at once) per worker",
                        "p95 sticky / p95 pooled", f"The sticky penalty at utilisation {rho}")


def store_rise(table: pd.DataFrame, stateful_p50: float) -> pd.Series:
    """The stateless median turn's rise over the stateful one (0.1 = +10%), per store speed
    (``store.per_1k_tokens``), from a sweep of the stateless design over it (means over seeds;
    the stateful design never touches the store, so one number serves every speed)."""
    p50 = table.groupby("store.per_1k_tokens")["latency_p50"].mean()
    return p50 / stateful_p50 - 1


def store_flip(rise: pd.Series, above: float = 0.10) -> float:
    """The store speed (seconds per 1,000 tokens of context) from which the stateless median
    turn is more than ``above`` slower than the stateful one, interpolated linearly between the
    speeds swept (:func:`store_rise`, rising with the speed)."""
    speeds, values = rise.index.to_numpy(float), rise.to_numpy(float)
    if values[-1] <= above:
        raise ValueError(f"the rise stays under {above} up to {speeds[-1]} s per 1k tokens")
    return float(np.interp(above, values, speeds))


def store_figure(rise: pd.Series, flip: float, default: float) -> go.Figure:
    """The stateless median's rise over stateful against the store's seconds per 1,000 tokens,
    with the flip and the default store marked."""
    fig = go.Figure()
    fig.add_scatter(x=rise.index, y=rise.to_numpy() * 100, mode="lines+markers",
                    name="stateless p50 over stateful p50",
                    line={"color": plots.COLOURS[presets.SIMPLE.name]})
    fig.add_hline(y=10, line_dash="dot", annotation_text="+10%")
    fig.add_vline(x=flip, line_dash="dot", annotation_text=f"flip {flip:.3f}")
    fig.add_vline(x=default, line_dash="dash", annotation_text="default store")
    return plots.layout(fig, "store seconds per 1,000 tokens of context",
                        "median turn, % slower than stateful", "What the store trip costs")


def offered_store(scenario: Scenario, seeds) -> CI:
    """Store connections busy on average when there are more than ever fill (64): the store
    work the workload offers, in connections (:func:`store_busy` over ``seeds``)."""
    wide = scenario.with_(**{"store.servers": 64})
    return confidence_interval([store_busy(run(wide, seed)) for seed in seeds])


def store_latency(runs: pd.DataFrame, offered: CI) -> pd.DataFrame:
    """Per number of store connections: the p50 and p95 with their intervals, or "unstable"
    where the offered store load (upper end of its interval) is at or past the connections: a
    queue with no steady state, whose numbers only grow with the run's length."""
    rows = {}
    for servers, part in runs.groupby("store.servers"):
        stable = offered.high < servers
        rows[servers] = {f"{c}": format(reported(part[c], stable), ".2f")
                         if stable else UNSTABLE for c in ("latency_p50", "latency_p95")}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("store.servers")


CACHES = ("first edition: pinned-only factor", "hosted: provider-scope cache",
          "self-hosted: replica-scope cache")
"""The three prompt caches :func:`cache_settings` defines."""


def cache_settings(scenario: Scenario) -> dict[str, Scenario]:
    """``scenario`` with each of :data:`CACHES`: the first edition's textbook provider (no
    cache; a pinned session's time to first token times ``prompt_cache_factor`` from its second
    turn); the hosted provider's cache keyed by prefix whoever sends it; a cache per serving
    replica (each agent worker reaching its own replica, as with self-hosted vLLM without a
    prefix-aware router). The last two with time to first token growing with the uncached
    prompt at :data:`simlib.presets.CHAT_PREFILL_RATE`."""
    prefill = {"llm.prefill_rate": presets.CHAT_PREFILL_RATE}
    return {CACHES[0]: presets.textbook(scenario),
            CACHES[1]: scenario.with_(**prefill),
            CACHES[2]: scenario.with_(**{"llm.cache": PromptCache(scope="replica"), **prefill})}


def cache_runs(scenario: Scenario, seeds) -> pd.DataFrame:
    """For each cache of :func:`cache_settings` and seed, paired stateless and stateful runs:
    the share of follow-up turns' input tokens read from the cache in each design, the LLM
    cost per 1,000 turns of each, and the mean seconds of service each ok follow-up turn
    saves when stateful (:func:`prompt_cache_saving`)."""
    rows = []
    for name, setting in cache_settings(scenario).items():
        for seed in seeds:
            row = {"cache": name, "seed": seed}
            for design in (presets.SIMPLE, presets.STATEFUL):
                turns = run(setting.with_(architecture=design), seed).turns
                turns = turns[~turns["warmup"]]
                later = turns[turns["turn"] > 1]
                row[f"cached {design.state}"] = later["tokens_cached"].sum() / \
                    later["tokens_in"].sum()
                row[f"$ per 1k turns {design.state}"] = 1000 * turns["cost"].mean()
            # rounded to a nanosecond: a saving of exactly nothing prints as 0, not -0
            row["saved s"] = round(float(prompt_cache_saving(setting, seed).mean()), 9) + 0.0
            rows.append(row)
    return pd.DataFrame(rows)


def cache_table(runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`cache_runs` as means with 95% intervals per cache (print with
    :func:`simlib.stats.formatted`)."""
    columns = [c for c in runs.columns if c not in ("cache", "seed")]
    return ci_table(runs, "cache", columns).reindex(CACHES)


def cache_figure(runs: pd.DataFrame) -> go.Figure:
    """Seconds a stateful follow-up turn saves over a stateless one, per cache, with 95% error
    bars: the prompt cache's advantage for pinned sessions, where there is one."""
    table = cache_table(runs)["saved s"]
    fig = go.Figure()
    fig.add_bar(x=list(table.index), y=table["mean"],
                error_y={"type": "data", "symmetric": False,
                         "array": table["high"] - table["mean"],
                         "arrayminus": table["mean"] - table["low"]},
                marker={"color": plots.COLOURS[presets.STATEFUL.name]})
    return plots.layout(fig, "prompt cache", "s saved per follow-up turn by pinning",
                        "Stateful's prompt-cache advantage, by cache")
