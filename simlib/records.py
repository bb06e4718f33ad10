"""Records: one flat row per turn, one row per timeline sample, turned into DataFrames once.

During a run, each turn's row is appended to three compact ``array`` buffers, one per type
(floats, whole numbers, flags), the columns side by side (a strided layout: one C call per type
and turn, 8 bytes a number, no Python object per value). :meth:`Recorder.result` reshapes them
into the DataFrames at the end.
"""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from .cost import turn_cost
from .metrics import summary
from .resilience import OPEN

OUTCOMES = ("ok", "degraded", "failed", "timed_out", "shed", "silent_failure", "in_flight")

TURN_NUMBERS = ("arrival", "admitted", "finish", "tokens_in", "tokens_out", "cost", "wasted")
TURN_COUNTS = ("session", "turn", "calls", "attempts", "llm_calls", "tool_calls", "store_ops",
               "worker")
TURN_FLAGS = ("outcome", "cause", "context_lost", "sensitive", "violation")
OUTCOME_CODE = {name: code for code, name in enumerate(OUTCOMES)}
WASTED = TURN_NUMBERS.index("wasted")
TIMELINE = ("time", "in_system", "queued", "busy", "cpu_busy", "llm_in_progress",
            "store_busy", "workers_up", "breakers_open", "ok", "not_ok", "cost", "wasted",
            "breaker_open_time")


class Recorder:
    """Collects turn rows and timeline samples of one run."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.numbers = array("d")  # TURN_NUMBERS of each row, side by side
        self.counts = array("q")  # TURN_COUNTS
        self.flags = array("h")  # TURN_FLAGS
        self.rows = 0
        self.cause_code: dict[str, int] = {"": 0}
        self.samples = {name: array("d") for name in TIMELINE}
        self.ok = self.not_ok = 0
        self.cost = 0.0

    def turn(self, state, finish: float, outcome: str, cause: str | None) -> None:
        """Append the row of a turn that ended (or is still in flight when the run stops)."""
        cost = turn_cost(self.scenario.costs, state.tokens_in, state.tokens_out, state.store_ops)
        self.cost += cost
        if outcome == "ok":
            self.ok += 1
        elif outcome != "in_flight":
            self.not_ok += 1
        state.row, self.rows = self.rows, self.rows + 1
        self.numbers.extend((state.arrival, state.admitted, finish, state.tokens_in,
                             state.tokens_out, cost, state.wasted))
        self.counts.extend((state.session, state.number, state.calls, state.attempts,
                            state.llm_calls, state.tool_calls, state.store_ops, state.worker))
        self.flags.extend((OUTCOME_CODE[outcome], self._code(cause or ""), state.context_lost,
                           state.sensitive, state.violation))

    def add_wasted(self, row: int, seconds: float) -> None:
        """Charge work wasted after a turn ended to that turn's row."""
        self.numbers[row * len(TURN_NUMBERS) + WASTED] += seconds

    def _code(self, cause: str) -> int:
        code = self.cause_code.get(cause)
        if code is None:
            code = self.cause_code[cause] = len(self.cause_code)
        return code

    def sample(self, run) -> None:
        """Append one timeline row: the state of ``run`` now."""
        workers = run.workers
        queued = len(run.pool.queue) if run.pool is not None else \
            sum(len(w.admission.queue) for w in workers)
        store = run.store.slots
        s = self.samples
        s["time"].append(run.env.now)
        s["in_system"].append(run.in_system)
        s["queued"].append(queued)
        s["busy"].append(sum(w.busy for w in workers))
        s["cpu_busy"].append(sum(w.cpu.count for w in workers))
        s["llm_in_progress"].append(run.llm.in_progress)
        s["store_busy"].append(store.count if store is not None else float("nan"))
        s["workers_up"].append(sum(not w.down for w in workers))
        breakers = [g.breaker for g in run.guards.values() if g.breaker is not None]
        s["breaker_open_time"].append(sum(b.seconds_open(run.env.now) for b in breakers))
        s["breakers_open"].append(sum(b.state == OPEN for b in breakers))
        s["ok"].append(self.ok)
        s["not_ok"].append(self.not_ok)
        s["cost"].append(self.cost)
        s["wasted"].append(run.wasted)

    def result(self, run) -> Result:
        return Result(run.scenario, run.seed, self.turns_frame(), self.timeline_frame())

    def turns_frame(self) -> pd.DataFrame:
        """The turns table, one row per turn in arrival order. Each column is copied once,
        straight from the buffers into arrival order, so that building the table of a
        million-turn run needs about one more copy of its records, not several."""
        columns = {}
        for names, buf, dtype in ((TURN_NUMBERS, self.numbers, float),
                                  (TURN_COUNTS, self.counts, np.int64),
                                  (TURN_FLAGS, self.flags, np.int16)):
            table = np.frombuffer(buf, dtype=dtype) if self.rows else np.empty(0, dtype)
            table = table.reshape(self.rows, len(names))
            columns.update({name: table[:, k] for k, name in enumerate(names)})
        order = np.lexsort((columns["turn"], columns["session"], columns["arrival"]))

        def col(name, dtype=None):
            values = columns[name][order]
            return values if dtype is None else values.astype(dtype)

        arrival, finish = col("arrival"), col("finish")
        frame = pd.DataFrame({
            "session": col("session"), "turn": col("turn"), "arrival": arrival,
            "admitted": col("admitted"), "finish": finish, "latency": finish - arrival,
            "outcome": pd.Categorical.from_codes(col("outcome", np.int8),
                                                 categories=list(OUTCOMES)),
            "cause": pd.Categorical.from_codes(col("cause"), categories=list(self.cause_code)),
            "calls": col("calls"), "attempts": col("attempts"), "llm_calls": col("llm_calls"),
            "tool_calls": col("tool_calls"), "store_ops": col("store_ops"),
            "tokens_in": col("tokens_in", np.int64), "tokens_out": col("tokens_out", np.int64),
            "cost": col("cost"), "worker": col("worker"),
            "context_lost": col("context_lost", bool), "sensitive": col("sensitive", bool),
            "violation": col("violation", bool), "wasted": col("wasted"),
            "warmup": arrival < self.scenario.warmup,
        }, copy=False)
        return frame

    def timeline_frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: np.asarray(buf, dtype=float)
                             for name, buf in self.samples.items()})


class Result:
    """One replication's tables: ``turns`` (one row per turn) and ``timeline`` (samples)."""

    def __init__(self, scenario, seed: int, turns: pd.DataFrame, timeline: pd.DataFrame):
        self.scenario, self.seed = scenario, seed
        self.turns, self.timeline = turns, timeline
        self._summary: pd.Series | None = None

    def summary(self) -> pd.Series:
        """Throughput, goodput, latency percentiles, errors, cost... (see simlib.metrics).
        Computed once; a copy is returned so callers may change it freely."""
        if self._summary is None:
            self._summary = summary(self.scenario, self.turns, self.timeline)
        return self._summary.copy()

    def __repr__(self):
        arch = self.scenario.architecture.name
        return f"<Result {arch} seed={self.seed}: {len(self.turns)} turns>"
