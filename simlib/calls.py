"""The one door every outbound call goes through, and the resilience policies around it.

A turn never talks to a dependency directly. It calls :func:`call`, which applies the policy of
that dependency (see :mod:`simlib.resilience`) in one documented order, outermost first::

    rate limit -> circuit breaker -> bulkhead -> retry ( timeout ( network hop -> serve ) )

and returns ``None`` on success or a string naming why the call failed. ``call`` is a generator:
run it with ``cause = yield from call(run, dependency, turn, *work)``. With no policy configured
it is just the hop (microservices) and the dependency's ``serve``. A turn counts ``calls`` (calls
that made at least one attempt) and ``attempts`` (tries, retries included): attempts / calls is
the retry amplification.
"""

from __future__ import annotations

import simpy

from .buckets import TokenBucket
from .resilience import HALF_OPEN, Breaker, Budget, Policy, backoff
from .slots import Slots


class Guard:
    """The run-time state of one dependency's policy: its limiter, breaker, bulkhead, budget."""

    def __init__(self, env: simpy.Environment, policy: Policy, jitter):
        self.policy = policy
        limit = policy.rate_limit
        self.limiter = TokenBucket(limit.burst, limit.per_second) if limit else None
        self.breaker = Breaker(policy.breaker) if policy.breaker else None
        self.bulkhead = Slots(env, policy.bulkhead.max_concurrent) if policy.bulkhead else None
        retry = policy.retry
        self.budget = Budget(retry.budget) if retry and retry.budget else None
        self.jitter = jitter


def call(run, dependency, turn, *work):
    """Serve ``work`` on ``dependency`` for ``turn``: a generator that returns None or the
    failure's cause. (A plain function handing back the generator to run: with no policy and no
    hop the dependency's own ``serve`` is that generator, one level less for every resume.)"""
    guard = run.guards.get(dependency.name)
    if guard is not None:
        return guarded(run, guard, dependency, turn, work)
    turn.calls += 1
    turn.attempts += 1
    if dependency.remote or run.log is not None:
        return attempt(run, dependency, turn, work)
    return dependency.serve(turn, *work)


def ask(run, llm, turn, work):
    """An LLM call (``work`` as ``LLMProvider.serve`` takes it): through :func:`call`, with the
    scenario's failover to a backup model and hedging when it has them (only the cloud model's
    calls fail over: a sensitive call must stay on-premises)."""
    failover = run.failover
    if failover is None or llm is not run.llm:
        return call(run, llm, turn, *work)
    if failover.hedge_after is not None:
        return hedged(run, turn, work, failover.hedge_after)
    return failing_over(run, turn, work, failover.after_errors)


def failing_over(run, turn, work, after_errors: int):
    """The primary up to ``after_errors`` times (each a whole call, its retries included),
    then the backup."""
    for _ in range(after_errors):
        cause = yield from call(run, run.llm, turn, *work)
        if cause is None:
            return None
    return (yield from call(run, run.backup, turn, *work))


def hedged(run, turn, work, after: float):
    """The primary, and the backup too if the primary has not answered within ``after``
    seconds: the first good answer wins, the other request is cancelled (its prompt billed)."""
    env = run.env
    racing = [spawn(run, call(run, run.llm, turn, *work))]
    yield racing[0] | env.timeout(after)
    if not racing[0].triggered:
        racing.append(spawn(run, call(run, run.backup, turn, *work)))
    answer = None
    while racing:
        yield env.any_of(racing)
        for done in [p for p in racing if p.triggered]:
            racing.remove(done)
            forget(run, done)
            answer = done.value
            if answer is None:
                break
        if answer is None:
            break
    for loser in racing:
        loser.interrupt("cancelled")
        forget(run, loser)
    return answer


def attempt(run, dependency, turn, work):
    """One try: cross the network if the dependency is another service, then be served (and,
    when the run keeps a call log, write it down as the caller's own log would)."""
    began, cached = run.env.now, turn.tokens_cached
    cause = None
    if dependency.remote:
        cause = yield from run.hop.cross(dependency.hop_name)
    if cause is None:
        cause = yield from dependency.serve(turn, *work)
    if run.log is not None:
        run.log.call(run.env.now, began, dependency, turn, work, cause,
                     turn.tokens_cached - cached)
    return cause


def guarded(run, guard, dependency, turn, work):
    """Rate limit, then breaker, then bulkhead, then the retry loop."""
    env = run.env
    if guard.limiter is not None:
        wait = guard.limiter.reserve(env.now, 1)
        if wait > 0:
            yield env.timeout(wait)
    breaker = guard.breaker
    if breaker is not None and not breaker.allow(env.now):
        return "breaker_open"
    probe = breaker is not None and breaker.state == HALF_OPEN
    bulkhead, request, cause = guard.bulkhead, None, "cancelled"
    try:
        if bulkhead is not None:
            if bulkhead.full(guard.policy.bulkhead.max_queue):
                cause = "bulkhead_full"
                return cause
            request = bulkhead.request()
            yield request
        cause = yield from retrying(run, guard, dependency, turn, work)
        return cause
    finally:
        if request is not None:
            bulkhead.release(request)
        if breaker is not None:
            if cause in ("bulkhead_full", "cancelled"):  # not an answer of the dependency
                breaker.probing = breaker.probing and not probe
            else:
                breaker.record(env.now, cause is not None, probe)


def retrying(run, guard, dependency, turn, work):
    """Attempts (each under the timeout, if any) until success or the retries run out."""
    retry, timeout = guard.policy.retry, guard.policy.timeout
    retries, sleep = 0, 0.0
    turn.calls += 1
    while True:
        turn.attempts += 1
        if timeout is None:
            cause = yield from attempt(run, dependency, turn, work)
        else:
            cause = yield from timed(run, timeout, dependency, turn, work)
        if cause is None:
            if guard.budget is not None:
                guard.budget.success()
            return None
        if retry is None or retries >= retry.retries:
            return cause
        if guard.budget is not None and not guard.budget.spend():
            return cause
        retries += 1
        sleep = backoff(retry, retries, sleep, guard.jitter())
        if cause == "rate_limited":
            sleep = max(sleep, dependency.retry_after)
        if sleep > 0:
            yield run.env.timeout(sleep)


def timed(run, timeout, dependency, turn, work):
    """One attempt that the caller abandons after ``timeout.seconds``. Cancelled, it stops;
    not cancelled, it runs on downstream and its extra time is counted as wasted work."""
    env = run.env
    child = spawn(run, attempt(run, dependency, turn, work))
    limit = env.timeout(timeout.seconds)
    yield child | limit
    forget(run, child)
    if child.triggered:
        return child.value
    if timeout.cancel:
        child.interrupt("cancelled")
    else:
        given_up = env.now
        child.callbacks.append(lambda _: run.waste(turn, env.now - given_up))
    return "timeout"


def spawn(run, generator) -> simpy.Process:
    """Run ``generator`` as a child process of the running one (a timed attempt, a parallel
    tool call, a sub-agent): if its parent is interrupted (its worker crashed), so is it."""
    env = run.env
    child = env.process(shielded(run, generator))
    run.children.setdefault(env.active_process, []).append(child)
    return child


def forget(run, child: simpy.Process) -> None:
    """``child`` is no longer the running process's: it ended, or it is left to run on."""
    parent = run.env.active_process
    children = run.children[parent]
    children.remove(child)
    if not children:
        del run.children[parent]


def stop_children(run, parent: simpy.Process, cause) -> None:
    """Interrupt every child ``parent`` still has (and, through them, theirs)."""
    for child in run.children.pop(parent, ()):
        if child.is_alive:
            child.interrupt(cause)


def shielded(run, generator):
    """Run a call as its own process; an interrupt ends it quietly with that cause, after
    passing it on to the process's own children."""
    try:
        return (yield from generator)
    except simpy.Interrupt as stop:
        stop_children(run, run.env.active_process, stop.cause)
        return str(stop.cause)
