"""The workload: when sessions arrive, and the work each one brings.

Arrivals are a Poisson process whose rate may change over time (a daily profile, on/off bursts, a
flash crowd). They are made by *thinning*: throw candidate arrivals at the highest rate the
process can reach, then keep each one with probability rate(t) / highest rate. What is kept is
exactly a Poisson process with rate(t) (Lewis and Shedler, 1979). A flash crowd is a second
Poisson process laid over the first (the sum of two Poisson processes is one), so adding a crowd
leaves every other arrival of the same seed where it was.

Each session's work is drawn in full the moment it arrives, in arrival order: how many turns, the
think times, the steps of each turn, the tool calls of each step, the tokens, and the first
attempt's latencies. So every design given the same seed serves exactly the same sessions with
exactly the same work (common random numbers), whatever order it happens to serve them in.
"""

from __future__ import annotations

import bisect
import functools

import numpy as np

from .config import FlashCrowd, Workload
from .scenario import Scenario
from .streams import Streams

BLOCK = 4096


def base_factor(workload: Workload, times: np.ndarray, switches: np.ndarray) -> np.ndarray:
    """Multiplier of ``arrival_rate`` at each time from the profile and the on/off bursts."""
    factor = np.ones_like(times)
    if workload.rate_profile:
        starts = np.array([t for t, _ in workload.rate_profile])
        values = np.array([1.0] + [f for _, f in workload.rate_profile])
        factor *= values[np.searchsorted(starts, times, side="right")]
    if workload.bursts is not None:
        on = (np.searchsorted(switches, times, side="right") % 2) == 1
        factor *= np.where(on, workload.bursts.on_factor, workload.bursts.off_factor)
    return factor


def crowd_factor(crowds: tuple, times: np.ndarray) -> np.ndarray:
    """Product of the factors of the flash crowds under way at each time."""
    factor = np.ones_like(times)
    for crowd in crowds:
        inside = (times >= crowd.start) & (times < crowd.start + crowd.duration)
        factor *= np.where(inside, crowd.factor, 1.0)
    return factor


def max_base_factor(workload: Workload) -> float:
    """An upper bound of :func:`base_factor`, the rate candidates are thrown at."""
    top = max([1.0] + [f for _, f in workload.rate_profile])
    if workload.bursts is not None:
        top *= max(workload.bursts.on_factor, workload.bursts.off_factor)
    return top


def poisson_times(rate: float, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
    """A Poisson process of ``rate`` on [start, end), from exponential gaps drawn in fixed
    blocks: a longer horizon only adds times at the end, it never moves earlier ones."""
    if rate <= 0 or end <= start:
        return np.empty(0)
    parts, t = [], start
    while True:
        times = t + np.cumsum(rng.exponential(1 / rate, BLOCK))
        parts.append(times[times < end])
        if times[-1] >= end:
            return np.concatenate(parts)
        t = times[-1]


def burst_switches(workload: Workload, duration: float, rng: np.random.Generator) -> np.ndarray:
    """Times the on/off process switches state; odd-numbered intervals are 'on'. Starts off."""
    bursts = workload.bursts
    if bursts is None:
        return np.empty(0)
    parts, t = [], 0.0
    while t < duration:  # whole blocks of cycles, so the same seed gives the same prefix
        lengths = np.empty(2 * 256)
        lengths[0::2] = rng.exponential(bursts.off_mean, 256)
        lengths[1::2] = rng.exponential(bursts.on_mean, 256)
        parts.append(t + np.cumsum(lengths))
        t = parts[-1][-1]
    return np.concatenate(parts)


@functools.lru_cache(maxsize=8)
def cut_sessions(trace, speed: float) -> tuple[np.ndarray, list]:
    """A trace cut into sessions: their first request times (sorted) and, per session, its
    requests as ``(prompt tokens, output tokens, gap since the previous request)``. Kept for the
    last few (trace, speed) pairs: an explorer re-runs the same trace at every slider move."""
    times = np.asarray(trace.times, dtype=float) / speed
    ids = np.arange(len(times)) if trace.sessions is None else np.asarray(trace.sessions)
    order = np.lexsort((times, ids))  # by session, then time
    cuts = np.flatnonzero(np.diff(ids[order])) + 1
    groups = sorted(np.split(order, cuts), key=lambda g: times[g[0]])
    starts = np.array([times[g[0]] for g in groups])
    sessions = [[(int(trace.prompt_tokens[i]), int(trace.output_tokens[i]),
                  float(times[i] - times[g[max(k - 1, 0)]]))
                 for k, i in enumerate(g)] for g in groups]
    return starts, sessions


class Replay:
    """A trace's sessions (:func:`cut_sessions`), handed out one at a time in arrival order."""

    def __init__(self, trace, speed: float):
        self.starts, self.sessions = cut_sessions(trace, speed)
        self.next = 0

    def session(self) -> list[tuple[int, int, float]]:
        self.next += 1
        return self.sessions[self.next - 1]


def session_arrivals(workload: Workload, duration: float, rng: np.random.Generator,
                     faults: tuple = (), replay: Replay | None = None) -> np.ndarray:
    """Sorted session arrival times in [0, duration).

    The base process (rate profile x bursts) is thrown at its highest rate and thinned. Flash
    crowds, given with the workload or among the scenario's faults, add a second, independent
    process in their windows (or thin the base one, for a factor below 1), so a scenario with a
    crowd sees exactly the arrivals of the same seed without it, plus the crowd. A replayed trace
    gives its sessions' start times instead (pass the run's :class:`Replay` to reuse it).
    """
    if workload.replay is not None:
        replay = replay or Replay(workload.replay, workload.replay_speed)
        return replay.starts[replay.starts < duration]
    base_rng, thin_rng, crowd_rng, drop_rng, burst_rng = rng.spawn(5)
    crowds = workload.flash_crowds + tuple(f for f in faults if isinstance(f, FlashCrowd))
    switches = burst_switches(workload, duration, burst_rng)
    top = workload.arrival_rate * max_base_factor(workload)
    times = poisson_times(top, 0.0, duration, base_rng)
    times = times[thin_rng.random(len(times)) * top
                  < workload.arrival_rate * base_factor(workload, times, switches)]
    if not crowds:
        return times
    factor = crowd_factor(crowds, times)  # crowds below 1 thin the base arrivals
    times = times[drop_rng.random(len(times)) < np.minimum(factor, 1.0)]
    extra_top = top * (np.prod([max(1.0, c.factor) for c in crowds]) - 1)
    extra = poisson_times(extra_top, 0.0, duration, crowd_rng)
    wanted = workload.arrival_rate * base_factor(workload, extra, switches) \
        * np.maximum(crowd_factor(crowds, extra) - 1, 0.0)
    extra = extra[crowd_rng.random(len(extra)) * extra_top < wanted]
    return np.sort(np.concatenate([times, extra]))


class TurnPlan:
    """The work of one turn, fixed at session arrival: per step, the CPU time, the LLM's time to
    first token and output tokens, and the tool calls (tool index, latency, result tokens)."""

    __slots__ = ("prompt_tokens", "cpu", "ttft", "output_tokens", "tools", "think", "sensitive")

    def __init__(self, prompt_tokens, cpu, ttft, output_tokens, tools, think, sensitive=False):
        self.sensitive = sensitive
        self.prompt_tokens = prompt_tokens
        self.cpu = cpu
        self.ttft = ttft
        self.output_tokens = output_tokens
        self.tools = tools
        self.think = think


class Planner:
    """Draws session plans from the named streams, one session at a time, in arrival order.

    A planner with a ``tag`` draws from uses of its own (``"sub:prompt"``, ...): the work of a
    sub-agent, drawn while the run goes on, never moves what the sessions' planner draws."""

    def __init__(self, scenario: Scenario, streams: Streams, tag: str = ""):
        w = scenario.workload

        def use(stream, name, dist):
            return streams.draws(stream, tag + name, dist)

        self.turns = use("sizes", "turns", w.turns)
        self.think = use("sizes", "think", w.think_time)
        self.steps = use("sizes", "steps", w.steps)
        self.tools_per_step = use("sizes", "tools_per_step", w.tools_per_step)
        self.prompt = use("sizes", "prompt", w.prompt_tokens)
        self.output = use("sizes", "output", w.output_tokens)
        self.result = use("sizes", "tool_result", w.tool_result_tokens)
        self.routing = streams.uniform("routing", tag + "session")
        self.rounding = streams.uniform("sizes", tag + "rounding")
        self.sensitive = streams.uniform("sizes", tag + "sensitive")
        self.sensitive_share = w.sensitive_share
        self.pick_tool = streams.uniform("tools", tag + "pick")
        self.cpu = use("workers", "cpu", scenario.workers.cpu_per_step)
        self.ttft = use("llm", "ttft", scenario.llm.ttft)
        self.extra_cpu = use("workers", "cpu:extra", scenario.workers.cpu_per_step)
        self.extra_ttft = use("llm", "ttft:extra", scenario.llm.ttft)
        self.extra_output = use("sizes", "output:extra", w.output_tokens)
        self.tool_latency = [use("tools", f"latency:{t.name}", t.latency)
                             for t in scenario.tools]
        weights = np.array([t.weight for t in scenario.tools], dtype=float)
        self.tool_cdf = (np.cumsum(weights) / weights.sum()).tolist() if len(weights) else []
        self.replay = Replay(w.replay, w.replay_speed) if w.replay is not None else None

    def session(self) -> tuple[float, list[TurnPlan]]:
        """A routing draw in [0, 1) and the plans of every turn of one new session."""
        route = self.routing()
        if self.replay is not None:
            return route, [self.turn(k == 0, sizes) for k, sizes in
                           enumerate(self.replay.session())]
        n_turns = self.count(self.turns())
        if n_turns <= 1:  # (most sessions of most workloads: no list built in a loop)
            return route, [self.turn(True)]
        return route, [self.turn(k == 0) for k in range(n_turns)]

    def count(self, x: float) -> int:
        """A whole number with mean ``x``: ``floor(x + u)``, u uniform (stochastic rounding),
        so that 0.3 tool calls per step means a tool call in 30% of the steps."""
        return int(x + self.rounding())

    def turn(self, first: bool, sizes: tuple | None = None) -> TurnPlan:
        """One turn's plan; ``sizes`` = (prompt, output, think) from a replayed trace, which then
        replace those draws (each use has its own stream, so skipping them moves nothing else).

        For the same reason the plan is drawn use by use (every step's CPU time, then every
        step's time to first token, ...) rather than step by step, with the same values: only
        ``rounding`` serves several uses, and its draws keep their order (the number of steps,
        then each step's number of tool calls)."""
        n_steps = self.count(self.steps())
        if n_steps <= 1:  # (most turns: one step, its lists built without a loop: hot)
            n_steps = 1
            cpu, ttft, tools = [self.cpu()], [self.ttft()], [self.tool_calls()]
            out = [round(self.output())] if sizes is None else None
        else:
            steps = range(n_steps)
            cpu = [self.cpu() for _ in steps]
            ttft = [self.ttft() for _ in steps]
            out = [round(self.output()) for _ in steps] if sizes is None else None
            tools = [self.tool_calls() for _ in steps]
        if sizes is None:
            prompt, think = round(self.prompt()), 0.0 if first else self.think()
        else:
            prompt, output, think = sizes  # a session's first request has no gap: think 0
            out = [output] * n_steps
        sensitive = self.sensitive() < self.sensitive_share
        return TurnPlan(prompt, cpu, ttft, out, tools, think, sensitive)

    def tool_calls(self) -> list[tuple[int, float, int]]:
        """One step's tool calls: ``tools_per_step`` of them on average."""
        n_tools = int(self.tools_per_step() + self.rounding())  # (self.count, inlined: hot)
        return [self.tool_call() for _ in range(n_tools)] if n_tools else []

    def tool_call(self) -> tuple[int, float, int]:
        index = min(bisect.bisect_right(self.tool_cdf, self.pick_tool()), len(self.tool_cdf) - 1)
        return index, self.tool_latency[index](), round(self.result())

    def extra_step(self) -> tuple[float, float, int]:
        """A step the plan did not foresee (a re-ask, a reaction to a tool's error): its CPU
        time, time to first token and output tokens, drawn when it happens."""
        return self.extra_cpu(), self.extra_ttft(), round(self.extra_output())
