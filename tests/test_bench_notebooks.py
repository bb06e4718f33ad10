"""bench/notebooks.py's driver: what it counts, and that a repeated move starts from the state
the first try started from. Timing budgets are the benchmark's to check, not a test's; this
checks the bookkeeping its verdict rests on."""

import sys
from pathlib import Path

import pytest

import simlib as sl
from simlib import widgets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
notebooks = pytest.importorskip("notebooks")


class KeepsRuns:
    """A compute that keeps runs between moves, as the chooser's Ranker does, and notes the
    runs it found kept at each call."""

    def __init__(self, scenario):
        self.scenario, self.runs, self.found = scenario, {}, []

    def __call__(self, values):
        self.found.append((values["rate"], values["seed"], frozenset(self.runs)))
        self.runs[values["rate"], values["seed"]] = True
        scenario = self.scenario.with_(**{"workload.arrival_rate": values["rate"]})
        return {"pooled": sl.run(scenario, values["seed"])}


@pytest.fixture
def explorer(monkeypatch):
    scenario = sl.presets.mmc(2.0, 1.0, 4, duration=60.0, warmup=0.0)
    compute = KeepsRuns(scenario)
    made = widgets.Explorer([widgets.slider("rate", 1.0, 3.0, 1.0, 2.0)], ["latency_cdf"],
                            compute, lambda values: scenario)
    monkeypatch.setattr(widgets, "explorers", lambda: [made])
    yield made
    made.close()


def test_every_new_move_is_tried_again_from_the_same_state(explorer):
    record, = notebooks.drive_explorers(n_values=2, repeats=3)
    moves = record["controls"]
    rate, seed = moves["rate"], moves["seed"]
    assert len(rate["first"]) == len(rate["seconds"]) == len(rate["host"]) == 2  # 1.0 and 3.0
    assert len(seed["first"]) == 2 and rate["cached"] == seed["cached"] == 0
    for control in (rate, seed):
        assert all(0 < b <= f for b, f in zip(control["seconds"], control["first"], strict=True))
        assert all(h > 0 for h in control["host"])
    # each move computed three times, each time finding the runs kept before the move
    found = explorer.compute.found[1:]  # the first: the explorer's opening run
    assert len(found) == 4 * 3
    for k in range(0, len(found), 3):
        assert found[k] == found[k + 1] == found[k + 2]
        assert (found[k][0], found[k][1]) not in found[k][2]
    assert explorer.values() == {"rate": 2.0, "seed": 0}  # every control restored


def test_a_move_already_seen_is_cached_and_not_counted(explorer):
    explorer.controls["rate"].value = 1.0  # seen before the driver starts
    explorer.controls["rate"].value = 2.0
    record, = notebooks.drive_explorers(n_values=2, repeats=2)
    assert record["controls"]["rate"]["cached"] == 1
    assert len(record["controls"]["rate"]["seconds"]) == 1  # only 3.0 was new
