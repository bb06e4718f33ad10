"""Resilience patterns: retries, backoff, circuit breakers, token buckets, bulkheads, load
shedding, timeouts, fallbacks and dead-letter queues, each held to a formula or an exact log.

Statistical tests run fixed seeds from 0, take one number per replication and check that the
formula lies in the 99.9% Student-t interval of their mean (tests/stats.py). Exact tests assert
whole logs: the breaker's ``(time, state)`` transitions, or every turn's outcome and latency in a
deterministic scenario. Property tests use Hypothesis, derandomized so that they never flicker.

Turns are taken from a window ``[warmup, duration - MARGIN)`` that every turn has left by the end
of the run, so that no measurement is biased by the turns still in flight.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stats import assert_in_ci

import simlib as sl
from simlib import theory
from simlib.buckets import TokenBucket
from simlib.resilience import BACKOFFS, HALF_OPEN, OPEN, Breaker, Budget, backoff

SEEDS = range(20)
MARGIN = 50.0
PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def ended(result, margin=MARGIN):
    """The measured turns that arrived early enough to have ended (asserted)."""
    scenario, turns = result.scenario, result.turns
    arrival = turns["arrival"]
    window = turns[(arrival >= scenario.warmup) & (arrival < scenario.duration - margin)]
    assert len(window) > 0
    assert not (window["outcome"] == "in_flight").any(), "a turn in the window did not end"
    return window


def no_retry_backoff(retries):
    return sl.Retry(retries=retries, backoff="none", base=0.0, cap=0.0)


# -- 1. retries with independent failures -------------------------------------------------------


@pytest.mark.parametrize(("p", "retries"), [(0.3, 2), (0.5, 3), (0.1, 0)])
def test_retries_with_independent_failures_match_the_geometric_formulas(p, retries):
    """Each attempt fails with probability p; with N retries a call makes (1 - p^(N+1)) / (1 - p)
    attempts on average and succeeds with probability 1 - p^(N+1). 64 workers for 2 turns/s of
    1 s calls: nobody queues, so the LLM's error coin is all that decides."""
    scenario = sl.presets.mmc(2.0, 1.0, 64, duration=700, warmup=70, **{
        "llm.error_rate": p, "resilience.llm": sl.Policy(retry=no_retry_backoff(retries))})
    attempts, success = [], []
    for seed in SEEDS:
        result = sl.run(scenario, seed)
        turns = ended(result)
        assert set(turns["outcome"]) <= {"ok", "failed"}
        failed = turns[turns["outcome"] == "failed"]
        assert (failed["attempts"] == retries + 1).all()
        assert (failed["cause"] == "llm_error").all()
        assert turns["attempts"].between(1, retries + 1).all()
        assert (turns["calls"] == 1).all()
        attempts.append(turns["attempts"].mean())
        success.append((turns["outcome"] == "ok").mean())
        summary = result.summary()
        assert summary["retry_amplification"] == pytest.approx(summary["attempts_per_turn"])
    assert_in_ci(attempts, theory.retry_attempts_mean(p, retries),
                 f"attempts per turn p={p} N={retries}")
    assert_in_ci(success, theory.retry_success(p, retries), f"success share p={p} N={retries}")


# -- 2. backoff ---------------------------------------------------------------------------------

BASE, CAP = 0.2, 5.0


def ceiling(attempt, base=BASE, cap=CAP):
    return min(cap, base * 2 ** (attempt - 1))


@pytest.mark.parametrize("attempt", [1, 3, 6])  # 6: 0.2 * 2^5 = 6.4 is capped at 5
@pytest.mark.parametrize("kind", ["full", "equal"])
def test_jittered_backoff_means_match_the_formula(kind, attempt):
    retry = sl.Retry(retries=10, backoff=kind, base=BASE, cap=CAP)
    means = []
    for seed in range(30):
        draws = np.random.default_rng(seed).random(2000)
        means.append(np.mean([backoff(retry, attempt, 0.0, u) for u in draws]))
    assert_in_ci(means, theory.backoff_mean(kind, BASE, attempt, CAP),
                 f"{kind} jitter mean, attempt {attempt}")


@pytest.mark.parametrize("attempt", [1, 3, 6])
def test_no_jitter_sleeps_exactly_the_capped_exponential(attempt):
    retry = sl.Retry(retries=10, backoff="none", base=BASE, cap=CAP)
    expected = theory.backoff_mean("none", BASE, attempt, CAP)
    assert expected == ceiling(attempt)
    for u in np.random.default_rng(0).random(100):
        assert backoff(retry, attempt, 1.0, u) == expected


def test_decorrelated_backoff_means_stay_between_base_and_cap():
    """Decorrelated jitter has no closed-form mean beyond the first retry, whose sleep is
    U(base, 3 base) (mean 2 base); every later mean is finite and within [base, cap]."""
    retry = sl.Retry(retries=10, backoff="decorrelated", base=BASE, cap=CAP)
    chains = 2000
    firsts, means = [], []
    for seed in range(30):
        draws = np.random.default_rng(seed).random((chains, 10))
        sleeps = np.empty_like(draws)
        for c in range(chains):
            previous = 0.0
            for k in range(10):
                previous = sleeps[c, k] = backoff(retry, k + 1, previous, draws[c, k])
        firsts.append(sleeps[:, 0].mean())
        means.append(sleeps.mean(axis=0))
    assert_in_ci(firsts, theory.backoff_mean("decorrelated", BASE, 1, CAP),
                 "decorrelated first sleep")
    means = np.array(means)
    assert np.isfinite(means).all()
    assert ((means >= BASE) & (means <= CAP)).all()


@PROPERTY
@given(retries=st.integers(0, 20), kind=st.sampled_from(BACKOFFS),
       base=st.floats(0, 100), extra=st.floats(0, 1000), attempt=st.integers(1, 10),
       previous=st.floats(0, 1e4), u=st.floats(0, 1, exclude_max=True))
def test_every_backoff_stays_within_its_kinds_bounds(retries, kind, base, extra, attempt,
                                                     previous, u):
    retry = sl.Retry(retries=retries, backoff=kind, base=base, cap=base + extra)
    v = min(retry.cap, base * 2 ** (attempt - 1))
    sleep = backoff(retry, attempt, previous, u)
    assert sleep <= retry.cap
    if kind == "none":
        assert sleep == v
    elif kind == "full":
        assert 0 <= sleep <= v
    elif kind == "equal":
        assert v / 2 <= sleep <= v
    else:
        assert base <= sleep <= retry.cap


# -- 3. circuit breaker -------------------------------------------------------------------------

BREAKER = sl.CircuitBreaker(failure_threshold=0.5, window=10, min_calls=4, open_time=5)


def play(script, config=BREAKER):
    """Run ``(time, action, argument)`` steps on a fresh Breaker: ``("allow", None)``,
    ``("record", failed)`` or ``("open_for", None)`` (seconds_open). Returns the breaker and
    the answers of the allow and open_for steps, in order."""
    breaker, answers = Breaker(config), []
    for time, action, argument in script:
        if action == "allow":
            answers.append(breaker.allow(time))
        elif action == "record":  # in these scripts a result in half-open is the probe's
            breaker.record(time, argument, probe=breaker.state == HALF_OPEN)
        else:
            answers.append(breaker.seconds_open(time))
    return breaker, answers


def records(*pairs):
    return [(t, "record", failed) for t, failed in pairs]


def test_breaker_waits_for_min_calls_before_opening():
    breaker, _ = play(records((1, True), (2, True), (3, True)))
    assert breaker.log == [(0.0, "closed")]
    breaker, _ = play(records((1, True), (2, True), (3, True), (4, False)))
    assert breaker.log == [(0.0, "closed"), (4, "open")]


def test_breaker_opens_when_the_failure_share_reaches_the_threshold():
    steps = records((1, True), (2, False), (3, False), (4, False),  # 1/4
                    (5, True),  # 2/5 = 0.4 < 0.5
                    (6, True))  # 3/6 = 0.5
    breaker, _ = play(steps[:5])
    assert breaker.log == [(0.0, "closed")]
    breaker, _ = play(steps)
    assert breaker.log == [(0.0, "closed"), (6, "open")]


def test_breaker_full_cycle_one_probe_at_a_time():
    script = records((1, True), (2, True), (3, False), (4, True)) + [  # 3/4 failed: open at 4
        (5, "allow", None), (8.999, "allow", None),  # open: refused
        (9, "open_for", None),
        (9, "allow", None),  # open_time over: half-open, this call is the probe
        (9.5, "allow", None),  # a probe is in flight: refused
        (10, "record", True),  # the probe failed: open again
        (12, "allow", None), (12, "open_for", None),
        (15, "allow", None),  # half-open again: a new probe
        (15, "allow", None),  # refused
        (16, "record", False),  # the probe succeeded: closed
        (16, "allow", None), (17, "allow", None),
        (17, "record", True),  # one failure after closing: the old results are gone
        (18, "record", True), (19, "record", True),  # 3 results < min_calls: still closed
        (30, "open_for", None)]
    breaker, answers = play(script)
    assert answers == [False, False, 5, True, False, False, 7, True, False, True, True, 10]
    assert breaker.log == [(0.0, "closed"), (4, "open"), (9, "half_open"), (10, "open"),
                           (15, "half_open"), (16, "closed")]
    assert breaker.seconds_open(30) == 10


def test_breaker_forgets_results_older_than_the_window():
    early = records((1, True), (2, True), (3, True))
    breaker, _ = play(early + records((10.5, True)))  # all four within 10 s: open
    assert breaker.log == [(0.0, "closed"), (10.5, "open")]
    late = records((13.5, True), (14, True), (14.5, True))  # the first three are forgotten
    breaker, _ = play(early + late)
    assert breaker.log == [(0.0, "closed")]
    breaker, _ = play(early + late + records((15, True)))
    assert breaker.log == [(0.0, "closed"), (15, "open")]


def test_seconds_open_accumulates_while_open():
    breaker, answers = play(records((1, True), (2, True), (3, True), (4, True)) + [
        (4, "open_for", None), (6.5, "open_for", None)])
    assert answers == [0, 2.5]
    assert breaker.log == [(0.0, "closed"), (4, "open")]


OPS = st.lists(st.tuples(st.floats(0, 4), st.sampled_from(["allow", "record"]),
                         st.integers(0, 1000), st.booleans()), max_size=80)


def drive(ops, on_allow):
    """Random traffic through a Breaker: calls allowed at some times, ended (in any order) at
    later times. Calls the check ``on_allow(breaker, allowed, in_flight)`` after every allow;
    ``in_flight`` holds, per unfinished call, whether it was let through as a half-open probe."""
    config = sl.CircuitBreaker(failure_threshold=0.5, window=10, min_calls=3, open_time=5)
    breaker, now, in_flight = Breaker(config), 0.0, []
    for dt, action, pick, failed in ops:
        now += dt
        if action == "allow" or not in_flight:
            allowed = breaker.allow(now)
            if allowed:
                in_flight.append(breaker.state == HALF_OPEN)
            on_allow(breaker, allowed, in_flight)
        else:
            probe = in_flight.pop(pick % len(in_flight))
            breaker.record(now, failed, probe)


@PROPERTY
@given(OPS)
def test_breaker_never_lets_a_call_through_while_open_nor_two_per_half_open(ops):
    seen = {"changes": 1, "granted": 0}  # calls let through since the last state change

    def check(breaker, allowed, in_flight):
        assert not (allowed and breaker.state == OPEN)
        if len(breaker.log) != seen["changes"]:
            seen.update(changes=len(breaker.log), granted=0)
        seen["granted"] += allowed
        if breaker.state == HALF_OPEN:
            assert seen["granted"] <= 1

    drive(ops, check)


# A call let through while closed ends (fails) while the probe is out; the breaker takes it for
# the probe's answer and opens; open_time later a second probe goes out beside the first.
STALE = [(0, "allow", 0, False)] * 4 + [(1, "record", 0, True)] * 3 + [  # open at t=3
    (5, "allow", 0, False),  # t=8: half-open, the probe
    (0.5, "record", 0, True),  # the fourth closed-state call fails: open at 8.5
    (5, "allow", 0, False)]  # t=13.5: half-open again, a second probe while the first is out


@PROPERTY
@given(OPS)
@example(STALE)
def test_half_open_never_has_two_probes_in_flight(ops):
    def check(breaker, allowed, in_flight):
        assert not (allowed and breaker.state == OPEN)
        if breaker.state == HALF_OPEN:
            assert sum(in_flight) <= 1

    drive(ops, check)


# -- 4. token buckets ---------------------------------------------------------------------------


@PROPERTY
@given(capacity=st.floats(1, 100), rate=st.floats(0.01, 100),
       ops=st.lists(st.tuples(st.floats(0, 10), st.floats(0.01, 1.0)), max_size=200))
def test_token_bucket_never_spends_more_than_it_holds(capacity, rate, ops):
    bucket, now, granted = TokenBucket(capacity, rate), 0.0, 0.0
    for dt, share in ops:
        now += dt
        amount = share * capacity
        wait = bucket.wait_for(now, amount)
        assert wait >= 0
        if wait == 0:
            bucket.take(now, amount)
            granted += amount
        else:
            assert bucket.level < amount
        assert 0 <= bucket.level <= capacity
        assert granted <= (capacity + rate * now) * (1 + 1e-9)
    # a request larger than the bucket goes when the bucket is full, and leaves it in debt
    full = now + capacity / rate
    assert bucket.wait_for(full, capacity * 1.5) == 0
    bucket.take(full, capacity * 1.5)
    assert bucket.level == pytest.approx(-capacity / 2)
    assert bucket.wait_for(full, capacity / 4) == pytest.approx(0.75 * capacity / rate)


def test_a_refund_gives_back_unused_tokens_up_to_the_capacity():
    bucket = TokenBucket(10.0, 1.0)
    bucket.take(0.0, 8.0)
    bucket.refund(1.0, 5.0)  # 2 + 1 refilled + 5 given back
    assert bucket.level == pytest.approx(8.0)
    bucket.refund(1.0, 5.0)
    assert bucket.level == 10.0


@PROPERTY
@given(capacity=st.floats(1, 100), rate=st.floats(0.01, 100), first=st.floats(0, 1000),
       later=st.floats(0, 100), taken=st.floats(0.01, 1.0), asked=st.floats(0.01, 1.0))
@example(capacity=1.0, rate=1.0, first=3.1, later=0.1, taken=1.0, asked=1.0)
def test_waiting_the_announced_time_is_enough(capacity, rate, first, later, taken, asked):
    bucket = TokenBucket(capacity, rate)
    bucket.take(first, taken * capacity)
    now = first + later
    wait = bucket.wait_for(now, asked * capacity)
    assert bucket.wait_for(now + wait, asked * capacity) == 0


@PROPERTY
@given(ratio=st.floats(0, 5), max_tokens=st.floats(1, 50), ops=st.lists(st.booleans(),
                                                                        max_size=200))
def test_retry_budget_stays_between_zero_and_max(ratio, max_tokens, ops):
    budget = Budget(sl.RetryBudget(ratio=ratio, max_tokens=max_tokens))
    spent = successes = 0
    for success in ops:
        before = budget.tokens
        if success:
            budget.success()
            successes += 1
        else:
            allowed = budget.spend()
            assert allowed == (before >= 1)
            assert budget.tokens == (before - 1 if allowed else before)
            spent += allowed
        assert 0 <= budget.tokens <= max_tokens
    assert spent <= (max_tokens + ratio * successes) * (1 + 1e-9)


# -- 5. bulkheads and load shedding -------------------------------------------------------------


def bulkhead(rate, concurrent, queue, workers=64, **changes):
    return sl.presets.mmc(rate, 1.0, workers, duration=600, warmup=60, **{
        "resilience.llm": sl.Policy(bulkhead=sl.Bulkhead(max_concurrent=concurrent,
                                                         max_queue=queue)), **changes})


def blocked_shares(scenario):
    shares = []
    for seed in SEEDS:
        turns = ended(sl.run(scenario, seed))
        full = turns[turns["cause"] == "bulkhead_full"]
        assert (full["outcome"] == "failed").all()
        assert (full["latency"] == 0).all()  # refused at once
        shares.append(len(full) / len(turns))
    return shares


@pytest.mark.parametrize("offered", [2.0, 6.0])
def test_bulkhead_without_queue_blocks_as_erlang_b(offered):
    """64 workers never limit; the bulkhead lets 4 LLM calls in at once and refuses the rest."""
    shares = blocked_shares(bulkhead(offered, 4, 0))
    assert_in_ci(shares, theory.erlang_b(offered, 1.0, 4), f"bulkhead Erlang B A={offered}")


def test_bulkhead_with_a_queue_blocks_as_mm1k():
    """One call at a time and 3 waiting: M/M/1/4."""
    shares = blocked_shares(bulkhead(0.8, 1, 3))
    assert_in_ci(shares, theory.mm1k_blocking(0.8, 1.0, 4), "bulkhead M/M/1/4")


def barrer_abandonment(arrival_rate, service_mean, patience):
    """M/M/1 with deterministic patience (M/M/1+D), FIFO: share of arrivals that wait
    ``patience`` and leave (Barrer 1957). A customer who will leave never reaches the server,
    so leaving late is the same as not joining when the virtual wait is >= patience:
    P = (1 - rho) rho e^-(mu - lambda) tau / (1 - rho^2 e^-(mu - lambda) tau)."""
    rho, mu = arrival_rate * service_mean, 1 / service_mean
    e = math.exp(-(mu - arrival_rate) * patience)
    return (1 - rho) * rho * e / (1 - rho * rho * e)


@pytest.mark.parametrize("rate", [0.9, 1.5])
def test_shedding_on_queue_wait(rate):
    """A turn that waited max_wait for the single worker is dropped at exactly max_wait
    (never admitted, cause queue_timeout); no admitted turn waited longer; the share dropped
    is M/M/1+D abandonment."""
    wait = 2.0
    scenario = sl.presets.mmc(rate, 1.0, 1, duration=2000, warmup=200, **{
        "resilience.shedding": sl.LoadShedding(max_wait=wait)})
    shares = []
    for seed in SEEDS:
        turns = ended(sl.run(scenario, seed), margin=10.0)
        assert set(turns["outcome"]) <= {"ok", "shed"}
        shed = turns[turns["outcome"] == "shed"]
        assert (shed["cause"] == "queue_timeout").all()
        assert shed["admitted"].isna().all()
        np.testing.assert_allclose(shed["latency"], wait, rtol=0, atol=1e-9)
        ok = turns[turns["outcome"] == "ok"]
        assert ((ok["admitted"] - ok["arrival"]) <= wait + 1e-9).all()
        shares.append(len(shed) / len(turns))
    assert_in_ci(shares, barrer_abandonment(rate, 1.0, wait), f"M/M/1+D abandonment {rate}")


# -- 6. timeouts and rate limits ----------------------------------------------------------------


def slow_llm(cancel, rate=1.0, duration=300.0, warmup=30.0):
    """LLM calls of exactly 3 s under a 1 s timeout; 64 workers, so nobody queues."""
    return sl.presets.mmc(rate, 3.0, 64, duration=duration, warmup=warmup, kind="deterministic",
                          **{"resilience.llm": sl.Policy(timeout=sl.Timeout(1.0, cancel=cancel))})


def check_all_timed_out(result):
    turns = result.turns
    done = turns[turns["outcome"] != "in_flight"]
    assert (done["outcome"] == "timed_out").all()
    assert (done["cause"] == "timeout").all()
    np.testing.assert_allclose(done["latency"], 1.0, rtol=0, atol=1e-9)
    late = turns[turns["outcome"] == "in_flight"]
    assert (late["arrival"] > result.scenario.duration - 1.0).all()
    return done


@pytest.mark.parametrize("seed", range(3))
def test_cancelled_timeouts_waste_nothing(seed):
    result = sl.run(slow_llm(cancel=True), seed)
    done = check_all_timed_out(result)
    assert result.summary()["wasted_work"] == 0
    assert (result.timeline["wasted"] == 0).all()
    assert (done["wasted"] == 0).all()


@pytest.mark.parametrize("seed", range(3))
def test_uncancelled_timeouts_waste_the_rest_of_the_call(seed):
    """The caller gives up after 1 s; the call runs 2 s more. The summary counts the waste of
    the calls that finished within the measured part of the timeline."""
    result = sl.run(slow_llm(cancel=False), seed)
    done = check_all_timed_out(result)
    times = result.timeline["time"]
    first, last = times[times >= result.scenario.warmup].iloc[0], times.iloc[-1]
    call_end = done["arrival"] + 3.0
    expected = 2.0 * int(((call_end > first) & (call_end <= last)).sum())
    assert result.summary()["wasted_work"] == pytest.approx(expected, rel=1e-9)


def test_uncancelled_timeouts_charge_the_waste_to_their_turn():
    result = sl.run(slow_llm(cancel=False), 0)
    done = check_all_timed_out(result)
    finished = done[done["arrival"] + 3.0 < result.scenario.duration]
    np.testing.assert_allclose(finished["wasted"], 2.0, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("cancel", "call_time"), [(True, 1.0), (False, 3.0)])
def test_cancellation_decides_how_long_the_llm_stays_busy(cancel, call_time):
    """Little's law on the LLM: calls in progress = rate x how long each one really runs."""
    rate = 2.0
    scenario = slow_llm(cancel, rate=rate, duration=1000, warmup=100)
    busy = []
    for seed in range(10):
        result = sl.run(scenario, seed)
        timeline = result.timeline
        busy.append(timeline[timeline["time"] >= scenario.warmup]["llm_in_progress"].mean())
    assert_in_ci(busy, rate * call_time, f"LLM calls in progress, cancel={cancel}")


def rate_limited(seed, retries=1):
    """One worker, LLM calls of exactly 0.1 s, 60 requests a minute (60 tokens refilled at 1/s)
    and 3 turns/s: the bucket runs dry and most calls get a 429 with a retry-after."""
    scenario = sl.presets.mmc(3.0, 0.1, 1, duration=300, warmup=10, kind="deterministic", **{
        "llm.requests_per_minute": 60,
        "resilience.llm": sl.Policy(retry=no_retry_backoff(retries))})
    return sl.run(scenario, seed).turns


def bucket_level(starts, now, capacity=60.0, rate=1.0):
    """The provider's request bucket at ``now``, rebuilt from the calls it admitted."""
    level, last = capacity, 0.0
    for t in starts[starts < now]:
        level = min(capacity, level + (t - last) * rate) - 1
        last = t
    return min(capacity, level + (now - last) * rate)


@pytest.mark.parametrize("seed", range(3))
def test_a_retried_429_sleeps_exactly_until_the_bucket_refills(seed):
    """With one worker the calls run one after another. A turn whose first call got a 429 and
    whose retry got through slept the retry-after: the time the bucket needed to hold a token
    again, rebuilt from the admitted calls (each started 0.1 s before its turn finished)."""
    turns = rate_limited(seed)
    ok = turns[turns["outcome"] == "ok"]
    starts = np.sort((ok["finish"] - 0.1).to_numpy())
    retried = ok[ok["attempts"] == 2]
    assert len(retried) > 100
    first = ok[ok["attempts"] == 1]
    np.testing.assert_allclose(first["finish"] - first["admitted"], 0.1, rtol=0, atol=1e-9)
    for admitted, finish in zip(retried["admitted"], retried["finish"], strict=True):
        level = bucket_level(starts, admitted)
        slept = finish - 0.1 - admitted
        assert level < 1
        assert slept == pytest.approx((1 - level) / 1.0, abs=1e-9)


def test_a_retry_that_waited_its_retry_after_gets_through():
    for seed in range(3):
        turns = rate_limited(seed)
        assert not (turns["cause"] == "rate_limited").any()
        assert turns["attempts"].max() <= 2


def test_client_side_rate_limit_keeps_within_the_providers_limit():
    """A client throttle as fast as the provider's limit (1/s, burst 60) never sees a 429."""
    scenario = sl.presets.mmc(5.0, 0.5, 100, duration=300, warmup=10, kind="deterministic", **{
        "llm.requests_per_minute": 60,
        "resilience.llm": sl.Policy(rate_limit=sl.RateLimit(per_second=1.0, burst=60))})
    for seed in range(3):
        turns = sl.run(scenario, seed).turns
        sent = np.sort(np.concatenate([
            turns.loc[turns["outcome"] == "ok", "finish"] - 0.5,
            turns.loc[turns["cause"] == "rate_limited", "finish"]]))
        assert (np.arange(1, len(sent) + 1) <= 60 + 1.0 * sent + 1e-9).all()
        assert not (turns["cause"] == "rate_limited").any()


# -- 7. fallback --------------------------------------------------------------------------------


def always_failing(kind="deterministic", retries=None, **changes):
    policy = sl.Policy(retry=no_retry_backoff(retries)) if retries is not None else sl.Policy()
    return sl.presets.mmc(2.0, 1.0, 64, duration=300, warmup=30, kind=kind, **{
        "llm.error_rate": 1.0, "resilience.fallback": sl.Fallback(latency=0.25),
        "resilience.llm": policy, **changes})


@pytest.mark.parametrize(("retries", "latency"), [(None, 1.25), (2, 3.25)])
def test_fallback_turns_are_degraded_and_available(retries, latency):
    """Every LLM call fails; the fallback answers after 0.25 s: the turn takes the failed call
    (or every failed attempt) plus 0.25 s, and is degraded: available but not ok."""
    result = sl.run(always_failing(retries=retries), 0)
    turns = result.turns
    done = turns[turns["outcome"] != "in_flight"]
    assert (done["outcome"] == "degraded").all()
    np.testing.assert_allclose(done["latency"], latency, rtol=0, atol=1e-9)
    assert (done["attempts"] == (retries or 0) + 1).all()
    summary = result.summary()
    assert summary["n_ok"] == 0 and summary["n_failed"] == 0
    assert summary["n_degraded"] > 0
    assert summary["availability"] == 1.0
    assert summary["error_rate"] == 0.0
    assert summary["goodput"] == 0.0


def test_fallback_adds_its_latency_to_a_random_call():
    means = []
    for seed in SEEDS:
        turns = ended(sl.run(always_failing(kind="exponential"), seed))
        assert (turns["outcome"] == "degraded").all()
        means.append(turns["latency"].mean())
    assert_in_ci(means, 1.0 + 0.25, "fallback latency = call + 0.25")


# -- 8. async silent failures and the dead-letter queue -----------------------------------------


def flaky(execution, dead_letter=None):
    """LLM calls of exactly 1 s failing with probability 0.2; 8 workers, nobody queues."""
    return sl.presets.mmc(2.0, 1.0, 8, duration=1000, warmup=100, kind="deterministic", **{
        "llm.error_rate": 0.2, "architecture.execution": execution,
        "resilience.dead_letter": dead_letter})


@pytest.mark.parametrize(("execution", "lost"), [("async", "silent_failure"), ("sync", "failed")])
def test_failures_after_the_acknowledgement_are_silent_in_async_only(execution, lost):
    scenario = flaky(execution)
    shares = []
    for seed in SEEDS:
        turns = ended(sl.run(scenario, seed))
        assert set(turns["outcome"]) <= {"ok", lost}
        assert (turns.loc[turns["outcome"] == lost, "cause"] == "llm_error").all()
        shares.append((turns["outcome"] == lost).mean())
    assert_in_ci(shares, 0.2, f"{execution}: share {lost}")


def test_sync_ignores_the_dead_letter_queue():
    turns = ended(sl.run(flaky("sync", sl.DeadLetter(delay=5, redeliveries=3)), 0))
    assert set(turns["outcome"]) == {"ok", "failed"}
    assert (turns["attempts"] == 1).all()


def test_dead_letter_redelivers_instead_of_failing_silently():
    """Each delivery fails with probability 0.2, independently; 3 redeliveries 5 s apart: a
    turn is answered ok unless all 4 deliveries fail (then it fails visibly). A turn delivered
    k times took k calls of 1 s and k - 1 waits of 5 s."""
    scenario = flaky("async", sl.DeadLetter(delay=5, redeliveries=3))
    shares = []
    for seed in SEEDS:
        turns = ended(sl.run(scenario, seed))
        assert set(turns["outcome"]) <= {"ok", "failed"}
        k = turns["attempts"]
        np.testing.assert_allclose(turns["latency"], k * 1.0 + (k - 1) * 5.0, rtol=0, atol=1e-9)
        failed = turns["outcome"] == "failed"
        assert (k[failed] == 4).all()
        assert (turns.loc[failed, "cause"] == "llm_error").all()
        assert k.between(1, 4).all()
        shares.append((~failed).mean())
    assert_in_ci(shares, 1 - 0.2**4, "ok share with 3 redeliveries")
