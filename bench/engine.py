"""Engine benchmark: simlib's M/M/c preset against a hand-written SimPy M/M/c and Ciw.

All simulate the same queue (lambda = 3.2/s, mean service 1 s, c = 4, horizon T) and the
repeats are interleaved, so that load on this shared machine hits them alike. The result is a
ratio measured in one run: CPU microseconds (``time.process_time``: other processes on this
shared machine do not count, as they would in wall time) per served request, relative to raw
SimPy. Budget (DESIGN.md section 7): simlib within 2.0 x SimPy, and ahead of Ciw.

Each engine's time is the best of its repeats, as ``timeit`` takes it: "the min() of the
results ... is the lower bound for how fast your machine can run the given code snippet; higher
values ... are typically ... caused by ... other processes interfering with your timing
accuracy" (Python docs, ``timeit.Timer.repeat``). On this shared 2-vCPU machine one repeat of
the same code can take 1.8 times another (a neighbour's load slows caches and clocks, and
process time does not remove that), so the median is printed too but the verdict reads the best.

A reference row, ``simpy+plan+record``, is the hand-written SimPy queue that also does the things
simlib must do for every turn whatever its design, with simlib's own parts: draw the session's
work with simlib's ``Planner`` at arrival (common random numbers), queue on simlib's ``Slots``
(its lean stand-in for ``simpy.Resource``), and record the turn's row with simlib's
``Recorder``. It is the floor for any engine with simlib's outputs built on these parts; the gap
between it and simlib is what the generality of a turn costs (eight designs, admission, calls,
policies and faults, written as nested generators).

simlib plays this queue with its textbook turn (``architectures.textbook_turn``: chosen once per
run when nothing but a dependency's own answer can end a turn early). A second reference row,
``simlib, general turn``, is simlib forced onto its general turn (the one every design with a
worker crash, a policy, a redelivery or an agent-loop trouble plays), on the same queue:
the same turns table (checked on every run), so the gap is what the general turn's machinery
costs when it has nothing to do.

    python bench/engine.py [--horizon 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time

import simpy
from common import save, table, verdict

import simlib as sl

RATE, MEAN, SERVERS = 3.2, 1.0, 4
BUDGET = 2.0  # DESIGN.md section 7: simlib's CPU time per request at most 2.0 x raw SimPy's


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


def planned_and_recorded(horizon: float, seed: int) -> int:
    """Raw SimPy plus simlib's planning, slots and recording (see the module docstring)."""
    from simlib.engine import TurnState
    from simlib.records import Recorder
    from simlib.slots import Slots
    from simlib.streams import Streams
    from simlib.workload import Planner

    scenario = sl.presets.mmc(RATE, MEAN, SERVERS, duration=horizon, warmup=0.0)
    planner, recorder = Planner(scenario, Streams(seed)), Recorder(scenario, {})
    rng, env = random.Random(seed), simpy.Environment()
    servers = Slots(env, SERVERS)

    def customer(sid):
        _, plans = planner.session()
        state = TurnState(sid, 1, env.now)
        with servers.request() as request:
            yield request
            state.admitted = env.now
            yield env.timeout(plans[0].ttft[0])
        recorder.turn(state, env.now, "ok", None)

    def source():
        for sid in itertools.count():
            yield env.timeout(rng.expovariate(RATE))
            env.process(customer(sid))

    env.process(source())
    env.run(until=horizon)
    return recorder.rows


def general_turns(scenario: sl.Scenario, seed: int):
    """simlib's turns table with its general turn, whatever the scenario."""
    from simlib import architectures
    choose, architectures.choose = architectures.choose, lambda run: architectures.turn
    try:
        return sl.run(scenario, seed).turns
    finally:
        architectures.choose = choose


def with_general_turn(horizon: float, seed: int) -> int:
    scenario = sl.presets.mmc(RATE, MEAN, SERVERS, duration=horizon, warmup=0.0)
    return int((general_turns(scenario, seed)["outcome"] == "ok").sum())


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
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    scenario = sl.presets.mmc(RATE, MEAN, SERVERS, duration=min(args.horizon, 2000.0))
    if not general_turns(scenario, 0).equals(sl.run(scenario, 0).turns):
        raise SystemExit("the general and the textbook turns' tables differ: fix the textbook")
    engines = {"simpy": raw_simpy, "simlib": with_simlib,
               "simpy+plan+record": planned_and_recorded, "simlib, general turn": with_general_turn}
    try:
        import ciw  # noqa: F401
        engines["ciw"] = with_ciw
    except ImportError:
        print("ciw is not installed (pip install -e .[dev]): skipping it")
    per_request = {name: [] for name in engines}
    for repeat in range(args.repeats):
        for name, engine in engines.items():
            began = time.process_time()
            served = engine(args.horizon, repeat)
            per_request[name].append((time.process_time() - began) / served * 1e6)
    best = {name: min(values) for name, values in per_request.items()}
    median = {name: statistics.median(values) for name, values in per_request.items()}
    base = best["simpy"]
    budget = {"simlib": best["simlib"] <= BUDGET * base and
              best["simlib"] < best.get("ciw", float("inf"))}
    table(f"Engine: M/M/{SERVERS}, rate {RATE}/s, horizon {args.horizon:.0f} s, "
          f"{args.repeats} interleaved repeats, CPU time",
          ["engine", "us/request (best)", "ratio to SimPy", "median", "median ratio",
           f"budget: <= {BUDGET:g} x SimPy, < Ciw"],
          [[name, value, value / base, median[name], median[name] / median["simpy"],
            verdict(budget.get(name))] for name, value in best.items()])
    print(f"simlib's general turn / its textbook turn (the same turns table): "
          f"{best['simlib, general turn'] / best['simlib']:.2f}x, what the general "
          f"turn's machinery costs when it has nothing to do")
    presets = preset_speeds()
    table("Realistic presets: simulated turns per CPU second (one seed; what the mechanisms "
          "each preset switches on cost)", ["preset", "turns", "turns per CPU second"],
          [[name, turns, rate] for name, (turns, rate) in presets.items()])
    save("engine", {"horizon": args.horizon, "repeats": args.repeats,
                    "us_per_request": per_request, "best": best, "median": median,
                    "ratio_to_simpy": {n: v / base for n, v in best.items()},
                    "median_ratio_to_simpy": {n: v / median["simpy"]
                                              for n, v in median.items()},
                    "within_budget": budget["simlib"],
                    "preset_turns_per_cpu_second": {n: r for n, (_, r) in presets.items()}})


def preset_speeds(duration: float = 3600.0) -> dict[str, tuple[int, float]]:
    """Turns simulated per CPU second on each of the article's presets, one hour each."""
    out = {}
    for name, preset in sl.presets.ARTICLE.items():
        began = time.process_time()
        turns = len(sl.run(preset(duration=duration), seed=0).turns)
        out[name] = (turns, turns / (time.process_time() - began))
    return out


if __name__ == "__main__":
    main()
