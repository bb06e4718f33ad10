"""Derive data/mooncake_prefix.csv: how much of a real chat service's prompts a prefix cache holds.

    python data/derive_prefix.py [PATH_TO_SHARED_DATA] [--out DIR]

PATH_TO_SHARED_DATA defaults to ../shared/data beside the repository (the Mooncake conversation
trace is ``mooncake/conversation_trace.jsonl`` under it); DIR defaults to this folder. The CSV
opens with ``#`` comment lines naming the source, its sha256, the licence, the citation and this
command, so read it with ``pandas.read_csv(path, comment="#")``.

The trace gives, per request, ``hash_ids``: one id per 512-token block of the prompt, chained
(a block's id stands for the whole prefix up to and including that block, so equal leading ids
are an equal prefix). The replay below is the idealised provider-side prompt cache: requests in
time order (file order among equal timestamps), one cache shared by every request, keyed by
prefix block. A request reads from the cache its longest run of leading blocks that are present
(``min(k x 512, input_length)`` tokens for k blocks), then every one of its blocks is written or
refreshed at its arrival time. With a lifetime ``ttl``, refreshed on use, a block is present if
it was last used at most ``ttl`` seconds before. Because a refresh happens on every use, hit or
miss, a block's last use is the same whatever the ttl, so

    token_share_cached(ttl) = token_share_cached(inf) x F(ttl)

where F is the token-weighted distribution of the reuse gaps (``gap_s_tokens``); and, for hits
of at least 1,024 tokens (two blocks), ``request_share_hit_min1024(ttl) =
request_share_hit_min1024(inf) x G(ttl)`` with G the distribution of ``gap_s_requests_min1024``.
Those identities are what a simulated cache with a given ttl can be checked against.

Not modelled: the time a prefix takes to be computed (a request reads what earlier requests
wrote, even a millisecond before), capacity limits and eviction, and the providers' exact
breakpoint rules. The output depends only on the input file: no dates, no absolute paths, fixed
number formats, so a second run gives the same bytes (tests/test_prefix_data.py checks this).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
TRACE = "mooncake/conversation_trace.jsonl"
SHA256 = "b8cbb061a85206d729d91cdc2981f43c9e0d99209dce588d3af5f7934408b9df"
OUTPUT = "mooncake_prefix.csv"
COMMAND = "python data/derive_prefix.py"
LICENCE = "Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0), kvcache-ai/Mooncake"
CITE = ("Qin et al., \"Mooncake: Trading More Storage for Less Computation - A KVCache-centric "
        "Architecture for Serving LLM Chatbot\", FAST 2025 (USENIX); "
        "trace from kvcache-ai/Mooncake FAST25-release/traces")

BLOCK = 512  # tokens per hash id (the trace's documented block size)
MIN_TOKENS = 1024  # the providers' minimum cacheable prompt (OpenAI, most Anthropic models)
TTLS = [10, 30, 60, 120, 300, 600, 1800, 3600, np.inf]  # seconds; 300 = Anthropic's default
QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]
WARM_FROM = 1800  # s: the second half hour, when 99% of reuse gaps fit in the history behind


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path) -> list[dict]:
    """The trace's rows in replay order: by timestamp, file order among equal timestamps."""
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return sorted(rows, key=lambda row: row["timestamp"])  # sorted() is stable


def replay(rows: list[dict]) -> dict[str, np.ndarray]:
    """Every block of every request: its prompt, position, tokens and gap since its last use.

    ``gap_ms`` is -1 for a block never seen before. ``request`` is the request's index; the
    blocks of one request are consecutive and in prompt order.
    """
    last: dict[int, int] = {}
    request, depth, tokens, gap = [], [], [], []
    for index, row in enumerate(rows):
        now, length, ids = row["timestamp"], row["input_length"], row["hash_ids"]
        if len(ids) != -(-length // BLOCK):
            raise ValueError(f"row {index}: {len(ids)} hash ids for {length} input tokens")
        for position, block in enumerate(ids):
            request.append(index)
            depth.append(position)
            tokens.append(min(BLOCK, length - BLOCK * position))
            gap.append(now - last[block] if block in last else -1)
        for block in ids:
            last[block] = now
    return {name: np.asarray(values, dtype=np.int64) for name, values in [
        ("request", request), ("depth", depth), ("tokens", tokens), ("gap_ms", gap)]}


def leading(mask: np.ndarray, blocks: dict[str, np.ndarray]) -> np.ndarray:
    """``mask`` kept only where every earlier block of the same prompt is in ``mask`` too."""
    starts = np.flatnonzero(blocks["depth"] == 0)
    lengths = np.diff(np.append(starts, len(mask)))
    missing = (~mask).astype(np.int64)
    misses = np.cumsum(missing)
    misses_before_prompt = np.repeat(misses[starts] - missing[starts], lengths)
    return mask & (misses == misses_before_prompt)


def cached_prefix(blocks: dict[str, np.ndarray], ttl: float, n: int) -> np.ndarray:
    """Tokens of each request's longest run of leading blocks present in a cache of ``ttl`` s."""
    fresh = (blocks["gap_ms"] >= 0) & (blocks["gap_ms"] <= ttl * 1000)
    counted = leading(fresh, blocks)
    return np.bincount(blocks["request"][counted], weights=blocks["tokens"][counted],
                       minlength=n).astype(np.int64)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The smallest value whose cumulative weight reaches each quantile (inverted CDF).

    NaN (an empty cell) for every quantile when there are no values.
    """
    if len(values) == 0:
        return np.full(len(QUANTILES), np.nan)
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    # the first index whose cumulative weight is at least q x total
    targets = [q * cumulative[-1] for q in QUANTILES]
    return values[order][[int(np.searchsorted(cumulative, t, side="left")) for t in targets]]


def share(part: float, whole: float) -> float:
    """part / whole, NaN (an empty cell) when there is no whole (a trace under half an hour)."""
    return part / whole if whole else np.nan


def table(rows: list[dict]) -> pd.DataFrame:
    n = len(rows)
    times = np.array([row["timestamp"] for row in rows], dtype=np.int64)
    inputs = np.array([row["input_length"] for row in rows], dtype=np.int64)
    outputs = np.array([row["output_length"] for row in rows], dtype=np.int64)
    blocks = replay(rows)
    span_s = (times[-1] - times[0]) / 1000
    common = 0  # leading blocks shared by every request (a common system prompt)
    while all(len(row["hash_ids"]) > common for row in rows) and len(
            {row["hash_ids"][common] for row in rows}) == 1:
        common += 1
    common_tokens = min(common * BLOCK, int(inputs.min()))
    out = [
        ("requests", None, None, n),
        ("span_s", None, None, span_s),
        ("rate_per_s", None, None, n / span_s),
        ("input_tokens_mean", None, None, inputs.mean()),
        ("output_tokens_mean", None, None, outputs.mean()),
        ("input_tokens_per_s", None, None, inputs.sum() / span_s),
        ("common_prefix_tokens", None, None, common_tokens),
        ("token_share_common_prefix", None, None, common_tokens * n / inputs.sum()),
    ]
    warm = times >= times[0] + WARM_FROM * 1000
    by_ttl = {}
    for ttl in TTLS:
        cached = cached_prefix(blocks, ttl, n)
        big = cached >= MIN_TOKENS
        by_ttl[ttl] = [
            ("token_share_cached", cached.sum() / inputs.sum()),
            ("token_share_cached_min1024", cached[big].sum() / inputs.sum()),
            ("request_share_hit", np.mean(cached > 0)),
            ("request_share_hit_min1024", np.mean(big)),
            ("token_share_cached_warm", share(cached[warm].sum(), inputs[warm].sum())),
        ]
    for position, (measure, _) in enumerate(by_ttl[TTLS[0]]):
        out += [(measure, ttl, None, by_ttl[ttl][position][1]) for ttl in TTLS]
    seen = blocks["gap_ms"] >= 0
    # chained ids: a block seen before means its whole prefix was seen before, so with no ttl
    # every seen block lies in its request's cached prefix
    reused = leading(seen, blocks)
    if not np.array_equal(reused, seen):
        raise ValueError("hash ids are not chained: a block was seen after an unseen one")
    gaps_tokens = weighted_quantiles(blocks["gap_ms"][reused], blocks["tokens"][reused])
    out += [("gap_s_tokens", None, q, g / 1000)
            for q, g in zip(QUANTILES, gaps_tokens, strict=True)]
    second = (blocks["depth"] == 1) & seen & (inputs[blocks["request"]] >= MIN_TOKENS)
    gaps_requests = weighted_quantiles(blocks["gap_ms"][second],
                                       np.ones(int(second.sum()), dtype=np.int64))
    out += [("gap_s_requests_min1024", None, q, g / 1000)
            for q, g in zip(QUANTILES, gaps_requests, strict=True)]
    frame = pd.DataFrame(out, columns=["measure", "ttl_s", "quantile", "value"])
    return frame.astype({"ttl_s": "float64", "quantile": "float64", "value": "float64"})


def header(path: Path) -> str:
    lines = [
        "# Mooncake conversation trace: prompt-prefix reuse for a provider-side prompt cache "
        "(512-token blocks, shared by all requests, ttl refreshed on use)",
        f"# source: {TRACE}",
        f"# sha256: {sha256(path)}",
        f"# licence: {LICENCE}",
        f"# cite: {CITE}",
        "# changes: statistics computed by replaying the hash ids; no request is copied",
        f"# derived by: {COMMAND}   (see data/README.md; read with comment='#'; "
        "empty ttl_s or quantile = not applicable, ttl_s inf = unlimited cache)",
    ]
    return "\n".join(lines) + "\n"


def derive(shared: Path, out: Path) -> Path:
    """Write mooncake_prefix.csv for the trace under ``shared`` into ``out``."""
    path = shared / TRACE
    if sha256(path) != SHA256:
        print(f"warning: {path} is not the file recorded in shared/data/README.md",
              file=sys.stderr)
    frame = table(read(path))
    out.mkdir(parents=True, exist_ok=True)
    target = out / OUTPUT
    text = header(path) + frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    target.write_text(text, encoding="utf-8", newline="")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=SHARED,
                        help="folder holding the original traces (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="where to write the table (default: this data/ folder)")
    args = parser.parse_args(argv)
    print(derive(args.shared, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
