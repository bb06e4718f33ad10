"""Faults: what each one breaks, how far the damage reaches, and that nothing is ever lost.

Most tests here are exact: every latency is deterministic (``Deterministic``), only the arrival
times are random, and capacity is ample, so a turn's fate can be worked out by hand from its
admission time, or from the turns table of the same seed run without the fault (everything
before the fault is identical: the same seed gives the same arrivals and the same work). The
statistical ones (availability, brown-outs, random incidents, flash crowds) hold a formula
against a 99.9% confidence interval over replications with seeds 0, 1, 2, ...
"""

import dataclasses
import math
import types

import numpy as np
import pandas as pd
import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats import LEVEL, assert_in_ci
from test_accounting import check_accounting

import simlib as sl
from simlib import faults as fl
from simlib.components import Faultable
from simlib.dists import Deterministic as D
from simlib.dists import Exponential, LogNormal, Uniform
from simlib.faults import (
    Crash,
    LatencySpike,
    Outage,
    Partition,
    RandomCrashes,
    RandomOutages,
)
from simlib.metrics import CAUSES
from simlib.stats import confidence_interval
from simlib.streams import Streams

CPU, LLM_TIME, TOOL_TIME = 0.1, 2.0, 1.0
PROMPT, ANSWER, DECODE = 100, 80, 80.0  # tokens; an answer takes ANSWER / DECODE = 1 s
NO_TOOLS = D(0)


def arch(name: str) -> sl.Architecture:
    return sl.Architecture(*name.split("/"))


MONOLITHS = [f"{s}/{e}/monolith" for s in ("stateless", "stateful") for e in ("sync", "async")]
MICROSERVICES = [n.replace("monolith", "microservices") for n in MONOLITHS]


def exact(design="stateless/sync/monolith", rate=3.0, tools=NO_TOOLS, **changes) -> sl.Scenario:
    """One-turn sessions of one step, everything deterministic: CPU 0.1 s, an LLM call of 2 s
    (no output tokens), then ``tools`` calls to ``search`` of 1 s each. Three workers of 8
    slots (24 turns at once) are far more than the ~7 turns in the system at 3 sessions/s, so
    a turn rarely waits for a worker, and once admitted at a it starts its LLM call at a + 0.1,
    its tool call at a + 2.1, and ends at a + 2.1 (no tool) or a + 3.1 (one tool). The tests
    read a from the turns table, so an occasional wait changes nothing.

    The LLM is the textbook provider (``presets.TEXTBOOK``): one request per call and an error
    known when the call ends, so that a fault's window is read from the call's timing; the
    realistic provider's fast failures and SDK retries have their own tests (test_provider).
    A failed tool call fails the turn (``tool_errors="fail"``), as a fault's victim must."""
    scenario = sl.Scenario(
        architecture=arch(design),
        workload=sl.Workload(arrival_rate=rate, steps=D(1), tools_per_step=tools,
                             prompt_tokens=D(PROMPT), output_tokens=D(0), tool_errors="fail"),
        llm=sl.LLM(ttft=D(LLM_TIME), **sl.presets.TEXTBOOK),
        tools=(sl.Tool("search", D(TOOL_TIME), capacity=None),),
        store=sl.ContextStore(latency=D(0.01), per_1k_tokens=0.0, servers=None),
        network=sl.Network(hop_latency=D(0.0)),
        workers=sl.Workers(count=3, slots=8, max_in_flight=8, cpu_per_step=D(CPU)),
        duration=300, warmup=0)
    return scenario.with_(**changes)


def keys(turns: pd.DataFrame) -> set:
    return set(zip(turns["session"], turns["turn"], strict=True))


def by_key(turns: pd.DataFrame) -> pd.DataFrame:
    return turns.set_index(["session", "turn"]).sort_index()


def failure_outcomes(design: str) -> set:
    """An async turn is acknowledged at once: a failure after that is silent (no dead letter)."""
    return {"silent_failure"} if "/async/" in design else {"failed"}


# -- 1. blast radius ---------------------------------------------------------------------------

R = 30.0


def crash_time(turns: pd.DataFrame, worker: int = 0) -> float:
    """A moment when replica ``worker`` surely has a turn in flight: 1 s into the LLM call of
    the first turn it admits after t = 100 (read from the run without the fault)."""
    on = turns[(turns["worker"] == worker) & (turns["admitted"] >= 100.0)]
    return float(on["admitted"].min()) + CPU + 1.0


@pytest.mark.parametrize("design", MONOLITHS)
def test_a_worker_crash_fails_exactly_the_turns_in_flight_on_that_replica(design):
    """Crash replica 0 at T for R seconds. The turns that fail are exactly those that were on
    replica 0 at T in the run without the crash (worker 0, admitted <= T < finish; stateful:
    arrival <= T, as a turn waiting in replica 0's own queue is lost with it), all with cause
    "crash" at time T; every other turn started before T finishes as it would have."""
    scenario = exact(design)
    base = sl.run(scenario, seed=0).turns
    T = crash_time(base)
    since = base["arrival"] if design.startswith("stateful") else base["admitted"]
    hit = base[(base["worker"] == 0) & (since <= T) & (base["finish"] > T)]
    assert len(hit) >= 1
    crashed = sl.run(scenario.with_(faults=(Crash("workers", at=T, restart=R, index=0),)),
                     seed=0).turns
    failed = crashed[crashed["cause"] == "crash"]
    assert keys(failed) == keys(hit)
    assert set(failed["outcome"].astype(str)) == failure_outcomes(design)
    assert (failed["finish"] == T).all()
    rest = crashed[crashed["cause"] != "crash"]
    assert set(rest["outcome"].astype(str)) <= {"ok", "in_flight"}
    before = by_key(rest[rest["admitted"] < T])  # started before the crash, elsewhere
    assert np.allclose(before["finish"], by_key(base).loc[before.index, "finish"])
    during = crashed[(crashed["admitted"] >= T) & (crashed["admitted"] < T + R)]
    assert len(during) > 0 and (during["worker"] != 0).all() and \
        (during["outcome"] == "ok").all()
    after = crashed[crashed["admitted"] >= T + R]
    assert (after["worker"] == 0).any()  # back in service


@pytest.mark.parametrize("design", MICROSERVICES)
def test_a_tool_service_crash_fails_only_the_calls_to_it(design):
    """Microservices: crash the search service from T = 100 for R. Half the turns call it once,
    at admitted + 2.1 (CPU, LLM), for 1 s. A call in progress at T fails at T with "crash"; a
    call starting in [T, T + R) fails at once with "service_down"; every other turn (no tool
    call, or its call outside the window), on any worker, ends ok at admitted + 2.1 + 1 s per
    tool call."""
    T = 100.0
    scenario = exact(design, tools=Uniform(0, 1))
    base = by_key(sl.run(scenario, seed=0).turns)
    crashed = by_key(sl.run(scenario.with_(faults=(Crash("tools.search", at=T, restart=R),)),
                            seed=0).turns)
    assert (crashed["tool_calls"] == base["tool_calls"]).all()  # the same planned work
    start = crashed["admitted"] + CPU + LLM_TIME  # when the tool call starts
    calls = crashed["tool_calls"] == 1
    in_progress = calls & (start < T) & (start + TOOL_TIME > T)
    refused = calls & (start >= T) & (start < T + R)
    assert in_progress.sum() >= 1 and refused.sum() >= 10
    assert (crashed.loc[in_progress, "cause"] == "crash").all()
    assert np.allclose(crashed.loc[in_progress, "finish"], T)
    assert (crashed.loc[refused, "cause"] == "service_down").all()
    assert np.allclose(crashed.loc[refused, "finish"], start[refused])
    failed = in_progress | refused
    assert set(crashed.loc[failed, "outcome"].astype(str)) == failure_outcomes(design)
    untouched = crashed[~failed & (crashed["outcome"] != "in_flight")]
    assert (untouched["outcome"] == "ok").all()
    assert np.allclose(untouched["finish"], untouched["admitted"] + CPU + LLM_TIME +
                       TOOL_TIME * untouched["tool_calls"])
    assert set(untouched["worker"]) == {0, 1, 2}


@pytest.mark.parametrize("design", MONOLITHS)
def test_a_tool_crash_takes_the_whole_monolith_replica_down(design):
    """In a monolith the search tool runs inside the replica: its crash is the replica's crash
    (the same turns table as a worker crash), so turns that never call a tool fail too. Here no
    turn calls a tool at all, and still every turn on replica 0 at T fails."""
    scenario = exact(design)
    T = crash_time(sl.run(scenario, seed=0).turns)
    tool = sl.run(scenario.with_(faults=(Crash("tools.search", at=T, restart=R, index=0),)),
                  seed=0).turns
    worker = sl.run(scenario.with_(faults=(Crash("workers", at=T, restart=R, index=0),)),
                    seed=0).turns
    pd.testing.assert_frame_equal(tool, worker)
    failed = tool[tool["cause"] == "crash"]
    assert len(failed) >= 1 and (failed["tool_calls"] == 0).all()
    assert (failed["worker"] == 0).all()


# -- 2. stateful context -----------------------------------------------------------------------

STATEFUL = [d for d in sl.DESIGNS if d.state == "stateful"]
STATELESS = [d for d in sl.DESIGNS if d.state == "stateless"]
TURN_TOKENS = PROMPT + ANSWER  # what one turn adds to the conversation


def conversations(design: sl.Architecture, checkpoint=None, **changes) -> sl.Scenario:
    """Sessions of 4 turns, 3 s apart, one step each: prompt 100 tokens, answer 80 (1 s at 80
    tokens/s), time to first token 2 s (1.2 s from the prompt cache), on 2 workers. After k
    turns answered ok the conversation holds k * 180 tokens, so a one-step turn's LLM call
    reads tokens_in = k * 180 + 100 when its context is whole, and 100 when it is all lost."""
    return exact(design.name, rate=1.0, **{
        "workload.turns": D(4), "workload.think_time": D(3.0),
        "workload.output_tokens": D(ANSWER), "llm.decode_rate": DECODE, "workers.count": 2,
        "resilience.checkpoint": checkpoint, **changes})


def mid_conversation_crash(scenario) -> tuple[float, pd.DataFrame]:
    """Crash replica 0 for R seconds 1.1 s into the LLM call of the first turn (not a first
    one: the session already has a context) it admits after t = 100. Returns the crash time and
    the turns table of the crashed run."""
    base = sl.run(scenario, seed=0).turns
    on = base[(base["worker"] == 0) & (base["admitted"] >= 100.0) & (base["turn"] > 1)]
    at = float(on["admitted"].min()) + CPU + 1.0
    turns = sl.run(scenario.with_(faults=(Crash("workers", at=at, restart=R, index=0),)),
                   seed=0).turns
    return at, turns


def whole_context(turns: pd.DataFrame) -> pd.Series:
    """tokens_in a one-step turn reads if nothing was lost: 180 per earlier ok turn, + 100."""
    turns = turns.sort_values(["session", "turn"])
    ok_before = turns.groupby("session")["outcome"].transform(
        lambda o: (o == "ok").cumsum().shift(fill_value=0))
    return (ok_before * TURN_TOKENS + PROMPT).reindex(turns.index)


def held_on_crashed_replica(turns: pd.DataFrame, at: float) -> pd.DataFrame:
    """The next turn (first arriving after the crash) of each session whose context was in
    replica 0's memory at the crash (it had a turn answered ok there before)."""
    held = turns[(turns["worker"] == 0) & (turns["outcome"] == "ok") & (turns["finish"] < at)]
    later = turns[turns["session"].isin(held["session"]) & (turns["arrival"] > at)]
    return later.sort_values("turn").groupby("session").head(1)


@pytest.mark.parametrize("design", STATEFUL, ids=lambda d: d.name)
def test_a_stateful_crash_loses_the_contexts_the_replica_held(design):
    """Without checkpoints, the next turn of every session held on the crashed replica starts
    from nothing (tokens_in = the prompt alone, and no prompt-cache discount): context_lost;
    the sticky balancer moves it to the other replica, and the session stays there. No other
    turn loses anything."""
    at, turns = mid_conversation_crash(conversations(design))
    nxt = held_on_crashed_replica(turns, at)
    assert len(nxt) >= 1
    assert nxt["context_lost"].all()
    assert (nxt["worker"] == 1).all()
    ok = nxt[nxt["outcome"] == "ok"]
    assert (ok["tokens_in"] == PROMPT).all()
    service = ok["finish"] - ok["admitted"]
    assert np.allclose(service, CPU + LLM_TIME + ANSWER / DECODE)  # 3.1 s: no cached prompt
    assert not turns.drop(nxt.index)["context_lost"].any()
    moved = turns[turns["session"].isin(nxt["session"]) & (turns["arrival"] > at)]
    assert (moved["worker"] == 1).all()  # re-pinned, even after replica 0 is back


@pytest.mark.parametrize("design", STATEFUL, ids=lambda d: d.name)
def test_checkpoint_every_turn_restores_the_whole_context_with_one_store_read(design):
    """Checkpointing every turn: each ok turn writes its context to the store (1 store op); the
    next turn of a session held on the crashed replica reads the checkpoint back (1 more: 2)
    and gets the whole conversation."""
    at, turns = mid_conversation_crash(conversations(design, sl.Checkpointing(every_turns=1)))
    nxt = held_on_crashed_replica(turns, at)
    ok = turns[turns["outcome"] == "ok"]
    assert (ok["tokens_in"] == whole_context(turns)[ok.index]).all()
    restored = ok.index.intersection(nxt.index)
    assert len(restored) >= 1
    assert (ok.loc[restored, "store_ops"] == 2).all()
    assert (ok.drop(restored)["store_ops"] == 1).all()


@pytest.mark.parametrize("design", STATEFUL, ids=lambda d: d.name)
def test_checkpoint_every_turn_loses_no_context(design):
    at, turns = mid_conversation_crash(conversations(design, sl.Checkpointing(every_turns=1)))
    assert not turns["context_lost"].any()


@pytest.mark.parametrize("design", STATEFUL, ids=lambda d: d.name)
def test_checkpoint_every_other_turn_loses_at_most_one_turn(design):
    """Checkpointing every 2 turns: a restored context is at most one turn's 180 tokens short
    of the whole conversation."""
    at, turns = mid_conversation_crash(conversations(design, sl.Checkpointing(every_turns=2)))
    nxt = held_on_crashed_replica(turns, at)
    whole = whole_context(turns)[nxt.index]
    ok = nxt["outcome"] == "ok"
    assert ok.sum() >= 1
    assert (nxt.loc[ok, "tokens_in"] >= whole[ok] - TURN_TOKENS).all()
    assert (nxt.loc[ok, "tokens_in"] <= whole[ok]).all()
    short = nxt["tokens_in"] < whole
    assert (nxt.loc[ok & short, "context_lost"]).all()


@pytest.mark.parametrize("design", STATELESS, ids=lambda d: d.name)
def test_stateless_designs_never_lose_context_on_a_crash(design):
    """Stateless: the context lives in the store, so every ok turn reads the whole of it."""
    at, turns = mid_conversation_crash(conversations(design))
    assert (turns["cause"] == "crash").any()
    assert not turns["context_lost"].any()
    ok = turns[turns["outcome"] == "ok"]
    assert (ok["tokens_in"] == whole_context(turns)[ok.index]).all()


# -- 3. availability under random crashes ------------------------------------------------------

SEEDS = range(20)


@pytest.mark.parametrize("count", [1, 2])
def test_random_crashes_keep_workers_up_mttf_over_mttf_plus_mttr(count):
    """Each replica alternates exponential up times (mean MTTF) and repairs (mean MTTR), so in
    the long run it is up MTTF / (MTTF + MTTR) = 60 / 80 = 0.75 of the time: the time-average
    of workers_up / count, sampled every 2 s over 20,000 s (about 250 failures a replica).
    With two replicas failing independently, both are up A**2 of the time (in series) and at
    least one is up 1 - (1 - A)**2 (in parallel)."""
    mttf, mttr = 60.0, 20.0
    scenario = sl.presets.mmc(0.01, 1.0, count, duration=20_000, warmup=0).with_(
        sample_every=2.0, faults=(RandomCrashes("workers", mttf=mttf, mttr=mttr),))
    ups = [sl.run(scenario, seed).timeline["workers_up"].to_numpy() for seed in SEEDS]
    a = sl.theory.availability(mttf, mttr)
    assert_in_ci([up.mean() / count for up in ups], a, f"share of {count} workers up")
    if count == 2:
        assert_in_ci([(up == 2).mean() for up in ups], sl.theory.series_availability(a, a),
                     "both workers up")
        assert_in_ci([(up >= 1).mean() for up in ups], 1 - (1 - a) ** 2, "a worker up")


# -- 4. outage windows, spikes, partitions, flash crowds ---------------------------------------

START, LENGTH = 100.0, 50.0
END = START + LENGTH


def llm_call(turns: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(start, end) of the one LLM call of each turn of :func:`exact` (no tool calls)."""
    start = turns["admitted"] + CPU
    return start, start + LLM_TIME


@pytest.mark.parametrize("design", ["stateless/sync/monolith", "stateful/async/microservices"])
def test_a_full_llm_outage_fails_every_call_in_the_window_and_none_outside(design):
    """Base error 0; Outage(llm, 100, 50): every LLM call made wholly inside [100, 150) fails
    with llm_error, every call wholly outside succeeds (a call straddling an edge may go
    either way)."""
    scenario = exact(design, faults=(Outage("llm", START, LENGTH, error_rate=1.0),))
    turns = sl.run(scenario, seed=0).turns
    turns = turns[turns["outcome"] != "in_flight"]
    start, end = llm_call(turns)
    inside = (start >= START) & (end < END)
    outside = (end < START) | (start >= END)
    assert inside.sum() >= 100
    assert (turns.loc[inside, "cause"] == "llm_error").all()
    assert set(turns.loc[inside, "outcome"].astype(str)) == failure_outcomes(design)
    assert (turns.loc[outside, "outcome"] == "ok").all()


def test_a_brown_out_fails_its_error_rate_of_the_calls_inside():
    """Outage(llm, error_rate=0.25) for 200 s: the share of calls inside that fail has mean
    0.25 (about 600 calls a seed, 20 seeds); none fail outside."""
    scenario = exact(faults=(Outage("llm", START, 200.0, error_rate=0.25),), duration=400)
    shares = []
    for seed in SEEDS:
        turns = sl.run(scenario, seed).turns
        start, end = llm_call(turns)
        inside = turns[(start >= START) & (end < START + 200.0)]
        shares.append((inside["cause"] == "llm_error").mean())
        outside = turns[(end < START) | (start >= START + 200.0)]
        assert set(outside["outcome"].astype(str)) <= {"ok", "in_flight"}
    assert_in_ci(shares, 0.25, "brown-out failure share")


@pytest.mark.parametrize("design", sl.DESIGNS, ids=lambda d: d.name)
def test_a_store_outage_fails_only_stateless_turns(design):
    """Outage(store, 100, 50) on 4-turn conversations. Stateless turns read the context at the
    start (from turn 2) and write it back at the end (up to turn 3): a turn admitted in
    [100, 145) does one of them inside the window and fails with store_error. Stateful turns
    keep their context in memory (no checkpoints here): none fails."""
    scenario = conversations(design, faults=(Outage("store", START, LENGTH),))
    turns = sl.run(scenario, seed=0).turns
    failed = turns[~turns["outcome"].isin(["ok", "in_flight"])]
    if design.state == "stateful":
        assert len(failed) == 0
        return
    assert (failed["cause"] == "store_error").all()
    hit = turns[(turns["admitted"] >= START) & (turns["admitted"] < END - 5)]
    assert len(hit) >= 20 and (hit["cause"] == "store_error").all()
    clear = (turns["finish"] < START) | (turns["arrival"] >= END)
    assert (turns.loc[clear, "outcome"].isin(["ok", "in_flight"])).all()


@pytest.mark.parametrize("design", ["stateless/sync/monolith", "stateful/sync/microservices"])
@pytest.mark.parametrize("target", ["llm", "workers"])
def test_a_latency_spike_multiplies_the_time_of_what_starts_inside(design, target):
    """LatencySpike(factor 3) on the LLM: a call starting in [100, 150) takes 3 x 2 s, so the
    turn takes 0.1 + 6 s from admission instead of 2.1 s. On the workers: the CPU burst at
    admission takes 3 x 0.1 s, so 0.3 + 2 s."""
    factor = 3.0
    scenario = exact(design, faults=(LatencySpike(target, START, LENGTH, factor),))
    turns = sl.run(scenario, seed=0).turns
    turns = turns[turns["outcome"] == "ok"]
    start = turns["admitted"] + (CPU if target == "llm" else 0.0)
    inside = (start >= START) & (start < END)
    cpu, llm = (CPU, LLM_TIME * factor) if target == "llm" else (CPU * factor, LLM_TIME)
    service = turns["finish"] - turns["admitted"]
    assert inside.sum() >= 100
    assert np.allclose(service[inside], cpu + llm)
    assert np.allclose(service[~inside], CPU + LLM_TIME)


@pytest.mark.parametrize("execution", ["sync", "async"])
def test_a_partition_fails_microservice_tool_calls_and_spares_a_monolith(execution):
    """Partition(tools.search, 100, 50): in microservices a tool call starting in the window
    (at admitted + 2.1) fails at once with "partition", all others go through; a monolith
    calls its tools in-process, so its turns table is the same as without the partition."""
    fault = Partition("tools.search", START, LENGTH)
    micro = exact(f"stateless/{execution}/microservices", tools=Uniform(0, 1), faults=(fault,))
    turns = by_key(sl.run(micro, seed=0).turns)
    planned = by_key(sl.run(micro.with_(faults=()), seed=0).turns)["tool_calls"]
    turns = turns[turns["outcome"] != "in_flight"]
    start = turns["admitted"] + CPU + LLM_TIME
    cut = (planned[turns.index] == 1) & (start >= START) & (start < END)
    assert cut.sum() >= 20
    assert (turns.loc[cut, "cause"] == "partition").all()
    assert np.allclose(turns.loc[cut, "finish"], start[cut])
    assert (turns.loc[~cut, "outcome"] == "ok").all()
    mono = micro.with_(**{"architecture.deployment": "monolith"})
    pd.testing.assert_frame_equal(sl.run(mono, seed=0).turns,
                                  sl.run(mono.with_(faults=()), seed=0).turns)


def test_a_flash_crowd_given_as_a_fault_multiplies_arrivals_in_its_window():
    """FlashCrowd(100, 100, x3) among the faults: sessions arriving in [100, 200) number 3 x
    rate x 100 on average, and rate x 200 in the other 200 s. It is the same as giving it in
    the workload: the same turns table."""
    crowd = sl.FlashCrowd(START, 100.0, 3.0)
    scenario = exact(rate=1.0, faults=(crowd,))
    inside, outside = [], []
    for seed in SEEDS:
        arrivals = sl.run(scenario, seed).turns["arrival"]
        window = (arrivals >= START) & (arrivals < START + 100.0)
        inside.append(window.sum() / 100.0)
        outside.append((~window).sum() / 200.0)
    assert_in_ci(inside, 3.0, "arrival rate in the flash crowd")
    assert_in_ci(outside, 1.0, "arrival rate outside the flash crowd")
    pd.testing.assert_frame_equal(
        sl.run(scenario, seed=0).turns,
        sl.run(scenario.with_(faults=(), **{"workload.flash_crowds": (crowd,)}), seed=0).turns)


# -- 5. random outages -------------------------------------------------------------------------


def outage_share(fault: RandomOutages, seed: int, horizon: float) -> float:
    """Play ``fault`` alone on one component for ``horizon`` seconds with the library's own
    player (:func:`simlib.faults.start`) and return the share of time it was failing calls."""
    env = simpy.Environment()
    target = Faultable(env, 0.0)
    run = types.SimpleNamespace(
        env=env, components={"llm": [target]}, streams=Streams(seed),
        scenario=types.SimpleNamespace(faults=(fault,), tools=()))
    changes = [(0.0, 0.0)]
    switch = target.add_outage

    def logged(rate, on):
        switch(rate, on)
        changes.append((env.now, target.error_rate))
    target.add_outage = logged
    fl.start(run)
    env.run(until=horizon)
    times = np.array([t for t, _ in changes] + [horizon])
    failing = np.array([rate > 0 for _, rate in changes])
    return float(np.sum(np.diff(times) * failing)) / horizon


def test_random_outages_fail_mean_duration_over_cycle_of_the_time():
    """Up for an exponential time (mean 200 s), down for a log-normal time (median 20 s, p95
    60 s: mean 20 exp(sigma**2 / 2) = 24.99 s): an alternating renewal process is down
    E[down] / (E[up] + E[down]) = 0.111 of the time. 200,000 s a seed (~900 incidents)."""
    fault = RandomOutages("llm", mean_between=200.0, median_duration=20.0, p95_duration=60.0)
    down = LogNormal(20.0, 60.0).mean
    assert down == pytest.approx(24.99, abs=0.01)
    shares = [outage_share(fault, seed, 200_000.0) for seed in SEEDS]
    assert_in_ci(shares, down / (200.0 + down), "share of time in outage")


def test_provider_incidents_calibration():
    """An incident every 3.36 days, median 1.3 h, p95 7.7 h (the OpenAI API's status page,
    ICPE 2025 data): out of service E[D] / (3.36 d + E[D]) of the time, E[D] = 4680
    exp(sigma**2 / 2) = 8,399 s, i.e. about 2.8% (3,000 days a seed)."""
    fault = sl.faults.provider_incidents()
    assert (fault.target, fault.mean_between, fault.median_duration, fault.p95_duration,
            fault.error_rate) == ("llm", 3.36 * 86400.0, 4680.0, 27720.0, 1.0)
    down = LogNormal(4680.0, 27720.0).mean
    assert down == pytest.approx(8399, abs=1)
    shares = [outage_share(fault, seed, 3000 * 86400.0) for seed in SEEDS]
    assert_in_ci(shares, down / (3.36 * 86400.0 + down), "provider time in outage")
    brown = sl.faults.provider_incidents("store", error_rate=0.25)
    assert (brown.target, brown.error_rate) == ("store", 0.25)


def test_random_outages_fail_that_share_of_a_trickle_of_calls():
    """The same process inside a run: turns arrive as a Poisson trickle (0.5/s) and make one
    LLM call of 10 ms, so by PASTA the share failing with llm_error estimates the share of time
    in outage, 0.111 (4,000 s a seed, about 18 incidents)."""
    fault = RandomOutages("llm", mean_between=200.0, median_duration=20.0, p95_duration=60.0)
    scenario = sl.presets.mmc(0.5, 0.01, 1, duration=4000, warmup=0, kind="deterministic",
                              faults=(fault,), sample_every=10.0)
    down = LogNormal(20.0, 60.0).mean
    shares = [(sl.run(scenario, seed).turns["cause"] == "llm_error").mean() for seed in SEEDS]
    assert_in_ci(shares, down / (200.0 + down), "share of calls failed by random outages")


# -- 6. time to recover ------------------------------------------------------------------------


def busy_desk(**changes) -> sl.Scenario:
    """One-turn sessions at 11/s, each one 1 s LLM call, on 3 replicas of 5 slots (15 turns/s:
    73% busy). Losing a replica leaves 10/s < 11/s: a backlog grows by about 1 turn/s while it
    is down and drains at about 4/s once it is back."""
    scenario = exact(rate=11.0, **{"llm.ttft": D(1.0), "workers.cpu_per_step": D(0.0),
                                   "workers.slots": 5, "sample_every": 5.0, "warmup": 100.0,
                                   "duration": 600.0, "slo_latency": 30.0})
    return scenario.with_(**changes)


def test_time_to_recover_is_short_after_an_outage_longer_after_a_crash_backlog():
    """An LLM outage (300 s to 420 s) fails turns but leaves capacity alone: goodput and p95
    are back as soon as it ends. A crash of one replica over the same window leaves a backlog
    of about 120 turns (1/s for 120 s) that drains at about 4/s, so recovery takes about 30 s
    longer. Paired over 20 seeds (same arrivals), the crash's extra recovery time is above 0
    at the 99.9% level."""
    seeds = range(20)
    outage = [sl.run(busy_desk(faults=(Outage("llm", 300.0, 120.0),)), seed)
              .summary()["time_to_recover"] for seed in seeds]
    crash = [sl.run(busy_desk(faults=(Crash("workers", at=300.0, restart=120.0),)), seed)
             .summary()["time_to_recover"] for seed in seeds]
    assert all(math.isfinite(t) for t in outage + crash), (outage, crash)
    _, low, _ = confidence_interval(np.subtract(crash, outage), LEVEL)
    assert low > 0, (outage, crash)


def test_time_to_recover_is_infinite_when_the_fault_leaves_a_retry_storm():
    """The retry-storm preset at 2.6 calls/s (4 attempts each = 10.4/s > the 10/s capacity once
    every call times out): a x10 latency spike from 200 s to 220 s makes every call time out,
    the retries keep the queue over the 1 s timeout, and it never recovers: inf. With jittered
    backoff and a retry budget the same spike is absorbed: finite."""
    spike = (LatencySpike("llm", 200.0, 20.0, 10.0),)
    for safe, finite in ((False, False), (True, True)):
        scenario = sl.presets.retry_storm(2.6, safe=safe, duration=700.0).with_(
            warmup=50.0, faults=spike)
        ttr = [sl.run(scenario, seed).summary()["time_to_recover"] for seed in range(3)]
        assert all(math.isfinite(t) == finite for t in ttr), (safe, ttr)


# -- 7. every arrival ends in exactly one outcome, whatever breaks -----------------------------

WINDOWS = (
    Outage("llm", 20.0, 10.0), Outage("llm", 60.0, 20.0, error_rate=0.25),
    Outage("store", 35.0, 8.0), Outage("tools.search", 45.0, 10.0, error_rate=0.5),
    Outage("network", 75.0, 5.0, error_rate=0.3),
    LatencySpike("llm", 30.0, 15.0, 4.0), LatencySpike("workers", 50.0, 10.0, 3.0),
    LatencySpike("store", 65.0, 10.0, 10.0), LatencySpike("network", 40.0, 10.0, 20.0),
    Partition("context", 55.0, 8.0), Partition("tools.code", 70.0, 8.0),
    RandomOutages("llm", mean_between=30.0, median_duration=2.0, p95_duration=6.0),
    RandomOutages("tools.search", mean_between=25.0, median_duration=1.0, p95_duration=4.0,
                  error_rate=0.5),
)
# Crashes in groups that hit one component each, in every design (a monolith's tool crash is
# its replica's crash); overlapping crashes of one component have tests of their own below.
CRASH_GROUPS = (
    (Crash("workers", at=25.0, restart=15.0, index=0),),
    (Crash("tools.search", at=48.0, restart=10.0, index=1),),
    (Crash("store", at=80.0, restart=5.0), RandomCrashes("store", mttf=50.0, mttr=3.0)),
    (RandomCrashes("workers", mttf=40.0, mttr=5.0, index=2),
     RandomCrashes("tools.code", mttf=30.0, mttr=4.0, index=2)),
)
ALL_FAULTS = WINDOWS + tuple(group[0] for group in CRASH_GROUPS)
CROWD = sl.FlashCrowd(start=40.0, duration=20.0, factor=3.0)
POLICY = sl.Policy(
    rate_limit=sl.RateLimit(per_second=20.0, burst=10.0),
    breaker=sl.CircuitBreaker(failure_threshold=0.5, window=10.0, min_calls=5, open_time=3.0),
    bulkhead=sl.Bulkhead(max_concurrent=6, max_queue=3),
    retry=sl.Retry(retries=2, backoff="full", base=0.1, cap=2.0,
                   budget=sl.RetryBudget(ratio=0.2, max_tokens=5.0)),
    timeout=sl.Timeout(seconds=4.0, cancel=False))
EVERYTHING = sl.Resilience(
    llm=POLICY, tools=POLICY, store=POLICY,
    shedding=sl.LoadShedding(max_queue=6, max_wait=10.0), fallback=sl.Fallback(),
    checkpoint=sl.Checkpointing(every_turns=2))
DEAD_LETTER = sl.DeadLetter(delay=3.0, redeliveries=2)


def stormy(design, faults=ALL_FAULTS, resilience=EVERYTHING, duration=100.0) -> sl.Scenario:
    """The assistant preset, busier (1.2 sessions/s, 3 s think time, a x3 flash crowd), with
    two tools, errors everywhere, provider rate limits and a concurrency cap, a tiny memory
    (stateful evictions) and the given faults and policies."""
    return sl.presets.assistant(
        architecture=design, faults=faults, resilience=resilience, duration=duration,
        warmup=10.0, tools=(sl.Tool("search", LogNormal(0.3, 2.0), error_rate=0.05, capacity=4),
                            sl.Tool("code", Exponential(1.0), error_rate=0.05, capacity=2,
                                    replicas=2, weight=0.5)),
        **{"workload.arrival_rate": 1.2, "workload.think_time": Exponential(3.0),
           "workload.flash_crowds": (CROWD,), "llm.error_rate": 0.05,
           "llm.requests_per_minute": 120.0, "llm.concurrency": 12, "store.error_rate": 0.02,
           "network.error_rate": 0.01, "workers.memory_mb": 1.0, "workers.max_in_flight": 6})


@pytest.mark.parametrize("dead_letter", [None, DEAD_LETTER], ids=["no_dlq", "dlq"])
@pytest.mark.parametrize("design", sl.DESIGNS, ids=lambda d: d.name)
def test_every_arrival_ends_in_one_outcome_with_every_fault_and_policy(design, dead_letter):
    """Every kind of fault and every policy at once. (The flash crowd is in the workload:
    check_accounting redraws arrivals from the workload alone; the same crowd among the faults
    gives the same table, see the next test.) The faults must actually have struck."""
    scenario = stormy(design, resilience=dataclasses.replace(EVERYTHING, dead_letter=dead_letter))
    check_accounting(scenario, seed=0)
    result = sl.run(scenario, seed=0)
    assert result.timeline["workers_up"].min() < scenario.workers.count
    summary = result.summary()
    assert sum(summary[f"cause_{c}"] for c in CAUSES) > 0
    assert summary["n_degraded"] > 0  # the fallback answered some failed LLM calls
    assert summary["n_ok"] + summary["n_degraded"] < summary["arrivals"]  # the faults cost turns


def test_a_flash_crowd_among_the_faults_equals_one_in_the_workload_under_every_fault():
    design = sl.Architecture("stateful", "async", "microservices")
    in_workload = stormy(design)
    as_fault = stormy(design, faults=ALL_FAULTS + (CROWD,)).with_(
        **{"workload.flash_crowds": ()})
    pd.testing.assert_frame_equal(sl.run(in_workload, seed=0).turns,
                                  sl.run(as_fault, seed=0).turns)


POLICIES = {"rate_limit": POLICY.rate_limit, "breaker": POLICY.breaker,
            "bulkhead": POLICY.bulkhead, "retry": POLICY.retry, "timeout": POLICY.timeout}
TURN_POLICIES = {"shedding": EVERYTHING.shedding, "fallback": EVERYTHING.fallback,
                 "checkpoint": EVERYTHING.checkpoint, "dead_letter": DEAD_LETTER}


@st.composite
def stormy_cases(draw):
    design = draw(st.sampled_from(sl.DESIGNS))
    windows = draw(st.lists(st.sampled_from(WINDOWS), max_size=6, unique=True))
    crashes = [draw(st.sampled_from((None,) + group)) for group in CRASH_GROUPS]
    faults = tuple(windows) + tuple(c for c in crashes if c is not None)
    policy = sl.Policy(**{name: value for name, value in POLICIES.items() if draw(st.booleans())})
    turn_level = {name: value for name, value in TURN_POLICIES.items() if draw(st.booleans())}
    resilience = sl.Resilience(llm=policy, tools=policy, store=policy, **turn_level)
    scenario = stormy(design, faults, resilience, duration=draw(st.sampled_from([40.0, 70.0])))
    return scenario, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(stormy_cases())
def test_every_arrival_ends_in_one_outcome_under_random_faults_and_policies(case):
    check_accounting(*case)


# -- overlapping crashes of one component (bugs) -----------------------------------------------


@pytest.mark.parametrize("target", ["store", "tools.search"])
def test_overlapping_crashes_of_a_service_do_not_break_the_run(target):
    """A fixed crash and a random one (or two fixed ones) may hit one service at once: it is
    down from the first crash to the last restart, and the run goes on."""
    design = sl.Architecture("stateless", "sync", "microservices")
    scenario = stormy(design, faults=(Crash(target, at=30.0, restart=10.0),
                                      Crash(target, at=35.0, restart=10.0)))
    check_accounting(scenario, seed=0)


@pytest.mark.parametrize("state", ["stateless", "stateful"])
def test_overlapping_crashes_of_a_worker_give_back_its_capacity(state):
    """Two overlapping crashes of replica 0 (10 s to 30 s and 15 s to 35 s): once both have
    restarted, the replica is fully back. Overloaded (10 sessions/s on 2 x 8 slots of about
    2.5 s turns), all 16 slots are busy again after t = 60 and replica 0 serves turns."""
    scenario = sl.presets.qa_bot(architecture=sl.Architecture(state, "sync", "monolith"),
                                 duration=120, warmup=10, **{"workload.arrival_rate": 10.0,
                                                             "workers.slots": 8})
    result = sl.run(scenario.with_(faults=(Crash("workers", at=10.0, restart=20.0),
                                           Crash("workers", at=15.0, restart=20.0))), seed=0)
    late = result.timeline[result.timeline["time"] > 60.0]
    assert late["busy"].max() == 16
    turns = result.turns
    assert (turns.loc[turns["admitted"] > 60.0, "worker"] == 0).any()


def test_a_microservice_replica_crash_is_routed_around():
    """A tool service of 3 replicas, replica 0 down from 100 s to 200 s: the calls in progress
    on it fail (cause crash), and no call fails afterwards, the balancer sending every new call
    to the two replicas that are up; with the whole service down (index=None) every call in
    the window fails (service_down)."""
    base = exact("stateless/sync/microservices", tools=D(1), **{"tools.search.replicas": 3,
                                                                "tools.search.capacity": 8})
    one = sl.run(base.with_(faults=(Crash("tools.search", at=100.0, restart=100.0),)), 0).turns
    failed = one[one["outcome"] == "failed"]
    assert 0 < len(failed) < 10 and (failed["cause"] == "crash").all()
    assert (failed["arrival"] < 100.0).all()
    every = sl.run(base.with_(faults=(Crash("tools.search", 100.0, 100.0, index=None),)),
                   0).turns
    inside = every[every["arrival"].between(100.0, 195.0)]
    assert (inside["outcome"] == "failed").all() and len(inside) > 200


def test_a_bad_deploy_crashes_every_worker_at_once():
    """Crash(index=None): every worker replica down together (a correlated failure), so every
    turn in flight fails, against only those on replica 0 for a single crash."""
    base = exact(rate=3.0)
    single = sl.run(base.with_(faults=(Crash("workers", at=100.0, restart=20.0),)), 0).turns
    every = sl.run(base.with_(faults=(Crash("workers", at=100.0, restart=20.0, index=None),)),
                   0).turns
    lost = {name: int((t["cause"] == "crash").sum()) for name, t in
            (("single", single), ("every", every))}
    assert lost["every"] > 2 * lost["single"] > 0
    assert (every.loc[every["cause"] == "crash", "worker"].nunique()) == 3
