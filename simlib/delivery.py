"""Async delivery: how a turn reaches a worker through a message broker, at least once.

An async design acknowledges the caller at once and puts the turn on a queue. What happens when
things go wrong depends on when the broker is told the turn is done (DESIGN.md section 1b):

* with no broker policy (or ``Broker(ack="early")``), the message was acknowledged when a worker
  took it: a turn that fails afterwards is lost, and nobody is told (a ``silent_failure``);
* with ``Broker(ack="late")``, the message stays on the queue, invisible for the visibility
  timeout from each receipt. A failed or crashed turn comes back when that timeout runs out; a
  turn that is merely slower than the timeout comes back too, while it still runs, and a second
  worker starts the same turn: a duplicate. After ``max_receives`` receipts the message goes to
  the dead-letter queue and the turn fails visibly;
* the first edition's :class:`simlib.resilience.DeadLetter` redelivers only failed turns, a
  fixed delay after they failed: the broker without its duplicates.

:func:`brokered` plays a late-acknowledging broker with every delivery as its own process, so
duplicates really run side by side; the first answer that succeeds is the turn's.
"""

from __future__ import annotations

from .agent import Attempt

SUCCESS = ("ok", "degraded")


def once_then_dead_letter(run, session, state, plan, deliver):
    """The first edition's async path: one delivery; a failed one is redelivered after the
    dead-letter policy's delay (if any), and a failure after the acknowledgement that nobody
    redelivers is a silent failure."""
    dead_letter = run.dead_letter
    deliveries = 1 + (dead_letter.redeliveries if dead_letter else 0)
    for number in range(1, deliveries + 1):
        if number > 1:
            yield run.env.timeout(dead_letter.delay)
            state.duplicates += 1
        outcome, cause = yield from deliver(run, session, state, plan, Attempt(0, number))
        if cause == "queue_timeout":
            outcome = "failed"  # dropped from the queue after it was acknowledged
        if outcome not in ("failed", "timed_out"):
            return outcome, cause
    if dead_letter is None:
        outcome = "silent_failure"  # acknowledged, then lost: nobody is told
    return outcome, cause


def brokered(run, session, state, plan, deliver):
    """A late-acknowledging broker: deliver, and deliver again whenever the message becomes
    visible (``visibility_timeout`` after a receipt) while no delivery has succeeded, until
    ``max_receives``; the first success is the turn's answer. Returns (outcome, cause)."""
    env, broker = run.env, run.late_broker
    running, attempts, result = {}, [], ("failed", None)
    while True:
        visible = None
        if len(attempts) < broker.max_receives:
            attempt = Attempt(0, len(attempts) + 1)
            attempts.append(attempt)
            running[env.process(deliver(run, session, state, plan, attempt))] = attempt
            visible = env.timeout(broker.visibility_timeout)
        elif not running:
            break  # every receipt failed: the message is on the dead-letter queue
        done = yield env.any_of(list(running) + ([visible] if visible is not None else []))
        for proc in [p for p in running if p in done]:
            winner = running.pop(proc)
            result = proc.value
            if result[0] in SUCCESS:
                _count(state, broker, attempts, winner)
                return result
        if visible is not None and visible not in done and not running:
            yield visible  # failed before its timeout: visible again only then
    _count(state, broker, attempts, None)
    return "failed", result[1]


def _count(state, broker, attempts: list[Attempt], winner: Attempt | None) -> None:
    """The duplicates: receipts after the first (the side effects they repeat are counted as
    they happen, :func:`simlib.agent.side_effects`)."""
    state.duplicates = len(attempts) - 1
