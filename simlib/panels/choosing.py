"""Choosing a design (notebook 05): all eight designs on one workload, the article's four
recommendations as experiments, and a chooser that ranks the designs for your requirements.

Choosing a design is shopping with a list: a budget (dollars per ok turn), a latency target, a
load, a conversation depth, maybe a compliance rule. No design is best on every line, so the
first tool is the **Pareto front** (:func:`simlib.stats.pareto_front`): the designs that no
other design beats on cost, p95 latency *and* availability at once. Everything off the front is
dominated: some other design is at least as good on all three and better on one. The second
tool is the **chooser** (:func:`chooser`): set the requirements, see which designs meet them,
cheapest first, and why the others do not.

The workloads are presets: ``chat_agent`` (a multi-turn chat agent with a search tool, on a day
when workers and the tool crash now and then), ``deep_chat`` (complex chat), ``sensitive`` (the
compliance workload, explored by :func:`compliance_panel`) and ``small_chat`` (the chooser's);
fleets for the high-scale experiment are sized by :func:`simlib.capacity.size_fleet`.
"""

from __future__ import annotations

from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
import plotly.graph_objects as go

import simlib as sl
from simlib import presets, stats
from simlib.capacity import onprem_utilisation, overflow_formula, size_fleet, utilisation_formula
from simlib.cost import infrastructure_per_hour
from simlib.experiment import run_many
from simlib.metrics import measured
from simlib.plots import COLOURS, TEMPLATE, layout
from simlib.records import Result
from simlib.widgets import Explorer, explore, flash_crowd, outage, pick, slider

OVERFLOWS = ("queue", "shed", "cloud")
"""What a sensitive turn does when the on-premises model is full (``compliance.overflow``)."""
MEASURES = ("cost_per_1k", "latency_p95", "availability")
"""What the eight designs are judged by: $ per 1,000 ok turns, p95 latency, availability."""


# -- sizing for scale --------------------------------------------------------------------------


def at_scale(scenario: sl.Scenario, factors=(1, 10, 100), seeds=range(3),
             n_jobs: int = 2) -> pd.DataFrame:
    """Each design at ``factors`` times the arrival rate of ``scenario``, its fleet sized by
    :func:`simlib.capacity.size_fleet`: one row per (factor, design) with the fleet, the
    infrastructure $/h, and the means over ``seeds`` of the turns arriving per second, goodput,
    p95, availability and worker utilisation, next to the utilisation formula
    (:func:`simlib.capacity.utilisation_formula` at the turns that arrived); ``cost_per_1k``
    is a :class:`~simlib.stats.CI` of the $ per 1,000 ok turns."""
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
        mean = runs[["arrival_rate", "goodput", "latency_p95", "availability", "utilisation"]]
        out.append({"factor": factor, "design": name, "workers": sized.workers.count,
                    "tool_replicas": sum(t.replicas for t in sized.tools)
                    if sized.architecture.remote else 0,
                    "infra_per_hour": infrastructure_per_hour(sized), **mean.mean(),
                    "cost_per_1k": stats.confidence_interval(1000 * runs["cost_per_ok"]),
                    "utilisation_formula": utilisation_formula(sized,
                                                               runs["arrival_rate"].mean())})
    return pd.DataFrame(out)


# -- the eight designs -----------------------------------------------------------------------


def all_designs(scenario: sl.Scenario, seeds=range(5), n_jobs: int = 2,
                designs=tuple(sl.DESIGNS)) -> pd.DataFrame:
    """Every design (of ``designs``) on ``scenario``, same seeds (a sweep): one summary row per
    (design, seed), with a ``design`` column holding the design's name and ``cost_per_1k``,
    the $ per 1,000 ok turns."""
    table = sl.sweep(scenario, {"architecture": list(designs)}, seeds=seeds, n_jobs=n_jobs,
                     progress=False)
    table.insert(0, "design", [a.name for a in table["architecture"]])
    return table.drop(columns="architecture").assign(cost_per_1k=1000 * table["cost_per_ok"])


def design_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per design (in order): the mean and 95% CI of each of :data:`MEASURES` and of the
    histories lost per run, over the seeds of :func:`all_designs` (a
    :func:`simlib.stats.ci_table`; availability is a share, the others are never negative)."""
    within = {"cost_per_1k": stats.COUNT, "latency_p95": stats.COUNT,
              "availability": stats.SHARE, "context_lost": stats.COUNT}
    return stats.ci_table(runs, "design", list(within), within=within)


def front_figure(summary: pd.DataFrame) -> go.Figure:
    """Cost per 1k ok turns against p95, one marker per design of a :func:`design_summary`
    (95% CI bars): a filled star on the Pareto front, an open circle off it; availability in
    the label."""
    fig = go.Figure()
    front = stats.pareto_front(summary, lower=MEASURES[:2], higher=MEASURES[2:])
    for name, r in summary.iterrows():
        on, cost, p95 = bool(front[name]), r["cost_per_1k"], r["latency_p95"]
        fig.add_scatter(x=[p95["mean"]], y=[cost["mean"]], mode="markers+text", name=name,
                        text=[f"{r['availability', 'mean']:.1%}"], textposition="top center",
                        marker={"color": COLOURS[name], "size": 16 if on else 11,
                                "symbol": "star" if on else "circle-open",
                                "line": {"width": 2, "color": COLOURS[name]}},
                        error_x={"type": "data", "array": [p95["high"] - p95["mean"]],
                                 "arrayminus": [p95["mean"] - p95["low"]],
                                 "color": COLOURS[name]},
                        error_y={"type": "data", "array": [cost["high"] - cost["mean"]],
                                 "arrayminus": [cost["mean"] - cost["low"]],
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
    """``presets.deep_chat`` at each depth for stateless, stateful, and stateful with a checkpoint
    every turn (the article's "stateful + strong data storage"), all sync monoliths: one
    summary row per (depth, design, seed)."""
    variants = {"stateless": {}, "stateful": {"architecture": presets.STATEFUL},
                "stateful + checkpoints": {"architecture": presets.STATEFUL,
                                           "resilience.checkpoint": sl.Checkpointing(1)}}
    keys, jobs = [], []
    for depth in depths:
        for name, change in variants.items():
            for seed in seeds:
                keys.append((depth, name, seed))
                jobs.append((presets.deep_chat(depth, **{**changes, **change}), seed))
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
    """Every :data:`COMPLIANCE_VARIANTS` design on ``presets.sensitive`` at each arrival rate:
    one row of :func:`fates` per (rate, variant, seed), with the on-premises utilisation
    formula (:func:`simlib.capacity.onprem_utilisation`) and Erlang B
    (:func:`simlib.capacity.overflow_formula`)."""
    keys, jobs = [], []
    for rate in rates:
        for name, overflow in COMPLIANCE_VARIANTS.items():
            scenario = presets.sensitive(rate=rate, onprem=0, **changes)
            hybrid = presets.with_onprem(scenario, overflow=overflow or "queue")
            if overflow is not None:
                scenario = hybrid
            for seed in seeds:
                keys.append({"rate": rate, "design": name, "seed": seed,
                             "onprem_utilisation": onprem_utilisation(hybrid),
                             "erlang_b": overflow_formula(hybrid)})
                jobs.append((scenario, seed))
    rows = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_fates)(s, seed) for s, seed in jobs)
    return pd.DataFrame([{**k, **r} for k, r in zip(keys, rows, strict=True)])


def sensitive_outcomes(results: dict, scenario: sl.Scenario, styled: bool = True) -> go.Figure:
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
    return layout(fig, "where the turn ended", "turns",
                  "Sensitive turns in the cloud are violations", styled)


def latency_by_kind(results: dict, scenario: sl.Scenario, styled: bool = True) -> go.Figure:
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
    return layout(fig, "latency (s)", "share of ok turns", "Latency: sensitive vs other", styled)


def _onprem_slots(scenario: sl.Scenario, slots: int) -> sl.Scenario:
    """The on-premises model's slots, each paid ``presets.ONPREM_SLOT_HOUR``."""
    return scenario.with_(**{"onprem.concurrency": slots,
                             "costs.onprem_per_hour": slots * presets.ONPREM_SLOT_HOUR})


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
    scenario = presets.with_onprem(presets.sensitive(rate=1.5, onprem=0, duration=300.0))
    controls = [slider("sessions per second", 0.5, 3.5, 0.25, 1.5, "workload.arrival_rate"),
                slider("on-premises slots", 1, 8, 1, 4, _onprem_slots, integer=True),
                pick("when on-premises is full", OVERFLOWS, "queue", "compliance.overflow"),
                outage("llm", start=150.0, duration=60.0, label="cloud outage error rate"),
                flash_crowd(start=150.0, duration=30.0)]
    return explore(scenario, controls, views=[sensitive_outcomes, latency_by_kind], seed=seed)


# -- the chooser -----------------------------------------------------------------------------

MAX_CONTEXT_LOST = 0.01
"""A conversation requirement: at most 1% of turns may lose their history."""


def candidates(scenario: sl.Scenario, compliant: bool) -> dict[str, sl.Scenario]:
    """The designs the chooser compares: the eight (all cloud-only); for conversations of more
    than one turn, ``presets.STATEFUL_ASYNC`` with a checkpoint every turn ("stateful + strong
    data storage"); and when compliance is required, ``presets.ASYNC`` (cheap, and not held
    back by worker slots, so that what limits it is the on-premises model) with an on-premises
    model and each overflow rule."""
    out = {d.name: scenario.with_(architecture=d) for d in sl.DESIGNS}
    if scenario.workload.turns.mean > 1:
        out[f"{presets.STATEFUL_ASYNC.name} + checkpoints"] = scenario.with_(
            architecture=presets.STATEFUL_ASYNC, **{"resilience.checkpoint": sl.Checkpointing(1)})
    if compliant:
        base = scenario.with_(architecture=presets.ASYNC)
        out.update({f"{presets.ASYNC.name} + on-prem ({o})": presets.with_onprem(base, overflow=o)
                    for o in OVERFLOWS})
    return out


def measures(run: Result | pd.Series) -> dict[str, float]:
    """The numbers the chooser judges a run by, from its summary (measured turns only; a
    result or its ``summary()``): $ per 1k ok turns, p95, availability, the share of turns
    that lost their history, and the sensitive turns and their violations."""
    s = run.summary() if isinstance(run, Result) else run
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
                    lambda r: f"{r.context_lost:.2%} of turns lost their history"),
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
DEFAULTS = {LOAD: 1.0, DEPTH: 4, CRASH: 30.0, BUDGET: 0.62, P95: 13.0, AVAILABILITY: 0.97,
            COMPLIANCE: "not required"}
"""The chooser's controls (by label) and where they start: a load at which a sync fleet of 6
threads is busy (so sync and async differ on p95), a worker crash (so stateful designs lose
histories), a budget between the monoliths and the microservices."""
ARTICLE = {"low budget": {BUDGET: 0.57}, "high scale": {LOAD: 1.6},
           "complex chat": {DEPTH: 12, BUDGET: 1.5, AVAILABILITY: 0.95},
           "strict compliance": {COMPLIANCE: "required", BUDGET: 3.0, P95: 20.0}}
"""The article's four "how to choose" cases as changes to the chooser's defaults (compliance
with a looser p95 target: sensitive turns run on a slower on-premises model)."""




@dataclass(frozen=True)
class Ranking:
    """What the chooser computes for one setting: the ranked table (:func:`rank`, each
    candidate's :func:`measures`) and the two limits its charts draw."""

    table: pd.DataFrame
    budget: float
    p95: float


class Ranker:
    """The chooser's compute: the controls' values -> a :class:`Ranking`. Each candidate's
    :func:`measures` are kept per (scenario, seed) in ``runs``, so a requirement (budget,
    targets) re-ranks runs already made and only the load, the depth, the crash, compliance
    and the seed run anything new. The new runs (nine to twelve of a few tens of milliseconds)
    share ``n_jobs`` worker processes (joblib's, which stay alive between moves): on two cores
    a move then takes about 60% of its time in one process, and gives the same table."""

    def __init__(self, n_jobs: int = 2):
        self.runs: dict[tuple, dict[str, float]] = {}
        self.n_jobs = n_jobs

    def __call__(self, values: dict) -> Ranking:
        compliant, seed = values[COMPLIANCE] == "required", values["seed"]
        designs = candidates(workload(values), compliant)
        made = measured_runs([(s, seed) for s in designs.values()], self.runs, self.n_jobs)
        rows = dict(zip(designs, made, strict=True))
        table = rank(pd.DataFrame(rows).T, values[BUDGET], values[P95], values[AVAILABILITY],
                     compliant)
        return Ranking(table, values[BUDGET], values[P95])


def workload(values: dict) -> sl.Scenario:
    """The chooser's workload for the load, depth and crash controls (``presets.small_chat``)."""
    return presets.small_chat(values[LOAD], values[DEPTH], values[CRASH])


def _bars(ranking: Ranking, column: str, limit: float, title: str, x_title: str,
          styled: bool) -> go.Figure:
    """Horizontal bars of ``column`` per design in rank order: green if it meets every
    requirement, grey if not; the requirement's limit as a dashed line."""
    table = ranking.table
    fig = go.Figure()
    for meets, colour, label in ((True, "#59a14f", "meets every requirement"),
                                 (False, "#bab0ac", "misses one or more")):
        part = table[table["meets"] == meets]
        fig.add_bar(x=part[column].to_numpy(), y=list(part.index), orientation="h",
                    name=label, marker={"color": colour})
    fig.add_vline(x=limit, line_dash="dash", line_color=COLOURS["formula"])
    if styled:
        fig = layout(fig, x_title, "", title)
        fig.update_layout(yaxis={"autorange": "reversed"}, height=420,
                          margin={"l": 330, "t": 50, "b": 40, "r": 20})
    return fig


def cost_bars(ranking: Ranking, scenario: sl.Scenario, styled: bool = True) -> go.Figure:
    """The chooser's cost chart: $ per 1,000 ok turns, best first, the budget dashed."""
    return _bars(ranking, "cost_per_1k", ranking.budget,
                 "Cost, best first (dashed: your budget)", "$ per 1,000 ok turns", styled)


def p95_bars(ranking: Ranking, scenario: sl.Scenario, styled: bool = True) -> go.Figure:
    """The chooser's latency chart: p95 per design, the target dashed."""
    return _bars(ranking, "p95", ranking.p95, "p95 latency (dashed: your target)", "p95 (s)",
                 styled)


def _ranked(ranking: Ranking) -> pd.DataFrame:
    return ranking.table


def _shown(ranking: Ranking) -> pd.DataFrame:
    t = ranking.table
    return pd.DataFrame({
        "rank": t["rank"], "$/1k ok": t["cost_per_1k"].map("{:.2f}".format),
        "p95 (s)": t["p95"].map("{:.1f}".format),
        "available": t["availability"].map("{:.1%}".format),
        "context lost": t["context_lost"].map("{:.2%}".format),
        "violations": t["violations"].map("{:.0f}".format), "why": t["why"]})


def chooser(seed: int = 0) -> Explorer:
    """Choose a design: set your requirements and read the ranking.

    The workload (``presets.small_chat``) is a chat agent on 2 workers of 3 slots.
    Requirements: a budget ($ per 1,000 ok turns), a p95 target, an availability target,
    compliance (30% of turns are sensitive), and always that at most 1% of turns lose their
    history. The load, the conversation depth and a crash of worker 0 describe your traffic and
    your bad day. The candidates are the eight designs, a checkpointed stateful design for
    conversations of more than one turn, and three hybrids when compliance is required
    (:func:`candidates`). ``summary()`` is the ranked table (:func:`rank`), ``figures`` its two
    charts; ``compute.runs`` holds the measures of the runs made so far.

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
    v = DEFAULTS
    controls = [slider(LOAD, 0.2, 1.6, 0.1, v[LOAD]),
                slider(DEPTH, 1, 12, 1, v[DEPTH], integer=True),
                slider(CRASH, 0, 120, 30, v[CRASH]),
                slider(BUDGET, 0.3, 3.0, 0.05, v[BUDGET]),
                slider(P95, 5, 40, 1, v[P95]),
                slider(AVAILABILITY, 0.9, 1.0, 0.005, v[AVAILABILITY], readout_format=".1%"),
                pick(COMPLIANCE, ["not required", "required"], v[COMPLIANCE])]
    return Explorer(controls, [cost_bars, p95_bars], Ranker(), workload, summary=_ranked,
                    table=_shown, seed=seed)


def shortlists(lists: dict = ARTICLE, seed: int = 0, top: int = 3) -> dict[str, pd.DataFrame]:
    """Drive one chooser from code: for each named list of requirements (control label ->
    value, changes to :data:`DEFAULTS`), the ``top`` rows of its ranking."""
    picker = chooser(seed)
    out = {}
    for name, settings in lists.items():
        for label, value in {**DEFAULTS, **settings}.items():
            picker.controls[label].value = value
        out[name] = picker.summary().head(top)
    picker.close()  # never shown: free its widgets
    return out


# -- telling designs apart (issue 16) ----------------------------------------------------------


def standings(runs: pd.DataFrame, measure: str = "cost_per_1k", lower: bool = True,
              by: str = "design") -> pd.DataFrame:
    """Rank the groups of ``by`` in a sweep ``runs`` (one row per group and seed, the same
    seeds for every group) on ``measure``: the mean and 95% CI of each, best first, and each
    one's paired difference from the best (seed by seed). ``standing`` says "best",
    "indistinguishable from the best" (the paired interval holds 0) or "worse"."""
    table = stats.ci_table(runs, by, measure)
    table = table.sort_values("mean", ascending=lower, kind="stable")
    best = table.index[0]
    ref = runs[runs[by] == best].set_index("seed")[measure]
    rows = []
    for name in table.index:
        d = stats.difference(runs[runs[by] == name].set_index("seed")[measure], ref)
        tie = name != best and d.low <= 0 <= d.high
        rows.append({"vs_best": d, "standing": "best" if name == best else
                     "indistinguishable from the best" if tie else "worse"})
    out = pd.DataFrame(rows, index=table.index)
    out.insert(0, measure, [stats.CI(*r) for r in table[["mean", "low", "high"]].itertuples(
        index=False)])
    out.insert(0, "rank", range(1, len(out) + 1))
    return out


def ties(standing: pd.DataFrame) -> list[str]:
    """The designs a :func:`standings` table cannot tell from its best."""
    return list(standing.index[standing["standing"] == "indistinguishable from the best"])


def pairs(runs: pd.DataFrame, measure: str, axis: str = "execution") -> pd.DataFrame:
    """For each pair of designs that differ only on ``axis`` (state, execution or deployment),
    the paired difference of ``measure`` (second end of the axis minus the first: async -
    sync, stateful - stateless, microservices - monolith) and whether the runs can tell the
    two apart (the interval excludes 0)."""
    ends = {"state": ("stateless", "stateful"), "execution": ("sync", "async"),
            "deployment": ("monolith", "microservices")}[axis]
    rows = {}
    for design in sl.DESIGNS:
        if getattr(design, axis) != ends[0]:
            continue
        other = sl.Architecture(**{**{"state": design.state, "execution": design.execution,
                                      "deployment": design.deployment}, axis: ends[1]})
        a = runs[runs["design"] == design.name].set_index("seed")[measure]
        b = runs[runs["design"] == other.name].set_index("seed")[measure]
        d = stats.difference(b, a)
        rows[f"{other.name} - {design.name}"] = {"difference": d,
                                                   "clear": not d.low <= 0 <= d.high}
    return pd.DataFrame.from_dict(rows, orient="index")


# -- high scale: the sync pool decides (issue 16) ----------------------------------------------

SLOTS = (4, 6, 8, 12, 16, 24, 32, 40, 48, 64)
"""Threads per sync worker over the realistic range: a handful (a small gunicorn pool) to
FastAPI/Starlette's 40 (``anyio``'s default thread limiter) and beyond."""
STARLETTE_THREADS = 40
"""FastAPI runs ``def`` endpoints on Starlette's thread pool, anyio's default limiter of 40
threads (anyio ``to_thread.current_default_thread_limiter``)."""


def fleet_by_slots(scenario: sl.Scenario, factor: float = 100, slots=SLOTS,
                   designs=(presets.SIMPLE, presets.MICROSERVICES, presets.ASYNC,
                            presets.ASYNC_MICROSERVICES)) -> pd.DataFrame:
    """The fleet :func:`simlib.capacity.size_fleet` gives each design at ``factor`` times the
    scenario's arrival rate, for each number of threads per sync worker (arithmetic from the
    workload's means, no simulation): one row per (slots, design) with the workers, the tool
    replicas and the infrastructure $/h."""
    rate = scenario.workload.arrival_rate * factor
    rows = []
    for n in slots:
        for design in designs:
            sized = size_fleet(scenario.with_(architecture=design, **{
                "workload.arrival_rate": rate, "workers.slots": n}))
            rows.append({"slots": n, "design": design.name, "workers": sized.workers.count,
                         "tool_replicas": sum(t.replicas for t in sized.tools)
                         if sized.architecture.remote else 0,
                         "infra_per_hour": infrastructure_per_hour(sized)})
    return pd.DataFrame(rows)


def first_slots(fleets: pd.DataFrame, design: str, rival: str) -> float:
    """The fewest threads per sync worker (on the grid of ``fleets``) from which ``design``
    costs no more per hour than ``rival`` at every larger setting too (nan if never)."""
    by = fleets.pivot(index="slots", columns="design", values="infra_per_hour").sort_index()
    ok = (by[design] <= by[rival] + 1e-9).to_numpy()
    for i in range(len(ok)):
        if ok[i:].all():
            return float(by.index[i])
    return float("nan")


def slots_figure(fleets: pd.DataFrame) -> go.Figure:
    """Infrastructure $/h of each design against the threads per sync worker, at the scale of
    :func:`fleet_by_slots` (async designs do not depend on it)."""
    fig = go.Figure()
    for name, g in fleets.groupby("design", sort=False):
        fig.add_scatter(x=g["slots"], y=g["infra_per_hour"], name=name, mode="lines+markers",
                        line={"color": COLOURS[name], "shape": "hv"})
    fig.add_vline(x=STARLETTE_THREADS, line_dash="dot", line_color=COLOURS["formula"])
    return layout(fig, "threads per sync worker (dotted: Starlette's 40)",
                  "infrastructure $ per hour", "High scale: what the sync pool decides")


# -- the chooser, replicated (issue 16) ----------------------------------------------------------


def replicated(settings: dict, seeds=range(4), n_jobs: int = 2) -> pd.DataFrame:
    """The chooser's candidates for ``settings`` (control label -> value, changes to
    :data:`DEFAULTS`) over ``seeds``: one row of :func:`measures` per (design, seed)."""
    values = {**DEFAULTS, **settings}
    compliant = values[COMPLIANCE] == "required"
    named = candidates(workload(values), compliant)
    jobs = [(scenario, seed) for scenario in named.values() for seed in seeds]
    table = pd.DataFrame(measured_runs(jobs, _RUNS, n_jobs))
    table.insert(0, "design", [name for name in named for _ in seeds])
    table.insert(1, "seed", [seed for _ in named for seed in seeds])
    return table


_RUNS: dict = {}
"""The measures of every (scenario, seed) :func:`replicated` has run: settings that share
candidates (a budget, compliance's cloud-only designs) run nothing twice."""


def measured_runs(jobs: list[tuple], known: dict, n_jobs: int = 2) -> list[dict[str, float]]:
    """The :func:`measures` of each ``(scenario, seed)`` job, in order: those ``known`` lacks
    run on ``n_jobs`` workers (:func:`simlib.experiment.run_many`) and join it, so no run is
    made twice (the chooser's moves, :func:`replicated`'s settings)."""
    new = [job for job in dict.fromkeys(jobs) if job not in known]
    rows = run_many(new, n_jobs=n_jobs, progress=False)
    known.update(zip(new, map(measures, rows), strict=True))
    return [known[job] for job in jobs]


def judged(table: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """A :func:`replicated` table ranked against the requirements of ``settings``: per design
    the mean and 95% CI of cost, p95 and availability and the mean share of turns that lost
    their history; ``verdict`` "meets" (every requirement met on the interval: budget and
    p95 target above the upper end, availability target under the lower end, history and
    compliance on the mean), "misses" (a requirement missed on the interval) or "too close to
    call" (an interval straddles a target). Meets first, cheapest first; ``tie`` names the
    designs among those that meet whose paired cost difference from the first holds 0."""
    v = {**DEFAULTS, **settings}
    compliant = v[COMPLIANCE] == "required"
    rows = {}
    for name, g in table.groupby("design", sort=False):
        cost = stats.confidence_interval(g["cost_per_1k"], within=stats.COUNT)
        p95 = stats.confidence_interval(g["p95"], within=stats.COUNT)
        avail = stats.confidence_interval(g["availability"], within=stats.SHARE)
        lost, bad = g["context_lost"].mean(), g["violations"].sum()
        missed = [f"costs ${cost.low:.2f}+" if cost.low > v[BUDGET] else "",
                  f"p95 {p95.low:.1f} s+" if p95.low > v[P95] else "",
                  f"available {avail.high:.1%} at most" if avail.high < v[AVAILABILITY] else "",
                  f"{lost:.2%} histories lost" if lost > MAX_CONTEXT_LOST else "",
                  f"{bad:.0f} violations" if compliant and bad else ""]
        close = cost.high > v[BUDGET] or p95.high > v[P95] or avail.low < v[AVAILABILITY]
        missed = [m for m in missed if m]
        rows[name] = {"cost_per_1k": cost, "p95": p95, "availability": avail,
                      "context_lost": lost, "violations": bad,
                      "verdict": "misses" if missed else "too close to call" if close
                      else "meets", "why": "; ".join(missed)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    order = {"meets": 0, "too close to call": 1, "misses": 2}
    out = out.assign(_o=out["verdict"].map(order), _c=[c.mean for c in out["cost_per_1k"]])
    out = out.sort_values(["_o", "_c"], kind="stable").drop(columns=["_o", "_c"])
    out.insert(0, "rank", range(1, len(out) + 1))
    out["tie"] = ""
    meets = out.index[out["verdict"] == "meets"]
    if len(meets):
        ref = table[table["design"] == meets[0]].set_index("seed")["cost_per_1k"]
        for name in meets[1:]:
            d = stats.difference(table[table["design"] == name].set_index("seed")
                                 ["cost_per_1k"], ref)
            if d.low <= 0 <= d.high:
                out.loc[name, "tie"] = f"cost indistinguishable from #1 ({d:+.3f})"
    return out


def said(ranked: pd.DataFrame, top: int = 4) -> list[str]:
    """A ranking of :func:`judged` in words, one line per design of the ``top``."""
    lines = []
    for name, r in ranked.head(top).iterrows():
        what = r["why"] or (f"${r['cost_per_1k']:.3f}/1k ok, p95 {r['p95']:.1f} s")
        tie = f"; {r['tie']}" if r["tie"] else ""
        lines.append(f"{r['rank']}. {name}: {r['verdict']}: {what}{tie}")
    return lines


def compliance_summary(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`compliance` table per (rate, design), means over the seeds, as text: the
    violations out of the sensitive turns, the turns shed, the p95 of sensitive and of other
    turns, and $ per 1k ok turns. The p95 of sensitive turns that queue for an on-premises
    model offered its capacity or more is reported as unstable (:func:`simlib.stats.reported`):
    that queue has no steady state, and its p95 grows with the run's length."""
    rows = {}
    for (rate, design), g in table.groupby(["rate", "design"], sort=False):
        stable = design != "hybrid, queue" or g["onprem_utilisation"].iloc[0] < 1
        p95 = stats.reported(g["p95_sensitive"], stable)
        rows[rate, design] = {
            "violations": f"{g.violations.mean():.1f} of {g.sensitive.mean():.1f}",
            "shed": f"{g.shed.mean():.1f}",
            "p95 sensitive": p95 if isinstance(p95, str) else f"{p95.mean:.1f}",
            "p95 other": f"{g.p95_other.mean():.1f}",
            "$ per 1k ok": f"{g.cost_per_1k.mean():.3f}"}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = out.index.set_names(["rate", "design"])
    return out
