"""Checks for configuration values, with messages a learner can act on.

Every message names the field path, the value received and what is allowed::

    workload.arrival_rate must be > 0, got -1.0

so that a bad slider value or a typo in a script is caught when the configuration is made, long
before SimPy would have complained about a negative delay somewhere deep inside a run.
"""

from __future__ import annotations

import math
from numbers import Integral, Real


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def check_number(path: str, value, *, low: float | None = None, high: float | None = None,
                 strict: bool = False, integer: bool = False, what: str | None = None,
                 optional: bool = False) -> None:
    """Raise TypeError/ValueError unless ``value`` is a finite number within the bounds.

    ``low`` is inclusive unless ``strict``; ``high`` is always inclusive. ``what`` names the
    field the lower bound comes from (for checks like ``Uniform.high >= Uniform.low``).
    ``optional`` lets ``None`` through (meaning "no limit").
    """
    if value is None and optional:
        return
    kind = "a whole number" if integer else "a number"
    if optional:
        kind += " or None"
    if not _is_number(value) or (integer and not isinstance(value, Integral)):
        raise TypeError(f"{path} must be {kind}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{path} must be finite, got {value!r}")
    bound = f"{what} ({low!r})" if what else repr(low)
    if low is not None and (value <= low if strict else value < low):
        raise ValueError(f"{path} must be {'>' if strict else '>='} {bound}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{path} must be <= {high!r}, got {value!r}")


def check_probability(path: str, value) -> None:
    """A probability: a number from 0 to 1."""
    check_number(path, value, low=0.0, high=1.0)


def check_choice(path: str, value, allowed) -> None:
    """One of a few named options, e.g. ``"sync"`` or ``"async"``."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{path} must be one of {options}, got {value!r}")


def check_type(path: str, value, kind: type, description: str) -> None:
    """An object of a given class (e.g. a nested configuration)."""
    if not isinstance(value, kind):
        raise TypeError(f"{path} must be {description}, got {value!r} ({type(value).__name__})")
