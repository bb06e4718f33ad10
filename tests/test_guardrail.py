"""The input guardrail (simlib.guardrail), the worked example of a new component: every turn's
prompt is checked once, before the agent starts, holding what the turn holds; its latency,
price, errors, capacity and faults reach the turns, and a scenario with no guardrail is the
scenario it was."""

import numpy as np
import pandas as pd
import pytest

import simlib as sl
from simlib import architectures, engine, faults, presets
from simlib.guardrail import Guardrail
from simlib.stats import wilson

CHECK = 0.25  # seconds per check (Deterministic): the exact tests read it off each turn


def calm(**changes) -> sl.Scenario:
    """A light load on plenty of threads: no turn ever waits for one (so only the check's own
    time separates a turn with a guardrail from the same turn without)."""
    return presets.qa_bot(duration=600.0, warmup=0.0, **{"workload.arrival_rate": 0.5,
                                                         **changes})


def test_each_turn_takes_the_check_once_and_pays_for_it():
    base = calm()
    plain = sl.run(base, 3).turns
    checked = sl.run(base.with_(guardrail=Guardrail(latency=CHECK, per_1k_checks=2.0)), 3).turns
    assert len(plain) == len(checked) > 200  # the same sessions: its stream moves no other
    ok = (plain["outcome"] == "ok") & (checked["outcome"] == "ok")
    assert ok.mean() > 0.95
    assert np.allclose((checked["latency"] - plain["latency"])[ok], CHECK)
    assert np.allclose((checked["cost"] - plain["cost"])[ok], 2.0 / 1000)


def test_its_errors_fail_that_share_of_turns():
    rate = 0.2
    scenario = calm(guardrail=Guardrail(latency=0.05, error_rate=rate))
    turns = pd.concat([sl.run(scenario, seed).turns for seed in range(4)])
    ended = turns[turns["outcome"] != "in_flight"]
    failed = int((ended["cause"] == "guardrail_error").sum())
    share = wilson(failed, len(ended), level=0.999)
    assert share.low <= rate <= share.high, share
    assert (ended.loc[ended["cause"] == "guardrail_error", "llm_calls"] == 0).all()


def test_its_capacity_bounds_the_checks_at_once():
    scenario = calm(guardrail=Guardrail(latency=2.0, capacity=1),
                    **{"workload.arrival_rate": 0.45})
    result = sl.run(scenario, 0)
    busy = result.timeline["guardrail_busy"]
    assert busy.max() == 1 and busy.mean() > 0.5  # 0.45/s x 2 s = 0.9 of one check slot
    waited = result.turns["latency"] - sl.run(calm(**{"workload.arrival_rate": 0.45}),
                                              0).turns["latency"]
    assert (waited > 2.0 + 1e-9).any()  # some turns queued for the check


def test_faults_reach_it_by_its_name():
    outage = faults.Outage("guardrail", start=100.0, duration=100.0, error_rate=1.0)
    turns = sl.run(calm(guardrail=Guardrail(latency=0.05), faults=(outage,)), 0).turns
    during = turns[(turns["arrival"] > 110) & (turns["arrival"] < 190)]
    assert len(during) > 20 and (during["cause"] == "guardrail_error").all()
    after = turns[turns["arrival"] > 220]
    assert (after["outcome"] == "ok").mean() > 0.95
    crash = faults.Crash("guardrail", at=300.0, restart=60.0)
    turns = sl.run(calm(guardrail=Guardrail(latency=0.05), faults=(crash,)), 0).turns
    down = turns[(turns["arrival"] > 305) & (turns["arrival"] < 355)]
    assert len(down) > 10 and (down["cause"] == "service_down").all()


def test_every_arrival_ends_once_and_the_summary_counts_its_cause():
    scenario = presets.assistant(duration=400.0, warmup=50.0,
                                 guardrail=Guardrail(latency=0.1, capacity=2, error_rate=0.05),
                                 architecture=presets.STATEFUL_ASYNC)
    result = sl.run(scenario, 1)
    s = result.summary()
    assert sum(s[f"n_{o}"] for o in sl.records.OUTCOMES) == s["arrivals"]
    assert s["cause_guardrail_error"] > 0


def test_a_run_with_a_guardrail_plays_the_general_turn():
    assert engine.Run(calm(), 0).turn is architectures.textbook_turn
    assert engine.Run(calm(guardrail=Guardrail(latency=0.1)), 0).turn is architectures.turn


@pytest.mark.parametrize(("changes", "field"), [
    ({"latency": -1.0}, "guardrail.latency"), ({"latency": 0.1, "capacity": 0},
                                                "guardrail.capacity"),
    ({"latency": 0.1, "error_rate": 1.5}, "guardrail.error_rate"),
    ({"latency": 0.1, "per_1k_checks": -1}, "guardrail.per_1k_checks")])
def test_bad_input_names_the_field(changes, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        Guardrail(**changes)


def test_a_scenario_refuses_what_is_not_a_guardrail():
    with pytest.raises(TypeError, match="guardrail"):
        calm(guardrail="moderation")


def test_a_scenario_file_keeps_its_guardrail(tmp_path):
    """simlib.files reads a nested table off its field's annotation: the guardrail (and every
    other single-class table: policies, a retry budget, bursts, a prompt cache) round-trips."""
    from simlib import files
    from simlib.dists import LogNormal
    scenario = calm(guardrail=Guardrail(latency=LogNormal(median=0.1, p95=0.3), capacity=3),
                    resilience=sl.Resilience(llm=sl.Policy(retry=sl.Retry(
                        retries=2, budget=sl.RetryBudget()), timeout=sl.Timeout(5.0)),
                        checkpoint=sl.Checkpointing(2)),
                    **{"workload.bursts": sl.Bursts(), "llm.cache": sl.PromptCache()})
    assert files.load(files.save(scenario, tmp_path / "g.toml")) == scenario
    assert files.load(files.save(calm(), tmp_path / "n.toml")).guardrail is None
