"""Directions: changes that must move a metric one way, at the same seed.

Because every session's work is drawn when it arrives (common random numbers), comparing two
configurations at one seed compares the configurations, not two sets of dice.
"""

import pandas as pd
import pytest

import simlib as sl


@pytest.mark.parametrize("seed", range(10))
def test_more_workers_never_raise_p95_in_a_pooled_queue(seed):
    """One FCFS queue before c servers, same arrivals and work: adding a server can only make
    every turn start sooner (Kiefer and Wolfowitz), so p95 cannot rise, seed by seed."""
    p95 = [sl.run(sl.presets.mmc(3.0, 1.0, c, duration=600, warmup=60), seed)
           .summary()["latency_p95"] for c in (4, 5, 6, 8)]
    assert all(a >= b for a, b in zip(p95[:-1], p95[1:], strict=True)), p95


@pytest.mark.parametrize("design", sl.DESIGNS, ids=lambda d: d.name)
def test_more_workers_never_raise_p95_in_any_design(design):
    """In every design, the p95 averaged over 10 seeds falls as workers are added."""
    base = sl.presets.assistant(architecture=design, duration=600, warmup=60,
                                **{"workload.arrival_rate": 0.9})
    means = [sl.replicate(base.with_(**{"workers.count": n}), seeds=range(10),
                          progress=False)["latency_p95"].mean() for n in (3, 4, 6)]
    assert means[0] >= means[1] >= means[2], means


def slow_store(scenario):
    return scenario.with_(**{"store.latency": sl.dists.LogNormal(median=0.4, p95=1.2),
                             "store.per_1k_tokens": 0.05})


@pytest.mark.parametrize("deployment", ["monolith", "microservices"])
@pytest.mark.parametrize("execution", ["sync", "async"])
def test_slower_store_raises_stateless_latency_only(execution, deployment):
    stateless = sl.presets.assistant(duration=900, warmup=90, architecture=sl.Architecture(
        "stateless", execution, deployment))
    stateful = stateless.with_(**{"architecture.state": "stateful"})
    for seed in range(3):
        fast, slow = sl.run(stateless, seed), sl.run(slow_store(stateless), seed)
        rise = slow.summary()["latency_mean"] - fast.summary()["latency_mean"]
        # every turn after the first reads (and most write) the context: about 2 x 0.45 s more
        assert rise > 0.5, rise
        same, changed = sl.run(stateful, seed), sl.run(slow_store(stateful), seed)
        pd.testing.assert_frame_equal(same.turns, changed.turns)  # the store is never touched


def test_async_beats_sync_on_throughput_when_turns_wait_on_io():
    """A turn is 10 ms of CPU and about 2.5 s of waiting on the LLM. Sync holds a slot for all
    of it: 16 slots serve at most 16 / 2.5 = 6.4 turns/s. Async holds a CPU slot 10 ms per
    turn, so the same workers keep up with 10 turns/s."""
    sync = sl.presets.qa_bot(**{"workload.arrival_rate": 10.0, "workers.count": 2,
                                "workers.slots": 8, "workers.max_in_flight": 128})
    asyn = sync.with_(**{"architecture.execution": "async"})
    for seed in range(3):
        s, a = sl.run(sync, seed).summary(), sl.run(asyn, seed).summary()
        capacity = 16 / (sync.llm.ttft.mean + sync.workload.output_tokens.mean / 80)
        assert s["throughput"] == pytest.approx(capacity, rel=0.1)
        assert s["utilisation"] > 0.97
        assert a["throughput"] == pytest.approx(a["arrival_rate"], rel=0.03)
        assert a["throughput"] > 1.4 * s["throughput"]
