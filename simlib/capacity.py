"""Capacity: what a scenario can carry, worked out from its distributions' means, and which
resource binds first.

Think of a restaurant. Each party (a turn) needs a table (a worker slot) and the kitchen (the
LLM, the tools, the store). A *sync* party holds its table from the moment it sits down until it
pays, however long the kitchen takes; an *async* party is served at the counter and only holds a
stool for the moments it is actually eating (its CPU bursts). Whatever the style, the restaurant
serves at most tables / minutes-per-party parties a minute: that is a **ceiling**, and the lowest
ceiling of all the resources is the one that binds.

Everything here is arithmetic on means, no simulation (the few functions that take a
:class:`~simlib.records.Result` read what a run measured):

* the time a turn needs: :func:`call_time`, :func:`step_parts`, :func:`mean_turn_time`;
* what the workload offers: :func:`demand`, :func:`tool_seconds`, :func:`tool_mean`;
* what the fleet can serve: :func:`tool_capacity`, :func:`ceilings`, :func:`llm_capacity`, and
  the fleet the utilisation rule asks for, :func:`size_fleet`;
* formulas to hold the simulation against: :func:`mmc_p95`, :func:`overflow_formula`,
  :func:`allen_cunneen_wait`;
* reading a run: :func:`loads`, :func:`bottleneck`, :func:`smallest_fix`, :func:`slot_use`.

It imports neither plotly nor ipywidgets: an engineer can size a fleet from a script.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import theory
from .config import LLM, Tool, Workload
from .metrics import measured, utilisation, window
from .records import Result
from .scenario import Scenario
from .traces import Trace

SATURATED = 0.8
"""A resource whose mean utilisation over the window is at least this is called saturated."""
WAITING = 0.8
"""Sync worker slots that spend at least this share of their held time waiting are 'mostly
waiting': switching to async frees them."""
WORKER_RESOURCES = ("worker slots", "CPU slots", "in-flight cap")
"""The names :func:`loads` gives the workers' own resources."""


# -- the time a turn needs --------------------------------------------------------------------


def call_time(llm: LLM, workload: Workload) -> float:
    """Mean seconds of one LLM call: time to first token, then the output tokens at the decode
    rate (the whole answer, not just its first token). ``llm`` may be the on-premises model."""
    return llm.ttft.mean + workload.output_tokens.mean / llm.decode_rate


def onprem_call_time(scenario: Scenario) -> float:
    """Mean seconds of one call to the scenario's on-premises model."""
    return call_time(scenario.onprem, scenario.workload)


def tool_seconds(scenario: Scenario, calls: float) -> dict[str, float]:
    """Tool-seconds per second each tool is offered when the agent makes ``calls`` tool calls a
    second (each call picks a tool by its weight): Little's law gives its busy calls."""
    total = sum(t.weight for t in scenario.tools) or 1.0
    return {t.name: calls * t.weight / total * t.latency.mean for t in scenario.tools}


def tool_mean(scenario: Scenario) -> float:
    """Mean latency of one tool call (tools picked by weight); 0 without tools."""
    return sum(tool_seconds(scenario, 1.0).values())


def step_parts(scenario: Scenario) -> dict[str, float]:
    """Mean seconds of one sync step, by part: CPU, LLM call, tool calls one after another."""
    return {"cpu": scenario.workers.cpu_per_step.mean,
            "llm": call_time(scenario.llm, scenario.workload),
            "tools": scenario.workload.tools_per_step.mean * tool_mean(scenario)}


def mean_turn_time(scenario: Scenario) -> float:
    """The formula for a sync turn's mean time on its slot (no queueing, no faults): steps x
    (CPU + LLM time to first token + output / decode rate + tools per step x tool latency)."""
    return scenario.workload.steps.mean * sum(step_parts(scenario).values())


def cpu_per_turn(scenario: Scenario) -> float:
    """Mean CPU seconds of one turn: steps x CPU per step (all an async turn holds a slot for)."""
    return scenario.workload.steps.mean * scenario.workers.cpu_per_step.mean


def slot_seconds(scenario: Scenario) -> float:
    """Mean seconds one turn holds a worker place: a thread for the whole turn when sync, a
    core for its CPU when async."""
    return cpu_per_turn(scenario) if scenario.architecture.asynchronous \
        else mean_turn_time(scenario)


# -- what the workload offers, and what the fleet serves ----------------------------------------


def demand(scenario: Scenario) -> dict[str, float]:
    """Mean load the workload offers, from the distributions' means (no simulation): turns per
    second, the seconds a sync turn holds its slot (steps x (CPU + LLM call + tool calls one
    after another)), CPU seconds per turn, and tool-seconds per second of each tool."""
    wl = scenario.workload
    turns = wl.arrival_rate * wl.turns.mean
    calls = turns * wl.steps.mean * wl.tools_per_step.mean
    return {"turns": turns, "turn_time": mean_turn_time(scenario),
            "cpu": cpu_per_turn(scenario),
            **{f"tools.{name}": busy for name, busy in tool_seconds(scenario, calls).items()}}


def utilisation_formula(scenario: Scenario, turns: float | None = None) -> float:
    """Share of the worker places busy by Little's law: ``turns`` per second (default: what the
    workload offers) x :func:`slot_seconds` / places (threads when sync, cores when async)."""
    turns = demand(scenario)["turns"] if turns is None else turns
    w = scenario.workers
    slots = w.count * (w.cores if scenario.architecture.asynchronous else w.slots)
    return turns * slot_seconds(scenario) / slots


def tool_capacity(scenario: Scenario, tool: Tool) -> float:
    """Calls a tool serves at once: per replica, times the monolith's worker replicas (each
    carries its own copy) or the microservice's replicas; inf when unlimited."""
    units = tool.replicas if scenario.architecture.remote else scenario.workers.count
    return float(tool.capacity * units) if tool.capacity else math.inf


def llm_capacity(scenario: Scenario) -> float:
    """LLM calls per second the endpoint can serve: concurrency / mean call time (inf without a
    concurrency cap)."""
    cap = scenario.llm.concurrency
    return cap / call_time(scenario.llm, scenario.workload) if cap else math.inf


def ceilings(scenario: Scenario) -> dict[str, float]:
    """Turns per second each resource can sustain at 100% busy (the smallest one binds).

    Sync turns are bounded by their threads: slots / mean turn time. Every turn's CPU bursts run
    on the workers' cores: cores / CPU seconds per turn. Async turns hold no thread, so their
    other ceiling is the in-flight cap (at least count x max_in_flight / sync turn time, since
    async turns are no slower). Then the tools' capacity (monolith: every replica carries its
    own tools) and the LLM's requests/minute."""
    steps, w = scenario.workload.steps.mean, scenario.workers
    cpu, turn = cpu_per_turn(scenario), mean_turn_time(scenario)
    tools = steps * scenario.workload.tools_per_step.mean * tool_mean(scenario)
    at_once = [tool_capacity(scenario, t) for t in scenario.tools if t.capacity]
    rpm = scenario.llm.requests_per_minute
    return {
        "sync: worker slots": w.count * w.slots / turn,
        "CPU cores": w.count * w.cores / cpu if cpu else math.inf,
        "async: in-flight cap": w.count * w.max_in_flight / turn,
        "tools: capacity": sum(at_once) / tools if at_once and tools else math.inf,
        "LLM: requests/min": rpm / 60 / steps if rpm else math.inf,
        "LLM: concurrency": llm_capacity(scenario) / steps,
    }


def own_ceilings(scenario: Scenario) -> dict[str, float]:
    """The :func:`ceilings` that bind this design: a sync design has no in-flight cap to hit,
    and an async one holds no thread while it waits, so each drops the other's ceiling."""
    other = "sync: " if scenario.architecture.asynchronous else "async: "
    return {k: v for k, v in ceilings(scenario).items() if not k.startswith(other)}


def load(scenario: Scenario) -> float:
    """Offered turns per second over the lowest ceiling of this design (:func:`own_ceilings`):
    at 1 or more the queue has no steady state, and a mean measured on it grows with the run's
    length."""
    top = min(own_ceilings(scenario).values())
    turns = demand(scenario)["turns"]
    return turns / top if top > 0 else math.inf


def stable(scenario: Scenario, margin: float = 1.0) -> bool:
    """Is every resource offered less than ``margin`` of what it can carry (DESIGN.md section
    2: a number from a queue at or past its capacity is reported as unstable)?"""
    return load(scenario) < margin


def size_fleet(scenario: Scenario, utilisation: float = 0.7) -> Scenario:
    """The smallest fleet the utilisation rule allows: every resource busy at most
    ``utilisation`` of the time on average. Sync workers hold a thread for a whole turn; every
    worker needs cores for the bursts, and async workers in-flight places for the whole turn.
    A monolith replica carries every tool, so it needs replicas for the tools too;
    microservices size each tool service on its own."""
    d, wk = demand(scenario), scenario.workers
    places = wk.max_in_flight if scenario.architecture.asynchronous else wk.slots
    need = max(d["turns"] * d["cpu"] / wk.cores, d["turns"] * d["turn_time"] / places)
    tools = {t.name: d[f"tools.{t.name}"] / t.capacity / utilisation for t in scenario.tools
             if t.capacity is not None}  # an unlimited tool needs no replicas for its load
    count = math.ceil(need / utilisation)
    changes = {}
    if scenario.architecture.remote:
        changes = {f"tools.{name}.replicas": max(1, math.ceil(n)) for name, n in tools.items()}
    else:
        count = max([count, *(math.ceil(n) for n in tools.values())])
    return scenario.with_(**{"workers.count": max(1, count), **changes})


# -- formulas to hold a simulation against --------------------------------------------------------


def mmc_p95(scenario: Scenario, state: str | None = None) -> float | None:
    """The p95 time in system of a scenario shaped like ``presets.mmc`` (one exponential LLM call
    a turn on single-step turns): pooled (stateless) is one M/M/(workers x slots) at the whole
    rate; sticky (stateful) is one M/M/slots per worker at rate / workers, since sessions are
    hashed to workers at random. ``state`` defaults to the scenario's own. None when that queue
    has no steady state."""
    lam, s = scenario.workload.arrival_rate, scenario.llm.ttft.mean
    count, slots = scenario.workers.count, scenario.workers.slots
    state = state or scenario.architecture.state
    try:
        if state == "stateful":
            return theory.mmc_sojourn_quantile(lam / count, s, slots, 0.95)
        return theory.mmc_sojourn_quantile(lam, s, count * slots, 0.95)
    except ValueError:  # no steady state
        return None


def workers_for_p95(scenario: Scenario, state: str, target: float) -> int:
    """The fewest workers whose formula p95 (:func:`mmc_p95`) is within ``target`` s."""
    for count in range(1, 1000):
        p95 = mmc_p95(scenario.with_(**{"workers.count": count}), state)
        if p95 is not None and p95 <= target:
            return count
    raise ValueError(f"target must be reachable with < 1000 workers, got {target!r}")


def onprem_utilisation(scenario: Scenario) -> float:
    """Share of the on-premises model's slots busy: sensitive calls per second x mean call
    time / concurrency (one call per sensitive turn)."""
    rate = scenario.workload.arrival_rate * scenario.workload.sensitive_share
    return rate * onprem_call_time(scenario) / scenario.onprem.concurrency


def overflow_formula(scenario: Scenario) -> float:
    """Erlang B: the share of sensitive calls that find every on-premises slot busy. Sensitive
    one-call turns arrive as a Poisson process (every turn is sensitive at random), so with
    overflow "cloud" that is the share of sensitive turns that violate, and with overflow "shed"
    (no queue) about the share refused; Erlang B holds for any call-time distribution."""
    rate = scenario.workload.arrival_rate * scenario.workload.sensitive_share
    return theory.erlang_b(rate, onprem_call_time(scenario), scenario.onprem.concurrency)


def service_time(scenario: Scenario, trace: Trace) -> tuple[float, float]:
    """Mean and squared coefficient of variation of one turn's time on a slot for a replayed
    trace: CPU + time to first token + the trace's output tokens / decode rate (independent
    parts)."""
    tokens = np.asarray(trace.output_tokens, dtype=float) / scenario.llm.decode_rate
    parts = (scenario.workers.cpu_per_step, scenario.llm.ttft)
    mean = sum(p.mean for p in parts) + tokens.mean()
    variance = sum(p.variance for p in parts) + tokens.var()
    return float(mean), float(variance / mean**2)


def allen_cunneen_wait(scenario: Scenario, trace: Trace, arrival_scv: float = 1.0) -> float:
    """The Allen-Cunneen approximation of the mean wait for a slot in a G/G/c queue:
    the M/M/c (Erlang C) wait times (arrival SCV + service SCV) / 2. With arrival SCV 1 it is
    the Poisson answer; a trace's squared inter-arrival CV plugs its burstiness in (the formula
    still assumes independent gaps, which bursts are not). NaN without a steady state."""
    mean, scv = service_time(scenario, trace)
    servers = scenario.workers.count * scenario.workers.slots
    try:
        return theory.mmc_wait(trace.rate, mean, servers) * (arrival_scv + scv) / 2
    except ValueError:
        return math.nan


# -- reading a run -------------------------------------------------------------------------------


def slot_use(result: Result) -> dict[str, float]:
    """Worker-slot seconds of the measured turns that finished: CPU work and time held.

    A sync turn holds its slot from admission to finish; an async turn holds a CPU slot only
    for its bursts. CPU seconds are ``cpu_per_step`` mean x the steps run (one LLM call each:
    exact with a deterministic ``cpu_per_step`` and no retries or fallback). ``idle_share`` is
    the share of held slot time spent waiting: 1 - CPU / held."""
    turns = result.turns[~result.turns["warmup"] & result.turns["finish"].notna()]
    cpu = float(result.scenario.workers.cpu_per_step.mean * turns["llm_calls"].sum())
    held = cpu if result.scenario.architecture.asynchronous \
        else float((turns["finish"] - turns["admitted"]).sum())
    return {"turns": len(turns), "cpu_seconds": cpu, "held_seconds": held,
            "idle_share": 1 - cpu / held if held else math.nan}


def waiting_share(result: Result) -> float:
    """Share of the time sync turns held a worker slot without using its CPU (the
    ``idle_share`` of :func:`slot_use`); 0 for async."""
    return 0.0 if result.scenario.architecture.asynchronous else slot_use(result)["idle_share"]


def held_seconds(results: Sequence[Result]) -> float:
    """Mean seconds a measured, finished turn held its worker slot (admission to finish): the
    service time of a sync worker slot, for Little's law."""
    held = []
    for result in results:
        turns = measured(result.turns)
        held.append((turns["finish"] - turns["admitted"]).dropna().to_numpy())
    return float(np.concatenate(held).mean())


def loads(result: Result) -> dict[str, float]:
    """How busy each resource was over the measured window, as a share of its capacity.

    Worker slots (sync: turns holding a slot; async: CPU bursts, and turns against the in-flight
    cap) and store connections are read from the timeline. A tool's busy calls are its calls per
    second times its mean latency (Little's law), over its capacity. ``LLM rate limit`` is the
    share of turns refused with a 429, a failure rather than a utilisation."""
    scenario, line = result.scenario, result.timeline
    line = line[line["time"].to_numpy() >= scenario.warmup]
    w, out = scenario.workers, {}
    if scenario.architecture.asynchronous:
        out["CPU slots"] = utilisation(scenario, result.timeline)
        out["in-flight cap"] = float(line["busy"].mean() / (w.count * w.max_in_flight))
    else:
        out["worker slots"] = utilisation(scenario, result.timeline)
    if not scenario.architecture.stateful and scenario.store.servers:
        out["store connections"] = float(line["store_busy"].mean() / scenario.store.servers)
    turns = measured(result.turns)
    busy = tool_seconds(scenario, float(turns["tool_calls"].sum()) / window(scenario))
    for tool in scenario.tools:
        out[f"tool {tool.name}"] = busy[tool.name] / tool_capacity(scenario, tool)
    if scenario.llm.concurrency:
        out["LLM concurrency"] = float(line["llm_in_progress"].mean() / scenario.llm.concurrency)
    out["LLM rate limit"] = float((turns["cause"] == "rate_limited").mean()) if len(turns) \
        else 0.0
    return out


Runs = Result | Mapping[str, float] | Sequence[Result | Mapping[str, float]]
"""A run, the :func:`loads` of one, or a list of either (replications)."""


def mean_loads(runs: Runs) -> dict[str, float]:
    """:func:`loads` averaged over replications (runs, or their loads already read)."""
    runs = [runs] if isinstance(runs, (Result, Mapping)) else runs
    table = pd.DataFrame([loads(r) if isinstance(r, Result) else r for r in runs])
    return {name: float(value) for name, value in table.mean().items()}


def bottleneck(runs: Runs) -> tuple[str, float, str] | None:
    """The saturated resource, the number that shows it, and that number as a sentence; None
    when nothing is saturated.

    Downstream resources are checked before the worker slots: a sync turn holds its slot while
    it waits for the store or a tool, so a slow dependency *also* fills the slots, and adding
    workers would only queue more turns in front of it. The LLM rate limit counts as binding
    once 1% of the turns are refused."""
    load = mean_loads(runs)
    refused = load.pop("LLM rate limit")
    if refused >= 0.01:
        return "LLM rate limit", refused, f"{refused:.1%} of turns refused by the provider (429)"
    workers = {k: load.pop(k) for k in WORKER_RESOURCES if k in load}
    for group in (load, workers):
        if group:
            name = max(group, key=group.get)
            if group[name] >= SATURATED:
                return name, group[name], f"{name} {group[name]:.0%} busy"
    return None


def smallest_fix(scenario: Scenario, found: tuple[str, float, str],
                 waiting: float = 0.0, max_workers: int = 3) -> tuple[Scenario, str]:
    """The smallest change that relieves the bottleneck ``found`` (from :func:`bottleneck`),
    and a one-line reason.

    Config before code: one more worker replica; once ``max_workers`` sync workers are full
    and their slots are mostly ``waiting`` (share of held time, :func:`waiting_share`), switch
    execution to async instead (a code change: slots stop being held while the turn waits).
    A store gets one more connection; a tool one more replica (a monolith can only add whole
    replicas, each with its own copy of the tool); the LLM rate limit a doubled quota."""
    name, _, evidence = found
    w = scenario.workers
    if name == "worker slots" and w.count >= max_workers and waiting >= WAITING:
        return (scenario.with_(**{"architecture.execution": "async"}),
                f"{evidence}, {waiting:.1%} of it waiting: switch to async")
    if name in WORKER_RESOURCES or (name.startswith("tool ")
                                    and not scenario.architecture.remote):
        return (scenario.with_(**{"workers.count": w.count + 1}),
                f"{evidence}: add a worker ({w.count} -> {w.count + 1})")
    if name == "store connections":
        servers = scenario.store.servers
        return (scenario.with_(**{"store.servers": servers + 1}),
                f"{evidence}: one more store connection ({servers} -> {servers + 1})")
    if name.startswith("tool "):
        tool = name.removeprefix("tool ")
        replicas = next(t.replicas for t in scenario.tools if t.name == tool)
        return (scenario.with_(**{f"tools.{tool}.replicas": replicas + 1}),
                f"{evidence}: one more {tool} replica ({replicas} -> {replicas + 1})")
    if name == "LLM concurrency":
        cap = scenario.llm.concurrency
        return scenario.with_(**{"llm.concurrency": cap * 2}), \
            f"{evidence}: double the LLM concurrency ({cap} -> {2 * cap})"
    rpm = scenario.llm.requests_per_minute
    return (scenario.with_(**{"llm.requests_per_minute": 2 * rpm}),
            f"{evidence}: ask the provider for twice the quota ({rpm:g} -> {2 * rpm:g}/min)")
