"""The components a turn calls: the LLM provider, tools, the context store, the network, workers.

Each dependency is a small object with a ``serve`` generator that a turn runs with ``yield from``.
``serve`` waits for the component's capacity (a :class:`simlib.slots.Slots` queue), takes its
time, flips its error coin, and returns ``None`` for success or the *cause* of a failure
(``"llm_error"``, ``"rate_limited"``, ...). It never raises: a failure is data that the caller
records. If the turn is interrupted (its worker crashed, or a timeout cancelled the call),
``serve`` gives back the capacity it held on the way out.

The LLM provider, the biggest of them, has a module of its own (:mod:`simlib.provider`).

Turns never call ``serve`` directly; they go through :func:`simlib.calls.call`, the one place
where network hops and resilience policies wrap every outbound call.

Faults act on a component from outside (:mod:`simlib.faults`), through the few attributes of
:class:`Faultable`: extra error rates, a slow-down factor, and being down.

**A component declares who it is.** Like a form pinned to each machine in a workshop, each class
below says, in a few class attributes, everything the rest of the engine needs to know about it:
its random ``stream``, the failure ``causes`` its ``serve`` may return, which resilience
``policy`` guards calls to it, which faults can touch it (``affected_by``), the timeline
``columns`` it samples, the usage it bills per turn (:meth:`Component.prices`), the hourly cost
of its replicas (:meth:`Component.per_hour`) and the services it deploys.
:func:`simlib.layout.layout` lists the components a scenario has, by name (``"llm"``,
``"store"``, ``"tools.search"``, ...). The engine builds them, and faults, guards, the timeline
and cost iterate over what is declared, so a new component is one class, one line in
:func:`simlib.layout.layout`, a field of the :class:`simlib.Scenario` for its configuration, and
the place where a turn uses it (:mod:`simlib.guardrail` is the worked example: five files with
its test).
"""

from __future__ import annotations

from collections import OrderedDict

import simpy

from .config import ContextStore, Costs, Network, Tool, Workers
from .slots import Slots
from .streams import Streams


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

    def hold(self, seconds: float):
        """Take one of its ``slots`` (waiting in line for it), work ``seconds``, give it back;
        returns what :meth:`work` returns. Interrupted, it gives the slot back on the way out."""
        slots = self.slots
        request = slots.request() if slots is not None else None
        try:
            if request is not None:
                yield request
            return (yield from self.work(seconds))
        finally:
            if request is not None:
                slots.release(request)

    def work(self, seconds: float):
        """Take ``seconds``; if the component crashes meanwhile, stop and return "crash"."""
        if self.crashed is None:
            yield self.env.timeout(seconds)
            return None
        done = self.env.timeout(seconds)
        yield done | self.crashed
        return None if done.processed else "crash"


class Component(Faultable):
    """A component of the system, declaring its identity (see the module docstring).

    The defaults say "none": no stream, no causes, no policy, no timeline columns, no usage
    price, no hourly cost, no service of its own."""

    stream: str = ""
    """The named random stream (:mod:`simlib.streams`) its draws come from."""
    causes: tuple[str, ...] = ("crash",)
    """The failure causes (families, before any ``:detail``) its ``serve`` may return."""
    policy: str | None = None
    """The :class:`simlib.resilience.Resilience` field whose Policy wraps calls to it."""
    affected_by: frozenset[str] = frozenset()
    """What faults can do to it: ``errors`` (outages), ``slow`` (latency spikes), ``crash``."""
    columns: tuple[str, ...] = ()
    """The timeline columns it samples (:meth:`sample`), one value each."""

    @staticmethod
    def sample(instances: list) -> tuple[float, ...]:
        """The values of :attr:`columns` now, over every instance of one name."""
        return ()

    @staticmethod
    def prices(costs: Costs) -> dict[str, float]:
        """Dollars per 1,000 of each turns-table column it bills (tokens, operations)."""
        return {}

    @staticmethod
    def per_hour(scenario) -> float:
        """Dollars per hour for its replicas, busy or idle."""
        return 0.0

    @staticmethod
    def services(scenario) -> list[str]:
        """The separately deployed services it adds (each pays an operating overhead)."""
        return []

    @classmethod
    def build(cls, run, name: str, config) -> list[Component]:
        """Its instances in ``run`` under ``name`` (most components have one)."""
        return [cls(run.env, config, run.streams)]

    replica: Worker | None = None
    """The worker replica it runs inside, if any: a crash of it takes that replica down."""

    def down_up(self) -> tuple:
        """What a crash of it does and undoes: ``(down, up)``, two functions."""
        if self.replica is not None:
            return self.replica.fail_everything, self.replica.recover
        return self.crash, self.restart


class ToolService(Component):
    """One replica of a tool: ``capacity`` concurrent calls, a latency drawn per call, errors.
    In a monolith every worker replica carries its own copy (and a crash of the tool takes that
    replica down); in microservices the tool is a service of ``replicas`` of them, a call going
    to the least busy replica that is up (:func:`pick`)."""

    stream = "tools"
    causes = ("tool_error", "service_down", "crash")
    policy = "tools"
    affected_by = frozenset({"errors", "slow", "crash"})

    @staticmethod
    def per_hour(scenario) -> float:
        c, tools = scenario.costs, scenario.tools
        if not scenario.architecture.remote:  # each worker replica carries every tool
            return scenario.workers.count * len(tools) * c.tool_replica_per_hour
        return sum(t.replicas for t in tools) * c.tool_replica_per_hour

    @staticmethod
    def services(scenario) -> list[str]:
        return [f"tool:{t.name}" for t in scenario.tools] if scenario.architecture.remote \
            else []

    @classmethod
    def build(cls, run, name: str, config) -> list[Component]:
        """One service (microservices), or a copy inside every worker replica (monolith)."""
        if run.remote:  # a service of its own: ``replicas`` replicas behind a balancer
            return [cls(run.env, config, run.streams, 1, None) for _ in range(config.replicas)]
        workers = run.components["workers"]
        copies = [cls(run.env, config, run.streams, 1, worker) for worker in workers]
        for worker, copy in zip(workers, copies, strict=True):
            worker.tools.append(copy)
        return copies

    def __init__(self, env: simpy.Environment, config: Tool, streams: Streams, replicas: int,
                 worker: Worker | None):
        super().__init__(env, config.error_rate)
        self.config, self.replica = config, worker  # in a monolith, inside a worker replica
        self.remote = worker is None
        self.name = self.hop_name = f"tools.{config.name}"
        cap = config.capacity * replicas if config.capacity is not None else None
        self.slots = resource(env, cap)
        self.coin = streams.uniform("tools", f"coin:{config.name}")
        self.cause = f"tool_error:{config.name}"


    def serve(self, turn, latency: float):
        turn.tool_calls += 1
        if self.down:
            return "service_down"
        cause = yield from self.hold(latency * self.slow)
        if cause is None and self.coin() < self.error_rate:
            cause = self.cause
        return cause


class Store(Component):
    """The context store: a connection pool; time grows with the tokens read or written. In
    microservices a stateless design runs it behind its own context service."""

    name = "store"
    stream = "store"
    causes = ("store_error", "service_down", "crash")
    policy = "store"
    affected_by = frozenset({"errors", "slow", "crash"})
    columns = ("store_busy",)

    @staticmethod
    def sample(instances: list) -> tuple[float, ...]:
        slots = instances[0].slots
        return (slots.count if slots is not None else float("nan"),)

    @staticmethod
    def prices(costs: Costs) -> dict[str, float]:
        return {"store_ops": costs.store_per_1k_ops}

    @staticmethod
    def per_hour(scenario) -> float:
        return scenario.services.context_replicas * scenario.costs.context_replica_per_hour \
            if _context_service(scenario) else 0.0

    @staticmethod
    def services(scenario) -> list[str]:
        return ["context"] if _context_service(scenario) else []

    @classmethod
    def build(cls, run, name: str, config) -> list[Component]:
        return [cls(run.env, config, run.streams, run.remote)]

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
        seconds = self.latency() + self.config.per_1k_tokens * tokens / 1000
        cause = yield from self.hold(seconds * self.slow)
        if cause is None and self.coin() < self.error_rate:
            cause = "store_error"
        return cause


class Hop(Component):
    """The network between the orchestrator and the other services (microservices only)."""

    name = "network"
    stream = "network"
    causes = ("network_error", "partition")
    affected_by = frozenset({"errors", "slow"})

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


class Worker(Component):
    """An agent worker replica: its admission queue, CPU slots and (stateful) session memory.

    ``queue`` is where turns wait for a place on it: its own ``admission`` queue when the
    design pins sessions (stateful), the pool shared by every worker otherwise; ``cpu`` is held
    only for async CPU bursts; ``contexts`` maps session -> context tokens, least recently used
    first; ``active`` maps each turn on this replica to its process, so that a crash can
    interrupt them all.
    """

    name = "workers"
    stream = "workers"
    affected_by = frozenset({"slow", "crash"})
    columns = ("queued", "busy", "cpu_busy", "workers_up")

    @staticmethod
    def sample(instances: list) -> tuple[float, ...]:
        first = instances[0].queue
        queued = len(first.queue) if first is instances[-1].queue else \
            sum(len(w.admission.queue) for w in instances)  # one shared pool, or one each
        busy = cpu = up = 0
        for w in instances:
            busy += w.busy
            cpu += w.cpu.count
            up += not w.down
        return (queued, busy, cpu, up)

    @staticmethod
    def per_hour(scenario) -> float:
        return scenario.workers.count * scenario.costs.worker_per_hour

    @staticmethod
    def services(scenario) -> list[str]:
        return ["orchestrator"] if scenario.architecture.remote else ["agent"]

    @classmethod
    def build(cls, run, name: str, config) -> list[Component]:
        """``count`` replicas, each with ``run.per_worker`` places: in its own admission queue
        (stateful) or in the pool they share (stateless)."""
        return [cls(run.env, i, config, run.per_worker, run.pool) for i in range(config.count)]

    def __init__(self, env: simpy.Environment, index: int, config: Workers, places: int,
                 pool: Slots | None):
        super().__init__(env, 0.0)
        self.index = index
        self.replica = self
        self.places = places
        self.admission = resource(env, places) if pool is None else None
        self.queue = pool if pool is not None else self.admission
        self.cpu = Slots(env, config.cores)
        self.tools: list[ToolService] = []  # a monolith's replica carries its own tools
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

    def fail_everything(self) -> None:
        """A crash: interrupt every turn on this replica, lose its memory, and hold its places
        in its queue so that nothing is admitted here until :meth:`recover`."""
        if not self.crash():
            return
        for process in list(self.active.values()):
            if process.is_alive:
                process.interrupt("crash")
        self.active.clear()
        self.contexts.clear()
        self.held_tokens = 0
        self.blockers = [self.queue.request(priority=-1) for _ in range(self.places)]

    def recover(self) -> None:
        if not self.restart():
            return
        for request in self.blockers:
            self.queue.release(request)
        self.blockers = []


def _context_service(scenario) -> bool:
    """Does the design run a context service (microservices that read context from a store)?"""
    return scenario.architecture.remote and not scenario.architecture.stateful


def pick(replicas: list) -> Component:
    """The replica of a service a call goes to: the least busy one that is up (if none is,
    the call goes to one that is down and gets ``service_down``)."""
    if len(replicas) == 1:
        return replicas[0]
    live = [r for r in replicas if not r.down] or replicas
    return min(live, key=_busy)


def _busy(replica) -> int:
    slots = replica.slots
    return slots.count + len(slots.queue) if slots is not None else 0
