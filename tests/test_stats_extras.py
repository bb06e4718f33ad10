"""Second-edition reporting helpers: unstable queues, latency of every outcome, article ids."""

import pytest

import simlib as sl
from simlib import article, capacity, stats


def test_a_queue_at_capacity_is_reported_unstable_not_as_a_mean():
    calm, full = sl.presets.mmc(3.2, 1.0, 4), sl.presets.mmc(4.4, 1.0, 4)
    assert capacity.load(calm) == pytest.approx(0.8) and capacity.stable(calm)
    assert capacity.load(full) == pytest.approx(1.1) and not capacity.stable(full)
    assert stats.reported([1.0, 2.0, 3.0], capacity.stable(full)) == stats.UNSTABLE
    assert stats.reported([1.0, 2.0, 3.0], True).mean == pytest.approx(2.0)


def test_latency_of_every_outcome_includes_the_fast_failures():
    """Half the calls fail fast (0.05 s): over ok turns only the p50 is a full call, over
    every ended turn it is shorter."""
    scenario = sl.presets.mmc(1.0, 2.0, 8, **{"llm.error_rate": 0.5,
                                               "llm.error_latency": sl.dists.Deterministic(0.05)})
    s = sl.run(scenario, 0).summary()
    assert s["latency_all_p50"] < s["latency_p50"]


def test_verdict_rows_carry_the_article_claims_they_test():
    table = stats.verdict([("sticky routing costs", "holds if", "x", "y", "stateful.scale"),
                           ("retries", "holds", "x", "y")])
    assert table.attrs["article"] == [["stateful.scale"], []]
    bundle = table._repr_mimebundle_()
    assert bundle[stats.MIMETYPE][0]["article"] == ["stateful.scale"]
    with pytest.raises(ValueError, match="simlib.article.CLAIMS"):
        stats.verdict([("x", "holds", "x", "y", "stateless.teleport")])
    assert len(article.CLAIMS) == 35 and article.URL.startswith("https://dev.to/")
