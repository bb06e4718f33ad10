"""The one door every outbound call goes through.

A turn never talks to a dependency directly. It calls :func:`call`, which crosses the network when
the dependency lives in another service (microservices) and then lets the dependency serve the
request. Because every LLM, tool and context-store call passes here, this is the single place
where resilience policies wrap a call, in one documented order: rate limit, then circuit breaker,
then bulkhead, then retry around a call with a timeout.

``call`` is a generator: run it with ``cause = yield from call(...)``. It returns ``None`` on
success or a string naming why the call failed.
"""

from __future__ import annotations


def call(run, dependency, turn, *work):
    """Serve ``work`` on ``dependency`` for ``turn``; returns None or the failure's cause."""
    turn.attempts += 1
    if dependency.remote:
        cause = yield from run.hop.cross()
        if cause is not None:
            return cause
    return (yield from dependency.serve(turn, *work))
