"""The explorers of notebook 03 (monolith vs microservices), driven without a browser.

Each test moves a control the way a learner would and checks that the charts moved in the
direction the mechanism dictates: a monolith's tool crash fails the turns in flight on one
replica, however long the restart; a microservice's crash fails calls for as long as it is down;
a network hop, its errors and partitions touch microservices only.
"""

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
    scenario = presets.tool_heavy(duration=300, **{"workload.arrival_rate": 0.4})
    table = dep.size_for_p95(scenario, "workers.count", [1, 3], target=40.0, seeds=range(2))
    assert list(table["meets"]) == [False, True] and list(table.index) == [1, 3]
    assert table["infra_per_hour"].is_monotonic_increasing
    assert (table["low"] <= table["mean"]).all() and (table["mean"] <= table["high"]).all()


def test_blast_radius_runs_both_deployments_on_the_same_seeds():
    runs = dep.blast_radius(presets.tool_heavy(duration=300), "code", 30, at=150.0,
                            seeds=range(2))
    assert sorted(set(runs["design"])) == ["microservices", "monolith"]
    assert list(runs["seed"]) == [0, 1, 0, 1] and (runs["tool"] == "code").all()
    assert (runs["n_failed"] >= runs["cause_crash"] + runs["cause_service_down"]).all()
