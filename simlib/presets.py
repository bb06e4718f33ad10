"""Presets: ready-made scenarios and designs, built only from the public configuration classes.

:func:`mmc` is the bridge to queueing theory: a scenario whose every mechanism but one queue is
switched off, so that it *is* an M/M/c queue (or M/D/c with ``kind="deterministic"``) and its
numbers can be held against :mod:`simlib.theory`. :func:`qa_bot`, :func:`assistant` and
:func:`tool_agent` are the article's workloads; the notebooks' own workloads follow, each built
from one of them or from scratch, and each named for what it is (:func:`tool_agent_turn`,
:func:`multi_turn_chat`, :func:`chat_agent`, :func:`busy_qa_bot`, :func:`product`, ...). Every
preset takes keyword ``changes`` in ``with_`` form.

The designs the notebooks name are constants here, one name each: :data:`SIMPLE` (stateless,
sync, one monolith: the default, the article's low-budget pick and where "simple first"
starts) and the others named for the axes on which they leave it (:data:`STATEFUL`,
:data:`ASYNC`, :data:`MICROSERVICES`, :data:`ASYNC_MICROSERVICES`, :data:`STATEFUL_ASYNC`).
"""

from __future__ import annotations

import math

import numpy as np

from .config import LLM, Architecture, OnPrem, Tool, Workers, Workload
from .dists import Deterministic, Empirical, Exponential, Geometric, LogNormal, Uniform
from .faults import Crash, LatencySpike, RandomCrashes, windows
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


FIRST_EDITION_LLM = {f"llm.{name}": value for name, value in TEXTBOOK.items()}
""":data:`TEXTBOOK` as ``with_`` changes. Notebooks 02 and 04 still run their experiments on
it (the first edition's verdicts, which the second edition re-derives on the realistic
provider); notebook 03's agent still fails a turn on a failed tool call
(``tool_errors="fail"``)."""


def textbook(scenario: Scenario) -> Scenario:
    """``scenario`` with its cloud LLM made the first edition's textbook provider."""
    return scenario.with_(**FIRST_EDITION_LLM)


SIMPLE = Architecture("stateless", "sync", "monolith")
"""The simplest design and the default: any worker serves any turn, a turn holds its worker
slot throughout, one deployable unit. The article's low-budget pick; "simple first" starts
here."""
STATEFUL = Architecture("stateful", "sync", "monolith")
"""Sessions pinned to a worker that keeps their context in memory (sticky routing)."""
ASYNC = Architecture("stateless", "async", "monolith")
"""Turns acknowledged at once, holding a worker slot only for their CPU bursts."""
MICROSERVICES = Architecture("stateless", "sync", "microservices")
"""Tools and the context store as services of their own, a network hop away."""
ASYNC_MICROSERVICES = Architecture("stateless", "async", "microservices")
"""The article's high-scale pick, and where "complex first" starts."""
STATEFUL_ASYNC = Architecture("stateful", "async", "monolith")
"""Pinned sessions on async workers (with checkpoints: "stateful + strong data storage")."""


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
        architecture=SIMPLE,
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
        architecture=SIMPLE,
        workload=Workload(arrival_rate=2.0, turns=Deterministic(1), steps=Deterministic(1),
                          prompt_tokens=LogNormal(median=400, p95=1500),
                          output_tokens=LogNormal(median=150, p95=500)),
        tools=(), workers=Workers(count=2), duration=600, warmup=60, slo_latency=5.0)
    return scenario.with_(**changes)


def conversations(rate: float, turns: float, think: float, steps: float,
                  tools: tuple[float, float], prompt: tuple[float, float],
                  output: tuple[float, float], **loop) -> Workload:
    """A workload of conversations: ``rate`` sessions per second of about ``turns`` turns
    (geometric), ``think`` seconds of thinking between them (exponential), about ``steps``
    agent steps a turn (geometric), tool calls a step uniform between the two ``tools``, and
    prompt and output tokens log-normal with the given (median, p95); ``loop`` sets the agent
    loop's other fields (``tool_result_tokens``, ``max_steps``, ...)."""
    return Workload(arrival_rate=rate, turns=Geometric(turns), think_time=Exponential(think),
                    steps=Geometric(steps), tools_per_step=Uniform(*tools),
                    prompt_tokens=LogNormal(median=prompt[0], p95=prompt[1]),
                    output_tokens=LogNormal(median=output[0], p95=output[1]), **loop)


TOOL_RESULTS = LogNormal(median=300, p95=1500)
"""Tokens a tool call returns into the context: mean about 480. Measured on 254 Claude Code
sessions (3,410 tool calls): tool output is 79% of the context, about 1.9 kB a call (Bash
1.4 kB, Read 4.1 kB), at about 4 characters a token ("Where Context Budget Actually Goes",
timetobuildbob.github.io, 2026); a single-author measurement, so a setting to vary."""


def assistant(**changes) -> Scenario:
    """A multi-turn assistant: conversations of about 6 turns, 20 s think time, one search
    tool call in a third of the steps, its results joining the context; stateful (the context
    lives in the worker)."""
    scenario = Scenario(
        architecture=STATEFUL,
        workload=conversations(0.5, turns=6, think=20, steps=1.5, tools=(0, 0.67),
                               prompt=(200, 800), output=(250, 800),
                               tool_result_tokens=TOOL_RESULTS),
        tools=(Tool("search", LogNormal(median=0.3, p95=2.0), capacity=16),),
        workers=Workers(count=3), duration=900, warmup=120, slo_latency=15.0)
    return scenario.with_(**changes)


def tool_agent(**changes) -> Scenario:
    """A tool-heavy coding agent: a few turns of many steps, each step about one tool call
    whose latency is heavy-tailed (median 0.3 s, p90 over 10 s, as in coding-agent traces) and
    whose output joins the context (:data:`TOOL_RESULTS`); at most 25 steps a turn (LangGraph's
    default ``recursion_limit``) in a 200,000-token window, summarised when full (the context
    window of Anthropic's Claude models, platform.claude.com/docs, models overview)."""
    scenario = Scenario(
        architecture=ASYNC_MICROSERVICES,
        workload=conversations(0.1, turns=3, think=60, steps=6, tools=(0.5, 1.5),
                               prompt=(1500, 6000), output=(300, 1200),
                               tool_result_tokens=TOOL_RESULTS, max_steps=25,
                               context_window=200_000),
        tools=(Tool("code", LogNormal(median=0.3, p95=27.0), capacity=8, replicas=2),
               Tool("search", LogNormal(median=0.3, p95=2.0), capacity=16, replicas=1)),
        workers=Workers(count=2, cpu_per_step=Deterministic(0.02)),
        duration=1800, warmup=300, slo_latency=120.0)
    return scenario.with_(**changes)


def retry_storm(arrival_rate: float = 4.0, trigger: bool = False, safe: bool = False,
                duration: float = 400.0, sample_every: float | None = None) -> Scenario:
    """Metastable failure in miniature: one LLM endpoint serving one call at a time in 0.1 s
    on average (an M/M/1 queue of capacity 10/s), callers that give up after 1 s without
    cancelling (the abandoned call still runs) and retry 3 times at once. While 4 x the arrival
    rate is under 10/s nothing can collapse; above that, a burst of timeouts can multiply the
    load past capacity, and the overload feeds itself. ``trigger`` adds a 20 s latency spike
    (x10) at t = 100 s; ``safe`` retries with full-jitter backoff and a retry budget instead.
    The timeline is sampled every 0.05 s (finer for long runs) unless ``sample_every`` says
    otherwise: a collapse is read from the turns table (:data:`SINCE`), and sampling every
    second makes a healthy run about twice as fast."""
    retry = Retry(retries=3, backoff="full", base=0.5, cap=10.0, budget=RetryBudget(0.1, 10)) \
        if safe else Retry(retries=3, backoff="none", base=0.0, cap=0.0)
    faults = (LatencySpike("llm", start=100.0, duration=20.0, factor=10.0),) if trigger else ()
    return mmc(arrival_rate, 0.1, 1, duration=duration, warmup=50.0, faults=faults, **{
        "workers.slots": 100_000, "llm.concurrency": 1, "slo_latency": 5.0,
        "sample_every": sample_every or max(0.05, duration / 100_000),
        "resilience.llm": Policy(retry=retry, timeout=Timeout(1.0, cancel=False))})


SINCE = windows(retry_storm(trigger=True))[-1][1] + 130.0
"""A storm run has collapsed when fewer than half of the turns arriving from here on are
answered ok (:func:`simlib.metrics.collapsed`): t = 250 s, 130 s after the trigger ended."""


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


# -- the notebooks' workloads -------------------------------------------------------------------


def multi_turn_chat(**changes) -> Scenario:
    """Notebook 01's chat: :func:`assistant` with one LLM call per turn and no tools (so the
    context's trips are easy to see), about 6 turns a session, 10 s think time, 300 s long,
    stateless."""
    return assistant(**{"architecture": SIMPLE, "workload.steps": 1, "workload.tools_per_step": 0,
                        "tools": (), "workload.think_time": Exponential(10.0), "duration": 300.0,
                        "warmup": 60.0, "workers.slots": 8, **changes})


def tool_agent_turn(**changes) -> Scenario:
    """Notebook 02's workload, from :func:`qa_bot`: one-turn sessions of 3 steps, each step a
    0.05 s CPU burst, one LLM call and 2 search calls (median 0.3 s, p95 2 s), on 2 workers of
    2 slots, 0.2 sessions per second, 400 s (60 s warm-up), sync."""
    return qa_bot(**{
        "architecture": SIMPLE, "workload.arrival_rate": 0.2,
        "workload.steps": Deterministic(3), "workload.tools_per_step": Deterministic(2),
        "tools": (Tool("search", LogNormal(median=0.3, p95=2.0), capacity=16),),
        "workers.slots": 2, "workers.cpu_per_step": Deterministic(0.05),
        "duration": 400.0, "warmup": 60.0, "slo_latency": 30.0,
        **FIRST_EDITION_LLM, **changes})


def tool_heavy(**changes) -> Scenario:
    """Notebook 03's agent: 2-turn sessions of about 3 steps, one tool call per step, two in
    three of them to a slow ``code`` tool (2 calls at once per replica) and the rest to a fast
    ``search``. Three replicas; in microservices the code service also has 3 replicas."""
    scenario = Scenario(
        architecture=SIMPLE,
        workload=Workload(arrival_rate=0.5, turns=Deterministic(2), think_time=Exponential(10),
                          steps=Geometric(3), tools_per_step=Deterministic(1),
                          prompt_tokens=LogNormal(median=400, p95=1500),
                          output_tokens=LogNormal(median=100, p95=400)),
        tools=(Tool("code", LogNormal(median=1.0, p95=4.0), capacity=2, replicas=3, weight=2.0),
               Tool("search", LogNormal(median=0.3, p95=2.0), capacity=8, replicas=1)),
        workers=Workers(count=3, slots=16), duration=600, warmup=60, slo_latency=30.0)
    return scenario.with_(**{"workload.tool_errors": "fail", **changes})


def tool_heavy_in_series(**changes) -> Scenario:
    """:func:`tool_heavy` cut down so that every turn calls exactly two services one after the
    other: the context service once (a 2-turn session writes after turn 1, reads before turn 2)
    and the code tool once (one step, one tool call); 1200 s."""
    base = tool_heavy(duration=1200)
    return base.with_(**{"workload.steps": Deterministic(1), "tools": base.tools[:1], **changes})


def busy_qa_bot(**changes) -> Scenario:
    """Notebook 04's chat service, from :func:`qa_bot`: one-turn sessions of one LLM call (mean
    3.15 s: about 0.7 s to first token and 200 output tokens at 80/s), 2 workers of 4 slots
    (capacity about 2.5 turns/s, so 80% busy at 2 turns/s), 400 s with a 60 s warm-up and a 10 s
    latency target. No resilience pattern."""
    return qa_bot(**{"workload.arrival_rate": 2.0, "workers.count": 2, "workers.slots": 4,
                     "duration": 400.0, "warmup": 60.0, "slo_latency": 10.0,
                     **FIRST_EDITION_LLM, **changes})


SMALL_MODEL = {"costs.llm_input_per_1k": 0.00015, "costs.llm_output_per_1k": 0.0006}
"""Token prices of a small hosted model ($0.15 and $0.60 per million tokens in and out), the
low-budget choice; the lab's default prices are about seven times higher."""
SENSITIVE_SHARE = 0.3
"""Share of turns that carry sensitive data in :func:`sensitive` and :func:`small_chat`."""
ONPREM_SLOT_HOUR = 1.0
"""Price of one on-premises model slot, $ per hour, busy or idle."""


def chat_agent(**changes) -> Scenario:
    """Notebook 05's reference workload, from :func:`assistant`: chat sessions of about 4 turns
    (10 s think time), each turn about 1.5 agent steps, a search tool call in half of the steps,
    on 2 workers of 6 slots (about 70% busy when sync), 0.3 sessions per second, 600 s with a
    60 s warm-up. A realistic day: each worker crashes about every 30 minutes (30 s restart) and
    each copy of the search tool every 15 minutes (20 s restart). Tokens are priced as
    :data:`SMALL_MODEL`. Stateless, sync, a monolith."""
    crashes = (RandomCrashes("workers", mttf=1800.0, mttr=30.0),
               RandomCrashes("tools.search", mttf=900.0, mttr=20.0))
    return assistant(**{
        "architecture": SIMPLE, "workload.arrival_rate": 0.3, "workload.turns": Geometric(4),
        "workload.think_time": Exponential(10), "workload.tools_per_step": Deterministic(0.5),
        "tools.search.capacity": 8, "store.per_1k_tokens": 0.01, "workers.count": 2,
        "workers.slots": 6, "faults": crashes, "duration": 600.0, "warmup": 60.0,
        "slo_latency": 20.0, **SMALL_MODEL, **changes})


def deep_chat(depth: int = 12, turn_rate: float = 0.8, **changes) -> Scenario:
    """Complex chat: :func:`chat_agent` with sessions of exactly ``depth`` turns arriving at
    ``turn_rate / depth`` per second (so the turns per second, hence the load, do not depend on
    the depth), a store that takes 0.05 s per 1k tokens of context read or written, no tool
    crashes, and two worker crashes (worker 0 at 200 s, worker 1 at 400 s, 30 s restarts)."""
    crashes = (Crash("workers", at=200.0, restart=30.0, index=0),
               Crash("workers", at=400.0, restart=30.0, index=1))
    return chat_agent(**{"workload.turns": Deterministic(depth), "faults": crashes,
                         "workload.arrival_rate": turn_rate / depth,
                         "store.per_1k_tokens": 0.05, **changes})


def small_chat(load: float = 0.6, depth: int = 4, restart: float = 0.0, **changes) -> Scenario:
    """:func:`chat_agent` cut down to run in a few milliseconds per design (notebook 05's
    chooser): ``load`` turns per second in sessions of exactly ``depth`` turns, one agent step
    per turn, 3 s think time (a compressed day, so that deep conversations fit in a short run),
    2 workers of 3 slots (a sync fleet serves about 1.2 turns/s), a store that takes 0.05 s per
    1k tokens of context, 200 s (40 s warm-up), :data:`SENSITIVE_SHARE` of the turns sensitive.
    ``restart`` > 0 crashes worker 0 at 100 s for that many seconds. The timeline is sampled
    every 5 s: the chooser reads only the turns, and finer sampling was a tenth of its time."""
    faults = (Crash("workers", at=100.0, restart=restart),) if restart else ()
    return chat_agent(**{"workload.turns": Deterministic(depth),
                         "workload.think_time": Exponential(3),
                         "workload.arrival_rate": load / depth, "workload.steps": Deterministic(1),
                         "workload.sensitive_share": SENSITIVE_SHARE, "workers.slots": 3,
                         "store.per_1k_tokens": 0.05, "faults": faults, "duration": 200.0,
                         "warmup": 40.0, "sample_every": 5.0, **changes})


def with_onprem(scenario: Scenario, concurrency: int = 4, overflow: str = "queue",
                per_slot_hour: float = ONPREM_SLOT_HOUR) -> Scenario:
    """``scenario`` as a hybrid design: sensitive turns go to an on-premises model of
    ``concurrency`` slots (paid ``per_slot_hour`` each, busy or idle); ``overflow`` says what a
    sensitive turn does when it is full (see :class:`simlib.Compliance`)."""
    return scenario.with_(onprem=OnPrem(concurrency=concurrency), **{
        "costs.onprem_per_hour": concurrency * per_slot_hour, "compliance.overflow": overflow})


def sensitive(share: float = SENSITIVE_SHARE, rate: float = 1.0, onprem: int = 4,
              **changes) -> Scenario:
    """Strict compliance: the Q&A bot (one turn, one LLM call, no tools) with ``share`` of the
    turns sensitive, ``rate`` sessions per second, on 4 async workers (so that workers never
    limit it), 400 s, tokens priced as :data:`SMALL_MODEL`. ``onprem`` is the on-premises
    model's concurrency (0 = none: cloud only), paid $1 per slot-hour."""
    scenario = qa_bot(**{
        "architecture": ASYNC, "workload.arrival_rate": rate,
        "workload.sensitive_share": share, "workers.count": 4, "duration": 400.0,
        "warmup": 40.0, "slo_latency": 20.0, **SMALL_MODEL})
    if onprem:
        scenario = with_onprem(scenario, onprem)
    return scenario.with_(**changes)


def product(**changes) -> Scenario:
    """Notebook 06's growing product in its first month: :func:`assistant` made stateless and
    small. Sessions of about 3 turns (15 s think time), about 2 agent steps a turn, a search
    tool call in half the steps (median 0.5 s, p95 3 s, 2 calls at once per replica), a slow
    context store (0.1 s per 1,000 tokens of context) with 2 connections, and a provider quota
    of 480 requests a minute. It starts small: one sync monolith worker with 8 slots, 0.1
    sessions/s, a 10-minute window (2 minutes of warm-up); the SLO: answered ok within 30 s."""
    return assistant(**{
        "architecture": SIMPLE, "workload.arrival_rate": 0.1, "workload.turns": Geometric(3),
        "workload.think_time": Exponential(15), "workload.steps": Geometric(2),
        "workload.tools_per_step": Uniform(0, 1),
        "workload.prompt_tokens": LogNormal(median=300, p95=1000),
        "workload.output_tokens": LogNormal(median=200, p95=600),
        "tools.search.latency": LogNormal(median=0.5, p95=3.0), "tools.search.capacity": 2,
        "store.latency": LogNormal(median=0.05, p95=0.2), "store.per_1k_tokens": 0.1,
        "store.servers": 2, "workers.count": 1, "workers.slots": 8,
        "llm.requests_per_minute": 480.0,
        "duration": 600.0, "warmup": 120.0, "slo_latency": 30.0, "sample_every": 2.0, **changes})


def complex_start(**changes) -> Scenario:
    """"Complex first" before sizing: :func:`product` as :data:`ASYNC_MICROSERVICES` with two
    orchestrators, two search replicas and two context replicas."""
    return product(**{"architecture": ASYNC_MICROSERVICES, "workers.count": 2,
                      "tools.search.replicas": 2, **changes})


ARTICLE = {"qa_bot": qa_bot, "assistant": assistant, "tool_agent": tool_agent}


# -- notebooks 00 and 01 (issue 16) -------------------------------------------------------------

CHAT_PREFILL_RATE = 11_323.1
"""Prompt tokens a second a model prefills, for notebook 01's prompt-cache experiment
(``llm.prefill_rate``: the time to first token grows by one second per this many *uncached*
prompt tokens). Llama-3-8B on one A100 80GB, fitted to Vidur's kernel profiles
(microsoft/vidur, MIT): ``data/serving_profiles.csv``, row ``llama-3-8b_a100-80gb_tp1``,
column ``prefill_tokens_per_s``. Hosted providers publish no prefill rate; OpenAI's
openai-cookbook ``examples/Prompt_Caching_201.ipynb`` reports the cache cutting time to first
token by up to 80% on long prompts, which a rate of this order gives."""


# -- notebooks 02 and 03 (issue 16) ---------------------------------------------------------------


def threaded_agent_turn(**changes) -> Scenario:
    """Notebook 02's workload on the second-edition model: :func:`tool_agent_turn` (3 steps,
    each a 0.05 s CPU burst, one LLM call and 2 search calls one after the other) with the
    realistic provider (:class:`simlib.LLM`'s defaults: 1 s rate-limit windows, the SDK's 2
    retries, fast unbilled errors, the prompt cache) on ONE worker with the default 40 sync
    threads (Starlette runs ``def`` endpoints on anyio's thread limiter of 40,
    starlette.io/threadpool) or 64 async in-flight places, 1 session per second."""
    realistic = {f"llm.{name}": getattr(LLM(), name) for name in TEXTBOOK}
    return tool_agent_turn(**{**realistic, "workers.count": 1,
                              "workers.slots": Workers().slots,
                              "workload.arrival_rate": 1.0, **changes})


# -- notebooks 04 and 05 (issue 16) -------------------------------------------------------------

REALISTIC_LLM = {f"llm.{name}": getattr(LLM(), name) for name in TEXTBOOK}
"""The second edition's hosted provider as ``with_`` changes: what :data:`FIRST_EDITION_LLM`
took away put back (the SDK's 2 retries, fast unbilled failures after ``error_latency``, 1 s
rate-limit windows, the provider's prompt cache), each at :class:`simlib.LLM`'s default."""


def qa_service(**changes) -> Scenario:
    """Notebook 04's chat service on the realistic provider: :func:`busy_qa_bot` (one LLM call
    of about 3 s per turn, 2 workers of 4 slots, 2 turns/s, 400 s) with :data:`REALISTIC_LLM`:
    a failed call returns after ``error_latency`` (median 0.2 s) unbilled, and the SDK retries
    it twice (openai-python and anthropic-sdk-python ``DEFAULT_MAX_RETRIES = 2``) below any
    retry policy of the application."""
    return busy_qa_bot(**{**REALISTIC_LLM, **changes})


def slow_failures(error_latency: float | None) -> dict:
    """``with_`` changes that make a failed call return after ``error_latency`` seconds at the
    median (a log-normal whose p95 is 5 times the median), or after a full generation (None:
    the textbook provider's failure, known only at the end). Connection refusals and 5xx/529
    come back in well under a second; a hung call returns only at the client's timeout
    (openai-python's default is 600 s), so the realistic range spans both."""
    if error_latency is None:
        return {"llm.error_latency": None}
    return {"llm.error_latency": LogNormal(median=error_latency, p95=5 * error_latency)}


# -- notebooks 06 and 07 (issue 16) ---------------------------------------------------------------

ANTHROPIC_TIERS = {1: (50, 30_000, 8_000), 2: (1_000, 450_000, 90_000),
                   3: (2_000, 800_000, 160_000), 4: (4_000, 2_000_000, 400_000)}
"""Anthropic's published usage tiers for Claude Sonnet 4.x: requests, input tokens and output
tokens per minute, per organisation (cached input reads do not count against input tokens).
Source: Anthropic, "Rate limits", https://docs.anthropic.com/en/api/rate-limits (tier table
for Claude Sonnet 4.x; a tier is reached by a cumulative credit purchase of $5, $40, $200 and
$400). The limits change over time: check the page for your model."""

TIER_CREDIT = {1: 5, 2: 40, 3: 200, 4: 400}
"""Cumulative credit purchase (dollars) that unlocks each tier (same source as
:data:`ANTHROPIC_TIERS`)."""


def tier(n: int) -> dict:
    """``with_`` changes that put the provider at Anthropic's usage tier ``n``
    (:data:`ANTHROPIC_TIERS`)."""
    rpm, itpm, otpm = ANTHROPIC_TIERS[n]
    return {"llm.requests_per_minute": float(rpm), "llm.input_tokens_per_minute": float(itpm),
            "llm.output_tokens_per_minute": float(otpm)}


def tier_of(scenario: Scenario) -> int | None:
    """The tier of :data:`ANTHROPIC_TIERS` whose limits ``scenario``'s provider has, or None."""
    llm = scenario.llm
    found = (llm.requests_per_minute, llm.input_tokens_per_minute, llm.output_tokens_per_minute)
    return next((n for n, limits in ANTHROPIC_TIERS.items()
                 if tuple(float(v) for v in limits) == found), None)


def startup(start_tier: int = 2, **changes) -> Scenario:
    """Notebook 06's growing product (:func:`product`) with second-edition settings: the sync
    worker keeps the default thread pool (``Workers.slots``, 40: Starlette runs ``def``
    endpoints on AnyIO's default limiter of 40 threads) instead of the first edition's 8
    slots, and the provider has Anthropic's limits at ``start_tier`` (:func:`tier`: requests,
    input and output tokens per minute) instead of a flat 480 requests a minute."""
    return product(**{"workers.slots": Workers().slots, **tier(start_tier), **changes})


def startup_complex(start_tier: int = 2, **changes) -> Scenario:
    """"Complex first" before sizing, on :func:`startup`'s settings: async microservices with
    two orchestrators, two search replicas and two context replicas."""
    return startup(start_tier, **{"architecture": ASYNC_MICROSERVICES, "workers.count": 2,
                                  "tools.search.replicas": 2, **changes})


# -- notebook 09 (durable agents) ----------------------------------------------------------------
# (imported here, not at the top, so that this section stays a pure append for merging)

from .config import serving_profile  # noqa: E402
from .resilience import Broker  # noqa: E402

LARGE_MODEL_PROFILE = "llama-2-70b_a100-80gb_tp4"
"""The serving profile whose prefill rate stands for a hosted frontier model's."""
LARGE_MODEL_PREFILL = float(serving_profile(LARGE_MODEL_PROFILE)["prefill_tokens_per_s"])
"""Uncached prompt tokens per second added to the time to first token: about 4,400, a 70B
model on 4 A100s (Splitwise's profile, ``data/serving_profiles.csv``), the scale of a hosted
frontier model's prefill. Without a prefill rate (the LLM's default) a longer prompt costs
money but no time."""
DRAIN = 1000.0
"""Seconds at the end of :func:`brokered_agent`'s runs with no arrivals, so that a turn
redelivered after a long visibility timeout still ends inside the run (and is counted)."""


def long_agent(steps=None, **changes) -> Scenario:
    """Notebook 09's long tool agent: :func:`tool_agent` with one-turn sessions (so that a
    turn's numbers are its own loop's, with no earlier history) at 0.1 per second, 2,000 s
    (200 s warm-up), prefill at :data:`LARGE_MODEL_PREFILL`. ``steps`` (a number: exactly that
    many; or a distribution) replaces the geometric 6."""
    scenario = tool_agent(**{"workload.turns": Deterministic(1), "workload.arrival_rate": 0.1,
                             "duration": 2000.0, "warmup": 200.0,
                             "llm.prefill_rate": LARGE_MODEL_PREFILL})
    if steps is not None:
        steps = Deterministic(steps) if isinstance(steps, int | float) else steps
        scenario = scenario.with_(**{"workload.steps": steps})
    return scenario.with_(**changes)


def brokered_agent(**changes) -> Scenario:
    """:func:`long_agent` on async workers (:data:`ASYNC_MICROSERVICES`) behind an
    early-acknowledging broker, the step cap lifted (so that every loss is a crash's);
    arrivals from 0 to 1,800 s, then :data:`DRAIN` seconds without."""
    return long_agent(**{"architecture": ASYNC_MICROSERVICES, "workload.max_steps": None,
                         "duration": 1800.0 + DRAIN, "workload.rate_profile": ((1800.0, 0.0),),
                         "resilience.broker": Broker(ack="early"), **changes})
