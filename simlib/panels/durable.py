"""Durable agents: the experiments and charts of notebook 09.

The workload is the article's long tool agent cut to one-turn sessions
(:func:`simlib.presets.long_agent`; async behind a broker:
:func:`simlib.presets.brokered_agent`), so that every number is about one turn's loop: a
geometric number of steps (mean 6), each an LLM call and about one tool call whose result
joins the context. Four questions, one function each:

* how the context grows within a turn, against the first edition's flat context, with and
  without the provider's prompt cache (:func:`context_growth`, checked against
  :func:`tokens_formula`), and what a context window with compaction does (:func:`compaction`);
* what unusable answers (re-asks) do under a step cap (:func:`reasks`, checked against
  :func:`step_limit_formula`);
* what an at-least-once broker does with turns longer than its visibility timeout
  (:func:`broker_sweep`, checked against the turn time's survival :func:`survival`, flip point
  :func:`duplicate_flip`), and with crashes (:func:`recovery`);
* what a crash costs a long agent and a complex chat under each recovery mechanism: early or
  late acknowledgement, the first edition's dead-letter redelivery, checkpoints, durable
  execution (:func:`recovery`, :func:`chat_recovery`, :func:`loss_by_turn_length` against
  :func:`loss_formula`), and what durable execution's writes cost (:func:`durable_cost`).

:func:`broker_panel` is the notebook's explorer: the broker's visibility timeout and
acknowledgement, and a worker crash, against how the turns end.

The engine's flat-context special case does not exist any more (every step resends the growing
context); :data:`FLAT` plays it: a one-token window truncated before every call, so each step
sends only the turn's prompt, as the first edition did (exact for one-turn sessions, which have
no earlier history).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import plots, presets
from ..capacity import load, stable
from ..dists import Deterministic, Geometric
from ..engine import run
from ..faults import RandomCrashes
from ..resilience import Broker, Checkpointing, DeadLetter, DurableExecution
from ..scenario import Scenario
from ..stats import SHARE, ci_table
from ..stats import crossing as first_crossing
from ..widgets import Explorer, crash, explore, pick, slider

FLAT = {"workload.context_window": 1, "workload.compaction": "truncate",
        "workload.summary_tokens": 0}
"""The first edition's flat context within a turn: every step sends only the prompt (a
one-token window, truncated before each call)."""
CONTEXTS = {"growing, prompt cache": {}, "growing, no cache": {"llm.cache": None},
            "flat (first edition)": FLAT}
"""The three context models of :func:`context_growth`."""
MTTF = 600.0
"""Mean seconds between crashes of one worker in the crash experiments: a compressed day (a
pod restarted by a crash or a deploy every 10 minutes), so that a short run sees enough
crashes to measure; the share lost scales as 1/MTTF (:func:`loss_formula`)."""
MTTR = 30.0
"""Seconds a crashed worker takes to come back."""
CHAT_MTTF = 1200.0
"""The same for :func:`loss_by_turn_length`'s chat workers: a crash every 20 minutes puts the
1% flip (:func:`loss_flip`) between turns of 2 and 4 steps, inside the sweep."""
SQS_VISIBILITY = 30.0
"""Amazon SQS's default visibility timeout, 30 s (AWS SQS Developer Guide, "Amazon SQS
visibility timeout")."""
DAILY = 86_400.0
"""Seconds between restarts of a worker redeployed once a day (for :func:`loss_flip`)."""
WRITE = DurableExecution().write_latency.p95
"""The fixed write time of :func:`durable_cost`: the p95 of ``DurableExecution``'s default write
(20 ms), a pessimistic constant."""
THRESHOLD = 0.01
"""The share of turns this notebook calls material (1%: an availability target of 99%)."""
PALETTE = ("#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#9c755f")
ENDED = ("ok", "degraded", "failed", "timed_out", "shed", "silent_failure")


def ended(result) -> pd.DataFrame:
    """The measured turns (arrived after the warm-up) that ended by the run's end."""
    turns = result.turns
    return turns[~turns["warmup"].to_numpy() & turns["outcome"].isin(ENDED).to_numpy()]


def lost(turns: pd.DataFrame, cause: str | None = "crash") -> pd.Series:
    """Which turns were not answered (failed, silently or not), for ``cause`` (None: any)."""
    out = ~turns["outcome"].isin(("ok", "degraded"))
    return out & (turns["cause"] == cause) if cause is not None else out


def _row(result, **keys) -> dict:
    """One replication's numbers: per ended measured turn, and the run's summary."""
    turns, summary = ended(result), result.summary()
    ok = turns[turns["outcome"] == "ok"]
    return {**keys, "turns": len(turns), "tokens_in": ok["tokens_in"].mean(),
            "tokens_cached": ok["tokens_cached"].mean(), "llm_calls": ok["llm_calls"].mean(),
            "cost_per_turn": ok["cost"].mean(), "latency": ok["latency"].mean(),
            "worker_time": (ok["finish"] - ok["admitted"]).mean(),
            "latency_all_p95": summary["latency_all_p95"],
            "step_limit": float((turns["cause"] == "step_limit").mean()),
            "lost": float(lost(turns, None).mean()), "lost_crash": float(lost(turns).mean()),
            "silent": float((turns["outcome"] == "silent_failure").mean()),
            "duplicated": float((turns["duplicates"] > 0).mean()),
            "duplicates": turns["duplicates"].mean(),
            "repeated_effects": turns["repeated_effects"].mean(),
            "resumed": float((turns["resumes"] > 0).mean()),
            "context_lost": float(turns["context_lost"].mean()),
            "cost_per_ok": summary["cost_per_ok"]}


def replications(scenarios: Mapping[str, Scenario], seeds: Iterable[int],
                 key: str = "design") -> pd.DataFrame:
    """Every scenario run with every seed (the same seeds: common random numbers), one row
    of :func:`_row`'s numbers per run."""
    return pd.DataFrame([_row(run(scenario, seed), **{key: name, "seed": seed})
                         for name, scenario in scenarios.items() for seed in seeds])


def stability(mttf: float = MTTF) -> pd.DataFrame:
    """The load (busiest resource's offered share of its capacity) and stability of each
    family of scenarios this notebook measures, at its longest setting: a mean with an
    interval means something only on a stable one."""
    longest_chat = presets.deep_chat(turn_rate=0.8 * 1.5 / 4, **{"workload.steps": Geometric(4)})
    scenarios = {"long agent, 20 steps": presets.long_agent(20), "long agent": presets.long_agent(),
                 "async agent, crashes": presets.brokered_agent(faults=crashes(mttf)),
                 "complex chat": presets.deep_chat(),
                 "complex chat, 4 steps a turn": longest_chat}
    return pd.DataFrame({"load": [load(s) for s in scenarios.values()],
                         "stable": [stable(s) for s in scenarios.values()]},
                        index=pd.Index(list(scenarios), name="scenario"))


# -- 1. the growing context ----------------------------------------------------------------------


def tokens_formula(scenario: Scenario, steps: int) -> float:
    """Mean input tokens of a one-turn session of ``steps`` steps: k P + (O + t R) k (k-1) / 2
    with the means of the prompt P, an answer O, tool calls per step t and a tool result R
    (step j resends the prompt and every earlier answer and result)."""
    w = scenario.workload
    grown = w.output_tokens.mean + w.tools_per_step.mean * w.tool_result_tokens.mean
    return steps * w.prompt_tokens.mean + grown * steps * (steps - 1) / 2


def flat_formula(scenario: Scenario, steps: int) -> float:
    """The first edition's flat context: k P."""
    return steps * scenario.workload.prompt_tokens.mean


def context_growth(steps: Iterable[int] = (1, 5, 10, 20), seeds: Iterable[int] = range(4),
                   **changes) -> pd.DataFrame:
    """Turns of exactly k steps under each of :data:`CONTEXTS` (step cap and window lifted, so
    that the formula is exact), 1,200 s runs: one row per (steps, context, seed)."""
    seeds = list(seeds)
    frames = []
    for k in steps:
        base = presets.long_agent(k, **{"workload.max_steps": None, "workload.context_window": None,
                                "duration": 1200.0, **changes})
        table = replications({name: base.with_(**c) for name, c in CONTEXTS.items()}, seeds,
                             key="context")
        frames.append(table.assign(steps=k))
    return pd.concat(frames, ignore_index=True)


def growth_ratios(table: pd.DataFrame, steps: int) -> dict[str, float]:
    """At ``steps`` steps, each context's mean input tokens, cost and latency per turn divided
    by the flat (first edition) context's."""
    at = table[table["steps"] == steps].groupby("context")[["tokens_in", "cost_per_turn",
                                                             "latency"]].mean()
    flat = at.loc["flat (first edition)"]
    return {name: (at.loc[name] / flat).to_dict() for name in CONTEXTS}


def growth_figure(table: pd.DataFrame, column: str = "tokens_in",
                  title: str = "Input tokens per turn") -> go.Figure:
    """Mean of ``column`` per turn against the steps, one line per context model (with the
    growing and flat formulas when ``column`` is the input tokens)."""
    fig = go.Figure()
    means = table.groupby(["context", "steps"], sort=False)[column].mean()
    for i, name in enumerate(CONTEXTS):
        fig.add_scatter(x=means[name].index, y=means[name].to_numpy(), mode="lines+markers",
                        name=name, line={"color": PALETTE[i]})
    if column == "tokens_in":
        scenario = presets.long_agent()
        ks = np.arange(1, int(table["steps"].max()) + 1)
        for label, formula in (("formula kP + (O+tR)k(k-1)/2", tokens_formula),
                               ("formula kP", flat_formula)):
            fig.add_scatter(x=ks, y=[formula(scenario, k) for k in ks], mode="lines",
                            name=label, line={"color": plots.COLOURS["formula"],
                                              "dash": "dash"})
    return plots.layout(fig, "steps in the turn", column.replace("_", " "), title)


def compaction(steps: int = 20, windows: Iterable[int | None] = (None, 16_000, 8_000),
               seeds: Iterable[int] = range(3)) -> pd.DataFrame:
    """Turns of exactly ``steps`` steps (growing context) with each context window, compacted
    by a summary, with the provider's prompt cache on and off, 1,200 s runs: one row per
    (window, cache, seed)."""
    base = presets.long_agent(steps, **{"workload.max_steps": None, "duration": 1200.0})
    frames = []
    for cache, changes in (("on", {}), ("off", {"llm.cache": None})):
        scenarios = {("none" if w is None else f"{w:,}"):
                     base.with_(**{"workload.context_window": w, **changes}) for w in windows}
        frames.append(replications(scenarios, seeds, key="window").assign(cache=cache))
    return pd.concat(frames, ignore_index=True)


# -- 2. re-asks and the step cap -----------------------------------------------------------------


def step_limit_formula(q: float, mean_steps: float, max_steps: int) -> float:
    """Share of turns that hit the step cap: planned steps geometric with mean m, each taking a
    geometric number of calls of mean 1/(1-q) (re-asks), so the calls are geometric with mean
    m/(1-q), and P(N > cap) = (1 - (1-q)/m)^cap."""
    return (1 - (1 - q) / mean_steps) ** max_steps


def reasks(rates: Iterable[float] = (0.0, 0.1, 0.3, 0.5), seeds: Iterable[int] = range(5),
           **changes) -> pd.DataFrame:
    """The long agent (25 steps at most) with each share of unusable answers: one row per
    (semantic_error_rate, seed)."""
    base = presets.long_agent(**changes)
    scenarios = {q: base.with_(**{"workload.semantic_error_rate": q}) for q in rates}
    return replications(scenarios, seeds, key="semantic_error_rate")


# -- 3. an at-least-once broker ------------------------------------------------------------------


def turn_times(seeds: Iterable[int] = range(4), **changes) -> np.ndarray:
    """Latencies of the answered turns of :func:`simlib.presets.brokered_agent` (no crash,
    early ack), pooled over seeds: the distribution a visibility timeout has to outlast."""
    scenario = presets.brokered_agent(**changes)
    return np.concatenate([ended(run(scenario, seed)).query("outcome == 'ok'")["latency"]
                           .to_numpy() for seed in seeds])


def survival(times: np.ndarray, timeout: float) -> float:
    """P(T > timeout): the share of turns a late-ack broker starts twice (the formula)."""
    return float(np.mean(np.asarray(times) > timeout))


def duplicate_flip(times: np.ndarray, share: float = THRESHOLD) -> float:
    """The visibility timeout from which fewer than ``share`` of the turns are duplicated:
    the (1 - share) quantile of the turn time."""
    return float(np.quantile(times, 1 - share))


def broker_sweep(timeouts: Iterable[float] = (30, 60, 120, 240, 480),
                 seeds: Iterable[int] = range(4), idempotent: bool = False,
                 **changes) -> pd.DataFrame:
    """The async agent behind a late-ack broker with each visibility timeout (tools not
    idempotent unless asked): one row per (visibility_timeout, seed)."""
    scenarios = {v: presets.brokered_agent(**{"resilience.broker": Broker(
        ack="late", visibility_timeout=float(v), idempotent=idempotent), **changes})
        for v in timeouts}
    return replications(scenarios, seeds, key="visibility_timeout")


def crashes(mttf: float = MTTF, mttr: float = MTTR) -> tuple:
    """Every worker crashes now and then: up ``mttf`` seconds on average, down ``mttr``."""
    return (RandomCrashes("workers", mttf=mttf, mttr=mttr),)


def broker_figure(clean: pd.DataFrame, crashed: pd.DataFrame, times: np.ndarray) -> go.Figure:
    """Against the visibility timeout (log axis): turns duplicated without crashes (with the
    survival formula P(T > V)), the p95 latency of every turn with crashes, and the 1% flip
    (dotted)."""
    fig = go.Figure()
    dup = clean.groupby("visibility_timeout")["duplicated"].mean()
    fig.add_scatter(x=dup.index, y=dup.to_numpy(), mode="lines+markers", name="turns duplicated",
                    line={"color": PALETTE[0]})
    grid = np.geomspace(dup.index.min(), dup.index.max(), 60)
    fig.add_scatter(x=grid, y=[survival(times, v) for v in grid], mode="lines",
                    name="formula P(T > V)", line={"color": plots.COLOURS["formula"],
                                                   "dash": "dash"})
    p95 = crashed.groupby("visibility_timeout")["latency_all_p95"].mean()
    fig.add_scatter(x=p95.index, y=p95.to_numpy(), mode="lines+markers", yaxis="y2",
                    name="p95 latency, every turn, with crashes (s)", line={"color": PALETTE[1]})
    fig.add_vline(x=duplicate_flip(times), line={"dash": "dot", "color": "grey"})
    fig.update_layout(xaxis={"type": "log"}, yaxis={"tickformat": ".0%"},
                      yaxis2={"overlaying": "y", "side": "right", "title": "p95 (s)"})
    return plots.layout(fig, "visibility timeout V (s)", "share of turns duplicated",
                        "A late-ack broker: duplicates against recovery")


# -- 4. recovery after a crash -------------------------------------------------------------------


def recovery_designs(visibility: float) -> dict[str, dict]:
    """The recovery mechanisms of a long async agent, as changes: the first edition's early
    acknowledgement and its dead-letter redelivery (the whole turn again, 30 s after it
    failed), a late-ack broker with visibility timeout ``visibility``, and durable execution
    behind it."""
    late = Broker(ack="late", visibility_timeout=visibility)
    return {"early ack (loses it)": {},
            "dead letter (first edition)": {"resilience.broker": None,
                                            "resilience.dead_letter": DeadLetter()},
            "late ack (starts over)": {"resilience.broker": late},
            "late ack + durable (resumes)": {"resilience.broker": late,
                                             "resilience.durable": DurableExecution()}}


def recovery(visibility: float, seeds: Iterable[int] = range(5), mttf: float = MTTF,
             **changes) -> pd.DataFrame:
    """The async agent with crashing workers under each of :func:`recovery_designs`."""
    scenarios = {name: presets.brokered_agent(**{"faults": crashes(mttf), **c, **changes})
                 for name, c in recovery_designs(visibility).items()}
    return replications(scenarios, seeds)


CHAT_DESIGNS = {
    "stateful": {"architecture": presets.STATEFUL},
    "stateful + checkpoints": {"architecture": presets.STATEFUL,
                               "resilience.checkpoint": Checkpointing()},
    "stateless (context in the store)": {},
    "stateless + durable execution": {"resilience.durable": DurableExecution()},
}
"""Complex chat's designs: the article's pick (stateful with strong data storage: per-turn
checkpoints) and the alternatives."""


def chat_recovery(seeds: Iterable[int] = range(5), **changes) -> pd.DataFrame:
    """:func:`simlib.presets.deep_chat` (12-turn sessions, two worker crashes) in each of
    :data:`CHAT_DESIGNS`."""
    scenarios = {name: presets.deep_chat(**{**c, **changes}) for name, c in CHAT_DESIGNS.items()}
    return replications(scenarios, seeds)


def loss_formula(turn_time: float, mttf: float = MTTF, mttr: float = MTTR) -> float:
    """Share of turns a crash loses when nothing resumes them: a worker crashes every
    mttf + mttr seconds and takes its turns in flight with it (by Little's law, its arrival
    rate times the turn time), so the share is E[T] / (mttf + mttr), whatever the load."""
    return turn_time / (mttf + mttr)


def loss_by_turn_length(steps: Iterable[float] = (1, 2, 4), seeds: Iterable[int] = range(4),
                        mttf: float = CHAT_MTTF, duration: float = 2400.0,
                        designs: Iterable[str] = ("stateless (context in the store)",
                                                  "stateless + durable execution")
                        ) -> pd.DataFrame:
    """Complex chat with random worker crashes and turns of about ``steps`` agent steps, the
    turn rate scaled so that the work per second stays that of 1.5 steps at 0.8 turns/s:
    the context in the store (history kept, the turn in flight lost, as with checkpoints)
    against stateless + durable execution. One row per (steps, design, seed)."""
    seeds = list(seeds)
    frames = []
    for m in steps:
        base = presets.deep_chat(turn_rate=0.8 * 1.5 / m, **{
            "workload.steps": Geometric(m), "faults": crashes(mttf), "duration": duration,
            "warmup": 100.0})
        scenarios = {name: base.with_(**CHAT_DESIGNS[name]) for name in designs}
        frames.append(replications(scenarios, seeds).assign(steps=m))
    return pd.concat(frames, ignore_index=True)


def crossing(x: Iterable[float], y: Iterable[float], level: float = THRESHOLD) -> float:
    """Where the measured ``y`` (in order of ``x``) first reaches ``level``, by linear
    interpolation between the two points around it; NaN if it never does."""
    flip = first_crossing(list(x), list(y), level, already=True)
    return float("nan") if flip is None else flip


def loss_check(table: pd.DataFrame, design: str = "stateless (context in the store)",
               mttf: float = CHAT_MTTF) -> pd.DataFrame:
    """For one design of :func:`loss_by_turn_length`: per steps, the share of turns lost to
    crashes (mean and interval over seeds) against :func:`loss_formula` at the mean time a turn
    spent on its worker, and that time."""
    rows = table[table["design"] == design]
    time = rows.groupby("steps")["worker_time"].mean()
    check = ci_table(rows, "steps", "lost_crash", within=SHARE,
                     formula=time.map(lambda t: loss_formula(t, mttf)))
    check.insert(0, "time on worker (s)", time)
    return check


def measured_loss_flip(table: pd.DataFrame, design: str = "stateless (context in the store)",
                       share: float = THRESHOLD) -> float:
    """The mean time on a worker at which the measured loss of ``design`` reaches ``share``
    (:func:`crossing` over the sweep's means)."""
    means = table[table["design"] == design].groupby("steps")[["worker_time",
                                                               "lost_crash"]].mean()
    return crossing(means["worker_time"], means["lost_crash"], share)


def loss_flip(mttf: float = CHAT_MTTF, mttr: float = MTTR, share: float = THRESHOLD) -> float:
    """The mean turn time above which checkpoints alone lose more than ``share`` of the turns:
    share x (mttf + mttr)."""
    return share * (mttf + mttr)


def loss_figure(table: pd.DataFrame, mttf: float = CHAT_MTTF) -> go.Figure:
    """Share of turns lost to crashes against the mean time a turn spends on its worker, per
    design, with the formula E[T] / (MTTF + MTTR), the 1% line and the flip (dotted)."""
    fig = go.Figure()
    for i, (name, group) in enumerate(table.groupby("design", sort=False)):
        means = group.groupby("steps")[["worker_time", "lost_crash"]].mean()
        fig.add_scatter(x=means["worker_time"], y=means["lost_crash"], mode="lines+markers",
                        name=name, line={"color": PALETTE[i]})
    grid = np.linspace(0, table["worker_time"].max(), 50)
    fig.add_scatter(x=grid, y=[loss_formula(t, mttf) for t in grid], mode="lines",
                    name="formula E[T] / (MTTF + MTTR)",
                    line={"color": plots.COLOURS["formula"], "dash": "dash"})
    fig.add_hline(y=THRESHOLD, line={"dash": "dot", "color": "grey"})
    fig.add_vline(x=loss_flip(mttf), line={"dash": "dot", "color": "grey"})
    fig.update_layout(yaxis={"tickformat": ".0%"})
    return plots.layout(fig, "mean time of a turn on its worker (s)", "turns lost to crashes",
                        "Checkpoints keep the history, not the turn in flight")


def durable_cost(seeds: Iterable[int] = range(5), write: float = WRITE,
                 **changes) -> pd.DataFrame:
    """The async agent without crashes, with and without durable execution writing each step
    in a fixed ``write`` seconds (the same seeds): one row per (design, seed)."""
    base = presets.brokered_agent(**changes)
    scenarios = {"plain": base, "durable": base.with_(**{
        "resilience.durable": DurableExecution(write_latency=Deterministic(write))})}
    return replications(scenarios, seeds)


# -- the explorer ---------------------------------------------------------------------------------

EXPLORED = {"architecture": presets.ASYNC, "duration": 1200.0, "warmup": 120.0,
            "workload.max_steps": None}
"""The explorer's run: the long agent on async workers for 20 minutes (a slider move re-runs it
in about a tenth of a second), the step cap lifted so that every loss is the broker's or the
crash's."""


def delivery(results: Mapping, scenario: Scenario, styled: bool = True) -> go.Figure:
    """How the measured turns were delivered, per design: the share run twice or more (a
    late-ack broker's duplicates), the share never answered (lost or failed), the share
    answered once."""
    fig = go.Figure()
    for (name, result), colour in zip(results.items(), PALETTE, strict=False):
        turns = ended(result)
        twice = float((turns["duplicates"] > 0).mean()) if len(turns) else 0.0
        unanswered = float(lost(turns, None).mean()) if len(turns) else 0.0
        fig.add_bar(x=["run twice or more", "never answered", "answered once"],
                    y=[twice, unanswered, max(0.0, 1 - twice - unanswered)], name=name,
                    marker={"color": colour})
    fig = plots.layout(fig, "", "share of the measured turns", "How the turns were delivered",
                       styled)
    if styled:
        fig.update_layout(yaxis={"range": [0, 1], "tickformat": ".0%"})
    return fig


def broker_panel(seed: int = 0) -> Explorer:
    """Explore the broker: the long agent behind a late-acknowledging broker (SQS's 30 s
    visibility timeout to start with). Raise the timeout past the turn time's tail and the
    turns run twice fall away; switch to early acknowledgement and crash a worker: no turn runs
    twice, and the turns it held are never answered."""
    base = presets.long_agent(**{**EXPLORED, "resilience.broker": Broker(
        ack="late", visibility_timeout=SQS_VISIBILITY)})
    controls = [slider("visibility timeout (s)", 30, 600, 30, SQS_VISIBILITY,
                       "resilience.broker.visibility_timeout"),
                pick("acknowledge", ["late", "early"], "late", "resilience.broker.ack"),
                crash("workers", at=600.0)]
    return explore(base, controls=controls, views=[delivery, "in_system"], seed=seed)

