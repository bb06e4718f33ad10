"""Engine benchmark: simlib's M/M/c preset against a hand-written SimPy M/M/c and Ciw.

All three simulate the same queue (lambda = 3.2/s, mean service 1 s, c = 4, horizon T) and the
repeats are interleaved, so that load on this shared machine hits all three alike. The result is
a ratio measured in one run: microseconds per served request, relative to raw SimPy.
Budget (DESIGN.md section 7): simlib within 1.5 x SimPy, and ahead of Ciw.

    python bench/engine.py [--horizon 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import simpy

import simlib as sl

RATE, MEAN, SERVERS = 3.2, 1.0, 4


def raw_simpy(horizon: float, seed: int) -> int:
    """The textbook SimPy M/M/c: one process per customer, one Resource."""
    rng, env = random.Random(seed), simpy.Environment()
    servers, served = simpy.Resource(env, SERVERS), []

    def customer():
        arrived = env.now
        with servers.request() as request:
            yield request
            yield env.timeout(rng.expovariate(1 / MEAN))
        served.append(env.now - arrived)

    def source():
        while True:
            yield env.timeout(rng.expovariate(RATE))
            env.process(customer())

    env.process(source())
    env.run(until=horizon)
    return len(served)


def with_simlib(horizon: float, seed: int) -> int:
    scenario = sl.presets.mmc(RATE, MEAN, SERVERS, duration=horizon, warmup=0.0)
    turns = sl.run(scenario, seed).turns
    return int((turns["outcome"] == "ok").sum())


def with_ciw(horizon: float, seed: int) -> int:
    import ciw
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(RATE)],
                                 service_distributions=[ciw.dists.Exponential(1 / MEAN)],
                                 number_of_servers=[SERVERS])
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(horizon)
    return len(simulation.get_all_records())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=float, default=20000.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    engines = {"simpy": raw_simpy, "simlib": with_simlib}
    try:
        import ciw  # noqa: F401
        engines["ciw"] = with_ciw
    except ImportError:
        print("ciw is not installed (pip install -e .[dev]): skipping it")
    per_request = {name: [] for name in engines}
    for repeat in range(args.repeats):
        for name, engine in engines.items():
            began = time.perf_counter()
            served = engine(args.horizon, repeat)
            per_request[name].append((time.perf_counter() - began) / served * 1e6)
    base = statistics.median(per_request["simpy"])
    print(f"M/M/{SERVERS}, rate {RATE}/s, horizon {args.horizon:.0f} s, {args.repeats} "
          "interleaved repeats")
    print(f"{'engine':8s} {'us/request (median)':>20s} {'ratio to SimPy':>15s}")
    for name, values in per_request.items():
        median = statistics.median(values)
        print(f"{name:8s} {median:20.1f} {median / base:15.2f}")
    print("budget: simlib <= 1.50 x SimPy and faster than Ciw")


if __name__ == "__main__":
    main()
