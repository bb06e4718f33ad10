"""Shared pieces of the benchmarks: the machine, memory readings, tables and result files.

Every benchmark prints one table per measurement with a PASS/MISS column against its budget
(DESIGN.md section 7 and the benchmark issue) and writes the same numbers, with the machine they
were measured on, to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MB = 1024 * 1024


def machine() -> dict:
    """CPU count and model, Python, platform and the date: what a number was measured on."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": sys.version.split()[0],
            "platform": platform.platform(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def status(pid: int | str = "self") -> dict[str, int]:
    """The memory lines of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes (Linux only)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") and value.strip().endswith("kB"):
            out[key] = int(value.split()[0]) * 1024
    return out


def rss(pid: int | str = "self") -> int:
    """Resident memory now, bytes."""
    return status(pid)["VmRSS"]


def peak(pid: int | str = "self") -> int:
    """Peak resident memory so far (VmHWM), bytes."""
    return status(pid)["VmHWM"]


def descendants(pid: int) -> list[int]:
    """The live child processes of ``pid``, recursively (joblib/loky workers of a kernel)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            out += [child, *descendants(child)]
    return out


def cpu_seconds(pid: int | str = "self") -> float:
    """CPU time (user + system) of a process and of its children it has waited for, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def table(title: str, header: list[str], rows: list[list]) -> None:
    """Print an aligned table: text left, numbers right."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(header)]
    numeric = [all(_is_number(row[i]) for row in rows) for i in range(len(header))]
    print(f"\n{title}")

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def save(name: str, results: dict) -> Path:
    """Write ``results`` with the machine to bench/results/<name>.json; returns the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"bench": name, "machine": machine(), **results}, indent=1,
                               default=float) + "\n")
    print(f"\n(results written to {path})")
    return path
