"""Notebooks: wall time, kernel peak memory, and how fast every explorer control redraws.

Each notebook runs top to bottom in a fresh kernel (nbclient, as `make notebooks` does, widget
state not stored). Measured:

* wall time of the cells (kernel start apart). Budget: under 60 s each. Also the CPU time of
  the kernel and its joblib workers (on a shared machine, wall time counts other processes too).
* the kernel's peak resident memory (VmHWM of the kernel process) after the run and after the
  controls were driven, and the peak of its joblib worker processes still alive at the end: what
  a classroom server must hold per learner. No budget; reported for sizing.
* interactivity: then, in the same kernel, every explorer alive (``simlib.widgets.explorers()``)
  has every control (the seed box too) moved through ``--values`` new positions spread over its
  range, one control at a time, each restored before the next. A move is timed by the explorer
  itself (``explorer.timings``: re-run of every design, redraw of every chart, summary table),
  and only moves to a setting the explorer has never seen count, so no cached run flatters the
  numbers; restoring is a cache hit and is not counted. Budget (DESIGN.md section 7): p95 under
  0.3 s and median under 0.15 s per update, per notebook and over all.

    python bench/notebooks.py [--values 4] [--only 00,04]
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import subprocess
import time
from pathlib import Path

import nbformat
import numpy as np
from common import MB, cpu_seconds, descendants, peak, save, table, verdict
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WALL_BUDGET, P95_BUDGET, MEDIAN_BUDGET = 60.0, 0.3, 0.15
MARK = "BENCH-JSON:"


def drive_explorers(n_values: int = 4) -> list[dict]:
    """Run inside the kernel: move every control of every live explorer (see module doc)."""
    import gc

    from simlib.widgets import explorers

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
        seen = {tuple(x.value for x in widgets.values())}
        seen |= {k for k in getattr(explorer, "_cache", {}) if isinstance(k, tuple)
                 and len(k) == len(widgets)}
        record = {"explorer": type(explorer).__name__, "views": list(explorer.views),
                  "controls": {}}
        for label, widget in widgets.items():
            current, times, cached = widget.value, [], 0
            for attribute, value in trial_values(widget, current):
                before = len(explorer.timings)
                setattr(widget, attribute, value)
                key = tuple(x.value for x in widgets.values())
                if len(explorer.timings) > before:
                    if key in seen:
                        cached += 1
                    else:
                        times.append(explorer.timings[-1])
                seen.add(key)
            widget.value = current
            record["controls"][label] = {"type": type(widget).__name__, "seconds": times,
                                         "cached": cached}
        out.append(record)
    return out


def run_notebook(path: Path, n_values: int) -> dict:
    """Execute one notebook in a fresh kernel, then drive its explorers in that kernel."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    began = time.perf_counter()
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # not its TCP warning, 8 times
        pid = client.km.provisioner.process.pid
        started, cpu = time.perf_counter(), cpu_seconds(pid)
        cells = []
        for index, cell in enumerate(nb.cells):
            before = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.cell_type == "code":
                cells.append((time.perf_counter() - before, index, cell.source.split("\n")[0]))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu + sum(_cpu(child) for child in descendants(pid))
        peak_run = peak(pid)
        source = (f"import numpy as np\n{inspect.getsource(drive_explorers)}\n"
                  f"print({MARK!r} + __import__('json').dumps(drive_explorers({n_values})))")
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
            "workers_peak_mb": sum(workers) / MB, "workers": len(workers),
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
    parser.add_argument("--only", default="", help="notebook prefixes, e.g. 00,04")
    args = parser.parse_args()
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem.split("_")[0] in args.only.split(",")]
    runs = []
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        runs.append(run_notebook(path, args.values))

    table(f"Notebook wall time (budget < {WALL_BUDGET:.0f} s) and kernel peak memory",
          ["notebook", "wall s", "CPU s (+workers)", "kernel start s", "peak MB (run)",
           "peak MB (+driving)", "workers' peak MB", "wall"],
          [[r["notebook"], r["wall"], r["cpu"], r["kernel_start"], r["peak_run_mb"], r["peak_mb"],
            r["workers_peak_mb"], verdict(r["wall"] < WALL_BUDGET)] for r in runs])
    for r in runs:
        if r["wall"] >= WALL_BUDGET:
            print(f"{r['notebook']}: slowest cells " + "; ".join(
                f"[{i}] {s:.1f} s ({line[:40]})" for s, i, line in r["slowest_cells"]))

    rows, everything = [], []
    for r in runs:
        for e in r["explorers"]:
            seconds = [s for c in e["controls"].values() for s in c["seconds"]]
            cached = sum(c["cached"] for c in e["controls"].values())
            everything += seconds
            median, p95, top = stats(seconds)
            rows.append([r["notebook"][:2], f"{e['explorer']}({'+'.join(e['views'])})",
                         len(e["controls"]), len(seconds), cached, median, p95, top,
                         verdict(interactive_ok(median, p95))])
        seconds = [s for e in r["explorers"] for c in e["controls"].values() for s in c["seconds"]]
        median, p95, top = stats(seconds)
        r["interactivity"] = {"updates": len(seconds), "median": median, "p95": p95, "max": top}
        rows.append([r["notebook"][:2], "(notebook)", "", len(seconds), "", median, p95, top,
                     verdict(interactive_ok(median, p95))])
    median, p95, top = stats(everything)
    rows.append(["all", "", "", len(everything), "", median, p95, top,
                 verdict(interactive_ok(median, p95))])
    table(f"Interactivity: seconds per uncached update (budget median < {MEDIAN_BUDGET} s, "
          f"p95 < {P95_BUDGET} s)",
          ["nb", "explorer (views)", "controls", "updates", "cached", "median s", "p95 s",
           "max s", "budget"], rows)
    slow = sorted(((s, r["notebook"][:2], label) for r in runs for e in r["explorers"]
                   for label, c in e["controls"].items() for s in c["seconds"]), reverse=True)
    if slow and slow[0][0] >= P95_BUDGET:
        print("slowest controls: " + "; ".join(f"{nb} '{label}' {s:.2f} s"
                                               for s, nb, label in slow[:5]))
    save("notebooks", {"budgets": {"wall_s": WALL_BUDGET, "p95_s": P95_BUDGET,
                                   "median_s": MEDIAN_BUDGET},
                       "overall": {"updates": len(everything), "median": median, "p95": p95,
                                   "max": top}, "notebooks": runs})


if __name__ == "__main__":
    main()
