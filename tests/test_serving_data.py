"""data/serving_profiles.csv: the step-time model of a continuous-batching server.

The byte-for-byte check needs the sources, which are not part of the repository: set
VIDUR_PROFILING to the data/profiling folder of a microsoft/vidur checkout and
SPLITWISE_PERF_MODEL to data/perf_model.csv of Mutinifni/splitwise-sim (see data/README.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TABLE = DATA / "serving_profiles.csv"
VIDUR = Path(os.environ.get("VIDUR_PROFILING", ROOT.parent / "vidur" / "data" / "profiling"))
SPLITWISE = Path(os.environ.get("SPLITWISE_PERF_MODEL",
                                ROOT.parent / "splitwise-sim" / "data" / "perf_model.csv"))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(TABLE, comment="#").set_index("profile")


def step_ms(row, n=0.0, kv=0.0, p=0.0, kvp=0.0) -> float:
    e = 0.0 if np.isnan(row["e_ms_per_prefill_kv_token"]) else row["e_ms_per_prefill_kv_token"]
    return (row["a_ms"] + row["b_ms_per_token"] * n + row["c_ms_per_kv_token"] * kv
            + row["d_ms_per_prefill_token"] * p + e * kvp)


def test_header_names_sources_licences_and_command():
    comments = [line for line in TABLE.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    text = "\n".join(comments)
    for needed in ("microsoft/vidur@", "mlp.csv sha256: ", "sha256 of their values",
                   "Mutinifni/splitwise-sim@", "Copyright (c) Microsoft Corporation",
                   "Copyright (c) 2024 Pratyush Patel", "Vidur", "Splitwise",
                   "# derived by: python data/derive_serving.py"):
        assert needed in text, needed


def test_one_row_per_pair_with_sane_coefficients(table):
    assert list(table.index) == ["llama-3-8b_a100-80gb_tp1", "llama-2-70b_a100-80gb_tp4",
                                 "llama-2-70b_h100-80gb_tp4"]
    assert (table[["a_ms", "b_ms_per_token", "c_ms_per_kv_token"]] > 0).all().all()
    assert (table["d_ms_per_prefill_token"] >= 0).all()
    e = table["e_ms_per_prefill_kv_token"]
    assert e["llama-3-8b_a100-80gb_tp1"] > 0     # only Vidur's profiles have chunked prefill
    assert e.drop("llama-3-8b_a100-80gb_tp1").isna().all()
    assert (table["fit_r2"] > 0.8).all() and (table["fit_max_rel_err_decode"] < 0.1).all()
    assert (table["fit_max_rel_err"] < 0.5).all()


def test_implied_figures_follow_from_the_coefficients(table):
    for _, row in table.iterrows():
        assert row["decode_ms_b1_ctx1024"] == pytest.approx(step_ms(row, n=1, kv=1024), 1e-5)
        assert row["decode_ms_b64_ctx1024"] == pytest.approx(step_ms(row, n=64, kv=65536), 1e-5)
        n = row["max_num_batched_tokens"]
        assert row["prefill_tokens_per_s"] == pytest.approx(
            n / step_ms(row, n=n, p=n) * 1000, 1e-5)
        # batching pays: 64 sequences take far less than 64 single steps
        assert row["decode_ms_b64_ctx1024"] < 4 * row["decode_ms_b1_ctx1024"]


def test_memory_arithmetic(table):
    eight = table.loc["llama-3-8b_a100-80gb_tp1"]
    assert eight["kv_bytes_per_token"] == 2 * 32 * 8 * 128 * 2 == 131_072
    assert eight["params"] == 8_030_261_248
    seventy = table.loc["llama-2-70b_a100-80gb_tp4"]
    assert seventy["kv_bytes_per_token"] == 2 * 80 * 8 * 128 * 2 == 327_680
    for _, row in table.iterrows():
        tp = row["tensor_parallel"]
        free = row["gpu_memory_utilization"] * row["gpu_memory_bytes"] - row["weight_bytes"] / tp
        assert row["kv_cache_tokens"] == int(free // (row["kv_bytes_per_token"] / tp))
        assert row["replica_hour_usd"] == pytest.approx(row["gpu_hour_usd"] * tp)
        assert row["block_size"] == 16 and row["max_num_seqs"] in (256, 1024)


@pytest.mark.skipif(not ((VIDUR / "compute").is_dir() and SPLITWISE.is_file()),
                    reason=f"sources absent: set VIDUR_PROFILING (now {VIDUR}) and "
                           f"SPLITWISE_PERF_MODEL (now {SPLITWISE}); see data/README.md")
def test_derive_serving_reproduces_the_table_byte_for_byte(tmp_path):
    done = subprocess.run([sys.executable, str(DATA / "derive_serving.py"), str(VIDUR),
                           str(SPLITWISE), "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    assert (tmp_path / "serving_profiles.csv").read_bytes() == TABLE.read_bytes()
