"""The explorers of notebook 01 (stateless vs stateful), driven without a browser.

Each test moves a control the way a learner would and checks that the charts moved the way the
mechanism says, averaged over a few seeds (the explorer's seed box), never on one seed's luck.
"""

import numpy as np
import pandas as pd
import pytest
from panels import over_seeds
from stats import assert_in_ci

import simlib as sl
from simlib import capacity, presets, stats
from simlib.panels import state

DESIGNS = (presets.SIMPLE.name, presets.STATEFUL.name)
CRASH, CHECKPOINT = "workers crash: restart (s)", "checkpoint every N turns (0 = never)"


def trace(explorer, view: str, name: str):
    figure = explorer.figures[explorer.views.index(view)]
    return next(t for t in figure.data if t.name == name)


def averaged(explorer, settings: list[dict], read) -> list[np.ndarray]:
    """For each settings (control label -> value), ``read(explorer)`` averaged over the seeds."""
    out = []
    for values in settings:
        for label, value in values.items():
            explorer.controls[label].value = value
        out.append(np.asarray(over_seeds(explorer, read)))
    return out


def cdf_medians(explorer):
    return [np.median(np.asarray(trace(explorer, "latency_cdf", n).x)) for n in DESIGNS]


def failed(explorer):
    bars = [trace(explorer, "outcomes", n) for n in DESIGNS]
    return [dict(zip(b.x, b.y, strict=True)).get("failed", 0) for b in bars]


def lost(explorer):
    return [trace(explorer, "context_lost", n).y[-1] for n in DESIGNS]


@pytest.fixture(scope="module")
def store():
    return state.store_panel()


@pytest.fixture(scope="module")
def routing():
    return state.routing_panel()


@pytest.fixture(scope="module")
def crashes():
    return state.crash_panel()


def test_a_slower_store_moves_only_the_stateless_latency_right(store):
    before = len(store.timings)
    fast, slow = averaged(store, [{"store s per 1k tokens": 0.0},
                                  {"store s per 1k tokens": 0.3}], cdf_medians)
    assert slow[0] > fast[0] + 0.5, (fast, slow)  # two trips of a growing context
    assert slow[1] == fast[1]  # a stateful turn never calls the store
    assert len(store.timings) > before


def test_too_few_store_connections_make_the_store_the_bottleneck(store):
    def read(explorer):
        busy = trace(explorer, "store_busy", DESIGNS[0]).y
        return [*cdf_medians(explorer), np.nanmax(busy)]
    many, one = averaged(store, [{"store s per 1k tokens": 0.3, "store connections": 4},
                                 {"store s per 1k tokens": 0.3, "store connections": 1}], read)
    assert one[0] > 2 * many[0], (many, one)  # the stateless tail runs away
    assert one[1] == many[1]  # the stateful design does not notice
    assert one[2] <= 1  # never more operations in progress than connections
    store.controls["store connections"].value = 4
    store.controls["store s per 1k tokens"].value = 0.05


def test_a_store_outage_fails_stateless_turns_only(store):
    store.controls["seed"].value = 0
    store.controls["store outage error rate"].value = 1.0
    errors = store.summary()["error_rate"]
    store.controls["store outage error rate"].value = 0.0
    assert errors[DESIGNS[0]] > 0.05 and errors[DESIGNS[1]] == 0, errors


def test_sticky_routing_pays_more_as_load_grows(routing):
    def read(explorer):
        return trace(explorer, "sticky_p95", "simulated p95").y
    light, heavy = averaged(routing, [{"turns per second": 1.6}, {"turns per second": 3.4}],
                            read)
    assert heavy[1] - light[1] > heavy[0] - light[0] > 0, (light, heavy)
    assert heavy[1] > 2 * heavy[0]
    formula = trace(routing, "sticky_p95", "formula p95").y
    scenario = routing.current()
    assert formula == pytest.approx([capacity.mmc_p95(scenario, "stateless"),
                                     capacity.mmc_p95(scenario, "stateful")])
    routing.controls["turns per second"].value = 2.8


def test_adding_workers_shortens_both_queues(routing):
    def read(explorer):
        return [np.mean(trace(explorer, "queued", n).y) for n in DESIGNS]
    four, eight = averaged(routing, [{"workers": 4}, {"workers": 8}], read)
    assert (eight < four).all(), (four, eight)
    routing.controls["workers"].value = 4


def test_a_crash_fails_turns_in_both_and_loses_contexts_only_when_stateful(crashes):
    before = len(crashes.timings)
    calm, crashed = averaged(crashes, [{CRASH: 0}, {CRASH: 60}],
                             lambda e: [*failed(e), *lost(e)])
    assert (crashed[:2] > calm[:2]).all(), (calm, crashed)
    assert crashed[2] == 0 and crashed[3] > calm[3] + 2, (calm, crashed)
    assert len(crashes.timings) > before


def test_checkpointing_every_turn_bounds_the_lost_contexts(crashes):
    never, every = averaged(crashes, [{CRASH: 60, CHECKPOINT: 0}, {CRASH: 60, CHECKPOINT: 1}],
                            lost)
    assert every[1] < never[1], (never, every)
    crashes.controls[CHECKPOINT].value = 0


def test_formulas_and_workers_needed():
    mmc = sl.presets.mmc(3.2, 1.0, 4)
    assert capacity.mmc_p95(mmc, "stateless") == pytest.approx(
        sl.theory.mmc_sojourn_quantile(3.2, 1.0, 4, 0.95))
    assert capacity.mmc_p95(mmc, "stateful") == pytest.approx(np.log(20) / (1 - 0.8))
    assert capacity.mmc_p95(mmc.with_(**{"workers.count": 3}), "stateful") is None
    target = capacity.mmc_p95(mmc, "stateless")
    assert capacity.workers_for_p95(mmc, "stateless", target) == 4
    assert capacity.workers_for_p95(mmc, "stateful", target) == 9  # ln 20 / (1 - 3.2 / c) <= 4.74


def test_prompt_cache_saving_matches_its_formula():
    """The first edition's textbook provider gives only a pinned session the cache: the
    stateful turn saves (1 - factor) x the mean time to first token. A hosted provider caches
    by prefix whoever sends it: the two designs save the same, so the difference is 0."""
    chat = presets.multi_turn_chat(**{"store.latency": 0.0, "store.per_1k_tokens": 0.0})
    saved = state.prompt_cache_saving(presets.textbook(chat), seed=0)
    expected = (1 - chat.llm.prompt_cache_factor) * chat.llm.ttft.mean
    assert len(saved) > 300 and abs(saved.mean() - expected) < 0.05, (saved.mean(), expected)
    hosted = state.prompt_cache_saving(chat.with_(**{"llm.prefill_rate": 5000.0}), seed=0)
    assert stats.confidence_interval(hosted, 0.999).covers(0.0)


# -- the settings that decide notebook 01's verdicts (issue 16) ----------------------------------

def test_sticky_penalty_falls_with_slots_and_flips_under_1_2_at_8():
    """The formula's sticky/pooled p95 ratio at utilisation 0.8 on 4 workers: about 3.2 with one
    slot per worker, falling with every slot added, under 1.2 from 8 slots (the flip the
    notebook prints), about 1.006 at Starlette's 40 threads."""
    penalties = [state.sticky_penalty(0.8, 4, k) for k in range(1, 41)]
    assert penalties[0] == pytest.approx(
        capacity.mmc_p95(presets.mmc(3.2, 1.0, 4), "stateful")
        / capacity.mmc_p95(presets.mmc(3.2, 1.0, 4), "stateless"))
    assert 3.1 < penalties[0] < 3.2
    assert all(a > b for a, b in zip(penalties, penalties[1:], strict=False))
    assert state.penalty_flip(0.8, 4, below=1.2) == 8
    assert penalties[6] >= 1.2 > penalties[7]
    assert 1.0 < penalties[-1] < 1.01
    with pytest.raises(ValueError):
        state.penalty_flip(0.8, 4, below=1.0, most=8)


def test_simulated_sticky_penalty_matches_the_formula_either_side_of_the_flip():
    """Paired runs (common random numbers), ten seeds each: at 1 slot per worker the simulated
    ratio holds the formula's 3.16 and is far above 1.2; at 8 slots it holds the formula's
    1.16 (99.9% CIs)."""
    one = state.sweep_ratios(sl.sweep(presets.mmc(3.2, 1.0, 4, duration=2000.0, warmup=200.0),
                                      {"architecture.state": ["stateless", "stateful"]},
                                      seeds=range(10), progress=False), slots=1)
    eight = state.penalty_runs(0.8, 4, slots=(8,), seeds=range(10), duration=400.0)
    assert_in_ci(one["ratio"], state.sticky_penalty(0.8, 4, 1), "sticky penalty, 1 slot")
    assert stats.confidence_interval(one["ratio"], 0.999).low > 1.2
    assert_in_ci(eight["ratio"], state.sticky_penalty(0.8, 4, 8), "sticky penalty, 8 slots")
    table = state.penalty_table(pd.concat([one, eight]))
    assert list(table.index) == [1, 8] and table["inside"].all()


def test_store_flip_interpolates_where_the_rise_crosses():
    rise = pd.Series([-0.01, 0.05, 0.15, 0.3], index=[0.0, 0.1, 0.2, 0.3])
    assert state.store_flip(rise, 0.10) == pytest.approx(0.15)
    with pytest.raises(ValueError):
        state.store_flip(rise, 0.5)


def test_store_slows_stateless_by_10_percent_only_past_the_flip():
    """The notebook's flip (about 0.1 s per 1,000 tokens of context), checked on paired runs:
    at 0.05 s the stateless median is less than 10% over the stateful one, at 0.2 s more
    (99.9% CIs of the per-seed ratio, 12 seeds, the stateful design never touching the
    store)."""
    chat = presets.multi_turn_chat()
    pinned = sl.replicate(chat.with_(architecture=presets.STATEFUL), seeds=range(12),
                          progress=False)["latency_p50"]
    def rise(speed):
        free = sl.replicate(chat.with_(**{"store.per_1k_tokens": speed}), seeds=range(12),
                            progress=False)["latency_p50"]
        return stats.confidence_interval(free / pinned - 1, 0.999)
    assert rise(0.05).high < 0.10 < rise(0.2).low


def test_store_latency_is_unstable_at_or_past_the_offered_load():
    runs = pd.DataFrame({"store.servers": [1, 1, 2, 2, 4, 4], "latency_p50": [9, 11, 5, 7, 4, 4.2],
                         "latency_p95": [20, 30, 10, 12, 8, 8.4]})
    table = state.store_latency(runs, stats.CI(1.9, 1.5, 2.3))
    assert table.loc[1, "latency_p50"] == stats.UNSTABLE == table.loc[2, "latency_p95"]
    assert table.loc[4, "latency_p50"].startswith("4.10 [")


@pytest.fixture(scope="module")
def caches():
    chat = presets.multi_turn_chat(**{"store.latency": 0.0, "store.per_1k_tokens": 0.0})
    return state.cache_runs(chat, seeds=range(4))


def test_hosted_prefix_cache_serves_stateless_as_well_as_stateful(caches):
    """With the provider's prefix cache (the hosted default) both designs read the same share of
    their tokens from the cache, seed by seed (to within the few turns cut at the run's ends),
    pay the same for the LLM up to the store's operations, and pinning saves no time."""
    hosted = caches[caches["cache"] == state.CACHES[1]]
    assert (hosted["cached stateless"] - hosted["cached stateful"]).abs().max() < 0.01
    assert (hosted["cached stateful"] > 0.5).all()
    assert (hosted["saved s"].abs() < 1e-6).all()
    extra = hosted["$ per 1k turns stateless"] - hosted["$ per 1k turns stateful"]
    assert (extra.abs() < 0.01 * hosted["$ per 1k turns stateful"]).all()


def test_replica_cache_favours_pinned_sessions_and_first_edition_matches_its_formula(caches):
    """With a cache per replica, a stateless turn that lands on another worker misses: the
    pinned design reads more from the cache, saves time on every seed and pays less (paired
    99.9% CIs). The first edition's pinned-only factor saves (1 - factor) x mean time to first
    token, its formula."""
    replica = caches[caches["cache"] == state.CACHES[2]]
    assert (replica["cached stateful"] > replica["cached stateless"]).all()
    assert stats.confidence_interval(replica["saved s"], 0.999).low > 0
    assert stats.difference(replica["$ per 1k turns stateless"],
                            replica["$ per 1k turns stateful"], 0.999).low > 0
    first = caches[caches["cache"] == state.CACHES[0]]
    llm = presets.multi_turn_chat().llm
    assert_in_ci(first["saved s"], (1 - llm.prompt_cache_factor) * llm.ttft.mean,
                 "first edition's prompt-cache saving")


def test_chat_prefill_rate_is_the_profiled_one():
    from simlib.config import serving_profile
    row = serving_profile("llama-3-8b_a100-80gb_tp1")
    assert presets.CHAT_PREFILL_RATE == pytest.approx(row["prefill_tokens_per_s"])
