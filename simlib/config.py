"""Configuration: a scenario is data, checked the moment it is made.

A scenario (:mod:`simlib.scenario`) is a tree of frozen dataclasses, one per part of the system
(the workload, the LLM provider, the tools, the context store, the workers, the network, the
costs) plus the :class:`Architecture`, which picks one end of each of the three axes. This module
holds those parts. Defaults live in exactly one place: the dataclass fields below. Each class
checks its own fields in ``__post_init__``, naming the field path in any error, so a mistake
surfaces before any simulation starts::

    >>> Workload(arrival_rate=-1)
    Traceback (most recent call last):
    ValueError: workload.arrival_rate must be > 0, got -1

Times are seconds, money is US dollars, sizes are tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .dists import Deterministic, Distribution, Exponential, LogNormal, as_distribution
from .traces import DATA, Trace
from .validate import check_choice, check_number, check_probability, check_type

STATES = ("stateless", "stateful")
EXECUTIONS = ("sync", "async")
DEPLOYMENTS = ("monolith", "microservices")


class Config:
    """Base of every configuration class: validates on construction, knows its path."""

    path = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.metadata.get("dist") and not (f.metadata.get("optional")
                                               and getattr(self, f.name) is None):
                value = as_distribution(self._at(f.name), getattr(self, f.name))
                object.__setattr__(self, f.name, value)
        self.validate()

    def _at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def validate(self) -> None:
        """Check every field; subclasses raise ValueError/TypeError naming the field path."""

    def _check_optional(self, kinds: dict) -> None:
        """Each named field is None or an instance of its class."""
        for name, kind in kinds.items():
            value = getattr(self, name)
            if value is not None:
                check_type(self._at(name), value, kind, f"a {kind.__name__} or None")


def dist(default: Distribution | None, optional: bool = False):
    """A field holding a distribution (a plain number is taken as Deterministic(number));
    ``optional`` lets None through (meaning "not used")."""
    return field(default=default, metadata={"dist": True, "optional": optional})


@dataclass(frozen=True)
class Architecture(Config):
    """One end of each axis: state, execution and deployment (DESIGN.md section 1)."""

    path = "architecture"
    state: str = "stateless"
    execution: str = "sync"
    deployment: str = "monolith"

    def validate(self):
        check_choice(self._at("state"), self.state, STATES)
        check_choice(self._at("execution"), self.execution, EXECUTIONS)
        check_choice(self._at("deployment"), self.deployment, DEPLOYMENTS)

    @property
    def name(self) -> str:
        """A short label such as ``stateless/sync/monolith``."""
        return f"{self.state}/{self.execution}/{self.deployment}"

    @property
    def stateful(self) -> bool:
        """Sessions pinned to a worker that keeps their context in memory."""
        return self.state == "stateful"

    @property
    def asynchronous(self) -> bool:
        """Turns acknowledged at once, holding a worker slot only for their CPU bursts."""
        return self.execution == "async"

    @property
    def remote(self) -> bool:
        """Microservices: tools and the context service are a network hop away."""
        return self.deployment == "microservices"


@dataclass(frozen=True)
class Bursts(Config):
    """On/off traffic: the arrival rate is multiplied by ``on_factor`` during exponentially long
    on-periods (mean ``on_mean`` s) and by ``off_factor`` during off-periods (mean ``off_mean``)."""

    path = "workload.bursts"
    on_mean: float = 30.0
    off_mean: float = 90.0
    on_factor: float = 3.0
    off_factor: float = 0.33

    def validate(self):
        check_number(self._at("on_mean"), self.on_mean, low=0, strict=True)
        check_number(self._at("off_mean"), self.off_mean, low=0, strict=True)
        check_number(self._at("on_factor"), self.on_factor, low=0)
        check_number(self._at("off_factor"), self.off_factor, low=0)


@dataclass(frozen=True)
class FlashCrowd(Config):
    """The arrival rate times ``factor`` from ``start`` for ``duration`` seconds."""

    path = "workload.flash_crowds"
    start: float = 0.0
    duration: float = 60.0
    factor: float = 5.0

    def validate(self):
        check_number(self._at("start"), self.start, low=0)
        check_number(self._at("duration"), self.duration, low=0, strict=True)
        check_number(self._at("factor"), self.factor, low=0)

    def check_target(self, path: str, scenario) -> None:
        """A flash crowd given as a fault has no target to check."""


@dataclass(frozen=True)
class Workload(Config):
    """Who arrives and how much work they bring.

    Sessions arrive as a Poisson process at ``arrival_rate`` per second, optionally made
    time-varying by ``rate_profile`` (pairs ``(time, factor)``: from ``time`` on, the rate is
    ``arrival_rate * factor``), ``bursts`` and ``flash_crowds``. A session has ``turns`` turns
    separated by ``think_time``; a turn has ``steps`` agent steps; a step makes one LLM call and
    ``tools_per_step`` tool calls. Counts are made whole by stochastic rounding, which keeps their
    mean (0.3 tool calls per step is a tool call in 30% of the steps); a session has at least one
    turn and a turn at least one step.

    ``replay`` (a :class:`simlib.traces.Trace`) replaces the arrival process and the token sizes
    with a real trace, played ``replay_speed`` times faster: each request is a turn with the
    trace's prompt and output tokens; requests of one trace session are the turns of one session,
    the gap between them taken as think time. Steps, tools and latencies still come from here.

    ``sensitive_share`` of the turns carry data that must stay on-premises (see
    :class:`OnPrem` and :class:`Compliance`).

    **The agent loop** (DESIGN.md section 1b). Each step resends the turn's growing context:
    the previous steps' outputs and their tool results (``tool_result_tokens`` per tool call),
    so a turn of k steps with prompt P, outputs O and results R sends kP + (O+R)k(k-1)/2 input
    tokens. ``context_window`` bounds what one call may send: beyond it the context is
    compacted, by ``"summarise"`` (one more LLM call, the context shrinks to
    ``summary_tokens``) or ``"truncate"`` (the oldest tokens dropped to half the window).
    ``semantic_error_rate`` is a call's chance of an unusable answer (a malformed tool call, a
    refusal): an HTTP success that costs one re-ask step, which no breaker or HTTP retry sees.
    ``tool_errors="observe"`` feeds a failed tool call back to the model (one more step);
    ``"fail"`` fails the turn, as the first edition did. ``max_steps`` caps the steps of a turn
    (re-asks included): a longer turn fails with cause ``step_limit`` (LangGraph's
    ``recursion_limit`` defaults to 25). ``parallel_tools`` runs a step's tool calls at once
    (``asyncio.gather``), in any design; ``subagents`` (a number) fans a turn's first step out
    to that many sub-agents, each its own loop with its own context, whose answers come back
    as tool results.
    """

    path = "workload"
    arrival_rate: float = 1.0
    turns: Distribution = dist(Deterministic(1))
    think_time: Distribution = dist(Exponential(20.0))
    steps: Distribution = dist(Deterministic(1))
    tools_per_step: Distribution = dist(Deterministic(0))
    prompt_tokens: Distribution = dist(Deterministic(300))
    output_tokens: Distribution = dist(Deterministic(150))
    rate_profile: tuple = ()
    bursts: Bursts | None = None
    flash_crowds: tuple = ()
    replay: Trace | None = None
    replay_speed: float = 1.0
    sensitive_share: float = 0.0
    tool_result_tokens: Distribution = dist(Deterministic(0))
    context_window: int | None = None
    compaction: str = "summarise"
    summary_tokens: int = 2000
    semantic_error_rate: float = 0.0
    tool_errors: str = "observe"
    max_steps: int | None = None
    parallel_tools: bool = False
    subagents: int | None = None

    def validate(self):
        check_number(self._at("arrival_rate"), self.arrival_rate, low=0, strict=True)
        check_number(self._at("context_window"), self.context_window, low=1, integer=True,
                     optional=True)
        check_choice(self._at("compaction"), self.compaction, ("summarise", "truncate"))
        check_number(self._at("summary_tokens"), self.summary_tokens, low=0, integer=True)
        if self.context_window is not None and self.summary_tokens >= self.context_window:
            raise ValueError(f"{self._at('summary_tokens')} must be < context_window "
                             f"({self.context_window}), got {self.summary_tokens!r}")
        check_probability(self._at("semantic_error_rate"), self.semantic_error_rate)
        if self.semantic_error_rate >= 1:
            raise ValueError(f"{self._at('semantic_error_rate')} must be < 1 (every answer "
                             f"unusable: the loop would never end), got "
                             f"{self.semantic_error_rate!r}")
        check_choice(self._at("tool_errors"), self.tool_errors, ("observe", "fail"))
        check_number(self._at("max_steps"), self.max_steps, low=1, integer=True, optional=True)
        check_type(self._at("parallel_tools"), self.parallel_tools, bool, "True or False")
        check_number(self._at("subagents"), self.subagents, low=1, integer=True, optional=True)
        check_number(self._at("replay_speed"), self.replay_speed, low=0, strict=True)
        check_probability(self._at("sensitive_share"), self.sensitive_share)
        if self.replay is not None:
            check_type(self._at("replay"), self.replay, Trace, "a simlib.traces.Trace or None")
        check_type(self._at("rate_profile"), self.rate_profile, tuple,
                   "a tuple of (time, factor) pairs")
        last = None
        for i, pair in enumerate(self.rate_profile):
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"{self._at('rate_profile')}[{i}] must be a (time, factor) "
                                f"pair, got {pair!r}")
            time_path = f"{self._at('rate_profile')}[{i}].time"
            if last is None:
                check_number(time_path, pair[0], low=0)
            else:
                check_number(time_path, pair[0], low=last, strict=True, what="the previous time")
            check_number(f"{self._at('rate_profile')}[{i}].factor", pair[1], low=0)
            last = pair[0]
        self._check_optional({"bursts": Bursts})
        check_type(self._at("flash_crowds"), self.flash_crowds, tuple, "a tuple of FlashCrowd")
        for i, crowd in enumerate(self.flash_crowds):
            check_type(f"{self._at('flash_crowds')}[{i}]", crowd, FlashCrowd, "a FlashCrowd")


@dataclass(frozen=True)
class PromptCache(Config):
    """A provider's prompt cache: a prompt that starts with a prefix the model has just
    processed reads that prefix from the cache, which is faster (time to first token grows only
    with the *uncached* tokens, see ``LLM.prefill_rate``) and cheaper.

    ``scope="provider"``: hosted APIs cache by the prompt's prefix, whoever sends it, so a
    stateless worker that resends a session's history hits as a pinned one does (OpenAI routes
    a request "to a server that already computed that prefix"; Anthropic keys on the exact
    prefix). ``scope="replica"``: the cache lives in one serving replica (self-hosted engines
    such as vLLM); with a hosted LLM each agent worker is taken to reach its own replica, so a
    session served by several workers misses.

    An entry lives ``ttl`` seconds from the start of the request that wrote or last read it
    (Anthropic: 5 minutes, refreshed on use); prompts under ``min_tokens`` are not cached
    (1,024 at OpenAI and for most Anthropic models). Cached reads cost ``read_price`` times the
    input price and writes ``write_price`` times (Anthropic: 0.1x and 1.25x; OpenAI: reads
    0.1x to 0.5x by model, writes free before GPT-5.6). Sources: Anthropic's prompt-caching
    and pricing pages (platform.claude.com/docs), OpenAI's prompt-caching guide and
    openai-cookbook ``examples/Prompt_Caching_201.ipynb``."""

    path = "llm.cache"
    scope: str = "provider"
    ttl: float = 300.0
    min_tokens: int = 1024
    read_price: float = 0.1
    write_price: float = 1.25

    def validate(self):
        check_choice(self._at("scope"), self.scope, ("provider", "replica"))
        check_number(self._at("ttl"), self.ttl, low=0, strict=True)
        check_number(self._at("min_tokens"), self.min_tokens, low=0, integer=True)
        check_number(self._at("read_price"), self.read_price, low=0)
        check_number(self._at("write_price"), self.write_price, low=0)


@dataclass(frozen=True)
class LLM(Config):
    """The LLM provider, as hosted APIs behave (DESIGN.md section 1b).

    **Latency.** A call takes ``ttft`` (time to first token), plus ``uncached prompt tokens /
    prefill_rate`` when ``prefill_rate`` is set (None: the ``ttft`` distribution already holds
    the prompt's processing), plus output tokens / ``decode_rate``.

    **Failures** come back fast: a call that fails (``error_rate``, an outage, the provider's
    own overload, a 429) answers after ``error_latency`` and its tokens are not billed
    (``error_latency=None`` is the first edition's textbook provider: the error is known only
    after a full generation, which is billed).

    **Rate limits** are token buckets enforced over ``rate_window`` seconds: a limit of L per
    minute holds ``L x rate_window / 60`` and refills ``L / 60`` per second (Azure OpenAI
    evaluates "over a small period of time, typically 1 or 10 seconds"; OpenAI and Anthropic
    say limits may be enforced per second). Limits on requests, on tokens combined (OpenAI
    style: prompt plus output), and on input and output tokens separately (Anthropic style;
    cached input reads do not count). A token limit charges the prompt plus ``max_tokens`` at
    admission (None: the actual output) and refunds the unused part when the call ends. A
    refused call is a 429 with a retry-after: the time until the buckets hold its charge.
    ``concurrency`` caps calls in progress (None = unlimited); extra calls queue.

    **The SDK retries** a 429, an overload or a server error ``sdk_retries`` times on its own,
    below any policy of the application (openai-python and anthropic-sdk-python:
    ``DEFAULT_MAX_RETRIES = 2``, backoff from 0.5 s doubling to 8 s times a jitter factor in
    (0.75, 1], a retry-after of at most 60 s honoured instead; ``_constants.py`` and
    ``_base_client.py`` of both). So the attempts a call makes are a product of layers.

    **Prompt caching**: ``cache`` (a :class:`PromptCache`, None: no cache). Without a cache,
    the first edition's special case applies: a session pinned to one worker (stateful) has
    its time to first token multiplied by ``prompt_cache_factor`` from its second turn on.

    ``input_per_1k`` and ``output_per_1k`` price this model's tokens (None: the scenario's
    ``costs.llm_input_per_1k`` and ``costs.llm_output_per_1k``): a backup model has its own.
    """

    path = "llm"
    ttft: Distribution = dist(LogNormal(median=0.6, p95=1.5))
    decode_rate: float = 80.0
    error_rate: float = 0.0
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    input_tokens_per_minute: float | None = None
    output_tokens_per_minute: float | None = None
    rate_window: float = 1.0
    max_tokens: int | None = None
    concurrency: int | None = None
    prefill_rate: float | None = None
    # No provider publishes how fast a failed call returns: a median of 0.2 s is an assumption
    # (about one HTTPS round trip to a provider and its admission), stated as such.
    error_latency: Distribution | None = dist(LogNormal(median=0.2, p95=1.0), optional=True)
    sdk_retries: int = 2
    cache: PromptCache | None = field(default_factory=PromptCache)
    prompt_cache_factor: float = 0.6
    input_per_1k: float | None = None
    output_per_1k: float | None = None

    def validate(self):
        check_number(self._at("decode_rate"), self.decode_rate, low=0, strict=True)
        check_probability(self._at("error_rate"), self.error_rate)
        for name in ("requests_per_minute", "tokens_per_minute", "input_tokens_per_minute",
                     "output_tokens_per_minute", "prefill_rate"):
            check_number(self._at(name), getattr(self, name), low=0, strict=True, optional=True)
        check_number(self._at("rate_window"), self.rate_window, low=0, strict=True, high=60)
        check_number(self._at("max_tokens"), self.max_tokens, low=1, integer=True,
                     optional=True)
        check_number(self._at("concurrency"), self.concurrency, low=1, integer=True,
                     optional=True)
        check_number(self._at("sdk_retries"), self.sdk_retries, low=0, integer=True)
        check_number(self._at("prompt_cache_factor"), self.prompt_cache_factor, low=0, high=1)
        for name in ("input_per_1k", "output_per_1k"):
            check_number(self._at(name), getattr(self, name), low=0, optional=True)
        self._check_optional({"cache": PromptCache})

    @property
    def limited(self) -> bool:
        """Does any rate limit apply?"""
        return any(getattr(self, name) is not None for name in LIMITS)


LIMITS = ("requests_per_minute", "tokens_per_minute", "input_tokens_per_minute",
          "output_tokens_per_minute")
"""The LLM's rate limits, each a token bucket."""


@dataclass(frozen=True)
class OnPrem(LLM):
    """An on-premises model for sensitive turns: the same knobs as :class:`LLM`, usually with a
    hard ``concurrency`` (the GPUs you own) and a slower ``decode_rate``. It is paid by the hour
    (``costs.onprem_per_hour``), not per token."""

    path = "onprem"
    ttft: Distribution = dist(LogNormal(median=0.8, p95=2.0))
    decode_rate: float = 40.0
    concurrency: int | None = 4
    cache: PromptCache | None = None
    prompt_cache_factor: float = 1.0


@dataclass(frozen=True)
class StepTime(Config):
    """How long one iteration of a continuous-batching engine takes, in milliseconds:
    ``a + b N + c KV + d P + e KVP``, where N is the tokens computed in the iteration (one per
    decoding sequence, plus the prompt tokens prefilled), KV the context the decoding sequences
    read from the KV cache, P the prompt tokens prefilled, and KVP the already computed prefix
    each prefill chunk attends to. The defaults are Llama-3-8B on one A100 80GB, fitted to
    Vidur's kernel profiles (microsoft/vidur, MIT): ``data/serving_profiles.csv``, row
    ``llama-3-8b_a100-80gb_tp1``; :meth:`profile` reads any row of that table."""

    path = "llm.step_time"
    a: float = 10.1083
    b: float = 0.0391458
    c: float = 9.26702e-05
    d: float = 0.0442338
    e: float = 0.00244724

    def validate(self):
        for name in ("a", "b", "c", "d", "e"):
            check_number(self._at(name), getattr(self, name), low=0)

    def seconds(self, tokens: float, kv: float, prefill: float, kv_prefill: float) -> float:
        """One iteration's duration in seconds."""
        return (self.a + self.b * tokens + self.c * kv + self.d * prefill
                + self.e * kv_prefill) / 1000

    @classmethod
    def profile(cls, name: str) -> StepTime:
        """The step time of a profiled model and GPU (``data/serving_profiles.csv``)."""
        row = serving_profile(name)
        return cls(**{k: float(row[f"{k}_{unit}"]) if row[f"{k}_{unit}"] == row[f"{k}_{unit}"]
                      else 0.0 for k, unit in STEP_COLUMNS.items()})


STEP_COLUMNS = {"a": "ms", "b": "ms_per_token", "c": "ms_per_kv_token",
                "d": "ms_per_prefill_token", "e": "ms_per_prefill_kv_token"}


def serving_profile(name: str) -> dict:
    """One row of ``data/serving_profiles.csv`` (a model on a GPU), as a dict."""
    import pandas as pd
    table = pd.read_csv(DATA / "serving_profiles.csv", comment="#").set_index("profile")
    if name not in table.index:
        raise ValueError(f"profile must be one of {', '.join(map(repr, table.index))}, "
                         f"got {name!r}")
    return table.loc[name].to_dict()


@dataclass(frozen=True)
class SelfHosted(LLM):
    """A model you serve yourself on GPUs, with continuous batching (vLLM, TGI, SGLang).

    Each of ``replicas`` engines runs iterations: every running sequence gets one output
    token, and waiting prompts are prefilled in chunks within ``chunk_tokens`` tokens an
    iteration (vLLM's ``max_num_batched_tokens``, 2,048 on an A100). An iteration's duration
    grows with the batch and the KV cache it reads (:class:`StepTime`), so a loaded server
    slows gradually (longer time to first token and per output token) before it queues. At
    most ``max_batch`` sequences run at once (vLLM's ``max_num_seqs``, 256 on an A100), and
    only as many as ``kv_cache_tokens`` hold, each reserving its prompt and its answer (as
    Vidur's memory planner does); the rest wait, first come first served. Each replica keeps
    a prefix cache of recent prompts (vLLM's automatic prefix caching, 16-token blocks), so
    which replica a request goes to matters: ``routing`` is ``round_robin``,
    ``least_loaded`` (fewest sequences), or ``prefix_affinity`` (the replica that holds the
    prompt's prefix, unless it is far busier than the least loaded one: SGLang's and vLLM
    Router's cache-aware policy, thresholds 64 and 1.5). Paid ``gpu_hour`` per replica-hour,
    busy or idle; its tokens cost nothing more. The defaults: Llama-3-8B on one A100 80GB
    (``data/serving_profiles.csv``; KV cache at vLLM's 0.9 memory utilisation; $1.49 an hour,
    Jarvislabs, April 2026). ``SelfHosted.profile(name)`` builds one for another row."""

    path = "llm"
    replicas: int = 1
    max_batch: int = 256
    kv_cache_tokens: int = 467_291
    chunk_tokens: int = 2048
    step_time: StepTime = field(default_factory=StepTime)
    routing: str = "round_robin"
    gpu_hour: float = 1.49
    cache: PromptCache | None = field(default_factory=lambda: PromptCache(
        scope="replica", ttl=1e9, min_tokens=16, read_price=0.0, write_price=0.0))
    sdk_retries: int = 2

    def validate(self):
        super().validate()
        for name in ("replicas", "max_batch", "kv_cache_tokens", "chunk_tokens"):
            check_number(self._at(name), getattr(self, name), low=1, integer=True)
        check_type(self._at("step_time"), self.step_time, StepTime, "a simlib StepTime")
        check_choice(self._at("routing"), self.routing,
                     ("round_robin", "least_loaded", "prefix_affinity"))
        check_number(self._at("gpu_hour"), self.gpu_hour, low=0)

    @classmethod
    def profile(cls, name: str, **changes) -> SelfHosted:
        """A server of a profiled model and GPU (``data/serving_profiles.csv``): its step
        time, KV cache, vLLM's batch limits and its replica-hour price."""
        row = serving_profile(name)
        return cls(step_time=StepTime.profile(name), kv_cache_tokens=int(row["kv_cache_tokens"]),
                   max_batch=int(row["max_num_seqs"]),
                   chunk_tokens=int(row["max_num_batched_tokens"]),
                   gpu_hour=float(row["replica_hour_usd"]), **changes)


@dataclass(frozen=True)
class Compliance(Config):
    """What a sensitive turn does when the on-premises model is busy. ``queue``: wait for it
    (always compliant); ``shed``: refuse the turn at arrival when ``max_queue`` calls already
    wait on-premises (compliant, but visible); ``cloud``: send the call to the cloud provider
    instead (fast, but each such call is a compliance *violation*)."""

    path = "compliance"
    overflow: str = "queue"
    max_queue: int = 0

    def validate(self):
        check_choice(self._at("overflow"), self.overflow, ("queue", "shed", "cloud"))
        check_number(self._at("max_queue"), self.max_queue, low=0, integer=True)


@dataclass(frozen=True)
class Tool(Config):
    """A tool the agent calls (search, code execution, an API). ``capacity`` is concurrent calls
    per replica (None = unlimited); ``replicas`` counts only for microservices (in a monolith the
    tool runs inside every worker replica). ``weight`` is how often it is picked."""

    name: str = "search"
    latency: Distribution = dist(LogNormal(median=0.3, p95=2.0))
    error_rate: float = 0.0
    capacity: int | None = 8
    replicas: int = 1
    weight: float = 1.0

    @property
    def path(self) -> str:
        return f"tools.{self.name}"

    def validate(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"tools[].name must be an identifier such as 'search', "
                             f"got {self.name!r}")
        check_probability(self._at("error_rate"), self.error_rate)
        check_number(self._at("capacity"), self.capacity, low=1, integer=True, optional=True)
        check_number(self._at("replicas"), self.replicas, low=1, integer=True)
        check_number(self._at("weight"), self.weight, low=0, strict=True)


@dataclass(frozen=True)
class ContextStore(Config):
    """The database or cache holding conversation history (used by stateless designs). One read
    or write takes ``latency`` plus ``per_1k_tokens`` seconds per 1,000 tokens of context, on one of
    ``servers`` connections (None = unlimited; extra operations queue)."""

    path = "store"
    latency: Distribution = dist(LogNormal(median=0.004, p95=0.02))
    per_1k_tokens: float = 0.002
    servers: int | None = 16
    error_rate: float = 0.0

    def validate(self):
        check_number(self._at("per_1k_tokens"), self.per_1k_tokens, low=0)
        check_number(self._at("servers"), self.servers, low=1, integer=True, optional=True)
        check_probability(self._at("error_rate"), self.error_rate)


@dataclass(frozen=True)
class Workers(Config):
    """Agent worker replicas. A sync worker serves ``slots`` turns at once, each holding a
    thread for its whole life (FastAPI/Starlette run ``def`` endpoints on anyio's default
    thread limiter of 40: starlette ``docs/threadpool.md``, anyio
    ``current_default_thread_limiter``, ``CapacityLimiter(40)``). An async worker holds at most
    ``max_in_flight`` turns, waiting without a thread. In both, each step's ``cpu_per_step``
    seconds of CPU run on one of ``cores`` (bursts beyond them queue). Stateful workers keep
    session contexts in ``memory_mb`` (``mb_per_1k_tokens`` each) and evict the least recently
    used session when full."""

    path = "workers"
    count: int = 2
    slots: int = 40
    max_in_flight: int = 64
    cores: int = 4
    cpu_per_step: Distribution = dist(Deterministic(0.01))
    memory_mb: float = 2048.0
    mb_per_1k_tokens: float = 0.5

    def validate(self):
        check_number(self._at("count"), self.count, low=1, integer=True)
        check_number(self._at("slots"), self.slots, low=1, integer=True)
        check_number(self._at("cores"), self.cores, low=1, integer=True)
        check_number(self._at("max_in_flight"), self.max_in_flight, low=1, integer=True)
        check_number(self._at("memory_mb"), self.memory_mb, low=0, strict=True)
        check_number(self._at("mb_per_1k_tokens"), self.mb_per_1k_tokens, low=0)


@dataclass(frozen=True)
class Network(Config):
    """Hops between microservices: each call from one service to another takes ``hop_latency``
    (round trip) and fails with ``error_rate``. Monoliths make these calls in-process, for free."""

    path = "network"
    hop_latency: Distribution = dist(LogNormal(median=0.002, p95=0.008))
    error_rate: float = 0.0

    def validate(self):
        check_probability(self._at("error_rate"), self.error_rate)


@dataclass(frozen=True)
class Services(Config):
    """Microservices only: replicas of the context service (the tool services' replicas are on
    each :class:`Tool`)."""

    path = "services"
    context_replicas: int = 2

    def validate(self):
        check_number(self._at("context_replicas"), self.context_replicas, low=1, integer=True)


@dataclass(frozen=True)
class Costs(Config):
    """Prices in US dollars. A monolith replica carries its tools, so it costs ``worker_per_hour``
    plus ``tool_replica_per_hour`` per tool; microservices pay each replica separately and
    ``service_overhead_per_hour`` per service (operating cost: deploys, monitoring, on-call)."""

    path = "costs"
    worker_per_hour: float = 0.20
    tool_replica_per_hour: float = 0.05
    context_replica_per_hour: float = 0.05
    service_overhead_per_hour: float = 0.10
    # Claude Haiku 4.5: $1 per million input tokens, $5 output (cache reads $0.10, writes
    # $1.25: PromptCache's defaults); Anthropic pricing page, platform.claude.com/docs, 2026.
    llm_input_per_1k: float = 0.001
    llm_output_per_1k: float = 0.005
    store_per_1k_ops: float = 0.001
    onprem_per_hour: float = 4.0

    def validate(self):
        for f in dataclasses.fields(self):
            check_number(self._at(f.name), getattr(self, f.name), low=0)
