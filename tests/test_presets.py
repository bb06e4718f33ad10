"""The notebooks' workloads and designs, moved from the panels into ``simlib.presets``: each moved
preset gives a Scenario equal to the one its old home gave (with and without changes)."""

import pytest

import simlib as sl
from simlib import presets
from simlib.panels import choosing, deployment, execution, growth, replay, resilience, state

CHANGES = {"workload.arrival_rate": 0.7, "duration": 300.0}

MOVED = [
    (presets.multi_turn_chat, state.chat),
    (presets.tool_agent_turn, execution.agent),
    (presets.tool_heavy, deployment.tool_heavy),
    (presets.tool_heavy_in_series, deployment.in_series),
    (presets.busy_qa_bot, resilience.agent),
    (presets.chat_agent, choosing.agent),
    (presets.deep_chat, choosing.deep_chat),
    (presets.small_chat, choosing.chat_for),
    (presets.sensitive, choosing.sensitive),
    (presets.product, growth.product),
    (presets.complex_start, growth.complex_start),
]


@pytest.mark.parametrize(("new", "old"), MOVED, ids=[new.__name__ for new, _ in MOVED])
def test_a_moved_preset_gives_the_scenario_its_old_home_gave(new, old):
    assert new() == old()
    if new is not presets.small_chat:  # the chooser's workload took no changes
        assert new(**CHANGES) == old(**CHANGES)


def test_presets_with_arguments_match_too():
    assert presets.deep_chat(3, 0.5) == choosing.deep_chat(3, 0.5)
    assert presets.small_chat(1.4, 12, 30.0) == choosing.chat_for(1.4, 12, 30.0)
    assert presets.sensitive(0.5, 2.5, 0) == choosing.sensitive(0.5, 2.5, 0)
    base = presets.sensitive(rate=1.5, onprem=0)
    assert presets.with_onprem(base, 6, "cloud") == choosing.with_onprem(base, 6, "cloud")
    for rate, trigger, safe in [(4.0, False, False), (2.0, True, False), (4.0, True, True)]:
        assert presets.retry_storm(rate, trigger, safe, sample_every=1.0) == \
            resilience.storm(rate, trigger, safe)


def test_the_storms_collapse_time_and_the_named_designs_are_the_old_ones():
    assert presets.SINCE == resilience.SINCE == 250.0
    assert presets.SIMPLE == choosing.LOW_BUDGET == deployment.MONOLITH == execution.SYNC \
        == growth.SIMPLE == state.STATELESS == replay.STATELESS == sl.Architecture()
    assert presets.STATEFUL == state.STATEFUL == replay.STATEFUL
    assert presets.ASYNC == execution.ASYNC == choosing.HYBRID_BASE
    assert presets.MICROSERVICES == deployment.MICROSERVICES
    assert presets.ASYNC_MICROSERVICES == growth.COMPLEX
    assert presets.STATEFUL_ASYNC == choosing.CHECKPOINTED
    assert (presets.SMALL_MODEL, presets.SENSITIVE_SHARE, presets.ONPREM_SLOT_HOUR) == \
        (choosing.SMALL_MODEL, choosing.SENSITIVE_SHARE, choosing.ONPREM_SLOT_HOUR)
