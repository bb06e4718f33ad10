"""The hosted LLM provider as it really behaves (issue 13, DESIGN.md sections 1b and 3).

Windowed rate limits, fast unbilled failures, the provider's own overload, the SDK's retry layer
under the application's, the prompt cache keyed by prefix (provider) or by replica, time to first
token growing with the uncached prompt, failover to a backup model and hedged requests. Formulas
are checked within confidence intervals over fixed seeds; exact timings on deterministic cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from stats import assert_in_ci

import simlib as sl
from simlib import theory
from simlib.dists import Deterministic as D
from simlib.dists import Exponential
from simlib.experiment import wilson
from simlib.provider import sdk_sleep

SEEDS = range(10)


def one_call(**llm) -> sl.Scenario:
    """One-turn sessions of one LLM call (0.1 s, no output), on plenty of workers: every
    turn's only dependency is the provider. It starts from ``presets.mmc``, whose provider is
    the textbook one: each test sets the realistic mechanisms it is about."""
    base = sl.presets.mmc(2.0, 0.1, 64, duration=1000.0, warmup=0.0)
    return base.with_(**{f"llm.{k}": v for k, v in llm.items()})


def per_call(turns, column):
    return turns[column].sum() / turns["calls"].sum()


# -- the SDK retry layer, and two layers ---------------------------------------------------------


@pytest.mark.parametrize("p, sdk", [(0.3, 2), (0.5, 1), (0.2, 0)])
def test_the_sdk_layer_makes_the_geometric_number_of_requests(p, sdk):
    """Independent server errors of probability p, N SDK retries: requests per call
    (1 - p^(N+1)) / (1 - p), success 1 - p^(N+1) (DESIGN.md section 3)."""
    scenario = one_call(error_rate=p, sdk_retries=sdk, error_latency=D(0.05))
    requests, success = [], []
    for seed in SEEDS:
        turns = sl.run(scenario, seed).turns
        done = turns[turns["outcome"] != "in_flight"]
        requests.append(per_call(done, "llm_calls"))
        success.append(float((done["outcome"] == "ok").mean()))
    assert_in_ci(requests, theory.retry_attempts_mean(p, sdk), "requests per call")
    assert_in_ci(success, theory.retry_success(p, sdk), "success")


def test_two_retry_layers_multiply():
    """An application retry of M around an SDK layer of N: the application sees a call fail
    with q = p^(N+1), so it makes (1 - q^(M+1)) / (1 - q) attempts per call, each of
    (1 - p^(N+1)) / (1 - p) requests: requests per call are the product."""
    p, sdk, app = 0.5, 2, 2
    scenario = one_call(error_rate=p, sdk_retries=sdk, error_latency=D(0.05)).with_(**{
        "resilience.llm": sl.Policy(retry=sl.Retry(retries=app, backoff="none", base=0.0,
                                                   cap=0.0))})
    q = p ** (sdk + 1)
    attempts, requests, success = [], [], []
    for seed in SEEDS:
        turns = sl.run(scenario, seed).turns
        done = turns[turns["outcome"] != "in_flight"]
        attempts.append(per_call(done, "attempts"))
        requests.append(per_call(done, "llm_calls"))
        success.append(float((done["outcome"] == "ok").mean()))
    inner = theory.retry_attempts_mean(p, sdk)
    outer = theory.retry_attempts_mean(q, app)
    assert_in_ci(attempts, outer, "application attempts per call")
    assert_in_ci(requests, outer * inner, "requests per call: the product of the layers")
    assert_in_ci(success, theory.retry_success(q, app), "success")


def test_sdk_sleeps_follow_the_client_libraries():
    """openai-python / anthropic-sdk-python: 0.5 s doubling to 8 s, times 1 - 0.25 u; a
    retry-after of at most 60 s is slept as it is."""
    assert sdk_sleep(1, "llm_error", 0.0, 0.0) == 0.5
    assert sdk_sleep(2, "overloaded", 0.0, 1.0) == pytest.approx(0.75)
    assert sdk_sleep(6, "llm_error", 0.0, 0.0) == 8.0
    assert sdk_sleep(1, "rate_limited", 12.5, 0.7) == 12.5
    assert sdk_sleep(1, "rate_limited", 90.0, 0.0) == 0.5


# -- windowed rate limits ------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1.0, 10.0, 60.0])
def test_a_burst_gets_the_bucket_plus_the_refill(window):
    """A burst far above 60 requests/minute: in the first T seconds the provider admits the
    bucket's size (60 x window / 60) plus what refills meanwhile (1 a second), and no more."""
    scenario = one_call(requests_per_minute=60.0, rate_window=window, sdk_retries=0).with_(
        **{"workload.arrival_rate": 200.0, "duration": 30.0})
    for seed in range(3):
        turns = sl.run(scenario, seed).turns
        for horizon in (5.0, 20.0):
            early = turns[turns["arrival"] < horizon]
            admitted = int((early["cause"] != "rate_limited").sum())
            expected = window + horizon  # bucket full at 0, then 1 token a second
            assert expected - 1 <= admitted <= expected + 1, (window, horizon, admitted)


def test_a_429_says_when_to_come_back():
    """Two requests at the same instant against a bucket of one (60 a minute over 1 s): the
    second is refused (after the 0.05 s an error takes), told to come back in 1 s, sleeps
    exactly that in the SDK, and is served: latency 0.05 + 1 + 0.1."""
    trace = sl.traces.Trace("two", [0.0, 0.0], [10, 10], [0, 0], None)
    scenario = sl.presets.from_trace(trace, replay=True).with_(**{
        "llm": sl.LLM(ttft=D(0.1), requests_per_minute=60.0, rate_window=1.0,
                      error_latency=D(0.05), cache=None), "duration": 5.0,
        "workers.cpu_per_step": D(0.0)})
    turns = sl.run(scenario, 0).turns.sort_values("llm_calls")
    assert list(turns["outcome"]) == ["ok", "ok"]
    assert list(turns["llm_calls"]) == [1, 2]
    assert turns["latency"].tolist() == pytest.approx([0.1, 0.05 + 1.0 + 0.1])


def test_sdk_retries_turn_most_429s_into_waits():
    """At a load the limit carries on average (1.5/s against 2/s, a 1-s bucket): bursts are
    refused; with the SDK's two retries honouring the retry-after, most refused calls get in
    later (requests that waited for the same refill can still collide)."""
    base = one_call(requests_per_minute=120.0, rate_window=1.0, error_latency=D(0.05)).with_(
        **{"workload.arrival_rate": 1.5})
    failed = {}
    for sdk in (0, 2):
        turns = sl.run(base.with_(**{"llm.sdk_retries": sdk}), 1).turns
        failed[sdk] = float((turns["cause"] == "rate_limited").mean())
    assert failed[0] > 0.05
    assert failed[2] < failed[0] / 2, failed


def test_max_tokens_is_reserved_and_the_unused_part_refunded():
    """A token limit (60,000 a minute over 1 s: a bucket of 1,000) charges prompt plus
    max_tokens at admission. Prompts of 100 and answers of 100: a call charges 200, or 500
    with max_tokens=400, so of a burst in the first 0.2 s (1,000 + 200 refilled) 5 or 6 get
    in, against 2. The unused 300 come back when a call ends, so over the whole run both
    carry the same 5 calls a second."""
    base = sl.presets.mmc(50.0, 0.5, 200, duration=60.0, warmup=0.0, kind="deterministic")
    base = base.with_(**{"llm.tokens_per_minute": 60_000.0, "llm.rate_window": 1.0,
                         "llm.decode_rate": 1e9, "workload.prompt_tokens": D(100),
                         "workload.output_tokens": D(100)})
    plain = sl.run(base, 0).turns
    reserved = sl.run(base.with_(**{"llm.max_tokens": 400}), 0).turns

    def admitted(turns, start, end):
        inside = turns[(turns["arrival"] >= start) & (turns["arrival"] < end)]
        return int((inside["cause"] != "rate_limited").sum())

    assert admitted(plain, 0.0, 0.2) in (5, 6)
    assert admitted(reserved, 0.0, 0.2) == 2
    assert admitted(plain, 10.0, 60.0) == pytest.approx(5 * 50, rel=0.05)
    assert admitted(reserved, 10.0, 60.0) == pytest.approx(5 * 50, rel=0.05)


def test_cached_reads_do_not_count_against_the_input_limit():
    """Anthropic style: an input-token limit charges only uncached input. A session whose
    prompt is cached sends more input through the same limit."""
    base = chat_sessions(ttl=3600.0).with_(**{
        "llm.input_tokens_per_minute": 120_000.0, "llm.sdk_retries": 0})
    cached = sl.run(base, 0).turns
    uncached = sl.run(base.with_(**{"llm.cache": None}), 0).turns
    assert cached["tokens_cached"].sum() > 0
    assert (cached["cause"] == "rate_limited").sum() < (uncached["cause"] == "rate_limited").sum()


# -- failures come back fast and are not billed; the provider's own overload -------------------


def test_a_failed_call_returns_after_error_latency_and_bills_nothing():
    scenario = one_call(error_rate=1.0, sdk_retries=0, error_latency=D(0.05)).with_(**{
        "workload.prompt_tokens": D(500), "workload.output_tokens": D(100)})
    turns = sl.run(scenario, 0).turns
    done = turns[turns["outcome"] == "failed"]
    assert len(done) > 100 and (done["cause"] == "llm_error").all()
    assert np.allclose(done["latency"], 0.05)
    assert (done["tokens_in"] == 0).all() and (done["cost"] == 0).all()


def test_the_textbook_provider_fails_after_a_full_billed_generation():
    scenario = sl.presets.textbook(one_call(error_rate=1.0).with_(**{
        "workload.prompt_tokens": D(500), "workload.output_tokens": D(100)}))
    turns = sl.run(scenario, 0).turns
    done = turns[turns["outcome"] == "failed"]
    assert len(done) > 100
    assert (done["latency"] > 100 / 80.0).all()  # the whole answer was decoded first
    assert (done["tokens_in"] == 500).all() and (done["cost"] > 0).all()


def test_an_overload_is_fast_unbilled_and_retried_by_the_sdk():
    """Overloaded(llm, error_rate=0.5) for 200 s: inside, a request is refused with
    probability 0.5 (cause overloaded), so with 2 SDK retries a call fails with 0.125."""
    fault = sl.faults.Overloaded("llm", start=100.0, duration=200.0, error_rate=0.5)
    scenario = one_call(error_latency=D(0.05), sdk_retries=2).with_(faults=(fault,))
    failed, calls = 0, 0
    for seed in range(4):
        turns = sl.run(scenario, seed).turns
        inside = turns[turns["arrival"].between(110.0, 290.0)]
        failed += int((inside["cause"] == "overloaded").sum())
        calls += len(inside)
        outside = turns[turns["arrival"] < 99.0]
        assert (outside["outcome"] == "ok").all()
    share, low, high = wilson(failed, calls, 0.999)
    assert low <= 0.125 <= high, (share, low, high)


# -- the prompt cache --------------------------------------------------------------------------


def chat_sessions(ttl: float = 300.0, think: float = 20.0, scope: str = "provider",
                  **changes) -> sl.Scenario:
    """Four-turn sessions of one short call per turn, prompts of 2,000 tokens (over the 1,024
    minimum), exponential think time of mean ``think``."""
    scenario = sl.Scenario(
        architecture=sl.Architecture("stateless", "sync", "monolith"),
        workload=sl.Workload(arrival_rate=0.5, turns=D(4), think_time=Exponential(think),
                             steps=D(1), tools_per_step=D(0), prompt_tokens=D(2000),
                             output_tokens=D(10)),
        llm=sl.LLM(ttft=D(0.01), decode_rate=1e6,
                   cache=sl.PromptCache(scope=scope, ttl=ttl)),
        tools=(), workers=sl.Workers(count=4, slots=64, cpu_per_step=D(0.0)),
        store=sl.ContextStore(latency=D(0.0), per_1k_tokens=0.0, servers=None),
        duration=2000.0, warmup=0.0)
    return scenario.with_(**changes)


def cached_share(turns) -> float:
    return float(turns["tokens_cached"].sum() / turns["tokens_in"].sum())


def test_a_provider_cache_serves_stateless_and_stateful_alike():
    """Keyed by the prompt's prefix at the provider: a stateless worker that resends the
    history from the store reads as much from the cache as a pinned one (paired per seed,
    same sessions: the difference's interval covers 0)."""
    base = chat_sessions()
    diffs = []
    for seed in SEEDS:
        stateless = sl.run(base, seed).turns
        stateful = sl.run(base.with_(**{"architecture.state": "stateful"}), seed).turns
        diffs.append(cached_share(stateful) - cached_share(stateless))
        assert cached_share(stateless) > 0.3
    assert_in_ci(diffs, 0.0, "stateful minus stateless cached share")


def test_a_replica_cache_rewards_the_pinned_session():
    """Per replica (one per worker here): a stateless session's turns land on any of 4
    workers and mostly miss; a pinned session always finds its replica's entry."""
    base = chat_sessions(scope="replica")
    for seed in range(3):
        stateless = cached_share(sl.run(base, seed).turns)
        stateful = cached_share(sl.run(base.with_(**{"architecture.state": "stateful"}),
                                       seed).turns)
        assert stateful > stateless + 0.2, (stateless, stateful)


@pytest.mark.parametrize("ttl", [5.0, 20.0, 60.0])
def test_cache_hits_follow_the_think_time(ttl):
    """An entry lives ``ttl`` seconds from the start of the request that wrote it; the next
    turn's request starts one call (0.01 s) plus an exponential think time (mean 20 s) later,
    so a follow-up turn hits with probability 1 - exp(-(ttl - 0.01) / 20)."""
    base = chat_sessions(ttl=ttl)
    hits = []
    for seed in SEEDS:
        turns = sl.run(base, seed).turns
        follow = turns[(turns["turn"] > 1) & (turns["outcome"] == "ok")]
        hits.append(float((follow["tokens_cached"] > 0).mean()))
    assert_in_ci(hits, 1 - math.exp(-(ttl - 0.01) / 20.0), "share of follow-ups that hit")


def test_a_cache_hit_prices_reads_and_writes():
    """Turn 1 writes its 2,000-token prompt (1.25x the input price); turn 2 within the ttl
    reads those 2,000 (0.1x) and writes the rest of its longer prompt."""
    scenario = chat_sessions(think=1.0).with_(**{"workload.think_time": D(1.0),
                                                   "workload.arrival_rate": 0.01,
                                                   "workload.turns": D(2)})
    turns = sl.run(scenario, 0).turns
    first, second = turns.iloc[0], turns.iloc[1]
    price_in, price_out, store = 0.001, 0.005, 0.001 / 1000  # the store: $ per operation
    assert first["tokens_cache_write"] == 2000 and first["tokens_cached"] == 0
    assert first["cost"] == pytest.approx(
        (2000 * 1.25 * price_in + 10 * price_out) / 1000 + first["store_ops"] * store)
    assert second["tokens_cached"] == 2000
    extra = second["tokens_in"] - 2000
    assert second["tokens_cache_write"] == extra
    assert second["cost"] == pytest.approx(
        (2000 * 0.1 * price_in + extra * 1.25 * price_in + 10 * price_out) / 1000
        + second["store_ops"] * store)


def test_short_prompts_are_not_cached():
    turns = sl.run(chat_sessions(**{"workload.prompt_tokens": D(200)}), 0).turns
    assert turns["tokens_cached"].sum() == 0 and turns["tokens_cache_write"].sum() == 0


def test_time_to_first_token_grows_with_the_uncached_prompt():
    """ttft = base + uncached tokens / prefill_rate: turn 1 pays for 2,000 tokens, turn 2 only
    for what the cache did not hold."""
    scenario = chat_sessions(**{"llm.prefill_rate": 10_000.0, "workload.turns": D(2),
                                "workload.think_time": D(1.0), "workload.arrival_rate": 0.01})
    turns = sl.run(scenario, 0).turns
    first, second = turns.iloc[0], turns.iloc[1]
    assert first["ttft"] == pytest.approx(0.01 + 2000 / 10_000)
    uncached = second["tokens_in"] - second["tokens_cached"]
    assert second["ttft"] == pytest.approx(0.01 + uncached / 10_000)


# -- failover and hedging ----------------------------------------------------------------------


def with_backup(backup_error: float = 0.0, **failover) -> sl.Scenario:
    backup = sl.LLM(ttft=D(0.1), error_rate=backup_error, sdk_retries=0,
                    error_latency=D(0.05), input_per_1k=0.002, output_per_1k=0.01)
    return one_call(sdk_retries=0, error_latency=D(0.05)).with_(**{
        "resilience.failover": sl.Failover(backup=backup, **failover)})


def test_with_the_primary_out_availability_is_the_backups():
    """The primary fully out from 200 s to 600 s; a backup that fails 10% of calls: inside
    the window availability is the backup's own, 0.9 (Wilson interval, 99.9%)."""
    scenario = with_backup(0.1, after_errors=1).with_(
        faults=(sl.faults.Outage("llm", 200.0, 400.0, error_rate=1.0),))
    ok = total = 0
    for seed in range(4):
        turns = sl.run(scenario, seed).turns
        inside = turns[turns["arrival"].between(210.0, 590.0)]
        ok += int((inside["outcome"] == "ok").sum())
        total += len(inside)
    share, low, high = wilson(ok, total, 0.999)
    assert low <= 0.9 <= high, (share, low, high)


def test_two_independent_providers_multiply_their_unavailability():
    """Primary failing 20%, backup 30%, independent: a call fails only if both do, so
    availability is 1 - (1 - A1)(1 - A2) = 1 - 0.2 x 0.3 = 0.94."""
    scenario = with_backup(0.3, after_errors=1).with_(**{"llm.error_rate": 0.2})
    availability = [sl.run(scenario, seed).summary()["availability"] for seed in SEEDS]
    assert_in_ci(availability, 1 - (1 - 0.8) * (1 - 0.7), "availability of two providers")


def test_a_failed_over_call_is_billed_at_the_backups_prices():
    scenario = with_backup(0.0).with_(**{"llm.error_rate": 1.0,
                                         "workload.prompt_tokens": D(1000),
                                         "workload.output_tokens": D(100)})
    turns = sl.run(scenario, 0).turns
    done = turns[turns["outcome"] == "ok"]
    assert len(done) > 100
    assert np.allclose(done["cost"], (1000 * 0.002 + 100 * 0.01) / 1000)


def test_a_hedge_answers_from_the_faster_model_and_bills_the_loser_its_prompt():
    """Primary 5 s, backup 0.1 s, hedge after 1 s: every turn ends at 1.1 s, answered by the
    backup; the cancelled primary request's prompt is billed at the primary's price."""
    scenario = with_backup(0.0, hedge_after=1.0).with_(**{
        "llm.ttft": D(5.0), "workload.prompt_tokens": D(1000), "workload.output_tokens": D(0)})
    turns = sl.run(scenario, 0).turns
    done = turns[turns["outcome"] == "ok"]
    assert len(done) > 100
    assert np.allclose(done["latency"], 1.1)
    assert np.allclose(done["cost"], (1000 * 0.001 + 1000 * 0.002) / 1000)
    assert (done["llm_calls"] == 2).all()


def test_a_fallback_answer_costs_tokens_and_can_fail():
    fallback = sl.Fallback(latency=D(0.3), error_rate=0.5)
    scenario = one_call(error_rate=1.0, sdk_retries=0, error_latency=D(0.05)).with_(**{
        "resilience.fallback": fallback, "workload.prompt_tokens": D(1000),
        "workload.output_tokens": D(100)})
    turns = sl.run(scenario, 0).turns
    done = turns[turns["outcome"] != "in_flight"]
    degraded = done[done["outcome"] == "degraded"]
    share, low, high = wilson(len(degraded), len(done), 0.999)
    assert low <= 0.5 <= high
    assert np.allclose(degraded["cost"], (1000 * 0.00015 + 100 * 0.0006) / 1000)
    assert (done[done["outcome"] == "failed"]["cause"] == "llm_error").all()


def test_a_backup_model_is_a_fault_target():
    scenario = with_backup(0.0).with_(faults=(sl.faults.Outage("llm_backup", 0.0, 2000.0),),
                                      **{"llm.error_rate": 1.0})
    turns = sl.run(scenario, 0).turns
    assert (turns[turns["outcome"] != "in_flight"]["outcome"] == "failed").all()
