"""The eight designs: how one turn moves through the system on each end of the three axes.

A turn is one generator, :func:`turn`, assembled from three choices:

* **state** decides where the turn waits for a worker and where its context lives.
  *Stateless*: one queue in front of every worker (a load balancer hands the turn to the least
  busy one), and the context is read from the store at the start and written back at the end.
  *Stateful*: the session is pinned to one worker (by a hash of the session, as sticky load
  balancers do), the turn queues at that worker, and the context lives in its memory: no store
  round trip, but an evicted context is lost, while a pinned session reuses the prompt cache.
* **execution** decides what a turn holds while it waits.
  *Sync*: the turn holds a worker slot for its whole life and calls its tools one after another.
  *Async*: the turn holds only an in-flight ticket; it takes a CPU slot just for its CPU bursts,
  and fans its tool calls out in parallel.
* **deployment** decides which calls cross the network (see :class:`simlib.calls`).
  *Monolith*: tools and the context client run in-process. *Microservices*: each tool and the
  context service is a separate service, one network hop away.
"""

from __future__ import annotations

from .calls import call


def turn(run, session, number: int, plan, record):
    """Serve one turn of ``session`` and hand its outcome to ``record(turn, outcome, cause)``."""
    state = run.new_turn(session, number)
    worker, ticket = yield from admit(run, session, state)
    if worker is None:
        record(state, "shed", "queue_full")
        return
    cause = yield from context_in(run, session, worker, state, plan)
    for step in range(len(plan.cpu)):
        if cause is not None:
            break
        cause = yield from agent_step(run, worker, state, session, plan, step)
    if cause is None:
        cause = yield from context_out(run, session, worker, state, plan)
    release(run, worker, ticket)
    record(state, "ok" if cause is None else "failed", cause)


def admit(run, session, state):
    """Wait for a place: the shared pool (stateless) or the pinned worker's queue (stateful).

    Returns ``(None, None)`` when the queue is at ``workers.queue_limit`` (the turn is shed)."""
    queue = run.workers[session.worker].admission if run.stateful else run.pool
    limit = run.scenario.workers.queue_limit
    if limit is not None and queue.count >= queue.capacity and len(queue.queue) >= limit:
        return None, None
    ticket = queue.request()
    yield ticket
    worker = run.workers[session.worker] if run.stateful else min(run.workers, key=_busy)
    worker.busy += 1
    state.admitted = run.env.now
    state.worker = worker.index
    return worker, ticket


def _busy(worker):
    return worker.busy


def release(run, worker, ticket):
    worker.busy -= 1
    (worker.admission if run.stateful else run.pool).release(ticket)


def context_in(run, session, worker, state, plan):
    """Bring the conversation so far: read it from the store, or find it in worker memory."""
    if session.context_tokens == 0:
        return None
    if run.stateful:
        if session.id not in worker.contexts:
            state.context_lost = True
            session.context_tokens = 0
        return None
    return (yield from call(run, run.context_dependency(worker), state, session.context_tokens))


def context_out(run, session, worker, state, plan):
    """Keep the grown conversation: in worker memory, or written back to the store."""
    session.context_tokens += plan.prompt_tokens + sum(plan.output_tokens)
    if run.stateful:
        worker.remember(session.id, session.context_tokens)
        return None
    if session.turns_left == 0:  # nobody will read it again
        return None
    return (yield from call(run, run.context_dependency(worker), state, session.context_tokens))


def agent_step(run, worker, state, session, plan, step):
    """One step of the agent loop: a CPU burst, one LLM call, then the step's tool calls."""
    yield from cpu_burst(run, worker, plan.cpu[step])
    ttft = plan.ttft[step]
    if run.stateful and session.turns_done > 0 and not state.context_lost:
        ttft *= run.scenario.llm.prompt_cache_factor
    tokens_in = session.context_tokens + plan.prompt_tokens
    cause = yield from call(run, run.llm, state, ttft, tokens_in, plan.output_tokens[step])
    if cause is not None or not plan.tools[step]:
        return cause
    if run.asynchronous:
        return (yield from tools_in_parallel(run, worker, state, plan.tools[step]))
    for tool, latency in plan.tools[step]:
        cause = yield from call(run, run.tool_dependency(worker, tool), state, latency)
        if cause is not None:
            return cause
    return None


def cpu_burst(run, worker, seconds: float):
    """Sync turns already hold their slot; async turns queue for a CPU slot for the burst only."""
    if seconds <= 0:
        return
    if not run.asynchronous:
        yield run.env.timeout(seconds)
        return
    with worker.cpu.request() as slot:
        yield slot
        yield run.env.timeout(seconds)


def tools_in_parallel(run, worker, state, calls):
    """Async fan-out: start every tool call at once, wait for all, report the first failure."""
    env = run.env
    procs = [env.process(call(run, run.tool_dependency(worker, tool), state, latency))
             for tool, latency in calls]
    yield env.all_of(procs)
    return next((p.value for p in procs if p.value is not None), None)
