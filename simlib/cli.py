"""The command line: ``python -m simlib run|sweep|presets``, mirroring the Python API.

Examples::

    python -m simlib presets
    python -m simlib run --preset qa_bot --seed 1 --set workload.arrival_rate=3 --turns turns.csv
    python -m simlib sweep --preset mmc --vary workload.arrival_rate=1,2,3 \\
        --vary architecture.state=stateless,stateful --seeds 0-9 --jobs 2 --out sweep.csv

Values are read as numbers when they look like numbers, ``none`` as None, and distributions as
``exponential:MEAN``, ``deterministic:VALUE``, ``lognormal:MEDIAN:P95``, ``uniform:LOW:HIGH`` or
``geometric:MEAN`` (a plain number in a distribution field means "always this value").
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

import pandas as pd

from . import dists, presets
from .engine import run
from .experiment import sweep

PRESETS = {"mmc": lambda: presets.mmc(arrival_rate=3.0, service_mean=1.0, servers=4),
           **{name: fn for name, fn in presets.ARTICLE.items()}}

DISTS = {"exponential": dists.Exponential, "deterministic": dists.Deterministic,
         "lognormal": dists.LogNormal, "uniform": dists.Uniform, "geometric": dists.Geometric}

EPILOG = """\
examples:
  python -m simlib presets
  python -m simlib run --preset qa_bot --seed 1 --turns turns.csv
  python -m simlib run --preset mmc --set workload.arrival_rate=3.5 --set workers.count=5
  python -m simlib sweep --preset assistant --vary workload.arrival_rate=0.2,0.4,0.8 \\
      --vary architecture.state=stateless,stateful --seeds 0-9 --jobs 2 --out sweep.csv

values: numbers, words (sync, async, ...), none, or a distribution such as exponential:1.5,
lognormal:0.6:1.5 (median:p95), uniform:0:2, deterministic:0.5, geometric:4.
paths: any field of a Scenario, dotted: workload.arrival_rate, workers.count, llm.error_rate,
architecture.execution, tools.search.capacity, duration, warmup, ...
"""


def parse_value(text: str, path: str = "value"):
    """A command-line value as a Python value (number, None, distribution or word)."""
    if text.lower() == "none":
        return None
    name, _, args = text.partition(":")
    if args and name.lower() in DISTS:
        try:
            numbers = [float(a) for a in args.split(":")]
        except ValueError:
            raise ValueError(f"{path} must be a distribution like {name}:1.5 with numbers "
                             f"after the colons, got {text!r}") from None
        return DISTS[name.lower()](*numbers)
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_assignment(text: str) -> tuple[str, str]:
    path, sep, value = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected PATH=VALUE, got {text!r}")
    return path.strip(), value.strip()


def parse_seeds(text: str) -> list[int]:
    """``0-9`` or ``1,2,5``."""
    try:
        if "-" in text:
            low, high = text.split("-", 1)
            return list(range(int(low), int(high) + 1))
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise ValueError(f"--seeds must look like 0-9 or 1,2,5, got {text!r}") from None


def build_scenario(args):
    scenario = PRESETS[args.preset]()
    changes = {path: parse_value(value, path) for path, value in args.set}
    return scenario.with_(**changes)


def check_output(path: str | None) -> None:
    """Refuse a Parquet path before any run when no Parquet engine is installed."""
    if path and path.endswith(".parquet") and importlib.util.find_spec("pyarrow") is None:
        raise ValueError(f"writing {path!r} needs pyarrow: pip install pyarrow (or use .csv)")


def write(frame: pd.DataFrame, path: str) -> None:
    if path.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    print(f"wrote {len(frame)} rows to {path}", file=sys.stderr)


def cmd_run(args) -> None:
    for path in (args.summary, args.turns, args.timeline):
        check_output(path)
    result = run(build_scenario(args), seed=args.seed)
    summary = result.summary()
    if args.summary:
        write(summary.to_frame().T, args.summary)
    else:
        print(summary.to_string(float_format=lambda v: f"{v:.6g}"))
    if args.turns:
        write(result.turns, args.turns)
    if args.timeline:
        write(result.timeline, args.timeline)


def cmd_sweep(args) -> None:
    grid = {path: [parse_value(v, path) for v in values.split(",")]
            for path, values in args.vary}
    check_output(args.out)
    table = sweep(build_scenario(args), grid, seeds=parse_seeds(args.seeds), n_jobs=args.jobs)
    write(table, args.out)


def cmd_presets(args) -> None:
    for name in PRESETS:
        doc = (presets.mmc if name == "mmc" else presets.ARTICLE[name]).__doc__
        print(f"{name:11s} {' '.join(doc.split())}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m simlib", description="Simulate AI-agent architectures under load "
        "and faults. Start with 'presets', then 'run' one scenario, then 'sweep' a grid.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True, metavar="{presets,run,sweep}")
    sub.add_parser("presets", help="list the ready-made scenarios").set_defaults(fn=cmd_presets)
    for name, fn, text in (("run", cmd_run, "one replication: summary, turns, timeline"),
                           ("sweep", cmd_sweep, "every combination of --vary, times --seeds")):
        p = sub.add_parser(name, help=text, description=text, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(fn=fn)
        p.add_argument("--preset", choices=sorted(PRESETS), default="qa_bot",
                       help="scenario to start from (default: qa_bot)")
        p.add_argument("--set", action="append", default=[], type=parse_assignment,
                       metavar="PATH=VALUE", help="change one field; repeat as needed")
    run_p, sweep_p = sub.choices["run"], sub.choices["sweep"]
    run_p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    run_p.add_argument("--turns", metavar="FILE", help="write the turns table (.csv/.parquet)")
    run_p.add_argument("--timeline", metavar="FILE", help="write the timeline table")
    run_p.add_argument("--summary", metavar="FILE", help="write the summary instead of printing")
    sweep_p.add_argument("--vary", action="append", default=[], type=parse_assignment,
                         required=True, metavar="PATH=V1,V2,...", help="a grid axis; repeat")
    sweep_p.add_argument("--seeds", default="0-4", help="seeds: 0-9 or 1,2,5 (default: 0-4)")
    sweep_p.add_argument("--jobs", type=int, default=1, help="parallel processes (default: 1)")
    sweep_p.add_argument("--out", required=True, metavar="FILE", help="where to write the table")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
