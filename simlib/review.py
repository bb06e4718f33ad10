"""A design review: which of the eight designs meet your SLO and budget at your load.

:func:`review` takes your scenario (fitted from your logs, :mod:`simlib.fit`, or written by hand)
and, for every design:

1. sizes its fleet for the load by the utilisation rule (:func:`simlib.capacity.size_fleet`) and
   checks that every queue is stable (a design whose offered load reaches a resource's capacity
   is reported as *unstable*, never ranked by a number that would grow with the run's length);
2. runs replications until the interval of its p95 latency is as narrow as asked (``width``, a
   share of the mean), so the answer's precision is chosen, not the number of seeds;
3. adds workers while the p95's interval is above the SLO (a few steps at most);
4. judges it against the SLO and the budget by the intervals: *meets*, *misses* or *too close to
   call* (the interval straddles the target);

then reruns the cheapest design that meets both with the assumptions that could change the
answer moved one at a time (the load, the provider's error rate and rate-limit window, the prompt
cache, the threads per worker), and says which of them flip it. :meth:`Review.write` writes a
Markdown summary and an HTML report with its charts, to attach to a design document.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import capacity, stats
from .config import DEPLOYMENTS, EXECUTIONS, STATES, Architecture
from .experiment import replicate
from .scenario import Scenario

DESIGNS = [Architecture(s, e, d) for s in STATES for e in EXECUTIONS for d in DEPLOYMENTS]
MEASURES = ("latency_p95", "latency_all_p95", "cost_per_ok", "availability", "goodput")


@dataclass
class Review:
    """The outcome of :func:`review`: one row per design (``table``), the sensitivity of the
    chosen design (``sensitivity``) and the settings it was asked for."""

    slo: float
    budget: float
    load: float
    width: float
    table: pd.DataFrame
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    chosen: str | None = None
    ties: list[str] = field(default_factory=list)
    """Designs that also meet both targets and whose cost interval overlaps the chosen one's:
    the runs cannot tell them apart on cost, so the choice among them is yours to make on what
    the model leaves out (operations, skills, compliance)."""

    def summary(self) -> str:
        """The Markdown summary."""
        lines = [f"# Design review: {self.load:.3g} turns/s, p95 within {self.slo:g} s, "
                 f"${self.budget:g} per 1,000 ok turns", "",
                 f"Replications per design: until the p95's 95% interval is within "
                 f"{self.width:.0%} of its mean (at most {MAX_SEEDS} seeds).", "",
                 _markdown(self.table.drop(columns=["scenario"], errors="ignore")), ""]
        if self.chosen:
            lines += [f"**Cheapest design that meets both: {self.chosen}.**", ""]
            if self.ties:
                lines += ["Indistinguishable from it on cost (the 95% intervals overlap): "
                          + ", ".join(self.ties) + ".", ""]
            lines += ["What would change the answer (one assumption moved at a time):", "",
                      _markdown(self.sensitivity), ""]
        else:
            lines += ["**No design meets both targets at this load with the intervals "
                      "asked for.**", ""]
        return "\n".join(lines)

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``review.md`` and ``review.html`` (charts with plotly.js inline, so the file
        opens without a network) into ``folder``; returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        md, page = folder / "review.md", folder / "review.html"
        md.write_text(self.summary())
        page.write_text(self.html())
        return md, page

    def html(self) -> str:
        import plotly.graph_objects as go
        import plotly.io as pio
        ranked = self.table[self.table["verdict"] != stats.UNSTABLE]
        figure = go.Figure()
        for _, row in ranked.iterrows():
            figure.add_scatter(
                x=[row["p95"].mean], y=[row["cost_per_1k_ok"].mean], mode="markers+text",
                text=[row["design"]], textposition="top center", name=row["design"],
                error_x={"type": "data", "array": [row["p95"].high - row["p95"].mean],
                         "arrayminus": [row["p95"].mean - row["p95"].low]},
                error_y={"type": "data", "array": [row["cost_per_1k_ok"].high
                                                   - row["cost_per_1k_ok"].mean],
                         "arrayminus": [row["cost_per_1k_ok"].mean
                                        - row["cost_per_1k_ok"].low]})
        figure.add_vline(x=self.slo, line_dash="dash")
        figure.add_hline(y=self.budget, line_dash="dash")
        figure.update_layout(title="p95 latency against cost per 1,000 ok turns (95% "
                             "intervals; dashed: the targets)", xaxis_title="p95 latency (s)",
                             yaxis_title="$ per 1,000 ok turns", showlegend=False,
                             template="plotly_white", height=520)
        chart = pio.to_html(figure, include_plotlyjs=True, full_html=False,
                            div_id="review-chart")
        table = self.table.drop(columns=["scenario"], errors="ignore").astype(str)
        body = [f"<h1>{html.escape(self.summary().splitlines()[0][2:])}</h1>", chart,
                table.to_html(index=False, border=0)]
        if not self.sensitivity.empty:
            body += ["<h2>What would change the answer</h2>",
                     self.sensitivity.astype(str).to_html(index=False, border=0)]
        return ("<!doctype html><html><head><meta charset='utf-8'><title>Design review"
                "</title></head><body>" + "\n".join(body) + "</body></html>")


MAX_SEEDS = 20


def review(scenario: Scenario, slo: float, budget: float, load: float | None = None,
           width: float = 0.1, designs=DESIGNS, sensitivity: bool = True,
           n_jobs: int = 1) -> Review:
    """Review every design of ``designs`` for ``scenario`` at ``load`` turns per second
    (default: the scenario's own): ``slo`` is the p95 latency target in seconds, ``budget``
    the dollars per 1,000 ok turns; ``width`` the interval's half-width asked for, as a share
    of the mean p95 (see the module docstring)."""
    if slo <= 0 or budget <= 0 or not 0 < width < 1:
        raise ValueError(f"slo and budget must be > 0 and width in (0, 1), got slo={slo!r}, "
                         f"budget={budget!r}, width={width!r}")
    wl = scenario.workload
    load = load if load is not None else wl.arrival_rate * wl.turns.mean
    base = scenario.with_(**{"workload.arrival_rate": load / wl.turns.mean})
    rows = [_design(base, design, slo, budget, width, n_jobs) for design in designs]
    table = pd.DataFrame(rows)
    meets = table[table["verdict"] == "meets"]
    chosen = None
    out = Review(slo, budget, load, width, table)
    if len(meets):
        best = meets.loc[meets["cost_per_1k_ok"].map(lambda c: c.mean).idxmin()]
        chosen = best["design"]
        out.chosen = chosen
        out.ties = [row["design"] for _, row in meets.iterrows() if row["design"] != chosen
                    and row["cost_per_1k_ok"].low <= best["cost_per_1k_ok"].high]
        if sensitivity:
            out.sensitivity = _sensitivity(best["scenario"], slo, budget, n_jobs)
    return out


def _design(base: Scenario, design: Architecture, slo, budget, width, n_jobs) -> dict:
    scenario = capacity.size_fleet(base.with_(architecture=design))
    row = {"design": design.name, "workers": scenario.workers.count,
           "load/capacity": round(capacity.load(scenario), 3), "scenario": scenario}
    if not capacity.stable(scenario):
        return row | {"verdict": stats.UNSTABLE, "seeds": 0, "p95": stats.UNSTABLE,
                      "cost_per_1k_ok": stats.UNSTABLE, "availability": stats.UNSTABLE}
    for _ in range(4):  # a few more workers while the p95 is surely above the SLO
        table = _replicated(scenario, width, n_jobs)
        p95 = stats.confidence_interval(table["latency_all_p95"])
        if p95.low <= slo:
            break
        scenario = scenario.with_(**{"workers.count": scenario.workers.count + 1})
    cost = stats.confidence_interval(table["cost_per_ok"] * 1000, within=(0, np.inf))
    availability = stats.confidence_interval(table["availability"], within=(0, 1))
    verdict = _judge(p95, slo, cost, budget)
    return row | {"workers": scenario.workers.count, "scenario": scenario, "verdict": verdict,
                  "seeds": len(table), "p95": p95, "cost_per_1k_ok": cost,
                  "availability": availability}


def _replicated(scenario: Scenario, width: float, n_jobs: int) -> pd.DataFrame:
    """Replications until the p95's 95% interval is within ``width`` of its mean (5 seeds
    first, then more, up to :data:`MAX_SEEDS`)."""
    seeds = 5
    while True:
        table = replicate(scenario, seeds=range(seeds), n_jobs=n_jobs, progress=False)
        ci = stats.confidence_interval(table["latency_all_p95"])
        if ci.half_width <= width * abs(ci.mean) or seeds >= MAX_SEEDS:
            return table
        wanted = int(np.ceil(seeds * (ci.half_width / (width * abs(ci.mean))) ** 2))
        seeds = min(MAX_SEEDS, max(seeds + 1, wanted))


def _judge(p95, slo, cost, budget) -> str:
    if p95.high <= slo and cost.high <= budget:
        return "meets"
    if p95.low > slo or cost.low > budget:
        return "misses"
    return "too close to call"


ASSUMPTIONS = {
    "load x 1.5": lambda s: s.with_(**{"workload.arrival_rate": s.workload.arrival_rate * 1.5}),
    "load x 2": lambda s: s.with_(**{"workload.arrival_rate": s.workload.arrival_rate * 2}),
    "LLM errors x 3 (and at least 5%)": lambda s: s.with_(**{
        "llm.error_rate": min(0.9, max(0.05, 3 * s.llm.error_rate))}),
    "rate limits enforced per minute": lambda s: s.with_(**{"llm.rate_window": 60.0}),
    "no prompt cache": lambda s: s.with_(**{"llm.cache": None}),
    "8 threads per worker": lambda s: s.with_(**{"workers.slots": 8}),
}
"""The assumptions whose move could change a review's answer, each as a change."""


def _sensitivity(scenario: Scenario, slo, budget, n_jobs) -> pd.DataFrame:
    rows = []
    for name, change in ASSUMPTIONS.items():
        moved = change(scenario)
        if not capacity.stable(moved):
            rows.append({"assumption": name, "p95": stats.UNSTABLE,
                         "cost_per_1k_ok": stats.UNSTABLE, "verdict": stats.UNSTABLE})
            continue
        table = replicate(moved, seeds=range(5), n_jobs=n_jobs, progress=False)
        p95 = stats.confidence_interval(table["latency_all_p95"])
        cost = stats.confidence_interval(table["cost_per_ok"] * 1000, within=(0, np.inf))
        rows.append({"assumption": name, "p95": p95, "cost_per_1k_ok": cost,
                     "verdict": _judge(p95, slo, cost, budget)})
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    cells = table.astype(str)
    head = "| " + " | ".join(cells.columns) + " |"
    rule = "|" + "|".join("---" for _ in cells.columns) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(r) + " |" for r in cells.to_numpy()])
