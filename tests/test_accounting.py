"""Every arrival ends in exactly one outcome, for all eight designs and any load.

Hypothesis draws random scenarios (design, load from well under to far over capacity, sessions
of many turns and steps, tools, errors, rate limits, bounded queues, small memories that force
evictions, and the hosted provider's windowed limits, cache, SDK retries, fast failures,
overload, failover, hedging and fallback) and checks the turns table against an independent
reconstruction of what must have arrived: the session arrival times are drawn again from the
same seed, and each session's planned turns and think times are drawn again with the same
planner. A turn that the engine dropped, duplicated or invented would show up as a mismatch.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simlib as sl
from simlib.streams import Streams
from simlib.workload import Planner, session_arrivals

LOADS = {"under": 0.3, "near": 0.9, "over": 3.0}


@st.composite
def scenarios(draw):
    design = draw(st.sampled_from(sl.DESIGNS))
    load = LOADS[draw(st.sampled_from(sorted(LOADS)))]
    workers = sl.Workers(count=draw(st.integers(1, 3)), slots=draw(st.integers(1, 3)),
                         max_in_flight=draw(st.integers(1, 6)),
                         memory_mb=draw(st.sampled_from([0.5, 5.0, 2048.0])),
                         )
    llm = sl.LLM(ttft=sl.dists.Exponential(0.5), decode_rate=100.0,
                 error_rate=draw(st.sampled_from([0.0, 0.1])),
                 requests_per_minute=draw(st.sampled_from([None, 60.0])),
                 tokens_per_minute=draw(st.sampled_from([None, 30_000.0])),
                 input_tokens_per_minute=draw(st.sampled_from([None, 20_000.0])),
                 output_tokens_per_minute=draw(st.sampled_from([None, 5_000.0])),
                 rate_window=draw(st.sampled_from([1.0, 10.0, 60.0])),
                 max_tokens=draw(st.sampled_from([None, 400])),
                 prefill_rate=draw(st.sampled_from([None, 5_000.0])),
                 error_latency=draw(st.sampled_from([None, sl.dists.Exponential(0.2)])),
                 sdk_retries=draw(st.integers(0, 2)),
                 cache=draw(st.sampled_from([None, sl.PromptCache(min_tokens=200),
                                             sl.PromptCache("replica", ttl=5.0,
                                                            min_tokens=200)])),
                 concurrency=draw(st.sampled_from([None, 2])))
    backup = sl.LLM(ttft=sl.dists.Exponential(0.3), error_rate=0.2)
    failover = draw(st.sampled_from([None, sl.Failover(backup, after_errors=1),
                                     sl.Failover(backup, hedge_after=0.5)]))
    fallback = draw(st.sampled_from([None, sl.Fallback(error_rate=0.3)]))
    provider_faults = draw(st.sampled_from([(), (
        sl.faults.Overloaded("llm", 10.0, 15.0, error_rate=0.7),
        sl.faults.Outage("llm", 20.0, 10.0))]))
    tools = (sl.Tool("search", sl.dists.Exponential(0.3), error_rate=draw(
        st.sampled_from([0.0, 0.2])), capacity=draw(st.sampled_from([None, 1, 4]))),)
    workload = sl.Workload(
        turns=sl.dists.Geometric(draw(st.sampled_from([1.0, 3.0]))),
        think_time=sl.dists.Exponential(draw(st.sampled_from([0.5, 5.0]))),
        steps=sl.dists.Geometric(draw(st.sampled_from([1.0, 2.5]))),
        tools_per_step=sl.dists.Uniform(0, draw(st.sampled_from([0.0, 2.0]))),
        prompt_tokens=sl.dists.Deterministic(300), output_tokens=sl.dists.Exponential(50),
        flash_crowds=draw(st.sampled_from([(), (sl.FlashCrowd(10.0, 10.0, 4.0),)])))
    # the capacity of the slowest part, roughly: slots / time per turn
    per_turn = workload.steps.mean * (0.5 + 0.5 + workload.tools_per_step.mean * 0.3)
    rate = load * workers.count * workers.slots / per_turn / workload.turns.mean
    scenario = sl.Scenario(architecture=design, workload=workload.__class__(
        **{**workload.__dict__, "arrival_rate": rate}), llm=llm, tools=tools,
        store=sl.ContextStore(servers=draw(st.sampled_from([None, 1]))), workers=workers,
        resilience=sl.Resilience(failover=failover, fallback=fallback),
        faults=provider_faults, duration=draw(st.sampled_from([30.0, 60.0])), warmup=5.0)
    return scenario, draw(st.integers(0, 2**32 - 1))


def planned_sessions(scenario, seed):
    """Arrival times and plans, drawn again from the seed, independently of the run."""
    streams = Streams(seed)
    times = session_arrivals(scenario.workload, scenario.duration, streams.rng["arrivals"],
                             scenario.faults)
    planner = Planner(scenario, streams)
    return times, [planner.session()[1] for _ in times]


def check_accounting(scenario, seed):
    turns = sl.run(scenario, seed).turns
    times, plans = planned_sessions(scenario, seed)
    outcomes = turns["outcome"].astype(str)
    assert turns["outcome"].notna().all()
    assert set(outcomes) <= set(sl.OUTCOMES)
    assert turns.groupby("outcome", observed=False).size().sum() == len(turns)
    firsts = turns[turns["turn"] == 1].sort_values("session")
    assert np.array_equal(firsts["session"], np.arange(len(times))), "a session is missing"
    assert np.allclose(firsts["arrival"], times)
    assert (turns["tokens_cached"] + turns["tokens_cache_write"] <= turns["tokens_in"]).all()
    assert (turns["cost"] >= 0).all() and (turns["llm_calls"] >= 0).all()
    finished = outcomes != "in_flight"
    assert (turns.loc[finished, "finish"] >= turns.loc[finished, "arrival"]).all()
    assert (turns.loc[finished, "finish"] <= scenario.duration).all()
    assert turns.loc[~finished, "finish"].isna().all()
    for sid, rows in turns.groupby("session"):
        rows = rows.sort_values("turn")
        plan = plans[sid]
        assert list(rows["turn"]) == list(range(1, len(rows) + 1)), f"session {sid} has gaps"
        assert len(rows) <= len(plan)
        finish, arrival = rows["finish"].to_numpy(), rows["arrival"].to_numpy()
        for k in range(1, len(rows)):  # turn k+1 arrives a think time after turn k ends
            assert np.isclose(arrival[k], finish[k - 1] + plan[k].think)
        if len(rows) < len(plan):  # the session stopped early only because time ran out
            ended = rows["outcome"].iloc[-1] != "in_flight"
            next_arrival = finish[-1] + plan[len(rows)].think
            assert not ended or next_arrival >= scenario.duration - 1e-9, \
                f"session {sid}: turn {len(rows) + 1} never arrived"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(scenarios())
def test_every_arrival_ends_in_exactly_one_outcome(case):
    check_accounting(*case)


def test_all_eight_designs_at_three_loads():
    """The same check, deterministically, on every design x load (not left to Hypothesis)."""
    base = sl.presets.assistant(duration=300, warmup=30,
                                **{"llm.error_rate": 0.05, "workers.memory_mb": 1.0})
    for design in sl.DESIGNS:
        for load in LOADS.values():
            scenario = base.with_(architecture=design,
                                  **{"workload.arrival_rate": 0.5 * load})
            check_accounting(scenario, seed=7)


def test_timeline_totals_count_the_turns_ended_by_each_sample():
    """The timeline's running totals (turns ok, turns not ok, cost so far) are exactly the
    turns table's rows that had ended when each sample was taken (a turn ending at the very
    instant of a sample may fall on either side of it)."""
    for design in sl.DESIGNS:
        scenario = sl.presets.tool_agent(duration=300, warmup=30, architecture=design,
                                         faults=(sl.faults.Crash("workers", at=100,
                                                                 restart=20),),
                                         **{"llm.error_rate": 0.1, "llm.sdk_retries": 0})
        result = sl.run(scenario, seed=5)
        turns, timeline = result.turns, result.timeline
        outcome, finish = turns["outcome"].astype(str), turns["finish"].to_numpy()
        ended = {"ok": (outcome == "ok").to_numpy(),
                 "not_ok": ((outcome != "ok") & (outcome != "in_flight")).to_numpy()}
        assert ended["ok"].any() and ended["not_ok"].any() and turns["cost"].sum() > 0
        cost = turns["cost"].to_numpy()
        for row in timeline.itertuples():
            before, by = finish < row.time, finish <= row.time
            for name, mask in ended.items():
                assert (mask & before).sum() <= getattr(row, name) <= (mask & by).sum()
            assert cost[before].sum() - 1e-9 <= row.cost <= cost[by].sum() + 1e-9
