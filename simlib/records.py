"""Records: one flat row per turn, one row per timeline sample, turned into DataFrames once.

During a run, each turn's row is appended to three compact ``array`` buffers, one per type
(floats, whole numbers, flags), the columns side by side (a strided layout: one C call per type
and turn, 8 bytes a number, no Python object per value). :meth:`Recorder.result` reshapes them
into the DataFrames at the end.

What can be worked out from the rows afterwards is not computed while the clock runs: a turn's
cost is a formula of its tokens and store operations, and the timeline's running totals (turns
ok, not ok, cost so far) are sums over the rows recorded before each sample, so a sample notes
only how many rows there were.
"""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from .cost import turn_cost
from .metrics import summary
from .resilience import OPEN

OUTCOMES = ("ok", "degraded", "failed", "timed_out", "shed", "silent_failure", "in_flight")

TURN_NUMBERS = ("arrival", "admitted", "finish", "ttft", "tpot", "tokens_in", "tokens_out",
                "tokens_cached", "tokens_cache_write", "cost", "wasted")
TURN_COUNTS = ("session", "turn", "calls", "attempts", "llm_calls", "tool_calls", "store_ops",
               "worker", "steps", "duplicates", "repeated_effects", "resumes")
TURN_FLAGS = ("outcome", "cause", "context_lost", "sensitive", "violation")
OUTCOME_CODE = {name: code for code, name in enumerate(OUTCOMES)}
FINISH = TURN_NUMBERS.index("finish")
TOTALS = ("ok", "not_ok", "cost")
"""The timeline's running totals, worked out from the turn rows after the run."""


def _numbers(state, finish: float) -> tuple:
    """A turn's :data:`TURN_NUMBERS`."""
    return (state.arrival, state.admitted, finish, state.ttft, state.tpot, state.tokens_in,
            state.tokens_out, state.tokens_cached, state.tokens_cache_write, state.cost,
            state.wasted)


def _counts(state) -> tuple:
    """A turn's :data:`TURN_COUNTS`."""
    return (state.session, state.number, state.calls, state.attempts, state.llm_calls,
            state.tool_calls, state.store_ops, state.worker, state.steps, state.duplicates,
            state.repeated_effects, state.resumes)


class Recorder:
    """Collects turn rows and timeline samples of one run."""

    def __init__(self, scenario, components: dict[str, list]):
        self.scenario = scenario
        # what each sample reads from the components, as each declares it
        self.sources = [(instances[0].columns, instances[0].sample, instances)
                        for instances in components.values() if instances[0].columns]
        self.numbers = array("d")  # TURN_NUMBERS of each row, side by side
        self.counts = array("q")  # TURN_COUNTS
        self.flags = array("h")  # TURN_FLAGS
        self.rows = 0
        self.causes = [""]  # the categories of the cause column; "" (and None) is no cause
        self.cause_code: dict[str | None, int] = {None: 0, "": 0}
        sampled = ["time", "in_system"] + [c for columns, _, _ in self.sources for c in columns]
        self.samples = {name: array("d") for name in sampled + ["breakers_open",
                                                                 "breaker_open_time", "wasted"]}
        self.rows_at_sample = array("q")  # rows recorded when each sample was taken
        self.appends = [(sample, instances, [self.samples[c].append for c in columns])
                        for columns, sample, instances in self.sources]  # (hot: per sample)
        self.breakers: list | None = None  # the guards' breakers, found at the first sample

    def turn(self, state, finish: float, outcome: str, cause: str | None) -> None:
        """Append the row of a turn that ended (or is still in flight when the run stops)."""
        code = self.cause_code.get(cause)
        if code is None:
            code = self.cause_code[cause] = len(self.causes)
            self.causes.append(cause)
        state.row, self.rows = self.rows, self.rows + 1
        self.numbers.extend((state.arrival, state.admitted, finish, state.ttft, state.tpot,
                             state.tokens_in, state.tokens_out, state.tokens_cached,
                             state.tokens_cache_write, state.cost, state.wasted))
        self.counts.extend((state.session, state.number, state.calls, state.attempts,
                            state.llm_calls, state.tool_calls, state.store_ops, state.worker,
                            state.steps, state.duplicates, state.repeated_effects,
                            state.resumes))  # (as _numbers and _counts: inlined, it is hot)
        self.flags.extend((OUTCOME_CODE[outcome], code, state.context_lost, state.sensitive,
                           state.violation))

    def rewrite(self, state) -> None:
        """Write a recorded turn's numbers and counts again: work it wasted, tokens an
        abandoned call or a duplicate delivery of it billed, after its row was written."""
        at, n = state.row * len(TURN_NUMBERS), len(TURN_NUMBERS)
        self.numbers[at:at + n] = array("d", _numbers(state, self.numbers[at + FINISH]))
        at, n = state.row * len(TURN_COUNTS), len(TURN_COUNTS)
        self.counts[at:at + n] = array("q", _counts(state))

    def sample(self, run) -> None:
        """Append one timeline row: the state of ``run`` now."""
        s, now = self.samples, run.env.now
        s["time"].append(now)
        s["in_system"].append(run.in_system)
        for sample, instances, appends in self.appends:
            for append, value in zip(appends, sample(instances), strict=True):
                append(value)
        if self.breakers is None:
            self.breakers = [g.breaker for g in run.guards.values() if g.breaker is not None]
        breakers = self.breakers
        s["breaker_open_time"].append(sum(b.seconds_open(now) for b in breakers)
                                      if breakers else 0)
        s["breakers_open"].append(sum(b.state == OPEN for b in breakers) if breakers else 0)
        s["wasted"].append(run.wasted)
        self.rows_at_sample.append(self.rows)

    def result(self, run) -> Result:
        columns = self.columns()
        return Result(run.scenario, run.seed, self.turns_frame(columns),
                      self.timeline_frame(columns),
                      run.log.frame() if run.log is not None else None)

    def columns(self) -> dict[str, np.ndarray]:
        """Every recorded column in the order the turns ended (views of the buffers, no copy),
        and each turn's ``cost``, priced from its tokens and store operations."""
        columns = {}
        for names, buf, dtype in ((TURN_NUMBERS, self.numbers, float),
                                  (TURN_COUNTS, self.counts, np.int64),
                                  (TURN_FLAGS, self.flags, np.int16)):
            table = np.frombuffer(buf, dtype=dtype) if self.rows else np.empty(0, dtype)
            table = table.reshape(self.rows, len(names))
            columns.update({name: table[:, k] for k, name in enumerate(names)})
        columns["cost"] = columns["cost"] + turn_cost(self.scenario, columns)
        return columns

    def turns_frame(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        """The turns table, one row per turn in arrival order. Each column is copied once,
        straight from the buffers into arrival order, so that building the table of a
        million-turn run needs about one more copy of its records, not several."""
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
            "cause": pd.Categorical.from_codes(col("cause"), categories=self.causes),
            "calls": col("calls"), "attempts": col("attempts"), "llm_calls": col("llm_calls"),
            "tool_calls": col("tool_calls"), "store_ops": col("store_ops"),
            "tokens_in": col("tokens_in", np.int64), "tokens_out": col("tokens_out", np.int64),
            "tokens_cached": col("tokens_cached", np.int64),
            "tokens_cache_write": col("tokens_cache_write", np.int64),
            "ttft": col("ttft"), "tpot": col("tpot"), "cost": col("cost"), "worker": col("worker"),
            "steps": col("steps"), "duplicates": col("duplicates"),
            "repeated_effects": col("repeated_effects"), "resumes": col("resumes"),
            "context_lost": col("context_lost", bool), "sensitive": col("sensitive", bool),
            "violation": col("violation", bool), "wasted": col("wasted"),
            "warmup": arrival < self.scenario.warmup,
        }, copy=False)
        return frame

    def timeline_frame(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        """The timeline table. Its running totals (turns ok and not ok, cost so far) are sums
        over the rows recorded before each sample, in the order the turns ended."""
        outcome, rows = columns["outcome"], np.asarray(self.rows_at_sample, dtype=np.int64)

        def so_far(values, zero):
            return np.concatenate(([zero], np.cumsum(values)))[rows].astype(float)

        totals = {"ok": so_far(outcome == OUTCOME_CODE["ok"], 0),
                  "not_ok": so_far((outcome != OUTCOME_CODE["ok"])
                                   & (outcome != OUTCOME_CODE["in_flight"]), 0),
                  "cost": so_far(columns["cost"], 0.0)}
        sampled = {name: np.asarray(values, dtype=float) for name, values in self.samples.items()}
        return pd.DataFrame(sampled | totals)


class CallLog:
    """The calls a run's agents made, one row each, as the agents' own logs (or an
    OpenTelemetry exporter) would have them: every LLM request the application sent (the SDK's
    retries inside it) and every tool call, with when it started and ended, its tokens and its
    status. Kept only when asked for (``run(..., log_calls=True)``): :mod:`simlib.fit` reads
    this very format, so a log of a known scenario shows what a fit recovers."""

    COLUMNS = ("kind", "name", "session", "turn", "start", "end", "ttft", "input_tokens",
               "output_tokens", "cached_tokens", "status")

    def __init__(self):
        self.rows: list[tuple] = []

    def call(self, now: float, began: float, dependency, turn, work, cause, cached: int):
        """Write down one call (LLM requests and tool calls; other dependencies are not an
        agent's own calls)."""
        kind = "llm" if hasattr(dependency, "first_token_at") else \
            "tool" if hasattr(dependency, "cause") else None
        if kind is None:
            return
        ok = cause is None
        if kind == "llm":
            ttft = dependency.first_token_at - began if ok else float("nan")
            tokens = (work[1], work[2] if ok else 0)
            name = dependency.name
        else:
            ttft, tokens, name = float("nan"), (0, 0), dependency.config.name
        self.rows.append((kind, name, turn.session, turn.number, began, now, ttft, *tokens,
                          cached, "ok" if ok else str(cause)))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.COLUMNS))


class Result:
    """One replication's tables: ``turns`` (one row per turn), ``timeline`` (samples) and,
    when asked for, ``calls`` (the call log, :class:`CallLog`)."""

    def __init__(self, scenario, seed: int, turns: pd.DataFrame, timeline: pd.DataFrame,
                 calls: pd.DataFrame | None = None):
        self.scenario, self.seed = scenario, seed
        self.turns, self.timeline = turns, timeline
        self.calls = calls  # the call log, when the run kept one (see CallLog)
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
