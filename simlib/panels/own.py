"""Panels of notebook 10 (your own system): a call log in, a fitted scenario and a review out.

The notebook starts from the shipped example log (``data/example_calls.csv``, an hour of a known
support agent: ``tools/make_example_log.py``), so that what the fit recovers can be held against
what made the log (:func:`comparison`). An engineer then points the same cells at their own log.
:func:`system_panel` lets a learner move the assumptions a design review turns on (the load, the
threads per worker, the provider's error rate) on the fitted scenario, for two designs at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import files, fit, presets
from ..scenario import Scenario
from ..traces import DATA
from ..widgets import Explorer, explore, slider

EXAMPLE_LOG = DATA / "example_calls.csv"
"""An hour of calls of a known support agent (see the module docstring)."""
EXAMPLE_SCENARIO = DATA / "example_scenario.toml"
"""The scenario that made :data:`EXAMPLE_LOG`: what a fit should give back."""


def known() -> Scenario:
    """The scenario that made the example log."""
    return files.load(EXAMPLE_SCENARIO)


def comparison(fitted: fit.Fit, truth: Scenario) -> pd.DataFrame:
    """What the fit found beside what made the log, quantity by quantity."""
    w, k = fitted.workload, truth.workload

    def q(dist, level):
        values = getattr(dist, "values", None)
        if values is not None:
            return float(np.percentile(values, level))
        return dist.median if level == 50 else dist.p95

    rows = [("sessions per second", k.arrival_rate, w.arrival_rate),
            ("turns per session (mean)", k.turns.mean, w.turns.mean),
            ("think time (mean s)", k.think_time.mean, w.think_time.mean),
            ("steps per turn (mean)", k.steps.mean, w.steps.mean),
            ("tool calls per step", k.tools_per_step.mean, w.tools_per_step.mean),
            ("prompt tokens (median)", k.prompt_tokens.median, q(w.prompt_tokens, 50)),
            ("output tokens (p95)", k.output_tokens.p95, q(w.output_tokens, 95)),
            ("tool result tokens (mean)", k.tool_result_tokens.mean, w.tool_result_tokens.mean),
            ("time to first token (median s)", truth.llm.ttft.median, fitted.llm.ttft.median),
            ("decode rate (tokens/s)", truth.llm.decode_rate, fitted.llm.decode_rate),
            ("LLM error rate", truth.llm.error_rate, fitted.llm.error_rate)]
    for tool in fitted.tools:
        made = next((t for t in truth.tools if t.name == tool.name), None)
        if made is not None:
            rows.append((f"{tool.name} latency (p95 s)", made.latency.p95, tool.latency.p95))
    table = pd.DataFrame(rows, columns=["quantity", "made the log", "fitted"])
    table["off by"] = (table["fitted"] / table["made the log"] - 1).map(lambda v: f"{v:+.1%}")
    return table


def system_panel(scenario: Scenario, seed: int = 0) -> Explorer:
    """The fitted system on two designs (sync and async, stateless monoliths), the same
    sessions for both.

    Three simulated minutes a run (after 20 s of warm-up), so that a slider answers within the
    lab's budget. Controls: the turns per second (the load a review asks about), the threads per
    sync worker,
    the provider's error rate. Charts: the latency distribution and the turns in the system.

    What to try:

    - raise the load until the sync design's curve bends: that is where its threads run out;
      the async design holds no thread while it waits, so it bends later;
    - lower the threads per worker to 8 at a middle load: the sync design queues, the async
      one does not notice;
    - raise the error rate: with no retry layer in the fitted model (a logged call already
      holds the SDK's retries), every error is a failed turn step.
    """
    base = scenario.with_(architecture=presets.SIMPLE, duration=180.0, warmup=20.0)
    turns = base.workload.turns.mean

    def load(s: Scenario, value: float) -> Scenario:
        return s.with_(**{"workload.arrival_rate": value / turns})

    rate = min(3.0, max(0.25, round(base.workload.arrival_rate * turns * 4) / 4))
    controls = [slider("load (turns/s)", 0.25, 3.0, 0.25, rate, load),
                slider("threads per sync worker", 2, 40, 2, 40, "workers.slots", integer=True),
                slider("LLM error rate", 0.0, 0.2, 0.01, base.llm.error_rate, "llm.error_rate")]
    return explore(base, controls=controls, views=["latency_cdf", "in_system"],
                   compare=[presets.ASYNC], seed=seed)
