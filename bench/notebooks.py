"""Notebooks: wall time, kernel peak memory, and how fast every explorer control redraws.

Each notebook runs top to bottom in a fresh kernel (nbclient, as `make notebooks` does, widget
state not stored). Measured:

* wall time of the cells (kernel start apart). Budget: under 60 s each. Also the CPU time of
  the kernel and its joblib workers (on a shared machine, wall time counts other processes too).
  While the cells run, a thread of this process reads the host's speed every second
  (:func:`host_speed` in CPU time, so that the notebook's own processes do not slow it), and the
  wall time is also given at the host's quiet speed: times its quiet reading (:func:`quiet`)
  over the mean reading during the notebook. The verdict reads that, the raw wall time's beside.
* the kernel's peak resident memory (VmHWM of the kernel process) after the run and after the
  controls were driven, and the peak of its joblib worker processes still alive at the end: what
  a classroom server must hold per learner. No budget; reported for sizing.
* interactivity: then, in the same kernel, every explorer alive (``simlib.widgets.explorers()``)
  has every control (the seed box too) moved through ``--values`` new positions spread over its
  range, one control at a time, each restored before the next. A move is timed by the explorer
  itself (``explorer.timings``: re-run of every design, redraw of every chart, summary table),
  and only moves to a setting the explorer has never seen count, so no cached run flatters the
  numbers; restoring is a cache hit and is not counted. Each such move is then made again
  ``--repeats`` - 1 times from the same state (the explorer's cache and the chooser's kept runs
  as they were before the move; the replays' cut traces forgotten, which can only slow a
  repeat), and the move's time is the best of its tries, as
  ``timeit`` takes it (see bench/engine.py): on this shared 2-vCPU machine the same move takes
  up to twice as long when a neighbour is busy. The first tries, what a learner saw at that
  moment, are reported beside. A slowdown that lasts minutes survives the best of three, so
  after each move the host's speed is read too (:func:`host_speed`: a fixed hand-written SimPy
  queue, the engine benchmark's reference), and each move is also reported at the host's quiet
  speed: its best try times the quiet reading of the whole run over the reading after the move.
  It is a ratio within one run, as every other budget here is (a move and SimPy are both Python
  on one core, slowed alike). Budget (DESIGN.md section 7): p95 under 0.3 s and median under
  0.15 s per update, per notebook and over all: the verdict is given on the moves at the quiet
  moment, and on the first tries.

    python bench/notebooks.py [--values 4] [--repeats 3] [--only 00,04]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
from common import MB, cpu_seconds, descendants, peak, save, table, verdict
from engine import raw_simpy
from nbclient import NotebookClient

BENCH = Path(__file__).resolve().parent
NOTEBOOKS = BENCH.parent / "notebooks"
WALL_BUDGET, P95_BUDGET, MEDIAN_BUDGET = 60.0, 0.3, 0.15
MARK = "BENCH-JSON:"


def host_speed(horizon: float = 300.0, tries: int = 3, clock=time.perf_counter) -> float:
    """Seconds (by ``clock``, wall time by default; best of ``tries``) for the host to play
    the engine benchmark's hand-written SimPy M/M/4 (:func:`engine.raw_simpy`, about 1,000
    customers in 300 s): how fast this machine runs Python at the moment."""
    def once():
        began = clock()
        raw_simpy(horizon, seed=1)
        return clock() - began
    return min(once() for _ in range(tries))


def watch(readings: list[float], stop: threading.Event, every: float = 1.0) -> threading.Thread:
    """Append a reading of :func:`host_speed` (one try, this thread's CPU time) to ``readings``
    every ``every`` seconds until ``stop`` is set."""
    def loop():
        while not stop.wait(every):
            readings.append(host_speed(tries=1, clock=time.thread_time))
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def drive_explorers(n_values: int = 4, repeats: int = 3) -> list[dict]:
    """Run inside the kernel: move every control of every live explorer (see module doc)."""
    import gc

    from simlib.widgets import explorers
    from simlib.workload import cut_sessions

    def again(explorer, state):
        """The move just made, made again from ``state``: the best of the tries."""
        tries = [explorer.timings[-1]]
        for _ in range(repeats - 1):
            explorer.recall(state)
            cut_sessions.cache_clear()
            explorer.update()
            tries.append(explorer.timings[-1])
        return min(tries)

    def trial_values(widget, current):
        if hasattr(widget, "options"):  # a dropdown: other options, by index
            return [("index", i) for i in range(len(widget.options))
                    if i != widget.index][:n_values]
        if isinstance(current, bool):
            return [("value", not current)]
        if not hasattr(widget, "max") or not isinstance(current, (int, float)):
            return []
        if widget.description == "seed" or not hasattr(widget, "step"):
            return [("value", current + k) for k in range(1, n_values + 1)]
        low, high, step = widget.min, widget.max, widget.step or 1
        grid = round((high - low) / step)
        picked = []
        for k in np.linspace(0, grid, n_values).round().astype(int):
            for j in sorted(range(grid + 1), key=lambda j, k=k: abs(j - k)):  # nearest new one
                value = type(current)(round(low + j * step, 10))
                if value != current and value not in picked:
                    picked.append(value)
                    break
        return [("value", v) for v in picked]

    gc.collect()
    out = []
    for explorer in explorers():
        widgets = explorer.controls
        seen = explorer.seen()  # the current setting among them
        record = {"explorer": type(explorer).__name__, "views": list(explorer.views),
                  "controls": {}}
        for label, widget in widgets.items():
            current, times, best, speed, cached = widget.value, [], [], [], 0
            for attribute, value in trial_values(widget, current):
                before, state = len(explorer.timings), explorer.memory()
                setattr(widget, attribute, value)
                key = tuple(x.value for x in widgets.values())
                if len(explorer.timings) > before:
                    if key in seen:
                        cached += 1
                    else:
                        times.append(explorer.timings[-1])
                        best.append(again(explorer, state))
                        speed.append(host_speed())
                seen.add(key)
            widget.value = current
            record["controls"][label] = {"type": type(widget).__name__, "seconds": best,
                                         "first": times, "host": speed, "cached": cached}
        out.append(record)
    return out


def run_notebook(path: Path, n_values: int, repeats: int) -> dict:
    """Execute one notebook in a fresh kernel, then drive its explorers in that kernel."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    began, host, stop = time.perf_counter(), [], threading.Event()
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # not its TCP warning, 8 times
        pid = client.km.provisioner.process.pid
        started, cpu = time.perf_counter(), cpu_seconds(pid)
        watcher = watch(host, stop)
        cells = []
        for index, cell in enumerate(nb.cells):
            before = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.cell_type == "code":
                cells.append((time.perf_counter() - before, index, cell.source.split("\n")[0]))
        wall = time.perf_counter() - started
        stop.set()
        watcher.join()
        cpu = cpu_seconds(pid) - cpu + sum(_cpu(child) for child in descendants(pid))
        peak_run = peak(pid)
        source = (f"import sys\nsys.path.insert(0, {str(BENCH)!r})\n"
                  "from notebooks import drive_explorers\n"
                  f"print({MARK!r} + __import__('json').dumps("
                  f"drive_explorers({n_values}, {repeats})))")
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)
        client.execute_cell(cell, len(nb.cells) - 1)
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        drive = json.loads(text.split(MARK, 1)[1])
        peak_all = peak(pid)
        workers = []
        for child in descendants(pid):
            try:
                workers.append(peak(child))
            except OSError:
                pass
    return {"notebook": path.stem, "wall": wall, "cpu": cpu, "kernel_start": started - began,
            "peak_run_mb": peak_run / MB, "peak_mb": peak_all / MB,
            "workers_peak_mb": sum(workers) / MB, "workers": len(workers), "host": host,
            "slowest_cells": sorted(cells, reverse=True)[:3], "explorers": drive}


def _cpu(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def stats(seconds: list[float]) -> tuple[float, float, float]:
    if not seconds:
        return float("nan"), float("nan"), float("nan")
    return (statistics.median(seconds), float(np.percentile(seconds, 95)), max(seconds))


def interactive_ok(median: float, p95: float) -> bool | None:
    return None if np.isnan(median) else bool(p95 < P95_BUDGET and median < MEDIAN_BUDGET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=4, help="new positions per control")
    parser.add_argument("--repeats", type=int, default=3,
                        help="tries per move; the best counts (1: first tries only)")
    parser.add_argument("--only", default="", help="notebook prefixes, e.g. 00,04")
    args = parser.parse_args()
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem.split("_")[0] in args.only.split(",")]
    runs = []
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        runs.append(run_notebook(path, args.values, args.repeats))

    calm = quiet([h for r in runs for h in r["host"]])
    for r in runs:
        r["slowdown"] = statistics.mean(r["host"]) / calm if r["host"] else float("nan")
        r["wall_quiet"] = r["wall"] / r["slowdown"]
    table(f"Notebook wall time (budget < {WALL_BUDGET:.0f} s), at the host's quiet speed and as "
          "measured, and kernel peak memory",
          ["notebook", "wall s (quiet)", "budget", "host slower by", "wall s", "budget",
           "CPU s (+workers)", "kernel start s", "peak MB (run)", "peak MB (+driving)",
           "workers' peak MB"],
          [[r["notebook"], r["wall_quiet"], verdict(r["wall_quiet"] < WALL_BUDGET),
            r["slowdown"], r["wall"], verdict(r["wall"] < WALL_BUDGET), r["cpu"],
            r["kernel_start"], r["peak_run_mb"], r["peak_mb"], r["workers_peak_mb"]]
           for r in runs])
    for r in runs:
        if r["wall_quiet"] >= WALL_BUDGET:
            print(f"{r['notebook']}: slowest cells " + "; ".join(
                f"[{i}] {s:.1f} s ({line[:40]})" for s, i, line in r["slowest_cells"]))

    readings = [h for r in runs for e in r["explorers"] for h in _moves(e, "host")]
    level = quiet(readings)
    for r in runs:
        for e in r["explorers"]:
            for c in e["controls"].values():
                c["quiet"] = [b * level / h for b, h in zip(c["seconds"], c["host"], strict=True)]
    rows, everything, firsts = [], [], []
    for r in runs:
        for e in r["explorers"]:
            seconds, first = _moves(e, "quiet"), _moves(e, "first")
            everything += seconds
            firsts += first
            rows.append([r["notebook"][:2], f"{e['explorer']}({'+'.join(e['views'])})",
                         len(e["controls"]), len(seconds),
                         sum(c["cached"] for c in e["controls"].values()),
                         *_row(seconds, first)])
        seconds = [s for e in r["explorers"] for s in _moves(e, "quiet")]
        first = [s for e in r["explorers"] for s in _moves(e, "first")]
        best = [s for e in r["explorers"] for s in _moves(e, "seconds")]
        median, p95, top = stats(seconds)
        r["interactivity"] = {"updates": len(seconds), "median": median, "p95": p95, "max": top,
                              "best_of_tries": _named(stats(best)),
                              "first_tries": _named(stats(first))}
        rows.append([r["notebook"][:2], "(notebook)", "", len(seconds), "",
                     *_row(seconds, first)])
    median, p95, top = stats(everything)
    rows.append(["all", "", "", len(everything), "", *_row(everything, firsts)])
    table(f"Interactivity: seconds per uncached update at the host's quiet speed (best of "
          f"{args.repeats} tries, scaled by the host's speed; budget median < {MEDIAN_BUDGET} s, "
          f"p95 < {P95_BUDGET} s), and the first tries as a learner saw them",
          ["nb", "explorer (views)", "controls", "updates", "cached", "median s", "p95 s",
           "max s", "budget", "first: median", "p95", "budget"], rows)
    if readings:
        print(f"host speed (SimPy reference queue after each move): quiet {level * 1e3:.1f} "
              f"ms, median {statistics.median(readings) * 1e3:.1f} ms, slowest "
              f"{max(readings) * 1e3:.1f} ms ({max(readings) / level:.2f}x the quiet)")
    slow = sorted(((s, r["notebook"][:2], label) for r in runs for e in r["explorers"]
                   for label, c in e["controls"].items() for s in c["seconds"]), reverse=True)
    if slow and slow[0][0] >= P95_BUDGET:
        print("slowest controls: " + "; ".join(f"{nb} '{label}' {s:.2f} s"
                                               for s, nb, label in slow[:5]))
    save("notebooks", {"budgets": {"wall_s": WALL_BUDGET, "p95_s": P95_BUDGET,
                                   "median_s": MEDIAN_BUDGET},
                       "repeats": args.repeats, "host_quiet_s": level,
                       "overall": {"updates": len(everything), "median": median, "p95": p95,
                                   "max": top, "first_tries": _named(stats(firsts))},
                       "notebooks": runs})


def _moves(explorer: dict, which: str) -> list[float]:
    """Per uncached move of every control of one explorer's record: seconds, the best of the
    tries (``seconds``), the first tries (``first``) or the best at the host's quiet speed
    (``quiet``); or the host's speed after the move (``host``)."""
    return [s for c in explorer["controls"].values() for s in c[which]]


def quiet(readings: list[float]) -> float:
    """The host's quiet speed: the 10th percentile of its readings over the whole run (not the
    fastest: one lucky reading would flatter every number scaled by it)."""
    return float(np.percentile(readings, 10)) if readings else float("nan")


def _named(numbers: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(("median", "p95", "max"), numbers, strict=True))


def _row(seconds: list[float], first: list[float]) -> list:
    """Median, p95, max and verdict on the best tries; median, p95 and verdict on the first."""
    median, p95, top = stats(seconds)
    first_median, first_p95, _ = stats(first)
    return [median, p95, top, verdict(interactive_ok(median, p95)), first_median, first_p95,
            verdict(interactive_ok(first_median, first_p95))]


if __name__ == "__main__":
    main()
