"""Check simlib.theory against independent references.

Every expected value here comes from a textbook identity, a limit, a value
worked out by hand in a comment, or a different way of computing the same
quantity (direct sums with math.factorial, scipy.stats, numerical integration);
never from numbers printed by the module under test.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from simlib import theory as th

# A few stable (arrival_rate, service_mean, servers) cases, light to heavy load.
STABLE = [
    (0.5, 1.0, 1),
    (0.9, 1.0, 1),
    (2.0, 1.0, 3),
    (7.0, 0.5, 4),
    (19.0, 1.0, 20),
    (3.0, 0.25, 2),
    (95.0, 0.01, 1),
]


def direct_erlang_b(load: float, c: int) -> float:
    """(A^c / c!) / sum_{k<=c} A^k / k!  -- the definition, no recursion."""
    terms = [load**k / math.factorial(k) for k in range(c + 1)]
    return terms[c] / sum(terms)


def direct_erlang_c(load: float, c: int) -> float:
    """P(wait) = (A^c/c!) (1/(1-rho)) / (sum_{k<c} A^k/k! + (A^c/c!) (1/(1-rho)))."""
    rho = load / c
    top = load**c / math.factorial(c) / (1 - rho)
    return top / (sum(load**k / math.factorial(k) for k in range(c)) + top)


def direct_mm1k(rho: float, k: int) -> list[float]:
    """Stationary distribution of M/M/1/K: p_n proportional to rho^n, n = 0..K."""
    weights = [rho**n for n in range(k + 1)]
    total = sum(weights)
    return [w / total for w in weights]


# -- utilisation and Little's law ----------------------------------------------


def test_utilisation_is_load_per_server_and_may_exceed_one():
    assert th.utilisation(2.0, 1.0, 3) == pytest.approx(2 / 3)
    assert th.utilisation(0.5, 1.0) == pytest.approx(0.5)
    assert th.utilisation(5.0, 1.0, 4) == pytest.approx(1.25)


def test_little_l_and_w_are_inverse():
    assert th.little_l(4.0, 0.5) == pytest.approx(2.0)
    assert th.little_w(4.0, 2.0) == pytest.approx(0.5)
    assert th.little_w(3.0, th.little_l(3.0, 1.7)) == pytest.approx(1.7)
    assert th.little_l(3.0, 0.0) == 0.0


@pytest.mark.parametrize(("lam", "s", "c"), STABLE)
def test_little_law_links_mean_queue_and_wait(lam, s, c):
    # Mean queue length of M/M/c from its own formula: Lq = C rho / (1 - rho).
    rho = lam * s / c
    lq = direct_erlang_c(lam * s, c) * rho / (1 - rho)
    assert th.little_l(lam, th.mmc_wait(lam, s, c)) == pytest.approx(lq)


# -- M/M/1 ---------------------------------------------------------------------


@pytest.mark.parametrize(("lam", "s"), [(0.5, 1.0), (0.9, 1.0), (3.0, 0.25), (95.0, 0.01)])
def test_mm1_textbook_forms(lam, s):
    mu = 1 / s
    rho = lam / mu
    assert th.mm1_wait(lam, s) == pytest.approx(lam / (mu * (mu - lam)))
    assert th.mm1_sojourn(lam, s) == pytest.approx(th.mm1_wait(lam, s) + s)
    # Mean number in system rho / (1 - rho) = lambda W (Little).
    assert lam * th.mm1_sojourn(lam, s) == pytest.approx(rho / (1 - rho))


def test_mm1_sojourn_quantile_median_is_ln2_times_mean():
    mean = th.mm1_sojourn(0.8, 1.0)  # 1 / (1 - 0.8) = 5
    assert mean == pytest.approx(5.0)
    assert th.mm1_sojourn_quantile(0.8, 1.0, 0.5) == pytest.approx(5.0 * math.log(2))
    assert th.mm1_sojourn_quantile(0.8, 1.0, 0.99) == pytest.approx(5.0 * math.log(100))


def test_mm1_sojourn_quantile_matches_scipy_exponential():
    for q in (0.01, 0.5, 0.9, 0.999):
        expected = stats.expon(scale=1 / (1 / 0.2 - 3.0)).ppf(q)
        assert th.mm1_sojourn_quantile(3.0, 0.2, q) == pytest.approx(expected)


# -- Erlang B and C ------------------------------------------------------------


def test_erlang_c_known_value():
    # lambda = 2, service_mean = 1, c = 3: A = 2, rho = 2/3.
    # sum_{k<3} A^k/k! = 1 + 2 + 2 = 5; (A^3/3!) / (1 - rho) = (8/6) * 3 = 4.
    # C = 4 / (5 + 4) = 4/9.
    assert th.erlang_c(2.0, 1.0, 3) == pytest.approx(4 / 9)


def test_erlang_b_known_values():
    # c = 1: B = A / (1 + A).  c = 2, A = 1: (1/2) / (1 + 1 + 1/2) = 1/5.
    for load in (0.1, 1.0, 3.0, 50.0):
        assert th.erlang_b(load, 1.0, 1) == pytest.approx(load / (1 + load))
    assert th.erlang_b(2.0, 0.5, 2) == pytest.approx(1 / 5)


@pytest.mark.parametrize("c", range(1, 11))
@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_erlang_b_and_c_match_factorial_formulas(c, rho):
    load = rho * c
    assert th.erlang_b(load, 1.0, c) == pytest.approx(direct_erlang_b(load, c), rel=1e-12)
    assert th.erlang_c(load, 1.0, c) == pytest.approx(direct_erlang_c(load, c), rel=1e-12)
    assert th.erlang_c(load, 1.0, c) >= th.erlang_b(load, 1.0, c)


@pytest.mark.parametrize(("c", "rho"), [(200, 0.9), (1000, 0.99), (5000, 0.5)])
def test_erlang_b_and_c_stable_for_many_servers(c, rho):
    # Poisson form: B = pmf(c) / cdf(c), C = (pmf(c)/(1-rho)) / (cdf(c-1) + pmf(c)/(1-rho)).
    load = rho * c
    pois = stats.poisson(load)
    b = pois.pmf(c) / pois.cdf(c)
    top = pois.pmf(c) / (1 - rho)
    assert th.erlang_b(load, 1.0, c) == pytest.approx(b, rel=1e-9)
    assert th.erlang_c(load, 1.0, c) == pytest.approx(top / (pois.cdf(c - 1) + top), rel=1e-9)


def test_erlang_b_has_no_steady_state_restriction():
    # Overloaded loss system: still a probability, and heavy load loses most arrivals.
    b = th.erlang_b(100.0, 1.0, 10)
    assert 0 < b < 1
    assert b == pytest.approx(direct_erlang_b(100.0, 10))
    assert b > 1 - 10 / 100  # carried load A(1-B) <= c


def test_erlang_c_equals_rho_for_one_server():
    assert th.erlang_c(0.7, 1.0, 1) == pytest.approx(0.7)


# -- M/M/c equals M/M/1 at c = 1 -----------------------------------------------


@pytest.mark.parametrize(("lam", "s"), [(0.5, 1.0), (0.9, 1.0), (3.0, 0.25), (95.0, 0.01)])
def test_mmc_with_one_server_is_mm1(lam, s):
    assert th.mmc_wait(lam, s, 1) == pytest.approx(th.mm1_wait(lam, s))
    assert th.mmc_sojourn(lam, s, 1) == pytest.approx(th.mm1_sojourn(lam, s))
    rate = 1 / s - lam
    rho = lam * s
    for t in (0.0, 0.1 * s, s, 10 * s):
        assert th.mmc_sojourn_tail(lam, s, 1, t) == pytest.approx(math.exp(-rate * t))
        assert th.mmc_wait_tail(lam, s, 1, t) == pytest.approx(rho * math.exp(-rate * t))
    for q in (0.05, 0.5, 0.9, 0.99, 0.9999):
        assert th.mmc_sojourn_quantile(lam, s, 1, q) == pytest.approx(
            th.mm1_sojourn_quantile(lam, s, q), rel=1e-9
        )
        expected_wait = 0.0 if q <= 1 - rho else math.log(rho / (1 - q)) / rate
        assert th.mmc_wait_quantile(lam, s, 1, q) == pytest.approx(expected_wait)


# -- M/M/c tails and quantiles -------------------------------------------------


@pytest.mark.parametrize(("lam", "s", "c"), STABLE)
def test_mmc_wait_mean_tail_and_quantile_agree(lam, s, c):
    wait_prob = th.erlang_c(lam, s, c)
    assert th.mmc_wait_tail(lam, s, c, 0.0) == pytest.approx(wait_prob)
    # E[Wq] = integral of P(Wq > t) dt.
    area, _ = integrate.quad(lambda t: th.mmc_wait_tail(lam, s, c, t), 0, np.inf)
    assert area == pytest.approx(th.mmc_wait(lam, s, c), rel=1e-7)
    for q in (0.1, 0.5, 0.9, 0.99):
        t = th.mmc_wait_quantile(lam, s, c, q)
        if q <= 1 - wait_prob:
            assert t == 0.0
        else:
            assert th.mmc_wait_tail(lam, s, c, t) == pytest.approx(1 - q)


@pytest.mark.parametrize(("lam", "s", "c"), [*STABLE, (1.0, 1.0, 2), (2.0, 1.0, 3)])
def test_mmc_sojourn_tail_is_a_survival_function(lam, s, c):
    # (1, 1, 2) and (2, 1, 3) hit c mu - lambda == mu exactly: the Erlang-2 limit.
    assert th.mmc_sojourn_tail(lam, s, c, 0.0) == pytest.approx(1.0)
    ts = np.linspace(0, 20 * th.mmc_sojourn(lam, s, c), 200)
    tails = [th.mmc_sojourn_tail(lam, s, c, float(t)) for t in ts]
    assert all(0 <= p <= 1 for p in tails)
    assert all(b < a for a, b in zip(tails, tails[1:], strict=False) if a > 1e-300)
    # Mean sojourn = integral of the survival function.
    area, _ = integrate.quad(lambda t: th.mmc_sojourn_tail(lam, s, c, t), 0, np.inf)
    assert area == pytest.approx(th.mmc_sojourn(lam, s, c), rel=1e-7)


def test_mmc_sojourn_tail_matches_convolution_integral():
    # P(T > t) = (1-C) e^{-mu t} + C P(Exp(a) + Exp(mu) > t), the hypoexponential tail
    # computed here as 1 - integral_0^t a e^{-a x} (1 - e^{-mu (t - x)}) dx.
    lam, s, c = 7.0, 0.5, 4
    mu, a = 1 / s, c / s - lam
    wait_prob = direct_erlang_c(lam * s, c)
    for t in (0.05, 0.3, 1.0, 2.5):
        cdf, _ = integrate.quad(
            lambda x, t=t: a * math.exp(-a * x) * -math.expm1(-mu * (t - x)), 0, t
        )
        expected = (1 - wait_prob) * math.exp(-mu * t) + wait_prob * (1 - cdf)
        assert th.mmc_sojourn_tail(lam, s, c, t) == pytest.approx(expected, rel=1e-9)


def test_mmc_sojourn_tail_erlang2_limit_is_continuous():
    # c = 2, mu = 1, lambda = 1 gives a = c mu - lambda = 1 = mu; nudge lambda either side.
    for t in (0.1, 1.0, 5.0):
        exact = th.mmc_sojourn_tail(1.0, 1.0, 2, t)
        c_wait = 1 / 3  # Erlang C at A = 1, c = 2: (1/2 * 2) / (1 + 1 + 1) = 1/3
        expected = (1 - c_wait) * math.exp(-t) + c_wait * (1 + t) * math.exp(-t)
        assert exact == pytest.approx(expected, rel=1e-12)
        for eps in (1e-13, 1e-9, 1e-6):
            assert th.mmc_sojourn_tail(1.0 + eps, 1.0, 2, t) == pytest.approx(exact, rel=1e-5)
            assert th.mmc_sojourn_tail(1.0 - eps, 1.0, 2, t) == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize(("lam", "s", "c"), [*STABLE, (1.0, 1.0, 2)])
@pytest.mark.parametrize("q", [0.01, 0.5, 0.9, 0.99, 0.999999])
def test_mmc_sojourn_quantile_inverts_tail(lam, s, c, q):
    t = th.mmc_sojourn_quantile(lam, s, c, q)
    assert t > 0
    assert th.mmc_sojourn_tail(lam, s, c, t) == pytest.approx(1 - q, rel=1e-9)
    # The sojourn includes a service, so it is at least the wait quantile.
    assert t >= th.mmc_wait_quantile(lam, s, c, q)


def test_mmc_quantiles_increase_with_q():
    qs = [0.1, 0.5, 0.9, 0.99]
    sojourn = [th.mmc_sojourn_quantile(7.0, 0.5, 4, q) for q in qs]
    wait = [th.mmc_wait_quantile(7.0, 0.5, 4, q) for q in qs]
    assert sojourn == sorted(sojourn) and len(set(sojourn)) == len(qs)
    assert wait == sorted(wait)


# -- M/M/1/K -------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.3, 0.9, 0.999, 1.001, 1.5, 4.0])
@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_mm1k_matches_direct_distribution(rho, k):
    lam, s = rho * 2.0, 0.5
    p = direct_mm1k(rho, k)
    assert th.mm1k_blocking(lam, s, k) == pytest.approx(p[k], rel=1e-9)
    number = sum(n * pn for n, pn in enumerate(p))
    assert th.mm1k_sojourn(lam, s, k) == pytest.approx(number / (lam * (1 - p[k])), rel=1e-9)


@pytest.mark.parametrize("k", [1, 2, 10, 100])
def test_mm1k_at_rho_one(k):
    # All K + 1 states equally likely: P_K = 1/(K+1), L = K/2,
    # W = (K/2) / (lambda K/(K+1)) = (K+1) / (2 lambda).
    lam = 4.0
    assert th.mm1k_blocking(lam, 0.25, k) == pytest.approx(1 / (k + 1))
    assert th.mm1k_sojourn(lam, 0.25, k) == pytest.approx((k + 1) / (2 * lam))
    for eps in (1e-14, 1e-10, 1e-7):
        assert th.mm1k_blocking(lam, 0.25 * (1 + eps), k) == pytest.approx(1 / (k + 1), rel=1e-4)
        assert th.mm1k_blocking(lam, 0.25 * (1 - eps), k) == pytest.approx(1 / (k + 1), rel=1e-4)


def test_mm1k_capacity_one_is_erlang_b_and_pure_service():
    for lam in (0.2, 1.0, 5.0):
        assert th.mm1k_blocking(lam, 1.0, 1) == pytest.approx(th.erlang_b(lam, 1.0, 1))
        assert th.mm1k_sojourn(lam, 1.0, 1) == pytest.approx(1.0)


def test_mm1k_large_capacity_approaches_mm1():
    assert th.mm1k_blocking(0.8, 1.0, 500) < 1e-40
    assert th.mm1k_sojourn(0.8, 1.0, 500) == pytest.approx(th.mm1_sojourn(0.8, 1.0), rel=1e-12)
    assert th.mm1k_sojourn(0.5, 0.1, 300) == pytest.approx(th.mm1_sojourn(0.5, 0.1), rel=1e-12)


def test_mm1k_overload_blocks_fraction_one_minus_one_over_rho():
    # For rho > 1 and K large the server is always busy: throughput mu, so P_K -> 1 - 1/rho.
    assert th.mm1k_blocking(2.0, 1.0, 2000) == pytest.approx(0.5, rel=1e-12)
    # and almost everyone admitted finds about K ahead: W ~ K * service_mean.
    assert th.mm1k_sojourn(2.0, 1.0, 2000) == pytest.approx(2000.0, rel=1e-3)


# -- M/G/1 ---------------------------------------------------------------------


@pytest.mark.parametrize(("lam", "s"), [(0.5, 1.0), (0.9, 1.0), (3.0, 0.25)])
def test_mg1_special_cases(lam, s):
    assert th.mg1_wait(lam, s, 1.0) == pytest.approx(th.mm1_wait(lam, s))
    assert th.md1_wait(lam, s) == pytest.approx(th.mm1_wait(lam, s) / 2)
    assert th.mg1_wait(lam, s, 0.0) == pytest.approx(th.md1_wait(lam, s))
    # Wq is linear in (1 + scv): scv = 3 doubles the exponential wait.
    assert th.mg1_wait(lam, s, 3.0) == pytest.approx(2 * th.mm1_wait(lam, s))


def test_md1_known_value():
    # lambda = 0.5, S = 1: Wq = 0.5 * 1 / (2 * 0.5) = 0.5.
    assert th.md1_wait(0.5, 1.0) == pytest.approx(0.5)


# -- pooling and pipelines -----------------------------------------------------


@pytest.mark.parametrize(("lam", "s", "c"), STABLE)
def test_split_vs_pooled(lam, s, c):
    result = th.split_vs_pooled(lam, s, c)
    assert set(result) == {"pooled_wait", "split_wait", "pooled_sojourn", "split_sojourn", "ratio"}
    assert result["pooled_wait"] == pytest.approx(th.mmc_wait(lam, s, c))
    assert result["split_wait"] == pytest.approx(th.mm1_wait(lam / c, s))
    assert result["pooled_sojourn"] == pytest.approx(result["pooled_wait"] + s)
    assert result["split_sojourn"] == pytest.approx(result["split_wait"] + s)
    assert result["ratio"] == pytest.approx(result["split_wait"] / result["pooled_wait"])
    if c == 1:
        assert result["ratio"] == pytest.approx(1.0)
    else:
        assert result["pooled_wait"] < result["split_wait"]
        assert result["ratio"] > 1


def test_split_vs_pooled_known_value():
    # c = 2, lambda = 1, S = 1 (rho = 1/2): C = 1/3 (see the Erlang-2 test), so
    # pooled Wq = (1/3) / (2 - 1) = 1/3; split: M/M/1 at 1/2: Wq = 0.5 / (1 - 0.5) = 1.
    result = th.split_vs_pooled(1.0, 1.0, 2)
    assert result["pooled_wait"] == pytest.approx(1 / 3)
    assert result["split_wait"] == pytest.approx(1.0)
    assert result["ratio"] == pytest.approx(3.0)


def test_jackson_series_sums_stage_sojourns():
    stages = [(0.2, 1), (0.5, 2), (1.0, 4)]
    expected = 1 / (5 - 2) + th.mmc_sojourn(2.0, 0.5, 2) + th.mmc_sojourn(2.0, 1.0, 4)
    assert th.jackson_series_sojourn(2.0, stages) == pytest.approx(expected)
    assert th.jackson_series_sojourn(2.0, [(0.2, 1)]) == pytest.approx(th.mm1_sojourn(2.0, 0.2))
    assert th.jackson_series_sojourn(2.0, ((0.2, 1), (0.2, 1))) == pytest.approx(2 / 3)


def test_jackson_series_rejects_bad_stages():
    with pytest.raises(ValueError, match="stages"):
        th.jackson_series_sojourn(1.0, [])
    with pytest.raises(ValueError, match="stages"):
        th.jackson_series_sojourn(1.0, [(0.5,)])
    with pytest.raises(ValueError, match="stages"):
        th.jackson_series_sojourn(1.0, 0.5)
    with pytest.raises(ValueError, match="servers"):
        th.jackson_series_sojourn(1.0, [(0.5, 1), (0.1, 0)])
    with pytest.raises(ValueError, match="no steady state"):
        th.jackson_series_sojourn(1.0, [(0.5, 1), (2.0, 1)])


# -- retries, backoff, availability --------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("retries", [0, 1, 3, 10])
def test_retry_formulas_match_direct_sums(p, retries):
    # Attempt k+1 (k = 0..N) is made iff the first k failed: probability p^k.
    assert th.retry_attempts_mean(p, retries) == pytest.approx(
        sum(p**k for k in range(retries + 1))
    )
    # Success: first success at attempt k+1 has probability p^k (1 - p).
    assert th.retry_success(p, retries) == pytest.approx(
        sum(p**k * (1 - p) for k in range(retries + 1))
    )


def test_retry_edge_cases():
    assert th.retry_attempts_mean(0.0, 5) == 1.0
    assert th.retry_attempts_mean(0.3, 0) == pytest.approx(1.0)
    assert th.retry_success(0.3, 0) == pytest.approx(0.7)
    assert th.retry_attempts_mean(1.0, 3) == 4.0  # the p -> 1 limit: every attempt made
    assert th.retry_success(1.0, 3) == 0.0


def test_backoff_means():
    # attempt 3 with base 0.1: v = 0.1 * 2^2 = 0.4.
    assert th.backoff_mean("none", 0.1, 3) == pytest.approx(0.4)
    assert th.backoff_mean("full", 0.1, 3) == pytest.approx(0.2)
    assert th.backoff_mean("equal", 0.1, 3) == pytest.approx(0.3)
    assert th.backoff_mean("none", 0.1, 1) == pytest.approx(0.1)
    # cap clips the ceiling before the jitter is applied.
    assert th.backoff_mean("none", 0.1, 10, cap=1.0) == pytest.approx(1.0)
    assert th.backoff_mean("full", 0.1, 10, cap=1.0) == pytest.approx(0.5)
    assert th.backoff_mean("equal", 0.1, 10, cap=1.0) == pytest.approx(0.75)
    assert th.backoff_mean("none", 1.0, 5000, cap=30.0) == pytest.approx(30.0)


def test_backoff_means_match_jitter_distributions():
    v = 0.8
    assert th.backoff_mean("full", 0.1, 4) == pytest.approx(stats.uniform(0, v).mean())
    assert th.backoff_mean("equal", 0.1, 4) == pytest.approx(v / 2 + stats.uniform(0, v / 2).mean())


def test_backoff_rejects_decorrelated_and_unknown_kinds():
    with pytest.raises(ValueError, match="closed.form"):
        th.backoff_mean("decorrelated", 0.1, 2)
    assert th.backoff_mean("decorrelated", 0.1, 1) == pytest.approx(0.2)
    # capped at 0.2 inside U(0.1, 0.3): half the mass below (mean 0.15), half at 0.2
    assert th.backoff_mean("decorrelated", 0.1, 1, cap=0.2) == pytest.approx(0.175)
    assert th.backoff_mean("decorrelated", 0.1, 1, cap=0.05) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="kind"):
        th.backoff_mean("exponential", 0.1, 2)


def test_availability():
    assert th.availability(999.0, 1.0) == pytest.approx(0.999)
    assert th.availability(10.0, 0.0) == 1.0
    assert th.series_availability(0.99, 0.99, 0.9) == pytest.approx(0.99 * 0.99 * 0.9)
    assert th.series_availability(0.5) == 0.5
    assert th.series_availability() == 1.0
    a = th.availability(100.0, 5.0)
    assert th.series_availability(a, a) == pytest.approx((100 / 105) ** 2)


# -- error cases ---------------------------------------------------------------

BAD_POSITIVE = [-1.0, 0.0, 0, math.nan, math.inf, -math.inf, True, "1", None]
BAD_SERVERS = [0, -1, 2.0, 1.5, True, False, "2", None, math.nan]
BAD_Q = [0.0, 1.0, -0.1, 1.5, math.nan, math.inf]
BAD_T = [-1.0, math.nan, math.inf]
BAD_PROB = [-0.1, 1.1, math.nan, math.inf, True]


# (function, good keyword arguments, which ones to break with which bad values)
SIGNATURES = [
    (th.utilisation, dict(arrival_rate=1.0, service_mean=0.5, servers=1), {}),
    (th.erlang_b, dict(arrival_rate=1.0, service_mean=0.5, servers=2), {}),
    (th.erlang_c, dict(arrival_rate=1.0, service_mean=0.5, servers=2), {}),
    (th.mmc_wait, dict(arrival_rate=1.0, service_mean=0.5, servers=2), {}),
    (th.mmc_sojourn, dict(arrival_rate=1.0, service_mean=0.5, servers=2), {}),
    (th.split_vs_pooled, dict(arrival_rate=1.0, service_mean=0.5, servers=2), {}),
    (th.mmc_wait_tail, dict(arrival_rate=1.0, service_mean=0.5, servers=2, t=1.0), {"t": BAD_T}),
    (
        th.mmc_sojourn_tail,
        dict(arrival_rate=1.0, service_mean=0.5, servers=2, t=1.0),
        {"t": BAD_T},
    ),
    (
        th.mmc_wait_quantile,
        dict(arrival_rate=1.0, service_mean=0.5, servers=2, q=0.9),
        {"q": BAD_Q},
    ),
    (
        th.mmc_sojourn_quantile,
        dict(arrival_rate=1.0, service_mean=0.5, servers=2, q=0.9),
        {"q": BAD_Q},
    ),
    (th.mm1_wait, dict(arrival_rate=1.0, service_mean=0.5), {}),
    (th.mm1_sojourn, dict(arrival_rate=1.0, service_mean=0.5), {}),
    (th.md1_wait, dict(arrival_rate=1.0, service_mean=0.5), {}),
    (th.mm1_sojourn_quantile, dict(arrival_rate=1.0, service_mean=0.5, q=0.9), {"q": BAD_Q}),
    (
        th.mg1_wait,
        dict(arrival_rate=1.0, service_mean=0.5, service_scv=1.0),
        {"service_scv": [-0.5, math.nan, math.inf, "1"]},
    ),
    (
        th.mm1k_blocking,
        dict(arrival_rate=1.0, service_mean=0.5, capacity=3),
        {"capacity": BAD_SERVERS},
    ),
    (
        th.mm1k_sojourn,
        dict(arrival_rate=1.0, service_mean=0.5, capacity=3),
        {"capacity": BAD_SERVERS},
    ),
    (th.little_l, dict(arrival_rate=1.0, time_in_system=2.0), {"time_in_system": BAD_T}),
    (th.little_w, dict(arrival_rate=1.0, number_in_system=2.0), {"number_in_system": BAD_T}),
    (
        th.jackson_series_sojourn,
        dict(arrival_rate=1.0, stages=[(0.5, 1)]),
        {},
    ),
    (th.retry_attempts_mean, dict(p=0.5, retries=2), {"p": BAD_PROB, "retries": [-1, 1.0, True]}),
    (th.retry_success, dict(p=0.5, retries=2), {"p": BAD_PROB, "retries": [-1, 1.0, True]}),
    (
        th.backoff_mean,
        dict(kind="full", base=0.1, attempt=2, cap=10.0),
        {"base": BAD_POSITIVE, "attempt": [0, -1, 1.0, True], "cap": [0.0, -1.0, math.nan]},
    ),
    (
        th.availability,
        dict(mttf=10.0, mttr=1.0),
        {"mttf": BAD_POSITIVE, "mttr": [-1.0, math.nan, math.inf]},
    ),
]


def _bad_cases():
    for func, good, extra in SIGNATURES:
        breakers = dict(extra)
        if "arrival_rate" in good:
            breakers["arrival_rate"] = BAD_POSITIVE
        if "service_mean" in good:
            breakers["service_mean"] = BAD_POSITIVE
        if "servers" in good:
            breakers["servers"] = BAD_SERVERS
        for name, values in breakers.items():
            for value in values:
                yield pytest.param(
                    func, {**good, name: value}, name, id=f"{func.__name__}-{name}={value!r}"
                )


@pytest.mark.parametrize(("func", "kwargs", "name"), list(_bad_cases()))
def test_bad_argument_raises_an_error_naming_it(func, kwargs, name):
    """A bad value raises ValueError, a value of the wrong type TypeError (the dialect of
    every configuration check: simlib.validate), naming the argument."""
    with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b"):
        func(**kwargs)


@pytest.mark.parametrize("a", [-0.1, 1.1, math.nan, "x"])
def test_series_availability_rejects_bad_values(a):
    with pytest.raises((ValueError, TypeError), match=r"availabilities\[1\]"):
        th.series_availability(0.9, a)


# (function, servers (None: single-server function without that argument), trailing arguments)
STEADY_STATE = [
    (th.erlang_c, 2, ()),
    (th.mmc_wait, 2, ()),
    (th.mmc_sojourn, 2, ()),
    (th.split_vs_pooled, 2, ()),
    (th.mmc_wait_tail, 2, (1.0,)),
    (th.mmc_sojourn_tail, 2, (1.0,)),
    (th.mmc_wait_quantile, 2, (0.5,)),
    (th.mmc_sojourn_quantile, 2, (0.5,)),
    (th.mmc_sojourn_quantile, 1, (0.5,)),
    (th.mm1_wait, None, ()),
    (th.mm1_sojourn, None, ()),
    (th.mm1_sojourn_quantile, None, (0.5,)),
    (th.md1_wait, None, ()),
    (th.mg1_wait, None, (1.0,)),
]


@pytest.mark.parametrize("rho", [1.0, 1.25, 10.0])
@pytest.mark.parametrize(
    ("func", "servers", "rest"), STEADY_STATE, ids=lambda x: getattr(x, "__name__", repr(x))
)
def test_no_steady_state_raises(func, servers, rest, rho):
    args = (rho * (servers or 1), 1.0) + ((servers,) if servers else ()) + rest
    with pytest.raises(ValueError, match=r"no steady state: utilisation rho = .* >= 1"):
        func(*args)


def test_error_messages_are_exact():
    with pytest.raises(ValueError, match=r"^arrival_rate must be > 0, got -1\.0$"):
        th.mm1_wait(-1.0, 1.0)
    with pytest.raises(
        ValueError,
        match=r"^no steady state: utilisation rho = 1\.25 >= 1 "
        r"\(arrival_rate=5\.0, service_mean=0\.5, servers=2\)$",
    ):
        th.mmc_wait(5.0, 0.5, 2)


def test_loss_systems_accept_any_load():
    assert 0 < th.erlang_b(50.0, 1.0, 2) < 1
    assert 0 < th.mm1k_blocking(50.0, 1.0, 3) < 1
    assert th.mm1k_sojourn(50.0, 1.0, 3) > 0


def test_numpy_scalars_are_accepted():
    assert th.erlang_c(np.float64(2.0), np.float32(1.0), np.int64(3)) == pytest.approx(4 / 9)
    with pytest.raises(TypeError, match="servers"):
        th.erlang_c(2.0, 1.0, np.float64(3.0))
