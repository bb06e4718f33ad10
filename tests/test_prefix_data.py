"""data/mooncake_prefix.csv: prompt-prefix reuse derived from the Mooncake conversation trace.

The re-derivation runs only when the reference copy exists in ../shared/data (it is not part of
the repository); the consistency checks read the committed CSV; a tiny hand-made trace checks
the replay's arithmetic without the original.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "data" / "derive_prefix.py"
CSV = ROOT / "data" / "mooncake_prefix.csv"

_spec = importlib.util.spec_from_file_location("derive_prefix", SCRIPT)
derive_prefix = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(derive_prefix)

ORIGINAL = derive_prefix.SHARED / derive_prefix.TRACE
BY_TTL = ["token_share_cached", "token_share_cached_min1024", "request_share_hit",
          "request_share_hit_min1024", "token_share_cached_warm"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(CSV, comment="#")


def series(table: pd.DataFrame, measure: str, by: str) -> pd.Series:
    rows = table[table.measure == measure]
    assert len(rows) > 0, measure
    return rows.set_index(by)["value"].sort_index()


def scalar(table: pd.DataFrame, measure: str) -> float:
    (value,) = table.loc[table.measure == measure, "value"]
    return value


# --------------------------------------------------------------------------------------------
# The committed table
# --------------------------------------------------------------------------------------------

@pytest.mark.skipif(not ORIGINAL.is_file(),
                    reason=f"the Mooncake trace is not at {ORIGINAL} (reference copy, not shipped)")
def test_derive_prefix_reproduces_the_csv_byte_for_byte(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(derive_prefix.SHARED),
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    assert (tmp_path / CSV.name).read_bytes() == CSV.read_bytes()


def test_header_names_source_checksum_licence_citation_and_command():
    comments = [line for line in CSV.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    text = "\n".join(comments)
    assert f"# source: {derive_prefix.TRACE}" in comments
    assert f"# sha256: {derive_prefix.SHA256}" in comments
    assert "Apache-2.0" in text and "kvcache-ai/Mooncake" in text
    assert "Mooncake: Trading More Storage for Less Computation" in text and "FAST 2025" in text
    assert any(line.startswith("# derived by: python data/derive_prefix.py") for line in comments)


def test_columns_and_size(table):
    assert list(table.columns) == ["measure", "ttl_s", "quantile", "value"]
    assert 20 <= len(table) <= 100
    assert not table.duplicated(["measure", "ttl_s", "quantile"]).any()


def test_trace_figures_match_the_upstream_readme(table):
    assert scalar(table, "requests") == 12_031
    assert round(scalar(table, "input_tokens_mean")) == 12_035
    assert round(scalar(table, "output_tokens_mean")) == 343
    assert 3500 < scalar(table, "span_s") <= 3600                       # one hour, sampled
    assert scalar(table, "rate_per_s") == pytest.approx(12_031 / scalar(table, "span_s"),
                                                        rel=1e-5)


def test_unlimited_cache_holds_about_37_percent_of_input_tokens(table):
    """shared/data/README.md: about 37% of input tokens are a prefix already seen."""
    assert 0.36 < series(table, "token_share_cached", "ttl_s")[np.inf] < 0.39


@pytest.mark.parametrize("measure", BY_TTL)
def test_shares_are_in_0_1_and_grow_with_the_ttl_up_to_the_unlimited_cache(table, measure):
    shares = series(table, measure, "ttl_s")
    assert np.isinf(shares.index[-1]) and len(shares) == len(derive_prefix.TTLS)
    assert ((shares >= 0) & (shares <= 1)).all()
    assert (np.diff(shares.to_numpy()) >= 0).all(), "share falls as the ttl grows"
    assert (shares <= shares[np.inf]).all()


def test_a_minimum_size_only_removes_hits(table):
    for kind in ("token_share_cached", "request_share_hit"):
        every = series(table, kind, "ttl_s")
        big = series(table, f"{kind}_min1024", "ttl_s")
        assert (big <= every + 1e-9).all()


def _check_quantiles_against_shares(quantiles: pd.Series, shares: pd.Series) -> None:
    """share(ttl) / share(inf) is the gap distribution at ttl: F(ttl) >= q iff Q(q) <= ttl."""
    assert (np.diff(quantiles.to_numpy()) >= 0).all() and quantiles.min() >= 0
    for ttl, share in shares.items():
        fraction = share / shares[np.inf]
        for q, gap in quantiles.items():
            if gap <= ttl:
                assert fraction >= q - 1e-5, (ttl, q, gap, fraction)
            else:
                assert fraction < q + 1e-5, (ttl, q, gap, fraction)


def test_token_weighted_reuse_gaps_give_the_ttl_shares(table):
    _check_quantiles_against_shares(series(table, "gap_s_tokens", "quantile"),
                                    series(table, "token_share_cached", "ttl_s"))


def test_request_reuse_gaps_give_the_ttl_hit_shares(table):
    _check_quantiles_against_shares(series(table, "gap_s_requests_min1024", "quantile"),
                                    series(table, "request_share_hit_min1024", "ttl_s"))


def test_the_common_prefix_is_a_small_part_of_the_input(table):
    assert scalar(table, "common_prefix_tokens") % derive_prefix.BLOCK == 0
    common = scalar(table, "token_share_common_prefix")
    assert 0 <= common < series(table, "token_share_cached", "ttl_s")[np.inf]


# --------------------------------------------------------------------------------------------
# The replay on a hand-made trace (no original needed)
# --------------------------------------------------------------------------------------------

TINY = [  # timestamps in ms; ids chained: equal leading ids are an equal prefix
    {"timestamp": 0, "input_length": 1500, "output_length": 10, "hash_ids": [1, 2, 3]},
    {"timestamp": 100_000, "input_length": 1200, "output_length": 20, "hash_ids": [1, 2, 4]},
    {"timestamp": 2_000_000, "input_length": 600, "output_length": 30, "hash_ids": [1, 5]},
]


def tiny_table(tmp_path: Path, rows: list[dict] = TINY) -> pd.DataFrame:
    folder = tmp_path / "shared" / "mooncake"
    folder.mkdir(parents=True)
    (folder / "conversation_trace.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    path = derive_prefix.derive(tmp_path / "shared", tmp_path / "out")
    return pd.read_csv(path, comment="#")


def test_replay_by_hand(tmp_path, capsys):
    table = tiny_table(tmp_path)
    assert "warning" in capsys.readouterr().err          # not the recorded file
    total = 1500 + 1200 + 600
    cached = series(table, "token_share_cached", "ttl_s")
    # request 2 reads blocks 1-2 (1,024 tokens) after 100 s; request 3 reads block 1 (512
    # tokens) after 1,900 s since request 2 refreshed it
    assert cached[60] == 0
    assert cached[120] == pytest.approx(1024 / total, rel=1e-5)
    assert cached[1800] == pytest.approx(1024 / total, rel=1e-5)
    assert cached[3600] == pytest.approx(1536 / total, rel=1e-5)
    assert series(table, "token_share_cached_min1024", "ttl_s")[np.inf] == pytest.approx(
        1024 / total, rel=1e-5)
    assert series(table, "request_share_hit", "ttl_s")[np.inf] == pytest.approx(2 / 3, rel=1e-5)
    assert series(table, "request_share_hit_min1024", "ttl_s")[np.inf] == pytest.approx(
        1 / 3, rel=1e-5)
    warm = series(table, "token_share_cached_warm", "ttl_s")        # only request 3
    assert warm[1800] == 0 and warm[np.inf] == pytest.approx(512 / 600, rel=1e-5)
    gaps = series(table, "gap_s_tokens", "quantile")                # 100, 100, 1900 s
    assert gaps[0.5] == 100 and gaps[0.75] == 1900 and gaps[1] == 1900
    assert (series(table, "gap_s_requests_min1024", "quantile") == 100).all()
    assert scalar(table, "common_prefix_tokens") == 512
    assert scalar(table, "token_share_common_prefix") == pytest.approx(3 * 512 / total, rel=1e-5)
    assert scalar(table, "rate_per_s") == pytest.approx(3 / 2000, rel=1e-5)


def test_replay_is_deterministic(tmp_path):
    first = tiny_table(tmp_path / "a")
    assert first.equals(tiny_table(tmp_path / "b"))


def test_malformed_traces_are_refused(tmp_path):
    wrong_count = [dict(TINY[0], hash_ids=[1, 2])]                  # 1,500 tokens need 3 blocks
    with pytest.raises(ValueError, match="hash ids"):
        tiny_table(tmp_path / "count", wrong_count)
    unchained = [TINY[0], dict(TINY[1], hash_ids=[9, 2, 4])]         # block 2 after a new block
    with pytest.raises(ValueError, match="chained"):
        tiny_table(tmp_path / "chain", unchained)
