"""The agent loop and async delivery as they really run (issue 14, DESIGN.md sections 1b and 3).

Growing context within a turn, compaction, re-asks, tool errors as observations, the step cap,
parallel tools and sub-agents; at-least-once brokers with early or late acknowledgement,
visibility timeouts, duplicates and dead letters; durable execution after a crash. Exact token
arithmetic on deterministic turns, formulas within confidence intervals where they exist.
"""

from __future__ import annotations

import pytest
from stats import assert_in_ci

import simlib as sl
from simlib.dists import Deterministic as D
from simlib.dists import Exponential

SEEDS = range(10)


def agent_turns(steps: int = 4, prompt: int = 1000, output: int = 100, result: int = 500,
                **changes) -> sl.Scenario:
    """One-turn sessions of ``steps`` deterministic steps, each one LLM call (0.1 s) and one
    tool call (0.2 s) returning ``result`` tokens; no prompt cache, no prior context, plenty of
    workers."""
    scenario = sl.Scenario(
        architecture=sl.Architecture("stateless", "sync", "monolith"),
        workload=sl.Workload(arrival_rate=0.5, steps=D(steps), tools_per_step=D(1),
                             prompt_tokens=D(prompt), output_tokens=D(output),
                             tool_result_tokens=D(result)),
        llm=sl.LLM(ttft=D(0.1), decode_rate=1e6, cache=None),
        tools=(sl.Tool("search", D(0.2), capacity=None),),
        workers=sl.Workers(count=2, slots=64, cpu_per_step=D(0.0)),
        duration=600.0, warmup=0.0)
    return scenario.with_(**changes)


def answered(turns):
    return turns[turns["outcome"] == "ok"]


# -- the context grows within a turn --------------------------------------------------------------


@pytest.mark.parametrize("k, prompt, out, result", [(1, 1000, 100, 500), (4, 1000, 100, 500),
                                                    (7, 300, 250, 2000), (5, 800, 0, 0)])
def test_input_tokens_grow_quadratically_with_the_steps(k, prompt, out, result):
    """Step j resends the prompt and every earlier step's output and tool result: a turn of k
    steps with prompt P, outputs O and results R sends kP + (O + R) k (k - 1) / 2 input tokens,
    exactly."""
    turns = answered(sl.run(agent_turns(k, prompt, out, result), 0).turns)
    assert len(turns) > 100
    assert (turns["tokens_in"] == k * prompt + (out + result) * k * (k - 1) // 2).all()
    assert (turns["tokens_out"] == k * out).all() and (turns["steps"] == k).all()


def test_the_next_turn_starts_from_the_whole_history():
    """A session's second turn starts from the first turn's prompt, answers and tool results:
    its first step sends P + (k P's history: P + k (O + R)) + P."""
    scenario = agent_turns(2, 1000, 100, 500, **{"workload.turns": D(2),
                                                 "workload.think_time": D(1.0)})
    turns = answered(sl.run(scenario, 0).turns)
    first, second = turns[turns["turn"] == 1], turns[turns["turn"] == 2]
    history = 1000 + 2 * (100 + 500)
    assert (first["tokens_in"] == 2 * 1000 + (100 + 500)).all()
    assert (second["tokens_in"] == 2 * (history + 1000) + (100 + 500)).all()


def test_a_context_window_truncates_the_oldest_tokens():
    """Window 3,000: a step whose input would exceed it first drops the oldest tokens down to
    half the window, so no call ever sends more than the window."""
    scenario = agent_turns(8, 1000, 100, 500, **{"workload.context_window": 3000,
                                                 "workload.compaction": "truncate"})
    turns = answered(sl.run(scenario, 0).turns)
    # steps: 1000, 1600, 2200, 2800, then 3400 > 3000 -> cut to 1500: 1500, 2100, 2700, 3300
    # -> 1500: the sum is 1000 + 1600 + 2200 + 2800 + 1500 + 2100 + 2700 + 1500
    assert (turns["tokens_in"] == 15_400).all()
    assert (turns["llm_calls"] == 8).all()


def test_a_context_window_summarises_with_one_more_call():
    """"summarise": the call that would exceed the window is preceded by one LLM call reading
    the window and answering the summary; the history becomes the summary."""
    scenario = agent_turns(5, 1000, 100, 500, **{"workload.context_window": 3000,
                                                 "workload.summary_tokens": 400})
    turns = answered(sl.run(scenario, 0).turns)
    # steps: 1000, 1600, 2200, 2800, then 3400 > 3000: summary call (3000 in, 400 out),
    # the step then sends 400 + 1000
    assert (turns["llm_calls"] == 6).all()
    assert (turns["tokens_in"] == 1000 + 1600 + 2200 + 2800 + 3000 + 1400).all()
    assert (turns["tokens_out"] == 5 * 100 + 400).all()


# -- unusable answers, tool errors, the step cap ---------------------------------------------------


@pytest.mark.parametrize("q", [0.1, 0.3])
def test_unusable_answers_cost_re_asks(q):
    """Each call's answer is unusable with probability q, independently: LLM calls per planned
    step are geometric, mean 1 / (1 - q)."""
    scenario = agent_turns(3, 500, 50, 0, **{"workload.semantic_error_rate": q})
    per_step = []
    for seed in SEEDS:
        turns = answered(sl.run(scenario, seed).turns)
        per_step.append(turns["llm_calls"].sum() / (3 * len(turns)))
        assert (turns["steps"] == turns["llm_calls"]).all()  # each re-ask is a step
    assert_in_ci(per_step, 1 / (1 - q), "LLM calls per step")


def test_a_step_cap_fails_the_turns_that_would_run_longer():
    """Steps geometric with mean 6, max_steps 8: exactly the turns planned for more than 8
    steps end with cause step_limit (no re-asks here), after 8 steps."""
    base = agent_turns(1, 500, 50, 0, **{"workload.steps": sl.dists.Geometric(6)})
    free = sl.run(base, 0).turns
    capped = sl.run(base.with_(**{"workload.max_steps": 8}), 0).turns
    done = free["outcome"] == "ok"
    long = free["steps"] > 8
    assert long[done].any()
    limited = capped["cause"] == "step_limit"
    assert (limited[done] == long[done]).all()
    assert (capped.loc[limited, "steps"] == 8).all()
    assert "step_limit" in sl.metrics.CAUSES


def test_a_tool_error_is_an_observation_that_costs_one_more_step():
    """Every tool call fails: with tool_errors="observe" each step's error costs one more
    (tool-less) step and the turn still answers; with "fail" the first error fails it."""
    base = agent_turns(3, 500, 50, 100, **{"tools.search.error_rate": 1.0})
    observed = answered(sl.run(base, 0).turns)
    assert len(observed) > 100 and (observed["steps"] == 6).all()
    failed = sl.run(base.with_(**{"workload.tool_errors": "fail"}), 0).turns
    ended = failed[failed["outcome"] != "in_flight"]
    assert (ended["outcome"] == "failed").all() and (ended["steps"] == 1).all()
    assert (ended["cause"] == "tool_error:search").all()


def test_parallel_tools_are_the_workloads_choice_in_any_design():
    """Three tool calls of 0.2 s in one step: in sequence a step takes 0.1 + 0.6 s, at once
    0.1 + 0.2 s, for sync and async alike."""
    for execution in ("sync", "async"):
        base = agent_turns(1, 500, 0, 0, **{"workload.tools_per_step": D(3),
                                            "architecture.execution": execution})
        for parallel, latency in ((False, 0.7), (True, 0.3)):
            turns = answered(sl.run(base.with_(**{"workload.parallel_tools": parallel}),
                                    0).turns)
            assert turns["latency"].to_numpy() == pytest.approx(latency), (execution,
                                                                             parallel)


def test_sub_agents_multiply_the_calls_and_return_their_answers():
    """A turn of 2 steps whose first step hands work to 3 sub-agents, each a loop of 2 steps
    of its own: 2 + 3 x 2 LLM calls; each sub-agent's final answer (100 tokens) joins the
    parent's context as a tool result."""
    scenario = agent_turns(2, 1000, 100, 0, **{"workload.subagents": 3,
                                               "workload.tools_per_step": D(0)})
    turns = answered(sl.run(scenario, 0).turns)
    assert (turns["llm_calls"] == 8).all() and (turns["steps"] == 8).all()
    # parent: 1000, then 1000 + 100 + 3 x 100; sub-agents: 2 x (1000, 1100)
    assert (turns["tokens_in"] == 1000 + 1400 + 3 * (1000 + 1100)).all()


# -- an at-least-once broker -----------------------------------------------------------------------


def long_turns(seconds: float = 40.0, **changes) -> sl.Scenario:
    """Async one-step turns of a deterministic ``seconds`` (one LLM call), a late-ack broker
    with a 30 s visibility timeout."""
    scenario = agent_turns(1, 500, 0, 0, **{
        "architecture.execution": "async", "llm.ttft": D(seconds),
        "workload.tools_per_step": D(0), "duration": 2000.0,
        "resilience.broker": sl.Broker(ack="late", visibility_timeout=30.0, max_receives=3)})
    return scenario.with_(**changes)


def test_a_turn_longer_than_the_visibility_timeout_runs_twice():
    """40 s against 30 s: at 30 s the message is visible again and a second worker starts the
    same turn; the first finishes at 40 s and answers. Every turn: one duplicate, billed."""
    turns = answered(sl.run(long_turns(40.0), 0).turns)
    turns = turns[turns["arrival"] < 1900.0]  # the duplicate has ended by the run's end
    assert len(turns) > 100
    assert (turns["duplicates"] == 1).all()
    assert (turns["latency"].round(6) == 40.0).all()
    assert (turns["llm_calls"] >= 1).all()
    # both executions are billed: the duplicate's call ends 30 s later and is charged then
    assert (turns["tokens_in"] == 1000).all()


def test_a_turn_shorter_than_the_visibility_timeout_runs_once():
    turns = answered(sl.run(long_turns(20.0), 0).turns)
    assert (turns["duplicates"] == 0).all() and (turns["tokens_in"] == 500).all()


def test_duplicated_turns_follow_the_turn_time_distribution():
    """Exponential turn times of mean 30 s, visibility timeout 30 s: a turn is duplicated when
    it runs longer than the timeout, with probability exp(-1) = 0.368 (DESIGN.md section 3)."""
    scenario = long_turns(30.0, **{"llm.ttft": Exponential(30.0)})
    shares = []
    for seed in SEEDS:
        turns = answered(sl.run(scenario, seed).turns)
        shares.append(float((turns["duplicates"] > 0).mean()))
    assert_in_ci(shares, 0.36788, "share of turns duplicated")


def test_tools_that_are_not_idempotent_repeat_their_side_effects():
    scenario = long_turns(40.0, **{"workload.tools_per_step": D(2),
                                   "resilience.broker": sl.Broker(idempotent=False)})
    turns = answered(sl.run(scenario, 0).turns)
    turns = turns[turns["arrival"] < 1900.0]  # the duplicate has ended by the run's end
    assert (turns["repeated_effects"] == 2).all()
    idem = answered(sl.run(scenario.with_(**{"resilience.broker": sl.Broker()}), 0).turns)
    assert (idem["repeated_effects"] == 0).all()


def test_a_failed_turn_comes_back_after_the_timeout_then_dead_letters():
    """Every LLM call fails (fast): a late-ack broker delivers the turn again each time its
    visibility timeout runs out, 3 receipts in all; when the third timeout runs out the
    message moves to the dead-letter queue (as SQS's redrive does): failed, visibly, 90 s
    after it arrived. Early acknowledgement loses it at once: a silent failure."""
    scenario = long_turns(1.0, **{"llm.error_rate": 1.0, "llm.sdk_retries": 0,
                                  "llm.error_latency": D(0.05)})
    turns = sl.run(scenario, 0).turns
    ended = turns[turns["outcome"] != "in_flight"]
    assert (ended["outcome"] == "failed").all() and (ended["duplicates"] == 2).all()
    assert ended["latency"].to_numpy() == pytest.approx(90.0)
    early = sl.run(scenario.with_(**{"resilience.broker": sl.Broker(ack="early")}), 0).turns
    early = early[early["outcome"] != "in_flight"]
    assert (early["outcome"] == "silent_failure").all() and (early["duplicates"] == 0).all()


# -- durable execution -----------------------------------------------------------------------


def crash_mid_turn(design: str, durable: bool, **changes) -> sl.Scenario:
    """Turns of 6 steps of 2 s on 2 workers; worker 0 crashes at t = 300 for 60 s."""
    scenario = agent_turns(6, 500, 50, 100, **{
        "architecture": sl.Architecture(*design.split("/")), "llm.ttft": D(2.0),
        "workers.count": 2, "workload.arrival_rate": 0.2,
        "faults": (sl.faults.Crash("workers", at=300.0, restart=60.0, index=0),),
        "resilience.durable": sl.DurableExecution(write_latency=D(0.01)) if durable else None})
    return scenario.with_(**changes)


@pytest.mark.parametrize("design", ["stateless/sync/monolith", "stateful/async/monolith"])
def test_durable_turns_survive_a_crash_without_paying_again(design):
    """With durable execution the turns in flight at the crash complete, on the other worker:
    the steps already written are not run again, only the one the crash interrupted (6 steps,
    at most 7 LLM calls); without it they fail."""
    durable = sl.run(crash_mid_turn(design, True), 0).turns
    hit = durable[durable["resumes"] > 0]
    assert len(hit) > 0
    assert (hit["outcome"] == "ok").all()
    assert hit["llm_calls"].between(6, 7).all() and (hit["llm_calls"] == 7).any()
    plain = sl.run(crash_mid_turn(design, False), 0).turns
    same = plain.set_index(["session", "turn"]).loc[hit.set_index(["session", "turn"]).index]
    assert (same["outcome"].astype(str).isin(["failed", "silent_failure"])).all()


def test_a_crash_with_a_late_ack_broker_starts_the_turn_over():
    """Without durable execution, a late-ack broker redelivers a crashed turn after its
    visibility timeout and the turn starts again from its first step: the steps already done
    are paid twice."""
    scenario = crash_mid_turn("stateless/async/monolith", False, **{
        "resilience.broker": sl.Broker(ack="late", visibility_timeout=60.0)})
    turns = sl.run(scenario, 0).turns
    again = turns[(turns["duplicates"] > 0) & (turns["outcome"] == "ok")]
    assert len(again) > 0
    assert (again["steps"] > 6).all() and (again["llm_calls"] > 6).all()


def test_durable_writes_are_store_operations():
    turns = answered(sl.run(agent_turns(4, resilience=sl.Resilience(
        durable=sl.DurableExecution(write_latency=D(0.01)))), 0).turns)
    assert (turns["store_ops"] == 4).all()  # one write per completed step (no context yet)
    plain = answered(sl.run(agent_turns(4), 0).turns)
    assert (turns["latency"] - plain["latency"].mean()).to_numpy() == pytest.approx(0.04)


def test_every_arrival_ends_once_with_brokers_and_durable_execution():
    """Duplicates are counted, never extra rows: the accounting check holds."""
    from test_accounting import check_accounting
    for broker in (sl.Broker(ack="late", visibility_timeout=5.0), sl.Broker(ack="early")):
        scenario = sl.presets.tool_agent(duration=400.0, warmup=40.0, faults=(
            sl.faults.Crash("workers", at=100.0, restart=30.0),), **{
            "resilience.broker": broker,
            "resilience.durable": sl.DurableExecution(),
            "workload.semantic_error_rate": 0.1, "workload.max_steps": 12,
            "workload.context_window": 20_000, "workload.subagents": 2})
        check_accounting(scenario, seed=3)
