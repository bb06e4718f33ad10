"""
Closed-form queueing results to hold a simulation against.

A simulation gives you a noisy estimate; these formulas give you the number it
should converge to, when the textbook assumptions hold. Tests and notebooks use
them as the yardstick: if a simulated M/M/c disagrees with :func:`mmc_wait`,
the simulation (or its warm-up, or its run length) is wrong.

Units and names
---------------
Time is in seconds. Every function that describes a queue takes, in this order:

- ``arrival_rate`` -- lambda, arrivals per second;
- ``service_mean`` -- the mean service time 1/mu, in seconds (mu = 1/service_mean
  is the service *rate* of one server);
- ``servers`` -- c, the number of identical parallel servers (an ``int`` >= 1).

The offered load is A = lambda * service_mean (in Erlangs: the mean number of
busy servers if there were enough of them), and the utilisation is
rho = A / c, the fraction of time each server is busy.

Assumptions
-----------
Unless a docstring says otherwise the formulas assume:

- **Poisson arrivals** (exponential inter-arrival times, independent);
- **exponential service times** (the second "M" in M/M/c), except for
  :func:`mg1_wait` and :func:`md1_wait`, which allow any service distribution,
  and :func:`erlang_b`, which is insensitive to it;
- **FCFS** (first come, first served) from a single shared queue, infinite
  waiting room unless a capacity is given;
- **steady state**: the long-run averages after the start-up transient has
  died away. Steady state only exists when rho < 1; at rho >= 1 the queue grows
  without bound and the functions that need steady state raise ``ValueError``.
  Loss systems (:func:`erlang_b`, :func:`mm1k_blocking`, :func:`mm1k_sojourn`)
  turn customers away and so are stable at any load.

Two kinds of time are distinguished throughout: the **wait** Wq is the time
spent in the queue before service starts; the **sojourn** T = Wq + S is the
whole time in the system (response time, latency), service included.

What is here
------------
- :func:`utilisation`, :func:`little_l`, :func:`little_w`: rho and Little's law.
- M/M/1: :func:`mm1_wait`, :func:`mm1_sojourn`, :func:`mm1_sojourn_quantile`.
- M/M/c: :func:`erlang_c`, :func:`mmc_wait`, :func:`mmc_sojourn`,
  :func:`mmc_wait_tail`, :func:`mmc_wait_quantile`, :func:`mmc_sojourn_tail`,
  :func:`mmc_sojourn_quantile`.
- Loss and finite capacity: :func:`erlang_b`, :func:`mm1k_blocking`,
  :func:`mm1k_sojourn`.
- General service: :func:`mg1_wait` (Pollaczek-Khinchine), :func:`md1_wait`.
- Architecture questions: :func:`split_vs_pooled` (one shared pool of c
  workers vs c sticky per-session workers), :func:`jackson_series_sojourn`
  (a pipeline of stages).
- Resilience: :func:`retry_attempts_mean`, :func:`retry_success`,
  :func:`backoff_mean`, :func:`availability`, :func:`series_availability`.

Every argument is validated: a bad one raises ``ValueError`` naming the
argument, its value and what is allowed, e.g.
``arrival_rate must be > 0, got -1.0``.
"""

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq

from .validate import check_number, check_probability

__all__ = [
    "utilisation",
    "little_l",
    "little_w",
    "mm1_wait",
    "mm1_sojourn",
    "mm1_sojourn_quantile",
    "erlang_c",
    "mmc_wait",
    "mmc_sojourn",
    "mmc_wait_tail",
    "mmc_wait_quantile",
    "mmc_sojourn_tail",
    "mmc_sojourn_quantile",
    "erlang_b",
    "mm1k_blocking",
    "mm1k_sojourn",
    "mg1_wait",
    "md1_wait",
    "split_vs_pooled",
    "jackson_series_sojourn",
    "retry_attempts_mean",
    "retry_success",
    "backoff_mean",
    "availability",
    "series_availability",
]

BACKOFF_KINDS = ("none", "full", "equal", "decorrelated")

# Below this |rate difference| * t, the hypoexponential tail uses its limit form.
_TINY = 1e-12


# -- validation: simlib's one dialect (simlib.validate), returning plain numbers --------------


def _positive(name: str, value: object) -> float:
    check_number(name, value, low=0, strict=True)
    return float(value)


def _non_negative(name: str, value: object) -> float:
    check_number(name, value, low=0)
    return float(value)


def _unit(name: str, value: object) -> float:
    """A probability: a finite number in [0, 1]."""
    check_probability(name, value)
    return float(value)


def _quantile_level(value: object) -> float:
    """A quantile's level q, strictly between 0 and 1."""
    check_number("q", value, low=0, strict=True)
    if not value < 1:
        raise ValueError(f"q must be < 1, got {value!r}")
    return float(value)


def _integer(name: str, value: object, minimum: int) -> int:
    check_number(name, value, low=minimum, integer=True)
    return int(value)


def _queue(arrival_rate: object, service_mean: object, servers: object = 1):
    """Validate the (lambda, 1/mu, c) triple; return it as (float, float, int)."""
    lam = _positive("arrival_rate", arrival_rate)
    s = _positive("service_mean", service_mean)
    c = _integer("servers", servers, 1)
    return lam, s, c


def _stable(arrival_rate: object, service_mean: object, servers: object = 1):
    """Like :func:`_queue`, and also require a steady state (rho < 1)."""
    lam, s, c = _queue(arrival_rate, service_mean, servers)
    rho = lam * s / c
    if not rho < 1:
        raise ValueError(
            f"no steady state: utilisation rho = {rho:.6g} >= 1 "
            f"(arrival_rate={lam!r}, service_mean={s!r}, servers={c})"
        )
    return lam, s, c


# -- basics -------------------------------------------------------------------


def utilisation(arrival_rate: float, service_mean: float, servers: int = 1) -> float:
    """Utilisation rho = lambda * service_mean / c: the busy fraction of each server.

    No steady-state restriction: a value >= 1 says the system is overloaded.
    """
    lam, s, c = _queue(arrival_rate, service_mean, servers)
    return lam * s / c


def little_l(arrival_rate: float, time_in_system: float) -> float:
    """Little's law L = lambda * W: mean number present from mean time spent.

    Holds for any stable system, whatever the distributions and discipline.
    """
    lam = _positive("arrival_rate", arrival_rate)
    w = _non_negative("time_in_system", time_in_system)
    return lam * w


def little_w(arrival_rate: float, number_in_system: float) -> float:
    """Little's law solved for time: W = L / lambda."""
    lam = _positive("arrival_rate", arrival_rate)
    n = _non_negative("number_in_system", number_in_system)
    return n / lam


# -- M/M/1 --------------------------------------------------------------------


def mm1_wait(arrival_rate: float, service_mean: float) -> float:
    """M/M/1 mean wait in queue: Wq = rho / (mu - lambda)."""
    lam, s, _ = _stable(arrival_rate, service_mean)
    mu = 1 / s
    return lam * s / (mu - lam)


def mm1_sojourn(arrival_rate: float, service_mean: float) -> float:
    """M/M/1 mean time in system: W = 1 / (mu - lambda) = Wq + service_mean."""
    lam, s, _ = _stable(arrival_rate, service_mean)
    return 1 / (1 / s - lam)


def mm1_sojourn_quantile(arrival_rate: float, service_mean: float, q: float) -> float:
    """M/M/1 q-quantile of the time in system: -ln(1 - q) / (mu - lambda).

    Under FCFS the M/M/1 sojourn time is exponential with rate mu - lambda.
    """
    lam, s, _ = _stable(arrival_rate, service_mean)
    q = _quantile_level(q)
    return -math.log1p(-q) / (1 / s - lam)


# -- M/M/c --------------------------------------------------------------------


def erlang_b(arrival_rate: float, service_mean: float, servers: int) -> float:
    """Erlang B: probability an arrival is lost in an M/M/c/c (no waiting room).

    With offered load A = lambda * service_mean, the stable recursion is
    B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)), and the answer is B(c).
    By insensitivity it holds for any service distribution with that mean.
    Lost customers never queue, so there is a steady state at any load.
    """
    lam, s, c = _queue(arrival_rate, service_mean, servers)
    load = lam * s
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(arrival_rate: float, service_mean: float, servers: int) -> float:
    """Erlang C: probability an arrival to an M/M/c has to wait (all c busy).

    Computed from Erlang B, which avoids factorials and large powers:
    C = B / (1 - rho (1 - B)), rho = lambda * service_mean / c < 1.
    """
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    b = erlang_b(lam, s, c)
    rho = lam * s / c
    return b / (1 - rho * (1 - b))


def mmc_wait(arrival_rate: float, service_mean: float, servers: int) -> float:
    """M/M/c mean wait in queue: Wq = C / (c mu - lambda), C from :func:`erlang_c`."""
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    return erlang_c(lam, s, c) / (c / s - lam)


def mmc_sojourn(arrival_rate: float, service_mean: float, servers: int) -> float:
    """M/M/c mean time in system: W = Wq + service_mean."""
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    return mmc_wait(lam, s, c) + s


def mmc_wait_tail(arrival_rate: float, service_mean: float, servers: int, t: float) -> float:
    """M/M/c probability of waiting longer than t: P(Wq > t) = C exp(-(c mu - lambda) t).

    Wq is 0 with probability 1 - C; otherwise it is exponential, rate c mu - lambda.
    """
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    t = _non_negative("t", t)
    return erlang_c(lam, s, c) * math.exp(-(c / s - lam) * t)


def mmc_wait_quantile(arrival_rate: float, service_mean: float, servers: int, q: float) -> float:
    """M/M/c q-quantile of the wait in queue.

    0 if q <= 1 - C (that many arrivals do not wait at all),
    else ln(C / (1 - q)) / (c mu - lambda).
    """
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    q = _quantile_level(q)
    wait_prob = erlang_c(lam, s, c)
    if q <= 1 - wait_prob:
        return 0.0
    return math.log(wait_prob / (1 - q)) / (c / s - lam)


def _hypoexponential_tail(rate1: float, rate2: float, t: float) -> float:
    """P(X + Y > t) for independent X ~ Exp(rate1), Y ~ Exp(rate2).

    The textbook form (r1 e^{-r2 t} - r2 e^{-r1 t}) / (r1 - r2) cancels badly when
    r1 ~ r2. With slow = min, d = max - min >= 0 it equals
    e^{-slow t} (1 + slow (1 - e^{-d t}) / d), which tends to (1 + slow t) e^{-slow t}
    as d -> 0 (the Erlang-2 tail), and neither overflows nor cancels.
    """
    slow, fast = min(rate1, rate2), max(rate1, rate2)
    d = fast - slow
    x = d * t
    spread = t * (1 - x / 2) if x < _TINY else -math.expm1(-x) / d
    return math.exp(-slow * t) * (1 + slow * spread)


def mmc_sojourn_tail(arrival_rate: float, service_mean: float, servers: int, t: float) -> float:
    """M/M/c probability that the time in system exceeds t: P(T > t), T = Wq + S.

    Wq is 0 with probability 1 - C and Exp(a), a = c mu - lambda, with probability
    C; the service S ~ Exp(mu) is independent of it. Hence
    P(T > t) = (1 - C) e^{-mu t} + C (a e^{-mu t} - mu e^{-a t}) / (a - mu),
    with the second term's ratio read as (1 + mu t) e^{-mu t} when a = mu.
    For c = 1 this collapses to e^{-(mu - lambda) t}.
    """
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    t = _non_negative("t", t)
    mu = 1 / s
    a = c * mu - lam
    wait_prob = erlang_c(lam, s, c)
    return (1 - wait_prob) * math.exp(-mu * t) + wait_prob * _hypoexponential_tail(a, mu, t)


def mmc_sojourn_quantile(arrival_rate: float, service_mean: float, servers: int, q: float) -> float:
    """M/M/c q-quantile of the time in system: the t with P(T > t) = 1 - q.

    No closed form for c > 1; solved with Brent's method on [0, hi], where hi
    doubles from the mean sojourn until the tail drops below 1 - q.
    """
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    q = _quantile_level(q)
    target = 1 - q

    def excess(t: float) -> float:
        return mmc_sojourn_tail(lam, s, c, t) - target

    lo, hi = 0.0, mmc_sojourn(lam, s, c)
    while excess(hi) > 0:
        lo, hi = hi, 2 * hi
    if excess(hi) == 0:
        return hi
    return brentq(excess, lo, hi, xtol=hi * 1e-15, rtol=4 * np.finfo(float).eps)


# -- finite capacity ----------------------------------------------------------


def mm1k_blocking(arrival_rate: float, service_mean: float, capacity: int) -> float:
    """M/M/1/K blocking probability: the chance an arrival finds K = capacity present.

    K counts the customer in service. P_K = (1 - rho) rho^K / (1 - rho^(K+1)),
    and 1 / (K + 1) at rho = 1. Arrivals that find the system full are lost, so
    any rho is allowed. (By PASTA, the fraction of time full = the fraction blocked.)
    """
    lam = _positive("arrival_rate", arrival_rate)
    s = _positive("service_mean", service_mean)
    k = _integer("capacity", capacity, 1)
    rho = lam * s
    if abs(rho - 1) < _TINY:
        return 1 / (k + 1)
    if rho < 1:
        x = math.log(rho)  # < 0: powers underflow harmlessly
        return math.expm1(x) * math.exp(k * x) / math.expm1((k + 1) * x)
    # rho > 1: divide through by rho^(K+1); with r = 1/rho, P_K = (1 - r) / (1 - r^(K+1)).
    y = -math.log(rho)
    return math.expm1(y) / math.expm1((k + 1) * y)


def mm1k_sojourn(arrival_rate: float, service_mean: float, capacity: int) -> float:
    """M/M/1/K mean time in system of the admitted customers.

    p_n proportional to rho^n for n = 0..K; L = sum n p_n, and by Little's law
    applied to the admitted stream, W = L / (lambda (1 - P_K)).
    The sum is taken directly (in log space, so any rho is safe): O(K) work.
    """
    lam = _positive("arrival_rate", arrival_rate)
    s = _positive("service_mean", service_mean)
    k = _integer("capacity", capacity, 1)
    n = np.arange(k + 1, dtype=float)
    log_w = n * math.log(lam * s)
    weights = np.exp(log_w - log_w.max())
    p = weights / weights.sum()
    number = float(n @ p)
    return number / (lam * (1 - mm1k_blocking(lam, s, k)))


# -- general service ------------------------------------------------------------


def mg1_wait(arrival_rate: float, service_mean: float, service_scv: float) -> float:
    """M/G/1 mean wait in queue (Pollaczek-Khinchine): Wq = lambda E[S^2] / (2 (1 - rho)).

    E[S^2] = service_mean^2 (1 + scv), where scv = Var[S] / E[S]^2 is the squared
    coefficient of variation: 1 for exponential (gives :func:`mm1_wait`), 0 for
    deterministic. Only the first two moments of S matter.
    """
    lam, s, _ = _stable(arrival_rate, service_mean)
    scv = _non_negative("service_scv", service_scv)
    second_moment = s * s * (1 + scv)
    return lam * second_moment / (2 * (1 - lam * s))


def md1_wait(arrival_rate: float, service_mean: float) -> float:
    """M/D/1 mean wait in queue: :func:`mg1_wait` with scv 0, half the M/M/1 wait."""
    return mg1_wait(arrival_rate, service_mean, 0.0)


# -- architecture comparisons -------------------------------------------------


def split_vs_pooled(arrival_rate: float, service_mean: float, servers: int) -> dict:
    """Compare one shared pool of c servers with c separate single-server queues.

    pooled: one M/M/c fed by all of lambda (stateless workers, any can serve);
    split: c M/M/1 queues each fed lambda / c by random routing (sticky sessions,
    state pinned to one worker). Both have the same rho; pooling never waits longer.

    Returns a dict with ``pooled_wait``, ``split_wait``, ``pooled_sojourn``,
    ``split_sojourn`` (seconds) and ``ratio`` = split_wait / pooled_wait.
    """
    lam, s, c = _stable(arrival_rate, service_mean, servers)
    pooled_wait = mmc_wait(lam, s, c)
    split_wait = mm1_wait(lam / c, s)
    return {
        "pooled_wait": pooled_wait,
        "split_wait": split_wait,
        "pooled_sojourn": pooled_wait + s,
        "split_sojourn": split_wait + s,
        "ratio": split_wait / pooled_wait,
    }


def jackson_series_sojourn(arrival_rate: float, stages: Sequence[tuple[float, int]]) -> float:
    """Mean end-to-end time through a tandem of M/M/c stations (a pipeline).

    ``stages`` is a sequence of (service_mean, servers) pairs. By Burke's theorem
    the departures of a stable M/M/c are Poisson(lambda), so every stage sees
    Poisson(lambda) arrivals and the total is the sum of the :func:`mmc_sojourn`.
    Every stage must be stable.
    """
    lam = _positive("arrival_rate", arrival_rate)
    if isinstance(stages, (str, bytes)) or not isinstance(stages, Sequence) or not stages:
        raise ValueError(
            f"stages must be a non-empty sequence of (service_mean, servers), got {stages!r}"
        )
    total = 0.0
    for i, stage in enumerate(stages):
        if not isinstance(stage, Sequence) or isinstance(stage, str) or len(stage) != 2:
            raise ValueError(f"stages[{i}] must be a (service_mean, servers) pair, got {stage!r}")
        total += mmc_sojourn(lam, stage[0], stage[1])
    return total


# -- resilience ---------------------------------------------------------------


def retry_attempts_mean(p: float, retries: int) -> float:
    """Mean number of attempts with up to N = retries retries, each failing w.p. p.

    Attempt k + 1 happens iff the first k fail: sum_{k=0..N} p^k = (1 - p^(N+1)) / (1 - p),
    which is 1 for p = 0 (and N + 1 in the limit p = 1). Attempts are independent.
    """
    p = _unit("p", p)
    n = _integer("retries", retries, 0)
    if p == 1:
        return float(n + 1)
    return (1 - p ** (n + 1)) / (1 - p)


def retry_success(p: float, retries: int) -> float:
    """Probability that at least one of the N + 1 independent attempts succeeds: 1 - p^(N+1)."""
    p = _unit("p", p)
    n = _integer("retries", retries, 0)
    return 1 - p ** (n + 1)


def backoff_mean(kind: str, base: float, attempt: int, cap: float = math.inf) -> float:
    """Mean sleep before retry number ``attempt`` (1-based) under exponential backoff.

    The ceiling is v = min(cap, base * 2^(attempt - 1)), and by ``kind``
    (the AWS "jitter" variants):

    - "none": sleep v, mean v;
    - "full": sleep Uniform(0, v), mean v / 2;
    - "equal": sleep v/2 + Uniform(0, v/2), mean 3 v / 4;
    - "decorrelated": the first sleep is Uniform(base, 3 base) capped at ``cap`` (mean
      2 base when 3 base <= cap); later ones depend on the previous sleep and have no simple
      closed form (raises ValueError).
    """
    if kind not in BACKOFF_KINDS:
        raise ValueError(f"kind must be one of {BACKOFF_KINDS}, got {kind!r}")
    base = _positive("base", base)
    attempt = _integer("attempt", attempt, 1)
    if cap != math.inf:  # no cap at all is allowed
        check_number("cap", cap, low=0, strict=True)
    if kind == "decorrelated":
        if attempt > 1:
            raise ValueError(
                "kind 'decorrelated' has no simple closed-form mean after the first retry "
                "(each sleep depends on the previous one); simulate it instead")
        return _capped_uniform_mean(base, 3 * base, float(cap))
    try:
        ceiling = math.ldexp(base, attempt - 1)
    except OverflowError:
        ceiling = math.inf
    v = min(float(cap), ceiling)
    return {"none": v, "full": v / 2, "equal": 3 * v / 4}[kind]


def _capped_uniform_mean(low: float, high: float, cap: float) -> float:
    """E[min(cap, U)] for U uniform on [low, high]."""
    if cap >= high:
        return (low + high) / 2
    if cap <= low:
        return cap
    below = (cap - low) / (high - low)  # share of U under the cap, averaging (low + cap) / 2
    return below * (low + cap) / 2 + (1 - below) * cap


def availability(mttf: float, mttr: float) -> float:
    """Steady-state availability of a component that fails and is repaired.

    A = MTTF / (MTTF + MTTR): the long-run fraction of time it is up.
    """
    up = _positive("mttf", mttf)
    down = _non_negative("mttr", mttr)
    return up / (up + down)


def series_availability(*availabilities: float) -> float:
    """Availability of components in series (all must be up): the product of theirs.

    Assumes independent failures. With no arguments the product is 1.
    """
    result = 1.0
    for i, a in enumerate(availabilities):
        result *= _unit(f"availabilities[{i}]", a)
    return result
