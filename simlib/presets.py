"""Presets: ready-made scenarios, built only from the public configuration classes.

:func:`mmc` is the bridge to queueing theory: a scenario whose every mechanism but one queue is
switched off, so that it *is* an M/M/c queue (or M/D/c with ``kind="deterministic"``) and its
numbers can be held against :mod:`simlib.theory`. The other presets are the article's workloads,
the starting points of the notebooks. Each takes keyword ``changes`` in ``with_`` form.
"""

from __future__ import annotations

import math

import numpy as np

from .config import LLM, Architecture, Tool, Workers, Workload
from .dists import Deterministic, Empirical, Exponential, Geometric, LogNormal, Uniform
from .faults import LatencySpike
from .resilience import LoadShedding, Policy, Resilience, Retry, RetryBudget, Timeout
from .scenario import Scenario
from .validate import check_choice, check_number

KINDS = ("exponential", "deterministic")

TEXTBOOK = {"sdk_retries": 0, "error_latency": None, "rate_window": 60.0, "cache": None}
"""The first edition's textbook provider, as changes to an :class:`simlib.LLM`: no SDK retry
layer, an error known only after a full (billed) generation, per-minute rate-limit buckets and
no prompt cache (only pinned sessions' ``prompt_cache_factor``). ``LLM(**TEXTBOOK)``, or
``scenario.with_(**{f"llm.{k}": v for k, v in TEXTBOOK.items()})``: what the second edition's
realistic provider changes is the difference between the two."""


def textbook(scenario: Scenario) -> Scenario:
    """``scenario`` with its cloud LLM made the first edition's textbook provider."""
    return scenario.with_(**{f"llm.{name}": value for name, value in TEXTBOOK.items()})


def mmc(arrival_rate: float, service_mean: float, servers: int, duration: float = 2000.0,
        warmup: float = 200.0, kind: str = "exponential", queue_limit: int | None = None,
        **changes) -> Scenario:
    """An M/M/c queue: Poisson arrivals of one-turn, one-step sessions with no tools and no
    output tokens, so a turn's only work is one LLM call of ``service_mean`` seconds
    (exponential, or deterministic), served by ``servers`` single-slot workers behind one queue.
    ``queue_limit`` sheds turns that find that many waiting (0 gives the Erlang B loss system,
    K-1 with one server gives M/M/1/K)."""
    check_choice("kind", kind, KINDS)
    check_number("arrival_rate", arrival_rate, low=0, strict=True)
    check_number("service_mean", service_mean, low=0, strict=True)
    check_number("servers", servers, low=1, integer=True)
    check_number("queue_limit", queue_limit, low=0, integer=True, optional=True)
    service = Exponential(service_mean) if kind == "exponential" else Deterministic(service_mean)
    scenario = Scenario(
        architecture=Architecture("stateless", "sync", "monolith"),
        workload=Workload(arrival_rate=arrival_rate, turns=Deterministic(1),
                          steps=Deterministic(1), tools_per_step=Deterministic(0),
                          prompt_tokens=Deterministic(0), output_tokens=Deterministic(0)),
        llm=LLM(ttft=service, error_rate=0.0, **TEXTBOOK),
        tools=(),
        workers=Workers(count=servers, slots=1, cpu_per_step=Deterministic(0)),
        resilience=Resilience(shedding=None if queue_limit is None
                              else LoadShedding(max_queue=queue_limit)),
        duration=duration, warmup=warmup, slo_latency=10 * service_mean,
        sample_every=max(service_mean / 2, duration / 4000))  # a chart needs no more points
    return scenario.with_(**changes)


def qa_bot(**changes) -> Scenario:
    """A stateless Q&A bot: one turn of one LLM call, no tools, 2 sessions/s."""
    scenario = Scenario(
        architecture=Architecture("stateless", "sync", "monolith"),
        workload=Workload(arrival_rate=2.0, turns=Deterministic(1), steps=Deterministic(1),
                          prompt_tokens=LogNormal(median=400, p95=1500),
                          output_tokens=LogNormal(median=150, p95=500)),
        tools=(), workers=Workers(count=2, slots=8), duration=600, warmup=60, slo_latency=5.0)
    return scenario.with_(**changes)


def assistant(**changes) -> Scenario:
    """A multi-turn assistant: conversations of about 6 turns, 20 s think time, one search
    tool call in a third of the steps; stateful (the context lives in the worker)."""
    scenario = Scenario(
        architecture=Architecture("stateful", "sync", "monolith"),
        workload=Workload(arrival_rate=0.5, turns=Geometric(6), think_time=Exponential(20),
                          steps=Geometric(1.5), tools_per_step=Uniform(0, 0.67),
                          prompt_tokens=LogNormal(median=200, p95=800),
                          output_tokens=LogNormal(median=250, p95=800)),
        tools=(Tool("search", LogNormal(median=0.3, p95=2.0), capacity=16),),
        workers=Workers(count=3, slots=8), duration=900, warmup=120, slo_latency=15.0)
    return scenario.with_(**changes)


def tool_agent(**changes) -> Scenario:
    """A tool-heavy coding agent: a few turns of many steps, each step about one tool call
    whose latency is heavy-tailed (median 0.3 s, p90 over 10 s, as in coding-agent traces)."""
    scenario = Scenario(
        architecture=Architecture("stateless", "async", "microservices"),
        workload=Workload(arrival_rate=0.1, turns=Geometric(3), think_time=Exponential(60),
                          steps=Geometric(6), tools_per_step=Uniform(0.5, 1.5),
                          prompt_tokens=LogNormal(median=1500, p95=6000),
                          output_tokens=LogNormal(median=300, p95=1200)),
        tools=(Tool("code", LogNormal(median=0.3, p95=27.0), capacity=8, replicas=2),
               Tool("search", LogNormal(median=0.3, p95=2.0), capacity=16, replicas=1)),
        workers=Workers(count=2, slots=4, cpu_per_step=Deterministic(0.02)),
        duration=1800, warmup=300, slo_latency=120.0)
    return scenario.with_(**changes)


def retry_storm(arrival_rate: float = 4.0, trigger: bool = False, safe: bool = False,
                duration: float = 400.0) -> Scenario:
    """Metastable failure in miniature: one LLM endpoint serving one call at a time in 0.1 s
    on average (an M/M/1 queue of capacity 10/s), callers that give up after 1 s without
    cancelling (the abandoned call still runs) and retry 3 times at once. While 4 x the arrival
    rate is under 10/s nothing can collapse; above that, a burst of timeouts can multiply the
    load past capacity, and the overload feeds itself. ``trigger`` adds a 20 s latency spike
    (x10) at t = 100 s; ``safe`` retries with full-jitter backoff and a retry budget instead."""
    retry = Retry(retries=3, backoff="full", base=0.5, cap=10.0, budget=RetryBudget(0.1, 10)) \
        if safe else Retry(retries=3, backoff="none", base=0.0, cap=0.0)
    faults = (LatencySpike("llm", start=100.0, duration=20.0, factor=10.0),) if trigger else ()
    return mmc(arrival_rate, 0.1, 1, duration=duration, warmup=50.0, faults=faults, **{
        "workers.slots": 100_000, "llm.concurrency": 1, "slo_latency": 5.0,
        "sample_every": max(0.05, duration / 100_000),  # collapse is judged on the timeline
        "resilience.llm": Policy(retry=retry, timeout=Timeout(1.0, cancel=False))})


def from_trace(trace, replay: bool = True, **changes) -> Scenario:
    """A Q&A-bot-shaped scenario for a real trace (:mod:`simlib.traces`): each request is a turn
    of one LLM call with the trace's tokens. ``replay=True`` replays the trace's own arrival
    times (and its sessions); ``replay=False`` is its *Poisson twin*: the same mean rate of
    sessions, turns per session, think times and token sizes, resampled independently. Comparing
    the two shows what the trace's burstiness does that a Poisson process does not."""
    scenario = qa_bot(duration=float(math.ceil(trace.duration + 1)), warmup=0.0)
    if replay:
        return scenario.with_(**{"workload.replay": trace, **changes})
    workload = Workload(
        arrival_rate=(trace.n_sessions or len(trace)) / max(trace.duration, 1e-9),
        turns=Empirical(_turns_per_session(trace)), think_time=Empirical(_gaps(trace)),
        prompt_tokens=Empirical(trace.prompt_tokens), output_tokens=Empirical(trace.output_tokens))
    return scenario.with_(workload=workload, **changes)


def _turns_per_session(trace) -> np.ndarray:
    if trace.sessions is None:
        return np.ones(1)
    return np.bincount(np.asarray(trace.sessions)).astype(float)


def _gaps(trace) -> np.ndarray:
    """Gaps between consecutive requests of a session (a stand-in when there are none)."""
    if trace.sessions is None:
        return np.array([20.0])
    order = np.lexsort((trace.times, trace.sessions))
    same = np.diff(np.asarray(trace.sessions)[order]) == 0
    gaps = np.diff(np.asarray(trace.times)[order])[same]
    return gaps if len(gaps) else np.array([20.0])


ARTICLE = {"qa_bot": qa_bot, "assistant": assistant, "tool_agent": tool_agent}
