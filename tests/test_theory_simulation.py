"""Theory: the simulation, reduced to textbook queues, matches the textbook formulas.

Each test runs the M/M/c preset (built only from public configuration) with fixed seeds, takes
one number per replication and checks the formula lies in the 99.9% confidence interval of their
mean (see tests/stats.py). These are the guarantees the notebooks' "simulated vs formula" charts
rest on.
"""

import pytest
from stats import assert_in_ci

import simlib as sl
from simlib import theory

SEEDS = range(30)


def replications(scenario, seeds=SEEDS):
    return sl.replicate(scenario, seeds=seeds, progress=False)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_mm1_wait_and_time_in_system(rho):
    scenario = sl.presets.mmc(rho, 1.0, 1, duration=4000, warmup=400)
    table = replications(scenario)
    assert_in_ci(table["mean_queue_wait"], theory.mm1_wait(rho, 1.0), f"M/M/1 Wq rho={rho}")
    assert_in_ci(table["latency_mean"], theory.mm1_sojourn(rho, 1.0), f"M/M/1 W rho={rho}")


@pytest.mark.parametrize("servers", [4, 8])
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_mmc_erlang_c_wait(servers, rho):
    rate = rho * servers
    table = replications(sl.presets.mmc(rate, 1.0, servers, duration=2000, warmup=200))
    assert_in_ci(table["mean_queue_wait"], theory.mmc_wait(rate, 1.0, servers),
                 f"M/M/{servers} Wq rho={rho}")
    assert_in_ci(table["latency_mean"], theory.mmc_sojourn(rate, 1.0, servers),
                 f"M/M/{servers} W rho={rho}")


def test_mmc_probability_of_waiting_is_erlang_c():
    rate, servers = 3.2, 4
    scenario = sl.presets.mmc(rate, 1.0, servers, duration=2000, warmup=200)
    waited = []
    for seed in SEEDS:
        turns = sl.run(scenario, seed).turns
        turns = turns[~turns["warmup"] & (turns["outcome"] == "ok")]
        waited.append(float(((turns["admitted"] - turns["arrival"]) > 1e-12).mean()))
    assert_in_ci(waited, theory.erlang_c(rate, 1.0, servers), "P(wait > 0)")


def test_mmc_p95_time_in_system():
    rate, servers = 3.2, 4
    table = replications(sl.presets.mmc(rate, 1.0, servers, duration=4000, warmup=400))
    assert_in_ci(table["latency_p95"], theory.mmc_sojourn_quantile(rate, 1.0, servers, 0.95),
                 "M/M/4 p95 of time in system")


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_md1_waits_as_pollaczek_khinchine_says(rho):
    scenario = sl.presets.mmc(rho, 1.0, 1, duration=4000, warmup=400, kind="deterministic")
    table = replications(scenario)
    assert_in_ci(table["mean_queue_wait"], theory.md1_wait(rho, 1.0), f"M/D/1 Wq rho={rho}")
    assert theory.md1_wait(rho, 1.0) == pytest.approx(theory.mm1_wait(rho, 1.0) / 2)


@pytest.mark.parametrize("offered", [2.0, 6.0])
def test_no_queue_blocks_as_erlang_b(offered):
    servers = 4
    scenario = sl.presets.mmc(offered, 1.0, servers, duration=2000, warmup=200, queue_limit=0)
    table = replications(scenario)
    blocked = table["n_shed"] / table["arrivals"]
    assert_in_ci(blocked, theory.erlang_b(offered, 1.0, servers), f"Erlang B A={offered}")


@pytest.mark.parametrize("rho", [0.7, 1.3])
def test_bounded_queue_blocks_as_mm1k(rho):
    capacity = 5  # one in service plus a queue of 4
    scenario = sl.presets.mmc(rho, 1.0, 1, duration=4000, warmup=400, queue_limit=capacity - 1)
    table = replications(scenario)
    blocked = table["n_shed"] / table["arrivals"]
    assert_in_ci(blocked, theory.mm1k_blocking(rho, 1.0, capacity), f"M/M/1/5 rho={rho}")


def test_pooling_beats_sticky_routing_as_the_formulas_say():
    """Stateless (one queue before c workers) is M/M/c; stateful sticky routing of sessions to
    workers at random is c separate M/M/1 queues at lambda/c."""
    rate, servers = 3.2, 4
    pooled = sl.presets.mmc(rate, 1.0, servers, duration=4000, warmup=400)
    sticky = pooled.with_(**{"architecture.state": "stateful"})
    formulas = theory.split_vs_pooled(rate, 1.0, servers)
    pooled_wait = replications(pooled)["mean_queue_wait"]
    sticky_wait = replications(sticky)["mean_queue_wait"]
    assert_in_ci(pooled_wait, formulas["pooled_wait"], "pooled (stateless) wait")
    assert_in_ci(sticky_wait, formulas["split_wait"], "sticky (stateful) wait")
    assert sticky_wait.mean() > 2 * pooled_wait.mean()
