"""The explorers of notebook 04 (faults and resilience), driven without a browser.

Each test moves a control the way a learner would and checks that the charts moved in the
direction the mechanism dictates: a latency spike tips the retry storm into a collapse that
outlives it, and a retry budget, cancelling timeouts or a breaker let it recover; a brown-out
fails turns, retries rescue them, a fallback turns failures into degraded answers, a breaker
empties the queue that retries build in an outage, and shedding bounds the queue of a flash
crowd. Sums over a few seeds keep the assertions off any one seed's quirks.
"""

import numpy as np
import pandas as pd
import pytest
from panels import SEEDS, over_seeds, per_seed, window_mean
from stats import assert_in_ci

import simlib as sl
from simlib.panels import resilience as rs

SPIKE = "LLM slow-down x (60-80 s)"
DESIGN = "stateless/sync/monolith"


def series(explorer, name: str, low: float, high: float, figure: int = 0) -> float:
    """Mean y of the trace ``name`` over x in [low, high)."""
    return window_mean(next(t for t in explorer.figures[figure].data if t.name == name), low, high)


def late_ok(explorer) -> float:
    """Ok answers per second from 110 s on (30 s after the trigger ended), summed over seeds."""
    return sum(per_seed(explorer, lambda e: series(e, f"{DESIGN}: ok answers", 110, 160)))


def turns_ending(explorer, outcome: str) -> int:
    """Measured turns ending in ``outcome``, read from the outcomes chart, summed over seeds."""
    def read(e) -> int:
        trace = e.figures[0].data[0]
        return int(dict(zip(trace.x, trace.y, strict=True)).get(outcome, 0))
    return sum(per_seed(explorer, read))


def in_system(explorer, low: float = 150, high: float = 260, how=np.max) -> float:
    """Turns in the system over [low, high) (their maximum, or ``how``), averaged over seeds."""
    return over_seeds(explorer, lambda e: window_mean(e.figures[1].data[0], low, high, how))


# -- the retry storm -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storm():
    return rs.storm_panel()


def test_a_trigger_tips_the_storm_into_a_collapse_that_outlives_it(storm):
    calm = late_ok(storm)
    storm.controls[SPIKE].value = 10.0
    tipped = late_ok(storm)
    attempts = series(storm, f"{DESIGN}: attempts", 110, 160)
    storm.controls[SPIKE].value = 1.0
    assert calm > 3.0 * len(SEEDS)  # about the 4 turns/s that arrive
    assert tipped < 0.2 * calm
    assert attempts > 10.0  # pinned above the endpoint's capacity of 10 calls/s
    assert len(storm.timings) >= 2 * len(SEEDS)


@pytest.mark.parametrize(("label", "value"), [("retry budget", "10% of successes"),
                                              ("abandoned call", "is cancelled"),
                                              ("circuit breaker", "on"), ("retries", 0)])
def test_fewer_retries_or_less_abandoned_work_let_the_storm_recover(storm, label, value):
    storm.controls[SPIKE].value = 10.0
    tipped = late_ok(storm)
    default = storm.controls[label].value
    storm.controls[label].value = value
    fixed = late_ok(storm)
    storm.controls[label].value = default
    storm.controls[SPIKE].value = 1.0
    assert fixed > 0.8 * 4.0 * len(SEEDS) > 5 * tipped


def test_jitter_alone_spreads_the_retries_but_does_not_stop_the_storm(storm):
    storm.controls[SPIKE].value = 10.0
    storm.controls["backoff"].value = "full jitter"
    jittered = late_ok(storm)
    storm.controls["backoff"].value = "immediate"
    storm.controls[SPIKE].value = 1.0
    assert jittered < 0.2 * 4.0 * len(SEEDS)


def test_below_capacity_over_attempts_the_same_trigger_passes(storm):
    """At 1.5 turns/s even 4 attempts per turn (6/s) fit under the capacity: the backlog the
    spike left drains, and ok answers come back to the arrivals."""
    storm.controls["arrival rate (turns/s)"].value = 1.5
    storm.controls[SPIKE].value = 10.0
    recovered = late_ok(storm)
    storm.controls[SPIKE].value = 1.0
    storm.controls["arrival rate (turns/s)"].value = 4.0
    assert recovered > 0.8 * 1.5 * len(SEEDS)


# -- the patterns panel --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patterns():
    return rs.patterns_panel()


def test_a_brownout_fails_turns_and_retries_rescue_them(patterns):
    """A 60% brown-out on the realistic provider: the SDK's own 2 retries leave 0.6^3 = 22% of
    the window's calls (about 120 turns) failed; 3 retries of the application on top leave
    0.6^12, under 1%."""
    assert turns_ending(patterns, "failed") == 0
    patterns.controls["LLM brown-out error rate"].value = 0.6
    hit = turns_ending(patterns, "failed")
    patterns.controls["LLM retries (full jitter)"].value = 3
    rescued = turns_ending(patterns, "failed")
    patterns.controls["LLM retries (full jitter)"].value = 0
    patterns.controls["LLM brown-out error rate"].value = 0.0
    assert hit > 10 * len(SEEDS)  # about 0.216 x 120 turns in the window, per seed
    assert rescued < 0.1 * hit


def test_a_fallback_turns_failures_into_degraded_answers(patterns):
    patterns.controls["LLM brown-out error rate"].value = 1.0
    failed = turns_ending(patterns, "failed")
    patterns.controls["fallback"].value = "cheaper model (0.3 s)"
    after = {outcome: turns_ending(patterns, outcome) for outcome in ("failed", "degraded")}
    patterns.controls["fallback"].value = "off"
    patterns.controls["LLM brown-out error rate"].value = 0.0
    assert failed > 50 * len(SEEDS)
    assert after["failed"] == 0
    assert after["degraded"] == pytest.approx(failed, rel=0.05)  # the same turns, a bit later


def test_retries_in_an_outage_build_a_queue_that_the_breaker_empties(patterns):
    """Each failing turn holds its slot through up to 12 requests (4 attempts of 3 SDK requests)
    and their backoffs: the queue grows. The breaker
    fails the calls at once instead, once it has seen enough failures, so the slots free up."""
    patterns.controls["LLM brown-out error rate"].value = 1.0
    plain = in_system(patterns, how=np.mean)
    patterns.controls["LLM retries (full jitter)"].value = 3
    retried = in_system(patterns, how=np.mean)
    patterns.controls["circuit breaker"].value = "on"
    broken = in_system(patterns, how=np.mean)
    patterns.controls["circuit breaker"].value = "off"
    patterns.controls["LLM retries (full jitter)"].value = 0
    patterns.controls["LLM brown-out error rate"].value = 0.0
    assert retried > 2 * plain
    assert broken < 0.5 * retried


def test_shedding_bounds_the_queue_of_a_flash_crowd(patterns):
    calm = in_system(patterns)
    patterns.controls["flash crowd x (150-210 s)"].value = 3.0
    crowd = in_system(patterns)
    patterns.controls["shed after waiting (s, 0 = never)"].value = 10.0
    shed, kept = turns_ending(patterns, "shed"), in_system(patterns)
    patterns.controls["shed after waiting (s, 0 = never)"].value = 0.0
    patterns.controls["flash crowd x (150-210 s)"].value = 1.0
    assert crowd > 3 * calm
    assert shed > 0 and kept < 0.5 * crowd


def test_fewer_slots_make_the_same_load_queue(patterns):
    roomy = in_system(patterns, 60, 400)
    patterns.controls["slots per worker (2 workers)"].value = 2
    tight = in_system(patterns, 60, 400)
    patterns.controls["slots per worker (2 workers)"].value = 4
    assert tight > 2 * roomy


# -- helpers -------------------------------------------------------------------------------------


def test_retry_sleeps_recover_the_backoff_of_a_deterministic_call():
    scenario = sl.presets.mmc(2.0, 0.5, 64, duration=300.0, warmup=30.0, kind="deterministic",
                              **{"llm.error_rate": 0.3, "resilience.llm": sl.Policy(
                                  retry=sl.Retry(1, "none", 1.0, 10.0))})
    sleeps = rs.retry_sleeps(sl.run(scenario, 0))
    assert len(sleeps) > 50
    assert np.allclose(sleeps, 1.0)


def test_storm_fixes_change_one_policy_each():
    base = sl.presets.retry_storm(4.0, trigger=True)
    fixes = rs.storm_fixes(base)
    assert fixes["no retries"].resilience.llm.retry is None
    assert fixes["circuit breaker"].resilience.llm.breaker == rs.BREAKER
    assert fixes["timeout cancels the call"].resilience.llm.timeout.cancel
    for scenario in fixes.values():
        assert scenario.faults == base.faults and scenario.workload == base.workload


# -- issue 16: retry layers, fast and slow failures ---------------------------------------------


def test_layered_requests_are_a_truncated_geometric_sum():
    for p in (0.0, 0.1, 0.5, 0.9):
        for retries, sdk in ((0, 0), (3, 0), (3, 2), (1, 4)):
            n = (retries + 1) * (sdk + 1)
            assert rs.layered_requests(p, retries, sdk) == pytest.approx(
                sum(p**k for k in range(n)))
            assert rs.layered_success(p, retries, sdk) == pytest.approx(1 - p**n)
    assert rs.layered_requests(1.0, 3, 2) == 12  # a full outage: the layers multiply


def test_simulated_requests_through_two_layers_match_the_formula():
    """Under a 529 overload the SDK's 2 retries sit under the application's 3: the requests
    per call, replication by replication, have a 99.9% interval that holds the formula."""
    table = rs.layered(error_rates=(0.3, 0.6), seeds=range(8))
    for p, group in table.groupby("error_rate"):
        assert_in_ci(group["requests"], rs.layered_requests(p, 3, 2), f"requests at p={p}")
        assert group["success"].min() > 0.98  # only p^12 of the calls fail


def test_crossings_interpolate_sign_changes():
    gain = pd.DataFrame({"mean": [-0.04, -0.02, 0.2, 0.3, 0.0, 0.25]},
                        index=[0.2, 0.5, 1.0, 2.0, 4.0, rs.FULL_GENERATION])
    assert rs.crossings(gain) == pytest.approx([0.5 + 0.5 * 0.02 / 0.22, 4.0])


def test_the_breaker_pays_only_when_failures_are_slow():
    """The flip point of the breaker's verdict. With fast failures (0.2 s, the default) the
    breaker's paired gain over no pattern in turns ok within 10 s is not positive (its 99%
    interval stays under +1%); with failures of 1 to 2 s it is clearly positive (the interval
    above 0): so the gain changes sign between 0.2 s and 1 s, where the notebook prints it."""
    speed = rs.failure_speed(latencies=(0.2, 1.0, 2.0), seeds=range(10))
    gain = {lat: sl.stats.difference(
        *(g.pivot(index="seed", columns="setup", values="slo_attainment")[c]
          for c in ("retries + breaker", "no pattern")), level=0.99)
        for lat, g in speed.groupby("error_latency")}
    assert gain[0.2].high < 0.01
    assert gain[1.0].low > 0 and gain[2.0].low > 0
    flips = rs.crossings(rs.breaker_gain(speed))
    assert 0.2 < flips[0] < 1.0


def test_tipping_rate_interpolates_where_half_the_runs_collapse():
    cis = {2.0: sl.stats.CI(0.0, 0.0, 0.2), 3.0: sl.stats.CI(0.2, 0.1, 0.4),
           4.0: sl.stats.CI(1.0, 0.8, 1.0)}
    table = rs.storm_by_rate(cis)
    assert list(table.index) == [2.0, 3.0, 4.0]
    assert rs.tipping_rate(table) == 4.0
    assert rs.tipping_rate(table, share=0.2) == 3.0
    assert np.isnan(rs.tipping_rate(table.loc[[2.0]]))


def test_the_storm_tips_above_capacity_over_tries():
    """The flip point of "retry transient errors": retries can hold a collapse up only from
    capacity / tries = 2.5 turns/s. Below it (2 turns/s) no run of ten collapses after the
    trigger, while at 2.5 (the retried load at capacity) most do: the storm tips there."""
    from simlib.experiment import collapse_probability
    bound = sl.capacity.llm_capacity(sl.presets.retry_storm(4.0)) / 4
    assert bound == pytest.approx(2.5)
    cis = {rate: collapse_probability(sl.presets.retry_storm(rate, True,
                                                             sample_every=rs.SAMPLE_EVERY),
                                      range(10), since=sl.presets.SINCE, n_jobs=1)
           for rate in (2.0, 2.5)}
    assert cis[2.0].mean == 0 and cis[2.5].low > 0.5
    assert rs.tipping_rate(rs.storm_by_rate(cis)) == bound
