"""Functional tests of notebook 02's panels (sync vs async), driven without a browser.

Each test moves a control the way a learner would and checks that the charts move in the
direction the mechanism says: sync holds a thread for the whole turn (so it has a ceiling, and
its backlog grows past it), async holds a core only for its bursts, and a failure after the
acknowledgement is silent unless a dead-letter queue redelivers the turn. Plus the formula
numbers the notebook prints, from simlib.capacity, and the flip point of async's throughput
edge over sync threads per worker, checked by simulation (a confidence interval over seeds).
"""

import numpy as np
import pytest
from panels import mean_y, move

import simlib as sl
from simlib import capacity, presets
from simlib.panels import execution as ex

SYNC, ASYNC = 0, 1  # trace order in every chart: the base design (sync), then async


def count(figure, trace: int, outcome: str) -> int:
    data = figure.data[trace]
    return int(dict(zip(data.x, data.y, strict=True)).get(outcome, 0))


# -- the formulas ----------------------------------------------------------------------------


def test_turn_time_and_ceilings_follow_the_plan():
    scenario = presets.threaded_agent_turn()
    parts = capacity.step_parts(scenario)
    assert capacity.mean_turn_time(scenario) == pytest.approx(3 * sum(parts.values()))
    caps = capacity.ceilings(scenario)
    assert caps["sync: worker slots"] == pytest.approx(40 / capacity.mean_turn_time(scenario))
    assert caps["CPU cores"] == pytest.approx(4 / 0.15)  # 1 worker of 4 cores
    assert caps["LLM: requests/min"] == float("inf")
    limited = scenario.with_(**{"llm.requests_per_minute": 75.0})
    assert ex.max_throughput(limited) == pytest.approx(75 / 60 / 3)
    # each design's lowest ceiling, the other design's own ceiling left out
    assert ex.max_throughput(scenario) == caps["sync: worker slots"]
    assert ex.max_throughput(scenario.with_(architecture=presets.ASYNC)) == caps["tools: capacity"]


def test_the_preset_is_the_realistic_provider_on_starlette_threads():
    scenario = presets.threaded_agent_turn()
    assert scenario.llm == sl.LLM()  # the second edition's provider, every default
    assert scenario.workers.slots == sl.Workers().slots == 40
    assert not scenario.workload.parallel_tools  # the same work in both designs


def test_below_the_ceiling_sync_and_async_run_the_same_turns():
    scenario = presets.threaded_agent_turn()
    sync = sl.run(scenario, seed=2).summary()
    other = sl.run(scenario.with_(architecture=presets.ASYNC), seed=2).summary()
    assert sync["n_ok"] == other["n_ok"]
    assert sync["latency_all_p95"] == pytest.approx(other["latency_all_p95"], rel=0.01)


def test_slot_use_sync_mostly_waits_async_holds_only_cpu():
    scenario = presets.threaded_agent_turn()
    sync = capacity.slot_use(sl.run(scenario, seed=3))
    asynchronous = capacity.slot_use(sl.run(scenario.with_(architecture=presets.ASYNC), seed=3))
    formula = 1 - 0.15 / capacity.mean_turn_time(scenario)
    assert sync["idle_share"] == pytest.approx(formula, abs=0.005)
    assert sync["held_seconds"] / sync["turns"] == pytest.approx(
        capacity.mean_turn_time(scenario), rel=0.15)
    assert asynchronous["idle_share"] == 0.0
    assert asynchronous["cpu_seconds"] / asynchronous["turns"] == pytest.approx(0.15)


def test_latency_table_reports_a_queue_past_its_ceiling_as_unstable():
    scenario = presets.threaded_agent_turn()
    table = sl.sweep(scenario, {"workload.arrival_rate": [0.5, 3.5],
                                "architecture.execution": ["sync", "async"]},
                     seeds=range(2), progress=False)
    shown = ex.latency_table(table, scenario)
    assert shown.loc[(3.5, "sync"), "latency_all_p95"] == sl.stats.UNSTABLE
    assert shown.loc[(3.5, "async"), "latency_all_p95"] != sl.stats.UNSTABLE
    assert shown.loc[(0.5, "sync"), "latency_all_p95"] != sl.stats.UNSTABLE
    assert ex.stable(scenario.with_(architecture=presets.ASYNC,
                                    **{"workload.arrival_rate": 3.5}))


# -- the flip point: sync threads per worker against async in-flight places ---------------------


def test_flip_point_is_where_the_ceilings_ratio_crosses_the_margin():
    scenario = presets.threaded_agent_turn()
    flip = ex.flip_threads(scenario)
    turn = capacity.mean_turn_time(scenario)
    tool = capacity.ceilings(scenario)["tools: capacity"]
    # async binds at the tool; sync's threads carry n / E[T]: the edge is under 1.1 from
    # the first n with tool / (n / E[T]) < 1.1
    assert flip == int(np.floor(tool * turn / ex.EDGE)) + 1
    edges = ex.edge_by_threads(scenario, threads=(flip - 1, flip))
    assert edges.loc[flip - 1, "edge 64"] >= ex.EDGE > edges.loc[flip, "edge 64"]
    # with 16 in-flight places, async's cap is 16 / E[T]: sync carries as much from 16 threads
    assert ex.flip_threads(scenario, places=16, edge=1.0 + 1e-9) == 16


def test_flip_point_holds_in_simulation():
    """Measured at saturation (5 seeds): a sync pool of half the flip point's threads leaves
    async a clear edge (the interval of the ratio above the margin); at the flip point the
    edge is under the margin (the interval below it)."""
    scenario = presets.threaded_agent_turn()
    flip = ex.flip_threads(scenario)
    table = ex.saturated(scenario, threads=(flip // 2, flip), seeds=range(5))
    sync = {n: runs for n, runs in table[table["design"] == "sync"].groupby("workers.slots")}
    other = table[table["design"] == "async"]["throughput"].to_numpy()  # seeds in order
    low = sl.confidence_interval(other / sync[flip // 2]["throughput"].to_numpy())
    high = sl.confidence_interval(other / sync[flip]["throughput"].to_numpy())
    formula = ex.edge_by_threads(scenario, threads=(flip,)).loc[flip, "edge 64"]
    assert low.low > ex.EDGE
    assert high.low < ex.EDGE  # no longer clearly above the margin
    assert high.mean == pytest.approx(formula, abs=0.03)  # and where the ceilings put it
    # below the tool, the measured sync throughput is its thread ceiling
    thread_bound = sl.confidence_interval(sync[flip // 2]["throughput"])
    assert thread_bound.covers(sync[flip // 2]["formula"].iloc[0])


def test_near_the_limit_the_window_decides_and_a_limiter_restores():
    """6 seeds at 0.4 turns/s under 75 requests/min (0.417 turns/s): the 60 s window loses
    nothing; the 1 s window loses turns in both designs alike (failed for sync, silent for
    async); a client-side limiter's goodput is above the 1 s window's (paired interval)."""
    limited = presets.threaded_agent_turn(**{"llm.requests_per_minute": 75.0})
    near = ex.near_the_limit(limited, rates=(0.4,))
    by = {key: runs.reset_index(drop=True) for key, runs in near.groupby(["provider", "design"])}
    assert by["60 s window", "sync"]["cause_rate_limited"].sum() == 0
    assert (by["1 s window", "sync"]["n_failed"] == by["1 s window", "async"][
        "n_silent_failure"]).all()
    assert by["1 s window", "sync"]["n_failed"].mean() > 10
    gain = sl.stats.difference(by["1 s + client limiter", "async"]["goodput"],
                               by["1 s window", "async"]["goodput"])
    assert gain.low > 0
    assert by["1 s + client limiter", "async"]["cause_rate_limited"].sum() == 0
    assert ex.limiter(limited).rate_limit.per_second == pytest.approx(75 / 60)


# -- the throughput panel ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def throughput():
    return ex.throughput_panel(seed=0)


def test_throughput_panel_load_past_the_ceiling(throughput):
    goodput, in_system, _ = throughput.figures
    move(throughput, "arrival rate (per s)", 0.5)
    sync_low, async_low = mean_y(in_system, SYNC), mean_y(in_system, ASYNC)
    move(throughput, "arrival rate (per s)", 4.0)
    # past its ceiling (about 3/s) the sync backlog grows for the whole run
    # (Little's law: in system = rate x time, so async's grows with the rate, 8x, and no more)
    assert mean_y(in_system, SYNC) > 12 * sync_low
    assert mean_y(in_system, ASYNC) < 10 * async_low
    assert mean_y(in_system, ASYNC) < mean_y(in_system, SYNC) / 1.5
    assert mean_y(goodput, ASYNC) > 1.2 * mean_y(goodput, SYNC)
    assert mean_y(goodput, SYNC) < 3.3
    move(throughput, "arrival rate (per s)", 0.5)


def test_throughput_panel_few_threads_lift_only_sync(throughput):
    _, in_system, _ = throughput.figures
    move(throughput, "arrival rate (per s)", 1.0)  # past 8 threads' ceiling, under 40's
    move(throughput, "threads per worker", 8)
    sync_before, async_before = mean_y(in_system, SYNC), mean_y(in_system, ASYNC)
    move(throughput, "threads per worker", 40)
    assert mean_y(in_system, SYNC) < sync_before / 3
    assert mean_y(in_system, ASYNC) == pytest.approx(async_before, rel=0.1)
    move(throughput, "arrival rate (per s)", 0.5)


def test_throughput_panel_llm_slowdown_builds_a_sync_backlog(throughput):
    _, in_system, slot_time = throughput.figures
    move(throughput, "arrival rate (per s)", 2.0)
    move(throughput, "LLM slow-down x", 1)
    before = mean_y(in_system, SYNC, 80, 200)  # the spike's window and what follows
    waiting_before = slot_time.data[1].y[SYNC]
    move(throughput, "LLM slow-down x", 3)
    assert mean_y(in_system, SYNC, 80, 200) > 1.4 * before
    assert slot_time.data[1].y[SYNC] > waiting_before  # threads held longer, waiting
    move(throughput, "LLM slow-down x", 1)
    move(throughput, "arrival rate (per s)", 0.5)


def test_throughput_panel_slot_chart(throughput):
    slot_time = throughput.figures[2]
    cpu, waiting = slot_time.data
    assert list(cpu.x) == ["stateless/sync/monolith", "stateless/async/monolith"]
    assert cpu.y[SYNC] == pytest.approx(0.15) and cpu.y[ASYNC] == pytest.approx(0.15)
    assert waiting.y[SYNC] > 10 and waiting.y[ASYNC] == 0


# -- the silent-failure panel ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def silent():
    return ex.silent_failure_panel(seed=0)


def test_silent_panel_outage_is_failed_for_sync_silent_for_async(silent):
    outcomes = silent.figures[0]
    assert count(outcomes, ASYNC, "silent_failure") == 0
    move(silent, "LLM outage error rate", 1.0)
    failed, lost = count(outcomes, SYNC, "failed"), count(outcomes, ASYNC, "silent_failure")
    assert failed > 5 and lost > 5
    assert count(outcomes, SYNC, "silent_failure") == 0
    assert count(outcomes, ASYNC, "failed") == 0
    assert 0.5 < lost / failed < 2  # the same turns hit the same outage
    ok_without = count(outcomes, ASYNC, "ok")
    sync_counts = list(outcomes.data[SYNC].y)
    move(silent, "dead-letter queue", "redeliver (30 s, 3 times)")
    assert count(outcomes, ASYNC, "silent_failure") == 0
    assert count(outcomes, ASYNC, "ok") > ok_without
    assert list(outcomes.data[SYNC].y) == sync_counts  # a dead-letter queue is async only
    move(silent, "dead-letter queue", "none")
    move(silent, "LLM outage error rate", 0.0)


def test_silent_panel_rate_limit_hits_both_and_redelivery_amplifies(silent):
    outcomes = silent.figures[0]
    move(silent, "arrival rate (per s)", 0.3)
    move(silent, "LLM requests/min", "45")
    # 40 threads are no brake: both designs draw 429s, sync visibly, async silently
    assert count(outcomes, ASYNC, "silent_failure") > 10
    assert count(outcomes, SYNC, "failed") > 10
    assert count(outcomes, SYNC, "silent_failure") == 0
    ok_without = count(outcomes, ASYNC, "ok")
    move(silent, "dead-letter queue", "redeliver (30 s, 3 times)")
    assert count(outcomes, ASYNC, "ok") < ok_without
    move(silent, "dead-letter queue", "none")
    move(silent, "LLM requests/min", "no limit")
    move(silent, "arrival rate (per s)", 0.5)


def test_panels_meet_the_slider_budget():
    """Uncached updates around each panel's default scenario (the budget's scope). A loose
    bound for a shared machine, as in tests/test_panels_growth.py: bench/notebooks.py is what
    checks the budget (median under 0.15 s, p95 under 0.3 s, at the host's quiet speed)."""
    times = []
    for explorer, label, values in [
            (ex.throughput_panel(seed=1), "LLM slow-down x", (2, 3, 1.5, 2.5)),
            (ex.silent_failure_panel(seed=1), "LLM outage error rate", (0.5, 1.0, 0.25, 0.75))]:
        for value in values:
            move(explorer, label, value)
        times += explorer.timings[1:]
    assert np.median(times) < 0.3 and np.percentile(times, 95) < 0.6
