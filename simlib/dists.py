"""Distributions: how long things take and how big they are.

Every size and latency in a scenario is a small, frozen distribution object, like a die that
has not been thrown yet. It knows its analytic ``mean`` (so formulas and cost estimates need no
simulation) and it is thrown only with a numpy ``Generator`` handed to it, never with a global
seed::

    >>> import numpy as np
    >>> d = Exponential(mean=2.0)
    >>> d.mean
    2.0
    >>> d.sample(np.random.default_rng(1), 3).shape
    (3,)

``sample`` draws a block of values at once: numpy is fast per block and slow per call, so the
engine keeps a buffer of draws per distribution (see :mod:`simlib.streams`).

``LogNormal`` is given the way latencies are usually published, by its median and its p95.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .validate import check_number

Z95 = 1.6448536269514722  # the standard normal's 95th percentile


class Distribution:
    """Base class: a frozen recipe for random values."""

    mean: float

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` independent draws as a float array."""
        raise NotImplementedError

    @property
    def scv(self) -> float:
        """Squared coefficient of variation, variance / mean**2 (1 for exponential)."""
        return self.variance / self.mean**2 if self.mean else 0.0

    @property
    def variance(self) -> float:
        raise NotImplementedError

    def scaled(self, factor: float) -> Distribution:
        """The same shape, every value multiplied by ``factor`` (used for latency spikes)."""
        return Scaled(self, factor)


@dataclass(frozen=True)
class Deterministic(Distribution):
    """Always ``value``: the M/D/1 queue's service time."""

    value: float

    def __post_init__(self):
        check_number("Deterministic.value", self.value, low=0.0)

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, rng, size):
        return np.full(size, float(self.value))


@dataclass(frozen=True)
class Exponential(Distribution):
    """Memoryless waits: the M in M/M/c."""

    mean: float

    def __post_init__(self):
        check_number("Exponential.mean", self.mean, low=0.0, strict=True)

    @property
    def variance(self) -> float:
        return self.mean**2

    def sample(self, rng, size):
        return rng.exponential(self.mean, size)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Any value between ``low`` and ``high`` equally likely."""

    low: float
    high: float

    def __post_init__(self):
        check_number("Uniform.low", self.low, low=0.0)
        check_number("Uniform.high", self.high, low=self.low, what="Uniform.low")

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """A right-skewed latency, given by its median and its 95th percentile (p95 > median)."""

    median: float
    p95: float

    def __post_init__(self):
        check_number("LogNormal.median", self.median, low=0.0, strict=True)
        check_number("LogNormal.p95", self.p95, low=self.median, strict=True,
                     what="LogNormal.median")

    @property
    def sigma(self) -> float:
        return math.log(self.p95 / self.median) / Z95

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    @property
    def variance(self) -> float:
        return (math.exp(self.sigma**2) - 1) * self.mean**2

    def sample(self, rng, size):
        return rng.lognormal(math.log(self.median), self.sigma, size)


@dataclass(frozen=True)
class Empirical(Distribution):
    """Resample observed values (e.g. token counts from a trace), each equally likely."""

    values: tuple = field(repr=False)

    def __post_init__(self):
        try:
            arr = np.asarray(self.values, dtype=float).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"Empirical.values must be numbers, got {self.values!r}") from None
        if arr.size == 0:
            raise ValueError("Empirical.values must hold at least one value, got none")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("Empirical.values must be finite and >= 0, got "
                             f"{arr[~np.isfinite(arr) | (arr < 0)][:3].tolist()}")
        object.__setattr__(self, "values", tuple(arr.tolist()))
        object.__setattr__(self, "_array", arr)

    def __repr__(self):
        return f"Empirical(n={len(self.values)}, mean={self.mean:.4g})"

    @property
    def mean(self) -> float:
        return float(self._array.mean())

    @property
    def variance(self) -> float:
        return float(self._array.var())

    def sample(self, rng, size):
        return self._array[rng.integers(0, self._array.size, size)]


@dataclass(frozen=True)
class Geometric(Distribution):
    """Whole numbers 1, 2, 3, ... with the given mean (turns per session, steps per turn)."""

    mean: float

    def __post_init__(self):
        check_number("Geometric.mean", self.mean, low=1.0)

    @property
    def variance(self) -> float:
        p = 1 / self.mean
        return (1 - p) / p**2

    def sample(self, rng, size):
        return rng.geometric(1 / self.mean, size).astype(float)


@dataclass(frozen=True)
class Scaled(Distribution):
    """``base`` with every value multiplied by ``factor``."""

    base: Distribution
    factor: float

    def __post_init__(self):
        if not isinstance(self.base, Distribution):
            raise TypeError(f"Scaled.base must be a distribution, got {self.base!r}")
        check_number("Scaled.factor", self.factor, low=0.0)

    @property
    def mean(self) -> float:
        return self.base.mean * self.factor

    @property
    def variance(self) -> float:
        return self.base.variance * self.factor**2

    def sample(self, rng, size):
        return self.base.sample(rng, size) * self.factor


def as_distribution(path: str, value) -> Distribution:
    """Accept a Distribution, or a plain number meaning Deterministic(number)."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        check_number(path, value, low=0.0)
        return Deterministic(float(value))
    raise TypeError(f"{path} must be a distribution from simlib.dists or a number >= 0, "
                    f"got {value!r} ({type(value).__name__})")
