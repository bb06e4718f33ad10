"""Session arrivals and session plans against formulas.

Each statistical check runs independent replications with ``default_rng(seed)`` for seeds
0, 1, 2, ..., computes one number per replication and asks whether the formula's value lies in
the 99.9% Student-t confidence interval of those numbers (``stats.assert_in_ci``).

A variance is checked through squared deviations from the formula's mean, ``(N - mu)**2``, whose
expectation is exactly the variance (no small-sample bias from estimating the mean).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from stats import assert_in_ci

from simlib.config import Bursts, FlashCrowd, Tool, Workload
from simlib.dists import Exponential, Geometric, LogNormal, Uniform
from simlib.scenario import Scenario
from simlib.streams import Streams
from simlib.workload import Planner, session_arrivals

RATE = 2.0


def arrivals(workload: Workload, duration: float, seed: int) -> np.ndarray:
    return session_arrivals(workload, duration, np.random.default_rng(seed))


def counts(times: np.ndarray, edges) -> np.ndarray:
    return np.histogram(times, bins=edges)[0]


# --- constant rate: a Poisson process -------------------------------------------------------------

def test_constant_rate_count_is_poisson():
    duration, seeds = 500.0, range(1000)
    workload = Workload(arrival_rate=RATE)
    n = np.array([arrivals(workload, duration, s).size for s in seeds], dtype=float)
    mu = RATE * duration
    assert_in_ci(n, mu, "count mean = lambda T")
    assert_in_ci((n - mu) ** 2, mu, "count variance = lambda T")


def test_constant_rate_gaps_are_exponential():
    duration, seeds = 500.0, range(40)
    workload = Workload(arrival_rate=RATE)
    gaps = [np.diff(arrivals(workload, duration, s), prepend=0.0) for s in seeds]
    # the sum of the gaps is the last arrival time: E[T / (N + 1)] = (1 - exp(-lambda T)) / lambda
    assert_in_ci([g.mean() for g in gaps], (1 - math.exp(-RATE * duration)) / RATE,
                 "mean gap = 1 / lambda")
    result = sps.kstest(np.concatenate(gaps), sps.expon(scale=1 / RATE).cdf)
    assert result.pvalue > 0.001, result


PROFILE = ((100.0, 3.0), (200.0, 0.5))
WORKLOADS = {
    "constant": Workload(arrival_rate=RATE),
    "profile": Workload(arrival_rate=RATE, rate_profile=PROFILE),
    "bursts": Workload(arrival_rate=RATE, bursts=Bursts()),
    "flash": Workload(arrival_rate=RATE, flash_crowds=(FlashCrowd(50.0, 30.0, 4.0),)),
    "all": Workload(arrival_rate=RATE, rate_profile=PROFILE, bursts=Bursts(5.0, 5.0, 0.0, 2.0),
                    flash_crowds=(FlashCrowd(0.0, 400.0, 0.5), FlashCrowd(10.0, 20.0, 3.0))),
}


@pytest.mark.parametrize("name", list(WORKLOADS))
@pytest.mark.parametrize("duration", [0.01, 7.0, 300.0])
def test_times_sorted_and_within_horizon(name, duration):
    for seed in range(5):
        times = arrivals(WORKLOADS[name], duration, seed)
        assert times.ndim == 1
        assert np.all(np.diff(times) >= 0)
        assert times.size == 0 or (times[0] >= 0 and times[-1] < duration)


def test_same_generator_state_same_arrivals():
    for workload in WORKLOADS.values():
        assert np.array_equal(arrivals(workload, 300.0, 3), arrivals(workload, 300.0, 3))


# --- time-varying rates -------------------------------------------------------------------------

def test_rate_profile_gives_piecewise_counts():
    duration = 400.0
    workload = Workload(arrival_rate=RATE, rate_profile=PROFILE)
    edges = [0.0, 100.0, 200.0, duration]
    n = np.array([counts(arrivals(workload, duration, s), edges) for s in range(100)])
    expected = [RATE * 100 * 1.0, RATE * 100 * 3.0, RATE * (duration - 200) * 0.5]
    for piece, mu in enumerate(expected):
        assert_in_ci(n[:, piece], mu, f"rate profile piece {piece} count")
        assert_in_ci((n[:, piece] - mu) ** 2, mu, f"rate profile piece {piece} variance")


@pytest.mark.parametrize("factor", [4.0, 0.25])
def test_flash_crowd_multiplies_its_window_only(factor):
    duration, start, length = 300.0, 100.0, 50.0
    workload = Workload(arrival_rate=RATE, flash_crowds=(FlashCrowd(start, length, factor),))
    edges = [0.0, start, start + length, duration]
    n = np.array([counts(arrivals(workload, duration, s), edges) for s in range(100)])
    assert_in_ci(n[:, 0], RATE * start, "before the flash crowd")
    assert_in_ci(n[:, 1], RATE * length * factor, "inside the flash crowd")
    assert_in_ci(n[:, 2], RATE * (duration - start - length), "after the flash crowd")


def test_overlapping_flash_crowds_multiply():
    duration = 100.0
    crowds = (FlashCrowd(0.0, 60.0, 2.0), FlashCrowd(40.0, 60.0, 3.0))
    workload = Workload(arrival_rate=RATE, flash_crowds=crowds)
    edges = [0.0, 40.0, 60.0, 100.0]
    n = np.array([counts(arrivals(workload, duration, s), edges) for s in range(100)])
    for piece, mu in enumerate([RATE * 40 * 2, RATE * 20 * 6, RATE * 40 * 3]):
        assert_in_ci(n[:, piece], mu, f"overlapping crowds piece {piece}")


# --- on/off bursts: a Markov-modulated Poisson process --------------------------------------------

BURSTS = Bursts(on_mean=30.0, off_mean=90.0, on_factor=3.0, off_factor=0.33)


def burst_moments(b: Bursts) -> tuple[float, float, float, float]:
    """P(on), mean and variance of the rate factor, and its correlation time tau."""
    p_on = b.on_mean / (b.on_mean + b.off_mean)
    mean = p_on * b.on_factor + (1 - p_on) * b.off_factor
    var = p_on * (1 - p_on) * (b.on_factor - b.off_factor) ** 2
    tau = 1 / (1 / b.on_mean + 1 / b.off_mean)
    return p_on, mean, var, tau


def test_bursts_long_run_rate():
    # after a warm-up of many correlation times (tau = 22.5 s) the on/off state is stationary
    duration, warmup = 40_000.0, 500.0
    workload = Workload(arrival_rate=RATE, bursts=BURSTS)
    rates = [np.count_nonzero(arrivals(workload, duration, s) >= warmup) / (duration - warmup)
             for s in range(60)]
    b = BURSTS
    expected = RATE * (b.on_factor * b.on_mean + b.off_factor * b.off_mean) / (b.on_mean
                                                                                + b.off_mean)
    assert_in_ci(rates, expected, "bursts long-run rate")


def test_bursts_start_off():
    # from an off start, P(on at t) = p_on (1 - exp(-t / tau)), so the expected count over [0, T) is
    # lambda (off T + (on - off) p_on (T - tau (1 - exp(-T / tau))))
    duration = 60.0
    b = BURSTS
    workload = Workload(arrival_rate=RATE, bursts=b)
    n = [arrivals(workload, duration, s).size for s in range(2000)]
    p_on, _, _, tau = burst_moments(b)
    on_time = p_on * (duration - tau * (1 - math.exp(-duration / tau)))
    assert_in_ci(n, RATE * (b.off_factor * duration + (b.on_factor - b.off_factor) * on_time),
                 "bursts count from an off start")


def test_bursts_are_overdispersed():
    # Counts N in windows of w seconds, for a rate factor of mean m, variance v and exponential
    # autocorrelation exp(-|s| / tau):
    # Var N = lambda m w + lambda^2 v 2 tau^2 (w/tau - 1 + e^(-w/tau))
    duration, warmup, window = 20_000.0, 500.0, 60.0
    edges = np.arange(warmup, duration + window / 2, window)
    _, m, v, tau = burst_moments(BURSTS)
    mu = RATE * m * window
    var = mu + RATE**2 * v * 2 * tau**2 * (window / tau - 1 + math.exp(-window / tau))
    bursty = Workload(arrival_rate=RATE, bursts=BURSTS)
    steady = Workload(arrival_rate=RATE * m)
    index, steady_index = [], []
    for seed in range(40):
        index.append(np.mean((counts(arrivals(bursty, duration, seed), edges) - mu) ** 2) / mu)
        steady_index.append(
            np.mean((counts(arrivals(steady, duration, seed), edges) - mu) ** 2) / mu)
    assert_in_ci(index, var / mu, "bursts index of dispersion")
    assert np.mean(index) - 4 * np.std(index, ddof=1) / math.sqrt(len(index)) > 1.5
    assert_in_ci(steady_index, 1.0, "constant-rate index of dispersion")


# --- session plans --------------------------------------------------------------------------------

def plan_scenario(**workload) -> Scenario:
    return Scenario(workload=Workload(**workload),
                    tools=(Tool(name="a", weight=1.0), Tool(name="b", weight=3.0)))


def plans(scenario: Scenario, seed: int, n: int):
    planner = Planner(scenario, Streams(seed))
    return [planner.session() for _ in range(n)]


def is_whole(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def test_plans_follow_the_workload():
    scenario = plan_scenario(turns=Geometric(3.0), steps=Geometric(2.0),
                             tools_per_step=Geometric(1.5), prompt_tokens=LogNormal(300, 900),
                             output_tokens=Uniform(20, 300), think_time=Exponential(5.0))
    turns, steps, share_b = [], [], []
    for seed in range(40):
        sessions = plans(scenario, seed, 300)
        turns.append(np.mean([len(p) for _, p in sessions]))
        steps.append(np.mean([len(t.cpu) for _, p in sessions for t in p]))
        picks = [i for _, p in sessions for t in p for step in t.tools for i, _, _ in step]
        share_b.append(np.mean(np.array(picks) == 1))
        for route, plan in sessions:
            assert 0.0 <= route < 1.0
            assert plan[0].think == 0.0 and all(t.think > 0 for t in plan[1:])
            for t in plan:
                k = len(t.cpu)
                assert len(t.ttft) == len(t.output_tokens) == len(t.tools) == k >= 1
                assert is_whole(t.prompt_tokens) and t.prompt_tokens >= 0
                assert all(is_whole(o) and o >= 20 for o in t.output_tokens)
                assert all(len(step) >= 1 for step in t.tools)  # Geometric: at least one tool
                assert all(i in (0, 1) and lat > 0 for step in t.tools for i, lat, _ in step)
    assert_in_ci(turns, 3.0, "turns per session")
    assert_in_ci(steps, 2.0, "steps per turn")
    assert_in_ci(share_b, 3 / 4, "share of the tool with weight 3 of 1 + 3")


def test_plans_round_counts_and_respect_minimums():
    # Counts are floor(X + U), U ~ Uniform(0, 1) (stochastic rounding), so E[floor(X + U)] = E[X]
    # = m. At least 1 step adds P(floor(X + U) = 0) = P(X + U < 1) = int_0^1 (1 - e^{-(1-u)/m}) du
    # = 1 - m (1 - e^{-1/m}).
    m = 1.5
    scenario = plan_scenario(turns=Exponential(0.4), steps=Exponential(m),
                             tools_per_step=Exponential(m), prompt_tokens=Exponential(0.3),
                             output_tokens=Exponential(0.3))
    rounded = m
    steps, tools = [], []
    for seed in range(40):
        sessions = plans(scenario, seed, 300)
        step_counts, tool_counts = [], []
        for _, plan in sessions:
            assert len(plan) >= 1
            for t in plan:
                assert len(t.cpu) >= 1
                assert is_whole(t.prompt_tokens) and t.prompt_tokens >= 0
                assert all(is_whole(o) and o >= 0 for o in t.output_tokens)
                step_counts.append(len(t.cpu))
                tool_counts.extend(len(step) for step in t.tools)
        steps.append(np.mean(step_counts))
        tools.append(np.mean(tool_counts))
    assert_in_ci(steps, m + 1 - m * (1 - math.exp(-1 / m)), "steps: max(1, floor(X + U))")
    assert_in_ci(tools, rounded, "tools per step: floor(X + U), may be 0")


def test_plans_are_the_same_whatever_the_architecture():
    base = plan_scenario(turns=Geometric(2.0), steps=Geometric(2.0), tools_per_step=Geometric(1.5))
    other = base.with_(**{"architecture.state": "stateful", "architecture.execution": "async",
                          "architecture.deployment": "microservices", "workers.count": 7})

    def flat(scenario):
        return [(route, [(t.prompt_tokens, t.cpu, t.ttft, t.output_tokens, t.tools, t.think)
                         for t in plan]) for route, plan in plans(scenario, 4, 200)]

    assert flat(base) == flat(other)


def test_every_pick_in_unit_interval_finds_a_tool():
    tools = tuple(Tool(name=f"t{i}", weight=0.1) for i in range(8))
    scenario = Scenario(workload=Workload(tools_per_step=1), tools=tools)
    planner = Planner(scenario, Streams(0))
    largest = float(np.nextafter(1.0, 0.0))  # the largest value Generator.random() returns
    planner.pick_tool = lambda: largest
    index, latency, _ = planner.tool_call()
    assert index == len(tools) - 1 and latency > 0
