"""Sweeps: one 8 designs x 10 loads x 10 seeds sweep (800 runs), three ways.

The assistant preset (multi-turn chat with a tool) over the eight designs (state x execution x
deployment) and ten arrival rates, ten seeds each, through ``simlib.sweep``:

* serially (``n_jobs=1``);
* on two joblib processes (``n_jobs=2``, loky; starting the workers is inside the timing);
* on a ``dask.distributed`` LocalCluster of two single-threaded worker processes, through
  ``joblib.parallel_config(backend="dask")`` (the cluster's start is timed apart).

Reported: wall time, speed-up over serial, and whether the table is identical to the serial one
(every run draws from its own seed, so where a run happens must not change a single number).
Budget: identical results (required); the issue names no speed-up target, and two processes on
this 2-core machine can at best halve the time.

    python bench/sweeps.py [--duration 1800] [--seeds 10]
"""

from __future__ import annotations

import argparse
import sys
import time

import joblib
import numpy as np
from common import save, table, verdict

import simlib as sl


def grid(loads: int) -> dict:
    return {"architecture.state": ["stateless", "stateful"],
            "architecture.execution": ["sync", "async"],
            "architecture.deployment": ["monolith", "microservices"],
            "workload.arrival_rate": [round(x, 3) for x in np.linspace(0.05, 0.5, loads)]}


def timed(fn):
    began = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="simulated s per run")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    base, cells = sl.presets.assistant(duration=args.duration), grid(args.loads)
    seeds = range(args.seeds)

    def sweep(n_jobs):
        return sl.sweep(base, cells, seeds=seeds, n_jobs=n_jobs, progress=False)

    serial, t_serial = timed(lambda: sweep(1))
    loky, t_loky = timed(lambda: sweep(2))
    from dask.distributed import Client, LocalCluster
    began = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster):
        t_start = time.perf_counter() - began
        with joblib.parallel_config(backend="dask"):
            dask, t_dask = timed(lambda: sweep(2))
    runs, turns = len(serial), int(serial["arrivals"].sum())
    rows = [["serial (n_jobs=1)", t_serial, 1.0, t_serial / runs * 1e3, "reference", "-"],
            ["joblib loky n_jobs=2", t_loky, t_serial / t_loky, t_loky / runs * 1e3,
             str(loky.equals(serial)), verdict(loky.equals(serial))],
            [f"dask LocalCluster 2x1 (+{t_start:.1f} s start)", t_dask, t_serial / t_dask,
             t_dask / runs * 1e3, str(dask.equals(serial)), verdict(dask.equals(serial))]]
    table(f"Sweep: 8 designs x {args.loads} loads x {args.seeds} seeds = {runs} runs of "
          f"{args.duration:.0f} s ({turns:,} measured turns in all)",
          ["how", "wall s", "speed-up", "ms/run", "identical", "budget"], rows)
    save("sweeps", {"runs": runs, "duration": args.duration, "measured_turns": turns,
                    "serial_s": t_serial, "loky_s": t_loky, "dask_s": t_dask,
                    "dask_cluster_start_s": t_start, "speedup_loky": t_serial / t_loky,
                    "speedup_dask": t_serial / t_dask, "identical_loky": loky.equals(serial),
                    "identical_dask": dask.equals(serial)})
    if not (loky.equals(serial) and dask.equals(serial)):
        sys.exit("parallel sweeps differ from the serial one")


if __name__ == "__main__":
    main()
