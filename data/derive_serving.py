"""Derive data/serving_profiles.csv: a step-time model for a continuous-batching LLM server.

    python data/derive_serving.py VIDUR_PROFILING SPLITWISE_PERF_MODEL [--out DIR]
    python data/derive_serving.py VIDUR_PROFILING SPLITWISE_PERF_MODEL --check AZURE_CONV_CSV

VIDUR_PROFILING is the ``data/profiling`` folder of a microsoft/vidur checkout (MIT); the
script reads ``compute/a100/meta-llama/Meta-Llama-3-8B/mlp.csv`` and ``attention.csv``.
SPLITWISE_PERF_MODEL is ``data/perf_model.csv`` of Mutinifni/splitwise-sim (MIT). DIR
defaults to this folder. ``--check`` prints the cross-checks of data/README.md (prefill rate,
decode step, capacity on the Azure conversation trace) instead of writing anything.

One engine iteration (vLLM-style continuous batching with chunked prefill) takes

    t_iter [ms] = a + b * N + c * KV + d * P + e * KVP

    N   tokens computed: one per running decode sequence plus the prompt tokens of the
        prefill chunks scheduled in this iteration
    KV  context tokens read by the decode sequences (sum of their context lengths)
    P   prompt (prefill) tokens in this iteration (they cost b + d each)
    KVP context tokens already cached before each prefill chunk, summed over the chunks

The coefficients are fitted, for each model/GPU pair, by non-negative weighted least squares
on the relative error, every kind of point (decode-only, prefill-only, mixed) weighing the
same in total.

- Llama-3-8B on one A100 80GB comes from Vidur's kernel profiles. A step is composed as
  Vidur composes it (vidur/entities/execution_time.py): 32 layers x (the nine per-layer
  operators of mlp.csv at N tokens + attention of the decode part + attention of the
  prefill part). Attention is kv_cache_save + attn_decode (x 1.1 when more than one
  sequence decodes: Vidur's attention_decode_batching_overhead_fraction for GQA models), and
  kv_cache_save + attn_prefill for the chunk. Like Vidur's default, no CPU overhead and no
  embedding or LM head are counted. Two simplifications: the operators are interpolated
  linearly between profiled token counts (Vidur fits a random forest), and kv_cache_save is
  taken from the row of its own part (Vidur regresses it on the token count over both kinds
  of rows). Only the attention rows listed in DECODE_POINTS and PREFILL_POINTS are read,
  so the result is the same from the full 9 MB file or from a copy holding just those rows;
  the header records the sha256 of the selected values.
- Llama-2-70B on 4 x A100 80GB and on 4 x H100 80GB (tensor parallel 4) come from the
  Splitwise authors' measurements on DGX-A100 / DGX-H100 machines: ``prompt_time`` is one
  prefill iteration of ``batch_size`` prompts of ``prompt_size`` tokens, ``token_time`` the
  mean decode iteration of ``batch_size`` sequences. The generated count is
  min(token_size, (e2e_time - prompt_time) / token_time), so the mean decode context is
  prompt_size + generated / 2. The source has no chunked prefill, so e stays empty.

The output depends only on the input files (no dates, no absolute paths, fixed formats);
running it again on the same inputs gives the same bytes (tests/test_serving_data.py).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

HERE = Path(__file__).resolve().parent
COMMAND = "python data/derive_serving.py VIDUR_PROFILING SPLITWISE_PERF_MODEL"
MS = 1000.0

# ------------------------------------------------------------------------------------------
# Sources
# ------------------------------------------------------------------------------------------

VIDUR_COMMIT = "7d47513363ec447a741ac5e47241580b47724fbf"
VIDUR_MODEL_DIR = "compute/a100/meta-llama/Meta-Llama-3-8B"
#: git blob ids of the two files at VIDUR_COMMIT (``git ls-tree``): the upstream identity.
VIDUR_BLOBS = {"mlp.csv": "36db734a6943305b540bec7544002b12cc74639b",
               "attention.csv": "aa049dead757a81e41cecd4de19d51478fb89497"}
VIDUR_LICENCE = "MIT, Copyright (c) Microsoft Corporation (microsoft/vidur)"
VIDUR_CITE = ("Agrawal, Kedia, Mohan, Panwar, Kwatra, Gulavani, Ramjee, Tumanov, \"Vidur: A "
              "Large-Scale Simulation Framework For LLM Inference\", MLSys 2024 "
              "(arXiv 2405.05465)")
SPLITWISE_COMMIT = "8f99e7dc9b407f4ce2488d03dd44c0b8b946dab0"
SPLITWISE_SHA256 = "dbbe505d1d64fc4bd1ec03c50edf944643586de4f68a81e94cbd55dd5bdfbf41"
SPLITWISE_LICENCE = "MIT, Copyright (c) 2024 Pratyush Patel (Mutinifni/splitwise-sim)"
SPLITWISE_CITE = ("Patel, Choukse, Zhang, Shah, Goiri, Maleki, Bianchini, \"Splitwise: "
                  "Efficient generative LLM inference using phase splitting\", ISCA 2024")

#: Vidur's per-layer operators (mlp.csv), as ExecutionTime adds them up.
LINEAR_OPS = ["input_layernorm", "attn_pre_proj", "attn_rope", "attn_post_proj",
              "post_attention_layernorm", "mlp_up_proj", "mlp_act", "mlp_down_proj", "add"]
DECODE_BATCHING_OVERHEAD = 0.1  # vidur/config/config.py, attention_decode_batching_...
MAX_MODEL_LEN = 16384           # max_model_len of the Llama-3-8B attention profile
#: decode rows read from attention.csv: context length -> batch sizes.
DECODE_POINTS = {768: (1, 2, 4, 8, 16, 32, 48, 64, 96, 160, 256, 384, 512),
                 3392: (1, 2, 4, 8, 16, 32, 48, 64, 96),
                 8192: (1, 2, 4, 8, 16, 32, 48)}
#: prefill rows read from attention.csv: chunk size -> how many of its contexts (0, chunk, ...).
PREFILL_POINTS = {448: 30, 864: MAX_MODEL_LEN // 864, 896: MAX_MODEL_LEN // 896}
ATTENTION_COLS = ["time_stats.attn_kv_cache_save.median", "time_stats.attn_prefill.median",
                  "time_stats.attn_decode.median", "n_embd", "n_q_head", "n_kv_head",
                  "block_size", "num_tensor_parallel_workers", "batch_size",
                  "prefill_chunk_size", "kv_cache_size", "is_prefill"]

# ------------------------------------------------------------------------------------------
# Models, GPUs, engine defaults and prices (public figures; see data/README.md)
# ------------------------------------------------------------------------------------------

#: architecture (HF config.json; Vidur's vidur/config/model_config.py has the same numbers)
MODELS = {
    "Meta-Llama-3-8B": dict(layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336,
                            vocab=128256),
    "Llama-2-70B": dict(layers=80, hidden=8192, heads=64, kv_heads=8, ffn=28672, vocab=32000),
}
BYTES_PER_VALUE = 2  # fp16 / bf16 weights and KV cache
GIB = 1024**3
#: GPU memory as Vidur's device configs have it (total_memory_gb=80, used as GiB)
GPU_MEMORY = {"A100-80GB": 80 * GIB, "H100-80GB": 80 * GIB}
GPU_MEMORY_UTILIZATION = 0.9  # vLLM default
BLOCK_SIZE = 16               # vLLM default KV block (tokens)
#: vLLM EngineArgs.get_batch_defaults, OpenAI API server: A100 (and GPUs under 70 GiB)
#: 256 sequences / 2048 tokens; other GPUs of 70 GiB or more (H100) 1024 / 8192.
ENGINE_DEFAULTS = {"A100-80GB": (256, 2048), "H100-80GB": (1024, 8192)}
#: on-demand price of one GPU, USD per hour, with its source (stored page copies).
PRICES = {
    "A100-80GB": (1.49, "Jarvislabs, jarvislabs.ai/blog/h100-vs-a100 (A100 80GB $1.49/hr)",
                  "2026-04"),
    "H100-80GB": (2.69, "Jarvislabs, jarvislabs.ai/blog/h100-vs-a100 (H100 80GB $2.69/hr)",
                  "2026-04"),
}

PROFILES = [
    # name, model, gpu, tensor parallel, source
    ("llama-3-8b_a100-80gb_tp1", "Meta-Llama-3-8B", "A100-80GB", 1, "vidur"),
    ("llama-2-70b_a100-80gb_tp4", "Llama-2-70B", "A100-80GB", 4, "splitwise"),
    ("llama-2-70b_h100-80gb_tp4", "Llama-2-70B", "H100-80GB", 4, "splitwise"),
]
SPLITWISE_KEYS = {"llama-2-70b_a100-80gb_tp4": ("llama2-70b", "a100-80gb", 4),
                  "llama-2-70b_h100-80gb_tp4": ("llama2-70b", "h100-80gb", 4)}

FEATURES = ["N", "KV", "P", "KVP"]  # coefficients b, c, d, e (a is the intercept)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_blob(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def params(model: str) -> int:
    """Parameter count of a Llama-architecture model (untied embeddings, no biases)."""
    m = MODELS[model]
    head_dim = m["hidden"] // m["heads"]
    attn = 2 * m["hidden"] * m["hidden"] + 2 * m["hidden"] * m["kv_heads"] * head_dim
    layer = attn + 3 * m["hidden"] * m["ffn"] + 2 * m["hidden"]
    return m["layers"] * layer + 2 * m["vocab"] * m["hidden"] + m["hidden"]


def kv_bytes_per_token(model: str) -> int:
    """2 (K and V) x layers x KV heads x head dim x bytes per value."""
    m = MODELS[model]
    return 2 * m["layers"] * m["kv_heads"] * (m["hidden"] // m["heads"]) * BYTES_PER_VALUE


def kv_cache_tokens(model: str, gpu: str, tp: int) -> int:
    """Tokens of KV cache in one replica: 0.9 of each GPU's memory after its share of the
    weights, divided by its share of a token's KV (activations and CUDA graphs not counted)."""
    free = GPU_MEMORY_UTILIZATION * GPU_MEMORY[gpu] - params(model) * BYTES_PER_VALUE / tp
    return int(free // (kv_bytes_per_token(model) / tp))


# ------------------------------------------------------------------------------------------
# Llama-3-8B on A100 from Vidur's profiles
# ------------------------------------------------------------------------------------------

def vidur_linear(mlp: Path) -> tuple[np.ndarray, np.ndarray]:
    """Profiled token counts and the per-layer time (ms) of the linear operators at each."""
    df = pd.read_csv(mlp)
    df = df[df["num_tensor_parallel_workers"] == 1].drop_duplicates("num_tokens")
    df = df.sort_values("num_tokens")
    per_layer = sum(df[f"time_stats.{op}.median"] for op in LINEAR_OPS)
    return df["num_tokens"].to_numpy(dtype=float), per_layer.to_numpy(dtype=float)


def vidur_attention(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The selected decode and prefill rows of attention.csv, and the sha256 of their values."""
    df = pd.read_csv(path, usecols=ATTENTION_COLS)
    m = MODELS["Meta-Llama-3-8B"]
    df = df[(df["n_embd"] == m["hidden"]) & (df["n_q_head"] == m["heads"])
            & (df["n_kv_head"] == m["kv_heads"]) & (df["block_size"] == BLOCK_SIZE)
            & (df["num_tensor_parallel_workers"] == 1)]
    keys = ["is_prefill", "batch_size", "prefill_chunk_size", "kv_cache_size"]
    df = df.drop_duplicates(keys, keep="first")
    want_dec = {(b, kv) for kv, batches in DECODE_POINTS.items() for b in batches}
    want_pre = {(c, i * c) for c, n in PREFILL_POINTS.items() for i in range(n)}
    dec_key = list(zip(df["batch_size"], df["kv_cache_size"], strict=True))
    pre_key = list(zip(df["prefill_chunk_size"], df["kv_cache_size"], strict=True))
    dec = df[~df["is_prefill"] & pd.Series([k in want_dec for k in dec_key], index=df.index)]
    pre = df[df["is_prefill"] & (df["batch_size"] == 1)
             & pd.Series([k in want_pre for k in pre_key], index=df.index)]
    if len(dec) != len(want_dec) or len(pre) != len(want_pre):
        raise SystemExit(f"{path}: expected {len(want_dec)} decode and {len(want_pre)} prefill "
                         f"rows, found {len(dec)} and {len(pre)}")
    dec = dec.sort_values(["kv_cache_size", "batch_size"])
    pre = pre.sort_values(["prefill_chunk_size", "kv_cache_size"])
    text = "".join(f"{int(r.is_prefill)},{r.batch_size},{r.prefill_chunk_size},"
                   f"{r.kv_cache_size},{r[ATTENTION_COLS[0]]!r},{r[ATTENTION_COLS[1]]!r},"
                   f"{r[ATTENTION_COLS[2]]!r}\n" for _, r in pd.concat([dec, pre]).iterrows())
    return dec, pre, hashlib.sha256(text.encode()).hexdigest()


def vidur_points(profiling: Path) -> tuple[pd.DataFrame, dict]:
    """Step times (ms) composed from the profiles: decode-only, prefill-only and mixed."""
    folder = profiling / VIDUR_MODEL_DIR
    tokens, linear = vidur_linear(folder / "mlp.csv")
    dec, pre, rows_sha = vidur_attention(folder / "attention.csv")
    layers = MODELS["Meta-Llama-3-8B"]["layers"]
    save, pfl, dcd = ATTENTION_COLS[:3]

    b = dec["batch_size"].to_numpy(dtype=float)
    dec_attn = (dec[save] + dec[dcd] * np.where(b > 1, 1 + DECODE_BATCHING_OVERHEAD, 1.0))
    dec_attn = dec_attn.to_numpy()
    dec_kv = b * dec["kv_cache_size"].to_numpy(dtype=float)
    c = pre["prefill_chunk_size"].to_numpy(dtype=float)
    pre_attn = (pre[save] + pre[pfl]).to_numpy()
    pre_kv = pre["kv_cache_size"].to_numpy(dtype=float)

    def step(n: np.ndarray, attention: np.ndarray) -> np.ndarray:
        return layers * (np.interp(n, tokens, linear) + attention)

    parts = [pd.DataFrame({"kind": "decode", "N": b, "KV": dec_kv, "P": 0.0, "KVP": 0.0,
                           "T": step(b, dec_attn)}),
             pd.DataFrame({"kind": "prefill", "N": c, "KV": 0.0, "P": c, "KVP": pre_kv,
                           "T": step(c, pre_attn)})]
    bi, ci = np.meshgrid(np.arange(len(b)), np.arange(len(c)), indexing="ij")
    bi, ci = bi.ravel(), ci.ravel()
    parts.append(pd.DataFrame({"kind": "mixed", "N": b[bi] + c[ci], "KV": dec_kv[bi],
                               "P": c[ci], "KVP": pre_kv[ci],
                               "T": step(b[bi] + c[ci], dec_attn[bi] + pre_attn[ci])}))
    source = {
        "source (vidur)": f"microsoft/vidur@{VIDUR_COMMIT} data/profiling/{VIDUR_MODEL_DIR}/",
        "mlp.csv sha256": sha256(folder / "mlp.csv"),
        "attention.csv rows used": f"{len(dec)} decode + {len(pre)} prefill (TP 1), sha256 of "
                                   f"their values {rows_sha}",
        "licence": VIDUR_LICENCE,
        "cite": VIDUR_CITE,
    }
    return pd.concat(parts, ignore_index=True), source


# ------------------------------------------------------------------------------------------
# Llama-2-70B from the Splitwise measurements
# ------------------------------------------------------------------------------------------

def splitwise_points(path: Path, key: tuple[str, str, int]) -> pd.DataFrame:
    model, hardware, tp = key
    df = pd.read_csv(path)
    df = df[(df["model"] == model) & (df["hardware"] == hardware)
            & (df["tensor_parallel"] == tp)]
    g = (df.groupby(["prompt_size", "batch_size", "token_size"])
         [["prompt_time", "token_time", "e2e_time"]].median().reset_index())
    generated = np.minimum(g["token_size"], (g["e2e_time"] - g["prompt_time"]) / g["token_time"])
    batch, prompt = g["batch_size"].astype(float), g["prompt_size"].astype(float)
    return pd.concat([
        pd.DataFrame({"kind": "decode", "N": batch, "KV": batch * (prompt + generated / 2),
                      "P": 0.0, "KVP": 0.0, "T": g["token_time"]}),
        pd.DataFrame({"kind": "prefill", "N": batch * prompt, "KV": 0.0, "P": batch * prompt,
                      "KVP": 0.0, "T": g["prompt_time"]}),
    ], ignore_index=True)


# ------------------------------------------------------------------------------------------
# Fit
# ------------------------------------------------------------------------------------------

def fit(points: pd.DataFrame, features: list[str]) -> dict:
    """Non-negative least squares on the relative error; each kind of point weighs the same."""
    y = points["T"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(points))] + [points[f].to_numpy(dtype=float)
                                                   for f in features])
    share = points["kind"].map(1.0 / points["kind"].value_counts()).to_numpy()
    w = np.sqrt(share) / y
    coef, _ = nnls(x * w[:, None], y * w)
    pred = x @ coef
    rel = (pred - y) / y
    out = {"a_ms": coef[0]}
    names = dict(zip(FEATURES, ["b_ms_per_token", "c_ms_per_kv_token", "d_ms_per_prefill_token",
                                "e_ms_per_prefill_kv_token"], strict=True))
    for f, v in zip(features, coef[1:], strict=True):
        out[names[f]] = v
    out.update({
        "fit_points": len(points),
        "fit_r2": 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2),
        "fit_rms_rel_err": float(np.sqrt(np.mean(rel**2))),
        "fit_max_rel_err": float(np.max(np.abs(rel))),
        "fit_max_rel_err_decode": float(np.max(np.abs(rel[points["kind"] == "decode"]))),
        "fit_max_batch": int(points.loc[points["kind"] == "decode", "N"].max()),
        "fit_max_kv_tokens": int(points["KV"].max()),
        "fit_max_prefill_tokens": int(points["P"].max()),
    })
    return out


def step_ms(row: dict, n: float = 0, kv: float = 0, p: float = 0, kvp: float = 0) -> float:
    e = row.get("e_ms_per_prefill_kv_token")
    e = 0.0 if e is None or not np.isfinite(e) else e
    return (row["a_ms"] + row["b_ms_per_token"] * n + row["c_ms_per_kv_token"] * kv
            + row["d_ms_per_prefill_token"] * p + e * kvp)


def profile_row(name, model, gpu, tp, source, coefs) -> dict:
    max_seqs, max_tokens = ENGINE_DEFAULTS[gpu]
    price, price_source, price_date = PRICES[gpu]
    row = {"profile": name, "model": model, "gpu": gpu, "tensor_parallel": tp,
           "source": source}
    row.update(coefs)
    row.update({
        "decode_ms_b1_ctx1024": step_ms(row, n=1, kv=1024),
        "decode_ms_b64_ctx1024": step_ms(row, n=64, kv=64 * 1024),
        "prefill_tokens_per_s": max_tokens / step_ms(row, n=max_tokens, p=max_tokens) * MS,
        "params": params(model),
        "weight_bytes": params(model) * BYTES_PER_VALUE,
        "kv_bytes_per_token": kv_bytes_per_token(model),
        "gpu_memory_bytes": GPU_MEMORY[gpu],
        "gpu_memory_utilization": GPU_MEMORY_UTILIZATION,
        "kv_cache_tokens": kv_cache_tokens(model, gpu, tp),
        "block_size": BLOCK_SIZE,
        "max_num_seqs": max_seqs,
        "max_num_batched_tokens": max_tokens,
        "gpu_hour_usd": price,
        "replica_hour_usd": price * tp,
        "price_source": price_source,
        "price_date": price_date,
    })
    return row


def derive_rows(vidur: Path, splitwise: Path) -> tuple[pd.DataFrame, dict]:
    rows, sources = [], {}
    for name, model, gpu, tp, source in PROFILES:
        if source == "vidur":
            points, sources["vidur"] = vidur_points(vidur)
            coefs = fit(points, FEATURES)
        else:
            points = splitwise_points(splitwise, SPLITWISE_KEYS[name])
            coefs = fit(points, ["N", "KV", "P"])
            coefs["e_ms_per_prefill_kv_token"] = np.nan
        rows.append(profile_row(name, model, gpu, tp, source, coefs))
    if sha256(splitwise) != SPLITWISE_SHA256:
        print(f"warning: {splitwise} is not the perf_model.csv recorded here", file=sys.stderr)
    sources["splitwise"] = {
        "source (splitwise)": f"Mutinifni/splitwise-sim@{SPLITWISE_COMMIT} data/perf_model.csv",
        "sha256": sha256(splitwise),
        "licence": SPLITWISE_LICENCE,
        "cite": SPLITWISE_CITE,
    }
    return pd.DataFrame(rows), sources


def header(sources: dict) -> str:
    lines = ["# serving_profiles: step time of one continuous-batching iteration, "
             "t_iter_ms = a + b*N + c*KV + d*P + e*KVP (see data/README.md)"]
    for block in sources.values():
        lines += [f"# {k}: {v}" for k, v in block.items()]
    lines += ["# changes: step times composed and fitted by this script; no row of the "
              "sources is copied",
              "# prices: public on-demand list prices (see price_source, price_date), not "
              "derived from the sources above",
              f"# derived by: {COMMAND}   (see data/README.md; read with comment='#')"]
    return "\n".join(lines) + "\n"


def derive(vidur: Path, splitwise: Path, out: Path) -> list[Path]:
    attention = vidur / VIDUR_MODEL_DIR / "attention.csv"
    if git_blob(attention) != VIDUR_BLOBS["attention.csv"]:
        print(f"note: {attention} is not microsoft/vidur's file; only the rows listed in "
              "DECODE_POINTS and PREFILL_POINTS are read from it", file=sys.stderr)
    if git_blob(vidur / VIDUR_MODEL_DIR / "mlp.csv") != VIDUR_BLOBS["mlp.csv"]:
        print("warning: mlp.csv is not microsoft/vidur's file", file=sys.stderr)
    table, sources = derive_rows(vidur, splitwise)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "serving_profiles.csv"
    text = header(sources) + table.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    path.write_text(text, encoding="utf-8", newline="")
    return [path]


# ------------------------------------------------------------------------------------------
# Cross-checks (printed, not written)
# ------------------------------------------------------------------------------------------

def capacity(row: dict, prompts: np.ndarray, outputs: np.ndarray, rate: float,
             budget: int) -> dict:
    """Mean-value arithmetic of a loaded replica on a trace's token sizes.

    Per request the engine computes ``prompt`` prefill tokens and ``output`` decode tokens,
    decode step j reading ``prompt + j`` context tokens; prompts are cut into chunks of the
    token budget, each chunk reading the chunks before it. With ``W`` the work of one request
    beyond the fixed cost a, an arrival rate lambda keeps each iteration at
    ``tau = a / (1 - lambda * W)`` and ``lambda * outputs * tau`` sequences decoding."""
    e = row["e_ms_per_prefill_kv_token"]
    e = 0.0 if not np.isfinite(e) else e
    kv = outputs * prompts + outputs * (outputs - 1) / 2
    chunks = np.ceil(prompts / budget)
    kvp = budget * chunks * (chunks - 1) / 2
    work = (row["b_ms_per_token"] * (prompts + outputs) + row["c_ms_per_kv_token"] * kv
            + row["d_ms_per_prefill_token"] * prompts + e * kvp).mean()
    out = {"work_ms_per_request": work, "rate_max_per_s": MS / work}
    rho = rate * work / MS
    if rho < 1:
        tau = row["a_ms"] / (1 - rho)
        out.update({"utilisation": rho, "iteration_ms": tau,
                    "mean_decoding": rate * outputs.mean() * tau / MS})
    mean_ctx = (kv.sum() / outputs.sum()) if outputs.sum() else 0.0
    out["kv_bound_batch"] = row["kv_cache_tokens"] / (mean_ctx + 1)
    return out


def vidur_70b_linear(vidur: Path, n: np.ndarray) -> np.ndarray | None:
    """Llama-2-70B, tensor parallel 4 on an A100 DGX, composed as Vidur does but without
    attention: 80 x (the nine operators + 2 all-reduces of n x 8192 fp16 values, each plus
    Vidur's 0.02 ms NCCL launch overhead). None when the two profiles are absent."""
    mlp = vidur / "compute/a100/meta-llama/Llama-2-70b-hf/mlp.csv"
    net = vidur / "network/a100_dgx/all_reduce.csv"
    if not (mlp.exists() and net.exists()):
        return None
    df = pd.read_csv(mlp)
    df = df[df["num_tensor_parallel_workers"] == 4].drop_duplicates("num_tokens")
    df = df.sort_values("num_tokens")
    linear = sum(df[f"time_stats.{op}.median"] for op in LINEAR_OPS).to_numpy()
    ar = pd.read_csv(net)
    ar = ar[(ar["num_workers"] == 4) & (ar["devices_per_node"] == 4)]
    ar = ar.drop_duplicates("size").sort_values("size")
    hidden = MODELS["Llama-2-70B"]["hidden"]
    reduce = np.interp(n, ar["size"].to_numpy() / hidden / BYTES_PER_VALUE,
                       ar["time_stats.all_reduce.median"].to_numpy()) + 0.02
    layers = MODELS["Llama-2-70B"]["layers"]
    return layers * (np.interp(n, df["num_tokens"].to_numpy(), linear) + 2 * reduce)


def check(table: pd.DataFrame, azure: Path, vidur: Path, splitwise: Path) -> None:
    trace = pd.read_csv(azure)
    prompts = trace["ContextTokens"].to_numpy(dtype=float)
    outputs = trace["GeneratedTokens"].to_numpy(dtype=float)
    print(f"{azure.name}: {len(trace)} requests, prompt mean {prompts.mean():.1f}, "
          f"output mean {outputs.mean():.1f}")
    for _, r in table.iterrows():
        row = r.to_dict()
        print(f"\n{row['profile']}: a={row['a_ms']:.4g} b={row['b_ms_per_token']:.4g} "
              f"c={row['c_ms_per_kv_token']:.4g} d={row['d_ms_per_prefill_token']:.4g} "
              f"e={row['e_ms_per_prefill_kv_token']:.4g}")
        for n in (1, 8, 32, 64, 128, 256):
            t = step_ms(row, n=n, kv=n * 1024)
            print(f"  decode step, batch {n:3d}, 1024 context each: {t:7.2f} ms, "
                  f"{n / t * MS:8.0f} tokens/s")
        for p in (512, 2048, 8192):
            t = step_ms(row, n=p, p=p)
            print(f"  prefill iteration of {p} tokens: {t:7.1f} ms, {p / t * MS:7.0f} tokens/s")
        for budget in sorted({512, row["max_num_batched_tokens"]}):
            for rate in (1.0, 3.0, 6.45):
                cap = capacity(row, prompts, outputs, rate, budget)
                print(f"  trace at {rate} req/s, chunks of {budget}: "
                      + ", ".join(f"{k} {v:.3g}" for k, v in cap.items()))
    n = np.array([1.0, 512, 1024, 2048, 4096])
    composed = vidur_70b_linear(vidur, n)
    if composed is not None:
        sw = splitwise_points(splitwise, SPLITWISE_KEYS["llama-2-70b_a100-80gb_tp4"])
        print("\nLlama-2-70B TP4 A100: Vidur operators + all-reduce (no attention) against the "
              "Splitwise measurement")
        first = sw[sw["kind"] == "decode"].sort_values("KV").iloc[0]
        print(f"  decode, batch 1, context {first['KV']:.0f}: composed {composed[0]:.1f} ms, "
              f"measured {first['T']:.1f} ms")
        pre = sw[(sw["kind"] == "prefill")].groupby("N")["T"].min()
        for tokens, t in zip(n[1:], composed[1:], strict=True):
            if tokens in pre.index:
                print(f"  prefill of {tokens:.0f} tokens: composed {t:.0f} ms, measured "
                      f"{pre[tokens]:.0f} ms (fastest row with that many tokens)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vidur", type=Path, help="data/profiling folder of microsoft/vidur")
    parser.add_argument("splitwise", type=Path, help="data/perf_model.csv of splitwise-sim")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="where to write serving_profiles.csv (default: this data/ folder)")
    parser.add_argument("--check", type=Path, metavar="AZURE_CONV_CSV",
                        help="print the cross-checks against this trace, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        table, _ = derive_rows(args.vidur, args.splitwise)
        check(table, args.check, args.vidur, args.splitwise)
        return 0
    for path in derive(args.vidur, args.splitwise, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
