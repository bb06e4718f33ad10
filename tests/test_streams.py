"""Random streams: same seed, same draws; each use of a stream independent of the others.

These are exact (not statistical) checks: they compare draws value for value.
"""

from __future__ import annotations

import numpy as np
import pytest

from simlib.dists import Deterministic, Empirical, Exponential, Geometric, LogNormal, Uniform
from simlib.streams import BLOCK, NAMES, Streams, draws

LLM_TTFT = LogNormal(median=0.6, p95=1.5)
TURNS = Geometric(3.0)


def take(draw, n: int) -> list[float]:
    return [draw() for _ in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 12345, np.int64(7)])
def test_same_seed_same_draws(seed):
    one, two = Streams(seed), Streams(seed)
    for name in NAMES:
        assert np.array_equal(one.rng[name].random(100), two.rng[name].random(100)), name
    assert take(one.draws("llm", "ttft", LLM_TTFT), 3000) == \
        take(two.draws("llm", "ttft", LLM_TTFT), 3000)
    assert take(one.uniform("faults"), 2000) == take(two.uniform("faults"), 2000)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uses_are_independent_of_consumption_order(seed):
    n = 5000
    first = Streams(seed)
    a = take(first.draws("sizes", "turns", TURNS), n)
    b = take(first.draws("sizes", "steps", TURNS), n)

    second = Streams(seed)
    turns, steps = second.draws("sizes", "turns", TURNS), second.draws("sizes", "steps", TURNS)
    a2, b2 = [], []
    for _ in range(n):
        a2.append(turns())
        b2.append(steps())
    assert a2 == a
    assert b2 == b

    # uses of different streams, and the stream-level generator itself, do not interfere either
    third = Streams(seed)
    third.rng["sizes"].random(10_000)
    coin = third.uniform("llm", "error")
    ttft = third.draws("llm", "ttft", LLM_TTFT)
    c3 = [coin() for _ in range(777)]
    assert take(third.draws("sizes", "steps", TURNS), n) == b
    assert take(third.draws("sizes", "turns", TURNS), n) == a
    assert take(ttft, 10) == take(Streams(seed).draws("llm", "ttft", LLM_TTFT), 10)
    assert c3 == take(Streams(seed).uniform("llm", "error"), 777)


def test_different_seeds_uses_and_streams_differ():
    n = 1000
    draws = {
        (seed, stream, use): take(Streams(seed).draws(stream, use, Exponential(1.0)), n)
        for seed in (0, 1, 2) for stream in ("sizes", "llm") for use in ("a", "b")
    }
    values = list(draws.values())
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            assert values[i] != values[j]
    for name in NAMES:
        assert not np.array_equal(Streams(0).rng[name].random(10), Streams(1).rng[name].random(10))
    streams = Streams(0)
    firsts = [streams.rng[name].random() for name in NAMES]
    assert len(set(firsts)) == len(NAMES)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None, 2.0])
def test_bad_seed_rejected(seed):
    with pytest.raises((ValueError, TypeError), match="seed"):
        Streams(seed)


DISTS = [Exponential(2.0), Uniform(1.0, 4.0), LLM_TTFT, Geometric(3.0), Geometric(1.5),
         Empirical((1, 2, 3, 10)), Deterministic(0.25), Exponential(1.0).scaled(3.0)]


@pytest.mark.parametrize("dist", DISTS, ids=repr)
@pytest.mark.parametrize("n", [1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17])
def test_draws_across_blocks_equal_one_big_sample(dist, n):
    got = take(draws(dist, np.random.default_rng(5)), n)
    want = dist.sample(np.random.default_rng(5), n)
    assert np.array_equal(got, want)
    assert all(type(v) is float for v in got)


def test_streams_draws_come_from_the_use_generator():
    n = 2 * BLOCK + 3
    dist = Exponential(0.7)
    got = take(Streams(11).draws("tools", "latency:search", dist), n)
    want = dist.sample(Streams(11).generator("tools", "latency:search"), n)
    assert np.array_equal(got, want)


def test_draws_are_cached_per_use_and_hold_one_distribution():
    streams = Streams(0)
    first = streams.draws("llm", "ttft", LLM_TTFT)
    assert streams.draws("llm", "ttft", LogNormal(median=0.6, p95=1.5)) is first
    with pytest.raises(ValueError, match="ttft"):
        streams.draws("llm", "ttft", Exponential(1.0))
    assert streams.uniform("llm") is streams.uniform("llm", "coin")
    u = take(streams.uniform("faults"), 5000)
    assert 0.0 <= min(u) and max(u) < 1.0


def test_a_stream_is_found_by_its_name_not_its_place(monkeypatch):
    """A new component's stream ("broker") moves no other stream's draws, and the list of
    known names may be reordered or extended without changing any draw."""
    import simlib.streams as streams_module
    before = {name: Streams(4).rng[name].random(5).tolist() for name in NAMES}
    monkeypatch.setattr(streams_module, "NAMES", ("broker",) + tuple(reversed(NAMES)))
    fresh = Streams(4)
    new = fresh.rng["broker"].random(5).tolist()
    after = {name: fresh.rng[name].random(5).tolist() for name in NAMES}
    assert after == before
    assert new not in before.values()
