"""The command line: ``python -m simlib presets|run|sweep|save|fit|review``, mirroring the API.

Examples::

    python -m simlib presets
    python -m simlib run --preset qa_bot --seed 1 --set workload.arrival_rate=3 --turns turns.csv
    python -m simlib sweep --preset mmc --vary workload.arrival_rate=1,2,3 \\
        --vary architecture.state=stateless,stateful --seeds 0-9 --jobs 2 --out sweep.csv
    python -m simlib save --preset assistant --out ours.toml     # a scenario file to edit
    python -m simlib run --scenario ours.toml
    python -m simlib fit calls.csv --out ours.toml               # from your own call logs
    python -m simlib review --scenario ours.toml --slo 20 --budget 5 --load 3 --out review/

Values are read as numbers when they look like numbers, ``none`` as None, and distributions as
``exponential:MEAN``, ``deterministic:VALUE``, ``lognormal:MEDIAN:P95``, ``uniform:LOW:HIGH`` or
``geometric:MEAN`` (a plain number in a distribution field means "always this value").
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

import pandas as pd

from . import dists, files, fit, presets, review
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
    scenario = files.load(args.scenario) if args.scenario else PRESETS[args.preset]()
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


def cmd_save(args) -> None:
    path = files.save(build_scenario(args), args.out)
    print(f"wrote the scenario to {path}", file=sys.stderr)


def cmd_fit(args) -> None:
    fitted = fit.fit(args.logs, gap=args.gap, empirical=not args.lognormal)
    for note in fitted.notes:
        print(f"- {note}", file=sys.stderr)
    if len(fitted.skipped):
        print(f"skipped {len(fitted.skipped)} row(s) (line, column, reason):", file=sys.stderr)
        print(fitted.skipped.head(20).to_string(index=False), file=sys.stderr)
    base = files.load(args.scenario) if args.scenario else None
    path = files.save(fitted.scenario(base), args.out)
    print(f"wrote the fitted scenario to {path}", file=sys.stderr)


def cmd_review(args) -> None:
    result = review.review(build_scenario(args), slo=args.slo, budget=args.budget,
                           load=args.load, width=args.width, n_jobs=args.jobs)
    print(result.summary())
    if args.out:
        md, page = result.write(args.out)
        print(f"wrote {md} and {page}", file=sys.stderr)


def cmd_presets(args) -> None:
    for name in PRESETS:
        doc = (presets.mmc if name == "mmc" else presets.ARTICLE[name]).__doc__
        print(f"{name:11s} {' '.join(doc.split())}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m simlib", description="Simulate AI-agent architectures under load "
        "and faults. Start with 'presets', then 'run' one scenario, then 'sweep' a grid.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True,
                             metavar="{presets,run,sweep,save,fit,review}")
    sub.add_parser("presets", help="list the ready-made scenarios").set_defaults(fn=cmd_presets)
    for name, fn, text in (("run", cmd_run, "one replication: summary, turns, timeline"),
                           ("sweep", cmd_sweep, "every combination of --vary, times --seeds"),
                           ("save", cmd_save, "write a scenario file (TOML) to edit"),
                           ("review", cmd_review, "which designs meet an SLO and a budget")):
        p = sub.add_parser(name, help=text, description=text, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(fn=fn)
        p.add_argument("--preset", choices=sorted(PRESETS), default="qa_bot",
                       help="scenario to start from (default: qa_bot)")
        p.add_argument("--scenario", metavar="FILE",
                       help="a scenario file (TOML, see 'save'); replaces --preset")
        p.add_argument("--set", action="append", default=[], type=parse_assignment,
                       metavar="PATH=VALUE", help="change one field; repeat as needed")
    run_p, sweep_p = sub.choices["run"], sub.choices["sweep"]
    sub.choices["save"].add_argument("--out", required=True, metavar="FILE.toml")
    review_p = sub.choices["review"]
    review_p.add_argument("--slo", type=float, required=True, help="p95 latency target (s)")
    review_p.add_argument("--budget", type=float, required=True,
                          help="dollars per 1,000 ok turns")
    review_p.add_argument("--load", type=float, help="turns per second (default: the "
                          "scenario's)")
    review_p.add_argument("--width", type=float, default=0.1, help="the p95 interval's "
                          "half-width asked for, a share of its mean (default 0.1)")
    review_p.add_argument("--jobs", type=int, default=1, help="parallel processes")
    review_p.add_argument("--out", metavar="FOLDER", help="write review.md and review.html")
    fit_p = sub.add_parser("fit", help="fit a scenario to your call logs",
                           description=fit.__doc__.split("\n\n")[0])
    fit_p.set_defaults(fn=cmd_fit)
    fit_p.add_argument("logs", help="call log: .csv, .parquet or OpenTelemetry .json")
    fit_p.add_argument("--out", required=True, metavar="FILE.toml")
    fit_p.add_argument("--scenario", metavar="FILE", help="a scenario file for the parts "
                       "the log does not tell (architecture, workers, prices...)")
    fit_p.add_argument("--gap", type=float, default=5.0, help="seconds between two calls "
                       "of a session that start a new turn (default 5)")
    fit_p.add_argument("--lognormal", action="store_true", help="log-normal sizes instead "
                       "of the observed values")
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
