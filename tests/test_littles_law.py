"""Little's law, L = lambda W, on runs of several designs.

L is the time-average number of turns in the system, read from the timeline that the engine
samples from its own live counter; lambda is the measured arrival rate and W the mean time in
system of the same turns, read from the turns table. The two sides come from different records,
so a turn lost or double-counted by the engine would break the equality.

Over a finite window Little's law holds up to a boundary term: turns that arrived during the
warm-up and are still in the system after it count in L but not in lambda W. So the test checks
two things: the exact sample-path form (every turn's time inside the window, summed, equals the
integral of L; only the timeline's sampling error remains, so the 99.9% CI must hold 1), and the
textbook form L = lambda W within 2%.
"""

import numpy as np
import pytest
from stats import assert_in_ci

import simlib as sl

DESIGNS = [sl.Architecture("stateless", "sync", "monolith"),
           sl.Architecture("stateful", "async", "microservices"),
           sl.Architecture("stateless", "async", "monolith"),
           sl.Architecture("stateful", "sync", "microservices")]


def little_ratios(result) -> tuple[float, float]:
    """(sampled L / exact L over the window, sampled L / (lambda W) of measured turns)."""
    scenario, turns = result.scenario, result.turns
    start, end = scenario.warmup, scenario.duration
    finish = turns["finish"].fillna(end).clip(upper=end).to_numpy()
    arrival = turns["arrival"].to_numpy()
    overlap = np.clip(finish, start, end) - np.clip(arrival, start, end)
    span = end - start
    measured = ~turns["warmup"].to_numpy()
    lam = measured.sum() / span
    w = np.mean(finish[measured] - arrival[measured])
    timeline = result.timeline[result.timeline["time"] >= start]
    sampled_l = timeline["in_system"].mean()
    return float(sampled_l / (overlap.sum() / span)), float(sampled_l / (lam * w))


def check(scenario, what):
    ratios = [little_ratios(sl.run(scenario, seed)) for seed in range(10)]
    assert_in_ci([exact for exact, _ in ratios], 1.0, f"L / exact L for {what}")
    textbook = np.mean([r for _, r in ratios])
    assert textbook == pytest.approx(1.0, abs=0.02), f"L / (lambda W) for {what}"


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name)
def test_littles_law_holds(design):
    check(sl.presets.assistant(architecture=design, duration=3000, warmup=300,
                               sample_every=0.5), design.name)


def test_littles_law_on_mmc():
    check(sl.presets.mmc(3.2, 1.0, 4, duration=2000, warmup=200), "M/M/4")
