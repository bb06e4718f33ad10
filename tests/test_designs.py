"""The mechanisms of each axis, shown exactly on deterministic scenarios.

With every time deterministic, a turn's latency can be worked out by hand; these tests state that
arithmetic and check the engine does the same, in SimPy's own style of exact expectations.
"""

import pytest

import simlib as sl
from simlib import cost
from simlib.buckets import TokenBucket
from simlib.dists import Deterministic as D


def one_turn(architecture, tools=3, hop=0.0, **changes):
    """One session of one turn (arrives at some time, alone in the system): one step with an LLM
    call of 1 s and ``tools`` tool calls of 2 s each; CPU 0.1 s per step."""
    scenario = sl.Scenario(
        architecture=architecture,
        workload=sl.Workload(arrival_rate=0.001, steps=D(1), tools_per_step=D(tools),
                             prompt_tokens=D(100), output_tokens=D(0)),
        llm=sl.LLM(ttft=D(1.0)), tools=(sl.Tool("search", D(2.0), capacity=None),),
        workers=sl.Workers(count=1, slots=1, cpu_per_step=D(0.1)),
        network=sl.Network(hop_latency=D(hop)), duration=5000, warmup=0)
    scenario = scenario.with_(**changes)
    turns = sl.run(scenario, seed=1).turns
    assert (turns["outcome"] == "ok").all() and len(turns) > 0
    return turns


@pytest.mark.parametrize("design", [d for d in sl.DESIGNS if not d.remote],
                         ids=lambda d: d.name)
def test_tools_run_one_after_another_unless_the_workload_gathers_them(design):
    """Parallel tool calls belong to the agent code (``parallel_tools``), not to the sync/async
    axis: a request/response service can ``gather`` too, an async one may not."""
    turns = one_turn(design)
    assert turns["latency"].to_numpy() == pytest.approx(0.1 + 1.0 + 3 * 2.0)
    turns = one_turn(design, **{"workload.parallel_tools": True})
    assert turns["latency"].to_numpy() == pytest.approx(0.1 + 1.0 + 2.0)


@pytest.mark.parametrize("parallel, tool_time", [(False, 3 * 2.0), (True, 2.0)])
def test_microservices_add_one_hop_per_tool_call(parallel, tool_time):
    turns = one_turn(sl.Architecture("stateless", "sync", "microservices"), hop=0.05,
                     **{"workload.parallel_tools": parallel})
    hops = 1 if parallel else 3  # parallel hops overlap
    assert turns["latency"].to_numpy() == pytest.approx(0.1 + 1.0 + tool_time + hops * 0.05)
    assert (turns["tool_calls"] == 3).all()


def test_monolith_makes_no_hops():
    turns = one_turn(sl.Architecture("stateless", "sync", "monolith"), hop=0.05)
    assert turns["latency"].to_numpy() == pytest.approx(0.1 + 1.0 + 6.0)


def test_sync_holds_the_slot_while_waiting_async_does_not():
    """One worker, one slot, two sessions arriving together-ish: a sync turn blocks the other
    for its whole 7.1 s; an async turn holds the slot only for its 0.1 s CPU burst."""
    base = sl.presets.mmc(1.0, 1.0, 1)  # only to borrow a validated scenario shape
    scenario = base.with_(**{
        "workload.arrival_rate": 0.5, "workload.tools_per_step": D(3),
        "tools": (sl.Tool("search", D(2.0), capacity=None),),
        "llm.ttft": D(1.0), "workers.cpu_per_step": D(0.1), "workers.max_in_flight": 100,
        "workers.cores": 1,
        "duration": 2000.0, "warmup": 0.0, "sample_every": 0.01})
    sync = sl.run(scenario, 3).summary()
    asynchronous = sl.run(scenario.with_(**{"architecture.execution": "async"}), 3)
    asyn = asynchronous.summary()
    assert sync["utilisation"] > 0.95  # 0.5/s x 7.1 s > 1 slot: sync is overloaded
    # CPU share only: 0.1 s per turn that started, over the run (sampled every 0.01 s, so
    # within a bit more than one sample of 0.1 s per burst)
    started = asynchronous.turns["admitted"].notna().sum()
    assert asyn["utilisation"] == pytest.approx(started * 0.1 / 2000.0, rel=0.02)
    # async turns never wait for a thread: 0.1 + 1 + 3 x 2 s (tools in sequence); sync ones queue
    assert asyn["latency_p95"] < 7.2 < sync["latency_p50"]


def multi_turn(architecture, **changes):
    scenario = sl.Scenario(
        architecture=architecture,
        workload=sl.Workload(arrival_rate=0.05, turns=D(4), think_time=D(5.0), steps=D(1),
                             tools_per_step=D(0), prompt_tokens=D(1000), output_tokens=D(0)),
        llm=sl.LLM(ttft=D(1.0), prompt_cache_factor=0.5, **sl.presets.TEXTBOOK), tools=(),
        store=sl.ContextStore(latency=D(0.2), per_1k_tokens=0.1, servers=None),
        workers=sl.Workers(count=1, slots=100, cpu_per_step=D(0.0)),
        duration=3000, warmup=0)
    return sl.run(scenario.with_(**changes), seed=2).turns


def test_stateless_reads_and_writes_context_in_the_store():
    """Turn k (k >= 2) reads (k-1) x 1000 tokens of context: 0.2 + 0.1 x (k-1) seconds; every
    turn but the last writes k x 1000 tokens back: 0.2 + 0.1 x k. The LLM takes 1 s."""
    turns = multi_turn(sl.Architecture("stateless", "sync", "monolith"))
    done = turns[turns["outcome"] == "ok"]
    for k in (1, 2, 3, 4):
        read = 0.0 if k == 1 else 0.2 + 0.1 * (k - 1)
        write = 0.0 if k == 4 else 0.2 + 0.1 * k
        latency = done.loc[done["turn"] == k, "latency"].to_numpy()
        assert latency == pytest.approx(read + 1.0 + write), k
        assert (done.loc[done["turn"] == k, "store_ops"] == (k > 1) + (k < 4)).all()


def test_stateful_keeps_context_in_memory_and_reuses_the_prompt_cache():
    """No store round trip; from the second turn on the time to first token is halved (the
    first edition's prompt cache, ``prompt_cache_factor``, which only a pinned session gets:
    the textbook provider keeps it; a hosted provider's cache is in test_provider)."""
    turns = multi_turn(sl.Architecture("stateful", "sync", "monolith"))
    done = turns[turns["outcome"] == "ok"]
    assert (done["store_ops"] == 0).all()
    assert done.loc[done["turn"] == 1, "latency"].to_numpy() == pytest.approx(1.0)
    assert done.loc[done["turn"] > 1, "latency"].to_numpy() == pytest.approx(0.5)
    assert not done["context_lost"].any()


def test_stateful_memory_cap_evicts_and_loses_context():
    """Room for about 1.5 contexts of 2,000 tokens: sessions overlapping on the one worker evict
    each other; an evicted session's next turn has lost its context (and the prompt cache)."""
    turns = multi_turn(sl.Architecture("stateful", "sync", "monolith"),
                       **{"workers.memory_mb": 1.5, "workers.mb_per_1k_tokens": 0.5,
                          "workload.arrival_rate": 0.3})
    lost = turns[turns["context_lost"]]
    assert len(lost) > 0 and (lost["turn"] > 1).all()
    answered = lost[lost["outcome"] == "ok"]  # (one may still be in flight at the end)
    assert len(answered) > 0
    assert answered["latency"].to_numpy() == pytest.approx(1.0)  # no cache for a lost context
    stateless = multi_turn(sl.Architecture("stateless", "sync", "monolith"),
                           **{"workers.memory_mb": 1.5, "workload.arrival_rate": 0.3})
    assert not stateless["context_lost"].any()


def test_sticky_routing_pins_every_turn_of_a_session_to_one_worker():
    scenario = sl.presets.assistant(duration=600, warmup=60, **{"workers.count": 4})
    turns = sl.run(scenario, seed=4).turns
    admitted = turns[turns["worker"] >= 0]
    assert (admitted.groupby("session")["worker"].nunique() == 1).all()
    assert admitted["worker"].nunique() == 4
    pooled = sl.run(scenario.with_(**{"architecture.state": "stateless"}), seed=4).turns
    assert (pooled[pooled["worker"] >= 0].groupby("session")["worker"].nunique() > 1).any()


def test_token_bucket_exact_event_log():
    """60 requests/minute: 60 at once, then one per second."""
    bucket, log = TokenBucket(capacity=60, rate=1.0), []
    for now in (0.0, 0.0, 0.5, 1.0, 1.0, 2.5):
        wait = bucket.wait_for(now, 30)
        if wait == 0:
            bucket.take(now, 30)
        log.append((now, round(wait, 9), round(bucket.level, 9)))
    assert log == [(0.0, 0.0, 30.0), (0.0, 0.0, 0.0), (0.5, 29.5, 0.5), (1.0, 29.0, 1.0),
                   (1.0, 29.0, 1.0), (2.5, 27.5, 2.5)]
    # more than it can ever hold: it goes once the bucket is full (and leaves it in debt)
    assert bucket.wait_for(2.5, 61) == pytest.approx(57.5)


def test_rate_limit_caps_admitted_llm_calls():
    """120 requests/min = 2/s sustained; arrivals at 4/s: about half are refused with 429."""
    scenario = sl.presets.qa_bot(**{"workload.arrival_rate": 4.0, "workers.slots": 64,
                                    "llm.requests_per_minute": 120.0})
    s = sl.run(scenario, seed=0).summary()
    turns = sl.run(scenario, seed=0).turns
    assert s["goodput"] == pytest.approx(2.0, rel=0.05)
    assert set(turns.loc[turns["outcome"] == "failed", "cause"]) == {"rate_limited"}


def test_llm_concurrency_cap_queues_calls():
    scenario = sl.presets.mmc(3.0, 1.0, 8, duration=1000, warmup=100)
    capped = scenario.with_(**{"llm.concurrency": 4})
    assert sl.run(capped, 0).summary()["latency_mean"] > \
        1.3 * sl.run(scenario, 0).summary()["latency_mean"]


def test_microservices_cost_more_to_run_than_a_monolith_of_the_same_size():
    mono = sl.presets.tool_agent(**{"architecture.deployment": "monolith"})
    micro = mono.with_(**{"architecture.deployment": "microservices"})
    c = mono.costs
    # monolith: 2 replicas each carrying both tools, one service
    assert cost.infrastructure_per_hour(mono) == pytest.approx(
        2 * (c.worker_per_hour + 2 * c.tool_replica_per_hour) + c.service_overhead_per_hour)
    # microservices: orchestrator x2, code x2 + search x1 replicas, context x2, four services
    assert cost.infrastructure_per_hour(micro) == pytest.approx(
        2 * c.worker_per_hour + 3 * c.tool_replica_per_hour + 2 * c.context_replica_per_hour
        + 4 * c.service_overhead_per_hour)
