"""The explorers of notebook 01 (stateless vs stateful), driven without a browser.

Each test moves a control the way a learner would and checks that the charts moved the way the
mechanism says, averaged over a few seeds (the explorer's seed box), never on one seed's luck.
"""

import numpy as np
import pytest
from panels import over_seeds

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
