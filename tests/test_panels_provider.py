"""Tests of notebook 08's experiments (simlib.panels.provider): each mechanism against its
formula or a paired difference, on seeds other than the notebook's, with confidence intervals;
and each printed flip point (the enforcement window from which async's edge appears, the arrival
rate above which layered retries can collapse the storm) checked on fresh replications.
"""

import math

import pandas as pd
import pytest

import simlib as sl
from simlib import stats, theory
from simlib.panels import provider as pv

FRESH = range(100, 116)  # seeds the notebook does not use


def ci(values, level=0.95):
    return stats.confidence_interval(values, level)


# -- formulas -----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize(("sdk", "app"), [(0, 0), (2, 0), (0, 3), (2, 3)])
def test_nested_attempts_is_one_flat_loop_of_the_product(p, sdk, app):
    flat = sum(p ** k for k in range((sdk + 1) * (app + 1)))
    assert pv.nested_attempts(p, sdk, app) == pytest.approx(flat)
    assert pv.nested_attempts(p, sdk, 0) == pytest.approx(theory.retry_attempts_mean(p, sdk))


def test_collapse_thresholds():
    assert pv.storm_capacity() == pytest.approx(10.0)
    assert pv.collapse_threshold(4) == pytest.approx(2.5)
    assert pv.collapse_threshold(12) == pytest.approx(10 / 12)


def test_flip_window_needs_every_larger_window_above_zero():
    index = pd.MultiIndex.from_product([[1.0, 2.0, 3.0, 5.0], ["async"]],
                                       names=["window", "design"])
    edge = pd.DataFrame({"mean": 0.0, "low": [-0.1, 0.01, -0.01, 0.02], "high": 0.1},
                        index=index)
    assert pv.flip_window(edge) == 5.0
    assert math.isnan(pv.flip_window(edge.assign(low=-1.0)))


# -- 1. windowed limits -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def windows():
    return pv.window_sweep(windows=(1.0, 3.0, 60.0), seeds=FRESH)


def test_async_edge_vanishes_at_one_second_and_appears_at_the_printed_flip(windows):
    """The notebook prints that async's edge is above zero from a 3 s window: on fresh seeds,
    at 1 s the paired difference is indistinguishable from zero (and small against the 60 s
    edge), at 3 s it is above zero, and it grows to 60 s."""
    edge = pv.edges(windows).xs("async", level="design")
    assert edge.loc[1.0, "low"] < 0 < edge.loc[1.0, "high"]
    assert abs(edge.loc[1.0, "mean"]) < edge.loc[60.0, "mean"] / 4
    assert edge.loc[3.0, "low"] > 0
    assert edge.loc[60.0, "mean"] > edge.loc[3.0, "mean"]
    assert pv.flip_window(pv.edges(windows)) == 3.0


def test_client_limiter_restores_the_edge_at_one_second(windows):
    edge = pv.edges(windows).xs("async + limiter", level="design")
    assert edge.loc[1.0, "low"] > 0
    at_one = windows[windows["window"] == 1.0]
    limited = at_one[at_one["design"] == "async + limiter"]
    assert (limited["cause_rate_limited"] == 0).all()  # the provider never refuses a paced call
    report = pv.latency_report(windows, window=1.0)
    assert report["sync"] == stats.UNSTABLE  # 0.4/s past 4 slots' ceiling of about 0.31
    assert report["async + limiter"].low > report["async"].high  # it pays in queueing


def test_limiter_makes_the_window_irrelevant():
    """window_sweep runs the limiter once: a paced call is never refused, so a longer window
    changes nothing, seed by seed."""
    paced = pv.with_limiter(pv.limited_agent())
    for seed in (0, 1):
        short = sl.run(paced.with_(**{"llm.rate_window": 1.0}), seed).summary()
        long = sl.run(paced.with_(**{"llm.rate_window": 60.0}), seed).summary()
        pd.testing.assert_series_equal(short, long)


def test_textbook_contrast_sdk_layer_rescues_429s():
    contrast = pv.textbook_contrast(seeds=range(100, 106))
    table = pv.window_sweep(windows=(1.0, 60.0), seeds=range(100, 106))
    shown = pv.contrast_table(contrast, table)
    assert list(shown.index.get_level_values("sdk_retries").unique()) == [0, 2]
    bare = contrast[(contrast["window"] == 1.0) & (contrast["design"] == "sync")]
    layered = table[(table["window"] == 1.0) & (table["design"] == "sync")]
    assert bare["n_failed"].mean() > 5 * layered["n_failed"].mean()
    lost = (contrast["n_failed"] + contrast["n_silent_failure"]).groupby(contrast["window"])
    assert lost.mean()[60.0] < lost.mean()[1.0] / 10  # a minute's bucket absorbs the bursts


# -- 2. retry layers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layers():
    return pv.amplification(error_rates=(0.5, 0.9), seeds=range(100, 112))


def test_requests_per_call_is_the_product_of_the_layers(layers):
    """Each (p, layers) row is independent: a 99.9% interval of 12 runs must hold the
    formula (a 95% one misses 1 in 20 by chance, and there are six rows)."""
    for (p, name), group in layers.groupby(["p", "layers"]):
        interval = ci(group["requests"], level=0.999)
        assert interval.covers(pv.nested_attempts(p, *pv.LAYERS[name])), (p, name, interval)
    both = layers[(layers["p"] == 0.9) & (layers["layers"] == "app x SDK")]["requests"]
    alone = layers[(layers["p"] == 0.9) & (layers["layers"] == "app (3 retries)")]["requests"]
    assert ci(both).low > 1.8 * ci(alone).high  # the layers multiply


def test_calls_failed_for_good_follow_p_to_the_product(layers):
    for (p, name), group in layers.groupby(["p", "layers"]):
        sdk, app = pv.LAYERS[name]
        share = stats.wilson(int(group["failed"].sum()), int(group["calls"].sum()), 0.999)
        assert share.covers(p ** ((sdk + 1) * (app + 1))), (p, name, share)
    assert pv.failure_check(layers)["formula"].between(0, 1).all()


def test_collapse_only_above_the_printed_threshold():
    """Between the two thresholds (0.83/s and 2.5/s), the storm collapses with the layers'
    12 attempts and never with the application's 4; below both, neither collapses."""
    storms = pv.collapse_sweep(rates=(0.6, 1.2), seeds=range(100, 108))
    table = pv.collapse_table(storms)
    assert table.loc[(1.2, "app x SDK"), "low"] > 0.5
    assert table.loc[(1.2, "app alone"), "collapses"] == 0
    assert table.loc[(0.6, "app x SDK"), "collapses"] == 0
    assert table["possible"].tolist() == [False, False, False, True]


# -- 3. prompt caching --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def caching():
    return pv.cache_runs(seeds=range(100, 106))


def test_provider_cache_serves_stateless_as_well_as_stateful(caching):
    provider = caching[caching["cache"] == "provider"]
    share = stats.versus(provider, "state", "stateless", "cached").iloc[0]
    assert share["low"] < 0 < share["high"] or abs(share["mean"]) < 0.01
    gap = pv.cache_edges(caching)
    assert abs(gap.loc["provider", "mean"]) < 0.05  # only the store read is left
    assert gap.loc["replica", "high"] < -0.05  # a cache per replica: stickiness pays
    cost = stats.versus(provider, "state", "stateless", "cost").iloc[0]
    assert abs(cost["mean"]) < 0.02 * provider["cost"].mean()


def test_cache_lowers_cost_against_the_first_edition(caching):
    means = caching.groupby(["cache", "state"])["cost"].mean()
    assert means[("provider", "stateless")] < 0.8 * means[("first edition", "stateless")]
    assert means[("replica", "stateless")] > means[("replica", "stateful")]
    assert (caching[caching["cache"] == "first edition"]["cached"] == 0).all()


# -- 4. overload, failover, hedging -------------------------------------------------------------


def test_overload_availability_formula_and_failover():
    bare = sl.replicate(pv.busy_bot(), seeds=FRESH, progress=False)
    assert ci(bare["availability"], level=0.999).covers(pv.overload_availability())
    runs = pv.failover_runs(hedge_after=pv.hedge_delay(), seeds=range(100, 106))
    storm = runs[runs["fault"] == "overload"].set_index(["design", "seed"])["availability"]
    assert storm["failover"].min() == 1.0
    rescued = stats.difference(storm["hedge"], storm["no backup"])
    assert rescued.low > 0 and storm["hedge"].mean() < 0.95  # some, not all
    calm = runs[runs["fault"] == "calm"]
    extra = stats.versus(calm, "design", "no backup", ["cost_per_ok", "latency_all_p95"])
    assert extra["cost_per_ok"].loc["hedge", "low"] > 0  # hedging costs in calm weather
    assert extra["latency_all_p95"].loc["hedge", "low"] > -0.2  # and does not cut this tail


# -- the explorer -------------------------------------------------------------------------------


def test_window_panel_moves_as_the_mechanism_says():
    from panels import bars, move
    explorer = pv.window_panel(seed=0)
    try:
        lost = {}
        for window in ("60 (first edition)", "1"):
            move(explorer, "enforcement window (s)", window)
            lost[window] = bars(explorer, 1)["stateless/async/monolith"].get("silent_failure", 0)
        assert lost["1"] > lost["60 (first edition)"] + 5  # 429s after the acknowledgement
        move(explorer, "client limiter", "paced at the limit")
        outcomes = bars(explorer, 1)
        assert all(o.get("silent_failure", 0) == 0 and o.get("failed", 0) == 0
                   for o in outcomes.values())
        assert explorer.summary()["goodput"].iloc[1] > explorer.summary()["goodput"].iloc[0]
    finally:
        explorer.close()


def test_sync_on_real_thread_pools_serves_what_async_serves():
    """Exercise 4's answer: with 40 threads a worker sync is not slot-bound at 0.4 turns/s,
    so against the same bucket it finishes the same turns as async; only who hears of a 429
    differs."""
    threads = pv.limited_agent(**{"workers.slots": sl.Workers().slots})
    runs = pv.window_sweep(threads, windows=(1.0,), seeds=(100, 101))
    by = runs.set_index(["design", "seed"])
    assert (by.loc["sync", "goodput"] == by.loc["async", "goodput"]).all()
    assert (by.loc["sync", "n_failed"] == by.loc["async", "n_silent_failure"]).all()
    assert by.loc["sync", "n_failed"].min() > 0
