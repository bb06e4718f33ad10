"""Soak: 1,000,000 turns with every fault and every resilience policy on.

The assistant workload on a stateful, async, microservices design (the one design where every
pattern applies: checkpoints need state, the dead-letter queue needs async, partitions need a
network) with every fault of ``simlib.faults`` (outage, latency spikes of the LLM and the
workers, a partition, crashes of a worker and of the store, random worker and store crashes all
along, random LLM and tool incidents, a flash crowd), background error rates and a provider rate
limit, and every policy of ``simlib.resilience`` (rate limit, circuit breaker, bulkhead, retry
with full-jitter backoff and a retry budget, timeouts that cancel and that do not, load shedding,
fallback, checkpointing, dead letters). Fixed-time faults are spread over the whole run, so the
second half sees faults too.

Memory flat after warm-up. A thread samples the process four times a second while the engine runs:
its resident memory (VmRSS), the bytes in the recorder's column buffers, and the number of live
Python objects (``sys.getallocatedblocks()``: every small object the interpreter holds, floats
and tuples included; the big column buffers are not among them). What is kept grows with the
turns on purpose (one row per turn, one per timeline sample), so two criteria, each a least
squares slope against turns started over the second half of the simulated horizon:

* live objects grow by less than 0.05 per turn. A leak of anything per turn (a SimPy event, a
  turn's state, one float in a list) is at least 1 per turn; a bounded working set (turns in
  flight, contexts held, breaker windows, the breakers' short event logs) is flat, give or take
  its fluctuations (about 10,000 objects here, so about 0.02 per turn over 500,000 turns).
* resident memory grows by at most twice what the records grow by. The records' buffers grow by
  reallocation, and the C allocator keeps some freed space, so RSS can outgrow the bytes in them
  by up to that much; anything beyond is memory kept that is not records.

The whole-process peak of the run, which includes building the DataFrames at its end and the
summary (not the checks below), is reported too, against the 1 GB budget.

Every arrival accounted for: the turns that started (counted by wrapping ``Run.new_turn``) are
exactly the rows of the turns table; every row has one of the outcomes and each (session, turn)
appears once, with turn numbers 1, 2, ... without gaps; every session that arrived (its arrival
times drawn again from the seed) has its first turn, at its arrival time; and the summary's
``n_<outcome>`` counts add up to its ``arrivals``.

    python bench/soak.py [--turns 1e6] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from array import array

import numpy as np
from common import MB, peak, rss, save, table, verdict

import simlib as sl
from simlib import faults as f
from simlib.engine import Run
from simlib.records import OUTCOMES
from simlib.streams import Streams
from simlib.workload import session_arrivals

OBJECTS_BUDGET, RSS_BUDGET = 0.05, 2.0  # live objects per turn; RSS growth / records growth
MEMORY_BUDGET = 1024 * MB  # whole-process peak


def scenario(turns: float) -> sl.Scenario:
    base = sl.presets.assistant()
    horizon = turns / (base.workload.arrival_rate * base.workload.turns.mean)

    def at(share):
        return round(share * horizon)
    faults = (f.Outage("llm", at(0.15), 600, 0.5), f.LatencySpike("llm", at(0.35), 300, 5.0),
              f.LatencySpike("workers", at(0.55), 300, 3.0),
              f.Partition("context", at(0.65), 120), f.Crash("workers", at(0.75), 60, 1),
              f.Crash("store", at(0.85), 30),
              f.RandomCrashes("workers", mttf=4 * 3600, mttr=60),
              f.RandomCrashes("store", mttf=6 * 3600, mttr=20),
              f.RandomOutages("llm", 6 * 3600, 300, 1800, 0.5),
              f.provider_incidents("tools.search", error_rate=0.3),
              sl.FlashCrowd(at(0.45), 300, 3.0))

    def policy(timeout, cancel=True):
        return sl.Policy(rate_limit=sl.RateLimit(per_second=20, burst=40),
                         breaker=sl.CircuitBreaker(), bulkhead=sl.Bulkhead(32, 64),
                         retry=sl.Retry(2, "full", budget=sl.RetryBudget()),
                         timeout=sl.Timeout(timeout, cancel))
    resilience = sl.Resilience(
        llm=policy(20.0), tools=policy(5.0, cancel=False), store=policy(1.0),
        shedding=sl.LoadShedding(max_queue=200, max_wait=60.0), fallback=sl.Fallback(),
        checkpoint=sl.Checkpointing(every_turns=2), dead_letter=sl.DeadLetter(30.0, 2))
    return base.with_(**{
        "architecture": sl.Architecture("stateful", "async", "microservices"),
        "llm.error_rate": 0.02, "llm.requests_per_minute": 600.0,
        "store.error_rate": 0.005, "network.error_rate": 0.001,
        "tools": (sl.Tool("search", base.tools[0].latency, 0.02, capacity=16, replicas=2),),
        "faults": faults, "resilience": resilience, "duration": float(horizon)})


def record_bytes(recorder) -> int:
    """Bytes held in the recorder's column buffers (any array.array in it)."""
    total = 0
    for value in vars(recorder).values():
        for buffer in value.values() if isinstance(value, dict) else [value]:
            if isinstance(buffer, array):
                total += len(buffer) * buffer.itemsize
    return total


def count_turns(run: Run) -> list[int]:
    """Count the turns ``run`` starts (in the returned list's one item)."""
    started, new_turn = [0], run.new_turn

    def counted(*args, **kwargs):
        started[0] += 1
        return new_turn(*args, **kwargs)
    run.new_turn = counted
    return started


def watch(run: Run, started: list[int], samples: list, stop: threading.Event) -> None:
    while not stop.wait(0.25):
        samples.append((run.env.now, started[0], rss(), record_bytes(run.recorder),
                        sys.getallocatedblocks()))


def accounting(s: sl.Scenario, seed: int, result, started: int) -> dict[str, bool]:
    turns, summary = result.turns, result.summary()
    times = session_arrivals(s.workload, s.duration, Streams(seed).rng["arrivals"], s.faults)
    order = turns.sort_values(["session", "turn"])
    session, number = order["session"].to_numpy(), order["turn"].to_numpy()
    first = np.r_[True, session[1:] != session[:-1]]
    expected = np.arange(len(session)) - np.maximum.accumulate(
        np.where(first, np.arange(len(session)), 0)) + 1  # 1, 2, ... within each session
    firsts = order[first]
    counts = [summary[k] for k in summary.index if k.startswith("n_")]
    return {
        "a row per started turn": len(turns) == started,
        "one known outcome per row": bool(turns["outcome"].notna().all()) and set(
            map(str, turns["outcome"].unique())) <= set(OUTCOMES),
        "(session, turn) once, no gaps": bool(np.array_equal(number, expected)),
        "every arrived session started": bool(
            np.array_equal(firsts["session"], np.arange(len(times)))
            and np.allclose(firsts["arrival"], times)),
        "outcome counts = arrivals": int(sum(counts)) == int(summary["arrivals"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=float, default=1e6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    s = scenario(args.turns)
    sl.run(sl.presets.assistant(duration=200), 0).summary()  # pay every lazy import first
    baseline = rss()
    run, samples, stop = Run(s, args.seed), [], threading.Event()
    started = count_turns(run)
    sampler = threading.Thread(target=watch, args=(run, started, samples, stop), daemon=True)
    began, cpu = time.perf_counter(), time.process_time()
    sampler.start()
    result = run.play()
    stop.set()
    sampler.join()
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    del run  # as after sl.run: the recorder's buffers go
    gc.collect()
    result.summary()
    top = peak()  # the run, its DataFrames and its summary (not the checks below)
    checks = accounting(s, args.seed, result, started[0])

    now, n, resident, kept, objects = (np.array(c, dtype=float) for c in zip(*samples,
                                                                             strict=True))
    running = now < s.duration  # later samples: building the DataFrames
    late = (now >= s.duration / 2) & running

    def growth(y):  # per turn started, over the second half
        return float(np.polyfit(n[late], y[late], 1)[0]) if late.sum() >= 3 else float("nan")
    per_turn = {"objects": growth(objects), "rss_b": growth(resident), "records_b": growth(kept)}
    flat = {"objects": per_turn["objects"] < OBJECTS_BUDGET,
            "rss": per_turn["rss_b"] <= RSS_BUDGET * per_turn["records_b"]}
    if late.sum() < 3:  # too short a run to tell
        flat = {"objects": None, "rss": None}
    counts = result.summary()[[k for k in result.summary().index if k.startswith("n_")]]
    print("outcomes: " + ", ".join(f"{k[2:]} {int(v):,}" for k, v in counts.items() if v))
    table(f"Soak: {len(result.turns):,} turns, every fault and policy on "
          f"({s.duration:,.0f} simulated s, seed {args.seed})",
          ["measure", "value", "budget", "result"],
          [["wall time, s", wall, "-", "-"],
           ["CPU time, s (the machine may be shared)", cpu, "-", "-"],
           ["us per turn (wall)", wall / len(result.turns) * 1e6, "-", "-"],
           ["baseline RSS, MB", baseline / MB, "-", "-"],
           ["RSS at half time, MB", float(resident[late][0]) / MB if late.any() else
            float("nan"), "-", "-"],
           ["RSS at the end of the run, MB", float(resident[running][-1]) / MB, "-", "-"],
           ["records at the end, MB", float(kept[running][-1]) / MB, "-", "-"],
           ["records' growth, B/turn (2nd half)", per_turn["records_b"], "-", "-"],
           ["RSS growth, B/turn (2nd half)", per_turn["rss_b"],
            f"<= {RSS_BUDGET:g} x records'", verdict(flat["rss"])],
           ["live Python objects at half time", int(objects[late][0]), "-", "-"],
           ["live Python objects at the end", int(objects[running][-1]), "-", "-"],
           ["live objects' growth per turn (2nd half)", per_turn["objects"],
            f"< {OBJECTS_BUDGET}", verdict(flat["objects"])],
           ["peak RSS incl. DataFrames, MB", top / MB, "< 1024", verdict(top < MEMORY_BUDGET)]]
          + [[name, str(ok), "True", verdict(ok)] for name, ok in checks.items()])
    save("soak", {"turns": len(result.turns), "duration": s.duration, "seed": args.seed,
                  "wall_s": wall, "cpu_s": cpu, "baseline_mb": baseline / MB, "peak_mb": top / MB,
                  "growth_per_turn_2nd_half": per_turn, "flat": flat,
                  "accounting": checks, "outcomes": {k: int(v) for k, v in counts.items()},
                  "samples": {"sim_time": now.tolist(), "turns_started": n.tolist(),
                              "rss_mb": (resident / MB).tolist(),
                              "records_mb": (kept / MB).tolist(),
                              "live_objects": objects.tolist()}})
    if not all(checks.values()):
        sys.exit("some arrivals are not accounted for")


if __name__ == "__main__":
    main()
