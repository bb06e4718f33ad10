"""Slots: a lean first-come-first-served resource, what ``simpy.Resource`` does for simlib.

Every turn asks for a few slots (a worker, a model, a tool, a store connection), so the cost of
asking shows in every run. SimPy's ``Resource`` is general (put and get queues, bound event
classes, a ``Release`` event per release); this class does only what simlib needs, in the same
words: ``request()`` returns an event to ``yield``, ``release(request)`` gives a slot back (or
withdraws a request still waiting), ``count`` slots are in use out of ``capacity``, and ``queue``
holds the requests still waiting; ``full(max_queue)`` says whether a newcomer would be turned away
by a queue limit.

One difference: a request that finds a free slot is granted *and processed* at once, so the
asking process goes on without a round trip through the event queue (SimPy would schedule the
granted request and resume the process one step later, at the same simulated time). Nothing
waits in between, so no time passes and nothing is reordered that could change a result beyond
the order of same-instant events.

``request(priority=-1)`` queues at the front: that is how a crashed worker's blockers take its
places before any turn already waiting (see :meth:`simlib.components.Worker.fail_everything`).
"""

from __future__ import annotations

from collections import deque

import simpy
from simpy.events import PENDING


class Request(simpy.Event):
    """A request for one slot; usable as ``with slots.request() as req: yield req``."""

    granted = False

    def __init__(self, slots: Slots):
        self.env, self.callbacks, self._value = slots.env, [], PENDING  # (simpy.Event's own)
        self.slots = slots

    def grant(self, at_once: bool) -> None:
        """Take a slot: processed now (``at_once``) or scheduled like any triggered event."""
        self.granted = True
        self.slots.count += 1
        if at_once:
            self._ok, self._value, self.callbacks = True, None, None
        else:
            self.succeed()

    def cancel(self) -> None:
        """Stop waiting (a request already granted keeps its slot: release it)."""
        if not self.granted and self._value is PENDING:
            try:
                self.slots.queue.remove(self)
            except ValueError:
                pass

    def __enter__(self) -> Request:
        return self

    def __exit__(self, *exc) -> None:
        self.slots.release(self)


class Slots:
    """``capacity`` identical slots, handed out first come, first served."""

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env, self.capacity = env, capacity
        self.count = 0
        self.queue: deque[Request] = deque()

    def request(self, priority: int = 0) -> Request:
        """Ask for a slot; ``priority < 0`` jumps the queue."""
        request = Request(self)
        if self.count < self.capacity and not self.queue:
            request.grant(at_once=True)
        elif priority < 0:
            self.queue.appendleft(request)
        else:
            self.queue.append(request)
        return request

    def full(self, max_queue: int = 0) -> bool:
        """Are all slots busy with at least ``max_queue`` requests waiting (0: just all busy)?"""
        return self.count >= self.capacity and len(self.queue) >= max_queue

    def release(self, request: Request) -> None:
        """Give back the slot of a granted request, or withdraw a request still waiting."""
        if not request.granted:
            request.cancel()
            return
        request.granted = False
        self.count -= 1
        if self.queue and self.count < self.capacity:
            self.queue.popleft().grant(at_once=False)
