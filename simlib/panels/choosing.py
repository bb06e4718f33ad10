"""Choosing a design (notebook 05): all eight designs on one workload, the article's four
recommendations as experiments, and a chooser that ranks the designs for your requirements.

Choosing a design is shopping with a list: a budget (dollars per ok turn), a latency target, a
load, a conversation depth, maybe a compliance rule. No design is best on every line, so the
first tool is the **Pareto front** (:func:`pareto_front`): the designs that no other design
beats on cost, p95 latency *and* availability at once. Everything off the front is dominated:
some other design is at least as good on all three and better on one. The second tool is the
**chooser** (:func:`chooser`): set the requirements, see which designs meet them, cheapest first,
and why the others do not.

Workloads: :func:`agent` is the notebook's reference workload (a multi-turn chat agent with a
search tool, on a day when workers and the tool crash now and then); :func:`size_fleet` sizes
each design's fleet for a load by the utilisation rule, for the high-scale experiment;
:func:`deep_chat` is the complex-chat workload; :func:`sensitive` the compliance workload,
explored by :func:`compliance_panel`. Importing this module adds four charts to
:data:`simlib.widgets.VIEWS` (``choosing_sensitive``, ``choosing_latency_by_kind``,
``choosing_cost``, ``choosing_p95``).
"""

from __future__ import annotations

import math

import ipywidgets as w
import joblib
import numpy as np
import pandas as pd
import plotly.graph_objects as go

import simlib as sl
from simlib import theory
from simlib.cost import infrastructure_per_hour
from simlib.dists import Deterministic, Exponential, Geometric, LogNormal
from simlib.experiment import run_many
from simlib.metrics import measured
from simlib.panels.execution import mean_turn_time, step_parts
from simlib.plots import COLOURS, TEMPLATE, _layout
from simlib.records import Result
from simlib.widgets import VIEWS, Control, Explorer, choice, explore, outage, register, slider

LOW_BUDGET = sl.Architecture("stateless", "sync", "monolith")
"""The article's low-budget pick."""
HYBRID_BASE = sl.Architecture("stateless", "async", "monolith")
"""The design the chooser's overflow variants are built on (cheap, and not held back by worker
slots, so that what limits them is the on-premises model)."""
OVERFLOWS = ("queue", "shed", "cloud")
SMALL_MODEL = {"costs.llm_input_per_1k": 0.00015, "costs.llm_output_per_1k": 0.0006}
"""Token prices of a small hosted model ($0.15 and $0.60 per million tokens in and out), the
low-budget choice; the lab's default prices are about seven times higher."""
SENSITIVE_SHARE = 0.3
"""Share of turns that carry sensitive data, in :func:`sensitive` and the chooser's workload
(they matter only if compliance is required)."""
ONPREM_SLOT_HOUR = 1.0
"""Price of one on-premises model slot, $ per hour, busy or idle."""


# -- workloads -------------------------------------------------------------------------------


def agent(**changes) -> sl.Scenario:
    """The reference workload: chat sessions of about 4 turns (10 s think time), each turn about
    1.5 agent steps, a search tool call in half of the steps, on 2 workers of 6 slots (about 70%
    busy when sync), 0.3 sessions per second, 600 s with a 60 s warm-up. A realistic day:
    each worker crashes about every 30 minutes (30 s restart) and each copy of the search tool
    every 15 minutes (20 s restart). Tokens are priced as :data:`SMALL_MODEL`.
    Stateless/sync/monolith; ``changes`` in ``with_`` form."""
    scenario = sl.Scenario(
        architecture=LOW_BUDGET,
        workload=sl.Workload(arrival_rate=0.3, turns=Geometric(4), think_time=Exponential(10),
                             steps=Geometric(1.5), tools_per_step=Deterministic(0.5),
                             prompt_tokens=LogNormal(median=200, p95=800),
                             output_tokens=LogNormal(median=250, p95=800)),
        tools=(sl.Tool("search", LogNormal(median=0.3, p95=2.0), capacity=8),),
        store=sl.ContextStore(per_1k_tokens=0.01),
        workers=sl.Workers(count=2, slots=6),
        faults=(sl.faults.RandomCrashes("workers", mttf=1800.0, mttr=30.0),
                sl.faults.RandomCrashes("tools.search", mttf=900.0, mttr=20.0)),
        duration=600.0, warmup=60.0, slo_latency=20.0)
    return scenario.with_(**{**SMALL_MODEL, **changes})


def deep_chat(depth: int = 12, turn_rate: float = 0.8, **changes) -> sl.Scenario:
    """Complex chat: :func:`agent` with sessions of exactly ``depth`` turns arriving at
    ``turn_rate / depth`` per second (so the turns per second, hence the load, do not depend on
    the depth), a store that takes 0.05 s per 1k tokens of context read or written, no tool
    crashes, and two worker crashes (worker 0 at 200 s, worker 1 at 400 s, 30 s restarts)."""
    crashes = (sl.faults.Crash("workers", at=200.0, restart=30.0, index=0),
               sl.faults.Crash("workers", at=400.0, restart=30.0, index=1))
    return agent(**{"workload.turns": Deterministic(depth), "faults": crashes,
                    "workload.arrival_rate": turn_rate / depth, "store.per_1k_tokens": 0.05,
                    **changes})


def sensitive(share: float = SENSITIVE_SHARE, rate: float = 1.0, onprem: int = 4,
              **changes) -> sl.Scenario:
    """Strict compliance: the Q&A bot (one turn, one LLM call, no tools) with ``share`` of the
    turns sensitive, ``rate`` sessions per second, on 4 async workers (so that workers never
    limit it), 400 s, tokens priced as :data:`SMALL_MODEL`. ``onprem`` is the on-premises
    model's concurrency (0 = none: cloud only), paid $1 per slot-hour; ``changes`` in ``with_``
    form."""
    scenario = sl.presets.qa_bot(**{
        "architecture": HYBRID_BASE, "workload.arrival_rate": rate,
        "workload.sensitive_share": share, "workers.count": 4, "duration": 400.0,
        "warmup": 40.0, "slo_latency": 20.0, **SMALL_MODEL})
    if onprem:
        scenario = with_onprem(scenario, onprem)
    return scenario.with_(**changes)


def with_onprem(scenario: sl.Scenario, concurrency: int = 4, overflow: str = "queue",
                per_slot_hour: float = ONPREM_SLOT_HOUR) -> sl.Scenario:
    """``scenario`` as a hybrid design: sensitive turns go to an on-premises model of
    ``concurrency`` slots (paid ``per_slot_hour`` each, busy or idle); ``overflow`` says what a
    sensitive turn does when it is full (see :class:`simlib.Compliance`)."""
    return scenario.with_(onprem=sl.OnPrem(concurrency=concurrency), **{
        "costs.onprem_per_hour": concurrency * per_slot_hour, "compliance.overflow": overflow})


def onprem_call_time(scenario: sl.Scenario) -> float:
    """Mean seconds of one on-premises LLM call: time to first token + output / decode rate."""
    onprem = scenario.onprem
    return onprem.ttft.mean + scenario.workload.output_tokens.mean / onprem.decode_rate


def overflow_formula(scenario: sl.Scenario) -> float:
    """Erlang B: the share of sensitive calls that find every on-premises slot busy. Sensitive
    one-call turns arrive as a Poisson process (every turn is sensitive at random), so with
    overflow "cloud" that is the share of sensitive turns that violate, and with overflow "shed"
    (no queue) about the share refused; Erlang B holds for any call-time distribution."""
    rate = scenario.workload.arrival_rate * scenario.workload.sensitive_share
    return theory.erlang_b(rate, onprem_call_time(scenario), scenario.onprem.concurrency)


# -- sizing for scale --------------------------------------------------------------------------


def demand(scenario: sl.Scenario) -> dict[str, float]:
    """Mean load the workload offers, from the distributions' means (no simulation): turns per
    second, the seconds a sync turn holds its slot (steps x (CPU + LLM call + tool calls one
    after another)), CPU seconds per turn, and tool-seconds per second of each tool."""
    wl = scenario.workload
    turns = wl.arrival_rate * wl.turns.mean
    weights = sum(t.weight for t in scenario.tools) or 1.0
    calls = turns * wl.steps.mean * wl.tools_per_step.mean
    return {"turns": turns, "turn_time": mean_turn_time(scenario),
            "cpu": wl.steps.mean * step_parts(scenario)["cpu"],
            **{f"tools.{t.name}": calls * t.weight / weights * t.latency.mean
               for t in scenario.tools}}


def size_fleet(scenario: sl.Scenario, utilisation: float = 0.7) -> sl.Scenario:
    """The smallest fleet the utilisation rule allows: every resource busy at most
    ``utilisation`` of the time on average. Sync workers hold a slot for a whole turn; async
    workers need CPU slots for the bursts and in-flight places for the whole turn. A monolith
    replica carries every tool, so it needs replicas for the tools too; microservices size
    each tool service on its own."""
    d, wk = demand(scenario), scenario.workers
    if scenario.architecture.execution == "sync":
        need = d["turns"] * d["turn_time"] / wk.slots
    else:
        need = max(d["turns"] * d["cpu"] / wk.slots, d["turns"] * d["turn_time"] / wk.max_in_flight)
    tools = {t.name: d[f"tools.{t.name}"] / t.capacity / utilisation for t in scenario.tools}
    count = math.ceil(need / utilisation)
    changes = {}
    if scenario.architecture.deployment == "monolith":
        count = max([count, *(math.ceil(n) for n in tools.values())])
    else:
        changes = {f"tools.{name}.replicas": max(1, math.ceil(n)) for name, n in tools.items()}
    return scenario.with_(**{"workers.count": max(1, count), **changes})


def at_scale(scenario: sl.Scenario, factors=(1, 10, 100), seeds=range(3),
             n_jobs: int = 2) -> pd.DataFrame:
    """Each design at ``factors`` times the arrival rate of ``scenario``, its fleet sized by
    :func:`size_fleet`: one row per (factor, design) with the fleet, the infrastructure $/h,
    and the means over ``seeds`` of the turns arriving per second, goodput, p95, availability,
    cost per 1k ok turns (and its 95% CI half-width) and worker utilisation, next to the
    utilisation formula: turns per second x slot-seconds per turn (sync: the whole turn;
    async: its CPU) / slots."""
    jobs, keys = [], []
    for factor in factors:
        for design in sl.DESIGNS:
            sized = size_fleet(scenario.with_(architecture=design, **{
                "workload.arrival_rate": scenario.workload.arrival_rate * factor}))
            keys.append((factor, design.name, sized))
            jobs += [(sized, seed) for seed in seeds]
    rows = run_many(jobs, n_jobs=n_jobs, progress=False)
    out, per = [], len(list(seeds))
    for i, (factor, name, sized) in enumerate(keys):
        runs = pd.DataFrame(rows[i * per:(i + 1) * per])
        cost = sl.confidence_interval(1000 * runs["cost_per_ok"])
        d, slots = demand(sized), sized.workers.count * sized.workers.slots
        held = d["turn_time"] if sized.architecture.execution == "sync" else d["cpu"]
        out.append({"factor": factor, "design": name, "workers": sized.workers.count,
                    "tool_replicas": sum(t.replicas for t in sized.tools)
                    if sized.architecture.deployment == "microservices" else 0,
                    "infra_per_hour": infrastructure_per_hour(sized),
                    "arrival_rate": runs["arrival_rate"].mean(),
                    "goodput": runs["goodput"].mean(),
                    "latency_p95": runs["latency_p95"].mean(),
                    "availability": runs["availability"].mean(),
                    "cost_per_1k": cost[0], "cost_per_1k_ci": (cost[2] - cost[1]) / 2,
                    "utilisation": runs["utilisation"].mean(),
                    "utilisation_formula": runs["arrival_rate"].mean() * held / slots})
    return pd.DataFrame(out)


# -- the eight designs, and the Pareto front -------------------------------------------------


def all_designs(scenario: sl.Scenario, seeds=range(5), n_jobs: int = 2,
                designs=tuple(sl.DESIGNS)) -> pd.DataFrame:
    """Every design (of ``designs``) on ``scenario``, same seeds (a sweep): one summary row per
    (design, seed), with a ``design`` column holding the design's name."""
    table = sl.sweep(scenario, {"architecture": list(designs)}, seeds=seeds, n_jobs=n_jobs,
                     progress=False)
    table.insert(0, "design", [a.name for a in table["architecture"]])
    return table.drop(columns="architecture")


def pareto_front(table: pd.DataFrame, lower=("cost_per_ok", "latency_p95"),
                 higher=("availability",)) -> pd.Series:
    """True for the rows no other row dominates. Row A dominates row B when A is at least as
    good on every column (``lower`` columns lower or equal, ``higher`` columns higher or equal)
    and strictly better on at least one."""
    good = np.column_stack([-table[c].to_numpy(float) for c in lower]
                           + [table[c].to_numpy(float) for c in higher])
    front = []
    for row in good:
        dominated = np.any(np.all(good >= row, axis=1) & np.any(good > row, axis=1))
        front.append(not dominated)
    return pd.Series(front, index=table.index, name="front")


def design_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per design (index): the mean over seeds and the 95% CI half-width of cost per 1k ok turns,
    p95 latency and availability, the mean context lost, and whether it is on the front."""
    rows = {}
    for name, runs in table.groupby("design", sort=False):
        row = {}
        for key, column, scale in (("cost_per_1k", "cost_per_ok", 1000),
                                   ("p95", "latency_p95", 1), ("availability", "availability", 1)):
            mean, low, high = sl.confidence_interval(scale * runs[column])
            row[key], row[f"{key}_ci"] = mean, (high - low) / 2
        row["context_lost"] = runs["context_lost"].mean()
        rows[name] = row
    out = pd.DataFrame(rows).T
    out["front"] = pareto_front(out, lower=("cost_per_1k", "p95"), higher=("availability",))
    return out


def versus(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each design minus ``reference``, seed by seed (the same seed gives both designs the same
    sessions, so the noise of the day cancels): mean and 95% CI of the difference in cost per 1k
    ok turns, p95 and availability."""
    ref = table[table["design"] == reference].set_index("seed")
    rows = {}
    for name, runs in table.groupby("design", sort=False):
        other, row = runs.set_index("seed"), {}
        for key, column, scale in (("cost_per_1k", "cost_per_ok", 1000),
                                   ("p95", "latency_p95", 1), ("availability", "availability", 1)):
            diff = scale * (other[column] - ref[column])
            row[key], row[f"{key}_low"], row[f"{key}_high"] = sl.confidence_interval(diff)
        rows[name] = row
    return pd.DataFrame(rows).T.drop(index=reference)


def front_figure(summary: pd.DataFrame) -> go.Figure:
    """Cost per 1k ok turns against p95, one marker per design (95% CI bars): a filled star on
    the Pareto front, an open circle off it; availability in the label."""
    fig = go.Figure()
    for name, r in summary.iterrows():
        on = bool(r["front"])
        fig.add_scatter(x=[r["p95"]], y=[r["cost_per_1k"]], mode="markers+text", name=name,
                        text=[f"{r['availability']:.1%}"], textposition="top center",
                        marker={"color": COLOURS[name], "size": 16 if on else 11,
                                "symbol": "star" if on else "circle-open",
                                "line": {"width": 2, "color": COLOURS[name]}},
                        error_x={"type": "data", "array": [r["p95_ci"]], "color": COLOURS[name]},
                        error_y={"type": "data", "array": [r["cost_per_1k_ci"]],
                                 "color": COLOURS[name]})
    fig.update_layout(template=TEMPLATE, title="Eight designs: stars are on the Pareto front "
                      "(label: availability)", xaxis_title="p95 latency (s)",
                      yaxis_title="$ per 1,000 ok turns", height=460)
    return fig


def cost_split(scenario: sl.Scenario, table: pd.DataFrame) -> pd.DataFrame:
    """Per design: infrastructure $/h, and the cost per 1k ok turns split into infrastructure
    and usage (tokens, store operations), means over the seeds of a sweep ``table``."""
    span = (scenario.duration - scenario.warmup) / 3600
    rows = {}
    for design in sl.DESIGNS:
        runs = table[table["design"] == design.name]
        infra = infrastructure_per_hour(scenario.with_(architecture=design))
        per_1k = 1000 * infra * span / runs["n_ok"]
        rows[design.name] = {"infra_per_hour": infra, "infra_per_1k": per_1k.mean(),
                             "usage_per_1k": (1000 * runs["cost_per_ok"] - per_1k).mean()}
    return pd.DataFrame(rows).T


def complex_chat(depths=(3, 12), seeds=range(5), n_jobs: int = 2, **changes) -> pd.DataFrame:
    """:func:`deep_chat` at each depth for stateless, stateful, and stateful with a checkpoint
    every turn (the article's "stateful + strong data storage"), all sync monoliths: one
    summary row per (depth, design, seed)."""
    stateful = sl.Architecture("stateful", "sync", "monolith")
    variants = {"stateless": {}, "stateful": {"architecture": stateful},
                "stateful + checkpoints": {"architecture": stateful,
                                           "resilience.checkpoint": sl.Checkpointing(1)}}
    keys, jobs = [], []
    for depth in depths:
        for name, change in variants.items():
            for seed in seeds:
                keys.append((depth, name, seed))
                jobs.append((deep_chat(depth, **{**changes, **change}), seed))
    rows = run_many(jobs, n_jobs=n_jobs, progress=False)
    table = pd.DataFrame(rows).reset_index(drop=True)
    return pd.concat([pd.DataFrame(keys, columns=["depth", "design", "seed"]), table], axis=1)


# -- strict compliance -----------------------------------------------------------------------


def fates(result: Result) -> dict[str, float]:
    """What became of the measured turns of a hybrid or cloud-only run: sensitive turns, their
    violations (LLM call sent to the cloud), those shed, p95 latency of ok sensitive and ok
    other turns, cost per 1k ok turns and availability."""
    turns = measured(result.turns)
    ok = turns["outcome"] == "ok"
    secret = turns["sensitive"]
    summary = result.summary()

    def p95(mask):
        return float(np.percentile(turns.loc[mask, "latency"], 95)) if mask.any() else np.nan
    return {"sensitive": int(secret.sum()), "violations": int(turns["violation"].sum()),
            "shed": int((secret & (turns["outcome"] == "shed")).sum()),
            "p95_sensitive": p95(ok & secret), "p95_other": p95(ok & ~secret),
            "cost_per_1k": 1000 * summary["cost_per_ok"], "availability": summary["availability"]}


def _fates(scenario: sl.Scenario, seed: int) -> dict[str, float]:
    return fates(sl.run(scenario, seed))


COMPLIANCE_VARIANTS = {"cloud only": None, "hybrid, queue": "queue", "hybrid, shed": "shed",
                       "hybrid, overflow to cloud": "cloud"}
"""The compliance designs: no on-premises model, or one with each overflow rule."""


def compliance(rates=(0.5, 1.0, 1.5, 2.5), seeds=range(4), n_jobs: int = 2,
               **changes) -> pd.DataFrame:
    """Every :data:`COMPLIANCE_VARIANTS` design on :func:`sensitive` at each arrival rate: one
    row of :func:`fates` per (rate, variant, seed), with the on-premises utilisation
    formula (sensitive calls per second x mean call time / concurrency) and Erlang B."""
    keys, jobs = [], []
    for rate in rates:
        for name, overflow in COMPLIANCE_VARIANTS.items():
            scenario = sensitive(rate=rate, onprem=0, **changes)
            if overflow is not None:
                scenario = with_onprem(scenario, overflow=overflow)
            for seed in seeds:
                keys.append({"rate": rate, "design": name, "seed": seed,
                             **_formulas(with_onprem(scenario) if overflow is None
                                         else scenario)})
                jobs.append((scenario, seed))
    rows = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_fates)(s, seed) for s, seed in jobs)
    return pd.DataFrame([{**k, **r} for k, r in zip(keys, rows, strict=True)])


def _formulas(scenario: sl.Scenario) -> dict[str, float]:
    rate = scenario.workload.arrival_rate * scenario.workload.sensitive_share
    return {"onprem_utilisation": rate * onprem_call_time(scenario) / scenario.onprem.concurrency,
            "erlang_b": overflow_formula(scenario)}


def _sensitive_view(results: dict, scenario: sl.Scenario) -> go.Figure:
    """How sensitive and other turns ended: served on-premises, served in the cloud (for a
    sensitive turn: a violation), shed, failed, or still waiting when the run ended."""
    result = next(iter(results.values()))
    turns = measured(result.turns)
    served = turns["outcome"] == "ok"
    where = {"on-premises": served & turns["sensitive"] & ~turns["violation"],
             "cloud": served & (~turns["sensitive"] | turns["violation"]),
             "shed": turns["outcome"] == "shed",
             "failed": turns["outcome"].isin(["failed", "timed_out", "silent_failure"]),
             "still waiting": turns["outcome"] == "in_flight"}
    fig = go.Figure()
    for label, mask, colour in (("sensitive", turns["sensitive"], "#d62728"),
                                ("other", ~turns["sensitive"], "#4e79a7")):
        fig.add_bar(x=list(where), y=[int((m & mask).sum()) for m in where.values()],
                    name=label, marker={"color": colour})
    fig.update_layout(barmode="group")
    return _layout(fig, "where the turn ended", "turns",
                   "Sensitive turns in the cloud are violations")


def _latency_by_kind(results: dict, scenario: sl.Scenario) -> go.Figure:
    """Latency distribution of ok sensitive turns against ok other turns."""
    result = next(iter(results.values()))
    turns = measured(result.turns)
    turns = turns[turns["outcome"] == "ok"]
    fig = go.Figure()
    for label, mask, colour in (("sensitive", turns["sensitive"], "#d62728"),
                                ("other", ~turns["sensitive"], "#4e79a7")):
        latency = np.sort(turns.loc[mask, "latency"].to_numpy())
        fig.add_scatter(x=latency, y=np.arange(1, len(latency) + 1) / max(len(latency), 1),
                        mode="lines", name=label, line={"color": colour})
    return _layout(fig, "latency (s)", "share of ok turns", "Latency: sensitive vs other")


VIEWS["choosing_sensitive"] = _sensitive_view
VIEWS["choosing_latency_by_kind"] = _latency_by_kind


def _onprem_slots(value: int = 4) -> Control:
    """A slider for the on-premises model's slots; each costs :data:`ONPREM_SLOT_HOUR`."""
    def make():
        return w.IntSlider(min=1, max=8, step=1, value=value, description="on-premises slots",
                           continuous_update=False, style={"description_width": "initial"},
                           layout=w.Layout(width="340px"))

    def apply(scenario, slots):
        return scenario.with_(**{"onprem.concurrency": slots,
                                 "costs.onprem_per_hour": slots * ONPREM_SLOT_HOUR})
    return Control("on-premises slots", make, apply)


def compliance_panel(seed: int = 0) -> Explorer:
    """A hybrid design: 30% of the Q&A bot's turns are sensitive and go to an on-premises model
    of 4 slots; the rest go to the cloud.

    Try: raise the arrival rate until the on-premises model saturates (about 2.3 sessions/s:
    30% of them x 5.8 s per call fills 4 slots). With overflow "queue" the red latency curve
    runs away to the right while the blue one stays put, and the violations bar stays at 0;
    switch to "shed" and sensitive turns are refused instead (the shed bar); switch to "cloud"
    and they are fast again, but the red "cloud" bar (violations) grows. Add on-premises slots
    and pay for them (the table's cost). Break the cloud provider for a minute (at 150 s): the
    other turns fail, the sensitive ones carry on on-premises; a flash crowd (30 s from 150 s)
    shows saturation as a burst."""
    scenario = with_onprem(sensitive(rate=1.5, onprem=0, duration=300.0))
    controls = [slider("workload.arrival_rate", 0.5, 3.5, 0.25, "sessions per second", 1.5),
                _onprem_slots(4),
                choice("compliance.overflow", list(OVERFLOWS), "when on-premises is full"),
                outage("llm", start=150.0, duration=60.0, label="cloud outage error rate"),
                sl.widgets.flash_crowd(start=150.0, duration=30.0)]
    return explore(scenario, controls, views=["choosing_sensitive", "choosing_latency_by_kind"],
                   seed=seed)


# -- the chooser -----------------------------------------------------------------------------

MAX_CONTEXT_LOST = 0.01
"""A conversation requirement: at most 1% of turns may lose their history."""


def chat_for(load: float = 0.6, depth: int = 4, restart: float = 0.0) -> sl.Scenario:
    """The chooser's small workload: :func:`agent` cut down to run in a few milliseconds per
    design: ``load`` turns per second in sessions of exactly ``depth`` turns, one agent step per
    turn, 3 s think time (a compressed day, so that deep conversations fit in a short run), 2
    workers of 3 slots (a sync fleet serves about 1.2 turns/s), a store that takes 0.05 s per
    1k tokens of context, 200 s (40 s warm-up), 30% of turns sensitive. ``restart`` > 0 crashes
    worker 0 at 100 s for that many seconds."""
    faults = (sl.faults.Crash("workers", at=100.0, restart=restart),) if restart else ()
    return agent(**{"workload.turns": Deterministic(depth), "workload.think_time": Exponential(3),
                    "workload.arrival_rate": load / depth, "workload.steps": Deterministic(1),
                    "workload.sensitive_share": SENSITIVE_SHARE, "workers.slots": 3,
                    "store.per_1k_tokens": 0.05, "faults": faults, "duration": 200.0,
                    "warmup": 40.0})


CHECKPOINTED = sl.Architecture("stateful", "async", "monolith")
"""The stateful design the chooser also offers with a checkpoint every turn."""


def candidates(scenario: sl.Scenario, compliant: bool) -> dict[str, sl.Scenario]:
    """The designs the chooser compares: the eight (all cloud-only); for conversations of more
    than one turn, :data:`CHECKPOINTED` with a checkpoint every turn ("stateful + strong data
    storage"); and when compliance is required, :data:`HYBRID_BASE` with an on-premises model
    and each overflow rule."""
    out = {d.name: scenario.with_(architecture=d) for d in sl.DESIGNS}
    if scenario.workload.turns.mean > 1:
        out[f"{CHECKPOINTED.name} + checkpoints"] = scenario.with_(
            architecture=CHECKPOINTED, **{"resilience.checkpoint": sl.Checkpointing(1)})
    if compliant:
        base = scenario.with_(architecture=HYBRID_BASE)
        out.update({f"{HYBRID_BASE.name} + on-prem ({o})": with_onprem(base, overflow=o)
                    for o in OVERFLOWS})
    return out


def measures(result: Result) -> dict[str, float]:
    """The numbers the chooser judges a run by, from its summary (measured turns only): $ per
    1k ok turns, p95, availability, the share of turns that lost their history, and the
    sensitive turns and their violations."""
    s = result.summary()
    return {"cost_per_1k": 1000 * s["cost_per_ok"], "p95": s["latency_p95"],
            "availability": s["availability"],
            "context_lost": s["context_lost"] / s["arrivals"] if s["arrivals"] else 0.0,
            "violations": s["violations"], "sensitive": s["sensitive"]}


def rank(table: pd.DataFrame, budget: float, p95: float, availability: float,
         compliant: bool) -> pd.DataFrame:
    """Rank designs (rows of :func:`measures`) against requirements: a budget in $ per 1k ok
    turns, a p95 target in seconds, an availability target, at most :data:`MAX_CONTEXT_LOST`
    of turns without their history, and (if ``compliant``) no violations. Designs that meet
    everything come first, cheapest first; then the rest, fewest misses first. ``why`` says
    which requirement each design misses, with its number, or that it meets them all."""
    checks = {
        "budget": (table["cost_per_1k"] <= budget,
                   lambda r: f"costs ${r.cost_per_1k:.2f} > ${budget:.2f} per 1k ok turns"),
        "p95": (table["p95"] <= p95, lambda r: f"p95 {r.p95:.1f} s > {p95:.0f} s"),
        "availability": (table["availability"] >= availability,
                         lambda r: f"available {r.availability:.1%} < {availability:.1%}"),
        "context": (table["context_lost"] <= MAX_CONTEXT_LOST,
                    lambda r: f"{r.context_lost:.1%} of turns lost their history"),
        "compliance": (table["violations"] == 0 if compliant else pd.Series(True, table.index),
                       lambda r: f"{r.violations:.0f} of {r.sensitive:.0f} sensitive turns "
                                 "went to the cloud"),
    }
    out = table.copy()
    out["misses"] = sum((~ok).astype(int) for ok, _ in checks.values())
    out["meets"] = out["misses"] == 0
    whys = []
    for name, r in out.iterrows():
        missed = [say(r) for ok, say in checks.values() if not ok[name]]
        whys.append("; ".join(missed) if missed else
                    f"meets all: ${r.cost_per_1k:.2f}/1k ok, p95 {r.p95:.1f} s, "
                    f"{r.availability:.1%} available"
                    + (", no violations" if compliant else ""))
    out["why"] = whys
    out = out.sort_values(["misses", "cost_per_1k"], kind="stable")
    out.insert(0, "rank", range(1, len(out) + 1))
    return out


LOAD, DEPTH, CRASH = "expected load (turns/s)", "conversation depth (turns)", \
    "worker crash at 100 s: restart (s)"
BUDGET, P95, AVAILABILITY, COMPLIANCE = "budget ($ per 1k ok turns)", "p95 target (s)", \
    "availability target", "compliance"
DEFAULTS = {LOAD: 0.6, DEPTH: 4, CRASH: 0.0, BUDGET: 0.9, P95: 15.0, AVAILABILITY: 0.99,
            COMPLIANCE: "not required"}
"""The chooser's controls (by label) and where they start."""
ARTICLE = {"low budget": {BUDGET: 0.65}, "high scale": {LOAD: 1.6},
           "complex chat": {DEPTH: 12, CRASH: 30.0, BUDGET: 1.5, AVAILABILITY: 0.95},
           "strict compliance": {COMPLIANCE: "required", BUDGET: 3.0}}
"""The article's four "how to choose" cases as changes to the chooser's defaults."""


class Ranked(dict):
    """The chooser's runs, ``{name: Result}``, with ``table``: the ranking for the current
    requirements (what the chooser's charts draw)."""

    table: pd.DataFrame


def _bars(results: Ranked, column: str, limit: float, title: str, x_title: str) -> go.Figure:
    """Horizontal bars of ``column`` per design in rank order: green if it meets every
    requirement, grey if not; the requirement's limit as a dashed line."""
    table = results.table
    fig = go.Figure()
    for meets, colour, label in ((True, "#59a14f", "meets every requirement"),
                                 (False, "#bab0ac", "misses one or more")):
        part = table[table["meets"] == meets]
        fig.add_bar(x=part[column].to_numpy(), y=list(part.index), orientation="h",
                    name=label, marker={"color": colour})
    fig.add_vline(x=limit, line_dash="dash", line_color=COLOURS["formula"])
    fig = _layout(fig, x_title, "", title)
    fig.update_layout(yaxis={"autorange": "reversed"}, height=420,
                      margin={"l": 330, "t": 50, "b": 40, "r": 20})
    return fig


VIEWS["choosing_cost"] = lambda results, s: _bars(
    results, "cost_per_1k", results.budget, "Cost, best first (dashed: your budget)",
    "$ per 1,000 ok turns")
VIEWS["choosing_p95"] = lambda results, s: _bars(
    results, "p95", results.p95_target, "p95 latency (dashed: your target)", "p95 (s)")


class Chooser(Explorer):
    """The interactive chooser: requirement controls over a ranked table of designs.

    ``controls`` (label -> widget) hold the requirements; setting one re-ranks, re-running only
    what it must: the budget and the targets re-rank cached runs; the load, the depth and the
    crash re-run the designs (each run cached per setting and seed); compliance adds three
    hybrid designs. ``summary()`` is the ranked table, ``figures`` its two charts, ``timings``
    the seconds each update took."""

    def __init__(self, seed: int = 0):
        def knob(widget) -> Control:
            return Control(widget.description, lambda: widget, lambda s, v: s)
        style, wide, v = {"description_width": "initial"}, w.Layout(width="340px"), DEFAULTS

        def slide(kind, label, low, high, step, **extra):
            return kind(min=low, max=high, step=step, value=v[label], description=label,
                        continuous_update=False, style=style, layout=wide, **extra)
        widgets = [slide(w.FloatSlider, LOAD, 0.2, 1.6, 0.1),
                   slide(w.IntSlider, DEPTH, 1, 12, 1),
                   slide(w.FloatSlider, CRASH, 0, 120, 30),
                   slide(w.FloatSlider, BUDGET, 0.3, 3.0, 0.05),
                   slide(w.FloatSlider, P95, 5, 40, 1),
                   slide(w.FloatSlider, AVAILABILITY, 0.9, 1.0, 0.005, readout_format=".1%"),
                   w.Dropdown(options=["not required", "required"], value=v[COMPLIANCE],
                              description=COMPLIANCE, style=style)]
        super().__init__(chat_for(), [knob(x) for x in widgets],
                         views=["choosing_cost", "choosing_p95"], seed=seed)
        register(self)

    def current(self) -> sl.Scenario:
        """The workload the load, depth and crash controls describe."""
        c = self.controls
        return chat_for(c[LOAD].value, c[DEPTH].value, c[CRASH].value)

    def _run(self) -> Ranked:
        c, seed = self.controls, self.controls["seed"].value
        compliant = c[COMPLIANCE].value == "required"
        results, rows = Ranked(), {}
        for name, scenario in candidates(self.current(), compliant).items():
            key = (scenario, seed)
            if key not in self._cache:
                result = sl.run(scenario, seed)
                self._cache[key] = (result, measures(result))
            results[name], rows[name] = self._cache[key]
        results.table = rank(pd.DataFrame(rows).T, c[BUDGET].value, c[P95].value,
                             c[AVAILABILITY].value, compliant)
        results.budget, results.p95_target = c[BUDGET].value, c[P95].value
        return results

    def summary(self) -> pd.DataFrame:
        """The ranked table of the last update (see :func:`rank`)."""
        return self.results.table

    def _table(self) -> str:
        t = self.summary()
        shown = pd.DataFrame({
            "rank": t["rank"], "$/1k ok": t["cost_per_1k"].map("{:.2f}".format),
            "p95 (s)": t["p95"].map("{:.1f}".format),
            "available": t["availability"].map("{:.1%}".format),
            "context lost": t["context_lost"].map("{:.1%}".format),
            "violations": t["violations"].map("{:.0f}".format), "why": t["why"]})
        return shown.to_html(border=0)




def chooser(seed: int = 0) -> Chooser:
    """Choose a design: set your requirements and read the ranking.

    The workload (:func:`chat_for`) is a chat agent on 2 workers of 3 slots. Requirements:
    a budget ($ per 1,000 ok turns), a p95 target, an availability target, compliance (30% of
    turns are sensitive), and always that at most 1% of turns lose their history. The load, the
    conversation depth and a crash of worker 0 describe your traffic and your bad day. The
    candidates are the eight designs, a checkpointed stateful design for conversations of more
    than one turn, and three hybrids when compliance is required (:func:`candidates`).

    Try: lower the budget until only the monoliths are left: microservices pay a fixed overhead
    per service. Raise the load past about 1.2 turns/s: the sync designs miss the p95 target
    (their slots are full), async ones do not. Deepen the conversation to 12 turns: stateless
    designs read and write a longer history every turn, and their p95 grows past the stateful
    ones'. Now crash a worker: the plain stateful designs lose the conversations it held and
    fall down the ranking; the checkpointed one and the stateless ones keep them. Require
    compliance: the eight cloud-only designs miss it (every sensitive turn went to the cloud)
    and three hybrids appear; give them the budget their on-premises model needs, raise the
    load, and compare the queueing hybrid's p95, the shedding one's availability and the
    overflowing one's violations. Change the seed to see how much of a ranking is luck."""
    return Chooser(seed)


def shortlists(lists: dict = ARTICLE, seed: int = 0, top: int = 3) -> dict[str, pd.DataFrame]:
    """Drive one chooser from code: for each named list of requirements (control label ->
    value, changes to :data:`DEFAULTS`), the ``top`` rows of its ranking."""
    picker = Chooser(seed)
    out = {}
    for name, settings in lists.items():
        for label, value in {**DEFAULTS, **settings}.items():
            picker.controls[label].value = value
        out[name] = picker.summary().head(top)
    picker.close()  # never shown: free its widgets
    return out
