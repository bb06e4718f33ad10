"""The LLM provider, as hosted APIs really behave (DESIGN.md section 1b).

A call to a hosted model is a small journey, and each stop is one piece of this module:

1. **the prompt cache** (:class:`Cache`): the prompt's prefix that the provider processed
   recently is read from the cache, cheaper and faster;
2. **the rate limits** (:mod:`simlib.buckets`): buckets on requests, tokens, input and output
   tokens, enforced over a short window; a refused call is a 429 with a retry-after;
3. **the provider's own state**: its overload (529), its errors (an outage, a brown-out): a
   failed call comes back after ``error_latency``, and nothing is billed;
4. **the generation**: a place among ``concurrency`` (if capped), then the time to first token
   (growing with the uncached prompt when ``prefill_rate`` is set) and the decoding;
5. **the SDK's retries** (:meth:`LLMProvider.serve`): the official client libraries retry a 429,
   an overload or a server error twice on their own, below whatever the application does.

``serve`` bills each call as it ends (uncached input at the model's input price, cached reads
and writes at the cache's prices, output at the output price) into the turn's ``cost``, so a
backup model is billed at its own prices. An on-premises model bills nothing per token: it is
paid by the hour.
"""

from __future__ import annotations

import simpy

from .buckets import per_minute
from .components import Component, resource
from .config import LIMITS, LLM, OnPrem, PromptCache, SelfHosted
from .streams import Streams

RETRIED = frozenset({"rate_limited", "overloaded", "llm_error"})
"""What the SDKs retry: 408, 409, 429 and every 5xx (529 included), and connection errors
(openai-python and anthropic-sdk-python, ``_base_client.py``, ``_should_retry``)."""
SDK_BACKOFF = (0.5, 8.0)
"""The SDKs' backoff: 0.5 s doubling, at most 8 s (``INITIAL_RETRY_DELAY``,
``MAX_RETRY_DELAY`` in ``_constants.py`` of both)."""
SDK_MAX_RETRY_AFTER = 60.0
"""A 429's retry-after is slept exactly when 0 < retry-after <= 60 s, else the SDK backs off as
usual (anthropic-sdk-python, and openai-python up to 2.51; 2.52 raised it to 120 s and stops
retrying beyond)."""


def sdk_sleep(retry: int, cause: str, retry_after: float, u: float) -> float:
    """Seconds the SDK sleeps before its retry number ``retry`` (1-based): the retry-after of a
    429 when it is at most a minute, otherwise ``min(0.5 * 2**(retry-1), 8)`` shortened by a
    jitter factor ``1 - 0.25 u`` (``_calculate_retry_timeout``)."""
    if cause == "rate_limited" and 0 < retry_after <= SDK_MAX_RETRY_AFTER:
        return retry_after
    first, cap = SDK_BACKOFF
    return min(first * 2 ** (retry - 1), cap) * (1 - 0.25 * u)


class Cache:
    """The run-time prompt cache of one provider: per key (a session's prefix, and the replica
    for ``scope="replica"``), the length of the prefix it holds and when the entry expires."""

    def __init__(self, config: PromptCache):
        self.config = config
        self.entries: dict[object, tuple[int, float]] = {}

    def key(self, turn, prefix) -> object:
        return prefix if self.config.scope == "provider" else (turn.worker, prefix)

    def read(self, key, tokens: int, now: float) -> int:
        """How many of a prompt's ``tokens`` are read from the cache now: the whole entry, if
        the prompt continues the prefix it holds (is at least as long) before it expired."""
        entry = self.entries.get(key)
        if entry is None or entry[1] < now or tokens < entry[0] \
                or tokens < self.config.min_tokens:
            return 0
        return entry[0]

    def write(self, key, tokens: int, cached: int, began: float) -> int:
        """Keep the prompt's prefix (its lifetime counted from the start of the request, as
        Anthropic's is); returns the tokens written (0 under ``min_tokens``)."""
        if tokens < self.config.min_tokens:
            return 0
        self.entries[key] = (tokens, began + self.config.ttl)
        return tokens - cached


class LLMProvider(Component):
    """An LLM endpoint: cache, rate limits, overload and errors, generation, SDK retries. The
    cloud model is ``"llm"``; ``"llm_backup"`` a failover model; ``"onprem"`` the on-premises
    model of a compliance design (paid by the hour, not per token)."""

    remote = False  # the provider is outside every design alike; its network time is in ttft
    replicas = None  # a self-hosted model's engines (simlib.serving)
    stream = "llm"
    causes = ("llm_error", "rate_limited", "overloaded", "crash")
    policy = "llm"
    affected_by = frozenset({"errors", "slow", "overload"})

    @staticmethod
    def per_hour(scenario) -> float:
        """An on-premises model's hours, and a self-hosted model's replica-hours (the main
        one, the on-premises one or the backup)."""
        models = [scenario.llm, scenario.onprem, scenario.resilience.failover.backup
                  if scenario.resilience.failover is not None else None]
        total = 0.0
        for model in models:
            if isinstance(model, SelfHosted):
                total += model.replicas * model.gpu_hour
            elif isinstance(model, OnPrem):
                total += scenario.costs.onprem_per_hour
        return total

    @classmethod
    def build(cls, run, name: str, config) -> list[Component]:
        provider = cls(run.env, config, run.streams, name, run.scenario.costs)
        provider.late = run.late
        return [provider]

    def __init__(self, env: simpy.Environment, config: LLM, streams: Streams,
                 name: str = "llm", costs=None):
        super().__init__(env, config.error_rate)
        self.config, self.name = config, name
        self.primary = name == "llm"  # its time to first token is planned with the session
        self.by_hour = isinstance(config, (OnPrem, SelfHosted))
        if self.by_hour:
            self.policy = None  # the LLM policy wraps calls to the cloud models only
        self.price_in, self.price_out = _prices(config, costs, self.by_hour)
        self.buckets = [per_minute(getattr(config, limit), config.rate_window)
                        for limit in LIMITS]
        self.limited = config.limited
        self.in_force = [(k, b) for k, b in enumerate(self.buckets) if b is not None]
        self.slots = resource(env, config.concurrency)
        use = "" if self.primary else f":{name}"
        self.coin = streams.uniform("llm", "coin" + use)
        self.jitter = streams.uniform("llm", "sdk" + use)
        self.ttft = None if self.primary else streams.draws("llm", "ttft" + use, config.ttft)
        self.error_latency = streams.draws("llm", "error_latency" + use, config.error_latency) \
            if config.error_latency is not None else None
        self.cache = Cache(config.cache) if config.cache is not None else None
        self.read_price, self.write_price = (config.cache.read_price, config.cache.write_price) \
            if config.cache is not None else (1.0, 1.0)
        self.fast = config.error_latency is not None
        self.prefill_rate, self.decode_rate = config.prefill_rate, config.decode_rate
        self.plain = self.cache is None and not self.limited and not self.fast
        if self.plain and self.primary and not config.sdk_retries and not config.prefill_rate \
                and not self.by_hour:
            self.serve = self.serve_textbook  # every second-edition mechanism is off
        self.overload = 0.0
        self.overloads: list[float] = []
        self.in_progress = 0
        self.retry_after = 0.0
        self.first_token_at = float("nan")  # of the last answered request (for a call log)
        self.late: list = []  # turns billed after their row was written (see Run.late)
        self.columns = (f"{name}_in_progress",)

    @staticmethod
    def sample(instances: list) -> tuple[float, ...]:
        return (instances[0].in_progress,)

    def saturated(self) -> bool:
        """Are all its slots busy (a new call would queue)?"""
        return self.slots is not None and self.slots.full()

    def add_overload(self, rate: float, on: bool) -> None:
        """The provider's own overload: a share of calls refused at once (529)."""
        (self.overloads.append if on else self.overloads.remove)(rate)
        free = 1.0
        for share in self.overloads:
            free *= 1.0 - share
        self.overload = 1.0 - free

    # -- one request ----------------------------------------------------------------------------
    def charges(self, tokens_in: int, cached: int, tokens_out: int) -> list[float]:
        """What a request costs each bucket: 1 request; prompt plus output (``max_tokens``
        reserved when set) combined; uncached input (cached reads are exempt); output."""
        out = self.config.max_tokens or tokens_out
        return [1.0, tokens_in + out, tokens_in - cached, out]

    def admit(self, charges: list[float]) -> float:
        """Check every bucket; pay if all allow. Returns the retry-after (0 when admitted)."""
        now, wait = self.env.now, 0.0
        for k, bucket in self.in_force:  # (a plain loop: this runs for every request)
            wait = max(wait, bucket.wait_for(now, charges[k]))
        if wait == 0.0:
            for k, bucket in self.in_force:
                bucket.take(now, charges[k])
        return wait

    def refund(self, charges: list[float], produced: int) -> None:
        """Give back the output reserved but not generated (``max_tokens`` minus the output)."""
        unused = charges[3] - produced
        if unused > 0:
            for bucket in self.buckets[1::2]:  # the combined and the output buckets
                if bucket is not None:
                    bucket.refund(self.env.now, unused)

    def refusal(self) -> str | None:
        """The provider's answer before any work: overloaded (529) or a server error, or None.
        One coin decides both, so the two shares stay independent of each other's draws."""
        u = self.coin()
        if u < self.overload:
            return "overloaded"
        if u < self.overload + (1 - self.overload) * self.error_rate:
            return "llm_error"
        return None

    def bill(self, turn, tokens_in: int, cached: int, written: int, tokens_out: int) -> None:
        """Add a finished request's tokens and price to the turn: cached reads and writes at
        the cache's multiples of the input price."""
        turn.tokens_in += tokens_in
        turn.tokens_out += tokens_out
        if cached or written:
            turn.tokens_cached += cached
            turn.tokens_cache_write += written
            tokens_in += cached * (self.read_price - 1) + written * (self.write_price - 1)
        if not self.by_hour:
            turn.cost += (tokens_in * self.price_in + tokens_out * self.price_out) / 1000
        if turn.row >= 0:  # an abandoned call that ran on after its turn ended
            self.late.append(turn)

    def serve(self, turn, ttft: float, tokens_in: int, tokens_out: int, prefix=None):
        """One call, as the SDK makes it: up to ``sdk_retries`` more requests after a 429, an
        overload or a server error. ``prefix`` names the prompt's prefix for the cache (a
        session's history); returns None or the last request's cause."""
        env = self.env
        if not self.primary:
            ttft = self.ttft()
        retries = 0
        while True:
            turn.llm_calls += 1
            if self.plain:  # no cache, no limit, a textbook provider: nothing before
                cause, cached, key, charges = None, 0, None, None
            else:
                cause, cached, key, charges = self.before(turn, tokens_in, tokens_out, prefix)
            if cause is not None and self.fast:
                yield env.timeout(self.error_latency())
            elif cause is None and self.replicas is not None:  # a self-hosted engine
                cause = yield from self.generate(turn, tokens_in, tokens_out, prefix)
            elif cause is None:
                began, slots = env.now, self.slots
                request = slots.request() if slots is not None else None
                try:
                    if request is not None:
                        yield request
                    self.in_progress += 1
                    try:
                        first = ttft + (tokens_in - cached) / self.prefill_rate \
                            if self.prefill_rate else ttft  # (self.seconds, inlined: hot)
                        slow = self.slow
                        seconds = first * slow + tokens_out / self.decode_rate * slow
                        if self.crashed is None:  # (Faultable.work, inlined: it is hot)
                            yield env.timeout(seconds)
                        else:
                            cause = yield from self.work(seconds)
                    except simpy.Interrupt:  # cancelled or crashed: the prompt was read
                        if self.fast:
                            self.bill(turn, tokens_in, cached, 0, 0)
                        raise
                    finally:
                        self.in_progress -= 1
                finally:
                    if request is not None:
                        slots.release(request)
                cause = self.after(turn, cause, tokens_in, cached, key, tokens_out, began)
            if charges is not None and cause != "rate_limited":
                self.refund(charges, tokens_out if cause is None else 0)
            if cause is None or cause not in RETRIED or retries >= self.config.sdk_retries:
                return cause
            retries += 1
            yield env.timeout(sdk_sleep(retries, cause, self.retry_after, self.jitter()))

    def serve_textbook(self, turn, ttft: float, tokens_in: int, tokens_out: int,
                       prefix=None):
        """:meth:`serve` when every second-edition mechanism is off (the first edition's
        textbook provider, ``presets.TEXTBOOK``: no cache, no limit, no SDK layer, an error
        known after the generation): one request, nothing before it. The same results as
        ``serve`` with those settings, in a third fewer steps: every run of ``presets.mmc``
        comes this way, and new mechanisms must cost nothing while they are off."""
        turn.llm_calls += 1
        slots = self.slots
        request = slots.request() if slots is not None else None
        try:
            if request is not None:
                yield request
            self.in_progress += 1
            slow = self.slow
            seconds = ttft * slow + tokens_out / self.decode_rate * slow
            try:
                if self.crashed is None:
                    yield self.env.timeout(seconds)
                    cause = None
                else:
                    cause = yield from self.work(seconds)
            finally:
                self.in_progress -= 1
        finally:
            if request is not None:
                slots.release(request)
        if cause is None:
            cause = self.refusal()
        turn.tokens_in += tokens_in  # (self.bill, inlined: no cache here)
        turn.tokens_out += tokens_out
        turn.cost += (tokens_in * self.price_in + tokens_out * self.price_out) / 1000
        if turn.row >= 0:
            self.late.append(turn)
        if cause is None:
            self.first_token_at = self.env.now - tokens_out / self.decode_rate * self.slow
            if turn.ttft != turn.ttft:
                turn.ttft = self.first_token_at - turn.arrival
                turn.tpot = self.slow / self.decode_rate
        return cause

    def before(self, turn, tokens_in: int, tokens_out: int, prefix):
        """What happens before any generation: the cache is read, the buckets are charged
        (a 429 if they refuse), and the provider may refuse (overload, server error: known at
        once unless the provider is the textbook one). Returns (cause, tokens cached, cache
        key, the buckets' charges)."""
        cache, cached, key, charges, cause = self.cache, 0, None, None, None
        if cache is not None and prefix is not None:
            key = cache.key(turn, prefix)
            cached = cache.read(key, tokens_in, self.env.now)
        if self.limited:
            charges = self.charges(tokens_in, cached, tokens_out)
            self.retry_after = self.admit(charges)
            if self.retry_after > 0.0:
                cause = "rate_limited"
        if cause is None and self.fast:
            cause = self.refusal()
        return cause, cached, key, charges

    def seconds(self, ttft: float, uncached: int, tokens_out: int) -> float:
        """A generation's duration: time to first token (plus the uncached prompt at
        ``prefill_rate``), then the answer at ``decode_rate``, slowed by a latency spike."""
        config = self.config
        first = ttft + uncached / config.prefill_rate if config.prefill_rate else ttft
        return first * self.slow + tokens_out / config.decode_rate * self.slow

    def after(self, turn, cause, tokens_in: int, cached: int, key, tokens_out: int,
              began: float):
        """After a generation: the textbook provider's error coin, the bill, the cache entry
        written, and the turn's time to first token and per output token (its first answer).
        Returns the cause."""
        if not self.fast:  # the textbook provider: the error is known after the work
            if cause is None:
                cause = self.refusal()
            self.bill(turn, tokens_in, 0, 0, tokens_out)
        elif cause is None:
            written = self.cache.write(key, tokens_in, cached, began) if key is not None else 0
            self.bill(turn, tokens_in, cached, written, tokens_out)
        if cause is None:
            self.first_token_at = self.env.now - tokens_out / self.config.decode_rate \
                * self.slow
            if turn.ttft != turn.ttft:
                turn.ttft = self.first_token_at - turn.arrival
                turn.tpot = self.slow / self.config.decode_rate
        return cause


def _prices(config: LLM, costs, by_hour: bool) -> tuple[float, float]:
    """$ per 1,000 input and output tokens: the model's own, or the scenario's LLM prices."""
    if by_hour or costs is None:
        return 0.0, 0.0
    return (config.input_per_1k if config.input_per_1k is not None else costs.llm_input_per_1k,
            config.output_per_1k if config.output_per_1k is not None
            else costs.llm_output_per_1k)
