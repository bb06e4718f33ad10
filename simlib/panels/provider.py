"""Panels of notebook 08 (the provider is part of your architecture): the experiments that show
how a hosted LLM provider's behaviour moves the article's verdicts.

Four experiments, one per mechanism of :mod:`simlib.provider`, each a function that runs its
replications and returns a tidy table (one row per design and seed), plus the chart and the
computed number the notebook prints beside it:

1. **windowed rate limits** (:func:`window_sweep`): the same 75 requests a minute enforced
   over windows from 1 s to 60 s, sync against async on the same 4 worker slots, and async
   behind a client-side limiter (:class:`simlib.RateLimit` in ``resilience.llm``: the only
   client limiter simlib has, a token bucket the caller waits on). :func:`flip_window` is the
   smallest window from which async's goodput edge is above zero;
2. **retry layers** (:func:`amplification`, :func:`collapse_sweep`): requests per call against
   the product of the layers' geometric sums (:func:`nested_attempts`), and the probability of
   a retry storm's collapse as the attempts per call multiply (:func:`collapse_threshold`);
3. **prompt caching** (:func:`cache_runs`): time to first token and cost per turn of stateless
   and stateful chat, with the cache at the provider or per replica, and the first edition's
   textbook provider;
4. **overload, failover and hedging** (:func:`failover_runs`): a provider's 529 storm with and
   without a backup model, and with hedged requests (:func:`overload_availability` is the
   formula for the unprotected design).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from .. import capacity, plots, presets, stats, theory
from ..config import LLM, PromptCache, Workers, serving_profile
from ..engine import run
from ..experiment import replicate, sweep
from ..faults import Overloaded, windows
from ..metrics import collapsed, measured
from ..resilience import Failover, Policy, RateLimit, Retry
from ..scenario import Scenario
from ..widgets import Explorer, explore, pick, slider

# -- 1. windowed rate limits --------------------------------------------------------------------

LIMIT = 75.0
"""The provider's limit in requests per minute (notebook 02's experiment 3): the tool agent's
3 calls a turn let it carry 75 / 60 / 3 = 0.417 turns per second."""
RATE = 0.4
"""Sessions per second in the window experiment: 96% of what the limit carries."""
WINDOWS = (1.0, 2.0, 3.0, 5.0, 10.0, 60.0)
"""Enforcement windows, seconds: Azure OpenAI evaluates "over a small period of time,
typically 1 or 10 seconds" (learn.microsoft.com, Azure OpenAI quota); 60 s is the first
edition's per-minute bucket."""
DESIGNS = ("sync", "async", "async + limiter")


def limited_agent(**changes) -> Scenario:
    """Notebook 02's tool agent (:func:`simlib.presets.tool_agent_turn`: 3 steps of one LLM call
    and two searches, 2 workers of 2 slots) on the realistic provider (SDK retries, fast
    unbilled failures, 1 s windows) limited to :data:`LIMIT` requests a minute, at
    :data:`RATE` sessions per second."""
    return presets.tool_agent_turn().with_(llm=LLM(requests_per_minute=LIMIT), **{
        "workload.arrival_rate": RATE, **changes})


def with_limiter(scenario: Scenario) -> Scenario:
    """``scenario`` as async behind a client-side limiter paced at the provider's rate (one
    request of burst, ``LIMIT / 60`` per second): calls wait in the client instead of being
    refused."""
    limit = scenario.llm.requests_per_minute
    return scenario.with_(architecture=presets.ASYNC, **{
        "resilience.llm": Policy(rate_limit=RateLimit(per_second=limit / 60, burst=1.0))})


def window_sweep(scenario: Scenario | None = None, windows: Sequence[float] = WINDOWS,
                 seeds: Iterable[int] = range(10)) -> pd.DataFrame:
    """Sync, async and async behind the client limiter at each enforcement window: one summary
    row per (window, design, seed), with columns ``window`` and ``design``. The limiter keeps
    every call under the provider's rate, so the provider never refuses one and the window
    cannot matter: it is run once, at the shortest window, and its rows repeated for the
    others (``tests/test_panels_provider.py`` checks that a longer window gives the same)."""
    scenario = scenario or limited_agent()
    seeds = list(seeds)
    grid = {"llm.rate_window": list(windows), "architecture.execution": ["sync", "async"]}
    both = sweep(scenario, grid, seeds=seeds, progress=False)
    both["design"] = both["architecture.execution"]
    paced = replicate(with_limiter(scenario).with_(**{"llm.rate_window": min(windows)}),
                      seeds=seeds, progress=False).reset_index()
    repeated = [paced.assign(**{"llm.rate_window": w, "design": DESIGNS[2]}) for w in windows]
    table = pd.concat([both, *repeated], ignore_index=True)
    return table.rename(columns={"llm.rate_window": "window"})


def design_scenario(scenario: Scenario, design: str) -> Scenario:
    """The scenario of one of :data:`DESIGNS`."""
    if design == DESIGNS[2]:
        return with_limiter(scenario)
    return scenario.with_(**{"architecture.execution": design})


def latency_report(table: pd.DataFrame, scenario: Scenario | None = None,
                   window: float = 1.0, column: str = "latency_all_p95") -> dict:
    """Per design at ``window``: the mean and interval of ``column``, or "unstable" when the
    design's offered load is at or past its capacity (:func:`simlib.capacity.stable`)."""
    scenario = (scenario or limited_agent()).with_(**{"llm.rate_window": window})
    rows = table[table["window"] == window]
    return {design: stats.reported(rows[rows["design"] == design][column],
                                   capacity.stable(design_scenario(scenario, design)))
            for design in DESIGNS}


def edges(table: pd.DataFrame, column: str = "goodput") -> pd.DataFrame:
    """Per window and design, the paired difference from sync (seed by seed) and its interval:
    rows ``(window, design)``, columns ``mean``, ``low``, ``high``."""
    parts = {w: stats.versus(g, "design", "sync", column) for w, g in table.groupby("window")}
    return pd.concat(parts, names=["window", "design"])


def flip_window(edge: pd.DataFrame, design: str = "async") -> float:
    """The smallest window from which ``design``'s edge over sync is above zero (its
    interval's low end) at every larger window too; NaN if it never is."""
    low = edge.xs(design, level="design")["low"].sort_index()
    above = (low > 0)[::-1].cummin()[::-1]
    return float(above[above].index.min()) if above.any() else math.nan


def window_figure(table: pd.DataFrame, flip: float) -> go.Figure:
    """Goodput against the enforcement window (log scale), per design, with the flip."""
    fig = go.Figure()
    colours = {"sync": plots.colour("stateless/sync/monolith"),
               "async": plots.colour("stateless/async/monolith"), DESIGNS[2]: "#b07aa1"}
    for design in DESIGNS:
        points = stats.mean_with_ci(table[table["design"] == design], "window", "goodput")
        fig.add_scatter(x=points["window"], y=points["mean"], name=design,
                        mode="markers+lines", line={"color": colours[design]},
                        error_y={"type": "data", "array": points["high"] - points["mean"],
                                 "arrayminus": points["mean"] - points["low"]})
    if not math.isnan(flip):
        fig.add_vline(x=flip, line={"dash": "dot", "color": plots.COLOURS["formula"]},
                      annotation_text=f"async's edge from {flip:g} s")
    fig.update_xaxes(type="log")
    return plots.layout(fig, "enforcement window (s)", "ok turns per second",
                        f"The same {LIMIT:g} requests/min, enforced over shorter windows")


def textbook_contrast(scenario: Scenario | None = None, seeds: Iterable[int] = range(8)
                      ) -> pd.DataFrame:
    """The realistic provider without its SDK layer (``sdk_retries=0``), sync and async, with
    the first edition's 60 s bucket and with 1 s windows: summary rows with columns
    ``window``, ``sdk_retries`` and ``design`` (the rows with the SDK layer are
    :func:`window_sweep`'s)."""
    scenario = scenario or limited_agent()
    grid = {"llm.rate_window": [60.0, 1.0], "architecture.execution": ["sync", "async"]}
    table = sweep(scenario.with_(**{"llm.sdk_retries": 0}), grid, seeds=list(seeds),
                  progress=False)
    return table.rename(columns={"llm.rate_window": "window",
                                 "architecture.execution": "design"}).assign(sdk_retries=0)


def contrast_table(contrast: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Goodput (mean and interval) and turns lost per run, by window, SDK retries and design:
    :func:`textbook_contrast`'s rows beside :func:`window_sweep`'s (2 SDK retries) at the
    same windows, formatted for printing."""
    windows = contrast["window"].unique()
    layered = table[table["window"].isin(windows) & table["design"].isin(["sync", "async"])]
    sdk = limited_agent().llm.sdk_retries  # the realistic default the sweep ran with
    both = pd.concat([contrast, layered.assign(sdk_retries=sdk)], ignore_index=True)
    keys = ["window", "sdk_retries", "design"]
    both = both.sort_values(keys, ascending=[False, True, False], kind="stable")
    lost = both.groupby(keys, sort=False)[["n_failed", "n_silent_failure"]].mean()
    goodput = stats.formatted(stats.ci_table(both, keys, "goodput"), ".3f")
    return goodput.join(lost.round(1))


def window_panel(seed: int = 0) -> Explorer:
    """Sync against async (the same arrivals) on the rate-limited tool agent.

    Controls: the enforcement window, a client-side limiter paced at the limit (off or on:
    it applies to both designs), the SDK's retries (0 to 4) and the arrival rate (0.1 to 0.6
    sessions/s; the limit carries 0.417). Charts: ok turns per second over time, and how the
    measured turns ended.

    What to try:

    - window 60 s: async serves nearly every arrival, sync sits at its 4 slots' ceiling;
    - window 1 s: async's ``silent_failure`` bar grows (429s after the acknowledgement) and its
      goodput falls to sync's;
    - SDK retries 0, then 2, then 4: each layer of retries wins back turns from a 1 s bucket;
    - limiter on: no 429 at any window, and async's goodput is back.
    """
    paced = with_limiter(limited_agent()).resilience.llm
    controls = [
        pick("enforcement window (s)", {"1": 1.0, "3": 3.0, "10": 10.0,
                                        "60 (first edition)": 60.0}, "1", "llm.rate_window"),
        pick("client limiter", {"off": Policy(), "paced at the limit": paced}, "off",
             "resilience.llm"),
        slider("SDK retries", 0, 4, 1, 2, "llm.sdk_retries", integer=True),
        slider("arrival rate (per s)", 0.1, 0.6, 0.05, RATE, "workload.arrival_rate"),
    ]
    scenario = limited_agent(duration=240.0, warmup=40.0, sample_every=2.0)  # redraws live
    return explore(scenario, controls=controls, compare=[presets.ASYNC], seed=seed,
                   views=["goodput", "outcomes"])


# -- 2. retry layers ----------------------------------------------------------------------------

LAYERS = {"SDK (2 retries)": (2, 0), "app (3 retries)": (0, 3), "app x SDK": (2, 3)}
"""Retry layers as (SDK retries, application retries): the SDKs' default of 2
(openai-python and anthropic-sdk-python ``DEFAULT_MAX_RETRIES``), an application's 3 (tenacity
or LangChain's ``max_retries`` style), and both, the application's wrapping the SDK's."""
ERROR_RATES = (0.3, 0.6, 0.9)


def nested_attempts(p: float, sdk: int, app: int) -> float:
    """Expected requests per call when every request fails independently with probability
    ``p``: the SDK's geometric sum, times the application's over the SDK call's failure
    probability ``p ** (sdk + 1)`` (DESIGN.md section 3)."""
    return theory.retry_attempts_mean(p, sdk) * theory.retry_attempts_mean(p ** (sdk + 1), app)


def layered(p: float, sdk: int, app: int, **changes) -> Scenario:
    """The Q&A bot (one LLM call a turn) with a provider error rate ``p``, ``sdk`` SDK retries
    and ``app`` application retries (full-jitter backoff from 0.2 s), 200 s."""
    policy = Policy(retry=Retry(retries=app)) if app else Policy()
    return presets.qa_bot(**{"llm.error_rate": p, "llm.sdk_retries": sdk,
                             "resilience.llm": policy, "duration": 200.0, "warmup": 20.0,
                             **changes})


MARGIN = 30.0
"""Seconds before the end of a run after which arrivals are not counted for requests per
call: a turn still retrying at the end would be cut short (and the slowest turns are the ones
with most retries), so only turns with time to end are counted."""


def requests_per_call(result, scenario: Scenario) -> float:
    """Requests sent to the provider per LLM call (a turn of the Q&A bot is one call), over
    the measured turns that arrived at least :data:`MARGIN` seconds before the end."""
    turns = measured(result.turns)
    early = turns[turns["arrival"] < scenario.duration - MARGIN]
    return float(early["llm_calls"].sum() / max(early["calls"].sum(), 1))


def amplification(error_rates: Sequence[float] = ERROR_RATES,
                  layers: Mapping[str, tuple[int, int]] = LAYERS,
                  seeds: Iterable[int] = range(8)) -> pd.DataFrame:
    """Per error rate, layer set and replication: requests per call, and the calls counted
    and failed for good (over the turns :func:`requests_per_call` counts). Each row of the
    grid gets its own seeds (replication ``i`` of row ``j`` runs seed ``i + 1000 j``): a check
    against a formula needs independent rows, not common random numbers."""
    rows, seeds = [], list(seeds)
    grid = [(p, name) for p in error_rates for name in layers]
    for j, (p, name) in enumerate(grid):
        scenario = layered(p, *layers[name])
        for i in seeds:
            result = run(scenario, i + 1000 * j)
            turns = measured(result.turns)
            early = turns[turns["arrival"] < scenario.duration - MARGIN]
            rows.append({"p": p, "layers": name, "seed": i,
                         "requests": requests_per_call(result, scenario),
                         "calls": int(early["calls"].sum()),
                         "failed": int((early["outcome"] == "failed").sum())})
    return pd.DataFrame(rows)


def amplification_check(table: pd.DataFrame,
                        layers: Mapping[str, tuple[int, int]] = LAYERS) -> pd.DataFrame:
    """:func:`simlib.stats.ci_table` of requests per call against :func:`nested_attempts`."""
    return stats.ci_table(table, ["p", "layers"], "requests", formula=lambda key: (
        nested_attempts(key[0], *layers[key[1]])))


def failure_check(table: pd.DataFrame,
                  layers: Mapping[str, tuple[int, int]] = LAYERS) -> pd.DataFrame:
    """The share of calls that failed for good, pooled over the replications (calls are
    independent: a Wilson interval), against ``p ** ((sdk + 1)(app + 1))``."""
    rows = {}
    for (p, name), g in table.groupby(["p", "layers"], sort=False):
        ci = stats.wilson(int(g["failed"].sum()), int(g["calls"].sum()))
        sdk, app = layers[name]
        formula = p ** ((sdk + 1) * (app + 1))
        rows[(p, name)] = {"mean": ci.mean, "low": ci.low, "high": ci.high,
                           "formula": formula, "inside": ci.low <= formula <= ci.high}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["p", "layers"])


ATTEMPTS = {"app alone": 4, "app x SDK": 12}
"""Attempts per call in the storm: the application's 3 retries alone (4), and the same inside
an SDK layer that retries its own timeouts twice (3 x 4 = 12; openai-python's README: "requests
that time out are retried twice by default")."""
STORM_RATES = (0.6, 1.0, 1.5)


def storm(rate: float, attempts: int, duration: float = 300.0) -> Scenario:
    """:func:`simlib.presets.retry_storm` (an LLM of 10 calls/s, 1 s timeouts that do not cancel
    the call, a 20 s slow-down x10 at t = 100 s) with ``attempts`` tries per call. Nested layers
    that retry at once are one flat loop of (N + 1)(M + 1) attempts, so the product of the
    layers is set as one application retry of ``attempts - 1``: simlib's SDK layer does not
    retry the client's own timeouts, which the real SDKs do."""
    scenario = presets.retry_storm(rate, trigger=True, duration=duration, sample_every=1.0)
    return scenario.with_(**{"resilience.llm.retry.retries": attempts - 1})


def storm_capacity() -> float:
    """The storm's LLM capacity in calls per second: its slots over its mean service time."""
    llm = presets.retry_storm().llm
    return llm.concurrency / llm.ttft.mean


def collapse_threshold(attempts: int) -> float:
    """The arrival rate above which a storm can collapse: ``attempts`` times the rate exceeds
    the LLM's capacity (below it, even every call retried to the end fits)."""
    return storm_capacity() / attempts


def collapse_sweep(rates: Sequence[float] = STORM_RATES,
                   attempts: Mapping[str, int] = ATTEMPTS,
                   seeds: Iterable[int] = range(8)) -> pd.DataFrame:
    """Did each storm run collapse (fewer than half of the turns arriving from
    :data:`simlib.presets.SINCE` answered ok)? One row per rate, layer set and seed."""
    rows = [{"rate": rate, "layers": name, "attempts": k, "seed": seed,
             "collapsed": collapsed(run(storm(rate, k), seed).turns, presets.SINCE)}
            for rate in rates for name, k in attempts.items() for seed in seeds]
    return pd.DataFrame(rows)


def collapse_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per rate and layer set: collapses, runs, the Wilson interval of the probability, and
    whether the formula says a collapse is possible (rate above the threshold)."""
    rows = {}
    for (rate, name), g in table.groupby(["rate", "layers"], sort=False):
        ci = stats.wilson(int(g["collapsed"].sum()), len(g))
        rows[(rate, name)] = {"collapses": int(g["collapsed"].sum()), "runs": len(g),
                              "mean": ci.mean, "low": ci.low, "high": ci.high,
                              "possible": rate > collapse_threshold(int(g["attempts"].iloc[0]))}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["rate", "layers"])


def collapse_figure(table: pd.DataFrame) -> go.Figure:
    """Probability of collapse against the arrival rate, per layer set (Wilson intervals),
    with each set's threshold."""
    fig = go.Figure()
    summary = collapse_table(table).reset_index()
    colours = dict(zip(ATTEMPTS, ("#4e79a7", "#e15759"), strict=False))
    for name, k in ATTEMPTS.items():
        part = summary[summary["layers"] == name]
        colour = colours.get(name, plots.COLOURS["formula"])
        fig.add_scatter(x=part["rate"], y=part["mean"], name=f"{name} ({k} attempts)",
                        mode="markers+lines", line={"color": colour},
                        error_y={"type": "data", "array": part["high"] - part["mean"],
                                 "arrayminus": part["mean"] - part["low"]})
        fig.add_vline(x=collapse_threshold(k), line={"dash": "dot", "color": colour})
    return plots.layout(fig, "arrival rate (per s)", "probability of collapse",
                        "Retry layers multiply: the collapse threshold falls")


# -- 3. prompt caching --------------------------------------------------------------------------

PREFILL_PROFILE = "llama-2-70b_a100-80gb_tp4"
"""The profile whose prefill rate stands in for a hosted model's (no hosted provider publishes
one): Llama-2-70B on 4 A100s, from Vidur's kernel profiles (``data/serving_profiles.csv``)."""


def prefill_rate() -> float:
    """Prompt tokens per second of :data:`PREFILL_PROFILE` (the data file's
    ``prefill_tokens_per_s``)."""
    return float(serving_profile(PREFILL_PROFILE)["prefill_tokens_per_s"])


def chat(**changes) -> Scenario:
    """Notebook 01's chat (:func:`simlib.presets.multi_turn_chat`: about 6 turns a session,
    10 s think time, history resent every turn) on the realistic server (40 threads a worker,
    not the first edition's 8) and a provider whose time to first token grows with the
    uncached prompt at :func:`prefill_rate`."""
    return presets.multi_turn_chat(**{"workers.slots": Workers().slots,
                                      "llm.prefill_rate": prefill_rate(), **changes})


CACHES = {"provider": PromptCache(), "replica": PromptCache(scope="replica"),
          "first edition": None}
"""The cache settings compared: hosted (keyed by the prefix, whoever sends it), per replica
(self-hosted engines, each worker reaching its own), and the first edition's textbook provider
(no cache; a pinned session's time to first token x ``prompt_cache_factor``)."""


def cache_scenario(state: str, cache: str, **changes) -> Scenario:
    """:func:`chat` as ``state`` ("stateless" or "stateful") with the cache of :data:`CACHES`
    named ``cache`` (the first edition's textbook provider for "first edition")."""
    scenario = chat(architecture=presets.SIMPLE if state == "stateless" else presets.STATEFUL,
                    **changes)
    if CACHES[cache] is None:
        return presets.textbook(scenario)
    return scenario.with_(**{"llm.cache": CACHES[cache]})


def per_turn(result) -> dict[str, float]:
    """Means over the measured ok turns: time to first token, cost, input tokens, and the share
    of input tokens read from the cache and written to it."""
    turns = measured(result.turns)
    ok = turns[turns["outcome"] == "ok"]
    tokens = max(float(ok["tokens_in"].sum()), 1.0)
    return {"ttft": float(ok["ttft"].mean()), "cost": float(ok["cost"].mean()),
            "latency": float(ok["latency"].mean()), "tokens_in": float(ok["tokens_in"].mean()),
            "cached": float(ok["tokens_cached"].sum()) / tokens,
            "written": float(ok["tokens_cache_write"].sum()) / tokens}


def cache_runs(seeds: Iterable[int] = range(6)) -> pd.DataFrame:
    """:func:`per_turn` for every cache of :data:`CACHES`, both states and each seed."""
    rows = [{"cache": cache, "state": state, "seed": seed,
             **per_turn(run(cache_scenario(state, cache), seed))}
            for cache in CACHES for state in ("stateless", "stateful") for seed in seeds]
    return pd.DataFrame(rows)


def cache_edges(table: pd.DataFrame, column: str = "ttft") -> pd.DataFrame:
    """Per cache setting, stateful minus stateless, seed by seed (negative: stateful faster)."""
    parts = {c: stats.versus(g, "state", "stateless", column)
             for c, g in table.groupby("cache", sort=False)}
    return pd.concat(parts, names=["cache", "state"]).droplevel("state")


def cache_figure(table: pd.DataFrame) -> go.Figure:
    """Time to first token per cache setting, stateless against stateful, with intervals."""
    fig = go.Figure()
    for state, design in (("stateless", "stateless/sync/monolith"),
                          ("stateful", "stateful/sync/monolith")):
        points = stats.ci_table(table[table["state"] == state], "cache", "ttft").reset_index()
        fig.add_bar(x=points["cache"], y=points["mean"], name=state,
                    marker={"color": plots.colour(design)},
                    error_y={"type": "data", "array": points["high"] - points["mean"],
                             "arrayminus": points["mean"] - points["low"]})
    fig.update_layout(barmode="group")
    return plots.layout(fig, "prompt cache", "time to first token (s)",
                        "Who gets the cache: the provider's scope decides")


# -- 4. overload, failover, hedging -------------------------------------------------------------

OVERLOAD = Overloaded("llm", start=150.0, duration=120.0, error_rate=0.9)
"""A provider's 529 storm: 90% of requests refused for two minutes (Anthropic's
``overloaded_error``; anthropics/claude-code issues #3633 and others report such storms)."""


def busy_bot(**changes) -> Scenario:
    """The Q&A bot (one LLM call a turn, 2 sessions/s, 2 workers of 40 threads), 400 s with
    a 40 s warm-up, through :data:`OVERLOAD`."""
    return presets.qa_bot(**{"duration": 400.0, "warmup": 40.0, "faults": (OVERLOAD,),
                             **changes})


def hedge_delay(scenario: Scenario | None = None, seeds: Iterable[int] = range(4),
                quantile: str = "latency_p50") -> float:
    """When to hedge: a latency quantile of calm runs (no fault), the median by default (an
    eager hedge; "The Tail at Scale", Dean and Barroso 2013, waits for the p95, which costs
    less and rescues less)."""
    calm = (scenario or busy_bot()).with_(faults=())
    return float(replicate(calm, seeds=list(seeds), progress=False)[quantile].mean())


def protections(hedge_after: float) -> dict[str, Failover | None]:
    """The three designs: no backup, failover after one failed call (its SDK retries
    included), and hedging after ``hedge_after`` seconds (the backup is the default
    :class:`simlib.Failover` model, at the same prices)."""
    return {"no backup": None, "failover": Failover(),
            "hedge": Failover(hedge_after=hedge_after)}


def failover_runs(hedge_after: float, seeds: Iterable[int] = range(8)) -> pd.DataFrame:
    """Summary rows per protection through the overload, and calm (column ``fault``) for no
    backup and hedging (failover without an error is the design without a backup)."""
    seeds, parts = list(seeds), []
    for name, failover in protections(hedge_after).items():
        cases = (("overload", (OVERLOAD,)), ("calm", ())) if name != "failover" \
            else (("overload", (OVERLOAD,)),)
        for fault, faults in cases:
            scenario = busy_bot(faults=faults, **{"resilience.failover": failover})
            parts.append(replicate(scenario, seeds=seeds, progress=False).reset_index()
                         .assign(design=name, fault=fault))
    return pd.concat(parts, ignore_index=True)


def overload_availability(scenario: Scenario | None = None) -> float:
    """The formula for the unprotected design: a turn arriving in the overload fails when the
    SDK's every request is refused, ``error_rate ** (sdk_retries + 1)``; the measured window's
    share of arrivals falls in the overload."""
    scenario = scenario or busy_bot()
    span = scenario.duration - scenario.warmup
    hit = sum(min(end, scenario.duration) - max(start, scenario.warmup)
              for start, end in windows(scenario))
    return 1 - hit / span * OVERLOAD.error_rate ** (scenario.llm.sdk_retries + 1)


def overload_figure(hedge_after: float, seed: int = 0) -> go.Figure:
    """Ok turns per second over time for each protection, one seed, the overload shaded."""
    turns = {name: run(busy_bot(**{"resilience.failover": f}), seed).turns
             for name, f in protections(hedge_after).items()}
    scenario = busy_bot()
    return plots.goodput_over_time(turns, scenario.duration, windows=windows(scenario))


def summarise(table: pd.DataFrame, by: str | list[str], columns: Sequence[str],
              spec: str = ".3f") -> pd.DataFrame:
    """Each column's mean and interval per group, formatted for printing."""
    return stats.formatted(stats.ci_table(table, by, list(columns)), spec)



def ci_text(row, spec: str = ".3f") -> str:
    """A row of ``mean``, ``low``, ``high`` (from :func:`simlib.stats.ci_table` or
    :func:`simlib.stats.versus`) printed as a :class:`simlib.stats.CI`."""
    return format(stats.CI(row["mean"], row["low"], row["high"]), spec)
