"""Derive the small tables in data/ from the original public traces.

    python data/derive.py [PATH_TO_SHARED_DATA] [--out DIR]

PATH_TO_SHARED_DATA defaults to ../shared/data beside the repository; DIR defaults to this
folder. Per trace it writes ``<name>_tokens.csv`` (quantiles of prompt and output tokens) and
``<name>_arrivals.csv`` (requests in each minute), and one ``traces_summary.csv``. Each file
opens with ``#`` comment lines naming its source, the source's sha256, the licence and this
command, so read them with ``pandas.read_csv(path, comment="#")``.

The output depends only on the input files: no dates, no absolute paths, fixed number
formats. Running it again on the same originals reproduces every file byte for byte (the
tests check this).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from simlib import traces

HERE = Path(__file__).resolve().parent
QUANTILES = [0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1]
COMMAND = "python data/derive.py"
BIN_SECONDS = 10  # counting window for the index of dispersion
HOUR = 3600  # a second, coarse window: slow swings (day and night) hide in sparse 10-s bins

AZURE_LICENCE = ("CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/), "
                 "Azure/AzurePublicDataset, Microsoft")
AZURE_CITE = ("Patel, Choukse, Zhang, Shah, Goiri, Maleki, Bianchini, \"Splitwise: Efficient "
              "generative LLM inference using phase splitting\", ISCA 2024")
RAGPULSE_LICENCE = "MIT, Copyright (c) 2025 zhengchao wang (flashserve/RAGPulse)"
RAGPULSE_CITE = ("Wang, Hu, Ye, Chang, Yu, Deng, Li, \"RAGPulse: An Open-Source RAG Workload "
                 "Trace to Optimize RAG Serving Systems\", arXiv 2511.12979, 2025")

#: sha256 of the originals, as recorded in shared/data/README.md.
SHA256 = {
    "azure-conv": "2f1e5b666d4e3055fdbba98598ce2ec307767b9064e03e2fa46676dbcc7d0bf8",
    "azure-code": "54e9a6d2a4bd06ba1e060304b900abbc74cbea53de96506e60fe5bb4f2277fb6",
    "ragpulse": "cd371571bef3320907147f8901729e37f412aafb067ec8eb153e2828e1801e65",
}
LICENCES = {
    "azure-conv": (AZURE_LICENCE, AZURE_CITE),
    "azure-code": (AZURE_LICENCE, AZURE_CITE),
    "ragpulse": (RAGPULSE_LICENCE, RAGPULSE_CITE),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header(what: str, sources: dict[str, Path]) -> str:
    """The comment block every derived CSV starts with."""
    lines = [f"# {what}"]
    for name, path in sources.items():
        licence, cite = LICENCES[name]
        lines += [f"# source ({name}): {traces.KNOWN[name]}",
                  f"# sha256: {sha256(path)}",
                  f"# licence: {licence}",
                  f"# cite: {cite}"]
    lines += ["# changes: statistics computed by simlib.traces; no request is copied",
              f"# derived by: {COMMAND}   (see data/README.md; read with comment='#')"]
    return "\n".join(lines) + "\n"


def write(path: Path, comment: str, table: pd.DataFrame) -> None:
    text = comment + table.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    path.write_text(text, encoding="utf-8", newline="")


def tokens_table(trace: traces.Trace) -> pd.DataFrame:
    """Empirical quantiles (each an observed value: numpy's inverted_cdf method)."""
    return pd.DataFrame({
        "quantile": QUANTILES,
        "prompt_tokens": np.quantile(trace.prompt_tokens, QUANTILES, method="inverted_cdf"),
        "output_tokens": np.quantile(trace.output_tokens, QUANTILES, method="inverted_cdf"),
    })


def arrivals_table(trace: traces.Trace) -> pd.DataFrame:
    """Requests arriving in each minute [60 m, 60 m + 60) of the trace; the last is partial."""
    minutes = (trace.times // 60).astype(np.int64)
    counts = np.bincount(minutes, minlength=int(minutes[-1]) + 1)
    return pd.DataFrame({"minute": np.arange(len(counts)), "requests": counts})


def dispersion(trace: traces.Trace, width: float = BIN_SECONDS) -> float | None:
    """:meth:`simlib.traces.Trace.dispersion`, None (an empty cell) with under two bins."""
    value = trace.dispersion(width)
    return None if np.isnan(value) else value


def summary_row(trace: traces.Trace) -> dict:
    gaps = np.diff(trace.times)
    row = {
        "trace": trace.name,
        "rows": len(trace),
        "span_s": trace.duration,
        "rate_per_s": trace.rate,
        "interarrival_mean_s": gaps.mean(),
        "interarrival_cv": trace.interarrival_cv(),
        "dispersion_10s": dispersion(trace),
        "dispersion_1h": dispersion(trace, HOUR),
        "max_idle_gap_s": gaps.max(),
        "zero_gaps": int(np.sum(gaps == 0)),
        "sessions": trace.n_sessions,
        "turns_per_session_mean": None,
        "turns_per_session_median": None,
        "prompt_tokens_mean": trace.prompt_tokens.mean(),
        "output_tokens_mean": trace.output_tokens.mean(),
    }
    if trace.sessions is not None:
        turns = np.bincount(trace.sessions)
        row["turns_per_session_mean"] = turns.mean()
        row["turns_per_session_median"] = np.median(turns)
    return row


def derive(shared: Path, out: Path) -> list[Path]:
    """Write every derived table for the originals under ``shared`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    sources, rows, written = {}, [], []
    for name, rel in traces.KNOWN.items():
        path = shared / rel
        if sha256(path) != SHA256[name]:
            print(f"warning: {path} is not the file recorded in shared/data/README.md",
                  file=sys.stderr)
        trace = traces.load(path)
        sources[name] = path
        rows.append(summary_row(trace))
        one = {name: path}
        for kind, table, what in [
            ("tokens", tokens_table(trace),
             f"{name}: quantiles of prompt and output tokens per request"),
            ("arrivals", arrivals_table(trace),
             f"{name}: requests arriving in each minute (minute 0 starts at the first "
             f"request; the last minute is partial)"),
        ]:
            written.append(out / f"{name}_{kind}.csv")
            write(written[-1], header(what, one), table)
    summary = pd.DataFrame(rows).astype({"sessions": "Int64"})
    written.append(out / "traces_summary.csv")
    what = ("per-trace summary: rates, burstiness (interarrival_cv, dispersion_10s and "
            "dispersion_1h are 1 for Poisson), sessions, token means")
    write(written[-1], header(what, sources), summary)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=traces.SHARED,
                        help="folder holding the original traces (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="where to write the tables (default: this data/ folder)")
    args = parser.parse_args(argv)
    for path in derive(args.shared, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
