"""Distributions against their formulas: mean, variance, LogNormal's quantiles, and the basics
(support, shape, frozen, hashable, picklable).

Each statistical check draws REPS independent replications of N values, one generator per seed
(seeds 0, 1, 2, ...), computes one number per replication and asks whether the analytic value
lies in the 99.9% Student-t confidence interval of those numbers (``stats.assert_in_ci``).
"""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from stats import assert_in_ci

from simlib import dists
from simlib.dists import (
    Z95,
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    Geometric,
    LogNormal,
    Scaled,
    Uniform,
)

REPS = 30
N = 20_000

CASES = {
    "deterministic": Deterministic(2.5),
    "exponential": Exponential(2.0),
    "uniform": Uniform(1.0, 3.0),
    "lognormal-llm": LogNormal(median=0.6, p95=1.5),
    "lognormal-tool": LogNormal(median=0.3, p95=2.0),
    "empirical": Empirical((1, 2, 2, 5, 10)),
    "geometric-3": Geometric(3.0),
    "geometric-1.5": Geometric(1.5),  # p >= 1/3: numpy's search branch, not inversion
    "scaled-exponential": Exponential(2.0).scaled(3.0),
    "scaled-lognormal": LogNormal(median=0.6, p95=1.5).scaled(0.5),
}


def replications(dist: Distribution) -> np.ndarray:
    """REPS rows of N draws, row k drawn with ``default_rng(k)``."""
    return np.stack([dist.sample(np.random.default_rng(seed), N) for seed in range(REPS)])


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def drawn(request):
    dist = CASES[request.param]
    return request.param, dist, replications(dist)


def test_sample_mean_matches_formula(drawn):
    name, dist, x = drawn
    assert_in_ci(x.mean(axis=1), dist.mean, f"{name} mean")


def test_sample_variance_matches_formula(drawn):
    name, dist, x = drawn
    assert_in_ci(x.var(axis=1, ddof=1), dist.variance, f"{name} variance")


@pytest.mark.parametrize("dist", [LogNormal(0.6, 1.5), LogNormal(0.3, 2.0), LogNormal(5.0, 6.0)],
                         ids=repr)
def test_lognormal_median_and_p95_match_parameters(dist):
    x = replications(dist)
    assert_in_ci(np.median(x, axis=1), dist.median, f"{dist!r} median")
    assert_in_ci(np.quantile(x, 0.95, axis=1), dist.p95, f"{dist!r} p95")


def test_geometric_yields_whole_numbers_from_one():
    for mean in (1.0, 1.5, 3.0, 40.0):
        x = Geometric(mean).sample(np.random.default_rng(0), N)
        assert np.all(x == np.round(x)), mean
        assert x.min() >= 1, mean
    assert np.all(Geometric(1.0).sample(np.random.default_rng(0), 100) == 1.0)


def test_deterministic_yields_exactly_its_value():
    x = Deterministic(2.5).sample(np.random.default_rng(0), 1000)
    assert np.all(x == 2.5)
    assert Deterministic(0).sample(np.random.default_rng(0), 3).tolist() == [0.0, 0.0, 0.0]


def test_empirical_yields_only_its_values_and_all_of_them():
    values = (3.0, 7.5, 11.0, 0.0)
    x = Empirical(values).sample(np.random.default_rng(0), N)
    assert set(np.unique(x).tolist()) == set(values)
    assert Empirical([4]).sample(np.random.default_rng(0), 10).tolist() == [4.0] * 10


def test_scv():
    assert Exponential(0.3).scv == pytest.approx(1.0)
    assert Exponential(7.0).scv == pytest.approx(1.0)
    assert Exponential(2.0).scaled(5).scv == pytest.approx(1.0)
    assert Deterministic(4.0).scv == 0.0
    assert Deterministic(0.0).scv == 0.0
    assert Uniform(0, 2).scv == pytest.approx(1 / 3)  # (2**2 / 12) / 1**2
    geometric = Geometric(4.0)
    assert geometric.scv == pytest.approx((1 - 1 / 4) / (1 / 4) ** 2 / 16)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("n", [0, 1, 7, 1024])
def test_sample_has_shape_n(name, n):
    x = CASES[name].sample(np.random.default_rng(0), n)
    assert isinstance(x, np.ndarray)
    assert x.shape == (n,)
    assert x.dtype.kind == "f"


@pytest.mark.parametrize("name", list(CASES))
def test_frozen_hashable_picklable(name):
    dist = CASES[name]
    field = dataclasses.fields(dist)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(dist, field, 1.0)
    again = pickle.loads(pickle.dumps(dist))
    assert again == dist
    assert hash(again) == hash(dist)
    assert {dist: 1}[again] == 1
    assert again.mean == dist.mean
    assert np.array_equal(again.sample(np.random.default_rng(3), 50),
                          dist.sample(np.random.default_rng(3), 50))


def test_scaled_is_a_scaled_distribution():
    base = LogNormal(0.6, 1.5)
    scaled = base.scaled(2.0)
    assert isinstance(scaled, Scaled) and scaled.base == base and scaled.factor == 2.0
    assert scaled.mean == pytest.approx(2 * base.mean)
    assert scaled.variance == pytest.approx(4 * base.variance)
    assert np.allclose(scaled.sample(np.random.default_rng(1), 100),
                       2 * base.sample(np.random.default_rng(1), 100))


def test_as_distribution():
    two = dists.as_distribution("x.y", 2)
    assert two == Deterministic(2.0)
    assert isinstance(two, Deterministic) and type(two.value) is float
    assert dists.as_distribution("x.y", 0.5) == Deterministic(0.5)
    exp = Exponential(1.0)
    assert dists.as_distribution("x.y", exp) is exp
    with pytest.raises(TypeError, match=r"x\.y"):
        dists.as_distribution("x.y", "2")
    with pytest.raises(TypeError, match=r"x\.y"):
        dists.as_distribution("x.y", True)
    with pytest.raises(ValueError, match=r"x\.y"):
        dists.as_distribution("x.y", -1)


@given(median=st.floats(1e-4, 1e4), ratio=st.floats(1.001, 1e3))
def test_lognormal_formulas_hold_for_any_median_and_p95(median, ratio):
    p95 = median * ratio
    d = LogNormal(median=median, p95=p95)
    assert d.sigma > 0
    assert d.mean > d.median
    assert d.variance > 0
    # the analytic quantiles: median * exp(sigma * z_q) gives back the median and the p95
    assert math.isclose(d.median * math.exp(d.sigma * Z95), p95, rel_tol=1e-9)
    reference = sps.lognorm(s=d.sigma, scale=d.median)
    assert math.isclose(reference.ppf(0.5), median, rel_tol=1e-9)
    assert math.isclose(reference.ppf(0.95), p95, rel_tol=1e-7)
    assert math.isclose(reference.mean(), d.mean, rel_tol=1e-9)
    assert math.isclose(reference.var(), d.variance, rel_tol=1e-7)
    # the p95 lies above the mean only for a skew small enough: mean < p95 iff sigma < 2 * Z95
    if abs(d.sigma - 2 * Z95) > 1e-6:
        assert (d.mean < p95) == (d.sigma < 2 * Z95)
