"""Resilience patterns: small policy objects that wrap every outbound call.

Every LLM, tool and context-store call goes through :func:`simlib.calls.call`, which applies the
policy of that kind of dependency in one documented order, outermost first::

    rate limit  ->  circuit breaker  ->  bulkhead  ->  retry ( timeout ( the call ) )

* :class:`RateLimit` makes the caller wait for a token before calling (client-side throttling).
* :class:`CircuitBreaker` fails fast while the dependency looks broken (closed -> open after too
  many failures in a window; open -> half-open after ``open_time``; half-open -> closed after a
  successful probe, or back to open after a failed one).
* :class:`Bulkhead` caps the calls in progress to one dependency, so a slow one cannot take every
  worker slot with it; calls beyond the cap wait in a queue of at most ``max_queue``, or fail.
* :class:`Retry` tries again after a failure, sleeping an exponential backoff with no, full, equal
  or decorrelated jitter (as in the AWS backoff simulator), within an optional retry budget.
* :class:`Timeout` gives up waiting; ``cancel`` says whether the abandoned work is cancelled or
  keeps running downstream, counted as wasted work.

Then three patterns that act on whole turns: :class:`LoadShedding` (refuse work when the queue
is long or the wait too long), :class:`Fallback` (answer with a degraded answer when the LLM
fails) and :class:`Checkpointing` (stateful sessions save their context every few turns), plus
:class:`DeadLetter` for async designs (a failed turn is redelivered instead of failing silently).

The policy classes are configuration (frozen, validated); :class:`Breaker`, :class:`Budget` and
:func:`backoff` are the small runtime pieces the engine uses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .config import LLM, Config, dist
from .dists import Deterministic, Distribution, LogNormal
from .validate import check_choice, check_number, check_probability, check_type

BACKOFFS = ("none", "full", "equal", "decorrelated")
POLICY_CAUSES = ("timeout", "breaker_open", "bulkhead_full")
"""The causes the patterns give a call they end themselves."""


@dataclass(frozen=True)
class Timeout(Config):
    """Give up on a call after ``seconds``; ``cancel=False`` lets it run on as wasted work."""

    path = "resilience.timeout"
    seconds: float = 5.0
    cancel: bool = True

    def validate(self):
        check_number(self._at("seconds"), self.seconds, low=0, strict=True)
        check_type(self._at("cancel"), self.cancel, bool, "True or False")


@dataclass(frozen=True)
class RetryBudget(Config):
    """Retries spend tokens from a bucket that successes refill: each retry costs one token,
    each success adds ``ratio`` (0.1 allows about one retry per ten successes), up to
    ``max_tokens``. An empty bucket means no retry: retries cannot multiply an overload."""

    path = "resilience.retry.budget"
    ratio: float = 0.1
    max_tokens: float = 10.0

    def validate(self):
        check_number(self._at("ratio"), self.ratio, low=0)
        check_number(self._at("max_tokens"), self.max_tokens, low=1)


@dataclass(frozen=True)
class Retry(Config):
    """Up to ``retries`` more attempts after a failure. Before retry n (1, 2, ...) sleep a
    backoff with ``v = min(cap, base * 2**(n-1))``: ``none`` sleeps v, ``full`` U(0, v),
    ``equal`` v/2 + U(0, v/2), ``decorrelated`` min(cap, U(base, 3 * previous sleep)). A 429
    answer's retry-after is honoured as a minimum sleep."""

    path = "resilience.retry"
    retries: int = 2
    backoff: str = "full"
    base: float = 0.2
    cap: float = 10.0
    budget: RetryBudget | None = None

    def validate(self):
        check_number(self._at("retries"), self.retries, low=0, integer=True)
        check_choice(self._at("backoff"), self.backoff, BACKOFFS)
        check_number(self._at("base"), self.base, low=0)
        check_number(self._at("cap"), self.cap, low=self.base, what="base")
        self._check_optional({"budget": RetryBudget})


@dataclass(frozen=True)
class CircuitBreaker(Config):
    """Opens when at least ``min_calls`` calls ended in the last ``window`` seconds and the
    share of failures among them reached ``failure_threshold``; stays open ``open_time``
    seconds (calls fail at once with ``breaker_open``), then lets one probe through
    (half-open): success closes it, failure opens it again."""

    path = "resilience.breaker"
    failure_threshold: float = 0.5
    window: float = 10.0
    min_calls: int = 10
    open_time: float = 5.0

    def validate(self):
        check_number(self._at("failure_threshold"), self.failure_threshold, low=0,
                     strict=True, high=1)
        check_number(self._at("window"), self.window, low=0, strict=True)
        check_number(self._at("min_calls"), self.min_calls, low=1, integer=True)
        check_number(self._at("open_time"), self.open_time, low=0, strict=True)


@dataclass(frozen=True)
class Bulkhead(Config):
    """At most ``max_concurrent`` calls in progress; ``max_queue`` more may wait; the rest fail
    at once with ``bulkhead_full`` (``max_queue=0``: no queue, an Erlang B loss system)."""

    path = "resilience.bulkhead"
    max_concurrent: int = 8
    max_queue: int = 0

    def validate(self):
        check_number(self._at("max_concurrent"), self.max_concurrent, low=1, integer=True)
        check_number(self._at("max_queue"), self.max_queue, low=0, integer=True)


@dataclass(frozen=True)
class RateLimit(Config):
    """Client-side throttle: wait for a token from a bucket of ``burst`` refilled at
    ``per_second``, so the caller never exceeds a provider's limit."""

    path = "resilience.rate_limit"
    per_second: float = 10.0
    burst: float = 10.0

    def validate(self):
        check_number(self._at("per_second"), self.per_second, low=0, strict=True)
        check_number(self._at("burst"), self.burst, low=1)


@dataclass(frozen=True)
class Policy(Config):
    """The policies wrapped around one kind of dependency (None = not used)."""

    path = "resilience.policy"
    rate_limit: RateLimit | None = None
    breaker: CircuitBreaker | None = None
    bulkhead: Bulkhead | None = None
    retry: Retry | None = None
    timeout: Timeout | None = None

    def validate(self):
        self._check_optional({"rate_limit": RateLimit, "breaker": CircuitBreaker,
                              "bulkhead": Bulkhead, "retry": Retry, "timeout": Timeout})

    @property
    def used(self) -> bool:
        """Does it use any pattern at all? (With none, calls go straight through.)"""
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))


@dataclass(frozen=True)
class LoadShedding(Config):
    """Refuse a turn (outcome ``shed``) when ``max_queue`` turns already wait for a worker, or
    drop it when it has waited ``max_wait`` seconds. None switches a rule off; ``max_queue=0``
    means no queue at all (Erlang B), ``K-1`` with one server gives M/M/1/K."""

    path = "resilience.shedding"
    max_queue: int | None = None
    max_wait: float | None = None

    def validate(self):
        check_number(self._at("max_queue"), self.max_queue, low=0, integer=True, optional=True)
        check_number(self._at("max_wait"), self.max_wait, low=0, strict=True, optional=True)


@dataclass(frozen=True)
class Fallback(Config):
    """When an LLM call fails for good, answer from a cheaper model or a cache: it takes
    ``latency``, fails itself with ``error_rate``, and costs its tokens at ``input_per_1k`` and
    ``output_per_1k`` (defaults: a small hosted model, GPT-4o mini's $0.15 and $0.60 per
    million tokens, openai.com/api/pricing as of 2024-2025; 0 for a cached answer). A turn
    answered by it counts as ``degraded``, not ok."""

    path = "resilience.fallback"
    latency: Distribution = dist(Deterministic(0.3))
    error_rate: float = 0.0
    input_per_1k: float = 0.00015
    output_per_1k: float = 0.0006

    def validate(self):
        check_probability(self._at("error_rate"), self.error_rate)
        check_number(self._at("input_per_1k"), self.input_per_1k, low=0)
        check_number(self._at("output_per_1k"), self.output_per_1k, low=0)


@dataclass(frozen=True)
class Failover(Config):
    """A second provider for the LLM calls (an LLM gateway's fallback deployment): a call
    that failed ``after_errors`` times on the primary (each time after its own retries) goes
    to ``backup``, a model with its own limits, prices, latency and faults (fault target
    ``"llm_backup"``). With ``hedge_after`` set, every call also sends a second request to the
    backup when the primary has not answered within that many seconds: the first good answer
    wins and the other request is cancelled, its prompt billed ("The Tail at Scale", Dean and
    Barroso, 2013). Incidents at two providers are nearly independent (11 of 127 OpenAI API
    incidents since July 2023 overlapped an Anthropic one, ICPE 2025 status-page study)."""

    path = "resilience.failover"
    backup: LLM = field(default_factory=lambda: LLM(ttft=LogNormal(median=0.8, p95=2.0)))
    after_errors: int = 1
    hedge_after: float | None = None

    def validate(self):
        check_type(self._at("backup"), self.backup, LLM, "a simlib LLM")
        check_number(self._at("after_errors"), self.after_errors, low=1, integer=True)
        check_number(self._at("hedge_after"), self.hedge_after, low=0, strict=True,
                     optional=True)


@dataclass(frozen=True)
class Checkpointing(Config):
    """Stateful sessions write their context to the store every ``every_turns`` turns; a
    session whose worker crashed or evicted it restores the checkpoint (one store read) and
    loses only the turns since."""

    path = "resilience.checkpoint"
    every_turns: int = 1

    def validate(self):
        check_number(self._at("every_turns"), self.every_turns, low=1, integer=True)


@dataclass(frozen=True)
class Broker(Config):
    """Async only: the message queue between the caller and the workers, which delivers each
    turn *at least once*.

    ``ack="early"`` acknowledges a message when a worker takes it (Celery's default,
    ``task_acks_late=False``): a turn whose worker dies, or that fails, is gone (a silent
    failure). ``ack="late"`` acknowledges it when the turn is done: until then the message is
    invisible for ``visibility_timeout`` seconds from its receipt, then delivered again (SQS:
    30 s by default). A turn that failed or whose worker crashed comes back that way; so does
    a turn that simply runs longer than the timeout, and then a second worker starts the same
    turn while the first still runs: a duplicate, billed twice, and harmless only if the
    tools are ``idempotent`` (when not, the turns table counts the repeated side effects).
    After ``max_receives`` deliveries the message parks on a dead-letter queue and the turn
    fails visibly (SQS's redrive ``maxReceiveCount``, 10 when a redrive policy omits it)."""

    path = "resilience.broker"
    ack: str = "late"
    visibility_timeout: float = 30.0
    max_receives: int = 3
    idempotent: bool = True

    def validate(self):
        check_choice(self._at("ack"), self.ack, ("early", "late"))
        check_number(self._at("visibility_timeout"), self.visibility_timeout, low=0,
                     strict=True)
        check_number(self._at("max_receives"), self.max_receives, low=1, integer=True)
        check_type(self._at("idempotent"), self.idempotent, bool, "True or False")


@dataclass(frozen=True)
class DurableExecution(Config):
    """Durable execution (Temporal, Restate, DBOS, LangGraph checkpointers): after each
    completed step the turn's progress is written to a durable log (taking ``write_latency``,
    billed as a store operation); if its worker crashes, the turn resumes at its next step on
    a live worker, without paying again for the steps already done."""

    path = "resilience.durable"
    write_latency: Distribution = dist(LogNormal(median=0.005, p95=0.02))


@dataclass(frozen=True)
class DeadLetter(Config):
    """Async only, the first edition's idealised redelivery: a turn that fails after it was
    acknowledged is redelivered ``delay`` seconds after it failed, up to ``redeliveries``
    times, then fails visibly (``failed``) instead of silently. A real broker redelivers on
    its visibility timeout, counted from the receipt, whether the turn failed or is only slow
    (:class:`Broker`); this one never duplicates a running turn."""

    path = "resilience.dead_letter"
    delay: float = 30.0
    redeliveries: int = 3

    def validate(self):
        check_number(self._at("delay"), self.delay, low=0)
        check_number(self._at("redeliveries"), self.redeliveries, low=0, integer=True)


@dataclass(frozen=True)
class Resilience(Config):
    """Every resilience setting of a scenario: a :class:`Policy` per dependency kind and the
    turn-level patterns. The defaults use none of them."""

    path = "resilience"
    llm: Policy = field(default_factory=Policy)
    tools: Policy = field(default_factory=Policy)
    store: Policy = field(default_factory=Policy)
    shedding: LoadShedding | None = None
    fallback: Fallback | None = None
    checkpoint: Checkpointing | None = None
    dead_letter: DeadLetter | None = None
    failover: Failover | None = None
    broker: Broker | None = None
    durable: DurableExecution | None = None

    def validate(self):
        for name in ("llm", "tools", "store"):
            check_type(self._at(name), getattr(self, name), Policy, "a Policy")
        self._check_optional({"shedding": LoadShedding, "fallback": Fallback,
                              "checkpoint": Checkpointing, "dead_letter": DeadLetter,
                              "failover": Failover, "broker": Broker,
                              "durable": DurableExecution})
        if self.broker is not None and self.dead_letter is not None:
            raise ValueError("resilience.dead_letter must be None when resilience.broker is "
                             "set (a broker's max_receives and dead-letter queue replace it), "
                             f"got {self.dead_letter!r}")


# -- runtime pieces ------------------------------------------------------------------------------


def backoff(retry: Retry, attempt: int, previous: float, u: float) -> float:
    """Seconds to sleep before retry number ``attempt`` (1-based); ``u`` is U(0, 1)."""
    v = min(retry.cap, retry.base * 2 ** (attempt - 1))
    if retry.backoff == "none":
        return v
    if retry.backoff == "full":
        return u * v
    if retry.backoff == "equal":
        return v / 2 + u * v / 2
    return min(retry.cap, retry.base + u * (3 * max(previous, retry.base) - retry.base))


class Budget:
    """The retry budget's bucket (see :class:`RetryBudget`)."""

    def __init__(self, config: RetryBudget):
        self.config = config
        self.tokens = config.max_tokens

    def success(self) -> None:
        self.tokens = min(self.config.max_tokens, self.tokens + self.config.ratio)

    def spend(self) -> bool:
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


CLOSED, HALF_OPEN, OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", HALF_OPEN: "half_open", OPEN: "open"}


class Breaker:
    """A circuit breaker's state machine; ``log`` keeps ``(time, state)`` at every change."""

    def __init__(self, config: CircuitBreaker):
        self.config = config
        self.state = CLOSED
        self.opened_at = 0.0
        self.results: list[tuple[float, bool]] = []  # (time, failed) in the window
        self.probing = False
        self.log: list[tuple[float, str]] = [(0.0, "closed")]
        self.open_time = 0.0  # seconds spent open, up to the last state change

    def _move(self, now: float, state: int) -> None:
        if self.state == OPEN:
            self.open_time += now - self.opened_at
        self.state = state
        if state == OPEN:
            self.opened_at = now
        self.log.append((now, STATE_NAMES[state]))

    def refresh(self, now: float) -> None:
        """Open long enough? Then it has been half-open since ``open_time`` ran out."""
        if self.state == OPEN and now - self.opened_at >= self.config.open_time:
            self._move(self.opened_at + self.config.open_time, HALF_OPEN)

    def allow(self, now: float) -> bool:
        """May a call go through now? (Open: no. Half-open: one probe at a time; the caller
        learns it holds the probe from ``state == HALF_OPEN`` right after.)"""
        self.refresh(now)
        if self.state == OPEN or (self.state == HALF_OPEN and self.probing):
            return False
        if self.state == HALF_OPEN:
            self.probing = True
        return True

    def record(self, now: float, failed: bool, probe: bool = False) -> None:
        """The result of a call that was allowed through; ``probe`` if it was the half-open
        probe. While half-open only the probe's answer counts (older calls may still end)."""
        self.refresh(now)
        if self.state == HALF_OPEN:
            if not probe:
                return
            self.probing = False
            self.results.clear()
            self._move(now, OPEN if failed else CLOSED)
            return
        horizon = now - self.config.window
        self.results = [r for r in self.results if r[0] > horizon] + [(now, failed)]
        failures = sum(f for _, f in self.results)
        if self.state == CLOSED and len(self.results) >= self.config.min_calls \
                and failures >= self.config.failure_threshold * len(self.results):
            self.results.clear()
            self._move(now, OPEN)

    def seconds_open(self, now: float) -> float:
        """Total time spent open up to ``now``."""
        self.refresh(now)
        return self.open_time + (now - self.opened_at if self.state == OPEN else 0.0)
