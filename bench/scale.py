"""Scale: how wall time and memory grow with the number of turns, up to 1,000,000.

The assistant preset (multi-turn chat with a search tool, stateful sync monolith, 0.5 sessions/s
of about 6 turns: about 3 turns/s, below saturation) runs for a horizon chosen to give 10^4 ...
10^6 turns, each size in a fresh Python process so that its peak memory is its own. Each child
imports simlib and does a tiny run first (so every lazy import is paid), reads its resident
memory (the baseline), then times ``sl.run`` and ``result.summary()`` and reads its peak resident
memory (VmHWM) after the run (which builds the DataFrames at its end) and after the summary.

Reported per size: turns, seconds, microseconds per turn, peak memory, and memory beyond the
baseline per turn; then the log-log slopes of time and of memory beyond the baseline against
turns (1 is linear). Budgets: the 1,000,000-turn run's whole-process peak under 1 GB (DESIGN.md
section 7); both slopes at most 1.1 (no worse than linear, with a little room for noise).

    python bench/scale.py [--sizes 1e4,3e4,1e5,3e5,1e6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from common import MB, peak, rss, save, table, verdict

MEMORY_BUDGET, SLOPE_BUDGET = 1024 * MB, 1.1


def child(turns: int) -> dict:
    """One size, in this (fresh) process."""
    import simlib as sl
    workload = sl.presets.assistant().workload  # sessions/s x turns per session = turns/s
    scenario = sl.presets.assistant(duration=turns / (workload.arrival_rate * workload.turns.mean))
    sl.run(sl.presets.assistant(duration=200), 0).summary()
    baseline = rss()
    began, cpu = time.perf_counter(), time.process_time()
    result = sl.run(scenario, 1)
    ran, peak_run = time.perf_counter() - began, peak()
    summary = result.summary()
    done, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {"turns": len(result.turns), "run_s": ran, "summary_s": done - ran, "wall_s": done,
            "cpu_s": cpu,
            "baseline_mb": baseline / MB, "peak_run_mb": peak_run / MB, "peak_mb": peak() / MB,
            "availability": float(summary["availability"]),
            "utilisation": float(summary["utilisation"])}


def slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,3e4,1e5,3e5,1e6")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child))))
        return
    rows = []
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        print(f"running about {size:,} turns ...", flush=True)
        out = subprocess.run([sys.executable, __file__, "--child", str(size)], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    turns = np.array([r["turns"] for r in rows], dtype=float)
    wall = np.array([r["wall_s"] for r in rows])
    grown = np.array([max(r["peak_mb"] - r["baseline_mb"], 1e-3) for r in rows])
    largest = rows[-1]
    table("Scale: the assistant preset, one fresh process per size",
          ["turns", "run s", "summary s", "cpu s", "us/turn", "peak MB (run)", "peak MB",
           "baseline MB",
           "beyond baseline B/turn", "peak < 1 GB"],
          [[r["turns"], r["run_s"], r["summary_s"], r["cpu_s"], r["wall_s"] / r["turns"] * 1e6,
            r["peak_run_mb"], r["peak_mb"], r["baseline_mb"],
            (r["peak_mb"] - r["baseline_mb"]) * MB / r["turns"],
            verdict(r["peak_mb"] * MB < MEMORY_BUDGET) if r["turns"] >= 900_000 else "-"]
           for r in rows])
    fits = {"time": slope(turns, wall), "memory": slope(turns, grown)}
    table(f"Growth from {turns[0]:,.0f} to {turns[-1]:,.0f} turns: log-log slope (1 = linear)",
          ["quantity", "slope", f"budget <= {SLOPE_BUDGET}"],
          [["wall time", fits["time"], verdict(fits["time"] <= SLOPE_BUDGET)],
           ["memory beyond baseline", fits["memory"], verdict(fits["memory"] <= SLOPE_BUDGET)]])
    save("scale", {"budgets": {"peak_mb": MEMORY_BUDGET / MB, "slope": SLOPE_BUDGET},
                   "sizes": rows, "slopes": fits,
                   "largest_under_budget": largest["peak_mb"] * MB < MEMORY_BUDGET})


if __name__ == "__main__":
    main()
