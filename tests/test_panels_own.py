"""Notebook 10's panel (your own system): the fit beside the scenario that made the log, and
the explorer of the fitted system.

The comparison must line up each fitted quantity with the one that made the example log; the
explorer must show what capacity arithmetic predicts: with too few threads a sync worker's
queue is unstable (offered load past its capacity) and its latency above the async design's on
the same sessions, seed after seed, while with ample threads the two are the same runs.
"""

import numpy as np
import pytest

import simlib as sl
from simlib import capacity
from simlib.panels import own


@pytest.fixture(scope="module")
def fitted():
    return sl.fit.fit(own.EXAMPLE_LOG)


def test_the_comparison_lines_up_each_quantity(fitted):
    table = own.comparison(fitted, own.known())
    assert list(table.columns) == ["quantity", "made the log", "fitted", "off by"]
    rate = table.set_index("quantity").loc["sessions per second"]
    assert rate["made the log"] == own.known().workload.arrival_rate
    assert rate["fitted"] == fitted.workload.arrival_rate
    ratio = (table["fitted"] / table["made the log"]).to_numpy()
    assert np.all(np.isfinite(ratio)) and "kb_search latency (p95 s)" in set(table["quantity"])


def p95s(panel):
    rows = panel.summary()
    return rows.loc["stateless/sync/monolith", "latency_p95"], \
        rows.loc["stateless/async/monolith", "latency_p95"]


def test_the_explorer_follows_capacity(fitted):
    panel = own.system_panel(fitted.scenario())
    try:
        panel.controls["load (turns/s)"].value = 1.0
        panel.controls["threads per sync worker"].value = 2
        scenario = panel.current()
        assert not capacity.stable(scenario), "2 threads should not carry 1 turn/s here"
        for seed in (1, 2, 3):  # an unstable queue: slower on every seed, the same sessions
            panel.controls["seed"].value = seed
            sync, asynchronous = p95s(panel)
            assert sync > asynchronous
        panel.controls["threads per sync worker"].value = 40
        assert capacity.stable(panel.current())
        sync, asynchronous = p95s(panel)
        assert sync == pytest.approx(asynchronous, rel=0.05)
        assert len(panel.timings) == 6
    finally:
        panel.close()
