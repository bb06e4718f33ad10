"""Rates per time bucket (``plots.per_second``) and the goodput chart drawn from them: every
bucket from 0 to the end of the run is there, an empty one as 0, so a full outage shows as a
drop to zero and not as a line that jumps over the gap."""

import numpy as np
import pandas as pd

import simlib as sl
from simlib import plots
from simlib.faults import Outage


def test_per_second_counts_or_sums_and_zero_fills_empty_buckets():
    times = pd.Series([1.0, 2.0, 35.0])
    counts = plots.per_second(times, None, duration=40.0, bucket=10.0)
    assert list(counts.index) == [5.0, 15.0, 25.0, 35.0]
    assert list(counts) == [0.2, 0.0, 0.0, 0.1]
    sums = plots.per_second(times, pd.Series([3, 1, 2]), duration=40.0, bucket=10.0)
    assert list(sums) == [0.4, 0.0, 0.0, 0.2]


def test_goodput_drops_to_zero_during_a_full_outage():
    scenario = sl.presets.qa_bot(duration=300.0, warmup=30.0,
                                 faults=(Outage("llm", start=150.0, duration=60.0,
                                                error_rate=1.0),))
    turns = sl.run(scenario, 0).turns
    trace = plots.goodput_over_time({"run": turns}, scenario.duration).data[0]
    x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
    assert list(x) == [5.0 + 10 * i for i in range(30)]  # every bucket, none skipped
    inside = (x > 160.0) & (x < 210.0)  # a call begun before 150 s may still end by 160 s
    assert inside.sum() == 5 and np.all(y[inside] == 0.0)
    assert np.all(y[(x > 40.0) & (x < 150.0)] > 0.0)  # ok turns before the outage
    assert y[x > 230.0].mean() > 0.0  # and after it
