"""Your own system (issue 17): fitting a scenario to call logs, scenario files, the review.

The shipped example log (data/example_calls.csv, made by tools/make_example_log.py from the known
scenario data/example_scenario.toml) is fitted and the fit compared with what made it: means
within 99.9% intervals of their sampling error, medians and p95s within stated tolerances.
Malformed logs give errors that name the row and the column; a partly bad file reports what it
skipped.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simlib as sl
from simlib import files, fit, review
from simlib.traces import DATA

Z = 3.29  # the 99.9% two-sided normal quantile
LOG = DATA / "example_calls.csv"
KNOWN = files.load(DATA / "example_scenario.toml")


@pytest.fixture(scope="module")
def fitted():
    return fit.fit(LOG)


def within_se(estimate: float, truth: float, sd: float, n: int) -> bool:
    return abs(estimate - truth) <= Z * sd / math.sqrt(n)


def test_the_example_log_is_what_the_script_makes(tmp_path):
    """Re-deriving the example gives the same bytes (the data is not hand-edited)."""
    subprocess.run([sys.executable, "tools/make_example_log.py", "--out", str(tmp_path)],
                   check=True, capture_output=True, cwd=DATA.parent)
    assert (tmp_path / "example_calls.csv").read_bytes() == LOG.read_bytes()
    assert files.load(tmp_path / "example_scenario.toml") == KNOWN


def test_fit_recovers_the_rates_and_counts(fitted):
    w, k = fitted.workload, KNOWN.workload
    calls, _ = fit.read_calls(LOG)
    sessions = calls["session"].nunique()
    # a Poisson count over the hour: rate has sd sqrt(rate / T)
    assert within_se(w.arrival_rate, k.arrival_rate, math.sqrt(k.arrival_rate * 3600), 3600)
    turns = np.asarray(w.turns.values)
    assert within_se(w.turns.mean, k.turns.mean, turns.std(), len(turns))
    think = np.asarray(w.think_time.values)
    assert within_se(w.think_time.mean, k.think_time.mean, think.std(), len(think))
    steps = np.asarray(w.steps.values)
    assert within_se(w.steps.mean, k.steps.mean, steps.std(), len(steps))
    assert w.tools_per_step.mean == pytest.approx(k.tools_per_step.mean, abs=0.03)
    assert sessions > 1000


@pytest.mark.parametrize("field, q", [("prompt_tokens", 50), ("prompt_tokens", 95),
                                      ("output_tokens", 50), ("output_tokens", 95)])
def test_fit_recovers_token_sizes_within_10_percent(fitted, field, q):
    sizes = np.asarray(getattr(fitted.workload, field).values)
    known = getattr(KNOWN.workload, field)
    truth = known.median if q == 50 else known.p95
    assert np.percentile(sizes, q) == pytest.approx(truth, rel=0.1)


def test_fit_recovers_the_llm_and_tools(fitted):
    llm, known = fitted.llm, KNOWN.llm
    assert llm.ttft.median == pytest.approx(known.ttft.median, rel=0.05)
    assert llm.ttft.p95 == pytest.approx(known.ttft.p95, rel=0.1)
    assert llm.decode_rate == pytest.approx(known.decode_rate, rel=0.02)
    calls = fit.read_calls(LOG)[0]
    n = int((calls["kind"] == "llm").sum())
    p = known.error_rate
    assert within_se(llm.error_rate, p, math.sqrt(p * (1 - p)), n)
    (tool,) = fitted.tools
    assert tool.name == "kb_search"
    assert tool.latency.median == pytest.approx(KNOWN.tools[0].latency.median, rel=0.05)
    assert tool.latency.p95 == pytest.approx(KNOWN.tools[0].latency.p95, rel=0.1)
    # tool results: how a step's input grows beyond the previous output, per tool call
    assert fitted.workload.tool_result_tokens.mean == pytest.approx(
        KNOWN.workload.tool_result_tokens.mean, rel=0.15)
    assert llm.sdk_retries == 0 and any("sdk_retries=0" in n for n in fitted.notes)


def test_without_turn_ids_the_gap_rule_finds_turns_and_says_how(tmp_path):
    log = pd.read_csv(LOG).drop(columns="turn")
    log.to_csv(tmp_path / "calls.csv", index=False)
    fitted = fit.fit(tmp_path / "calls.csv", gap=5.0)
    assert any("a gap over 5 s" in note for note in fitted.notes)
    # shorter thinking is merged into turns: fewer, longer turns, never more
    assert fitted.workload.turns.mean <= fit.fit(LOG).workload.turns.mean


def test_a_fitted_scenario_simulates_like_the_known_one(fitted):
    """Same workload at the same design: the fitted scenario's p95 is within 15% of the known
    scenario's (each the mean of 4 seeds)."""
    design = {"architecture": KNOWN.architecture, "workers": KNOWN.workers,
              "duration": 1800.0, "warmup": 180.0}
    known = sl.replicate(KNOWN.with_(**design), seeds=range(4))["latency_p95"].mean()
    ours = sl.replicate(fitted.scenario().with_(**design), seeds=range(4))["latency_p95"].mean()
    assert ours == pytest.approx(known, rel=0.15)


# -- malformed logs ---------------------------------------------------------------------------


def write(tmp_path, text: str, name: str = "calls.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "start,end,input_tokens,output_tokens,status\n" + "".join(
    f"{i},{i + 2.5},{300 + i},{100 + i},ok\n" for i in range(30))


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(ValueError, match="missing column.*output_tokens"):
        fit.read_calls(write(tmp_path, "start,end,input_tokens,status\n1,2,3,ok\n"))
    with pytest.raises(ValueError, match="end or latency"):
        fit.read_calls(write(tmp_path, "start,input_tokens,output_tokens,status\n1,2,3,ok\n"))


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        fit.read_calls(write(tmp_path, ""))
    with pytest.raises(ValueError, match="no rows"):
        fit.read_calls(write(tmp_path, "start,end,input_tokens,output_tokens,status\n"))


def test_bad_rows_are_skipped_and_reported_with_their_line_and_column(tmp_path):
    bad = GOOD + "31,30,10,10,ok\nyesterday,40,10,10,ok\n32,35,-5,10,ok\n33,36,10,many,ok\n"
    calls, skipped = fit.read_calls(write(tmp_path, bad))
    assert len(calls) == 30
    assert skipped.to_dict("records") == [
        {"line": 31, "column": "end", "reason": "ends before it starts"},
        {"line": 32, "column": "start", "reason": "not a time: 'yesterday'"},
        {"line": 33, "column": "input_tokens", "reason": "negative: -5.0"},
        {"line": 34, "column": "output_tokens", "reason": "not a number: 'many'"}]
    fitted = fit.fit(write(tmp_path, bad))
    assert len(fitted.skipped) == 4


def test_a_file_with_no_usable_row_says_why(tmp_path):
    with pytest.raises(ValueError, match="no usable row.*line 1.*latency"):
        fit.read_calls(write(tmp_path, "start,latency,input_tokens,output_tokens,status\n"
                                       "1,-2,3,4,ok\n"))


def test_iso_timestamps_and_alias_names_are_read(tmp_path):
    text = "timestamp,duration,prompt_tokens,completion_tokens,outcome,conversation_id\n" + \
        "".join(f"2026-12-04T10:00:{i:02d}Z,1.5,300,100,{'error' if i % 10 == 0 else 'ok'},"
                f"s{i // 3}\n" for i in range(30))
    calls, skipped = fit.read_calls(write(tmp_path, text))
    assert skipped.empty and calls["start"].tolist()[:3] == [0.0, 1.0, 2.0]
    assert calls["ok"].sum() == 27 and calls["session"].nunique() == 10


def test_opentelemetry_genai_spans_are_a_call_log(tmp_path):
    """OTLP JSON with the GenAI semantic conventions: chat spans with token usage, tool
    spans (gen_ai.operation.name execute_tool), an error status."""
    def span(start, end, attributes, code=1):
        return {"startTimeUnixNano": str(int(start * 1e9)), "endTimeUnixNano":
                str(int(end * 1e9)), "status": {"code": code},
                "attributes": [{"key": k, "value": {"intValue" if isinstance(v, int)
                                                    else "stringValue": v}}
                               for k, v in attributes.items()]}
    spans = []
    for i in range(40):
        spans.append(span(i * 10, i * 10 + 2, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
            "gen_ai.usage.input_tokens": 500 + i, "gen_ai.usage.output_tokens": 80,
            "gen_ai.conversation.id": f"c{i // 4}"}, code=2 if i == 3 else 1))
        spans.append(span(i * 10 + 2, i * 10 + 2.4, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "web-search",
            "gen_ai.conversation.id": f"c{i // 4}"}))
    path = write(tmp_path, json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}),
                 "spans.json")
    calls, _ = fit.read_calls(path)
    assert (calls["kind"] == "llm").sum() == 40 and (calls["kind"] == "tool").sum() == 40
    fitted = fit.fit(path)
    assert fitted.llm.error_rate == pytest.approx(1 / 40)
    assert fitted.tools[0].name == "web_search"
    assert fitted.workload.arrival_rate == pytest.approx(9 / 360)
    with pytest.raises(ValueError, match="no GenAI span"):
        fit.read_calls(write(tmp_path, json.dumps([{"name": "http"}]), "other.json"))


# -- scenario files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(sl.presets.ARTICLE))
def test_a_scenario_file_round_trip_gives_an_equal_scenario(tmp_path, name):
    scenario = sl.presets.ARTICLE[name]().with_(
        faults=(sl.faults.Crash("workers", 100, 30, index=None),),
        resilience=sl.Resilience(broker=sl.Broker(), failover=sl.Failover()))
    assert files.load(files.save(scenario, tmp_path / "s.toml")) == scenario
    hosted = scenario.with_(llm=sl.SelfHosted(replicas=2))
    assert files.load(files.save(hosted, tmp_path / "h.toml")) == hosted


@pytest.mark.parametrize("text, needles", [
    ("[llm]\nttfx = 0.5\n", ("llm.ttfx", "unknown field", "ttft")),
    ("[llm]\nerror_rate = 2.0\n", ("llm.error_rate", "2.0", "<= 1")),
    ("[workload.turns]\nkind = 'Poisson'\nmean = 3\n", ("workload.turns.kind", "'Poisson'",
                                                        "LogNormal")),
    ("[[faults]]\nkind = 'Meteor'\n", ("faults[0].kind", "'Meteor'", "Outage")),
    ("[[tools]]\nname = 'search'\ncapacity = 0\n", ("tools.search.capacity", ">= 1")),
    ("duration = 'long'\n", ("duration", "'long'", "a number")),
    ("[llm\n", ("not a valid TOML",)),
])
def test_a_bad_scenario_file_names_the_field(tmp_path, text, needles):
    with pytest.raises((ValueError, TypeError)) as error:
        files.load(write(tmp_path, text, "bad.toml"))
    for needle in needles:
        assert needle in str(error.value)
    assert "bad.toml" in str(error.value)


def test_a_partial_file_keeps_the_defaults(tmp_path):
    scenario = files.load(write(tmp_path, "duration = 300.0\n[llm]\nerror_rate = 0.1\n",
                                "p.toml"))
    assert scenario == sl.Scenario(duration=300.0, llm=sl.LLM(error_rate=0.1))


def test_a_replayed_trace_is_not_written():
    trace = sl.traces.Trace("t", [0.0, 1.0], [10, 10], [5, 5], None)
    with pytest.raises(ValueError, match="workload.replay"):
        files.to_dict(sl.presets.from_trace(trace))


# -- the review -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviewed():
    scenario = KNOWN.with_(duration=900.0, warmup=90.0)
    return review.review(scenario, slo=30.0, budget=20.0, width=0.1,
                         designs=sl.DESIGNS[:2] + sl.DESIGNS[4:5])


def test_the_review_runs_enough_seeds_for_the_interval_asked(reviewed):
    for _, row in reviewed.table.iterrows():
        p95 = row["p95"]
        assert p95.half_width <= 0.1 * p95.mean or row["seeds"] == review.MAX_SEEDS


def test_an_unstable_design_is_reported_not_ranked():
    """An LLM endpoint serving one call at a time (about 2.5 s a call) cannot carry 5 turns a
    second of about 2 calls each: every design on it is unstable, reported as such, with no
    number, and nothing is chosen."""
    scenario = KNOWN.with_(duration=600.0, warmup=60.0, **{"llm.concurrency": 1})
    unstable = review.review(scenario, slo=20.0, budget=20.0, load=5.0,
                             designs=[sl.presets.SIMPLE], sensitivity=False)
    row = unstable.table.iloc[0]
    assert row["verdict"] == sl.stats.UNSTABLE and row["p95"] == sl.stats.UNSTABLE
    assert row["seeds"] == 0 and row["load/capacity"] > 1
    assert unstable.chosen is None and "No design meets" in unstable.summary()


def test_the_review_writes_a_summary_and_a_report_with_its_chart(reviewed, tmp_path):
    md, page = reviewed.write(tmp_path)
    text = md.read_text()
    assert "| design |" in text and "Replications per design" in text
    html = page.read_text()
    assert "review-chart" in html and "plotly" in html.lower() and len(html) > 1_000_000


def test_the_command_line_fits_and_reviews(tmp_path):
    out = tmp_path / "fitted.toml"
    done = subprocess.run([sys.executable, "-m", "simlib", "fit", str(LOG), "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote the fitted scenario" in done.stderr and files.load(out)
    done = subprocess.run([sys.executable, "-m", "simlib", "run", "--scenario", str(out),
                           "--set", "duration=200", "--set", "warmup=20"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "latency_p95" in done.stdout
    bad = write(tmp_path, "[llm]\nerror_rate = 2\n", "bad.toml")
    done = subprocess.run([sys.executable, "-m", "simlib", "run", "--scenario", str(bad)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "llm.error_rate" in done.stderr


def test_the_review_names_the_designs_it_cannot_tell_apart(reviewed):
    """A design is tied with the chosen one exactly when it meets both targets and its cost
    interval overlaps the chosen design's; the summary names the ties."""
    assert reviewed.chosen is not None, reviewed.summary()
    table = reviewed.table.set_index("design")
    best = table.loc[reviewed.chosen, "cost_per_1k_ok"]
    for design, row in table.iterrows():
        overlaps = row["verdict"] == "meets" and row["cost_per_1k_ok"].low <= best.high
        assert (design in reviewed.ties) == (overlaps and design != reviewed.chosen)
    if reviewed.ties:
        assert "Indistinguishable from it on cost" in reviewed.summary()
