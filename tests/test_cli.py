"""The command line, ``python -m simlib run|sweep|presets``, run as a user would run it.

Each end-to-end test starts a fresh interpreter (``sys.executable -m simlib``) in a temporary
directory and keeps the simulated time short, so the whole file runs in a few seconds. The unit
tests at the end check how command-line text becomes Python values.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

import simlib as sl
from simlib import cli
from simlib import dists as D

# warmup first: with_ validates after each change and the mmc preset's warmup is 200
# (see test_set_order_does_not_matter below)
SHORT = ["--set", "warmup=20", "--set", "duration=200"]
TURN_COLUMNS = ["session", "turn", "arrival", "finish", "latency", "outcome"]


def simlib_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simlib", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit code 2, the given words on stderr, and no Python traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


# -- end to end -----------------------------------------------------------------------------


def test_help_shows_the_commands_and_an_example(tmp_path):
    proc = simlib_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "run" in text and "sweep" in text and "presets" in text
    assert "example" in text.lower()
    assert "python -m simlib run --preset" in text
    assert "python -m simlib sweep --preset" in text


@pytest.mark.parametrize("command, flag", [("run", "--set"), ("sweep", "--vary")])
def test_subcommand_help(tmp_path, command, flag):
    proc = simlib_cli(command, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert flag in proc.stdout and "--preset" in proc.stdout
    assert "example" in proc.stdout.lower()


def test_no_command_is_a_usage_error(tmp_path):
    proc = simlib_cli(cwd=tmp_path)
    assert_clean_error(proc, "usage")


def test_presets_lists_every_preset(tmp_path):
    proc = simlib_cli("presets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert set(names) == {"mmc", *sl.presets.ARTICLE}


def test_run_writes_turns_and_summary(tmp_path):
    turns, summary = tmp_path / "turns.csv", tmp_path / "summary.csv"
    proc = simlib_cli("run", "--preset", "mmc", "--seed", 3, *SHORT, "--turns", turns,
                      "--summary", summary, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert turns.exists() and summary.exists()

    table = pd.read_csv(turns)
    assert len(table) > 0
    missing = [c for c in TURN_COLUMNS if c not in table.columns]
    assert not missing, f"turns CSV lacks {missing}; has {list(table.columns)}"
    assert set(table["outcome"]) <= set(sl.OUTCOMES)
    assert table["arrival"].between(0, 200).all()
    done = table.dropna(subset=["finish"])
    assert (done["latency"] - (done["finish"] - done["arrival"])).abs().max() < 1e-9

    row = pd.read_csv(summary)
    assert len(row) == 1
    assert "goodput" in row.columns and "latency_p95" in row.columns
    assert row["goodput"].iloc[0] > 0


def test_run_prints_the_summary_without_summary_file(tmp_path):
    proc = simlib_cli("run", "--preset", "mmc", "--seed", 1, *SHORT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "goodput" in proc.stdout and "throughput" in proc.stdout


def test_run_is_reproducible_across_processes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        proc = simlib_cli("run", "--preset", "mmc", "--seed", 7, *SHORT, "--turns", path,
                          cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert a.read_text() == b.read_text()


def test_sweep_writes_one_row_per_grid_point_and_seed(tmp_path):
    out = tmp_path / "sweep.csv"
    proc = simlib_cli("sweep", "--preset", "mmc", "--vary", "workload.arrival_rate=1,2",
                      "--seeds", "0-1", *SHORT, "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    assert len(table) == 4
    assert "workload.arrival_rate" in table.columns and "seed" in table.columns
    assert sorted(zip(table["workload.arrival_rate"], table["seed"], strict=True)) == \
        [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert "goodput" in table.columns
    rates = table.groupby("workload.arrival_rate")["arrival_rate"].mean()
    assert rates[2] > rates[1]


def test_bad_value_is_a_clean_error(tmp_path):
    turns = tmp_path / "turns.csv"
    proc = simlib_cli("run", "--preset", "mmc", *SHORT, "--set", "workload.arrival_rate=-1",
                      "--turns", turns, cwd=tmp_path)
    assert_clean_error(proc, "workload.arrival_rate", "-1", "> 0")
    assert not turns.exists()


def test_unknown_path_is_a_clean_error(tmp_path):
    proc = simlib_cli("run", "--preset", "mmc", *SHORT, "--set", "workload.arival_rate=2",
                      cwd=tmp_path)
    assert_clean_error(proc, "unknown path", "workload.arival_rate", "arrival_rate")


def test_bad_grid_value_in_a_sweep_writes_nothing(tmp_path):
    out = tmp_path / "sweep.csv"
    proc = simlib_cli("sweep", "--preset", "mmc", "--vary", "workload.arrival_rate=1,-2",
                      "--seeds", "0-1", *SHORT, "--out", out, cwd=tmp_path)
    assert_clean_error(proc, "workload.arrival_rate", "-2")
    assert not out.exists()


def test_unknown_grid_path_is_a_clean_error(tmp_path):
    proc = simlib_cli("sweep", "--preset", "mmc", "--vary", "workers.cout=1,2", "--seeds", "0",
                      *SHORT, "--out", tmp_path / "x.csv", cwd=tmp_path)
    assert_clean_error(proc, "unknown path", "workers.cout")


def test_negative_seed_is_a_clean_error(tmp_path):
    proc = simlib_cli("run", "--preset", "mmc", "--seed", -1, *SHORT, cwd=tmp_path)
    assert_clean_error(proc, "seed", "-1")


def test_assignment_without_equals_is_a_usage_error(tmp_path):
    proc = simlib_cli("run", "--preset", "mmc", "--set", "workload.arrival_rate", cwd=tmp_path)
    assert_clean_error(proc, "PATH=VALUE")


def test_unknown_preset_is_a_usage_error(tmp_path):
    proc = simlib_cli("run", "--preset", "nosuch", cwd=tmp_path)
    assert_clean_error(proc, "nosuch", "mmc")


def test_set_order_does_not_matter(tmp_path):
    proc = simlib_cli("run", "--preset", "mmc", "--set", "duration=200", "--set", "warmup=20",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_bad_seeds_text_names_seeds(tmp_path):
    proc = simlib_cli("sweep", "--preset", "mmc", "--vary", "workload.arrival_rate=1",
                      "--seeds", "x", *SHORT, "--out", tmp_path / "x.csv", cwd=tmp_path)
    assert_clean_error(proc, "seeds", "'x'")


def test_bad_distribution_text_names_the_field(tmp_path):
    proc = simlib_cli("run", "--preset", "mmc", *SHORT, "--set", "llm.ttft=exponential:abc",
                      cwd=tmp_path)
    assert_clean_error(proc, "llm.ttft", "exponential:abc")


HAS_PARQUET = any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet"))


def test_sweep_writes_parquet_or_refuses_cleanly(tmp_path):
    """DESIGN.md: the command line writes CSV or Parquet."""
    out = tmp_path / "sweep.parquet"
    proc = simlib_cli("sweep", "--preset", "mmc", "--vary", "workload.arrival_rate=1",
                      "--seeds", "0", *SHORT, "--out", out, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_parquet(out)) == 1


# -- in process -------------------------------------------------------------------------------


def test_main_returns_2_and_prints_the_reason(capsys):
    code = cli.main(["run", "--preset", "mmc", "--set", "workers.count=0"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "workers.count must be >= 1, got 0" in err


# -- parse_value, parse_seeds, parse_assignment -----------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("3", 3), ("-1", -1), ("0", 0), ("2.5", 2.5), ("1e3", 1000.0), (".5", 0.5),
    ("none", None), ("None", None), ("NONE", None),
    ("sync", "sync"), ("stateful", "stateful"), ("microservices", "microservices"),
    ("search", "search"),
])
def test_parse_value_plain(text, expected):
    got = cli.parse_value(text)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize("text, expected", [
    ("lognormal:0.6:1.5", D.LogNormal(median=0.6, p95=1.5)),
    ("LogNormal:0.6:1.5", D.LogNormal(median=0.6, p95=1.5)),
    ("exponential:1.5", D.Exponential(mean=1.5)),
    ("deterministic:0.5", D.Deterministic(0.5)),
    ("uniform:0:2", D.Uniform(low=0.0, high=2.0)),
    ("geometric:4", D.Geometric(mean=4.0)),
])
def test_parse_value_distributions(text, expected):
    got = cli.parse_value(text)
    assert type(got) is type(expected)
    assert got == expected


def test_parse_value_lognormal_fields():
    got = cli.parse_value("lognormal:0.6:1.5")
    assert isinstance(got, D.LogNormal)
    assert got.median == 0.6 and got.p95 == 1.5


def test_parse_value_bad_distribution_is_a_value_or_type_error():
    with pytest.raises((ValueError, TypeError)):
        cli.parse_value("lognormal:1")
    with pytest.raises(ValueError, match="LogNormal.p95"):
        cli.parse_value("lognormal:2:1")


@pytest.mark.parametrize("text, expected", [
    ("0-9", list(range(10))), ("0-1", [0, 1]), ("5-5", [5]), ("3", [3]),
    ("1,2,5", [1, 2, 5]), ("7,3", [7, 3]),
])
def test_parse_seeds(text, expected):
    assert cli.parse_seeds(text) == expected


def test_parse_seeds_rejects_words():
    with pytest.raises(ValueError):
        cli.parse_seeds("some")


@pytest.mark.parametrize("text, expected", [
    ("workload.arrival_rate=3", ("workload.arrival_rate", "3")),
    (" workers.count = 5 ", ("workers.count", "5")),
    ("llm.ttft=lognormal:0.6:1.5", ("llm.ttft", "lognormal:0.6:1.5")),
])
def test_parse_assignment(text, expected):
    assert cli.parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["workload.arrival_rate", "=3"])
def test_parse_assignment_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match="PATH=VALUE"):
        cli.parse_assignment(text)
