"""Make the example call log that notebook 10 and the fit tests start from.

    python tools/make_example_log.py [--out data]

It writes ``data/example_scenario.toml`` (a known scenario: a customer-support agent, every
quantity chosen here and stated in the file) and ``data/example_calls.csv``, the call log of one
simulated hour of it (``simlib.run(..., log_calls=True)``: one row per LLM request and per tool
call, as the agents' own logs would have them). Fitting the log (``simlib.fit``) should give back
the scenario's rates, sizes and latencies: ``tests/test_fit.py`` checks how closely. The output
depends only on this script and simlib (fixed seed), so running it again gives the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import simlib as sl
from simlib import files
from simlib.dists import Exponential, Geometric, LogNormal, Uniform

HERE = Path(__file__).resolve().parent.parent / "data"
SEED = 7


def example() -> sl.Scenario:
    """The known scenario: a support agent (stateless, sync, a monolith) of about 4 turns a
    session, 30 s of thinking, about 2 agent steps a turn, a knowledge-base search in half
    the steps. Its LLM fails 2% of the calls (no SDK retries, so the log shows every failure)."""
    workload = sl.Workload(
        arrival_rate=0.4, turns=Geometric(4), think_time=Exponential(30.0),
        steps=Geometric(2), tools_per_step=Uniform(0.0, 1.0),
        prompt_tokens=LogNormal(median=300, p95=1200), output_tokens=LogNormal(median=200,
                                                                               p95=700),
        tool_result_tokens=LogNormal(median=300, p95=1500))
    return sl.Scenario(
        architecture=sl.presets.SIMPLE, workload=workload,
        llm=sl.LLM(ttft=LogNormal(median=0.5, p95=1.5), decode_rate=90.0, error_rate=0.02,
                   sdk_retries=0),
        tools=(sl.Tool("kb_search", LogNormal(median=0.4, p95=2.5), capacity=None),),
        workers=sl.Workers(count=3), duration=3600.0, warmup=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE), help="folder (default: data/)")
    out = Path(parser.parse_args().out)
    scenario = example()
    files.save(scenario, out / "example_scenario.toml")
    calls = sl.run(scenario, SEED, log_calls=True).calls
    calls = calls.round({"start": 4, "end": 4, "ttft": 4})
    calls.to_csv(out / "example_calls.csv", index=False)
    print(f"wrote {out / 'example_scenario.toml'} and {len(calls)} calls to "
          f"{out / 'example_calls.csv'}")


if __name__ == "__main__":
    main()
