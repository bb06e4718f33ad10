"""The engine: build one run of a scenario, let SimPy play it, and collect what happened.

``run(scenario, seed)`` is the whole story of one replication:

1. draw every session arrival time up front (:func:`simlib.workload.session_arrivals`);
2. build the components (workers, LLM provider, tools, store, network) from the configuration;
3. start one process that releases sessions at their arrival times, one process per session that
   plays its turns with think time between them (:func:`simlib.architectures.turn`), and one
   process that samples the system state every ``sample_every`` seconds;
4. stop the clock at ``duration``; every turn still in the system is recorded as ``in_flight``.

So every turn that arrives ends in exactly one row of the turns table, with exactly one outcome.
"""

from __future__ import annotations

from collections import deque

import simpy

from . import architectures, faults
from .calls import Guard
from .components import Component, Hop, Store, Worker, pick, resource
from .layout import layout
from .provider import LLMProvider
from .records import CallLog, Recorder, Result
from .scenario import Scenario
from .streams import Streams
from .workload import Planner, session_arrivals


class Session:
    """A user's conversation in progress."""

    __slots__ = ("id", "worker", "context_tokens", "turns_done", "turns_left",
                 "checkpoint_tokens")

    def __init__(self, sid: int, worker: int, n_turns: int):
        self.id, self.worker = sid, worker
        self.context_tokens = 0
        self.turns_done, self.turns_left = 0, n_turns
        self.checkpoint_tokens = 0


class TurnState:
    """What a turn has done so far; becomes one row of the turns table when it ends.

    The class attributes are the starting values: a turn writes only what it changes (one of
    these is made per turn, so a short ``__init__`` matters)."""

    admitted = ttft = tpot = float("nan")
    worker = -1
    calls = attempts = llm_calls = tool_calls = steps = 0
    duplicates = repeated_effects = resumes = 0
    effects = None  # the planned steps whose tool calls ran (tools that are not idempotent)
    tokens_in = tokens_out = tokens_cached = tokens_cache_write = store_ops = 0
    context_lost = degraded = sensitive = violation = False
    wasted = cost = 0.0
    row = -1  # its row in the turns table, once recorded

    def __init__(self, session: int, number: int, arrival: float):
        self.session, self.number, self.arrival = session, number, arrival


class Run:
    """One replication: the SimPy environment, the components and the records."""

    def __init__(self, scenario: Scenario, seed: int):
        arch = scenario.architecture
        self.scenario, self.seed = scenario, seed
        self.env = env = simpy.Environment()
        self.streams = streams = Streams(seed)
        self.stateful, self.asynchronous, self.remote = \
            arch.stateful, arch.asynchronous, arch.remote
        w = scenario.workers
        self.per_worker = w.max_in_flight if self.asynchronous else w.slots
        self.shedding = scenario.resilience.shedding
        self.dead_letter = scenario.resilience.dead_letter if self.asynchronous else None
        broker = scenario.resilience.broker  # redelivers only if it acknowledges late
        self.late_broker = broker if self.asynchronous and broker is not None and \
            broker.ack == "late" else None
        self.pool = None if self.stateful else resource(env, self.per_worker * w.count)
        self.late: list[TurnState] = []  # turns charged something after their row was written
        self.log: CallLog | None = None  # every call, when asked for (run(log_calls=True))
        self.components: dict[str, list[Component]] = {}
        for name, (kind, config) in layout(scenario).items():
            self.components[name] = kind.build(self, name, config)
        self.workers: list[Worker] = self.components["workers"]
        self.balancer = deque(self.workers)  # the stateless balancer's order (ties in turn)
        self.llm: LLMProvider = self.components["llm"][0]
        self.onprem: LLMProvider | None = self.components.get("onprem", [None])[0]
        self.backup: LLMProvider | None = self.components.get("llm_backup", [None])[0]
        self.failover = scenario.resilience.failover
        self.store: Store = self.components["store"][0]
        self.hop: Hop = self.components["network"][0]
        self.tool_services = [self.components[f"tools.{t.name}"] for t in scenario.tools] \
            if self.remote else None  # each tool's replicas
        crashable = faults.crashable(scenario)
        self.crash_workers = any(c.replica is not None for name in crashable
                                 for c in self.components[name])
        for name in crashable - {"workers"}:
            for component in self.components[name]:
                component.crashed = env.event()
        self.guards = self.make_guards()
        fallback = scenario.resilience.fallback
        self.fallback_latency = streams.draws("llm", "fallback", fallback.latency) \
            if fallback else None
        self.fallback_coin = streams.uniform("llm", "fallback_coin")
        self.planner = Planner(scenario, streams)
        self.workload = scenario.workload
        self.subagents = scenario.workload.subagents
        self.sub_planner = Planner(scenario, streams, tag="sub:") if self.subagents else None
        self.semantic_coin = streams.uniform("llm", "semantic")
        self.repeats_effects = broker is not None and not broker.idempotent
        self.durable = scenario.resilience.durable
        self.durable_write = streams.draws("store", "durable", self.durable.write_latency) \
            if self.durable else None
        self.recorder = Recorder(scenario, self.components)
        self.turn = architectures.choose(self)  # the turn every session plays
        self.active: dict[int, TurnState] = {}
        self.children: dict = {}  # process -> the child processes it started (calls.spawn)
        self.in_system = 0
        self.wasted = 0.0

    # -- the pieces architectures.turn asks for ------------------------------------------------
    def make_guards(self) -> dict[str, Guard]:
        """A Guard per component whose policy uses any pattern (breakers are per component)."""
        res, guards = self.scenario.resilience, {}
        for name, instances in self.components.items():
            kind = instances[0].policy
            policy = getattr(res, kind) if kind is not None else None
            if policy is not None and policy.used:
                guards[name] = Guard(self.env, policy, self.streams.uniform("jitter", name))
        return guards

    def provider(self, state: TurnState) -> LLMProvider:
        """The model a call of this turn goes to. A sensitive turn goes on-premises; without an
        on-premises model, or when it is full and the design overflows to the cloud, it goes to
        the cloud and the turn is marked as a compliance violation."""
        if not state.sensitive:
            return self.llm
        onprem = self.onprem
        if onprem is None or (self.scenario.compliance.overflow == "cloud" and onprem.saturated()):
            state.violation = True
            return self.llm
        return onprem

    def onprem_full(self) -> bool:
        """Would a sensitive turn be refused now (overflow "shed")?"""
        onprem, rule = self.onprem, self.scenario.compliance
        return onprem is not None and rule.overflow == "shed" and onprem.slots is not None \
            and onprem.slots.full(rule.max_queue)

    def live_workers(self) -> list[Worker]:
        """The workers that are up (all of them if none is: turns then wait for a restart)."""
        if self.crash_workers:
            return [w for w in self.workers if not w.down] or self.workers
        return self.workers

    def pinned(self, session: Session) -> Worker:
        """The session's worker; if it is down, the sticky balancer moves it to the next live
        one (where its context is not)."""
        worker = self.workers[session.worker]
        if worker.down:
            live = self.live_workers()
            worker = min(live, key=lambda w: (w.index - session.worker) % len(self.workers))
            session.worker = worker.index
        return worker

    def waste(self, state: TurnState, seconds: float) -> None:
        """Work an abandoned call did after its caller gave up on it (charged to the turn's
        row even if the turn has already ended)."""
        self.wasted += seconds
        state.wasted += seconds
        if state.row >= 0:
            self.late.append(state)

    def tool_dependency(self, worker, tool: int):
        """The tool a call of ``worker``'s goes to: its own copy (monolith), or a replica of
        the tool's service (microservices)."""
        return pick(self.tool_services[tool]) if self.tool_services is not None \
            else worker.tools[tool]

    def new_turn(self, session: Session, number: int) -> TurnState:
        state = TurnState(session.id, number, self.env.now)
        self.active[id(state)] = state
        self.in_system += 1
        return state

    def finish(self, state: TurnState, outcome: str, cause: str | None) -> None:
        del self.active[id(state)]
        self.in_system -= 1
        self.recorder.turn(state, self.env.now, outcome, cause)

    # -- processes ------------------------------------------------------------------------------
    def arrivals(self, times):
        env, planner = self.env, self.planner
        for sid, t in enumerate(times.tolist()):
            yield env.timeout(t - env.now)
            route, plans = planner.session()
            session = Session(sid, int(route * len(self.workers)), len(plans))
            if len(plans) == 1 and not plans[0].think and not self.stateful:
                session.turns_left = 0  # a one-turn session is its turn: no process around it
                env.process(self.turn(self, session, 1, plans[0], self.finish))
            else:
                env.process(self.session(session, plans))

    def session(self, session: Session, plans):
        for number, plan in enumerate(plans, start=1):
            if plan.think > 0:
                yield self.env.timeout(plan.think)
            session.turns_left -= 1
            yield from self.turn(self, session, number, plan, self.finish)
            session.turns_done += 1
        if self.stateful:
            self.workers[session.worker].forget(session.id)

    def sampler(self):
        every = self.scenario.sample_every
        while True:
            self.recorder.sample(self)
            yield self.env.timeout(every)

    def play(self) -> Result:
        times = session_arrivals(self.scenario.workload, self.scenario.duration,
                                 self.streams.rng["arrivals"], self.scenario.faults,
                                 self.planner.replay)
        self.env.process(self.arrivals(times))
        self.env.process(self.sampler())
        faults.start(self)
        self.env.run(until=self.scenario.duration)
        for state in self.active.values():
            self.recorder.turn(state, float("nan"), "in_flight", None)
        for state in self.late:
            self.recorder.rewrite(state)
        return self.recorder.result(self)


def run(scenario: Scenario, seed: int = 0, log_calls: bool = False) -> Result:
    """Simulate ``scenario`` once with ``seed``; the same seed always gives the same tables.
    ``log_calls`` also keeps every LLM and tool call (``result.calls``, :class:`CallLog`)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a simlib Scenario, got {scenario!r} "
                        f"({type(scenario).__name__})")
    simulation = Run(scenario, seed)
    if log_calls:
        simulation.log = CallLog()
    return simulation.play()
