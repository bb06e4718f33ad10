"""Self-hosted serving with continuous batching (issue 15, DESIGN.md sections 1b and 3).

A batch of one is a single server (Pollaczek-Khinchine); throughput grows with the batch and
flattens where the step-time model says; latency grows with load gradually, as the iteration
time of the batch it runs in; prefix-affinity routing keeps a session's prefix cache warm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stats import assert_in_ci

import simlib as sl
from simlib import theory
from simlib.config import SelfHosted, StepTime
from simlib.dists import Deterministic as D
from simlib.serving import service_time
from simlib.traces import DATA

SEEDS = range(10)
STEP = StepTime()


def served(rate: float, prompt=512, output=64, **server) -> sl.Scenario:
    """One-call Q&A turns on a self-hosted model (one replica unless said), plenty of async
    workers, no CPU time."""
    return sl.presets.qa_bot(**{
        "architecture": sl.presets.ASYNC, "workload.arrival_rate": rate,
        "workload.prompt_tokens": prompt, "workload.output_tokens": output,
        "workers.cpu_per_step": D(0.0), "workers.max_in_flight": 10_000,
        "llm": SelfHosted(cache=None, **server), "duration": 2000.0, "warmup": 200.0})


def test_the_default_step_time_is_the_profiled_8b_a100_row():
    row = pd.read_csv(DATA / "serving_profiles.csv", comment="#").set_index("profile")
    assert StepTime() == StepTime.profile("llama-3-8b_a100-80gb_tp1")
    assert SelfHosted().kv_cache_tokens == int(row.loc["llama-3-8b_a100-80gb_tp1",
                                                       "kv_cache_tokens"])
    big = SelfHosted.profile("llama-2-70b_h100-80gb_tp4")
    assert big.max_batch == 1024 and big.gpu_hour == pytest.approx(10.76)


def test_a_batch_of_one_is_a_single_server_pollaczek_khinchine():
    """max_batch=1: each request is served alone, in its deterministic service time S
    (prefill chunks, then one iteration per further token), FIFO: an M/D/1 queue, mean wait
    lambda S^2 / (2 (1 - rho)). The wait is the time to first token less the prefill."""
    S = service_time(STEP, 512, 64, 2048)
    prefill = service_time(STEP, 512, 1, 2048)
    rate = 0.7 / S
    scenario = served(rate, max_batch=1)
    waits = []
    for seed in SEEDS:
        turns = sl.run(scenario, seed).turns
        done = turns[(turns["outcome"] == "ok") & ~turns["warmup"]]
        waits.append(float((done["ttft"] - prefill).mean()))
    assert_in_ci(waits, theory.mg1_wait(rate, S, 0.0), "M/D/1 wait of a batch of one")


def test_a_batch_of_one_with_varied_sizes_is_m_g_1():
    """Output tokens uniform from 1 to 128: service times vary; P-K with their SCV."""
    outputs = np.arange(1, 129)
    times = np.array([service_time(STEP, 256, int(o), 2048) for o in outputs])
    mean, scv = times.mean(), times.var() / times.mean() ** 2
    rate = 0.6 / mean
    scenario = served(rate, prompt=D(256), output=sl.dists.Empirical(outputs.astype(float)),
                      max_batch=1)
    prefill = service_time(STEP, 256, 1, 2048)
    waits = []
    for seed in SEEDS:
        turns = sl.run(scenario, seed).turns
        done = turns[(turns["outcome"] == "ok") & ~turns["warmup"]]
        waits.append(float((done["ttft"] - prefill).mean()))
    assert_in_ci(waits, theory.mg1_wait(rate, mean, scv), "M/G/1 wait of a batch of one")


@pytest.mark.parametrize("batch", [1, 4, 16, 64])
def test_throughput_grows_with_the_batch_and_flattens_as_the_step_time_says(batch):
    """Overloaded (always a full batch): prompts of 16 tokens, answers of 256. With B
    sequences decoding at an average context of 16 + 128 tokens, an iteration takes
    a + b B + c B 144 ms and gives B tokens: the answers per second, B / (256 x that), grow
    with B and flatten at 1000 / (256 (b + 144 c)). Prefill is 1/17 of the iterations' work
    and shortens nothing much: within 10%."""
    scenario = served(50.0, prompt=D(16), output=D(256), max_batch=batch).with_(
        duration=600.0, warmup=100.0)
    turns = sl.run(scenario, 0).turns
    finished = turns[(turns["outcome"] == "ok") & (turns["finish"] >= 100.0)]
    measured = len(finished) / 500.0
    iteration = STEP.seconds(batch, batch * (16 + 128), 0, 0)
    assert measured == pytest.approx(batch / (256 * iteration), rel=0.1)


def test_latency_grows_smoothly_with_the_batch_it_runs_in():
    """Below capacity no request waits long for a seat; what load changes is the batch, and so
    the time of every iteration. A turn's time per output token is the iteration time at the
    batch it ran in: it rises step by step with the load (no cliff), and at each load it is
    the step time at the mean batch B the timeline shows, with the prompts prefilled in the
    same iterations: P = rate x 256 x T tokens an iteration of T ms, so
    T = (a + b B + c B 384) / (1 - (b + d) rate 256 / 1000), within 10%."""
    tpot = []
    for rate in (2.0, 4.0, 6.0, 8.0):
        result = sl.run(served(rate, prompt=D(256), output=D(256)).with_(duration=600.0,
                                                                          warmup=100.0), 0)
        done = result.turns[(result.turns["outcome"] == "ok") & ~result.turns["warmup"]]
        batch = float(result.timeline.loc[result.timeline["time"] > 100, "llm_batch"].mean())
        decode_ms = 1000 * STEP.seconds(batch, batch * (256 + 128), 0, 0)
        expected = decode_ms / (1 - (STEP.b + STEP.d) * rate * 256 / 1000) / 1000
        tpot.append(float(done["tpot"].mean()))
        assert tpot[-1] == pytest.approx(expected, rel=0.1), (rate, batch)
    assert all(a < b for a, b in zip(tpot, tpot[1:], strict=False))
    assert tpot[-1] / tpot[0] < 3  # gradual: four times the load, less than three times slower


def test_the_kv_cache_bounds_the_batch():
    """A KV cache of 10,000 tokens holds 10,000 / (512 + 64) = 17 requests: never more run."""
    result = sl.run(served(20.0, kv_cache_tokens=10_000), 0)
    assert result.timeline["llm_batch"].max() == 17
    assert result.timeline["llm_kv"].max() <= 1.0


def test_prefix_affinity_keeps_sessions_on_their_cache():
    """Multi-turn sessions on 4 replicas: round robin scatters a session's turns (a turn finds
    its prefix on its replica about a quarter of the time); prefix affinity sends each turn to
    the replica holding the session's history, so far more input is read from the cache."""
    base = sl.presets.assistant(llm=SelfHosted(replicas=4), architecture=sl.presets.SIMPLE,
                                duration=900.0)
    share = {}
    for routing in ("round_robin", "least_loaded", "prefix_affinity"):
        turns = sl.run(base.with_(**{"llm.routing": routing}), 0).turns
        share[routing] = turns["tokens_cached"].sum() / turns["tokens_in"].sum()
    assert share["prefix_affinity"] > share["round_robin"] + 0.2, share
    assert share["prefix_affinity"] > share["least_loaded"] + 0.2, share


def test_self_hosted_is_paid_by_the_replica_hour_not_the_token():
    scenario = served(1.0, replicas=3, gpu_hour=2.0).with_(duration=3600.0, warmup=0.0)
    result = sl.run(scenario, 0)
    assert (result.turns["cost"] == result.turns["store_ops"] * 0.001 / 1000).all()
    assert sl.cost.infrastructure_per_hour(scenario) == pytest.approx(
        3 * 2.0 + 2 * scenario.costs.worker_per_hour + scenario.costs.service_overhead_per_hour)


def test_a_self_hosted_on_premises_model_serves_the_sensitive_turns():
    scenario = sl.presets.sensitive(onprem=0).with_(onprem=SelfHosted(), **{
        "compliance.overflow": "queue"})
    turns = sl.run(scenario, 0).turns
    sensitive = turns[turns["sensitive"] & (turns["outcome"] == "ok")]
    assert len(sensitive) > 50 and not turns["violation"].any()
    assert (sensitive["cost"] < turns.loc[~turns["sensitive"], "cost"].mean()).all()


def test_every_arrival_ends_once_on_a_self_hosted_model():
    from test_accounting import check_accounting
    for routing in ("round_robin", "least_loaded", "prefix_affinity"):
        scenario = sl.presets.tool_agent(duration=400.0, warmup=40.0, faults=(
            sl.faults.Crash("workers", at=100.0, restart=30.0),
            sl.faults.LatencySpike("llm", 150.0, 30.0, 3.0)), **{
            "llm": SelfHosted(replicas=2, routing=routing, max_batch=8, kv_cache_tokens=200_000,
                              error_rate=0.05)})
        check_accounting(scenario, seed=4)


def test_same_seed_same_tables_on_a_self_hosted_model():
    scenario = sl.presets.assistant(llm=SelfHosted(replicas=2, routing="prefix_affinity"),
                                    duration=300.0)
    pd.testing.assert_frame_equal(sl.run(scenario, 2).turns, sl.run(scenario, 2).turns)
