"""Every bad input is refused when it is made, with a message a learner can act on.

DESIGN.md section 4: every configuration field is validated at construction, and bad input raises
ValueError or TypeError naming the field path, the value received and what is allowed, e.g.
``workload.arrival_rate must be > 0, got -1.0``. Nothing deep inside SimPy is ever the first to
complain.

The table below builds one bad thing per row and states what the message must contain. A needle
that is a tuple means "any one of these" (e.g. an ``mmc`` argument may be named by its own name or
by the scenario field it sets).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import simpy

import simlib as sl
import simlib.engine
from simlib import dists as D


def tiny() -> sl.Scenario:
    """A valid scenario that simulates in a blink (used where a run or sweep needs one)."""
    return sl.presets.mmc(arrival_rate=1.0, service_mean=1.0, servers=1, duration=10.0,
                          warmup=1.0)


def row(id_, build, exc, *needles):
    return pytest.param(build, exc, needles, id=id_)


W = sl.Workload
INVALID = [
    # -- Architecture ------------------------------------------------------------------------
    row("architecture.state-typo", lambda: sl.Architecture(state="stateles"), ValueError,
        "architecture.state", "'stateles'", "one of", "'stateless'", "'stateful'"),
    row("architecture.execution-unknown", lambda: sl.Architecture(execution="parallel"),
        ValueError, "architecture.execution", "'parallel'", "'sync'", "'async'"),
    row("architecture.deployment-unknown", lambda: sl.Architecture(deployment="serverless"),
        ValueError, "architecture.deployment", "'serverless'", "'monolith'", "'microservices'"),
    # -- Workload ----------------------------------------------------------------------------
    row("workload.arrival_rate-negative", lambda: W(arrival_rate=-1.0), ValueError,
        "workload.arrival_rate", "-1.0", "> 0"),
    row("workload.arrival_rate-zero", lambda: W(arrival_rate=0.0), ValueError,
        "workload.arrival_rate", "got 0.0", "> 0"),
    row("workload.arrival_rate-infinite", lambda: W(arrival_rate=math.inf), ValueError,
        "workload.arrival_rate", "inf", "finite"),
    row("workload.arrival_rate-string", lambda: W(arrival_rate="fast"), TypeError,
        "workload.arrival_rate", "'fast'", "a number"),
    row("workload.arrival_rate-bool", lambda: W(arrival_rate=True), TypeError,
        "workload.arrival_rate", "True", "a number"),
    row("workload.think_time-negative-number", lambda: W(think_time=-2.5), ValueError,
        "workload.think_time", "-2.5", ">= 0"),
    row("workload.turns-bool", lambda: W(turns=True), TypeError,
        "workload.turns", "True", "distribution", "number >= 0"),
    row("workload.prompt_tokens-string", lambda: W(prompt_tokens="300"), TypeError,
        "workload.prompt_tokens", "'300'", "distribution"),
    row("workload.rate_profile-list", lambda: W(rate_profile=[(10.0, 2.0)]), TypeError,
        "workload.rate_profile", "[(10.0, 2.0)]", "tuple of (time, factor) pairs"),
    row("workload.rate_profile-triple", lambda: W(rate_profile=((10.0, 2.0, 3.0),)), TypeError,
        "workload.rate_profile[0]", "(10.0, 2.0, 3.0)", "(time, factor) pair"),
    row("workload.rate_profile-time-decreasing",
        lambda: W(rate_profile=((10.0, 2.0), (5.0, 1.0))), ValueError,
        "workload.rate_profile[1].time", "5.0", "> the previous time (10.0)"),
    row("workload.rate_profile-factor-negative", lambda: W(rate_profile=((10.0, -2.0),)),
        ValueError, "workload.rate_profile[0].factor", "-2.0", ">= 0"),
    row("workload.rate_profile-time-string", lambda: W(rate_profile=(("noon", 2.0),)),
        TypeError, "workload.rate_profile[0].time", "'noon'", "a number"),
    row("workload.rate_profile-time-negative", lambda: W(rate_profile=((-5.0, 2.0),)),
        ValueError, "workload.rate_profile[0].time", "-5.0", ">= 0"),
    row("workload.bursts-string", lambda: W(bursts="on"), TypeError,
        "workload.bursts", "'on'", "a Bursts or None"),
    row("workload.bursts.on_mean-zero", lambda: sl.Bursts(on_mean=0.0), ValueError,
        "workload.bursts.on_mean", "got 0.0", "> 0"),
    row("workload.bursts.off_mean-negative", lambda: sl.Bursts(off_mean=-90.0), ValueError,
        "workload.bursts.off_mean", "-90.0", "> 0"),
    row("workload.bursts.off_factor-negative", lambda: sl.Bursts(off_factor=-0.5), ValueError,
        "workload.bursts.off_factor", "-0.5", ">= 0"),
    row("workload.flash_crowds-list", lambda: W(flash_crowds=[sl.FlashCrowd()]), TypeError,
        "workload.flash_crowds", "[FlashCrowd(", "a tuple of FlashCrowd"),
    row("workload.flash_crowds-item", lambda: W(flash_crowds=(5,)), TypeError,
        "workload.flash_crowds[0]", "got 5", "a FlashCrowd"),
    row("workload.flash_crowds.start-negative", lambda: sl.FlashCrowd(start=-1.0), ValueError,
        "workload.flash_crowds.start", "-1.0", ">= 0"),
    row("workload.flash_crowds.duration-zero", lambda: sl.FlashCrowd(duration=0.0), ValueError,
        "workload.flash_crowds.duration", "got 0.0", "> 0"),
    row("workload.flash_crowds.factor-negative", lambda: sl.FlashCrowd(factor=-5.0),
        ValueError, "workload.flash_crowds.factor", "-5.0", ">= 0"),
    # -- LLM ---------------------------------------------------------------------------------
    row("llm.ttft-string", lambda: sl.LLM(ttft="slow"), TypeError,
        "llm.ttft", "'slow'", "distribution"),
    row("llm.decode_rate-negative", lambda: sl.LLM(decode_rate=-80.0), ValueError,
        "llm.decode_rate", "-80.0", "> 0"),
    row("llm.error_rate-above-one", lambda: sl.LLM(error_rate=1.5), ValueError,
        "llm.error_rate", "1.5", "<= 1"),
    row("llm.requests_per_minute-zero", lambda: sl.LLM(requests_per_minute=0), ValueError,
        "llm.requests_per_minute", "got 0", "> 0"),
    row("llm.tokens_per_minute-string", lambda: sl.LLM(tokens_per_minute="lots"), TypeError,
        "llm.tokens_per_minute", "'lots'", "a number or None"),
    row("llm.concurrency-zero", lambda: sl.LLM(concurrency=0), ValueError,
        "llm.concurrency", "got 0", ">= 1"),
    row("llm.concurrency-fraction", lambda: sl.LLM(concurrency=2.5), TypeError,
        "llm.concurrency", "2.5", "a whole number or None"),
    row("llm.prompt_cache_factor-above-one", lambda: sl.LLM(prompt_cache_factor=1.5),
        ValueError, "llm.prompt_cache_factor", "1.5", "<= 1"),
    row("llm.rate_window-zero", lambda: sl.LLM(rate_window=0.0), ValueError,
        "llm.rate_window", "got 0.0", "> 0"),
    row("llm.rate_window-over-a-minute", lambda: sl.LLM(rate_window=120.0), ValueError,
        "llm.rate_window", "120.0", "<= 60"),
    row("llm.input_tokens_per_minute-negative",
        lambda: sl.LLM(input_tokens_per_minute=-5.0), ValueError,
        "llm.input_tokens_per_minute", "-5.0", "> 0"),
    row("llm.output_tokens_per_minute-string",
        lambda: sl.LLM(output_tokens_per_minute="many"), TypeError,
        "llm.output_tokens_per_minute", "'many'", "a number or None"),
    row("llm.max_tokens-fraction", lambda: sl.LLM(max_tokens=10.5), TypeError,
        "llm.max_tokens", "10.5", "a whole number or None"),
    row("llm.max_tokens-zero", lambda: sl.LLM(max_tokens=0), ValueError,
        "llm.max_tokens", "got 0", ">= 1"),
    row("llm.prefill_rate-zero", lambda: sl.LLM(prefill_rate=0.0), ValueError,
        "llm.prefill_rate", "got 0.0", "> 0"),
    row("llm.error_latency-negative", lambda: sl.LLM(error_latency=-0.1), ValueError,
        "llm.error_latency", "-0.1", ">= 0"),
    row("llm.error_latency-string", lambda: sl.LLM(error_latency="fast"), TypeError,
        "llm.error_latency", "'fast'", "distribution"),
    row("llm.sdk_retries-negative", lambda: sl.LLM(sdk_retries=-1), ValueError,
        "llm.sdk_retries", "-1", ">= 0"),
    row("llm.sdk_retries-fraction", lambda: sl.LLM(sdk_retries=1.5), TypeError,
        "llm.sdk_retries", "1.5", "a whole number"),
    row("llm.cache-not-a-cache", lambda: sl.LLM(cache="yes"), TypeError,
        "llm.cache", "'yes'", "PromptCache or None"),
    row("llm.input_per_1k-negative", lambda: sl.LLM(input_per_1k=-0.001), ValueError,
        "llm.input_per_1k", "-0.001", ">= 0"),
    row("cache.scope-unknown", lambda: sl.PromptCache(scope="worker"), ValueError,
        "llm.cache.scope", "'worker'", "'provider'", "'replica'"),
    row("cache.ttl-zero", lambda: sl.PromptCache(ttl=0.0), ValueError,
        "llm.cache.ttl", "got 0.0", "> 0"),
    row("cache.min_tokens-fraction", lambda: sl.PromptCache(min_tokens=10.5), TypeError,
        "llm.cache.min_tokens", "10.5", "a whole number"),
    row("cache.read_price-negative", lambda: sl.PromptCache(read_price=-0.1), ValueError,
        "llm.cache.read_price", "-0.1", ">= 0"),
    row("cache.write_price-string", lambda: sl.PromptCache(write_price="dear"), TypeError,
        "llm.cache.write_price", "'dear'", "a number"),
    row("failover.backup-not-an-llm", lambda: sl.Failover(backup="gpt"), TypeError,
        "resilience.failover.backup", "'gpt'", "LLM"),
    row("failover.after_errors-zero", lambda: sl.Failover(after_errors=0), ValueError,
        "resilience.failover.after_errors", "got 0", ">= 1"),
    row("failover.hedge_after-negative", lambda: sl.Failover(hedge_after=-1.0), ValueError,
        "resilience.failover.hedge_after", "-1.0", "> 0"),
    row("fallback.error_rate-above-one", lambda: sl.Fallback(error_rate=2.0), ValueError,
        "resilience.fallback.error_rate", "2.0", "<= 1"),
    row("fallback.input_per_1k-negative", lambda: sl.Fallback(input_per_1k=-1.0),
        ValueError, "resilience.fallback.input_per_1k", "-1.0", ">= 0"),
    row("overloaded.error_rate-above-one",
        lambda: sl.faults.Overloaded("llm", 0.0, 10.0, error_rate=1.5), ValueError,
        "Overloaded.error_rate", "1.5", "<= 1"),
    row("overloaded.duration-zero", lambda: sl.faults.Overloaded("llm", 0.0, 0.0), ValueError,
        "Overloaded.duration", "got 0.0", "> 0"),
    row("overloaded.target-store",
        lambda: sl.presets.qa_bot(faults=(sl.faults.Overloaded("store"),)), ValueError,
        "faults[0].target", "'store'", "'llm'"),
    row("selfhosted.replicas-zero", lambda: sl.SelfHosted(replicas=0), ValueError,
        "llm.replicas", "got 0", ">= 1"),
    row("selfhosted.max_batch-fraction", lambda: sl.SelfHosted(max_batch=2.5), TypeError,
        "llm.max_batch", "2.5", "a whole number"),
    row("selfhosted.kv_cache_tokens-negative", lambda: sl.SelfHosted(kv_cache_tokens=-1),
        ValueError, "llm.kv_cache_tokens", "-1", ">= 1"),
    row("selfhosted.routing-unknown", lambda: sl.SelfHosted(routing="random"), ValueError,
        "llm.routing", "'random'", "'round_robin'", "'prefix_affinity'"),
    row("selfhosted.gpu_hour-negative", lambda: sl.SelfHosted(gpu_hour=-1.0), ValueError,
        "llm.gpu_hour", "-1.0", ">= 0"),
    row("selfhosted.step_time-not-a-step-time", lambda: sl.SelfHosted(step_time=3.0),
        TypeError, "llm.step_time", "3.0", "StepTime"),
    row("steptime.c-negative", lambda: sl.StepTime(c=-0.1), ValueError,
        "llm.step_time.c", "-0.1", ">= 0"),
    row("selfhosted.profile-unknown", lambda: sl.SelfHosted.profile("gpt-5_tpu"), ValueError,
        "profile", "'gpt-5_tpu'", "'llama-3-8b_a100-80gb_tp1'"),
    row("onprem-not-a-model", lambda: sl.presets.qa_bot(onprem=sl.LLM()), TypeError,
        "onprem", "OnPrem", "SelfHosted"),
    row("workload.context_window-zero", lambda: W(context_window=0), ValueError,
        "workload.context_window", "got 0", ">= 1"),
    row("workload.summary_tokens-over-window",
        lambda: W(context_window=1000, summary_tokens=1000), ValueError,
        "workload.summary_tokens", "1000", "< context_window"),
    row("workload.compaction-unknown", lambda: W(compaction="forget"), ValueError,
        "workload.compaction", "'forget'", "'summarise'", "'truncate'"),
    row("workload.semantic_error_rate-one", lambda: W(semantic_error_rate=1.0), ValueError,
        "workload.semantic_error_rate", "1.0", "< 1"),
    row("workload.tool_errors-unknown", lambda: W(tool_errors="ignore"), ValueError,
        "workload.tool_errors", "'ignore'", "'observe'", "'fail'"),
    row("workload.max_steps-zero", lambda: W(max_steps=0), ValueError,
        "workload.max_steps", "got 0", ">= 1"),
    row("workload.parallel_tools-string", lambda: W(parallel_tools="yes"), TypeError,
        "workload.parallel_tools", "'yes'", "True or False"),
    row("workload.subagents-fraction", lambda: W(subagents=1.5), TypeError,
        "workload.subagents", "1.5", "a whole number or None"),
    row("workload.tool_result_tokens-negative", lambda: W(tool_result_tokens=-5), ValueError,
        "workload.tool_result_tokens", "-5", ">= 0"),
    row("workers.cores-zero", lambda: sl.Workers(cores=0), ValueError,
        "workers.cores", "got 0", ">= 1"),
    row("broker.ack-unknown", lambda: sl.Broker(ack="never"), ValueError,
        "resilience.broker.ack", "'never'", "'early'", "'late'"),
    row("broker.visibility_timeout-zero", lambda: sl.Broker(visibility_timeout=0.0),
        ValueError, "resilience.broker.visibility_timeout", "got 0.0", "> 0"),
    row("broker.max_receives-zero", lambda: sl.Broker(max_receives=0), ValueError,
        "resilience.broker.max_receives", "got 0", ">= 1"),
    row("broker.idempotent-string", lambda: sl.Broker(idempotent="no"), TypeError,
        "resilience.broker.idempotent", "'no'", "True or False"),
    row("broker-with-dead-letter", lambda: sl.Resilience(broker=sl.Broker(),
                                                         dead_letter=sl.DeadLetter()),
        ValueError, "resilience.dead_letter", "None", "broker"),
    row("durable.write_latency-negative",
        lambda: sl.DurableExecution(write_latency=-0.1), ValueError,
        "resilience.durable.write_latency", "-0.1", ">= 0"),
    row("resilience.failover-not-a-failover",
        lambda: sl.Resilience(failover=sl.LLM()), TypeError,
        "resilience.failover", "Failover or None"),
    # -- Tool --------------------------------------------------------------------------------
    row("tools.name-not-identifier", lambda: sl.Tool(name="web search"), ValueError,
        "tools[].name", "'web search'", "identifier"),
    row("tools.latency-negative", lambda: sl.Tool(name="search", latency=-0.3), ValueError,
        "tools.search.latency", "-0.3", ">= 0"),
    row("tools.error_rate-negative", lambda: sl.Tool(name="search", error_rate=-0.1),
        ValueError, "tools.search.error_rate", "-0.1", ">= 0"),
    row("tools.capacity-zero", lambda: sl.Tool(name="code", capacity=0), ValueError,
        "tools.code.capacity", "got 0", ">= 1"),
    row("tools.replicas-fraction", lambda: sl.Tool(name="search", replicas=1.5), TypeError,
        "tools.search.replicas", "1.5", "a whole number"),
    row("tools.weight-zero", lambda: sl.Tool(name="search", weight=0.0), ValueError,
        "tools.search.weight", "got 0.0", "> 0"),
    # -- ContextStore ------------------------------------------------------------------------
    row("store.latency-string", lambda: sl.ContextStore(latency="4ms"), TypeError,
        "store.latency", "'4ms'", "distribution"),
    row("store.per_1k_tokens-negative", lambda: sl.ContextStore(per_1k_tokens=-0.002),
        ValueError, "store.per_1k_tokens", "-0.002", ">= 0"),
    row("store.servers-zero", lambda: sl.ContextStore(servers=0), ValueError,
        "store.servers", "got 0", ">= 1"),
    row("store.error_rate-above-one", lambda: sl.ContextStore(error_rate=2.0), ValueError,
        "store.error_rate", "2.0", "<= 1"),
    # -- Workers -----------------------------------------------------------------------------
    row("workers.count-zero", lambda: sl.Workers(count=0), ValueError,
        "workers.count", "got 0", ">= 1"),
    row("workers.count-float", lambda: sl.Workers(count=2.0), TypeError,
        "workers.count", "2.0", "a whole number"),
    row("workers.slots-negative", lambda: sl.Workers(slots=-4), ValueError,
        "workers.slots", "-4", ">= 1"),
    row("workers.max_in_flight-zero", lambda: sl.Workers(max_in_flight=0), ValueError,
        "workers.max_in_flight", "got 0", ">= 1"),
    row("workers.cpu_per_step-negative", lambda: sl.Workers(cpu_per_step=-0.01), ValueError,
        "workers.cpu_per_step", "-0.01", ">= 0"),
    row("workers.memory_mb-zero", lambda: sl.Workers(memory_mb=0.0), ValueError,
        "workers.memory_mb", "got 0.0", "> 0"),
    row("workers.mb_per_1k_tokens-negative", lambda: sl.Workers(mb_per_1k_tokens=-0.5),
        ValueError, "workers.mb_per_1k_tokens", "-0.5", ">= 0"),
    row("resilience.shedding.max_queue-negative", lambda: sl.LoadShedding(max_queue=-1),
        ValueError, "resilience.shedding.max_queue", "-1", ">= 0"),
    # -- Network, Services, Costs ------------------------------------------------------------
    row("network.hop_latency-string", lambda: sl.Network(hop_latency="2ms"), TypeError,
        "network.hop_latency", "'2ms'", "distribution"),
    row("network.error_rate-negative", lambda: sl.Network(error_rate=-0.5), ValueError,
        "network.error_rate", "-0.5", ">= 0"),
    row("services.context_replicas-zero", lambda: sl.Services(context_replicas=0), ValueError,
        "services.context_replicas", "got 0", ">= 1"),
    row("costs.worker_per_hour-negative", lambda: sl.Costs(worker_per_hour=-0.2), ValueError,
        "costs.worker_per_hour", "-0.2", ">= 0"),
    row("costs.llm_output_per_1k-string", lambda: sl.Costs(llm_output_per_1k="cheap"),
        TypeError, "costs.llm_output_per_1k", "'cheap'", "a number"),
    # -- Scenario ----------------------------------------------------------------------------
    row("scenario.duration-zero", lambda: sl.Scenario(duration=0), ValueError,
        "duration", "got 0", "> 0"),
    row("scenario.duration-nan", lambda: sl.Scenario(duration=math.nan), ValueError,
        "duration", "nan", "finite"),
    row("scenario.duration-string", lambda: sl.Scenario(duration="600"), TypeError,
        "duration", "'600'", "a number"),
    row("scenario.warmup-negative", lambda: sl.Scenario(warmup=-1.0), ValueError,
        "warmup", "-1.0", ">= 0"),
    row("scenario.warmup-not-below-duration",
        lambda: sl.Scenario(duration=100.0, warmup=100.0), ValueError,
        "warmup", "got 100.0", "< duration (100.0)"),
    row("scenario.slo_latency-zero", lambda: sl.Scenario(slo_latency=0.0), ValueError,
        "slo_latency", "got 0.0", "> 0"),
    row("scenario.sample_every-too-fine", lambda: sl.Scenario(sample_every=1e-5), ValueError,
        "sample_every", "1e-05", ">= duration / 1e6"),
    row("scenario.architecture-string", lambda: sl.Scenario(architecture="sync"), TypeError,
        "architecture", "'sync'", "Architecture"),
    row("scenario.workload-dict", lambda: sl.Scenario(workload={"arrival_rate": 2.0}),
        TypeError, "workload", "{'arrival_rate': 2.0}", "Workload"),
    row("scenario.tools-list", lambda: sl.Scenario(tools=[sl.Tool()]), TypeError,
        "tools", "[Tool(", "a tuple of Tool"),
    row("scenario.tools-item-string", lambda: sl.Scenario(tools=("search",)), TypeError,
        "tools[0]", "'search'", "a Tool"),
    row("scenario.tools-duplicate-names", lambda: sl.Scenario(tools=(sl.Tool(), sl.Tool())),
        ValueError, "tools", "['search', 'search']", "distinct names"),
    row("scenario.tools-empty-but-called",
        lambda: sl.Scenario(tools=(), workload=W(tools_per_step=1)), ValueError,
        "tools", "got ()", "at least one Tool", "workload.tools_per_step"),
    # -- distributions -----------------------------------------------------------------------
    row("dists.Exponential-zero", lambda: D.Exponential(0.0), ValueError,
        "Exponential.mean", "got 0.0", "> 0"),
    row("dists.Exponential-string", lambda: D.Exponential("1"), TypeError,
        "Exponential.mean", "'1'", "a number"),
    row("dists.LogNormal-median-negative", lambda: D.LogNormal(median=-1.0, p95=2.0),
        ValueError, "LogNormal.median", "-1.0", "> 0"),
    row("dists.LogNormal-p95-below-median", lambda: D.LogNormal(median=1.0, p95=0.5),
        ValueError, "LogNormal.p95", "0.5", "> LogNormal.median (1.0)"),
    row("dists.Uniform-low-negative", lambda: D.Uniform(-1.0, 1.0), ValueError,
        "Uniform.low", "-1.0", ">= 0"),
    row("dists.Uniform-high-below-low", lambda: D.Uniform(2.0, 1.0), ValueError,
        "Uniform.high", "got 1.0", ">= Uniform.low (2.0)"),
    row("dists.Deterministic-negative", lambda: D.Deterministic(-0.5), ValueError,
        "Deterministic.value", "-0.5", ">= 0"),
    row("dists.Deterministic-string", lambda: D.Deterministic("0.5"), TypeError,
        "Deterministic.value", "'0.5'", "a number"),
    row("dists.Empirical-empty", lambda: D.Empirical([]), ValueError,
        "Empirical.values", "got none", "at least one value"),
    row("dists.Empirical-negative", lambda: D.Empirical([1.0, -3.0]), ValueError,
        "Empirical.values", "-3.0", ">= 0"),
    row("dists.Empirical-nan", lambda: D.Empirical([1.0, math.nan]), ValueError,
        "Empirical.values", "nan", "finite"),
    row("dists.Empirical-strings", lambda: D.Empirical(["a", "b"]), (TypeError, ValueError),
        "Empirical.values", "'a'", ("number", "float", "numeric")),
    row("dists.Geometric-below-one", lambda: D.Geometric(0.5), ValueError,
        "Geometric.mean", "0.5", ">= 1"),
    row("dists.Scaled-base-not-distribution", lambda: D.Scaled(5, 2.0), TypeError,
        "Scaled.base", "5", "distribution"),
    # -- Scenario.with_ ----------------------------------------------------------------------
    row("with_.unknown-field", lambda: sl.Scenario().with_(**{"workload.arival_rate": 2.0}),
        ValueError, "unknown path", "'workload.arival_rate'", "'arrival_rate'"),
    row("with_.unknown-top-level", lambda: sl.Scenario().with_(workers_count=3), ValueError,
        "unknown path", "'workers_count'", "'workers'"),
    row("with_.unknown-tool", lambda: sl.Scenario().with_(**{"tools.serch.error_rate": 0.1}),
        ValueError, "unknown path", "'tools.serch.error_rate'", "'serch'", "['search']"),
    row("with_.path-through-a-number", lambda: sl.Scenario().with_(**{"duration.x": 1}),
        ValueError, "unknown path", "'duration.x'"),
    row("with_.path-through-None", lambda: sl.Scenario().with_(**{"workload.bursts.on_mean": 1}),
        ValueError, "unknown path", "'workload.bursts.on_mean'"),
    row("with_.bad-number", lambda: sl.Scenario().with_(**{"workload.arrival_rate": -1.0}),
        ValueError, "workload.arrival_rate", "-1.0", "> 0"),
    row("with_.bad-choice", lambda: sl.Scenario().with_(**{"architecture.execution": "para"}),
        ValueError, "architecture.execution", "'para'", "'sync'", "'async'"),
    row("with_.bad-tool-value", lambda: sl.Scenario().with_(**{"tools.search.error_rate": 1.5}),
        ValueError, "tools.search.error_rate", "1.5", "<= 1"),
    row("with_.bad-distribution", lambda: sl.Scenario().with_(**{"llm.ttft": "slow"}),
        TypeError, "llm.ttft", "'slow'", "distribution"),
    row("with_.warmup-past-duration", lambda: sl.Scenario().with_(warmup=600.0), ValueError,
        "warmup", "got 600.0", "< duration"),
    # -- run / replicate / sweep ---------------------------------------------------------------
    row("run.seed-negative", lambda: sl.run(tiny(), seed=-1), ValueError,
        "seed", "-1", ">= 0"),
    row("run.seed-fraction", lambda: sl.run(tiny(), seed=1.5), (TypeError, ValueError),
        "seed", "1.5", "whole number"),
    row("run.seed-string", lambda: sl.run(tiny(), seed="1"), (TypeError, ValueError),
        "seed", "'1'", "whole number"),
    row("run.scenario-not-a-scenario", lambda: sl.run("mmc"), TypeError,
        "scenario", "'mmc'", "Scenario"),
    row("replicate.seeds-negative", lambda: sl.replicate(tiny(), seeds=[0, -1]), ValueError,
        "seeds", "-1", ">= 0"),
    row("replicate.seeds-empty", lambda: sl.replicate(tiny(), seeds=[]), ValueError,
        "seeds", "got none", "at least one"),
    row("replicate.seeds-fraction", lambda: sl.replicate(tiny(), seeds=[0.5]),
        (TypeError, ValueError), "seeds", "0.5", "whole numbers"),
    row("replicate.seeds-an-int", lambda: sl.replicate(tiny(), seeds=5), TypeError,
        "seeds", "5", ("iterable", "list", "range", "sequence")),
    row("sweep.seeds-negative",
        lambda: sl.sweep(tiny(), {"workload.arrival_rate": [1.0]}, seeds=[-3]), ValueError,
        "seeds", "-3", ">= 0"),
    row("sweep.grid-unknown-path",
        lambda: sl.sweep(tiny(), {"workload.arival_rate": [1.0, 2.0]}, seeds=[0]),
        ValueError, "unknown path", "'workload.arival_rate'", "'arrival_rate'"),
    row("sweep.grid-bad-value",
        lambda: sl.sweep(tiny(), {"workload.arrival_rate": [1.0, -2.0]}, seeds=[0]),
        ValueError, "workload.arrival_rate", "-2.0", "> 0"),
    row("sweep.grid-bad-choice",
        lambda: sl.sweep(tiny(), {"architecture.state": ["stateless", "statefull"]},
                         seeds=[0]),
        ValueError, "architecture.state", "'statefull'", "'stateful'"),
    row("sweep.grid-values-a-number",
        lambda: sl.sweep(tiny(), {"workload.arrival_rate": 2.0}, seeds=[0]), TypeError,
        "workload.arrival_rate", "2.0", ("list", "iterable", "sequence")),
    row("sweep.grid-values-a-string",
        lambda: sl.sweep(tiny(), {"architecture.execution": "async"}, seeds=[0]),
        (TypeError, ValueError), "architecture.execution", "got 'async'",
        ("list", "iterable", "sequence")),
    row("sweep.grid-values-empty",
        lambda: sl.sweep(tiny(), {"workload.arrival_rate": []}, seeds=[0]), ValueError,
        "workload.arrival_rate", "[]", ("at least one", "empty")),
    row("sweep.grid-not-a-mapping",
        lambda: sl.sweep(tiny(), [("workload.arrival_rate", [1.0])], seeds=[0]), TypeError,
        "grid", ("dict", "mapping", "Mapping")),
    # -- presets.mmc -------------------------------------------------------------------------
    row("mmc.arrival_rate-negative", lambda: sl.presets.mmc(-1.0, 1.0, 2), ValueError,
        ("arrival_rate", "workload.arrival_rate"), "-1.0", "> 0"),
    row("mmc.servers-zero", lambda: sl.presets.mmc(1.0, 1.0, 0), ValueError,
        ("servers", "workers.count"), "got 0", ">= 1"),
    row("mmc.servers-fraction", lambda: sl.presets.mmc(1.0, 1.0, 2.5), TypeError,
        ("servers", "workers.count"), "2.5", "a whole number"),
    row("mmc.kind-unknown", lambda: sl.presets.mmc(1.0, 1.0, 2, kind="gamma"), ValueError,
        "kind", "'gamma'", "'exponential'", "'deterministic'"),
    row("mmc.queue_limit-negative", lambda: sl.presets.mmc(1.0, 1.0, 2, queue_limit=-1),
        ValueError, ("queue_limit", "workers.queue_limit"), "-1", ">= 0"),
    row("mmc.warmup-past-duration",
        lambda: sl.presets.mmc(1.0, 1.0, 2, duration=100.0, warmup=200.0), ValueError,
        "warmup", "200.0", "< duration"),
    row("mmc.unknown-change", lambda: sl.presets.mmc(1.0, 1.0, 2, workers_count=3),
        ValueError, "unknown path", "'workers_count'"),
    row("mmc.service_mean-zero", lambda: sl.presets.mmc(1.0, 0.0, 2), ValueError,
        ("service_mean", "llm.ttft"), "0.0", "> 0"),
    row("mmc.service_mean-zero-deterministic",
        lambda: sl.presets.mmc(1.0, 0.0, 2, kind="deterministic"), ValueError,
        ("service_mean", "llm.ttft"), "0.0", "> 0"),
    # -- compliance ------------------------------------------------------------------------
    row("workload.sensitive_share-above-one", lambda: W(sensitive_share=1.5), ValueError,
        "workload.sensitive_share", "1.5", "<= 1"),
    row("compliance.overflow-unknown", lambda: sl.Compliance(overflow="maybe"), ValueError,
        "compliance.overflow", "'maybe'", "'queue'", "'shed'", "'cloud'"),
    row("onprem.concurrency-zero", lambda: sl.OnPrem(concurrency=0), ValueError,
        "onprem.concurrency", "got 0", ">= 1"),
    row("onprem-a-cloud-llm", lambda: sl.Scenario(onprem=sl.LLM()), TypeError,
        "onprem", "OnPrem"),
    row("workload.replay-not-a-trace", lambda: W(replay="azure.csv"), TypeError,
        "workload.replay", "'azure.csv'", "Trace"),
]


def _message_has(message: str, needle) -> bool:
    alternatives = needle if isinstance(needle, tuple) else (needle,)
    return any(a in message for a in alternatives)


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any attempt to start a simulation fail loudly (with an AssertionError, which
    ``pytest.raises(ValueError/TypeError)`` does not catch)."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a simulation started before the bad input was refused")

    monkeypatch.setattr(simpy.Environment, "run", refuse)
    monkeypatch.setattr(simlib.engine.Run, "play", refuse)
    return calls


def test_the_table_is_broad():
    ids = [p.id for p in INVALID]
    assert len(ids) == len(set(ids)), "duplicate row ids"
    assert len(ids) >= 35
    kinds = {i.split(".")[0].split("-")[0] for i in ids}
    for kind in ("architecture", "workload", "llm", "tools", "store", "workers", "network",
                 "services", "costs", "scenario", "dists", "with_", "run", "replicate",
                 "sweep", "mmc"):
        assert kind in kinds, kind


@pytest.mark.parametrize("build, exc, needles", INVALID)
def test_invalid_input_is_refused_with_a_useful_message(no_simulation, build, exc, needles):
    with pytest.raises(exc) as info:
        build()
    message = str(info.value)
    missing = [n for n in needles if not _message_has(message, n)]
    assert not missing, f"message {message!r} lacks {missing}"
    assert not no_simulation


# -- nothing simulates before the input is checked ------------------------------------------


def test_the_guard_would_notice_a_simulation(no_simulation):
    """Control: with the guard on, a valid run does reach the simulation."""
    with pytest.raises(AssertionError, match="simulation started"):
        sl.run(tiny(), seed=0)
    assert no_simulation


def test_sweep_with_one_bad_grid_value_runs_nothing(no_simulation):
    grid = {"workload.arrival_rate": [0.5, 1.0, 2.0, -1.0],
            "architecture.execution": ["sync", "async"]}
    with pytest.raises(ValueError, match=r"workload\.arrival_rate must be > 0, got -1\.0"):
        sl.sweep(tiny(), grid, seeds=range(3), n_jobs=1)
    assert no_simulation == []


def test_sweep_with_a_bad_seed_runs_nothing(no_simulation):
    with pytest.raises(ValueError, match="seeds"):
        sl.sweep(tiny(), {"workload.arrival_rate": [1.0, 2.0]}, seeds=[0, 1, -1])
    assert no_simulation == []


def test_replicate_with_a_bad_seed_runs_nothing(no_simulation):
    with pytest.raises(ValueError, match="seeds"):
        sl.replicate(tiny(), seeds=[0, 1, 2, -7])
    assert no_simulation == []


def test_run_with_a_bad_seed_runs_nothing(no_simulation):
    with pytest.raises(ValueError, match=r"seed must be a whole number >= 0, got -1"):
        sl.run(tiny(), seed=-1)
    assert no_simulation == []


# -- what valid input turns into --------------------------------------------------------------


@pytest.mark.parametrize("make, attr, value", [
    pytest.param(lambda v: sl.Workload(think_time=v), "think_time", 2.5, id="workload-float"),
    pytest.param(lambda v: sl.Workload(turns=v), "turns", 3, id="workload-int"),
    pytest.param(lambda v: sl.LLM(ttft=v), "ttft", 0.5, id="llm"),
    pytest.param(lambda v: sl.Tool(latency=v), "latency", 0, id="tool-zero"),
    pytest.param(lambda v: sl.ContextStore(latency=v), "latency", 0.004, id="store"),
    pytest.param(lambda v: sl.Workers(cpu_per_step=v), "cpu_per_step", 0.02, id="workers"),
    pytest.param(lambda v: sl.Network(hop_latency=v), "hop_latency", 0.002, id="network"),
])
def test_a_number_in_a_distribution_field_is_deterministic(make, attr, value):
    got = getattr(make(value), attr)
    assert isinstance(got, D.Deterministic)
    assert got == D.Deterministic(float(value))
    assert got.mean == value


def test_a_number_given_through_with_is_deterministic_too():
    changed = sl.Scenario().with_(**{"llm.ttft": 0.7, "workload.think_time": 3})
    assert changed.llm.ttft == D.Deterministic(0.7)
    assert changed.workload.think_time == D.Deterministic(3.0)


def test_a_distribution_is_kept_as_given():
    ttft = D.LogNormal(median=0.5, p95=2.0)
    assert sl.LLM(ttft=ttft).ttft is ttft


def test_with_returns_a_changed_copy_and_leaves_the_original_alone():
    original = sl.presets.qa_bot()
    before = dataclasses.asdict(original)
    changed = original.with_(**{"workload.arrival_rate": 8.0, "architecture.state": "stateful",
                                "workers.count": 5})
    assert changed is not original
    assert changed.workload.arrival_rate == 8.0
    assert changed.architecture.state == "stateful"
    assert changed.workers.count == 5
    assert original.workload.arrival_rate == 2.0
    assert original.architecture.state == "stateless"
    assert dataclasses.asdict(original) == before
    # untouched parts are shared, not rebuilt differently
    assert changed.llm == original.llm and changed.tools == original.tools


def test_with_reaches_a_tool_by_name():
    original = sl.presets.tool_agent()
    changed = original.with_(**{"tools.search.error_rate": 0.2})
    by_name = {t.name: t for t in changed.tools}
    assert by_name["search"].error_rate == 0.2
    assert by_name["code"] == {t.name: t for t in original.tools}["code"]
    assert [t.name for t in changed.tools] == [t.name for t in original.tools]
    assert {t.name: t for t in original.tools}["search"].error_rate == 0.0


def test_configs_are_frozen():
    scenario = sl.Scenario()
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.duration = 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.workload.arrival_rate = 5.0


@pytest.mark.parametrize("make, changes", [
    pytest.param(lambda: sl.presets.mmc(1.0, 1.0, 2),  # warmup is 200
                 {"duration": 150.0, "warmup": 20.0}, id="duration-then-warmup"),
    pytest.param(lambda: sl.presets.assistant(),  # calls a tool in some steps
                 {"tools": (), "workload.tools_per_step": 0}, id="tools-then-tools_per_step"),
])
def test_with_validates_the_result_not_each_step(make, changes):
    changed = make().with_(**changes)
    for path, value in changes.items():
        obj = changed
        for key in path.split("."):
            obj = getattr(obj, key)
        assert obj == value or obj == D.Deterministic(value)


def test_numpy_seeds_are_accepted(no_simulation):
    with pytest.raises(AssertionError, match="simulation started"):  # i.e. validation passed
        sl.replicate(tiny(), seeds=np.arange(2))


def test_architecture_says_which_end_of_each_axis_it_is():
    for design in sl.DESIGNS:
        assert design.stateful == (design.state == "stateful")
        assert design.asynchronous == (design.execution == "async")
        assert design.remote == (design.deployment == "microservices")
    assert len({d.name for d in sl.DESIGNS}) == 8


@pytest.mark.parametrize("fault, needles", [
    (sl.faults.Outage("workers"), ("faults[0].target", "'workers'", "'llm'", "'store'",
                                   "'network'", "'tools.search'")),
    (sl.faults.Crash("llm"), ("faults[0].target", "'llm'", "'workers'", "'store'")),
    (sl.faults.LatencySpike("tools.nope"), ("faults[0].target", "'tools.nope'", "'workers'")),
    (sl.faults.Partition("store"), ("faults[0].target", "'store'", "'context'")),
    (sl.faults.Outage("onprem"), ("faults[0].target", "'onprem'", "'llm'")),
    (sl.faults.RandomCrashes("network"), ("faults[0].target", "'network'", "'store'")),
])
def test_a_fault_may_only_name_what_it_can_affect(no_simulation, fault, needles):
    """Each fault names a component of the scenario that its effect applies to (outages:
    components that answer with errors; crashes: workers, the store, tools), listing them."""
    with pytest.raises(ValueError) as error:
        sl.presets.assistant(faults=(fault,))
    for needle in needles:
        assert needle in str(error.value)


def test_an_onprem_model_is_a_fault_target_once_it_exists():
    """A full outage of the on-premises model fails the sensitive turns that call it inside
    the window, and no other turn."""
    scenario = sl.presets.qa_bot(onprem=sl.OnPrem(concurrency=None), duration=200.0,
                                 warmup=0.0, faults=(sl.faults.Outage("onprem", 50.0, 100.0),),
                                 **{"workload.sensitive_share": 0.5})
    turns = sl.run(scenario, seed=1).turns
    failed = turns[turns["outcome"] == "failed"]
    assert len(failed) > 20
    assert failed["sensitive"].all() and (failed["cause"] == "llm_error").all()
    assert failed["arrival"].between(40.0, 150.0).all()
