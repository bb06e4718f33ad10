"""The eight designs: how one turn moves through the system on each end of the three axes.

A turn is one generator, :func:`turn`, assembled from three choices:

* **state** decides where the turn waits for a worker and where its context lives.
  *Stateless*: one queue in front of every worker (a load balancer hands the turn to the least
  busy one), and the context is read from the store at the start and written back at the end.
  *Stateful*: the session is pinned to one worker (by a hash of the session, as sticky load
  balancers do), the turn queues at that worker, and the context lives in its memory: no store
  round trip, but an evicted or crashed context is lost (unless checkpointed), while a pinned
  session reuses the prompt cache.
* **execution** decides what a turn holds while it waits.
  *Sync*: the turn holds a worker slot for its whole life and calls its tools one after another.
  *Async*: the turn is acknowledged at once and holds only an in-flight ticket; it takes a CPU
  slot just for its CPU bursts and fans its tool calls out in parallel. A failure after the
  acknowledgement reaches nobody: it is a ``silent_failure``, unless a dead-letter queue
  redelivers the turn.
* **deployment** decides which calls cross the network (see :mod:`simlib.calls`).
  *Monolith*: tools and the context client run in-process. *Microservices*: each tool and the
  context service is a separate service, one network hop away.

If the worker crashes, SimPy interrupts the turn wherever it is; :func:`turn` gives back what it
held and records the failure.
"""

from __future__ import annotations

from operator import attrgetter

import simpy

from .calls import ask, call, shielded


def turn(run, session, number: int, plan, record):
    """Serve one turn of ``session`` and hand its outcome to ``record(turn, outcome, cause)``."""
    state = run.new_turn(session, number)
    dead_letter = run.dead_letter
    deliveries = 1 + (dead_letter.redeliveries if dead_letter else 0)
    for delivery in range(deliveries):
        if delivery:
            yield run.env.timeout(dead_letter.delay)
        outcome, cause = yield from deliver(run, session, state, plan)
        if run.asynchronous and cause == "queue_timeout":
            outcome = "failed"  # dropped from the queue after it was acknowledged
        if outcome not in ("failed", "timed_out"):
            break
    if run.asynchronous and outcome in ("failed", "timed_out") and dead_letter is None:
        outcome = "silent_failure"  # acknowledged, then lost: nobody is told
    record(state, outcome, cause)


def deliver(run, session, state, plan):
    """One attempt at the whole turn; returns ``(outcome, cause)``."""
    state.sensitive = plan.sensitive
    if plan.sensitive and run.onprem_full():
        return "shed", "onprem_full"
    try:
        worker, ticket = yield from admit(run, session, state)
    except simpy.Interrupt as stop:
        return "failed", str(stop.cause)
    if worker is None:
        return "shed", ticket
    try:
        cause = yield from work(run, session, worker, state, plan)
    except simpy.Interrupt as stop:
        for child in state.children:
            if child.is_alive:
                child.interrupt(stop.cause)
        state.children.clear()
        cause = str(stop.cause)
    finally:
        release(run, worker, ticket, state)
    if cause is None:
        return ("degraded" if state.degraded else "ok"), None
    return ("timed_out" if cause == "timeout" else "failed"), cause


def work(run, session, worker, state, plan):
    """The turn's work on its worker: context in, the agent loop, context out."""
    cause = None
    if session.context_tokens:  # the first turn of a session has no context yet
        cause = yield from context_in(run, session, worker, state)
    for step in range(len(plan.cpu)):
        if cause is not None:
            return cause
        cause = yield from agent_step(run, worker, state, session, plan, step)
    if cause is None:
        cause = yield from context_out(run, session, worker, state, plan)
    return cause


def admit(run, session, state):
    """Wait for a place: the shared pool (stateless) or the pinned worker's queue (stateful).

    Returns ``(worker, ticket)``, or ``(None, cause)`` when load shedding refuses the turn."""
    if run.stateful:
        worker = run.pinned(session)
        queue = worker.admission
        worker.active[id(state)] = run.env.active_process
    else:
        queue = run.pool
    shedding = run.shedding
    if shedding is not None and shedding.max_queue is not None and \
            queue.full(shedding.max_queue):
        return _refuse(run, session, state, "queue_full")
    ticket = queue.request()
    if not ticket.processed:  # no free place: wait in line (a free one is taken at once)
        try:
            if shedding is not None and shedding.max_wait is not None:
                yield ticket | run.env.timeout(shedding.max_wait)
            else:
                yield ticket
        except simpy.Interrupt:  # the pinned worker crashed while the turn waited for it
            ticket.cancel()
            raise
        if not ticket.triggered:
            ticket.cancel()
            return _refuse(run, session, state, "queue_timeout")
    if not run.stateful:
        worker = least_busy(run)
        worker.active[id(state)] = run.env.active_process
    worker.busy += 1
    state.admitted = run.env.now
    state.worker = worker.index
    return worker, ticket


def _refuse(run, session, state, cause):
    if run.stateful:
        run.pinned(session).active.pop(id(state), None)
    return None, cause


_BUSY = attrgetter("busy")


def least_busy(run):
    """The live worker with the fewest turns; among equals, each in turn (nginx's
    ``least_conn``: "if there are several such servers, they are tried in turn")."""
    workers = run.live_workers()
    start = run.turns_balanced % len(workers)
    run.turns_balanced += 1
    return min(workers[start:] + workers[:start], key=_BUSY)


def release(run, worker, ticket, state):
    worker.busy -= 1
    worker.active.pop(id(state), None)
    worker.queue.release(ticket)


def context_in(run, session, worker, state):
    """Bring the conversation so far: read it from the store, or find it in worker memory
    (restoring the last checkpoint from the store if the worker lost it)."""
    if not run.stateful:
        return (yield from call(run, run.store, state, session.context_tokens))
    if session.id in worker.contexts:
        return None
    checkpoint = run.scenario.resilience.checkpoint
    had = session.context_tokens
    session.context_tokens = session.checkpoint_tokens if checkpoint else 0
    state.context_lost = session.context_tokens < had
    if checkpoint and session.checkpoint_tokens:
        return (yield from call(run, run.store, state, session.checkpoint_tokens))
    return None


def context_out(run, session, worker, state, plan):
    """Keep the grown conversation: in worker memory (checkpointed every few turns), or written
    back to the store."""
    session.context_tokens += plan.prompt_tokens + sum(plan.output_tokens)
    if run.stateful:
        worker.remember(session.id, session.context_tokens)
        checkpoint = run.scenario.resilience.checkpoint
        if checkpoint and (session.turns_done + 1) % checkpoint.every_turns == 0:
            cause = yield from call(run, run.store, state, session.context_tokens)
            if cause is None:
                session.checkpoint_tokens = session.context_tokens
        return None
    if session.turns_left == 0:  # nobody will read it again
        return None
    return (yield from call(run, run.store, state, session.context_tokens))


def agent_step(run, worker, state, session, plan, step):
    """One step of the agent loop: a CPU burst, one LLM call, then the step's tool calls."""
    seconds = plan.cpu[step] * worker.slow
    if seconds > 0:
        yield from cpu_burst(run, worker, seconds)
    ttft = plan.ttft[step]
    llm = run.provider(state) if state.sensitive else run.llm
    if llm.cache is None and run.stateful and session.turns_done > 0 \
            and not state.context_lost:  # the first edition's prompt cache: pinned only
        ttft *= llm.config.prompt_cache_factor
    tokens_in = session.context_tokens + plan.prompt_tokens
    out = plan.output_tokens[step]
    cause = yield from ask(run, llm, state, (ttft, tokens_in, out, session.id))
    if cause is not None and run.scenario.resilience.fallback is not None:
        cause = yield from fall_back(run, state, cause, tokens_in, out)
    if cause is not None or not plan.tools[step]:
        return cause
    if run.asynchronous:
        return (yield from tools_in_parallel(run, worker, state, plan.tools[step]))
    for tool, latency in plan.tools[step]:
        cause = yield from call(run, run.tool_dependency(worker, tool), state, latency)
        if cause is not None:
            return cause
    return None


def fall_back(run, state, cause: str, tokens_in: int, tokens_out: int):
    """A degraded answer after the LLM call failed for good: it takes its latency, costs its
    tokens, and may fail too (then the LLM's cause stands)."""
    fallback = run.scenario.resilience.fallback
    yield run.env.timeout(run.fallback_latency())
    if run.fallback_coin() < fallback.error_rate:
        return cause
    state.cost += (tokens_in * fallback.input_per_1k + tokens_out * fallback.output_per_1k) \
        / 1000
    state.degraded = True
    return None


def cpu_burst(run, worker, seconds: float):
    """Sync turns already hold their slot; async turns queue for a CPU slot for the burst only."""
    if not run.asynchronous:
        yield run.env.timeout(seconds)
        return
    with worker.cpu.request() as slot:
        yield slot
        yield run.env.timeout(seconds)


def tools_in_parallel(run, worker, state, calls):
    """Async fan-out: start every tool call at once, wait for all, report the first failure."""
    env = run.env
    procs = [env.process(shielded(call(run, run.tool_dependency(worker, tool), state, latency)))
             for tool, latency in calls]
    state.children.extend(procs)
    yield env.all_of(procs)
    for proc in procs:
        state.children.remove(proc)
    return next((p.value for p in procs if p.value is not None), None)
