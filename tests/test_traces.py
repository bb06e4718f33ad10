"""simlib.traces: loading the public traces, refusing malformed ones, and the derived tables.

The checks on the real traces run only when the reference copies exist in ../shared/data (they
are not part of the repository); their expected figures come from shared/data/README.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib import traces
from simlib.traces import Trace

ROOT = Path(__file__).resolve().parents[1]
DATA = traces.DATA
NAMES = list(traces.KNOWN)
HAVE_ORIGINALS = all(traces.find(name) is not None for name in NAMES)
originals = pytest.mark.skipif(
    not HAVE_ORIGINALS,
    reason=f"the original traces are not in {traces.SHARED} (reference copies, not shipped)")


def real(name: str) -> Trace:
    path = traces.find(name)
    if path is None:
        pytest.skip(f"{name}: original trace not found under {traces.SHARED}")
    return traces.load(path)


# --------------------------------------------------------------------------------------------
# The real traces (figures from shared/data/README.md, with loose bounds)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, rows", [("azure-conv", 19_366), ("azure-code", 8_819),
                                        ("ragpulse", 7_106)])
def test_real_traces_have_every_row_sorted_from_zero(name, rows):
    trace = real(name)
    assert len(trace) == rows
    assert trace.name == name
    assert trace.times[0] == 0.0
    assert np.all(np.diff(trace.times) >= 0)
    assert trace.prompt_tokens.min() >= 0 and trace.output_tokens.min() >= 0


def test_conversation_trace_is_about_poisson_at_5_5_per_second():
    trace = real("azure-conv")
    gaps = np.diff(trace.times)
    assert 5.0 < trace.rate < 6.0                      # README: about 5.5 requests/s
    assert 0.9 < gaps.std() / gaps.mean() < 1.3        # close to Poisson (CV 1)
    assert trace.duration < 3600                       # one hour
    assert trace.sessions is None and trace.n_sessions is None


def test_code_trace_is_2_5_per_second_and_bursty():
    trace = real("azure-code")
    gaps = np.diff(trace.times)
    assert 2.2 < trace.rate < 2.9                      # README: about 2.5 requests/s
    assert 200 < gaps.max() < 230                      # README: idle gaps up to about 217 s
    assert gaps.std() / gaps.mean() > 5                # very bursty
    assert trace.duration < 3600


def test_azure_timestamps_keep_all_seven_digits():
    trace = real("azure-conv")
    # 18:15:46.6805900 -> 18:15:50.9951690 in the file
    assert trace.times[1] == pytest.approx(4.314579, abs=1e-9)


def test_ragpulse_has_sessions_and_is_sorted_although_the_file_is_not():
    trace = real("ragpulse")
    assert 1 < trace.n_sessions < len(trace)
    assert trace.sessions[0] == 0
    assert np.array_equal(np.unique(trace.sessions), np.arange(trace.n_sessions))
    assert 6 * 86_400 < trace.duration <= 7 * 86_400   # one week


# --------------------------------------------------------------------------------------------
# Malformed files: the error names the file and the line
# --------------------------------------------------------------------------------------------

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
GOOD_CSV = "2023-11-16 18:15:46.6805900,374,44\n"
GOOD_JSON = ('{"timestamp": "27", "input_length": 3861, "output_length": 127, '
             '"hash_ids": {}, "session_id": "a"}\n')


@pytest.mark.parametrize("bad, words", [
    ("2023-11-16 18:15:47.0000000,374\n", "expected 3 fields"),
    ("2023-11-16 18:15:47.0000000,374,44,9\n", "expected 3 fields"),
    ("yesterday,374,44\n", "TIMESTAMP"),
    ("2023-13-16 18:15:47.0000000,374,44\n", "not a valid date"),
    ("2023-11-16 18:15:47.0000000,-5,44\n", "ContextTokens must be >= 0"),
    ("2023-11-16 18:15:47.0000000,374,4.5\n", "GeneratedTokens must be a whole number"),
])
def test_malformed_azure_row_names_file_and_line(tmp_path, bad, words):
    path = tmp_path / "broken.csv"
    path.write_text(HEADER + GOOD_CSV + bad + GOOD_CSV)
    with pytest.raises(ValueError, match=words) as caught:
        traces.load(path)
    assert f"{path}, line 3:" in str(caught.value)


def test_azure_wrong_header_is_line_1(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text(GOOD_CSV)
    with pytest.raises(ValueError, match=r"line 1: expected the header"):
        traces.load_azure(path)


@pytest.mark.parametrize("bad, words", [
    ('{"timestamp": "30", "input_length": 10,\n', "not valid JSON"),
    ('{"timestamp": "30", "input_length": 10, "output_length": 5}\n', "missing key.*session_id"),
    ('{"timestamp": "30", "input_length": -1, "output_length": 5, "session_id": "a"}\n',
     "input_length must be >= 0"),
    ('{"timestamp": "soon", "input_length": 1, "output_length": 5, "session_id": "a"}\n',
     "timestamp must be seconds"),
    ('[1, 2, 3]\n', "expected a JSON object"),
])
def test_malformed_ragpulse_line_names_file_and_line(tmp_path, bad, words):
    path = tmp_path / "broken.jsonl"
    path.write_text(GOOD_JSON + "\n" + bad + GOOD_JSON)   # the blank line 2 still counts
    with pytest.raises(ValueError, match=words) as caught:
        traces.load(path)
    assert f"{path}, line 3:" in str(caught.value)


def test_load_refuses_unknown_suffix_and_missing_file(tmp_path):
    odd = tmp_path / "trace.txt"
    odd.write_text("x")
    with pytest.raises(ValueError, match=r"\.csv.*\.jsonl"):
        traces.load(odd)
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        traces.load(tmp_path / "nowhere.csv")
    with pytest.raises(ValueError, match="no requests"):
        (tmp_path / "empty.csv").write_text(HEADER)
        traces.load(tmp_path / "empty.csv")


def test_find_knows_three_names():
    with pytest.raises(ValueError, match="azure-conv"):
        traces.find("azure")


# --------------------------------------------------------------------------------------------
# Loading small files: sorting, sessions, precision
# --------------------------------------------------------------------------------------------

def test_ragpulse_sorts_stably_and_numbers_sessions_after_sorting(tmp_path):
    rows = [("5", "b", 1), ("9", "a", 2), ("0", "a", 3), ("5", "c", 4)]
    path = tmp_path / "mini.jsonl"
    path.write_text("".join(
        f'{{"timestamp": "{t}", "input_length": {i}, "output_length": 0, "hash_ids": {{}}, '
        f'"session_id": "{s}"}}\n' for t, s, i in rows) + "\n")
    trace = traces.load(path)
    assert trace.name == "mini"
    assert trace.times.tolist() == [0.0, 5.0, 5.0, 9.0]
    assert trace.prompt_tokens.tolist() == [3, 1, 4, 2]      # stable: b before c at 5 s
    assert trace.sessions.tolist() == [0, 1, 2, 0]           # a, b, c by first appearance


def test_azure_sorts_and_subtracts_exactly(tmp_path):
    path = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    path.write_text(HEADER + "2023-11-16 18:15:47.0000001,2,3\n"
                    "2023-11-16 18:15:47.0000000,1,1")    # no trailing newline, out of order
    trace = traces.load(path)
    assert trace.name == "azure-conv"
    assert trace.times.tolist() == [0.0, pytest.approx(1e-7, abs=1e-12)]
    assert trace.prompt_tokens.tolist() == [1, 2]


# --------------------------------------------------------------------------------------------
# The Trace object
# --------------------------------------------------------------------------------------------

def small() -> Trace:
    return Trace("t", [0.0, 1.0, 2.5, 4.0], [1, 2, 3, 4], [5, 6, 7, 8], [0, 1, 0, 2])


def test_trace_properties_and_read_only_arrays():
    trace = small()
    assert len(trace) == 4 and trace.duration == 4.0 and trace.rate == 1.0
    assert trace.n_sessions == 3
    with pytest.raises(ValueError):
        trace.times[0] = 1.0
    source = np.array([0.0, 1.0])
    copy = Trace("c", source, [1, 1], [1, 1], None)
    source[1] = 9.0
    assert copy.times[1] == 1.0


@pytest.mark.parametrize("kwargs, words", [
    ({"times": [0.0, 1.0, 2.0]}, "Trace.prompt_tokens"),
    ({"times": [0.0, 2.0, 1.0, 3.0]}, "Trace.times must be sorted"),
    ({"prompt_tokens": [1, -2, 3, 4]}, "Trace.prompt_tokens must be >= 0"),
    ({"output_tokens": [1.5, 2, 3, 4]}, "Trace.output_tokens must hold whole numbers"),
    ({"sessions": [1, 0, 1, 2]}, "Trace.sessions must number"),
])
def test_trace_validation_names_the_field(kwargs, words):
    fields = {"name": "t", "times": [0.0, 1.0, 2.5, 4.0], "prompt_tokens": [1, 2, 3, 4],
              "output_tokens": [5, 6, 7, 8], "sessions": [0, 1, 0, 2]} | kwargs
    with pytest.raises(ValueError, match=words):
        Trace(**fields)


def test_window_shifts_start_to_zero_and_renumbers_sessions():
    part = small().window(0.5, 4.0)
    assert part.times.tolist() == [0.5, 2.0]
    assert part.prompt_tokens.tolist() == [2, 3]
    assert part.sessions.tolist() == [0, 1]
    with pytest.raises(ValueError, match="window.end"):
        small().window(2.0, 1.0)


def test_scaled_divides_times():
    fast = small().scaled(2.0)
    assert fast.times.tolist() == [0.0, 0.5, 1.25, 2.0]
    assert fast.rate == 2.0
    with pytest.raises(ValueError, match="scaled.speed"):
        small().scaled(0)


# --------------------------------------------------------------------------------------------
# The derived tables in data/
# --------------------------------------------------------------------------------------------

DERIVED = [f"{name}_{kind}.csv" for name in NAMES for kind in ("tokens", "arrivals")]
DERIVED.append("traces_summary.csv")


@pytest.mark.parametrize("filename", DERIVED)
def test_derived_files_exist_with_licence_header(filename):
    path = DATA / filename
    assert path.is_file(), f"{path} missing: run python data/derive.py"
    text = path.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("# ")
    for needed in ("# source", "# sha256: ", "# licence: ", "# derived by: python data/derive.py"):
        assert any(line.startswith(needed) for line in comments), needed
    if "azure" in filename or "summary" in filename:
        assert "CC-BY-4.0" in text and "Splitwise" in text
    if "ragpulse" in filename or "summary" in filename:
        assert "MIT" in text and "Copyright (c) 2025 zhengchao wang" in text
    assert len(pd.read_csv(path, comment="#")) > 0


def test_summary_holds_the_documented_row_counts_and_burstiness():
    """The figures of shared/data/README.md (the originals are not needed)."""
    summary = pd.read_csv(DATA / "traces_summary.csv", comment="#").set_index("trace")
    assert summary.loc["azure-conv", "rows"] == 19_366
    assert summary.loc["azure-code", "rows"] == 8_819
    assert summary.loc["ragpulse", "rows"] == 7_106
    assert summary.loc["azure-code", "interarrival_cv"] > 5 > summary.loc["azure-conv",
                                                                          "interarrival_cv"]


@originals
def test_derive_reproduces_data_byte_for_byte(tmp_path):
    done = subprocess.run([sys.executable, str(DATA / "derive.py"), str(traces.SHARED),
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    for filename in DERIVED:
        assert (tmp_path / filename).read_bytes() == (DATA / filename).read_bytes(), filename


# --------------------------------------------------------------------------------------------
# from_quantiles: a stand-in with the right marginals and mean rate
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_from_quantiles_keeps_rate_and_token_range(name):
    table_path = DATA / f"{name}_tokens.csv"
    table = pd.read_csv(table_path, comment="#")
    rate = traces.summary_rate(DATA / "traces_summary.csv", name)
    n = 20_000
    standin = traces.from_quantiles(table_path, n=n, seed=7)
    assert len(standin) == n and standin.times[0] == 0.0 and standin.sessions is None
    # n - 1 exponential gaps: the estimated rate has a relative s.d. of about 1/sqrt(n)
    assert abs(standin.rate / rate - 1) < 4 / np.sqrt(n)
    for column in ("prompt_tokens", "output_tokens"):
        values = getattr(standin, column)
        assert table[column].iloc[0] <= values.min() and values.max() <= table[column].iloc[-1]
        median = table.loc[table["quantile"] == 0.5, column].item()
        share = np.mean(values <= median)
        assert abs(share - 0.5) < 4 * np.sqrt(0.25 / n) + 0.01


def test_from_quantiles_is_seeded_and_takes_a_rate():
    table_path = DATA / "azure-code_tokens.csv"
    a = traces.from_quantiles(table_path, n=100, rate=10.0, seed=3)
    b = traces.from_quantiles(table_path, n=100, rate=10.0, seed=3)
    assert np.array_equal(a.times, b.times) and np.array_equal(a.prompt_tokens, b.prompt_tokens)
    assert a.name == "azure-code (stand-in)"
    with pytest.raises(ValueError, match="from_quantiles.rate"):
        traces.from_quantiles(table_path, n=100, rate=-1.0)
