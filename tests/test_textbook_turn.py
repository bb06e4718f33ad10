"""The textbook turn is the general turn, written flat: on every scenario a run would play it on,
both give the same turns and timeline tables, to the last bit (the general turn is forced by
replacing ``architectures.choose``). And a run plays it only when nothing it leaves out can
happen: each thing it leaves out, switched on alone, sends the run back to the general turn."""

import dataclasses

import pandas as pd
import pytest

import simlib as sl
from simlib import architectures, engine, faults, presets

QUALIFYING = ("qa_bot", "assistant", "multi_turn_chat", "tool_agent_turn", "tool_heavy",
              "tool_heavy_in_series", "busy_qa_bot", "small_chat", "sensitive", "product",
              "qa_service", "startup")
"""Presets that qualify once on a sync, stateless design: one-turn and multi-turn sessions,
tools in series and in parallel, the realistic provider (limits, SDK retries, a prompt cache),
sensitive turns with an on-premises model."""


def _variants():
    for name in QUALIFYING:
        base = getattr(presets, name)().with_(duration=400.0, warmup=0.0)
        for design in (presets.SIMPLE, presets.MICROSERVICES):
            yield f"{name}/{design.name}", base.with_(architecture=design)
    rough = presets.tool_heavy(duration=400.0, warmup=0.0, **{"llm.error_rate": 0.1})
    tools = tuple(dataclasses.replace(t, error_rate=0.3) for t in rough.tools)
    yield "tool errors observed", rough.with_(tools=tools)
    yield "tool errors fail the turn", rough.with_(tools=tools,
                                                   **{"workload.tool_errors": "fail"})
    yield "mmc", presets.mmc(3.6, 1.0, 4, duration=2000.0, warmup=0.0)


VARIANTS = dict(_variants())


def _tables(scenario, seed, general=False):
    choose = architectures.choose
    if general:
        architectures.choose = lambda run: architectures.turn
    try:
        result = sl.run(scenario, seed, log_calls=True)
    finally:
        architectures.choose = choose
    return result


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_textbook_and_general_turns_give_the_same_tables(name):
    scenario = VARIANTS[name]
    assert engine.Run(scenario, 0).turn is architectures.textbook_turn
    for seed in (0, 1):
        flat, general = _tables(scenario, seed), _tables(scenario, seed, general=True)
        assert len(flat.turns) > 50
        pd.testing.assert_frame_equal(flat.turns, general.turns)
        pd.testing.assert_frame_equal(flat.timeline, general.timeline)
        pd.testing.assert_frame_equal(flat.calls, general.calls)


def test_the_variants_exercise_what_the_textbook_turn_does():
    """Failed LLM calls, failed tool calls (observed and failing the turn), store reads,
    multi-step turns, queueing for a place, sensitive turns: each happens somewhere."""
    turns = pd.concat([_tables(s, 0).turns.assign(name=n) for n, s in VARIANTS.items()])
    assert (turns["cause"] == "llm_error").any()
    assert turns["cause"].astype(str).str.startswith("tool").any()
    assert (turns["store_ops"] > 0).any() and (turns["steps"] > 1).any()
    assert (turns["admitted"] > turns["arrival"]).any() and turns["sensitive"].any()
    assert (turns["outcome"] == "ok").mean() > 0.5


OFF_THE_TEXTBOOK = {
    "stateful": {"architecture": presets.STATEFUL},
    "async": {"architecture": presets.ASYNC},
    "a fault": {"faults": (faults.Outage("llm", start=10, duration=5, error_rate=0.5),)},
    "a policy": {"resilience": sl.Resilience(llm=sl.Policy(retry=sl.Retry(retries=1)))},
    "load shedding": {"resilience": sl.Resilience(shedding=sl.LoadShedding(max_wait=5.0))},
    "a fallback": {"resilience": sl.Resilience(fallback=sl.Fallback())},
    "durable execution": {"resilience": sl.Resilience(durable=sl.DurableExecution())},
    "a step cap": {"workload.max_steps": 5},
    "a context window": {"workload.context_window": 100_000},
    "unusable answers": {"workload.semantic_error_rate": 0.1},
    "sub-agents": {"workload.subagents": 2},
}


@pytest.mark.parametrize("what", sorted(OFF_THE_TEXTBOOK))
def test_anything_the_textbook_turn_leaves_out_sends_the_run_to_the_general_turn(what):
    base = presets.tool_agent_turn(duration=100.0, warmup=0.0)
    assert engine.Run(base, 0).turn is architectures.textbook_turn
    changed = base.with_(**OFF_THE_TEXTBOOK[what])
    assert engine.Run(changed, 0).turn is architectures.turn
