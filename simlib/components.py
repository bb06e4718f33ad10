"""The components a turn calls: the LLM provider, tools, the context store, the network, workers.

Each dependency is a small object with a ``serve`` generator that a turn runs with ``yield from``.
``serve`` waits for the component's capacity (a SimPy ``Resource`` queue), takes its time, flips
its error coin, and returns ``None`` for success or the *cause* of a failure (``"llm_error"``,
``"rate_limited"``, ...). It never raises: a failure is data that the caller records.
Turns never call ``serve`` directly; they go through :func:`simlib.calls.call`, the one place
where network hops (and resilience policies) wrap every outbound call.
"""

from __future__ import annotations

from collections import OrderedDict

import simpy

from .config import LLM, ContextStore, Network, Tool, Workers
from .streams import Streams


class TokenBucket:
    """A rate limit: holds up to ``capacity`` tokens and refills ``rate`` tokens per second.

    A request for ``amount`` is granted and paid for if the bucket holds that much; otherwise it
    is refused and :meth:`take` returns how long until it would be granted (the retry-after).
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
        """Seconds until ``amount`` is available (0 if it is now)."""
        self.refill(now)
        if amount > self.capacity:
            return float("inf")
        return max(0.0, (amount - self.level) / self.rate)

    def take(self, now: float, amount: float) -> None:
        self.refill(now)
        self.level -= amount


def resource(env: simpy.Environment, capacity: int | None) -> simpy.Resource | None:
    """A SimPy Resource, or None for unlimited capacity."""
    return simpy.Resource(env, capacity) if capacity is not None else None


class LLMProvider:
    """The LLM API: rate limits, an optional concurrency cap, latency and errors."""

    remote = False  # the provider is outside every design alike; its network time is in ttft

    def __init__(self, env: simpy.Environment, config: LLM, streams: Streams):
        self.env, self.config = env, config
        rpm, tpm = config.requests_per_minute, config.tokens_per_minute
        self.requests = TokenBucket(rpm, rpm / 60) if rpm else None
        self.tokens = TokenBucket(tpm, tpm / 60) if tpm else None
        self.slots = resource(env, config.concurrency)
        self.coin = streams.uniform("llm")
        self.in_progress = 0
        self.rate_limited = 0

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
        if self.admit(tokens_in + tokens_out) > 0.0:
            self.rate_limited += 1
            return "rate_limited"
        request = self.slots.request() if self.slots is not None else None
        if request is not None:
            yield request
        self.in_progress += 1
        yield self.env.timeout(ttft + tokens_out / self.config.decode_rate)
        self.in_progress -= 1
        if request is not None:
            self.slots.release(request)
        turn.tokens_in += tokens_in
        turn.tokens_out += tokens_out
        return "llm_error" if self.coin() < self.config.error_rate else None


class ToolService:
    """One tool: ``capacity`` concurrent calls (per replica), a latency drawn per call, errors."""

    def __init__(self, env: simpy.Environment, config: Tool, streams: Streams, replicas: int,
                 remote: bool):
        self.env, self.config, self.remote = env, config, remote
        cap = config.capacity * replicas if config.capacity is not None else None
        self.slots = resource(env, cap)
        self.coin = streams.uniform("tools", f"coin:{config.name}")
        self.cause = f"tool_error:{config.name}"

    def serve(self, turn, latency: float):
        turn.tool_calls += 1
        request = self.slots.request() if self.slots is not None else None
        if request is not None:
            yield request
        yield self.env.timeout(latency)
        if request is not None:
            self.slots.release(request)
        return self.cause if self.coin() < self.config.error_rate else None


class Store:
    """The context store: a connection pool; time grows with the tokens read or written."""

    def __init__(self, env: simpy.Environment, config: ContextStore, streams: Streams,
                 remote: bool):
        self.env, self.config, self.remote = env, config, remote
        self.slots = resource(env, config.servers)
        self.latency = streams.draws("store", "latency", config.latency)
        self.coin = streams.uniform("store")

    def serve(self, turn, tokens: int):
        turn.store_ops += 1
        request = self.slots.request() if self.slots is not None else None
        if request is not None:
            yield request
        yield self.env.timeout(self.latency() + self.config.per_1k_tokens * tokens / 1000)
        if request is not None:
            self.slots.release(request)
        return "store_error" if self.coin() < self.config.error_rate else None


class Hop:
    """A network hop between two services (microservices only)."""

    def __init__(self, env: simpy.Environment, config: Network, streams: Streams):
        self.env, self.config = env, config
        self.latency = streams.draws("network", "latency", config.hop_latency)
        self.coin = streams.uniform("network")

    def cross(self):
        yield self.env.timeout(self.latency())
        return "network_error" if self.coin() < self.config.error_rate else None


class Worker:
    """An agent worker replica: its admission queue, CPU slots and (stateful) session memory.

    ``admission`` is where a stateful design's pinned turns queue (None when the design pools
    every worker behind one queue); ``cpu`` is held only for async CPU bursts; ``contexts`` maps
    session -> context tokens, least recently used first.
    """

    def __init__(self, env: simpy.Environment, index: int, config: Workers,
                 admission_capacity: int | None, tools: dict):
        self.index = index
        self.admission = resource(env, admission_capacity)
        self.cpu = simpy.Resource(env, config.slots)
        self.tools = tools
        self.busy = 0
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
            if victim == session:
                break
            del self.contexts[victim]
            self.held_tokens -= size
            self.evictions += 1

    def forget(self, session: int) -> None:
        self.held_tokens -= self.contexts.pop(session, 0)
