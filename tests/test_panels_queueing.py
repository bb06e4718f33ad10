"""Functional tests of notebook 00's explorer, driven without a browser.

Each test moves one control of ``queueing.mmc_panel()`` and checks that the charts move the way
the queueing mechanism says they must. The changes are large (a factor of 1.5 or more in the
quantity asserted on), so the directions hold for every seed tried (0 to 20), not just seed 0.
"""

import numpy as np
import pytest
from panels import window_mean
from stats import assert_in_ci

import simlib as sl
from simlib.panels import queueing

RATE, WORKERS, SPIKE, CROWD = "arrival rate (per s)", "workers", "LLM slow-down x", "flash crowd x"


@pytest.fixture
def panel():
    return queueing.mmc_panel(seed=0)


def bars(explorer) -> tuple[float, float | None]:
    """(simulated p95, formula p95) from the p95_vs_formula chart."""
    bar, line = explorer.figures[0].data
    return float(bar.y[0]), line.y[0]


def median_latency(explorer) -> float:
    """Median x of the latency CDF: the latency half the ok turns beat."""
    cdf = explorer.figures[1].data[0]
    return float(np.interp(0.5, np.asarray(cdf.y), np.asarray(cdf.x)))


def in_system(explorer, start: float = 0.0, end: float = np.inf) -> float:
    """Mean of the in-system curve between ``start`` and ``end`` seconds."""
    return window_mean(explorer.figures[2].data[0], start, end)


def test_panel_shows_p95_formula_cdf_and_in_system(panel):
    assert [c for c in panel.controls] == [RATE, WORKERS, SPIKE, CROWD, "seed"]
    assert len(panel.figures) == 3
    assert bars(panel)[1] == pytest.approx(sl.theory.mmc_sojourn_quantile(3.0, 1.0, 4, 0.95))
    assert panel in sl.widgets.explorers()


def test_simulated_p95_averages_near_the_formula(panel):
    """One 500 s run is one draw (a long busy period can double its p95); eight average out."""
    simulated = [bars(panel)[0]]
    for seed in range(1, 8):
        panel.controls["seed"].value = seed
        simulated.append(bars(panel)[0])
    assert_in_ci(simulated, bars(panel)[1], "M/M/4 p95 of time in system, 500 s runs")
    assert len(panel.timings) == 7


def test_more_load_raises_p95_and_the_formula(panel):
    panel.controls[RATE].value = 1.5
    low, low_formula = bars(panel)
    low_median = median_latency(panel)
    panel.controls[RATE].value = 3.7
    high, high_formula = bars(panel)
    assert high_formula > 3 * low_formula
    assert high > 1.5 * low  # one 500 s run near saturation is noisy: 5 to 17 s
    assert median_latency(panel) > 1.5 * low_median
    assert len(panel.timings) == 2


def test_more_workers_lower_the_in_system_curve(panel):
    before = in_system(panel)
    panel.controls[WORKERS].value = 6
    after = in_system(panel)
    assert after < 0.8 * before
    assert bars(panel)[1] < sl.theory.mmc_sojourn_quantile(3.0, 1.0, 4, 0.95)


def test_too_few_workers_has_no_formula_and_a_growing_queue(panel):
    panel.controls[WORKERS].value = 2
    simulated, formula = bars(panel)
    assert formula is None
    growth = in_system(panel, 400, 500) - in_system(panel, 50, 150)
    assert growth > 0.5 * (3.0 - 2) * 350  # the queue grows at about lambda - c/S = 1 per s
    assert simulated > 20


def test_llm_slow_down_piles_up_turns_the_formula_ignores(panel):
    calm_p95, calm_formula = bars(panel)
    calm_before, calm_window = in_system(panel, 0, 200), in_system(panel, 200, 300)
    panel.controls[SPIKE].value = 4
    spiked_p95, spiked_formula = bars(panel)
    assert spiked_formula == calm_formula
    assert spiked_p95 > 2 * calm_p95
    assert in_system(panel, 200, 300) > 3 * calm_window
    assert in_system(panel, 0, 200) == calm_before  # same seed: the same run up to 200 s


def test_flash_crowd_piles_up_turns_in_its_window(panel):
    calm, calm_p95 = in_system(panel, 200, 300), bars(panel)[0]
    panel.controls[CROWD].value = 3
    assert in_system(panel, 200, 300) > 3 * calm
    assert bars(panel)[0] > 2 * calm_p95


def test_same_seed_same_charts_other_seed_other_charts(panel):
    first = np.asarray(panel.figures[1].data[0].x).copy()
    panel.controls["seed"].value = 1
    other = np.asarray(panel.figures[1].data[0].x).copy()
    panel.controls["seed"].value = 0
    again = np.asarray(panel.figures[1].data[0].x)
    assert not np.array_equal(first, other)
    assert np.array_equal(first, again)
    assert np.array_equal(first, np.asarray(queueing.mmc_panel(seed=0).figures[1].data[0].x))
    assert len(panel.timings) == 2


# -- same utilisation, different waits (notebook 00's first claim) -------------------------------

def test_wait_formula_is_erlang_c_and_pollaczek_khinchine():
    """Exponential work: the M/M/c wait; constant work on one worker: M/D/1 exactly."""
    assert queueing.wait_formula(0.9, 4, "exponential") == pytest.approx(
        sl.theory.mmc_wait(3.6, 1.0, 4))
    assert queueing.wait_formula(0.9, 1, "exponential") == pytest.approx(9.0)
    assert queueing.wait_formula(0.9, 1, "deterministic") == pytest.approx(
        sl.theory.md1_wait(0.9, 1.0))


@pytest.fixture(scope="module")
def waits():
    """24 replications of 2,000 s per queue, all at utilisation 0.9."""
    return queueing.waits_at(rho=0.9, seeds=range(24))


def test_same_utilisation_waits_far_apart_and_each_matches_its_formula(waits):
    """The claim "utilisation predicts waiting" is contradicted: at one utilisation the
    simulated waits differ by more than a factor of 3 even between the ends of their 99.9%
    intervals (the formulas say 9), and each queue's
    simulated wait agrees with Kingman / Allen-Cunneen (99.9% CI; M/D/4, where the formula is an
    approximation, within 10% of it)."""
    cis = {label: sl.stats.confidence_interval(w, 0.999) for label, w in waits.items()}
    assert min(ci.high for ci in cis.values()) * 3 < max(ci.low for ci in cis.values())
    for label, servers, kind in queueing.SAME_UTILISATION:
        formula = queueing.wait_formula(0.9, servers, kind)
        if (servers, kind) == (4, "deterministic"):
            assert cis[label].low <= 1.1 * formula and cis[label].high >= 0.9 * formula, label
        else:
            assert_in_ci(waits[label], formula, f"mean wait, {label}")


def test_relative_rise_and_recovery_arithmetic():
    check = sl.stats.ci_table(
        sl.sweep(sl.presets.mmc(1.2, 1.0, 4, duration=300.0, warmup=30.0),
                 {"workload.arrival_rate": [1.2, 2.8]}, seeds=range(2), progress=False),
        "workload.arrival_rate", "latency_mean",
        formula=lambda rate: sl.theory.mmc_sojourn(rate, 1.0, 4))
    rise = queueing.relative_rise(check, 1.2, 2.8)
    assert rise == pytest.approx(sl.theory.mmc_sojourn(2.8, 1.0, 4)
                                 / sl.theory.mmc_sojourn(1.2, 1.0, 4) - 1)
    assert 0.3 < rise < 0.4  # the "flat" stretch from 30% to 70% busy adds about a third
    assert queueing.recovery_arithmetic(3.0, 4, factor=3, seconds=60) == pytest.approx(100.0)
    assert queueing.recovery_arithmetic(1.0, 4, factor=3, seconds=60) == 0.0


def test_plain_simpy_queue_matches_erlang_c():
    """The twenty-line SimPy M/M/4 of notebook 00 (3 per second, 1 s of work): its mean wait
    after a 100 s warm-up, over 20 replications of 1,000 s, holds Erlang C (99.9% CI)."""
    waits = [queueing.mean_wait(queueing.tiny_mmc(3.0, 1.0, 4, 1000.0, seed), 100.0)
             for seed in range(20)]
    assert_in_ci(waits, sl.theory.mmc_wait(3.0, 1.0, 4), "plain SimPy M/M/4 mean wait")
    first = queueing.tiny_mmc(3.0, 1.0, 4, 1000.0, seed=0)
    assert first == queueing.tiny_mmc(3.0, 1.0, 4, 1000.0, seed=0)
    assert all(wait >= 0 for _, wait in first) and len(first) > 2500


def test_seeds_needed_scales_with_the_square_of_the_precision():
    values = [1.0, 1.2, 0.8, 1.1, 0.9, 1.0, 1.05, 0.95]
    ci = sl.stats.confidence_interval(values)
    loose = queueing.seeds_needed(values, ci.half_width / ci.mean)
    assert loose == len(values)
    assert queueing.seeds_needed(values, ci.half_width / ci.mean / 2) == 4 * len(values)


def test_simlib_waits_as_long_as_the_plain_simpy_queue_and_erlang_c():
    """The same M/M/4 in simlib: its mean wait after the warm-up covers Erlang C (99.9%)."""
    ours = queueing.simlib_waits(3.0, 1.0, 4, duration=1000.0, seeds=range(20, 32),
                                 warmup=100.0)
    assert_in_ci(ours, sl.theory.mmc_wait(3.0, 1.0, 4), "simlib's M/M/4 mean wait")


def test_a_run_starts_with_shorter_waits_than_it_settles_to():
    """An empty queue at the start: requests arriving in the first 10 s wait less than those
    arriving after 100 s, paired run by run (a 99.9% interval of the difference below zero),
    and the warm-up curve's first bin is the pooled first 10 s."""
    runs = [queueing.tiny_mmc(3.0, 1.0, 4, duration=300.0, seed=200 + s) for s in range(40)]
    early = [queueing.mean_wait([(a, w) for a, w in r if a < 10.0]) for r in runs
             if any(a < 10.0 for a, _ in r)]
    late = [queueing.mean_wait(r, warmup=100.0) for r in runs
            if any(a < 10.0 for a, _ in r)]
    gap = sl.stats.difference(early, late, level=0.999)
    assert gap.high < 0, f"first 10 s minus after 100 s: {gap}"
    curve = queueing.warmup_curve(runs, width=10.0)
    first = [w for r in runs for a, w in r if a < 10.0]
    assert curve["time"].iloc[0] == 5.0 and curve["wait"].iloc[0] == pytest.approx(np.mean(first))
