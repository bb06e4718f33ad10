"""Notebook 09's experiments (simlib.panels.durable), held against their formulas.

Each test runs independent replications with fixed seeds (ranges from 0, or from where the
notebook's stop when the formula is itself estimated from runs) and asks whether a formula lies
in the 99.9% interval of the simulated mean (``assert_in_ci``), or whether a paired difference
(the same seeds on both sides) keeps its sign over its whole interval. The two flip points the
notebook prints are checked from both sides: the share is over the threshold on one side of
the flip and under it on the other, over the whole interval.
"""

from __future__ import annotations

import numpy as np
import pytest
from stats import LEVEL, assert_in_ci

import simlib as sl
from simlib import presets, stats
from simlib.panels import durable as du

STORE = "stateless (context in the store)"
DURABLE = "stateless + durable execution"


def at(table, column, value):
    return table[table[column] == value]


# -- 1. the growing context ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def growth():
    return du.context_growth(steps=(3, 8), seeds=range(6))


@pytest.mark.parametrize("k", [3, 8])
def test_input_tokens_per_turn_follow_the_formula(growth, k):
    """Growing context: kP + (O + tR)k(k-1)/2 on average; flat (the first edition): kP."""
    rows = at(growth, "steps", k)
    scenario = presets.long_agent()
    assert_in_ci(at(rows, "context", "growing, prompt cache")["tokens_in"],
                 du.tokens_formula(scenario, k), f"growing tokens, {k} steps")
    assert_in_ci(at(rows, "context", "flat (first edition)")["tokens_in"],
                 du.flat_formula(scenario, k), f"flat tokens, {k} steps")


def test_the_prompt_cache_takes_most_of_the_growth_off_the_bill(growth):
    """At 8 steps, seed by seed: growing without a cache costs more than with one, which
    costs more than the flat context."""
    rows = at(growth, "steps", 8).set_index("seed")
    cost = {name: at(rows, "context", name)["cost_per_turn"] for name in du.CONTEXTS}
    uncached = stats.difference(cost["growing, no cache"], cost["growing, prompt cache"], LEVEL)
    cached = stats.difference(cost["growing, prompt cache"], cost["flat (first edition)"], LEVEL)
    assert uncached.low > 0 and cached.low > 0
    assert uncached.mean > cached.mean  # the cache removes most of the extra cost


def test_compaction_cuts_the_cost_only_without_a_cache():
    """An 8,000-token window at 20 steps: fewer tokens sent either way; cheaper without a
    prompt cache, dearer with one (summaries are uncached and restart the cached prefix)."""
    table = du.compaction(steps=20, windows=(None, 8_000), seeds=range(8))
    for cache, sign in (("off", -1), ("on", 1)):
        rows = at(table, "cache", cache).set_index("seed")
        small, none = at(rows, "window", "8,000"), at(rows, "window", "none")
        assert stats.difference(small["tokens_in"], none["tokens_in"], LEVEL).high < 0
        cost = stats.difference(small["cost_per_turn"], none["cost_per_turn"], LEVEL)
        assert (cost.low > 0) if sign > 0 else (cost.high < 0), cache


# -- 2. re-asks and the step cap ----------------------------------------------------------------


@pytest.mark.parametrize("q", [0.2, 0.4])
def test_step_limit_failures_follow_the_geometric_formula(q):
    """Planned steps geometric (mean 6), each re-asked with probability q: P(> 25 calls) =
    (1 - (1 - q)/6)^25."""
    table = du.reasks(rates=(q,), seeds=range(10))
    w = presets.long_agent().workload
    assert_in_ci(table["step_limit"], du.step_limit_formula(q, w.steps.mean, w.max_steps),
                 f"step-limit share at q = {q}")


# -- 3. an at-least-once broker -----------------------------------------------------------------


@pytest.fixture(scope="module")
def times():
    """The notebook's turn times (seeds 0-3)."""
    return du.turn_times(seeds=range(4))


@pytest.mark.parametrize("timeout", [45.0, 150.0])
def test_turns_longer_than_the_visibility_timeout_run_twice(timeout):
    """The share of turns duplicated is P(T > V), T estimated from other seeds' runs without a
    broker."""
    durations = du.turn_times(seeds=range(10, 18))
    table = du.broker_sweep((timeout,), seeds=range(6))
    assert_in_ci(table["duplicated"], du.survival(durations, timeout),
                 f"duplicated share at V = {timeout}")


def test_the_printed_visibility_flip(times):
    """The notebook prints the turn time's p99 as the timeout from which fewer than 1% of the
    turns are duplicated: at half of it more than 1% are, at twice it fewer, over the whole
    (Wilson) interval of the turns pooled over new seeds (at 0.1 turns/s of long-tailed turns,
    whether one turn outlasts V does not depend on another)."""
    flip = du.duplicate_flip(times)
    assert 300 < flip < 800  # a long agent's tail: minutes, far past SQS's 30 s
    def pooled(table):
        return stats.wilson(int((table["duplicated"] * table["turns"]).round().sum()),
                            int(table["turns"].sum()), LEVEL)
    short = pooled(du.broker_sweep((0.5 * flip,), seeds=range(10, 18)))
    long = pooled(du.broker_sweep((2.0 * flip,), seeds=range(10, 34)))  # the tail is heavy
    assert short.low > du.THRESHOLD > long.high


def test_idempotent_tools_repeat_no_side_effect():
    """Same runs, same duplicates; only non-idempotent tools repeat their effects."""
    plain = du.broker_sweep((du.SQS_VISIBILITY,), seeds=range(4))
    idem = du.broker_sweep((du.SQS_VISIBILITY,), seeds=range(4), idempotent=True)
    assert (idem["duplicates"].to_numpy() == plain["duplicates"].to_numpy()).all()
    assert (idem["repeated_effects"] == 0).all()
    assert stats.confidence_interval(plain["repeated_effects"], LEVEL).low > 1


# -- 4. recovery after a crash ------------------------------------------------------------------


@pytest.fixture(scope="module")
def recovered(times):
    return du.recovery(visibility=du.duplicate_flip(times), seeds=range(8))


def test_early_ack_loses_the_turns_in_flight(recovered):
    """Early acknowledgement: the share lost is E[T on worker] / (MTTF + MTTR) (Little's law
    at each crash), silently."""
    early = at(recovered, "design", "early ack (loses it)")
    assert_in_ci(early["lost_crash"], du.loss_formula(early["worker_time"].mean()),
                 "share lost with early ack")
    assert (early["silent"] == early["lost_crash"]).all()


def test_durable_execution_resumes_and_pays_less_again(recovered):
    """Durable execution behind the late-ack broker loses no turn and resumes the crashed
    ones; starting over (late ack alone) makes more LLM calls per answered turn."""
    durable = at(recovered, "design", "late ack + durable (resumes)").set_index("seed")
    over = at(recovered, "design", "late ack (starts over)").set_index("seed")
    assert (durable["lost_crash"] == 0).all() and durable["resumed"].sum() > 0
    assert stats.difference(over["latency_all_p95"], durable["latency_all_p95"], LEVEL).low > 0


def test_complex_chat_checkpoints_keep_history_not_the_turn_in_flight():
    table = du.chat_recovery(seeds=range(5))
    by = dict(list(table.groupby("design")))
    assert stats.confidence_interval(by["stateful"]["context_lost"], LEVEL).low > 0
    assert (by["stateful + checkpoints"]["context_lost"] == 0).all()
    assert stats.confidence_interval(by["stateful + checkpoints"]["lost_crash"], LEVEL).low > 0
    assert (by[DURABLE]["lost_crash"] == 0).all() and (by[DURABLE]["resumed"] > 0).any()


@pytest.fixture(scope="module")
def lengths():
    return du.loss_by_turn_length(steps=(1, 8), seeds=range(8), designs=(STORE,))


@pytest.mark.parametrize("steps", [1, 8])
def test_chat_turns_lost_follow_littles_law(lengths, steps):
    rows = at(lengths, "steps", steps)
    assert_in_ci(rows["lost_crash"], du.loss_formula(rows["worker_time"].mean(), du.CHAT_MTTF),
                 f"share lost, {steps} steps")


def test_the_printed_chat_flip(lengths):
    """The notebook prints 1% x (MTTF + MTTR) as the turn time past which per-turn persistence
    loses more than 1% of the turns: turns well under it lose less, turns well over it more,
    over the whole interval."""
    flip = du.loss_flip()
    short, long = (at(lengths, "steps", m) for m in (1, 8))
    assert short["worker_time"].mean() < 0.5 * flip and long["worker_time"].mean() > 2 * flip
    assert stats.confidence_interval(short["lost_crash"], LEVEL, stats.SHARE).high < \
        du.THRESHOLD < stats.confidence_interval(long["lost_crash"], LEVEL, stats.SHARE).low


def test_a_measured_crossing_interpolates_between_the_points_around_it():
    assert du.crossing([1, 2, 3], [0.0, 0.005, 0.015]) == pytest.approx(2.5)
    assert np.isnan(du.crossing([1, 2], [0.0, 0.001]))


def test_durable_writes_cost_one_write_per_step():
    """Paired, no crash, fixed writes: an answered turn takes E[steps] writes longer."""
    table = du.durable_cost(seeds=range(6))
    rows = table.set_index(["design", "seed"])["latency"]
    extra = (rows["durable"] - rows["plain"]).to_numpy()
    assert_in_ci(extra, presets.long_agent().workload.steps.mean * du.WRITE,
                 "durable latency per turn")


def test_the_notebooks_presets_are_what_their_docstrings_say():
    """One-turn sessions of about 6 steps, prefill at the 70B profile's rate; the brokered
    agent's arrivals stop at 1,800 s and every turn has ended by the end of the drain."""
    agent = presets.long_agent()
    assert agent.workload.turns.mean == 1 and agent.workload.steps.mean == 6
    assert 4_000 < presets.LARGE_MODEL_PREFILL < 5_000
    assert agent.llm.prefill_rate == presets.LARGE_MODEL_PREFILL
    turns = sl.run(presets.brokered_agent(), 0).turns
    assert turns["arrival"].max() < 1800.0 and (turns["outcome"] != "in_flight").all()


# -- the explorer ---------------------------------------------------------------------------------


def test_the_broker_explorer_follows_the_visibility_timeout_and_the_ack(times):
    """Driven as a learner would: at SQS's 30 s timeout the share of turns run twice is P(T >
    30 s) (pooled over seeds, within its Wilson interval); past the turn time's p99 few run
    twice; early acknowledgement never runs a turn twice, and a worker crash then leaves turns
    unanswered."""
    from panels import bars, move, per_seed

    panel = du.broker_panel()
    try:
        def twice(explorer):
            return next(iter(bars(explorer).values()))["run twice or more"]

        shares = per_seed(panel, twice, seeds=range(8))
        assert_in_ci(shares, du.survival(times, du.SQS_VISIBILITY), "run twice at V = 30 s")
        move(panel, "visibility timeout (s)", 600)
        assert np.mean(per_seed(panel, twice, seeds=range(8))) < 0.5 * np.mean(shares)
        move(panel, "acknowledge", "early")
        assert per_seed(panel, twice, seeds=range(4)) == [0.0] * 4
        move(panel, "workers crash: restart (s)", 60)
        unanswered = per_seed(panel, lambda e: next(iter(bars(e).values()))["never answered"],
                              seeds=range(4))
        assert min(unanswered) > 0
    finally:
        panel.close()
