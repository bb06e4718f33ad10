"""Fingerprints of the engine's output: a guard for changes that must not change what it computes.

A refactor of ``simlib`` (moving code, renaming, one home per concept) must leave every turns and
timeline table identical to the last bit. This script runs a fixed set of scenarios (the article
presets on all eight designs with faults and resilience policies on, the M/M/c and retry-storm
presets, compliance overflow, a replayed trace) and prints a SHA-256 of each table's CSV text;
``tests/test_fingerprints.py`` compares them with ``tests/fingerprints.json``.

A change that *should* change the numbers (a new default, a re-keyed random stream) rewrites the
file deliberately, in a commit that says why::

    python tools/fingerprints.py            # compare with tests/fingerprints.json
    python tools/fingerprints.py --write    # record the current engine's fingerprints
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import simlib as sl
from simlib import faults

FILE = Path(__file__).resolve().parent.parent / "tests" / "fingerprints.json"

FAULTS = (faults.Outage("llm", start=60, duration=30, error_rate=0.3),
          faults.LatencySpike("store", start=100, duration=20, factor=4.0),
          faults.Crash("workers", at=120, restart=20, index=0),
          faults.Outage("tools.search", start=80, duration=20, error_rate=0.5))
POLICIES = sl.Resilience(
    llm=sl.Policy(retry=sl.Retry(retries=2, backoff="full"), timeout=sl.Timeout(8.0),
                  breaker=sl.CircuitBreaker(min_calls=5)),
    tools=sl.Policy(bulkhead=sl.Bulkhead(max_concurrent=4, max_queue=4),
                    timeout=sl.Timeout(5.0, cancel=False)),
    store=sl.Policy(rate_limit=sl.RateLimit(per_second=50, burst=10)),
    checkpoint=sl.Checkpointing(every_turns=2), fallback=sl.Fallback(),
    shedding=sl.LoadShedding(max_wait=60.0))


def _trace() -> sl.traces.Trace:
    """A small synthetic trace with sessions (no data file needed)."""
    rng = np.random.default_rng(5)
    times = np.sort(rng.uniform(0, 200, 120))
    return sl.traces.Trace("synthetic", times, rng.integers(50, 900, 120),
                           rng.integers(20, 300, 120),
                           sessions=sl.traces.number_sessions(rng.integers(0, 40, 120).tolist()))


def scenarios() -> dict[str, sl.Scenario]:
    """The fingerprinted scenarios, by name."""
    out: dict[str, sl.Scenario] = {}
    for name, preset in (("qa_bot", sl.presets.qa_bot), ("assistant", sl.presets.assistant),
                         ("tool_agent", sl.presets.tool_agent)):
        base = preset(duration=240.0, warmup=30.0, faults=FAULTS[:3], resilience=POLICIES,
                      **{"llm.error_rate": 0.02, "llm.requests_per_minute": 600.0})
        if name == "qa_bot":
            base = base.with_(faults=FAULTS[:3])
        else:
            base = base.with_(faults=FAULTS)
        if name == "tool_agent":
            base = base.with_(**{"workload.arrival_rate": 0.4})
        for design in sl.DESIGNS:
            out[f"{name}/{design.name}"] = base.with_(architecture=design)
    out["mmc"] = sl.presets.mmc(3.2, 1.0, 4, duration=600.0, warmup=60.0)
    out["storm"] = sl.presets.retry_storm(trigger=True, duration=200.0)
    out["storm_safe"] = sl.presets.retry_storm(trigger=True, safe=True, duration=200.0)
    out["compliance_cloud"] = sl.presets.qa_bot(
        duration=240.0, warmup=30.0, onprem=sl.OnPrem(concurrency=2),
        compliance=sl.Compliance(overflow="cloud"), **{"workload.sensitive_share": 0.4})
    out["compliance_shed"] = out["compliance_cloud"].with_(
        compliance=sl.Compliance(overflow="shed", max_queue=1))
    out["dead_letter"] = sl.presets.qa_bot(
        duration=240.0, warmup=30.0, faults=(faults.Outage("llm", 60, 40, 0.8),),
        architecture=sl.Architecture("stateless", "async", "monolith"),
        resilience=sl.Resilience(dead_letter=sl.DeadLetter(delay=10.0, redeliveries=2)))
    out["random_faults"] = sl.presets.assistant(
        duration=600.0, warmup=60.0, faults=(
            faults.RandomCrashes("workers", mttf=200.0, mttr=20.0),
            faults.RandomOutages("llm", mean_between=150.0, median_duration=20.0,
                                 p95_duration=60.0, error_rate=0.5),
            faults.Partition("context", start=100, duration=30)),
        architecture=sl.Architecture("stateless", "sync", "microservices"))
    backup = sl.LLM(ttft=sl.dists.LogNormal(0.8, 2.0), error_rate=0.05, input_per_1k=0.003,
                    output_per_1k=0.015, requests_per_minute=300.0)
    provider = sl.presets.assistant(
        duration=400.0, warmup=40.0, faults=(
            sl.faults.Overloaded("llm", 100.0, 60.0, error_rate=0.6),
            sl.faults.Outage("llm_backup", 200.0, 30.0, error_rate=0.5)),
        **{"llm.tokens_per_minute": 60_000.0, "llm.max_tokens": 600,
           "llm.prefill_rate": 8000.0, "llm.error_rate": 0.05,
           "resilience.failover": sl.Failover(backup=backup),
           "resilience.fallback": sl.Fallback(error_rate=0.2)})
    out["provider_failover"] = provider
    out["provider_hedge"] = provider.with_(**{
        "resilience.failover": sl.Failover(backup=backup, hedge_after=2.0),
        "llm.cache": sl.PromptCache(scope="replica", ttl=30.0, min_tokens=256),
        "architecture.state": "stateful"})
    loop = sl.presets.tool_agent(
        duration=600.0, warmup=60.0, faults=(faults.Crash("workers", at=200.0, restart=40.0),),
        architecture=sl.Architecture("stateless", "async", "monolith"),
        **{"workload.arrival_rate": 0.3, "workload.tool_result_tokens": sl.dists.LogNormal(
            300, 1500), "workload.semantic_error_rate": 0.05, "workload.max_steps": 15,
           "workload.context_window": 30_000, "workload.parallel_tools": True,
           "workload.subagents": 2, "tools.code.error_rate": 0.1,
           "resilience.broker": sl.Broker(visibility_timeout=60.0, idempotent=False)})
    out["agent_loop_broker"] = loop
    out["agent_loop_durable"] = loop.with_(**{
        "resilience.durable": sl.DurableExecution(), "workload.compaction": "truncate",
        "workload.subagents": None, "architecture.execution": "sync"})
    out["self_hosted"] = sl.presets.assistant(
        duration=400.0, warmup=40.0, architecture=sl.Architecture("stateless", "async",
                                                                   "monolith"),
        faults=(faults.LatencySpike("llm", 100.0, 40.0, 3.0),),
        llm=sl.SelfHosted(replicas=3, routing="prefix_affinity", max_batch=16,
                          kv_cache_tokens=100_000, error_rate=0.02))
    out["self_hosted_onprem"] = out["compliance_cloud"].with_(onprem=sl.SelfHosted(
        routing="least_loaded", replicas=2, max_batch=4))
    out["replay"] = sl.presets.from_trace(_trace(), replay=True)
    out["replay_twin"] = sl.presets.from_trace(_trace(), replay=False)
    return out


def fingerprint(scenario: sl.Scenario, seed: int = 3) -> dict[str, str]:
    """SHA-256 of the turns and the timeline CSV of one run (the timeline's columns in
    alphabetical order: which component samples a column first is not part of the result)."""
    result = sl.run(scenario, seed)
    tables = {"turns": result.turns,
              "timeline": result.timeline[sorted(result.timeline.columns)]}
    return {name: hashlib.sha256(table.to_csv().encode()).hexdigest()
            for name, table in tables.items()}


def current() -> dict[str, dict[str, str]]:
    return {name: fingerprint(s) for name, s in scenarios().items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record, do not compare")
    args = parser.parse_args()
    now = current()
    if args.write:
        FILE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(now)} fingerprints to {FILE}")
        return 0
    known = json.loads(FILE.read_text())
    changed = sorted(n for n in set(now) | set(known) if now.get(n) != known.get(n))
    for name in changed:
        print(f"changed: {name}")
    print(f"{len(now) - len(changed)} of {len(now)} scenarios identical")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
