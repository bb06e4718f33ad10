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
  *Sync*: the turn holds one of its worker's threads for its whole life, waiting included.
  *Async*: the turn is acknowledged at once and holds only an in-flight place; it waits without
  a thread. In both, CPU bursts run on the worker's cores, and whether a step's tool calls run
  at once is the workload's choice (``parallel_tools``), not the axis's. A failure after the
  acknowledgement reaches nobody: it is a ``silent_failure``, unless the broker redelivers the
  turn (:mod:`simlib.delivery`).
* **deployment** decides which calls cross the network (see :mod:`simlib.calls`).
  *Monolith*: tools and the context client run in-process. *Microservices*: each tool and the
  context service is a separate service, one network hop away.

The turn's steps are the agent loop (:mod:`simlib.agent`). If the worker crashes, SimPy
interrupts the turn wherever it is; :func:`deliver` gives back what it held and records the
failure, or, with durable execution, resumes the turn at its next step on a live worker.

When nothing of that can happen (no worker crash, no policy, no redelivery and no agent-loop
trouble: the first edition's textbook queue, pooled or sticky, sync or async), a run plays
:func:`textbook_turn` instead, the same turn written as one generator. :func:`choose` picks one
of the two once per run.
"""

from __future__ import annotations

from operator import attrgetter

import simpy

from .agent import Attempt, cpu_burst, loop, next_step, tool_calls
from .calls import call, stop_children
from .delivery import brokered, once_then_dead_letter


def turn(run, session, number: int, plan, record):
    """Serve one turn of ``session`` and hand its outcome to ``record(turn, outcome, cause)``."""
    state = run.new_turn(session, number)
    if not run.asynchronous:
        outcome, cause = yield from deliver(run, session, state, plan, Attempt(0))
    elif run.late_broker is not None:
        outcome, cause = yield from brokered(run, session, state, plan, deliver)
    else:
        outcome, cause = yield from once_then_dead_letter(run, session, state, plan, deliver)
    record(state, outcome, cause)


def choose(run):
    """The turn a run plays: :func:`textbook_turn` when it is :func:`textbook`, else
    :func:`turn`."""
    return textbook_turn if textbook(run) else turn


def textbook(run) -> bool:
    """Can nothing but a dependency's own answer end a turn early, and is every turn delivered
    once? Sync or async (a thread or an in-flight place held throughout, in the pool or at the
    pinned worker), with no redelivery (a dead-letter policy or a late-acknowledging broker
    would deliver a turn again), no crash of a worker replica (which would interrupt its turns
    and move its sessions; every other fault changes only what a dependency answers, or when
    turns arrive), no resilience policy or load shedding, no guardrail, and none of the agent
    loop's troubles (a step cap, a context window, unusable answers, sub-agents)."""
    scenario, workload = run.scenario, run.workload
    res = scenario.resilience
    return not (run.dead_letter or run.late_broker or run.guards or run.shedding or
                run.crash_workers or scenario.guardrail or res.failover or res.fallback or
                res.durable or run.subagents or workload.max_steps is not None or
                workload.context_window is not None or workload.semantic_error_rate)


def textbook_turn(run, session, number: int, plan, record):
    """:func:`turn` when the run is :func:`textbook`: the same steps in the same order, with
    the same draws, so the same turns table (tests/test_textbook_turn.py runs both on every
    scenario that qualifies), in one generator instead of six nested ones. Every generator a
    turn runs inside costs a step each time SimPy resumes the turn, so this is the engine's
    speed on the textbook queue (bench/engine.py)."""
    state = run.new_turn(session, number)
    state.sensitive = plan.sensitive
    if plan.sensitive and run.onprem_full():
        record(state, "shed", "onprem_full")
        return
    stateful = run.stateful
    worker = run.workers[session.worker] if stateful else None  # (admit: never down here)
    ticket = worker.admission.request() if stateful else run.pool.request()
    if not ticket.processed:
        yield ticket
    if not stateful:
        worker = least_busy(run)
    worker.busy += 1
    state.admitted, state.worker = run.env.now, worker.index
    attempt, cause = Attempt(session.context_tokens), None
    if session.context_tokens and not stateful:  # (context_in)
        cause = yield from call(run, run.store, state, session.context_tokens)
    elif session.context_tokens and session.id not in worker.contexts:  # evicted
        cause = yield from context_in(run, session, worker, state, attempt)  # lost or restored
    cached = stateful and session.turns_done > 0 and not state.context_lost
    while cause is None and (attempt.step < len(plan.cpu) or attempt.owed):  # (agent.loop)
        owed = attempt.owed > 0
        cpu, ttft, out, tools = next_step(run, plan, attempt)
        if cpu * worker.slow > 0:  # (agent.step, with none of its troubles)
            yield from cpu_burst(run, worker, cpu * worker.slow)
        attempt.steps_run += 1
        state.steps += 1
        llm = run.provider(state) if state.sensitive else run.llm
        if cached and llm.cache is None:
            ttft *= llm.config.prompt_cache_factor  # (agent.step: the pinned-only cache)
        cause = yield from call(run, llm, state, ttft,
                                attempt.context + plan.prompt_tokens + attempt.grown, out,
                                session.id)
        if cause is None:
            attempt.grown += out
            if tools:
                cause = yield from tool_calls(run, worker, state, attempt, tools)
        if owed:
            attempt.owed -= 1
        else:
            attempt.step += 1
    if cause is None and stateful:
        cause = yield from context_out(run, session, worker, state, plan, attempt)
    elif cause is None:  # (context_out, stateless)
        session.context_tokens = attempt.context + plan.prompt_tokens + attempt.grown
        if session.turns_left:
            cause = yield from call(run, run.store, state, session.context_tokens)
    worker.busy -= 1
    worker.queue.release(ticket)
    if cause is None:
        record(state, "ok", None)
    else:  # (once_then_dead_letter: an async turn was acknowledged, and nobody is told)
        record(state, "silent_failure" if run.asynchronous else "failed", cause)


def deliver(run, session, state, plan, attempt):
    """One delivery of the whole turn to a worker; returns ``(outcome, cause)``. With durable
    execution a crash does not end it: it is admitted again, on a live worker, and resumes at
    its next step."""
    state.sensitive = plan.sensitive
    if plan.sensitive and run.onprem_full():
        return "shed", "onprem_full"
    while True:
        try:
            worker, ticket = yield from admit(run, session, state, attempt)
        except simpy.Interrupt as stop:
            cause = str(stop.cause)
        else:
            if worker is None:
                return "shed", ticket
            try:  # the turn's work on its worker: guardrail, context in, agent loop, context out
                cause = None
                if attempt.steps_run == 0 and "guardrail" in run.components:  # its prompt
                    cause = yield from call(run, run.components["guardrail"][0], state)
                if cause is None and session.context_tokens and \
                        (attempt.steps_run == 0 or not run.stateful):
                    cause = yield from context_in(run, session, worker, state, attempt)
                if cause is None:
                    cause = yield from loop(run, worker, state, session, plan, attempt,
                                            session.id)  # prefix: the session's history
                if cause is None:
                    cause = yield from context_out(run, session, worker, state, plan, attempt)
            except simpy.Interrupt as stop:
                stop_children(run, run.env.active_process, stop.cause)
                cause = str(stop.cause)
            finally:
                release(run, worker, ticket, attempt)
        if cause != "crash" or run.durable is None:
            break
        state.resumes += 1  # the durable log still holds every completed step
    if cause is None:
        return ("degraded" if state.degraded else "ok"), None
    return ("timed_out" if cause == "timeout" else "failed"), cause


def admit(run, session, state, attempt):
    """Wait for a place: the shared pool (stateless) or the pinned worker's queue (stateful).

    Returns ``(worker, ticket)``, or ``(None, cause)`` when load shedding refuses the turn."""
    if run.stateful:
        worker = run.pinned(session)
        queue = worker.admission
        worker.active[id(attempt)] = run.env.active_process
    else:
        queue = run.pool
    shedding = run.shedding
    if shedding is not None and shedding.max_queue is not None and \
            queue.full(shedding.max_queue):
        return _refuse(run, session, attempt, "queue_full")
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
            return _refuse(run, session, attempt, "queue_timeout")
    if not run.stateful:
        worker = least_busy(run)
        worker.active[id(attempt)] = run.env.active_process
    worker.busy += 1
    if state.admitted != state.admitted:  # the first admission (not a resume or duplicate)
        state.admitted = run.env.now
        state.worker = worker.index
    return worker, ticket


def _refuse(run, session, attempt, cause):
    if run.stateful:
        run.pinned(session).active.pop(id(attempt), None)
    return None, cause


_BUSY = attrgetter("busy")


def least_busy(run):
    """The live worker with the fewest turns; among equals, each in turn (nginx's
    ``least_conn``: "if there are several such servers, they are tried in turn"): the
    balancer's list turns by one place at every pick."""
    order = run.balancer
    order.rotate(-1)
    if run.crash_workers:
        return min((w for w in order if not w.down), key=_BUSY, default=None) \
            or min(order, key=_BUSY)
    return min(order, key=_BUSY)


def release(run, worker, ticket, attempt):
    worker.busy -= 1
    worker.active.pop(id(attempt), None)
    worker.queue.release(ticket)


def context_in(run, session, worker, state, attempt):
    """Bring the conversation so far: read it from the store, or find it in worker memory
    (restoring the last checkpoint from the store if the worker lost it; with durable
    execution the durable log holds it whole)."""
    attempt.context = session.context_tokens
    if not run.stateful:
        return (yield from call(run, run.store, state, session.context_tokens))
    if session.id in worker.contexts:
        return None
    if run.durable is not None:
        state.store_ops += 1
        yield run.env.timeout(run.durable_write())
        return None
    checkpoint = run.scenario.resilience.checkpoint
    had = session.context_tokens
    session.context_tokens = session.checkpoint_tokens if checkpoint else 0
    attempt.context = session.context_tokens
    state.context_lost = session.context_tokens < had
    if checkpoint and session.checkpoint_tokens:
        return (yield from call(run, run.store, state, session.checkpoint_tokens))
    return None


def context_out(run, session, worker, state, plan, attempt):
    """Keep the grown conversation (what the turn started from, its prompt, and every answer
    and tool result since, compacted if it was): in worker memory (checkpointed every few
    turns), or written back to the store. A duplicate delivery that finishes after the turn
    was answered changes nothing."""
    if state.row >= 0:
        return None
    grown = attempt.context + plan.prompt_tokens + attempt.grown
    if run.stateful:
        checkpoint = run.scenario.resilience.checkpoint
        if checkpoint and (session.turns_done + 1) % checkpoint.every_turns == 0:
            cause = yield from call(run, run.store, state, grown)  # a crash here: no new turn
            if cause is None:
                session.checkpoint_tokens = grown
        session.context_tokens = grown
        worker.remember(session.id, grown)
        return None
    session.context_tokens = grown
    if session.turns_left == 0:  # nobody will read it again
        return None
    return (yield from call(run, run.store, state, session.context_tokens))
