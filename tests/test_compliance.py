"""Strict compliance: sensitive turns and where they are served.

A share of turns is sensitive: it must be served by a limited on-premises model. A cloud-only
design sends every one of them to the cloud (each a violation); a hybrid design that queues for
the on-premises model has zero violations by construction, at any load; one that sheds refuses
sensitive turns when the on-premises model is full; one that overflows to the cloud is fast but
violates exactly when the on-premises model is saturated.
"""

import pytest

import simlib as sl
from simlib import cost

BASE = sl.presets.qa_bot(duration=400, warmup=40, **{"workload.sensitive_share": 0.3})
HYBRID = BASE.with_(onprem=sl.OnPrem(concurrency=4))


@pytest.mark.parametrize("rate", [0.5, 2.0, 6.0])  # on-premises well under, near, far over
def test_hybrid_with_a_queue_never_violates(rate):
    turns = sl.run(HYBRID.with_(**{"workload.arrival_rate": rate}), seed=1).turns
    assert turns["sensitive"].sum() > 20
    assert not turns["violation"].any()
    onprem = turns[turns["sensitive"] & (turns["outcome"] == "ok")]
    assert (onprem["tokens_in"] > 0).all()  # its tokens are counted ...
    store = onprem["store_ops"] * BASE.costs.store_per_1k_ops / 1000
    assert (onprem["cost"] == store).all()  # ... but not billed: it is paid by the hour


def test_cloud_only_violates_on_every_sensitive_turn_that_reaches_the_model():
    turns = sl.run(BASE, seed=2).turns
    served = turns[turns["llm_calls"] > 0]
    assert (served["violation"] == served["sensitive"]).all()
    assert served["violation"].sum() > 50


def test_shedding_refuses_sensitive_turns_only_and_stays_compliant():
    scenario = HYBRID.with_(**{"compliance.overflow": "shed", "workload.arrival_rate": 6.0})
    turns = sl.run(scenario, seed=3).turns
    shed = turns[turns["outcome"] == "shed"]
    assert len(shed) > 0 and shed["sensitive"].all()
    assert set(shed["cause"]) == {"onprem_full"}
    assert not turns["violation"].any()


def test_overflow_to_the_cloud_violates_only_under_saturation():
    overflow = HYBRID.with_(**{"compliance.overflow": "cloud"})
    calm = sl.run(overflow.with_(**{"workload.arrival_rate": 0.2}), seed=4).summary()
    busy = sl.run(overflow.with_(**{"workload.arrival_rate": 6.0}), seed=4).summary()
    assert calm["violations"] == 0
    assert busy["violations"] > 0.2 * busy["sensitive"]
    queued = sl.run(HYBRID.with_(**{"workload.arrival_rate": 6.0}), seed=4).summary()
    assert busy["latency_p95"] < queued["latency_p95"]  # the price of staying compliant


def test_the_onprem_model_is_paid_by_the_hour():
    assert cost.infrastructure_per_hour(HYBRID) == pytest.approx(
        cost.infrastructure_per_hour(BASE) + HYBRID.costs.onprem_per_hour)
