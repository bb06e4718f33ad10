"""Self-hosted serving: a continuous-batching engine, iteration by iteration (DESIGN.md 1b).

A GPU serving an LLM is not a row of fixed slots. Picture a bus that never stops at a depot:
each lap (an *iteration*) every passenger on board (a running sequence) moves one stop (gets one
output token), and while there is room new passengers board, a few rows of their luggage at a
time (prompts prefilled in chunks). A fuller bus laps more slowly, because each lap's time grows
with the tokens it computes and the KV cache it reads (:class:`simlib.config.StepTime`): so a
loaded server slows everyone a little (longer time to first token, longer time per token)
before anyone has to wait at the stop. Seats are limited by ``max_batch`` and by the KV cache:
a request reserves its prompt and its answer when it boards (as Vidur's memory planner does).

Each :class:`Replica` runs this loop as one SimPy process and keeps its own prefix cache (a
prompt whose prefix the replica computed recently skips that part of its prefill), so the
router (:func:`route`) decides whether a session's next turn hits. :class:`SelfHostedProvider`
is the component: the same calls, SDK retries and faults as a hosted provider
(:mod:`simlib.provider`), but its generation is a sequence handed to a replica.
"""

from __future__ import annotations

from collections import OrderedDict, deque

import simpy

from .config import SelfHosted, StepTime
from .provider import LLMProvider

BLOCK = 16
"""Tokens in a KV-cache block: a prefix is cached whole blocks at a time (vLLM's default)."""
IMBALANCE = (64, 1.5)
"""Cache-aware routing gives up the prefix's replica when it holds over 64 more requests than
the least loaded one and over 1.5 times as many (SGLang router and vLLM Router defaults:
``--balance-abs-threshold 64``, ``--balance-rel-threshold 1.5``)."""


class Sequence:
    """A request on a replica: its prompt (``cached`` of it already computed), its answer, and
    two events: ``first`` when its first token is out, ``done`` when its last one is."""

    __slots__ = ("prompt", "computed", "out", "produced", "first", "done", "first_at",
                 "cancelled")

    def __init__(self, env: simpy.Environment, prompt: int, cached: int, out: int):
        self.prompt, self.computed, self.out, self.produced = prompt, cached, out, 0
        self.first, self.done = env.event(), env.event()
        self.first_at = float("nan")
        self.cancelled = False


class Replica:
    """One engine: the queue of waiting sequences, the running batch, its KV cache and its
    prefix cache; its loop runs iterations while there is work."""

    def __init__(self, env: simpy.Environment, config: SelfHosted, owner: LLMProvider):
        self.env, self.config, self.owner = env, config, owner
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.kv_used = 0
        self.prefixes: OrderedDict = OrderedDict()  # key -> tokens, least recently used first
        self.idle = env.event()
        env.process(self.loop())

    @property
    def load(self) -> int:
        return len(self.running) + len(self.waiting)

    def submit(self, sequence: Sequence) -> None:
        self.waiting.append(sequence)
        if not self.idle.triggered:
            self.idle.succeed()

    def cached(self, key, tokens: int) -> int:
        """Tokens of a prompt whose prefix this replica holds (whole blocks)."""
        held = self.prefixes.get(key, 0)
        if not held or tokens < held:
            return 0
        self.prefixes.move_to_end(key)
        return held // BLOCK * BLOCK

    def keep(self, key, tokens: int) -> None:
        """Remember a prompt's prefix; evict the least recently used ones that no longer fit
        beside what the running sequences hold."""
        self.prefixes[key] = tokens
        self.prefixes.move_to_end(key)
        room = self.config.kv_cache_tokens - self.kv_used
        while sum(self.prefixes.values()) > room and len(self.prefixes) > 1:
            self.prefixes.popitem(last=False)

    def admit(self) -> None:
        """Board waiting sequences, first come first served, while seats and KV cache allow
        (a sequence too large for an empty cache boards alone)."""
        config = self.config
        while self.waiting and len(self.running) < config.max_batch:
            head = self.waiting[0]
            if head.cancelled:
                self.waiting.popleft()
                continue
            need = head.prompt + head.out
            if self.kv_used + need > config.kv_cache_tokens and self.running:
                return
            self.waiting.popleft()
            self.kv_used += need
            self.running.append(head)

    def loop(self):
        env, step = self.env, self.config.step_time
        while True:
            self.admit()
            if not self.running:
                self.idle = env.event()
                yield self.idle
                continue
            batch = plan_iteration(self.running, self.config.chunk_tokens)
            yield env.timeout(step.seconds(*batch.sizes) * self.owner.slow)
            self.progress(batch)

    def progress(self, batch: Iteration) -> None:
        """After an iteration: prefill chunks advance, and a prompt done gives its first
        token; decoding sequences give one token each; finished ones leave."""
        now = self.env.now
        for sequence, chunk in batch.prefills:
            sequence.computed += chunk
            if sequence.computed >= sequence.prompt:
                sequence.produced = min(1, sequence.out)
                sequence.first_at = now
                sequence.first.succeed()
        for sequence in batch.decodes:
            sequence.produced += 1
        for sequence in list(self.running):
            if sequence.cancelled or (sequence.computed >= sequence.prompt
                                      and sequence.produced >= sequence.out):
                self.running.remove(sequence)
                self.kv_used -= sequence.prompt + sequence.out
                if not sequence.done.triggered:
                    sequence.done.succeed()


class Iteration:
    """What one iteration computes: decoding sequences, prefill chunks, and the sizes the step
    time reads (tokens, KV read, prompt tokens, prefix read by the prefill chunks)."""

    __slots__ = ("decodes", "prefills", "sizes")

    def __init__(self, decodes: list, prefills: list, sizes: tuple):
        self.decodes, self.prefills, self.sizes = decodes, prefills, sizes


def plan_iteration(running: list[Sequence], budget: int) -> Iteration:
    """vLLM's order: the running sequences that decode take one token each, then prompts are
    prefilled in arrival order with what is left of the token budget."""
    decodes = [s for s in running if s.computed >= s.prompt and s.produced < s.out
               and not s.cancelled]
    kv = sum(s.prompt + s.produced for s in decodes)
    left = budget - len(decodes)
    prefills, prompt_tokens, kv_prefill = [], 0, 0
    for s in running:
        if left <= 0:
            break
        if s.computed < s.prompt and not s.cancelled:
            chunk = min(s.prompt - s.computed, left)
            prefills.append((s, chunk))
            prompt_tokens += chunk
            kv_prefill += s.computed
            left -= chunk
    return Iteration(decodes, prefills, (len(decodes) + prompt_tokens, kv, prompt_tokens,
                                         kv_prefill))


def service_time(step: StepTime, prompt: int, out: int, budget: int) -> float:
    """Seconds one request takes alone on a replica (a batch of one): its prefill chunks, then
    one iteration per further output token, each reading a context one token longer."""
    seconds, done = 0.0, 0
    while done < prompt:
        chunk = min(prompt - done, budget)
        seconds += step.seconds(chunk, 0, chunk, done)
        done += chunk
    for produced in range(1, out):
        seconds += step.seconds(1, prompt + produced, 0, 0)
    return seconds


def route(provider: SelfHostedProvider, key) -> Replica:
    """The replica a request goes to, by the server's routing policy."""
    replicas, policy = provider.replicas, provider.config.routing
    if policy == "round_robin":
        provider.turned += 1
        return replicas[provider.turned % len(replicas)]
    least = min(replicas, key=_load)
    if policy == "least_loaded" or key is None:
        return least
    holders = [r for r in replicas if key in r.prefixes]
    if not holders:
        return least
    best = min(holders, key=_load)
    far, times = IMBALANCE
    if best.load - least.load > far and best.load > times * least.load:
        return least
    return best


def _load(replica: Replica) -> int:
    return replica.load


class SelfHostedProvider(LLMProvider):
    """The component of a :class:`simlib.config.SelfHosted` model: replicas, a router, and the
    hosted provider's call path around them. Paid by the replica-hour."""

    @staticmethod
    def sample(instances: list) -> tuple[float, ...]:
        provider = instances[0]
        used = sum(r.kv_used for r in provider.replicas)
        return (provider.in_progress, sum(len(r.running) for r in provider.replicas),
                used / (provider.config.kv_cache_tokens * len(provider.replicas)))

    def __init__(self, env: simpy.Environment, config: SelfHosted, streams, name="llm",
                 costs=None):
        super().__init__(env, config, streams, name, costs)
        self.replicas = [Replica(env, config, self) for _ in range(config.replicas)]
        self.turned = -1
        self.cache = None  # each replica keeps its own (see Replica.cached)
        self.columns = (f"{name}_in_progress", f"{name}_batch", f"{name}_kv")

    def generate(self, turn, tokens_in: int, tokens_out: int, prefix):
        """Hand the request to a replica and wait for its last token; a cancelled or crashed
        caller withdraws it. Counts the tokens (read from the replica's prefix cache too) and
        the turn's time to first token and per output token; returns None."""
        key = prefix if self.config.cache is not None else None
        replica = route(self, key)
        cached = replica.cached(key, tokens_in) if key is not None else 0
        sequence = Sequence(self.env, tokens_in, cached, tokens_out)
        replica.submit(sequence)
        self.in_progress += 1
        try:
            yield sequence.done
        except simpy.Interrupt:
            sequence.cancelled = True
            raise
        finally:
            self.in_progress -= 1
        if key is not None and tokens_in >= BLOCK:
            replica.keep(key, tokens_in)
        self.bill(turn, tokens_in, cached, 0, tokens_out)
        self.first_token_at = sequence.first_at
        if turn.ttft != turn.ttft:
            turn.ttft = sequence.first_at - turn.arrival
            turn.tpot = (self.env.now - sequence.first_at) / (tokens_out - 1) \
                if tokens_out > 1 else float("nan")
        return None
