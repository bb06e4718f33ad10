"""Real workload traces: load them, check them, cut them, and stand in for them.

A *trace* is a list of requests that a real service received, each with the moment it arrived
and how many tokens it read and wrote. Replaying one through a simulated design answers
questions a Poisson process cannot: real traffic comes in bursts, goes quiet for minutes, and
mixes tiny prompts with enormous ones. Two public traces are supported:

* **Azure LLM inference 2023** (CC-BY-4.0, Patel et al., "Splitwise", ISCA 2024): two CSV files,
  one hour each, ``TIMESTAMP,ContextTokens,GeneratedTokens``. The conversation trace is close to
  Poisson (about 5.5 requests/s); the code-completion trace of the *same hour* is about
  2.5 requests/s and very bursty, with idle gaps of minutes. Same hour, same provider, very
  different queues: the first lesson of real traces.
* **RAGPulse** (MIT, arXiv 2511.12979): a JSONL file of a university RAG Q&A service,
  ``timestamp`` in whole seconds, token lengths, and a ``session_id`` that groups the turns of
  one conversation.

Every loader returns a :class:`Trace`: times in seconds from the first request (sorted, so
``times[0] == 0.0``), prompt and output tokens, and a session number per request when the trace
has sessions. Loaders read every row and refuse a malformed one with a ``ValueError`` naming the
file, the line and what was wrong, so a truncated download fails loudly instead of quietly
replaying half a trace::

    from simlib import traces
    path = traces.find("azure-code")          # None when the reference copies are absent
    trace = traces.load(path)                 # picks the reader by suffix
    trace.rate, trace.duration, len(trace)
    first_ten_minutes = trace.window(0, 600)
    twice_as_busy = trace.scaled(2.0)

The originals are not shipped with simlib. What *is* shipped (in the repository's ``data/``) is
derived from them: quantile tables of token sizes and per-minute arrival counts, with the
attribution each licence asks for. :func:`from_quantiles` turns a quantile table into a
Trace-shaped stand-in when the originals are absent. It keeps the token-size marginals and the
mean rate, *not* the burstiness: its arrivals are Poisson by construction.

This module imports only the standard library, numpy, pandas and :mod:`simlib.validate`, so that
:mod:`simlib.config` can import :class:`Trace` without an import cycle.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sysconfig
from dataclasses import dataclass
from datetime import datetime
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd

from .validate import check_number

#: Where the reference copies of the original traces live, beside the repository.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _data() -> Path:
    """The derived tables (quantiles, arrivals, summaries, the example log): ``data/`` of the
    checkout, or where a wheel installs them (``<prefix>/share/resilient-agents-lab/data``)."""
    here = Path(__file__).resolve().parents[1] / "data"
    installed = Path(sysconfig.get_path("data")) / "share" / "resilient-agents-lab" / "data"
    return here if here.is_dir() or not installed.is_dir() else installed


#: The repository's derived tables (see :func:`_data`).
DATA = _data()

#: The known original traces: name -> path under :data:`SHARED`.
KNOWN = {
    "azure-conv": "azure-llm-2023/AzureLLMInferenceTrace_conv.csv",
    "azure-code": "azure-llm-2023/AzureLLMInferenceTrace_code.csv",
    "ragpulse": "ragpulse/0_trace.jsonl",
}
_NAMES = {Path(rel).name: name for name, rel in KNOWN.items()}

AZURE_HEADER = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
RAGPULSE_KEYS = ("timestamp", "input_length", "output_length", "session_id")
_AZURE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_EPOCH = datetime(1970, 1, 1)


# --------------------------------------------------------------------------------------------
# The Trace
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Trace:
    """A replayable list of requests (frozen; its arrays are read-only copies).

    ``times`` are seconds, sorted ascending and >= 0; a loaded trace starts at 0.0 (its first
    request). ``prompt_tokens`` and ``output_tokens`` are whole numbers >= 0, one per request.
    ``sessions`` numbers each request's session 0..k-1 in order of first appearance, or is
    None when the trace has no sessions (then every request is a session of its own).
    """

    name: str
    times: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    sessions: np.ndarray | None
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Trace.name must be a str, got {self.name!r}")
        times = _frozen(_as_times(self.times))
        object.__setattr__(self, "times", times)
        for field in ("prompt_tokens", "output_tokens"):
            values = _as_counts(f"Trace.{field}", getattr(self, field), len(times))
            object.__setattr__(self, field, _frozen(values))
        if self.sessions is not None:
            object.__setattr__(self, "sessions", _frozen(_as_sessions(self.sessions, len(times))))

    def __len__(self) -> int:
        return len(self.times)

    def __repr__(self) -> str:
        return (f"Trace({self.name!r}: {len(self)} requests over {self.duration:.1f} s, "
                f"{self.rate:.3g}/s, sessions={self.n_sessions})")

    @property
    def duration(self) -> float:
        """Time of the last request (0.0 for an empty trace)."""
        return float(self.times[-1]) if len(self) else 0.0

    @property
    def rate(self) -> float:
        """Requests per second over the span: ``len / duration`` (nan if the span is 0)."""
        return len(self) / self.duration if self.duration > 0 else math.nan

    @property
    def n_sessions(self) -> int | None:
        """How many sessions, or None when the trace has no sessions."""
        if self.sessions is None:
            return None
        return int(self.sessions.max()) + 1 if len(self) else 0

    def interarrival_cv(self) -> float:
        """Standard deviation / mean of the gaps between requests (1 for a Poisson process)."""
        gaps = np.diff(self.times)
        return float(gaps.std(ddof=1) / gaps.mean()) if len(gaps) > 1 else math.nan

    def dispersion(self, width: float = 10.0) -> float:
        """Variance / mean of the request counts in whole ``width``-second bins (1 for a Poisson
        process; more for bursts). The partial bin at the end is dropped; nan with fewer than
        two whole bins."""
        bins = int(self.duration // width)
        if bins < 2:
            return math.nan
        counts = np.bincount((self.times[self.times < bins * width] // width).astype(np.int64),
                             minlength=bins)
        return float(counts.var(ddof=1) / counts.mean())

    def window(self, start: float, end: float) -> Trace:
        """The requests in ``[start, end)``, shifted so that ``start`` becomes time 0.

        A quiet opening stays quiet: if the first request of the window comes 30 s after
        ``start``, it comes at 30 s in the result. Sessions are renumbered 0..k-1.
        """
        check_number("window.start", start, low=0)
        check_number("window.end", end, low=start, strict=True, what="window.start")
        keep = (self.times >= start) & (self.times < end)
        sessions = None if self.sessions is None else _renumber(self.sessions[keep])
        return Trace(self.name, self.times[keep] - start, self.prompt_tokens[keep],
                     self.output_tokens[keep], sessions, self.source)

    def scaled(self, speed: float) -> Trace:
        """The same requests played ``speed`` times faster (times divided by ``speed``)."""
        check_number("scaled.speed", speed, low=0, strict=True)
        return Trace(self.name, self.times / speed, self.prompt_tokens, self.output_tokens,
                     self.sessions, self.source)


def _frozen(values: np.ndarray) -> np.ndarray:
    values = np.array(values, copy=True)
    values.flags.writeable = False
    return values


def _as_times(times) -> np.ndarray:
    values = np.asarray(times, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"Trace.times must be one-dimensional, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"Trace.times must be finite, got {values[~np.isfinite(values)][0]!r}")
    if len(values) and values[0] < 0:
        raise ValueError(f"Trace.times must be >= 0, got {values[0]!r} first")
    down = np.flatnonzero(np.diff(values) < 0)
    if len(down):
        i = int(down[0])
        raise ValueError(f"Trace.times must be sorted ascending, but times[{i + 1}] = "
                         f"{values[i + 1]!r} < times[{i}] = {values[i]!r}")
    return values


def _as_counts(field: str, values, n: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"{field} must have one value per request ({n}), got shape "
                         f"{values.shape}")
    if values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values % 1 == 0):
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu":
        raise ValueError(f"{field} must hold whole numbers, got dtype {values.dtype}")
    if n and values.min() < 0:
        raise ValueError(f"{field} must be >= 0, got {values.min()!r} "
                         f"at index {int(np.argmin(values))}")
    return values.astype(np.int64)


def _as_sessions(sessions, n: int) -> np.ndarray:
    values = _as_counts("Trace.sessions", sessions, n)
    if n and not np.array_equal(_renumber(values), values):
        raise ValueError("Trace.sessions must number sessions 0..k-1 in order of first "
                         "appearance (use simlib.traces.number_sessions to make them so)")
    return values


def _renumber(keys: np.ndarray) -> np.ndarray:
    """Session keys -> 0..k-1 in order of first appearance."""
    return number_sessions(keys.tolist())


def number_sessions(keys) -> np.ndarray:
    """Map any hashable session keys to 0..k-1 in order of first appearance."""
    index: dict = {}
    return np.array([index.setdefault(key, len(index)) for key in keys], dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Finding and loading the originals
# --------------------------------------------------------------------------------------------

def find(name: str, folder: str | Path | None = None) -> Path | None:
    """The path of a known original trace, or None if it is not there: first in ``folder``
    (laid out like :data:`SHARED`, or flat), then under :data:`SHARED`.

    Known names: ``"azure-conv"``, ``"azure-code"``, ``"ragpulse"``; any other raises
    ``ValueError`` (a typo should not look like a missing file).
    """
    if name not in KNOWN:
        raise ValueError(f"unknown trace {name!r}; known: {', '.join(KNOWN)}")
    relative = Path(KNOWN[name])
    places = [Path(folder) / relative, Path(folder) / relative.name] if folder else []
    return next((path for path in [*places, SHARED / relative] if path.is_file()), None)


def load(path: str | Path) -> Trace:
    """Load a trace, choosing the reader by suffix: ``.csv`` Azure, ``.jsonl`` RAGPulse."""
    path = _existing(path)
    readers = {".csv": load_azure, ".jsonl": load_ragpulse}
    if path.suffix.lower() not in readers:
        raise ValueError(f"{path}: cannot tell the trace format from the suffix "
                         f"{path.suffix!r}; expected .csv (Azure LLM inference 2023) or "
                         f".jsonl (RAGPulse)")
    return readers[path.suffix.lower()](path)


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no trace file at {path}")
    return path


def _trace_name(path: Path) -> str:
    return _NAMES.get(path.name, path.stem)


def _row_error(path: Path, line: int, message: str) -> ValueError:
    return ValueError(f"{path}, line {line}: {message}")


def _parse_count(text: str, field: str) -> int:
    """A token count written as a whole number >= 0 (raises ValueError saying what is wrong)."""
    text = text.strip()
    if re.fullmatch(r"-\d+", text):
        raise ValueError(f"{field} must be >= 0, got {text}")
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"{field} must be a whole number >= 0, got {text!r}")
    return int(text)


def _azure_nanoseconds(text: str) -> int:
    """``2023-11-16 18:15:46.6805900`` -> integer nanoseconds since 1970 (exact: 7 digits
    of fraction do not survive a float of seconds since 1970, so we subtract as integers)."""
    match = _AZURE_TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"TIMESTAMP must look like 2023-11-16 18:15:46.6805900, got {text!r}")
    *fields, fraction = match.groups()
    try:
        moment = datetime(*(int(f) for f in fields))
    except ValueError as error:
        raise ValueError(f"TIMESTAMP {text!r} is not a valid date and time ({error})") from None
    delta = moment - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    return seconds * 10**9 + int((fraction or "0").ljust(9, "0"))


def load_azure(path: str | Path) -> Trace:
    """Read an Azure LLM inference 2023 CSV (``TIMESTAMP,ContextTokens,GeneratedTokens``).

    Every row is checked; the first bad one raises ``ValueError`` naming the file and its line
    (the header is line 1). Blank lines are skipped. Rows are sorted by time (stable) and times
    made relative to the first request.
    """
    path = _existing(path)
    stamps, prompts, outputs = [], [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != AZURE_HEADER:
            raise _row_error(path, 1, f"expected the header {','.join(AZURE_HEADER)}, "
                                      f"got {','.join(header or []) or 'nothing'}")
        for row in reader:
            if not row:
                continue
            try:
                stamp, prompt, output = _azure_row(row)
            except ValueError as error:
                raise _row_error(path, reader.line_num, str(error)) from None
            stamps.append(stamp)
            prompts.append(prompt)
            outputs.append(output)
    return _assemble(path, _trace_name(path), stamps, prompts, outputs, None, 10**9)


def _azure_row(row: list[str]) -> tuple[int, int, int]:
    if len(row) != len(AZURE_HEADER):
        raise ValueError(f"expected {len(AZURE_HEADER)} fields ({','.join(AZURE_HEADER)}), "
                         f"got {len(row)}: {','.join(row)!r}")
    return (_azure_nanoseconds(row[0]), _parse_count(row[1], "ContextTokens"),
            _parse_count(row[2], "GeneratedTokens"))


def load_ragpulse(path: str | Path) -> Trace:
    """Read a RAGPulse JSONL trace (one JSON object per line).

    Uses ``timestamp`` (seconds, written as a string), ``input_length``, ``output_length`` and
    ``session_id``; ``hash_ids`` is ignored. A bad line (not JSON, not an object, a key missing,
    a bad value) raises ``ValueError`` naming the file and line. Blank lines are skipped (the
    published file ends with one). The file is not in time order, so rows are sorted (stable)
    and sessions numbered 0..k-1 in order of first appearance *after* sorting.

    Quirk of the published ``0_trace.jsonl``: it is two runs, each sorted, each covering a
    whole week from its own start (the session ids, which begin with a Unix time in ms, put
    the second run exactly one week after the first). Sorting as the publishers' replay does
    therefore lays two weeks over one.
    """
    path = _existing(path)
    stamps, prompts, outputs, sessions = [], [], [], []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                stamp, prompt, output, session = _ragpulse_row(line)
            except ValueError as error:
                raise _row_error(path, line_number, str(error)) from None
            stamps.append(stamp)
            prompts.append(prompt)
            outputs.append(output)
            sessions.append(session)
    return _assemble(path, _trace_name(path), stamps, prompts, outputs, sessions, 1)


def _ragpulse_row(line: str) -> tuple[float, int, int, str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    missing = [key for key in RAGPULSE_KEYS if key not in record]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    return (_seconds(record["timestamp"]), _json_count(record["input_length"], "input_length"),
            _json_count(record["output_length"], "output_length"),
            _session_key(record["session_id"]))


def _seconds(value) -> float:
    """A RAGPulse timestamp: a string (or number) of seconds >= 0."""
    try:
        seconds = float(value) if isinstance(value, (str, Real)) else math.nan
    except ValueError:
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"timestamp must be seconds >= 0 (e.g. \"27\"), got {value!r}")
    return seconds


def _json_count(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{field} must be a whole number >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{field} must be >= 0, got {value}")
    return int(value)


def _session_key(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, Integral)):
        raise ValueError(f"session_id must be a string, got {value!r}")
    return str(value)


def _assemble(path: Path, name: str, stamps: list, prompts: list, outputs: list,
              sessions: list | None, per_second: int) -> Trace:
    """Sort rows by time (stable), make times relative to the first, build the Trace.

    ``stamps`` are in units of 1/``per_second`` s, subtracted before any division so that
    large absolute times keep their precision."""
    if not stamps:
        raise ValueError(f"{path}: the trace has no requests")
    order = sorted(range(len(stamps)), key=stamps.__getitem__)
    first = stamps[order[0]]
    times = np.array([(stamps[i] - first) / per_second for i in order], dtype=float)
    pick = np.asarray(order, dtype=np.int64)
    numbered = None if sessions is None else number_sessions([sessions[i] for i in order])
    return Trace(name, times, np.asarray(prompts, dtype=np.int64)[pick],
                 np.asarray(outputs, dtype=np.int64)[pick], numbered, str(path))


# --------------------------------------------------------------------------------------------
# A stand-in from a derived quantile table
# --------------------------------------------------------------------------------------------

def from_quantiles(table_path: str | Path, n: int, rate: float | None = None,
                   seed: int | np.random.Generator = 0) -> Trace:
    """A Trace-shaped **stand-in** for a real trace, built from its quantile table.

    ``table_path`` is a ``data/<name>_tokens.csv`` table (columns ``quantile, prompt_tokens,
    output_tokens``, ``#`` comment lines). The stand-in has ``n`` requests arriving as a
    Poisson process at ``rate`` per second (None: the trace's mean rate, read from
    ``traces_summary.csv`` beside the table), the first at time 0, and token sizes drawn by
    inverse-CDF interpolation between the table's quantiles, rounded to whole tokens, from
    ``numpy.random.default_rng(seed)``.

    What it keeps: the marginal distributions of prompt and output tokens (to the table's
    resolution) and the mean rate. What it loses: **the burstiness** (its inter-arrival
    times have CV 1, whatever the original's), idle gaps, daily cycles, sessions, and any
    correlation between a request's prompt and output sizes. Use the original trace when the
    question is about bursts.
    """
    table_path = _existing(table_path)
    check_number("from_quantiles.n", n, low=1, integer=True)
    table = read_quantiles(table_path)
    base = table_path.stem.removesuffix("_tokens")
    if rate is None:
        rate = summary_rate(table_path.parent / "traces_summary.csv", base)
    check_number("from_quantiles.rate", rate, low=0, strict=True)
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate, size=n - 1)
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    q = table["quantile"].to_numpy(dtype=float)
    prompts, outputs = (_inverse_cdf(rng, q, table[c].to_numpy(dtype=float), n)
                        for c in ("prompt_tokens", "output_tokens"))
    return Trace(f"{base} (stand-in)", times, prompts, outputs, None, str(table_path))


def read_quantiles(table_path: str | Path) -> pd.DataFrame:
    """Read and check a quantile table: quantiles from 0 to 1, values non-decreasing, >= 0."""
    table = pd.read_csv(table_path, comment="#")
    columns = ["quantile", "prompt_tokens", "output_tokens"]
    if list(table.columns) != columns:
        raise ValueError(f"{table_path}: expected columns {columns}, got {list(table.columns)}")
    q = table["quantile"].to_numpy(dtype=float)
    if len(q) < 2 or q[0] != 0 or q[-1] != 1 or np.any(np.diff(q) <= 0):
        raise ValueError(f"{table_path}: quantile must rise strictly from 0 to 1, got {q}")
    for column in columns[1:]:
        values = table[column].to_numpy(dtype=float)
        if values[0] < 0 or np.any(np.diff(values) < 0):
            raise ValueError(f"{table_path}: {column} must be >= 0 and non-decreasing")
    return table


def summary_rate(summary_path: str | Path, name: str) -> float:
    """The mean rate (requests/s) of trace ``name`` in a ``traces_summary.csv``."""
    summary = pd.read_csv(_existing(summary_path), comment="#").set_index("trace")
    if name not in summary.index:
        raise ValueError(f"{summary_path} has no row for trace {name!r}; pass rate=")
    return float(summary.loc[name, "rate_per_s"])


def _inverse_cdf(rng: np.random.Generator, q: np.ndarray, values: np.ndarray,
                 n: int) -> np.ndarray:
    return np.rint(np.interp(rng.random(n), q, values)).astype(np.int64)
