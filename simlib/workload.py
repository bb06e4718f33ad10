"""The workload: when sessions arrive, and the work each one brings.

Arrivals are a Poisson process whose rate may change over time (a daily profile, on/off bursts, a
flash crowd). They are made by *thinning*: throw candidate arrivals at the highest rate the
process can reach, then keep each one with probability rate(t) / highest rate. What is kept is
exactly a Poisson process with rate(t) (Lewis and Shedler, 1979).

Each session's work is drawn in full the moment it arrives, in arrival order: how many turns, the
think times, the steps of each turn, the tool calls of each step, the tokens, and the first
attempt's latencies. So every design given the same seed serves exactly the same sessions with
exactly the same work (common random numbers), whatever order it happens to serve them in.
"""

from __future__ import annotations

import bisect

import numpy as np

from .config import FlashCrowd, Workload
from .scenario import Scenario
from .streams import Streams


def rate_factor(workload: Workload, times: np.ndarray, on_periods: np.ndarray,
                crowds: tuple = ()) -> np.ndarray:
    """Multiplier of ``arrival_rate`` at each time: profile x bursts x flash crowds."""
    factor = np.ones_like(times)
    if workload.rate_profile:
        starts = np.array([t for t, _ in workload.rate_profile])
        values = np.array([1.0] + [f for _, f in workload.rate_profile])
        factor *= values[np.searchsorted(starts, times, side="right")]
    if workload.bursts is not None:
        on = (np.searchsorted(on_periods, times, side="right") % 2) == 1
        factor *= np.where(on, workload.bursts.on_factor, workload.bursts.off_factor)
    for crowd in workload.flash_crowds + crowds:
        inside = (times >= crowd.start) & (times < crowd.start + crowd.duration)
        factor *= np.where(inside, crowd.factor, 1.0)
    return factor


def max_factor(workload: Workload, crowds: tuple = ()) -> float:
    """An upper bound of :func:`rate_factor`, the rate the candidates are thrown at."""
    top = max([1.0] + [f for _, f in workload.rate_profile])
    if workload.bursts is not None:
        top *= max(workload.bursts.on_factor, workload.bursts.off_factor)
    for crowd in workload.flash_crowds + crowds:
        top *= max(1.0, crowd.factor)
    return top


def burst_switches(workload: Workload, duration: float, rng: np.random.Generator) -> np.ndarray:
    """Times the on/off process switches state; odd-numbered intervals are 'on'. Starts off."""
    bursts = workload.bursts
    if bursts is None:
        return np.empty(0)
    mean_cycle = bursts.on_mean + bursts.off_mean
    n = int(duration / mean_cycle * 2 + 20)
    lengths = np.empty(2 * n)
    lengths[0::2] = rng.exponential(bursts.off_mean, n)
    lengths[1::2] = rng.exponential(bursts.on_mean, n)
    switches = np.cumsum(lengths)
    while switches[-1] < duration:  # very unlikely: draw more cycles rather than truncate
        more = np.empty(2 * n)
        more[0::2] = rng.exponential(bursts.off_mean, n)
        more[1::2] = rng.exponential(bursts.on_mean, n)
        switches = np.concatenate([switches, switches[-1] + np.cumsum(more)])
    return switches


def session_arrivals(workload: Workload, duration: float, rng: np.random.Generator,
                     faults: tuple = ()) -> np.ndarray:
    """Sorted session arrival times in [0, duration), by thinning. Flash crowds may come with
    the workload or among the scenario's faults."""
    crowds = tuple(f for f in faults if isinstance(f, FlashCrowd))
    switches = burst_switches(workload, duration, rng)
    top = workload.arrival_rate * max_factor(workload, crowds)
    n = rng.poisson(top * duration)
    times = np.sort(rng.uniform(0.0, duration, n))
    factor = rate_factor(workload, times, switches, crowds)
    keep = rng.random(n) * top < workload.arrival_rate * factor
    return times[keep]


class TurnPlan:
    """The work of one turn, fixed at session arrival: per step, the CPU time, the LLM's time to
    first token and output tokens, and the tool calls (tool index, latency)."""

    __slots__ = ("prompt_tokens", "cpu", "ttft", "output_tokens", "tools", "think")

    def __init__(self, prompt_tokens, cpu, ttft, output_tokens, tools, think):
        self.prompt_tokens = prompt_tokens
        self.cpu = cpu
        self.ttft = ttft
        self.output_tokens = output_tokens
        self.tools = tools
        self.think = think


class Planner:
    """Draws session plans from the named streams, one session at a time, in arrival order."""

    def __init__(self, scenario: Scenario, streams: Streams):
        w = scenario.workload
        self.turns = streams.draws("sizes", "turns", w.turns)
        self.think = streams.draws("sizes", "think", w.think_time)
        self.steps = streams.draws("sizes", "steps", w.steps)
        self.tools_per_step = streams.draws("sizes", "tools_per_step", w.tools_per_step)
        self.prompt = streams.draws("sizes", "prompt", w.prompt_tokens)
        self.output = streams.draws("sizes", "output", w.output_tokens)
        self.routing = streams.uniform("routing", "session")
        self.rounding = streams.uniform("sizes", "rounding")
        self.pick_tool = streams.uniform("tools", "pick")
        self.cpu = streams.draws("workers", "cpu", scenario.workers.cpu_per_step)
        self.ttft = streams.draws("llm", "ttft", scenario.llm.ttft)
        self.tool_latency = [streams.draws("tools", f"latency:{t.name}", t.latency)
                             for t in scenario.tools]
        weights = np.array([t.weight for t in scenario.tools], dtype=float)
        self.tool_cdf = (np.cumsum(weights) / weights.sum()).tolist() if len(weights) else []

    def session(self) -> tuple[float, list[TurnPlan]]:
        """A routing draw in [0, 1) and the plans of every turn of one new session."""
        route = self.routing()
        n_turns = max(1, self.count(self.turns()))
        return route, [self.turn(first=(k == 0)) for k in range(n_turns)]

    def count(self, x: float) -> int:
        """A whole number with mean ``x``: ``floor(x + u)``, u uniform (stochastic rounding),
        so that 0.3 tool calls per step means a tool call in 30% of the steps."""
        return int(x + self.rounding())

    def turn(self, first: bool) -> TurnPlan:
        think = 0.0 if first else self.think()
        n_steps = max(1, self.count(self.steps()))
        cpu, ttft, out, tools = [], [], [], []
        for _ in range(n_steps):
            cpu.append(self.cpu())
            ttft.append(self.ttft())
            out.append(round(self.output()))
            tools.append([self.tool_call() for _ in range(self.count(self.tools_per_step()))])
        return TurnPlan(round(self.prompt()), cpu, ttft, out, tools, think)

    def tool_call(self) -> tuple[int, float]:
        index = min(bisect.bisect_right(self.tool_cdf, self.pick_tool()), len(self.tool_cdf) - 1)
        return index, self.tool_latency[index]()
