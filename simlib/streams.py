"""Random streams: one seed per run, one independent stream per source of randomness.

Think of a casino table where each game has its own sealed deck. A run's seed makes one
``numpy.random.SeedSequence``; each named source (arrivals, sizes, llm, ...) gets its own child
sequence, keyed by a checksum of its *name*, so that adding draws to one source, or adding a new
source, never shifts the draws of another. Two designs run with the same seed therefore see the
same sessions arrive with the same sizes (common random numbers): their difference is the
design's, not the dice's.

Nothing here touches a global seed. Draws come in blocks from numpy (:func:`draws`), because one
numpy call for 1,024 values costs about as much as one call for a single value. Each use of a
stream (the LLM's time to first token, the LLM's error coin, ...) draws from its own child
generator, so a block refilled for one use never moves the values another use will see: the work
planned for each session stays the same whatever happened at run time.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable

import numpy as np

from .dists import Deterministic, Distribution

NAMES = ("arrivals", "sizes", "llm", "tools", "store", "network", "faults", "jitter", "routing",
         "workers")
"""The streams the engine uses today. Any other name is a stream too: a stream is found by its
name, not by its place in this list, so a component that brings a new one moves nothing."""

BLOCK = 1024


def draws(dist: Distribution, rng: np.random.Generator) -> Callable[[], float]:
    """A function handing out values of ``dist`` from ``rng`` one at a time.

    numpy fills a block of :data:`BLOCK` values at once; the values are then handed out by a C
    iterator, so one draw costs a few tens of nanoseconds. A Deterministic distribution needs
    no generator at all (its values would be the same).
    """
    if isinstance(dist, Deterministic):
        return itertools.repeat(float(dist.value)).__next__

    def blocks():
        while True:
            yield dist.sample(rng, BLOCK).tolist()

    return itertools.chain.from_iterable(blocks()).__next__


class Streams:
    """The named generators of one run, and cached :func:`draws` per (stream, use)."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        self.entropy = np.random.SeedSequence(int(seed)).entropy
        self.rng = _Generators(self)
        self._draws: dict[tuple[str, str], tuple[Distribution, Callable[[], float]]] = {}

    def generator(self, stream: str, use: str | None = None) -> np.random.Generator:
        """The generator of ``stream``, or of one ``use`` of it (a child of the stream)."""
        key = (_key(stream),) if use is None else (_key(stream), _key(use))
        return np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=key))

    def draws(self, stream: str, use: str, dist: Distribution) -> Callable[[], float]:
        """Block-buffered draws of ``dist`` for one named ``use`` of ``stream`` (see
        :func:`draws`); asking again for the same use gives the same function."""
        known = self._draws.get((stream, use))
        if known is None:
            known = self._draws[(stream, use)] = (dist, draws(dist, self.generator(stream, use)))
        elif known[0] != dist:
            raise ValueError(f"stream {stream!r} use {use!r} asked for two distributions")
        return known[1]

    def uniform(self, stream: str, use: str = "coin") -> Callable[[], float]:
        """Block-buffered U(0, 1) draws for one use of ``stream`` (error coin flips)."""
        return self.draws(stream, use, _UNIT)


def _key(name: str) -> int:
    """A stream's spawn key: a checksum of its name (the same in every process and version)."""
    return zlib.crc32(name.encode())


class _Generators(dict):
    """``streams.rng[name]``: the generator of a named stream, made on first use."""

    def __init__(self, streams: Streams):
        super().__init__()
        self.streams = streams

    def __missing__(self, name: str) -> np.random.Generator:
        self[name] = self.streams.generator(name)
        return self[name]


class _Unit(Distribution):
    mean = 0.5

    def sample(self, rng, size):
        return rng.random(size)


_UNIT = _Unit()
