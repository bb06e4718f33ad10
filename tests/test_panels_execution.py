"""Functional tests of notebook 02's panels (sync vs async), driven without a browser.

Each test moves a control the way a learner would and checks that the charts move in the
direction the mechanism says: sync holds a slot for the whole turn (so it has a ceiling, and
its backlog grows past it), async holds a CPU slot only for its bursts, and a failure after the
acknowledgement is silent unless a dead-letter queue redelivers the turn. Plus the formula
numbers the notebook prints, from simlib.capacity.
"""

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
    scenario = presets.tool_agent_turn()
    parts = capacity.step_parts(scenario)
    assert capacity.mean_turn_time(scenario) == pytest.approx(3 * sum(parts.values()))
    caps = capacity.ceilings(scenario)
    assert caps["sync: worker slots"] == pytest.approx(4 / capacity.mean_turn_time(scenario))
    assert caps["CPU cores"] == pytest.approx(2 * 4 / 0.15)  # 2 workers of 4 cores
    assert caps["LLM: requests/min"] == float("inf")
    limited = capacity.ceilings(scenario.with_(**{"llm.requests_per_minute": 75.0}))
    assert limited["LLM: requests/min"] == pytest.approx(75 / 60 / 3)


def test_slot_use_sync_mostly_waits_async_holds_only_cpu():
    scenario = presets.tool_agent_turn()
    sync = capacity.slot_use(sl.run(scenario, seed=3))
    asynchronous = capacity.slot_use(sl.run(scenario.with_(architecture=presets.ASYNC), seed=3))
    formula = 1 - 0.15 / capacity.mean_turn_time(scenario)
    assert sync["idle_share"] == pytest.approx(formula, abs=0.005)
    assert sync["held_seconds"] / sync["turns"] == pytest.approx(
        capacity.mean_turn_time(scenario), rel=0.15)
    assert asynchronous["idle_share"] == 0.0
    assert asynchronous["cpu_seconds"] / asynchronous["turns"] == pytest.approx(0.15)


# -- the throughput panel ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def throughput():
    return ex.throughput_panel(seed=0)


def test_throughput_panel_load_past_the_ceiling(throughput):
    goodput, in_system, _ = throughput.figures
    move(throughput, "arrival rate (per s)", 0.2)
    sync_low, async_low = mean_y(in_system, SYNC), mean_y(in_system, ASYNC)
    move(throughput, "arrival rate (per s)", 0.6)
    # past its ceiling (about 0.3/s) the sync backlog grows for the whole run
    assert mean_y(in_system, SYNC) > 4 * sync_low
    assert mean_y(in_system, ASYNC) < 4 * async_low
    assert mean_y(in_system, ASYNC) < mean_y(in_system, SYNC) / 3
    # and async finishes about twice as many turns per second
    assert mean_y(goodput, ASYNC) > 1.6 * mean_y(goodput, SYNC)
    assert mean_y(goodput, SYNC) < 0.36


def test_throughput_panel_more_slots_lift_only_sync(throughput):
    _, in_system, _ = throughput.figures
    move(throughput, "arrival rate (per s)", 0.5)
    move(throughput, "slots per worker", 2)
    sync_before, async_before = mean_y(in_system, SYNC), mean_y(in_system, ASYNC)
    move(throughput, "slots per worker", 4)
    assert mean_y(in_system, SYNC) < sync_before / 3
    assert mean_y(in_system, ASYNC) == pytest.approx(async_before, rel=0.1)
    move(throughput, "slots per worker", 2)


def test_throughput_panel_llm_slowdown_builds_a_sync_backlog(throughput):
    _, in_system, slot_time = throughput.figures
    move(throughput, "arrival rate (per s)", 0.2)
    move(throughput, "LLM slow-down x", 1)
    before = mean_y(in_system, SYNC, 150, 260)  # the spike's window and a little after
    waiting_before = slot_time.data[1].y[SYNC]
    move(throughput, "LLM slow-down x", 3)
    assert mean_y(in_system, SYNC, 150, 260) > 1.4 * before
    assert slot_time.data[1].y[SYNC] > waiting_before  # slots held longer, waiting


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


def test_silent_panel_rate_limit_hits_async_only_and_redelivery_amplifies(silent):
    outcomes = silent.figures[0]
    move(silent, "arrival rate (per s)", 0.8)
    move(silent, "LLM requests/min", "75")
    assert count(outcomes, ASYNC, "silent_failure") > 20
    assert count(outcomes, SYNC, "failed") == 0  # 4 slots make under 75 calls a minute
    assert count(outcomes, SYNC, "silent_failure") == 0
    ok_without = count(outcomes, ASYNC, "ok")
    move(silent, "dead-letter queue", "redeliver (30 s, 3 times)")
    assert count(outcomes, ASYNC, "ok") < ok_without
    move(silent, "dead-letter queue", "none")
    move(silent, "LLM requests/min", "no limit")
    move(silent, "arrival rate (per s)", 0.2)
