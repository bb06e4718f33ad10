"""Fitting a scenario to your own call logs.

You know your system from its logs: every LLM call your agents made (when it started and ended,
its tokens, whether it failed, which conversation it served) and every tool call. :func:`fit`
turns those tables into a :class:`Fit`: a workload, an LLM and tools whose means and tails are
your system's, ready to simulate (``fitted.scenario()``) or to save as a scenario file
(:mod:`simlib.files`). Every choice it makes is stated in ``fitted.notes``, and every log row it
could not use is listed, with its line and the reason, in ``fitted.skipped``: nothing is dropped
silently.

How the turns are found: a session's calls are sorted by start time; a gap of more than ``gap``
seconds between the end of one call and the start of the next ends a turn (the user is thinking),
and a shorter one is the next step of the same turn (the agent is working). Without session ids
every call is a session of one turn. From there:

* arrivals: sessions per second, and the burstiness of their start times (CV of the gaps);
* turns per session, steps per turn, think time: the observed values (empirical);
* prompt tokens: the input of each session's first call; output tokens: every call's output;
  tool-result tokens: how much a step's input grows beyond the previous step's output;
* the LLM: time to first token (log-normal by its median and p95, from a ``ttft`` column, or
  from the intercept of latency against output tokens when there is none), decode rate (output
  tokens per second after the first token), error rate and how long a failure takes;
* tools: per tool, latency (log-normal by median and p95), error rate and share of the calls.

Readers: :func:`read_calls` takes CSV or Parquet with the columns of
:class:`simlib.records.CallLog` (``start``, ``end`` or ``latency``, ``input_tokens``,
``output_tokens``, ``status``; optionally ``session``, ``ttft``, ``cached_tokens``, and ``kind``
and ``name`` for tool rows), or OpenTelemetry spans exported as JSON with the GenAI semantic
conventions (``gen_ai.usage.input_tokens`` and the like).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import LLM, Tool, Workload
from .dists import Deterministic, Empirical, LogNormal
from .scenario import Scenario

ALIASES = {"start": ("start", "start_time", "timestamp", "started_at"),
           "end": ("end", "end_time", "finished_at"),
           "latency": ("latency", "duration", "latency_s"),
           "input_tokens": ("input_tokens", "prompt_tokens", "tokens_in"),
           "output_tokens": ("output_tokens", "completion_tokens", "tokens_out"),
           "status": ("status", "outcome", "error"),
           "session": ("session", "session_id", "conversation_id"),
           "ttft": ("ttft", "time_to_first_token"),
           "cached_tokens": ("cached_tokens", "cached_input_tokens", "tokens_cached"),
           "kind": ("kind", "type"), "name": ("name", "tool", "tool_name", "model"),
           "turn": ("turn", "turn_id", "request_id")}
"""The column names a log may use for each quantity."""
OK = ("ok", "success", "200", "", "none", "false")
BURSTY = "; these are burstier: a Poisson model understates the queues"
"""Statuses that mean the call succeeded (case-insensitive)."""


@dataclass
class Fit:
    """What :func:`fit` found: a workload, an LLM and tools, the choices made (``notes``) and
    the log rows it could not use (``skipped``: line, column, reason)."""

    workload: Workload
    llm: LLM
    tools: tuple
    notes: list[str] = field(default_factory=list)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["line", "column", "reason"]))

    def scenario(self, base: Scenario | None = None) -> Scenario:
        """The fitted parts in ``base`` (default: a plain scenario), run long enough for
        about 200 sessions."""
        base = base or Scenario()
        duration = max(600.0, 200.0 / self.workload.arrival_rate)
        return base.with_(workload=self.workload, llm=self.llm, tools=self.tools,
                          duration=duration, warmup=duration / 10)


# -- reading -----------------------------------------------------------------------------------


def read_calls(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A log file as (calls, skipped rows): CSV, Parquet or OpenTelemetry JSON. Columns are
    renamed to the names of :data:`ALIASES`; a row that cannot be read is reported in
    ``skipped`` with its line (1 = the first data row) and the reason."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty")
    if path.suffix == ".json":
        table = otel_spans(json.loads(path.read_text()))
    elif path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return clean(table, str(path))


def clean(table: pd.DataFrame, source: str = "the log") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check and convert a raw log table: required columns present (an error names the
    missing one), times parsed (numbers of seconds or ISO timestamps), latencies and tokens
    non-negative. Returns the good rows and the skipped ones."""
    table = _renamed(table)
    if table.empty:
        raise ValueError(f"{source}: the file holds no rows")
    need = ["start", "input_tokens", "output_tokens", "status"]
    missing = [c for c in need if c not in table] + \
        ([] if "end" in table or "latency" in table else ["end or latency"])
    if missing:
        raise ValueError(f"{source}: missing column(s) {', '.join(missing)}; a call log needs "
                         f"start, end (or latency), input_tokens, output_tokens, status "
                         f"(names accepted: {ALIASES})")
    out = pd.DataFrame({"line": np.arange(1, len(table) + 1)})
    problems: list[tuple[int, str, str]] = []
    out["start"] = _times(table["start"], "start", problems)
    if "latency" in table:
        out["latency"] = _numbers(table["latency"], "latency", problems, low=0.0)
    else:
        end = _times(table["end"], "end", problems)
        out["latency"] = end - out["start"]
        bad = out["latency"] < 0
        problems += [(line, "end", "ends before it starts") for line in out.loc[bad, "line"]]
        out.loc[bad, "latency"] = np.nan
    for column in ("input_tokens", "output_tokens"):
        out[column] = _numbers(table[column], column, problems, low=0.0)
    for column in ("ttft", "cached_tokens"):
        if column in table:
            out[column] = _numbers(table[column], column, problems, low=0.0, blank_ok=True)
    out["ok"] = table["status"].astype(str).str.strip().str.lower().isin(OK).to_numpy()
    out["session"] = table["session"].astype(str).to_numpy() if "session" in table else \
        out["line"].astype(str).to_numpy()
    out["kind"] = table["kind"].astype(str).str.lower().to_numpy() if "kind" in table \
        else "llm"
    if "turn" in table:
        out["turn"] = table["turn"].astype(str).to_numpy()
    out["name"] = table["name"].astype(str).to_numpy() if "name" in table else ""
    skipped = pd.DataFrame(problems, columns=["line", "column", "reason"]).drop_duplicates(
        "line").sort_values("line", ignore_index=True)
    good = out[~out["line"].isin(skipped["line"])].reset_index(drop=True)
    if good.empty:
        raise ValueError(f"{source}: no usable row ({len(skipped)} skipped, first: line "
                         f"{skipped.iloc[0].line}, {skipped.iloc[0].column}: "
                         f"{skipped.iloc[0].reason})")
    return good, skipped


def _renamed(table: pd.DataFrame) -> pd.DataFrame:
    names = {}
    lower = {c.lower().strip(): c for c in table.columns}
    for canonical, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lower:
                names[lower[alias]] = canonical
                break
    return table.rename(columns=names)


def _numbers(column: pd.Series, name: str, problems: list, low: float | None = None,
             blank_ok: bool = False) -> np.ndarray:
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    blank = text.isin(["", "nan", "None"]).to_numpy()
    for i in np.flatnonzero(np.isnan(values) & ~(blank & blank_ok)):
        problems.append((i + 1, name, f"not a number: {column.iloc[i]!r}"))
    if low is not None:
        for i in np.flatnonzero(values < low):
            problems.append((i + 1, name, f"negative: {values[i]}"))
    return values


def _times(column: pd.Series, name: str, problems: list) -> np.ndarray:
    """Seconds: numbers as they are, ISO timestamps as seconds since the first one."""
    text = column.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().mean() >= 0.5:
        values = numbers.to_numpy(dtype=float)
    else:
        stamps = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        values = (stamps - stamps.min()).dt.total_seconds().to_numpy()
    for i in np.flatnonzero(np.isnan(values)):
        problems.append((i + 1, name, f"not a time: {column.iloc[i]!r}"))
    return values


def otel_spans(document) -> pd.DataFrame:
    """OpenTelemetry spans (OTLP JSON, ``{"resourceSpans": [...]}``, or a list of spans with
    an ``attributes`` mapping) as a call log: spans with ``gen_ai.usage.*_tokens`` are LLM
    calls, spans whose ``gen_ai.operation.name`` is ``execute_tool`` are tool calls."""
    spans = document if isinstance(document, list) else [
        span for resource in document.get("resourceSpans", [])
        for scope in resource.get("scopeSpans", []) for span in scope.get("spans", [])]
    rows = []
    for span in spans:
        attributes = _attributes(span.get("attributes", {}))
        operation = attributes.get("gen_ai.operation.name", "")
        start = float(span.get("startTimeUnixNano", 0)) / 1e9
        end = float(span.get("endTimeUnixNano", 0)) / 1e9
        failed = (span.get("status") or {}).get("code") in (2, "STATUS_CODE_ERROR", "ERROR") \
            or "error.type" in attributes
        common = {"start": start, "end": end, "status": "error" if failed else "ok",
                  "session": attributes.get("gen_ai.conversation.id", "")}
        if operation == "execute_tool":
            rows.append(common | {"kind": "tool", "name": attributes.get("gen_ai.tool.name",
                                                                           "tool"),
                                  "input_tokens": 0, "output_tokens": 0})
        elif "gen_ai.usage.input_tokens" in attributes:
            rows.append(common | {
                "kind": "llm", "name": attributes.get("gen_ai.request.model", "llm"),
                "input_tokens": attributes.get("gen_ai.usage.input_tokens", 0),
                "output_tokens": attributes.get("gen_ai.usage.output_tokens", 0),
                "cached_tokens": attributes.get("gen_ai.usage.cache_read.input_tokens",
                                                attributes.get(
                                                    "gen_ai.usage.cache_read_input_tokens",
                                                    ""))})
    if not rows:
        raise ValueError("the JSON holds no GenAI span (none with gen_ai.usage.input_tokens "
                         "or gen_ai.operation.name = execute_tool)")
    table = pd.DataFrame(rows).fillna("").astype(str)
    if not (table["session"] != "").any():
        table = table.drop(columns="session")
    return table


def _attributes(raw) -> dict:
    """OTLP's ``[{"key": k, "value": {"intValue": v}}]`` or a plain mapping, as a dict."""
    if isinstance(raw, dict):
        return raw
    out = {}
    for item in raw:
        value = item.get("value", {})
        out[item.get("key")] = next(iter(value.values()), None) if isinstance(value, dict) \
            else value
    return out


# -- fitting -----------------------------------------------------------------------------------


def fit(calls: pd.DataFrame | str | Path, gap: float = 5.0, empirical: bool = True,
        skipped: pd.DataFrame | None = None) -> Fit:
    """Fit a workload, an LLM and tools to a call log (a table from :func:`read_calls`, or a
    file path). ``gap``: seconds between two calls of a session beyond which the second
    starts a new turn. ``empirical``: sizes and counts as the observed values (``False``:
    log-normal by median and p95)."""
    if not isinstance(calls, pd.DataFrame):
        calls, skipped = read_calls(calls)
    notes: list[str] = []
    llm_rows = calls[calls["kind"] == "llm"].sort_values(["session", "start"])
    if llm_rows.empty:
        raise ValueError("the log holds no LLM call (kind 'llm')")
    tool_rows = calls[calls["kind"] == "tool"]
    turns = _turns(llm_rows, gap)
    workload = _workload(llm_rows, turns, tool_rows, gap, empirical, notes)
    llm = _llm(llm_rows, notes)
    tools = _tools(tool_rows, notes)
    if not tools:
        workload = Workload(**{**_fields(workload), "tools_per_step": Deterministic(0)})
    fitted = Fit(workload, llm, tools, notes)
    if skipped is not None:
        fitted.skipped = skipped
    return fitted


def _fields(config) -> dict:
    import dataclasses
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def _turns(calls: pd.DataFrame, gap: float) -> pd.DataFrame:
    """Each call's turn: from the log's ``turn`` column when it has one, else a new turn at a
    session's first call and after a gap over ``gap``."""
    end = calls["start"] + calls["latency"]
    same = calls["session"].eq(calls["session"].shift())
    idle = calls["start"] - end.shift()
    if "turn" in calls and calls["turn"].notna().all():
        new = ~same | calls["turn"].ne(calls["turn"].shift())
    else:
        new = ~same | (idle > gap)
    return calls.assign(turn=new.cumsum(), new=new.to_numpy(), idle=idle.where(same & new))


def _sizes(values: np.ndarray, empirical: bool):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if empirical or len(values) < 20:
        return Empirical(values)
    positive = values[values > 0]
    median, p95 = np.median(positive), np.percentile(positive, 95)
    return LogNormal(median, max(p95, median * 1.0001))


def _workload(calls, turns, tool_rows, gap, empirical, notes) -> Workload:
    firsts = turns.groupby("session")["start"].min().sort_values()
    span = float(firsts.iloc[-1] - firsts.iloc[0]) if len(firsts) > 1 else 0.0
    rate = (len(firsts) - 1) / span if span > 0 else 1.0
    gaps = np.diff(firsts.to_numpy())
    cv = float(gaps.std() / gaps.mean()) if len(gaps) > 1 and gaps.mean() > 0 else float("nan")
    notes.append(f"arrivals: {len(firsts)} sessions over {span:.0f} s, {rate:.4g} a second, "
                 f"modelled as Poisson; the gaps between session starts have CV {cv:.2f} "
                 f"(1 for Poisson{BURSTY if cv > 1.5 else ''})")
    late = firsts.index[firsts > firsts.iloc[-1] - 0.1 * span]  # may be cut by the log's end
    per_session = turns[~turns["session"].isin(late)].groupby("session")["turn"].nunique() \
        .to_numpy()
    steps = turns.groupby("turn").size().to_numpy()
    think = turns["idle"].dropna().to_numpy()
    first_inputs = turns[~turns["session"].duplicated()]["input_tokens"].to_numpy()
    tools_per_step = len(tool_rows) / len(calls) if len(calls) else 0.0
    growth = _tool_results(turns) / tools_per_step if tools_per_step else 0.0
    how = "the log's turn column" if "turn" in calls else \
        f"a gap over {gap:g} s between calls of a session (shorter thinking is taken as a " \
        "step, so turns come out fewer and longer, and think times longer)"
    notes.append(f"turns: found by {how}: {len(firsts)} sessions, {turns['turn'].nunique()} "
                 f"turns, mean {steps.mean():.2f} calls (steps) a turn; turns per session "
                 f"from the {len(per_session)} sessions that started before the last tenth of "
                 f"the log (later ones may be cut by its end)")
    notes.append(f"tool results: each tool call adds {growth:.0f} tokens to the next step's "
                 f"input (how the input grows beyond the previous step's output)")
    notes.append("sizes and counts: " + ("the observed values (empirical)" if empirical else
                                         "log-normal by median and p95"))
    return Workload(
        arrival_rate=rate, turns=Empirical(per_session.astype(float)),
        think_time=_sizes(think, empirical) if len(think) else Deterministic(20.0),
        steps=Empirical(steps.astype(float)),
        tools_per_step=Deterministic(round(tools_per_step, 4)),
        prompt_tokens=_sizes(first_inputs, empirical),
        output_tokens=_sizes(calls.loc[calls["ok"], "output_tokens"].to_numpy(), empirical),
        tool_result_tokens=Deterministic(round(growth, 1)))


def _tool_results(turns: pd.DataFrame) -> float:
    """Mean tokens a step's input grows by beyond the previous step's output: the tool
    results it carries (0 when the log cannot tell)."""
    same = ~turns["new"].to_numpy()
    inputs = turns["input_tokens"].to_numpy()
    outputs = turns["output_tokens"].to_numpy()
    grow = inputs[1:] - inputs[:-1] - outputs[:-1]
    grow = grow[same[1:]]
    return float(max(0.0, np.mean(grow))) if len(grow) else 0.0


def _llm(calls: pd.DataFrame, notes: list[str]) -> LLM:
    ok = calls[calls["ok"] & (calls["latency"] > 0)]
    error_rate = float(1 - calls["ok"].mean())
    if "ttft" in ok and ok["ttft"].notna().sum() >= 10:
        ttft = ok["ttft"].dropna().to_numpy()
        decode = ok["output_tokens"] / (ok["latency"] - ok["ttft"])
        rate = float(np.median(decode[(ok["output_tokens"] > 1) & np.isfinite(decode)]))
        notes.append("LLM: time to first token from the ttft column; decode rate = output "
                     "tokens / (latency - ttft), median")
    elif np.ptp(ok["output_tokens"]) >= 1:
        slope, _ = np.polyfit(ok["output_tokens"], ok["latency"], 1)
        rate = 1 / slope if slope > 0 else LLM().decode_rate
        ttft = (ok["latency"] - ok["output_tokens"] / rate).to_numpy()
        notes.append(f"LLM: no ttft column: latency = ttft + output / rate fitted by least "
                     f"squares (rate {rate:.3g} tokens/s)")
    else:  # every answer the same length: time to first token and decoding cannot be told
        rate = LLM().decode_rate
        ttft = (ok["latency"] - ok["output_tokens"] / rate).to_numpy()
        notes.append(f"LLM: no ttft column and every answer {ok['output_tokens'].iloc[0]:.0f} "
                     f"tokens long: the decode rate is the lab's default ({rate:g} tokens/s) "
                     f"and the rest of the latency is taken as time to first token")
    ttft = ttft[ttft > 0]
    median, p95 = float(np.median(ttft)), float(np.percentile(ttft, 95))
    failed = calls.loc[~calls["ok"], "latency"].to_numpy()
    error_latency = LogNormal(float(np.median(failed)),
                              max(float(np.percentile(failed, 95)), float(np.median(failed))
                                  * 1.0001)) if len(failed) >= 5 and np.median(failed) > 0 \
        else LLM().error_latency
    notes.append(f"LLM: error rate {error_rate:.4g} ({(~calls['ok']).sum()} failed calls); "
                 f"time to first token log-normal, median {median:.3g} s, p95 {p95:.3g} s")
    notes.append("LLM: a logged call is what the application saw, the SDK's retries inside "
                 "it: the fitted model has sdk_retries=0, so they are not counted twice")
    return LLM(ttft=LogNormal(median, max(p95, median * 1.0001)), decode_rate=rate,
               error_rate=min(error_rate, 0.99), error_latency=error_latency, sdk_retries=0)


def _identifier(name: str) -> str:
    """A tool's name as a scenario accepts it (letters, digits and underscores)."""
    name = re.sub(r"\W", "_", name) or "tool"
    return f"tool_{name}" if name[0].isdigit() else name


def _tools(rows: pd.DataFrame, notes: list[str]) -> tuple:
    tools = []
    for name, group in rows.groupby("name", sort=True):
        ok = group.loc[group["ok"], "latency"].to_numpy()
        ok = ok[ok > 0]
        if len(ok) < 2:
            continue
        median, p95 = float(np.median(ok)), float(np.percentile(ok, 95))
        tools.append(Tool(_identifier(str(name)), LogNormal(median, max(p95, median * 1.0001)),
                          error_rate=float(1 - group["ok"].mean()), capacity=None,
                          weight=float(len(group))))
        notes.append(f"tool {name}: {len(group)} calls, latency log-normal median "
                     f"{median:.3g} s p95 {p95:.3g} s, error rate {1 - group['ok'].mean():.3g}")
    return tuple(tools)
