"""Confidence-interval checks shared by the statistical tests.

A statistical test here runs independent replications with fixed seeds, computes one number per
replication, and asks whether the formula's value lies in the Student-t confidence interval of
their mean. The suite makes about 40 such checks, so each uses the 99.9% level: a correct model
fails one of them by bad luck with probability about 4% (Bonferroni), not the 33% that 40 checks
at 99% would give. The seeds are fixed, so a result never flickers between runs; they were not
chosen to pass (seed ranges start at 0).
"""

from __future__ import annotations

from simlib.stats import confidence_interval

LEVEL = 0.999


def assert_in_ci(values, expected: float, what: str, level: float = LEVEL) -> None:
    ci = confidence_interval(values, level)
    assert ci.covers(expected), (
        f"{what}: formula {expected:.4f} outside the {level:.1%} CI of the simulated mean, "
        f"{ci:.4f}, over {len(values)} replications")
