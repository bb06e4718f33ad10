"""Random streams: one seed per run, one independent stream per source of randomness.

Think of a casino table where each game has its own sealed deck. A run's seed makes one
``numpy.random.SeedSequence``; each named source (arrivals, sizes, llm, ...) gets its own child
sequence, found by its position in :data:`NAMES`, so that adding draws to one source never shifts
the draws of another. Two designs run with the same seed therefore see the same sessions arrive
with the same sizes (common random numbers): their difference is the design's, not the dice's.

Nothing here touches a global seed. Draws come in blocks from numpy (:class:`Draws`), because one
numpy call for 1,024 values costs about as much as one call for a single value. Each use of a
stream (the LLM's time to first token, the LLM's error coin, ...) draws from its own child
generator, so a block refilled for one use never moves the values another use will see: the work
planned for each session stays the same whatever happened at run time.
"""

from __future__ import annotations

import zlib

import numpy as np

from .dists import Distribution

NAMES = ("arrivals", "sizes", "llm", "tools", "store", "network", "faults", "jitter", "routing",
         "workers")

BLOCK = 1024


class Draws:
    """Values of one distribution from one stream, handed out one at a time from a block."""

    __slots__ = ("dist", "rng", "_block", "_next")

    def __init__(self, dist: Distribution, rng: np.random.Generator):
        self.dist = dist
        self.rng = rng
        self._block: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        if self._next >= len(self._block):
            self._block = self.dist.sample(self.rng, BLOCK).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return value


class Streams:
    """The named generators of one run, and cached :class:`Draws` per (stream, distribution)."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        self.entropy = np.random.SeedSequence(int(seed)).entropy
        self.rng = {name: self.generator(name) for name in NAMES}
        self._draws: dict[tuple[str, str], Draws] = {}

    def generator(self, stream: str, use: str | None = None) -> np.random.Generator:
        """The generator of ``stream``, or of one ``use`` of it (a child of the stream)."""
        key = (NAMES.index(stream),) if use is None else \
            (NAMES.index(stream), zlib.crc32(use.encode()))
        return np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=key))

    def draws(self, stream: str, use: str, dist: Distribution) -> Draws:
        """Block-buffered draws of ``dist`` for one named ``use`` of ``stream``."""
        sampler = self._draws.get((stream, use))
        if sampler is None:
            sampler = self._draws[(stream, use)] = Draws(dist, self.generator(stream, use))
        elif sampler.dist != dist:
            raise ValueError(f"stream {stream!r} use {use!r} asked for two distributions")
        return sampler

    def uniform(self, stream: str, use: str = "coin") -> Draws:
        """Block-buffered U(0, 1) draws for one use of ``stream`` (error coin flips)."""
        return self.draws(stream, use, _UNIT)


class _Unit(Distribution):
    mean = 0.5

    def sample(self, rng, size):
        return rng.random(size)


_UNIT = _Unit()
