"""Panels of notebook 00 (start here): one queue, held against the M/M/c formula.

The explorer here is the lab's simplest: ``presets.mmc`` is an agent reduced to a single queue
(requests arrive at random, wait for one of ``c`` workers, each takes an exponential 1 s of LLM
time on average), so every number it shows has a formula to check it against.
"""

from __future__ import annotations

from .. import presets
from ..widgets import Explorer, explore, flash_crowd, latency_spike, slider

SERVICE_MEAN = 1.0
"""Seconds of work per request in the panels' queue (one LLM call)."""


def mmc_panel(seed: int = 0, arrival_rate: float = 3.0, servers: int = 4,
              duration: float = 500.0) -> Explorer:
    """Explore an M/M/c queue: simulated p95 next to the Erlang C formula's p95.

    Controls: the arrival rate (0.4 to 3.9 requests per second, so that with the default 4
    workers utilisation runs from 10% to 97.5%), the number of workers (1 to 8), an LLM slow-down
    (every call x times slower for 60 s from t = 200 s) and a flash crowd (x times the arrival
    rate for 60 s from t = 200 s).

    What to try:

    - move the arrival rate up in steps and watch the p95 bar: it hardly moves until about 70%
      utilisation, then shoots up (the hockey stick); the dashed line is the formula;
    - remove workers at 3 requests per second: with 3, utilisation is 100% and the formula line
      disappears (no steady state); with 2, the in-system curve climbs for the whole run, by
      about one request per second, instead of hovering;
    - add a 3x LLM slow-down: the formula does not change (it knows nothing about the fault), but
      the in-system curve piles up during the red window and takes a long time to drain, so the
      simulated p95 leaves the formula behind. A formula describes the steady state, not a bad
      minute;
    - add a 2x flash crowd at 3 requests per second: 6 arrive per second while 4 are served, so
      about 120 requests pile up in the minute, and drain at the spare 1 per second;
    - change the seed: one 500 s run is one draw, so the bar moves around the line; near full
      utilisation it moves a lot.
    """
    scenario = presets.mmc(arrival_rate, SERVICE_MEAN, servers, duration=duration,
                           warmup=50.0)
    controls = [
        slider("arrival rate (per s)", 0.4, 3.9, 0.1, arrival_rate, "workload.arrival_rate"),
        slider("workers", 1, 8, 1, servers, "workers.count", integer=True),
        latency_spike("llm", start=200.0, duration=60.0, label="LLM slow-down x"),
        flash_crowd(start=200.0, duration=60.0, label="flash crowd x"),
    ]
    return explore(scenario, controls=controls,
                   views=["p95_vs_formula", "latency_cdf", "in_system"], seed=seed)
