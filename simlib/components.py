"""The components a turn calls: the LLM provider, tools, the context store, the network, workers.

Each dependency is a small object with a ``serve`` generator that a turn runs with ``yield from``.
``serve`` waits for the component's capacity (a :class:`simlib.slots.Slots` queue), takes its
time, flips its error coin, and returns ``None`` for success or the *cause* of a failure
(``"llm_error"``, ``"rate_limited"``, ...). It never raises: a failure is data that the caller
records. If the turn is interrupted (its worker crashed, or a timeout cancelled the call),
``serve`` gives back the capacity it held on the way out.

Turns never call ``serve`` directly; they go through :func:`simlib.calls.call`, the one place
where network hops and resilience policies wrap every outbound call.

Faults act on a component from outside (:mod:`simlib.faults`), through the few attributes of
:class:`Faultable`: extra error rates, a slow-down factor, and being down.
"""

from __future__ import annotations

from collections import OrderedDict

import simpy

from .config import LLM, ContextStore, Network, Tool, Workers
from .slots import Slots
from .streams import Streams


class TokenBucket:
    """A rate limit: holds up to ``capacity`` tokens and refills ``rate`` tokens per second.

    A request for ``amount`` is granted and paid for if the bucket holds that much; otherwise it
    is refused and :meth:`wait_for` says how long until it would be granted (the retry-after).
    """

    def __init__(self, capacity: float, rate: float):
        self.capacity = capacity
        self.rate = rate
        self.level = capacity
        self.updated = 0.0

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, now: float, amount: float) -> float:
        """Seconds until ``amount`` is available (0 if it is now). A shortfall below rounding
        error counts as none, so that waiting the announced time is always enough."""
        self.refill(now)
        if amount > self.capacity:
            return float("inf")
        shortfall = amount - self.level
        return 0.0 if shortfall <= 1e-9 * max(1.0, amount) else shortfall / self.rate

    def take(self, now: float, amount: float) -> None:
        """Spend ``amount`` that :meth:`wait_for` said is available."""
        self.refill(now)
        self.level = max(0.0, self.level - amount)

    def reserve(self, now: float, amount: float) -> float:
        """Spend ``amount`` now, into debt if need be, and return how long the caller must wait
        before using it: callers that arrive together queue up instead of bursting."""
        wait = self.wait_for(now, amount)
        self.level -= amount
        return wait


def resource(env: simpy.Environment, capacity: int | None) -> Slots | None:
    """``capacity`` slots (:class:`simlib.slots.Slots`), or None for unlimited capacity."""
    return None if capacity is None else Slots(env, capacity)


class Faultable:
    """What faults may change on a component: extra error rates, a slow-down, being down."""

    def __init__(self, env: simpy.Environment, base_error: float):
        self.env = env
        self.base_error = base_error
        self.error_rate = base_error
        self.outages: list[float] = []
        self.slow = 1.0
        self.down = False
        self.crashes = 0  # crashes in progress (two faults may overlap on one component)
        self.crashed = None  # an event that fires when the component crashes (if it may)

    def add_outage(self, rate: float, on: bool) -> None:
        (self.outages.append if on else self.outages.remove)(rate)
        ok = 1.0 - self.base_error
        for extra in self.outages:
            ok *= 1.0 - extra
        self.error_rate = 1.0 - ok

    def spike(self, factor: float, on: bool) -> None:
        self.slow = self.slow * factor if on else self.slow / factor

    def crash(self) -> bool:
        """Go down; True if it was up (a second, overlapping crash changes nothing)."""
        self.crashes += 1
        if self.crashes > 1:
            return False
        self.down = True
        if self.crashed is not None:
            self.crashed.succeed()
        return True

    def restart(self) -> bool:
        """Come back once every overlapping crash is over; True if it is up again."""
        self.crashes -= 1
        if self.crashes > 0:
            return False
        self.down = False
        if self.crashed is not None:
            self.crashed = self.env.event()
        return True

    def work(self, seconds: float):
        """Take ``seconds``; if the component crashes meanwhile, stop and return "crash"."""
        if self.crashed is None:
            yield self.env.timeout(seconds)
            return None
        done = self.env.timeout(seconds)
        yield done | self.crashed
        return None if done.processed else "crash"


class LLMProvider(Faultable):
    """The LLM API: rate limits, an optional concurrency cap, latency and errors."""

    remote = False  # the provider is outside every design alike; its network time is in ttft

    def __init__(self, env: simpy.Environment, config: LLM, streams: Streams,
                 name: str = "llm"):
        super().__init__(env, config.error_rate)
        self.config, self.name = config, name
        self.priced = name == "llm"  # cloud tokens are billed; an on-premises model is not
        rpm, tpm = config.requests_per_minute, config.tokens_per_minute
        self.requests = TokenBucket(rpm, rpm / 60) if rpm else None
        self.tokens = TokenBucket(tpm, tpm / 60) if tpm else None
        self.limited = bool(rpm or tpm)
        self.slots = resource(env, config.concurrency)
        self.coin = streams.uniform("llm", "coin" if self.priced else f"coin:{name}")
        self.in_progress = 0
        self.retry_after = 0.0

    def saturated(self) -> bool:
        """Are all its slots busy (a new call would queue)?"""
        return self.slots is not None and self.slots.full()

    def admit(self, tokens: int) -> float:
        """Check both buckets; pay if both allow. Returns the retry-after (0 when admitted)."""
        now, buckets = self.env.now, [(self.requests, 1), (self.tokens, tokens)]
        wait = max((b.wait_for(now, n) for b, n in buckets if b is not None), default=0.0)
        if wait == 0.0:
            for bucket, n in buckets:
                if bucket is not None:
                    bucket.take(now, n)
        return wait

    def serve(self, turn, ttft: float, tokens_in: int, tokens_out: int):
        turn.llm_calls += 1
        if self.limited:
            self.retry_after = self.admit(tokens_in + tokens_out)
            if self.retry_after > 0.0:
                return "rate_limited"
        request = self.slots.request() if self.slots is not None else None
        try:
            if request is not None:
                yield request
            self.in_progress += 1
            try:
                cause = yield from self.work((ttft + tokens_out / self.config.decode_rate)
                                            * self.slow)
            finally:
                self.in_progress -= 1
        finally:
            if request is not None:
                self.slots.release(request)
        if self.priced:
            turn.tokens_in += tokens_in
            turn.tokens_out += tokens_out
        if cause is None and self.coin() < self.error_rate:
            cause = "llm_error"
        return cause


class ToolService(Faultable):
    """One tool: ``capacity`` concurrent calls (per replica), a latency drawn per call, errors."""

    def __init__(self, env: simpy.Environment, config: Tool, streams: Streams, replicas: int,
                 remote: bool):
        super().__init__(env, config.error_rate)
        self.config, self.remote = config, remote
        self.name = self.hop_name = f"tools.{config.name}"
        cap = config.capacity * replicas if config.capacity is not None else None
        self.slots = resource(env, cap)
        self.coin = streams.uniform("tools", f"coin:{config.name}")
        self.cause = f"tool_error:{config.name}"

    def serve(self, turn, latency: float):
        turn.tool_calls += 1
        if self.down:
            return "service_down"
        request = self.slots.request() if self.slots is not None else None
        try:
            if request is not None:
                yield request
            cause = yield from self.work(latency * self.slow)
        finally:
            if request is not None:
                self.slots.release(request)
        if cause is None and self.coin() < self.error_rate:
            cause = self.cause
        return cause


class Store(Faultable):
    """The context store: a connection pool; time grows with the tokens read or written."""

    name = "store"

    def __init__(self, env: simpy.Environment, config: ContextStore, streams: Streams,
                 remote: bool):
        super().__init__(env, config.error_rate)
        self.config, self.remote = config, remote
        self.slots = resource(env, config.servers)
        self.latency = streams.draws("store", "latency", config.latency)
        self.coin = streams.uniform("store")
        self.hop_name = "context"

    def serve(self, turn, tokens: int):
        turn.store_ops += 1
        if self.down:
            return "service_down"
        request = self.slots.request() if self.slots is not None else None
        try:
            if request is not None:
                yield request
            seconds = self.latency() + self.config.per_1k_tokens * tokens / 1000
            cause = yield from self.work(seconds * self.slow)
        finally:
            if request is not None:
                self.slots.release(request)
        if cause is None and self.coin() < self.error_rate:
            cause = "store_error"
        return cause


class Hop(Faultable):
    """The network between the orchestrator and the other services (microservices only)."""

    name = "network"

    def __init__(self, env: simpy.Environment, config: Network, streams: Streams):
        super().__init__(env, config.error_rate)
        self.latency = streams.draws("network", "latency", config.hop_latency)
        self.coin = streams.uniform("network")
        self.cut: list[str] = []  # services partitioned away from the orchestrator

    def cross(self, service: str):
        yield self.env.timeout(self.latency() * self.slow)
        if service in self.cut:
            return "partition"
        return "network_error" if self.coin() < self.error_rate else None


class Worker(Faultable):
    """An agent worker replica: its admission queue, CPU slots and (stateful) session memory.

    ``admission`` is where a stateful design's pinned turns queue (None when the design pools
    every worker behind one queue); ``cpu`` is held only for async CPU bursts; ``contexts`` maps
    session -> context tokens, least recently used first; ``active`` maps each turn on this
    replica to its process, so that a crash can interrupt them all.
    """

    def __init__(self, env: simpy.Environment, index: int, config: Workers,
                 admission_capacity: int | None, tools: list | None):
        super().__init__(env, 0.0)
        self.index = index
        self.admission = resource(env, admission_capacity)
        self.cpu = Slots(env, config.slots)
        self.tools = tools
        self.busy = 0
        self.active: dict[int, simpy.Process] = {}
        self.blockers: list = []
        self.contexts: OrderedDict[int, int] = OrderedDict()
        self.capacity_tokens = config.memory_mb / config.mb_per_1k_tokens * 1000 \
            if config.mb_per_1k_tokens > 0 else float("inf")
        self.held_tokens = 0
        self.evictions = 0

    def remember(self, session: int, tokens: int) -> None:
        """Keep a session's context; evict least recently used sessions past the memory cap."""
        self.held_tokens += tokens - self.contexts.pop(session, 0)
        self.contexts[session] = tokens
        while self.held_tokens > self.capacity_tokens and len(self.contexts) > 1:
            victim, size = next(iter(self.contexts.items()))
            del self.contexts[victim]
            self.held_tokens -= size
            self.evictions += 1

    def forget(self, session: int) -> None:
        self.held_tokens -= self.contexts.pop(session, 0)

    def fail_everything(self, queue, places: int) -> None:
        """A crash: interrupt every turn on this replica, lose its memory, and hold ``places``
        of ``queue`` so that nothing is admitted here until :meth:`restart`."""
        if not self.crash():
            return
        for process in list(self.active.values()):
            if process.is_alive:
                process.interrupt("crash")
        self.active.clear()
        self.contexts.clear()
        self.held_tokens = 0
        self.blockers = [queue.request(priority=-1) for _ in range(places)]

    def recover(self, queue) -> None:
        if not self.restart():
            return
        for request in self.blockers:
            queue.release(request)
        self.blockers = []
