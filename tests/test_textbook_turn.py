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
"""Presets that qualify on every design: one-turn and multi-turn sessions, tools in series and
in parallel, the realistic provider (limits, SDK retries, a prompt cache), sensitive turns with
an on-premises model."""

STATEFUL_MICROSERVICES = sl.Architecture("stateful", "sync", "microservices")
STATEFUL_ASYNC_MICROSERVICES = sl.Architecture("stateful", "async", "microservices")
DESIGNS = (presets.SIMPLE, presets.MICROSERVICES, presets.STATEFUL, STATEFUL_MICROSERVICES,
           presets.ASYNC, presets.STATEFUL_ASYNC)
"""Pooled and sticky, one deployable unit and services, sync and async (async services: in
:func:`_faults`)."""


def _variants():
    for name in QUALIFYING:
        base = getattr(presets, name)().with_(duration=400.0, warmup=0.0)
        for design in DESIGNS:
            yield f"{name}/{design.name}", base.with_(architecture=design)
    rough = presets.tool_heavy(duration=400.0, warmup=0.0, **{"llm.error_rate": 0.1})
    tools = tuple(dataclasses.replace(t, error_rate=0.3) for t in rough.tools)
    yield "tool errors observed", rough.with_(tools=tools)
    yield "tool errors fail the turn", rough.with_(tools=tools,
                                                   **{"workload.tool_errors": "fail"})
    yield "mmc", presets.mmc(3.6, 1.0, 4, duration=2000.0, warmup=0.0)
    yield "mmc/sticky, 2 slots", presets.mmc(7.2, 1.0, 4, duration=1000.0, warmup=0.0,
                                             architecture=presets.STATEFUL,
                                             **{"workers.slots": 2})
    chat = presets.multi_turn_chat(duration=400.0, warmup=0.0, architecture=presets.STATEFUL,
                                   **{"workers.memory_mb": 2.0, "llm.cache": None})
    yield "sticky, memory full (contexts evicted and lost)", chat
    yield "sticky, memory full, checkpoints (restored)", chat.with_(
        **{"resilience.checkpoint": sl.Checkpointing(2)})
    yield "sticky async, memory full", chat.with_(architecture=presets.STATEFUL_ASYNC)
    yield "async, early-acknowledging broker", presets.qa_bot(
        duration=400.0, warmup=0.0, architecture=presets.ASYNC,
        **{"resilience.broker": sl.Broker(ack="early"), "llm.error_rate": 0.2})
    yield "async, early broker, tools not idempotent", rough.with_(
        tools=tools, architecture=presets.ASYNC,
        **{"resilience.broker": sl.Broker(ack="early", idempotent=False)})
    yield "async, tool errors fail the turn", rough.with_(
        tools=tools, architecture=presets.STATEFUL_ASYNC, **{"workload.tool_errors": "fail"})
    yield "sensitive turns shed when on-premises is full", presets.sensitive(
        rate=3.0, onprem=1, duration=300.0, warmup=0.0,
        **{"compliance.overflow": "shed", "compliance.max_queue": 1})
    yield "sync, a broker (only async designs use one)", presets.tool_agent_turn(
        duration=400.0, warmup=0.0, **{"resilience.broker": sl.Broker()})
    yield from _faults()


def _faults():
    """Faults that change only what a dependency answers, or when turns arrive: every fault
    but a crash of a worker replica (or of a tool a replica carries) keeps the textbook turn."""
    services = presets.tool_heavy(duration=400.0, warmup=0.0,
                                  architecture=presets.MICROSERVICES)
    window = {"start": 100.0, "duration": 100.0}
    for name, fault in {
            "llm outage": faults.Outage("llm", error_rate=0.7, **window),
            "llm overloaded": faults.Overloaded("llm", error_rate=0.7, **window),
            "llm latency spike": faults.LatencySpike("llm", factor=4.0, **window),
            "workers slowed": faults.LatencySpike("workers", factor=4.0, **window),
            "store outage": faults.Outage("store", error_rate=1.0, **window),
            "partition": faults.Partition("tools.code", **window),
            "tool service crash": faults.Crash("tools.code", at=100.0, restart=100.0),
            "store crashes": faults.RandomCrashes("store", mttf=60.0, mttr=20.0),
            "random llm outages": faults.RandomOutages("llm", mean_between=80.0,
                                                       median_duration=20.0,
                                                       p95_duration=60.0)}.items():
        monolith = () if name == "tool service crash" else (presets.ASYNC,)  # (a worker crash)
        for design in (presets.MICROSERVICES, STATEFUL_MICROSERVICES, presets.ASYNC_MICROSERVICES,
                       STATEFUL_ASYNC_MICROSERVICES, *monolith):
            yield f"{name}/{design.name}", services.with_(architecture=design, faults=(fault,))
    crowd = sl.FlashCrowd(start=100.0, duration=100.0, factor=4.0)
    yield "flash crowd", services.with_(**{"workload.flash_crowds": (crowd,)})


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
    assert (turns["outcome"] == "silent_failure").any()  # async: acknowledged, then failed
    assert (turns["cause"] == "onprem_full").any()  # shed at arrival
    assert (turns["repeated_effects"] == 0).all()  # one delivery: no side effect repeated
    for cause in ("partition", "crash", "service_down", "store_error", "overloaded"):
        assert turns["cause"].astype(str).str.startswith(cause).any(), cause
    sticky = turns[turns["name"].str.startswith("sticky")]
    assert sticky["context_lost"].any()  # evicted contexts, lost or restored from checkpoints
    restored = turns[turns["name"].str.contains("checkpoints")]
    assert (restored["store_ops"] > 0).any()


OFF_THE_TEXTBOOK = {
    "async, a dead-letter policy": {"architecture": presets.ASYNC,
                                    "resilience": sl.Resilience(dead_letter=sl.DeadLetter())},
    "async, a late-acknowledging broker": {
        "architecture": presets.STATEFUL_ASYNC,
        "resilience": sl.Resilience(broker=sl.Broker(ack="late"))},
    "a worker crash": {"faults": (faults.Crash("workers", at=10.0),)},
    "random worker crashes": {"faults": (faults.RandomCrashes("workers"),)},
    "a crash of a tool a worker carries": {"faults": (faults.Crash("tools.search", at=10.0),)},
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
