"""Retry storms and metastable failure, reported as collapse probabilities across seeds.

The scenario (``sl.presets.retry_storm``): one LLM endpoint that serves one call at a time in
0.1 s on average (capacity 10 calls/s), callers that give up after 1 s without cancelling (the
abandoned call still runs) and retry 3 times at once. Each arrival can become at most 4 calls, so
while 4 x the arrival rate is below 10/s the endpoint keeps up whatever happens. Above that, once
the queue holds more than 1 s of work, every call times out and is retried: the load quadruples
and the overload feeds itself (a metastable failure: it outlasts whatever started it).

A run has *collapsed* when fewer than half of the turns arriving from t = 250 s on (130 s after
the trigger window ends) are answered ok. Probabilities come with 95% Wilson intervals.
"""

import pytest

import simlib as sl
from simlib.experiment import collapse_probability
from simlib.presets import SINCE

SEEDS = range(30)


def probability(**kwargs):
    return collapse_probability(sl.presets.retry_storm(**kwargs), SEEDS, since=SINCE, n_jobs=2)


@pytest.mark.parametrize("rate", [1.0, 2.0, 2.4])
def test_no_collapse_when_four_times_the_load_fits(rate):
    assert 4 * rate < 10
    p, low, high = probability(arrival_rate=rate)
    assert p == 0.0, f"{p:.0%} of runs collapsed at {rate}/s"


def test_collapse_share_rises_with_the_base_rate():
    shares = [probability(arrival_rate=rate)[0] for rate in (2.0, 4.0, 6.0)]
    assert shares[0] <= shares[1] <= shares[2], shares
    assert shares[2] > shares[0]


def test_a_short_trigger_tips_forty_percent_load_into_collapse():
    """At 40% load a 20 s latency spike (x10) tips nearly every run into a collapse that is
    still there 130 s after the spike ended, far more often than runs without the spike."""
    tipped, low, _ = probability(arrival_rate=4.0, trigger=True)
    calm, _, calm_high = probability(arrival_rate=4.0, trigger=False)
    assert low > 0.8, f"only {tipped:.0%} collapsed after the trigger"
    assert low > calm_high, f"trigger {tipped:.0%} vs no trigger {calm:.0%}"


def test_backoff_with_jitter_and_a_retry_budget_prevent_the_collapse():
    p, _, high = probability(arrival_rate=4.0, trigger=True, safe=True)
    assert high < 0.15, f"{p:.0%} collapsed with backoff, jitter and a budget"
