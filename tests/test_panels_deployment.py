"""The explorers of notebook 03 (monolith vs microservices), driven without a browser.

Each test moves a control the way a learner would and checks that the charts moved in the
direction the mechanism dictates: a monolith's tool crash fails the turns in flight on one
replica, however long the restart; a microservice's crash fails calls for as long as it is down;
a network hop, its errors and partitions touch microservices only. Then the notebook's flip
points, each checked by simulation with paired intervals on both sides of it: the restart from
which a bad deploy costs microservices more turns than the monolith, and the slow-down from
which a slow tool cuts goodput in either deployment.
"""

import numpy as np
import pandas as pd
import pytest
from panels import SEEDS, bars, median_latency, per_seed, window_mean

import simlib as sl
from simlib import presets
from simlib.panels import deployment as dep

MONO, MICRO = presets.SIMPLE.name, presets.MICROSERVICES.name


def turns_ending(explorer, outcome: str = "failed") -> dict[str, int]:
    """Turns per design with ``outcome``, read from the outcomes chart."""
    return {name: int(counts.get(outcome, 0)) for name, counts in bars(explorer).items()}


def goodput(explorer, low: float, high: float) -> dict[str, float]:
    """Mean ok turns per second over [low, high), read from the goodput chart."""
    return {trace.name: window_mean(trace, low, high) for trace in explorer.figures[1].data}


@pytest.fixture(scope="module")
def crashes():
    """Failed turns per design and seed for: no crash, a code crash restarting in 30 s and in
    120 s, and a search crash restarting in 120 s."""
    explorer = dep.blast_radius_panel()
    seen = {}
    for seed in SEEDS:
        explorer.controls["seed"].value = seed
        explorer.controls["crashed tool"].value = "code"
        for restart in (0, 30, 120):
            explorer.controls["tool crash: restart (s)"].value = restart
            seen["code", restart, seed] = turns_ending(explorer)
        explorer.controls["crashed tool"].value = "search"
        seen["search", 120, seed] = turns_ending(explorer)
        explorer.controls["tool crash: restart (s)"].value = 0
    return explorer, seen


def total(seen, key, design):
    return sum(seen[(*key, seed)][design] for seed in SEEDS)


def test_no_crash_no_failures_and_every_move_is_timed(crashes):
    explorer, seen = crashes
    for seed in SEEDS:
        assert seen["code", 0, seed] == {MONO: 0, MICRO: 0}
    assert len(explorer.timings) >= 4 * len(SEEDS)
    assert all(t > 0 for t in explorer.timings)


def test_a_tool_crash_fails_turns_in_both_deployments(crashes):
    _, seen = crashes
    assert total(seen, ("code", 30), MONO) > 0 and total(seen, ("search", 120), MICRO) > 0


def test_a_longer_restart_costs_the_monolith_nothing_more(crashes):
    """The monolith's balancer routes new turns around the dead replica: only the turns in
    flight at the crash fail, whatever the restart."""
    _, seen = crashes
    for seed in SEEDS:
        assert seen["code", 120, seed][MONO] == seen["code", 30, seed][MONO]


def test_a_crashed_replica_is_routed_around_a_lone_one_refuses_until_back(crashes):
    """A crash takes down one replica. The code service has three: its balancer routes around
    the dead one, so only calls in progress on it fail. Search has one: the service refuses
    every call until it is back, so it fails more turns, though it gets half the calls. The
    monolith loses the same turns whichever part crashed (its whole replica goes down)."""
    _, seen = crashes
    for seed in SEEDS:
        assert seen["search", 120, seed][MONO] == seen["code", 120, seed][MONO]
    assert total(seen, ("search", 120), MICRO) > total(seen, ("code", 120), MICRO)


def test_more_load_puts_more_turns_in_the_monolith_blast_radius():
    """More turns in flight on the crashed replica (Little's law): more fail at the crash."""
    explorer = dep.blast_radius_panel()
    explorer.controls["tool crash: restart (s)"].value = 30
    failed = {}
    for rate in (0.2, 1.0):
        explorer.controls["arrival rate (sessions/s)"].value = rate
        failed[rate] = sum(per_seed(explorer, lambda e: turns_ending(e)[MONO]))
    assert failed[1.0] > 2 * failed[0.2]


@pytest.fixture(scope="module")
def network():
    return dep.network_panel()


def test_hop_latency_slows_microservices_only(network):
    before = median_latency(network, 0)
    network.controls["hop latency (s)"].value = 0.3
    after = median_latency(network, 0)
    network.controls["hop latency (s)"].value = 0.005
    assert after[MICRO] > before[MICRO] + 0.3  # at least one hop per turn
    assert after[MONO] == before[MONO]
    assert len(network.timings) >= 2


def test_network_errors_lower_microservices_availability_only(network):
    network.controls["network error rate"].value = 0.05
    availability = network.summary()["availability"]
    network.controls["network error rate"].value = 0.0
    assert availability[MONO] == 1.0
    assert availability[MICRO] < 0.95  # several hops a turn, each failing 5% of the time


def test_a_partition_cuts_microservices_goodput_for_its_window(network):
    calm = goodput(network, 150, 270)
    network.controls["partition to code (s)"].value = 120
    cut, before = goodput(network, 150, 270), goodput(network, 60, 150)
    network.controls["partition to code (s)"].value = 0
    assert cut[MICRO] < 0.5 * before[MICRO]
    assert cut[MONO] == calm[MONO]  # a monolith's tool calls never cross the network


def test_in_series_turns_call_the_context_service_and_the_code_tool_once():
    turns = sl.run(presets.tool_heavy_in_series(duration=300), seed=0).turns
    done = turns[turns["outcome"] == "ok"]
    assert len(done) > 100
    assert (done["tool_calls"] == 1).all() and (done["store_ops"] == 1).all()


def test_size_for_p95_finds_more_capacity_meets_the_target():
    scenario = presets.tool_heavy(**{"workload.arrival_rate": 0.4})
    table = dep.size_for_p95(scenario, "workers.count", [1, 3], target=40.0, seeds=range(4))
    assert list(table["meets"]) != ["yes", "yes"] and table["meets"].iloc[-1] == "yes"
    assert list(table.index) == [1, 3] and table["stable"].all()
    assert table["infra_per_hour"].is_monotonic_increasing
    assert (table["low"] <= table["mean"]).all() and (table["mean"] <= table["high"]).all()


def test_size_for_p95_calls_an_unstable_queue_a_miss():
    """One monolith replica at 1.6 sessions/s: its code tool is offered more than it carries."""
    scenario = presets.tool_heavy(duration=300, **{"workload.arrival_rate": 1.6})
    table = dep.size_for_p95(scenario, "workers.count", [1], target=1e9, seeds=range(2))
    assert not table["stable"].iloc[0] and table["meets"].iloc[0] == "no"


def test_the_which_replicas_control_turns_a_crash_into_a_bad_deploy():
    explorer = dep.blast_radius_panel()
    explorer.controls["tool crash: restart (s)"].value = 30
    one = sum(per_seed(explorer, lambda e: turns_ending(e)[MONO]))
    explorer.controls["which replicas"].value = "every replica (bad deploy)"
    every = sum(per_seed(explorer, lambda e: turns_ending(e)[MONO]))
    assert every > 2 * one  # three replicas' turns in flight, not one's


# -- the crash flip: which crash, and how long the restart ---------------------------------------


def paired(sweep, design_a, design_b, scope, restart, column="n_failed"):
    """Paired interval (same seeds) of design_a's minus design_b's ``column``."""
    rows = sweep[(sweep["scope"] == scope) & (sweep["restart"] == restart)]
    a, b = (rows[rows["design"] == d].sort_values("seed")[column].to_numpy()
            for d in (design_a, design_b))
    return sl.stats.difference(a, b)


@pytest.fixture(scope="module")
def crash_runs():
    short = presets.tool_heavy(duration=400)
    return dep.crash_sweep(short, "code", restarts=(1, 5, 15, 30), seeds=range(10))


def test_one_replica_crash_costs_the_monolith_more(crash_runs):
    """A code replica crashing on its own: the monolith loses its turns in flight, the
    microservices only the calls in progress on that replica (10 seeds, paired)."""
    assert paired(crash_runs, "monolith", "microservices", "one replica", 30).low > 0


def test_bad_deploy_flip_holds_on_both_sides(crash_runs):
    """The flip read from the means lies between the restarts where the paired intervals say
    the monolith loses more (1 s) and the microservices lose more (15 s, 30 s)."""
    flip = dep.restart_flip(crash_runs)
    bad = "every replica (bad deploy)"
    assert 1 < flip < 15
    assert paired(crash_runs, "monolith", "microservices", bad, 1).low > 0
    for restart in (15, 30):
        assert paired(crash_runs, "microservices", "monolith", bad, restart).low > 0
    # the monolith's loss is the turns in flight, whatever the restart
    mono = crash_runs[(crash_runs["scope"] == bad) & (crash_runs["design"] == "monolith")]
    by_restart = mono.groupby("restart")["n_failed"].mean()
    assert by_restart.max() - by_restart.min() < 0.2 * by_restart.mean()


def test_restart_flip_interpolates_between_the_means():
    rows = [("every replica (bad deploy)", r, d, n) for r, d, n in [
        (10, "monolith", 10.0), (10, "microservices", 6.0),
        (20, "monolith", 10.0), (20, "microservices", 14.0)]]
    table = pd.DataFrame(rows, columns=["scope", "restart", "design", "n_failed"])
    assert dep.restart_flip(table) == pytest.approx(15.0)


# -- fast against slow failures ------------------------------------------------------------------


def test_slow_service_hits_both_deployments_alike_and_the_flip_holds():
    """A slow code tool (every replica), 6 seeds: below the flip both deployments keep more than
    90% of their calm goodput, at 4 times the flip both are under it, and the two deployments'
    goodputs are within a paired interval of each other (the split does not isolate it)."""
    scenario = presets.tool_heavy(duration=300)
    sweep = dep.slow_sweep(scenario, factors=(1, 2, 4, 6, 10), timeout=10.0, seeds=range(6))
    for design in ("monolith", "microservices"):
        flip = dep.slow_flip(sweep, design)
        assert 2 < flip < 10
        runs = sweep[(sweep["design"] == design) & (sweep["timeout"] == 0)]
        calm = runs[runs["factor"] == 1].sort_values("seed")["goodput"].to_numpy()
        worst = runs[runs["factor"] == 10].sort_values("seed")["goodput"].to_numpy()
        mild = runs[runs["factor"] == 2].sort_values("seed")["goodput"].to_numpy()
        assert sl.confidence_interval(worst / calm).high < 0.9
        assert sl.confidence_interval(mild / calm).high > 0.9
    at10 = sweep[(sweep["factor"] == 10) & (sweep["timeout"] == 0)]
    split = paired(at10.assign(scope="slow", restart=0), "microservices", "monolith", "slow", 0,
                   "goodput")
    assert split.low < 0 < split.high
    # a timeout bounds the loss: at 10x, goodput with it is above goodput without it
    micro = sweep[(sweep["design"] == "microservices") & (sweep["factor"] == 10)]
    with_timeout, without = (micro[micro["timeout"] == t].sort_values("seed")["goodput"]
                             .to_numpy() for t in (10.0, 0.0))
    assert sl.stats.difference(with_timeout, without).low > 0


def test_parallel_replicas_availability():
    assert dep.parallel_availability(0.9, 1) == pytest.approx(0.9)
    assert dep.parallel_availability(0.9, 3) == pytest.approx(1 - 0.1 ** 3)
    assert np.isclose(dep.parallel_availability(1.0, 2), 1.0)


def test_blast_radius_runs_both_deployments_on_the_same_seeds():
    runs = dep.blast_radius(presets.tool_heavy(duration=300), "code", 30, at=150.0,
                            seeds=range(2))
    assert sorted(set(runs["design"])) == ["microservices", "monolith"]
    assert list(runs["seed"]) == [0, 1, 0, 1] and (runs["tool"] == "code").all()
    assert (runs["n_failed"] >= runs["cause_crash"] + runs["cause_service_down"]).all()


# -- where "scale parts" starts to pay ------------------------------------------------------------


def test_cost_flip_is_where_the_sized_bills_cross():
    costs = dep.cost_by_load(presets.tool_heavy())
    flip = dep.cost_flip(costs)
    assert 0.4 < flip < 1.6  # the notebook's two simulated loads fall on either side
    above, below = costs[costs.index >= flip], costs[costs.index < flip]
    assert (above["microservices"] < above["monolith"]).all()
    assert (below["microservices"] >= below["monolith"]).iloc[-1]
    # the bills are those of the fleets the utilisation rule sizes, priced by the cost model
    scenario = presets.tool_heavy(**{"workload.arrival_rate": flip})
    fleet = sl.capacity.size_fleet(scenario.with_(architecture=presets.MICROSERVICES))
    assert costs.loc[flip, "microservices"] == pytest.approx(
        dep.infrastructure_per_hour(fleet))


def test_fleets_sized_at_70_percent_are_stable_and_meet_the_target():
    """The rule of thumb's fleets on both sides of the flip, simulated (4 seeds): stable, and
    the p95 of every ended turn within the notebook's 40 s target."""
    for rate in (0.4, 1.6):
        for arch in (presets.SIMPLE, presets.MICROSERVICES):
            fleet = sl.capacity.size_fleet(presets.tool_heavy(
                architecture=arch, **{"workload.arrival_rate": rate}))
            assert sl.capacity.stable(fleet)
            runs = sl.replicate(fleet, seeds=range(4), progress=False)
            assert sl.confidence_interval(runs["latency_all_p95"]).high < 40.0
