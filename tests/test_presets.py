"""The notebooks' workloads and designs in ``simlib.presets``: each carries the load its docstring
promises (by the capacity formulas, no simulation), the named designs are the axes they name,
and the retry storm's sampling and collapse time are where the storm tests expect them.

(When these presets moved here from the panels, a test held each one equal to the Scenario its
old home built, with and without changes: see the commit that moved them.)"""

import pytest

import simlib as sl
from simlib import capacity, presets


def test_the_named_designs_are_the_ends_of_the_axes_they_name():
    assert presets.SIMPLE == sl.Architecture()  # stateless, sync, monolith: the default
    assert presets.STATEFUL.stateful and not presets.STATEFUL.asynchronous
    assert presets.ASYNC.asynchronous and not presets.ASYNC.stateful
    assert presets.MICROSERVICES.remote and not presets.MICROSERVICES.asynchronous
    assert presets.ASYNC_MICROSERVICES.remote and presets.ASYNC_MICROSERVICES.asynchronous
    assert presets.STATEFUL_ASYNC.stateful and presets.STATEFUL_ASYNC.asynchronous
    names = {d.name for d in (presets.SIMPLE, presets.STATEFUL, presets.ASYNC,
                              presets.MICROSERVICES, presets.ASYNC_MICROSERVICES,
                              presets.STATEFUL_ASYNC)}
    assert len(names) == 6 and names <= {d.name for d in sl.DESIGNS}


def test_the_notebook_workloads_carry_the_load_their_docstrings_say():
    busy = presets.busy_qa_bot()
    assert capacity.call_time(busy.llm, busy.workload) == pytest.approx(3.15, abs=0.01)
    assert capacity.utilisation_formula(busy) == pytest.approx(0.8, abs=0.02)
    turn = presets.tool_agent_turn()
    assert capacity.mean_turn_time(turn) == pytest.approx(13, abs=0.5)
    assert capacity.ceilings(turn)["sync: worker slots"] == pytest.approx(0.3, abs=0.01)
    assert capacity.ceilings(presets.small_chat())["sync: worker slots"] == pytest.approx(
        1.2, abs=0.05)
    assert capacity.onprem_call_time(presets.sensitive()) == pytest.approx(5.8, abs=0.1)
    assert 0.65 < capacity.utilisation_formula(presets.chat_agent()) < 0.8


def test_presets_take_changes_and_build_on_each_other():
    assert presets.deep_chat(3, 0.6).workload.arrival_rate == pytest.approx(0.2)
    assert presets.small_chat(1.2, 6).workload.arrival_rate == pytest.approx(0.2)
    assert presets.small_chat(restart=30.0).faults[0].restart == 30.0
    assert presets.sensitive(onprem=0).onprem is None
    hybrid = presets.with_onprem(presets.sensitive(onprem=0), 6, "cloud")
    assert (hybrid.onprem.concurrency, hybrid.compliance.overflow) == (6, "cloud")
    assert hybrid.costs.onprem_per_hour == 6 * presets.ONPREM_SLOT_HOUR
    assert presets.complex_start().architecture == presets.ASYNC_MICROSERVICES
    assert presets.product(**{"workers.count": 3}).workers.count == 3
    assert len(presets.tool_heavy_in_series().tools) == 1


def test_the_storm_samples_as_before_unless_told_and_collapses_are_read_from_250_s():
    assert presets.retry_storm().sample_every == 0.05
    assert presets.retry_storm(sample_every=1.0) == presets.retry_storm().with_(sample_every=1.0)
    assert presets.SINCE == 250.0  # 130 s after the trigger (100 s to 120 s) ended
