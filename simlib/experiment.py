"""Experiments: many runs of a scenario, one summary row each.

:func:`replicate` runs the same scenario with several seeds (the replication axis, as in Mesa's
batch runs); :func:`sweep` does that for every combination of a grid of changed fields. Both go
through joblib, so ``n_jobs=2`` uses two processes on this machine, and a user with a Dask cluster
runs the same call on it with ``joblib.parallel_config(backend="dask")``. Each run builds its own
random streams from its seed, so the rows do not depend on where or in which order they ran.

Their intervals live in :mod:`simlib.stats` (``confidence_interval`` and ``wilson`` are
re-exported here, where they used to be).

A progress bar (tqdm.auto: a widget in JupyterLab, text in a terminal) appears only when the runs
take longer than a moment.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import joblib
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .engine import run
from .metrics import collapsed
from .scenario import Scenario
from .stats import CI, confidence_interval, wilson

__all__ = ["collapse_probability", "confidence_interval", "replicate", "run_many", "sweep",
           "wilson"]


def _summary(scenario: Scenario, seed: int) -> pd.Series:
    return run(scenario, seed).summary()


def _seeds(seeds: Iterable[int]) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a list or range of whole numbers, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got none")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seeds must be whole numbers >= 0, got {seed!r}")
    return [int(seed) for seed in seeds]


def _grid(grid: Mapping[str, Iterable]) -> dict[str, list]:
    """Check a sweep grid: a mapping of dotted path -> a non-empty list of values."""
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a dict of path -> list of values, got {grid!r}")
    out = {}
    for path, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"grid[{path!r}] must be a list of values, got {values!r}")
        out[path] = list(values)
        if not out[path]:
            raise ValueError(f"grid[{path!r}] must hold at least one value, got []")
    return out


def _frame(rows: list[pd.Series], index=None) -> pd.DataFrame:
    """Summary rows as a DataFrame, counts as whole numbers."""
    frame = pd.DataFrame(rows, index=index)
    counts = [c for c in frame.columns if c.startswith("n_") or c in COUNTS]
    return frame.astype({c: "int64" for c in counts})


COUNTS = ("arrivals", "context_lost", "sensitive", "violations")


def run_many(jobs: list[tuple[Scenario, int]], n_jobs: int = 1,
             progress: bool | None = None) -> list[pd.Series]:
    """Summaries of ``(scenario, seed)`` jobs, in order, on ``n_jobs`` joblib workers."""
    show = len(jobs) > 1 if progress is None else progress
    bar = tqdm(total=len(jobs), disable=not show, delay=2.0, desc="runs", leave=False)
    out = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
        joblib.delayed(_summary)(scenario, seed) for scenario, seed in jobs)
    rows = []
    for row in out:
        rows.append(row)
        bar.update()
    bar.close()
    return rows


def replicate(scenario: Scenario, seeds: Iterable[int] = range(10), n_jobs: int = 1,
              progress: bool | None = None) -> pd.DataFrame:
    """One summary row per seed (index: seed)."""
    seeds = _seeds(seeds)
    rows = run_many([(scenario, s) for s in seeds], n_jobs, progress)
    return _frame(rows, index=pd.Index(seeds, name="seed"))


def sweep(scenario: Scenario, grid: Mapping[str, Iterable], seeds: Iterable[int] = range(5),
          n_jobs: int = 1, progress: bool | None = None) -> pd.DataFrame:
    """Summary rows for every combination of ``grid`` (dotted path -> values) and seed.

    All changed scenarios are built and validated before the first run, so a bad value stops
    the sweep at once. Columns: one per grid path, ``seed``, then the summary.
    """
    seeds = _seeds(seeds)
    grid = _grid(grid)
    paths = list(grid)
    combos = list(itertools.product(*(grid[p] for p in paths)))
    scenarios = [scenario.with_(**dict(zip(paths, combo, strict=True))) for combo in combos]
    jobs = [(s, seed) for s in scenarios for seed in seeds]
    rows = run_many(jobs, n_jobs, progress)
    keys = pd.DataFrame([combo + (seed,) for combo in combos for seed in seeds],
                        columns=paths + ["seed"])
    return pd.concat([keys, _frame(rows).reset_index(drop=True)], axis=1)


def collapse_probability(scenario: Scenario, seeds: Iterable[int], since: float,
                         threshold: float = 0.5, n_jobs: int = 1,
                         level: float = 0.95) -> CI:
    """Share of seeds whose run collapsed (see :func:`simlib.metrics.collapsed`), with a Wilson
    confidence interval (:func:`simlib.stats.wilson`): metastable failure is a probability, not
    the fate of one run."""
    seeds = _seeds(seeds)
    flags = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(_collapsed)(scenario, seed, since, threshold) for seed in seeds)
    return wilson(sum(flags), len(flags), level)


def _collapsed(scenario: Scenario, seed: int, since: float, threshold: float) -> bool:
    return collapsed(run(scenario, seed).turns, since, threshold)
