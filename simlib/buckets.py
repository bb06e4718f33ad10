"""Token buckets: how a rate limit decides whether a request may go now.

Picture a bucket that holds at most ``capacity`` tokens and is refilled by a tap at ``rate``
tokens per second. A request that costs ``amount`` takes that many tokens out if they are there;
if not, it is refused and told how long the tap needs to put them in (the retry-after of an HTTP
429). Providers state limits per minute but enforce them over short windows: a limit of L per
minute enforced over ``window`` seconds is a bucket of ``L x window / 60`` refilled at ``L / 60``
per second (:func:`per_minute`), so at most that many requests pass in a burst.

A request larger than the whole bucket (a 12,000-token prompt against a 7,500-token bucket) would
never fit: it is let through when the bucket is full and leaves it in debt, which the tap pays
off before anyone else goes. Tokens reserved but not used (``max_tokens`` not generated) are
given back with :meth:`TokenBucket.refund`.
"""

from __future__ import annotations


class TokenBucket:
    """A rate limit: holds up to ``capacity`` tokens and refills ``rate`` tokens per second.

    A request for ``amount`` is granted and paid for if the bucket holds that much (or is
    full, for a request larger than the bucket); otherwise it is refused and :meth:`wait_for`
    says how long until it would be granted (the retry-after).
    """

    def __init__(self, capacity: float, rate: float):
        self.capacity = capacity
        self.rate = rate
        self.level = capacity
        self.updated = 0.0

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, now: float, amount: float) -> float:
        """Seconds until ``amount`` is available (0 if it is now). A shortfall below rounding
        error counts as none, so that waiting the announced time is always enough."""
        self.refill(now)
        shortfall = min(amount, self.capacity) - self.level
        return 0.0 if shortfall <= 1e-9 * max(1.0, amount) else shortfall / self.rate

    def take(self, now: float, amount: float) -> None:
        """Spend ``amount`` that :meth:`wait_for` said is available (into debt, for a request
        larger than the bucket)."""
        self.refill(now)
        self.level -= amount

    def refund(self, now: float, amount: float) -> None:
        """Give back ``amount`` reserved but not used (never above ``capacity``)."""
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)

    def reserve(self, now: float, amount: float) -> float:
        """Spend ``amount`` now, into debt if need be, and return how long the caller must wait
        before using it: callers that arrive together queue up instead of bursting."""
        wait = self.wait_for(now, amount)
        self.level -= amount
        return wait


def per_minute(limit: float | None, window: float) -> TokenBucket | None:
    """The bucket of a limit of ``limit`` per minute enforced over ``window`` seconds (None
    for no limit)."""
    return None if limit is None else TokenBucket(limit * window / 60, limit / 60)
