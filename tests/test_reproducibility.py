"""Same seed, same turns table: in one process, in another process, in a parallel sweep.

And common random numbers: two designs run with one seed see identical session arrivals and
identical planned work, so the difference between them is the design's.
"""

import hashlib
import subprocess
import sys

import joblib
import pandas as pd
import pytest

import simlib as sl

SCENARIO = sl.presets.assistant(duration=400, warmup=40, **{"llm.error_rate": 0.05})

FINGERPRINT = """
import hashlib, simlib as sl
s = sl.presets.assistant(duration=400, warmup=40, **{"llm.error_rate": 0.05})
print(hashlib.sha256(sl.run(s, seed=11).turns.to_csv().encode()).hexdigest())
"""


def fingerprint(turns: pd.DataFrame) -> str:
    return hashlib.sha256(turns.to_csv().encode()).hexdigest()


def test_same_seed_twice_in_one_process():
    first, second = sl.run(SCENARIO, seed=11), sl.run(SCENARIO, seed=11)
    pd.testing.assert_frame_equal(first.turns, second.turns)
    pd.testing.assert_frame_equal(first.timeline, second.timeline)


def test_different_seeds_differ():
    assert not sl.run(SCENARIO, seed=1).turns.equals(sl.run(SCENARIO, seed=2).turns)


def test_same_seed_in_another_process():
    out = subprocess.run([sys.executable, "-c", FINGERPRINT], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert out.stdout.strip() == fingerprint(sl.run(SCENARIO, seed=11).turns)


def test_parallel_sweep_equals_serial():
    grid = {"workload.arrival_rate": [0.3, 0.6], "architecture.execution": ["sync", "async"]}
    serial = sl.sweep(SCENARIO, grid, seeds=range(3), n_jobs=1, progress=False)
    parallel = sl.sweep(SCENARIO, grid, seeds=range(3), n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial, parallel)


def test_sweep_through_dask_localcluster_equals_serial():
    distributed = pytest.importorskip("distributed")
    grid = {"workload.arrival_rate": [0.3, 0.6]}
    serial = sl.sweep(SCENARIO, grid, seeds=range(2), progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        on_dask = sl.sweep(SCENARIO, grid, seeds=range(2), n_jobs=-1, progress=False)
    pd.testing.assert_frame_equal(serial, on_dask)


def test_two_designs_with_one_seed_see_identical_arrivals_and_work():
    runs = [sl.run(SCENARIO.with_(architecture=d), seed=5).turns for d in sl.DESIGNS]
    first_turns = [t[t["turn"] == 1].sort_values("session") for t in runs]
    for other in first_turns[1:]:
        pd.testing.assert_series_equal(first_turns[0]["arrival"].reset_index(drop=True),
                                       other["arrival"].reset_index(drop=True))
    # the work is planned at arrival: output tokens of every finished turn are the same
    done = [t[t["outcome"] == "ok"].set_index(["session", "turn"])["tokens_out"] for t in runs]
    common = done[0].index
    for other in done[1:]:
        common = common.intersection(other.index)
    assert len(common) > 100
    for other in done[1:]:
        pd.testing.assert_series_equal(done[0].loc[common], other.loc[common])


def test_a_flash_crowd_adds_arrivals_and_moves_none():
    """Common random numbers for faults: with a crowd, a run sees every arrival of the same
    seed without it, plus the crowd's, so the two runs differ only by the crowd."""
    calm = SCENARIO.with_(duration=600)
    crowded = calm.with_(faults=(sl.FlashCrowd(start=200, duration=60, factor=4.0),))
    plain = sl.run(calm, seed=3).turns
    more = sl.run(crowded, seed=3).turns
    before = set(plain.loc[plain["turn"] == 1, "arrival"])
    after = set(more.loc[more["turn"] == 1, "arrival"])
    assert before < after
    extra = sorted(after - before)
    assert 200 <= extra[0] and extra[-1] < 260 and len(extra) > 20


def test_a_longer_run_keeps_the_arrivals_of_a_shorter_one():
    short = sl.run(SCENARIO.with_(duration=300, warmup=30), seed=4).turns
    long = sl.run(SCENARIO.with_(duration=600, warmup=30), seed=4).turns
    firsts = [t.loc[t["turn"] == 1, "arrival"].to_numpy() for t in (short, long)]
    assert len(firsts[0]) > 50
    assert (firsts[1][:len(firsts[0])] == firsts[0]).all()
