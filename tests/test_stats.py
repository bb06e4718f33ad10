"""simlib.stats: intervals that print themselves, the simulated-vs-formula table, paired
differences, the Pareto front and the one verdict table; and simlib.capacity's promise to an
engineer with a script (no widgets, no plotly)."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import simlib as sl
from simlib import experiment, stats


def test_a_ci_prints_its_three_numbers_with_one_spec_and_unpacks_like_a_tuple():
    ci = stats.confidence_interval([1.1, 1.3, 1.2, 1.4])
    assert f"{ci:.2f}" == "1.25 [1.04, 1.46]"
    assert str(ci) == "1.25 [1.04, 1.46]"  # three significant digits by default
    assert f"{stats.CI(0.125, 0.1, 0.15):.1%}" == "12.5% [10.0%, 15.0%]"
    mean, low, high = ci
    assert (mean, low, high) == (ci.mean, ci.low, ci.high) and isinstance(ci, tuple)
    assert ci.covers(1.3) and not ci.covers(1.5)
    assert ci.half_width == pytest.approx((high - low) / 2)


def test_the_interval_is_student_t_and_missing_with_one_value():
    values = [2.0, 4.0, 9.0]
    t = 4.302652729911275  # t(0.975, 2 degrees of freedom)
    ci = stats.confidence_interval(values)
    assert ci.high - ci.mean == pytest.approx(t * np.std(values, ddof=1) / np.sqrt(3))
    one = stats.confidence_interval([3.0])
    assert one.mean == 3.0 and math.isnan(one.low) and not one.covers(3.0)


def test_a_count_or_a_share_is_cut_to_the_values_it_can_take():
    counts = [0, 0, 0, 1, 0, 0]
    assert stats.confidence_interval(counts).low < 0
    assert stats.confidence_interval(counts, within=(0, math.inf)).low == 0
    shares = [1.0, 1.0, 0.98, 1.0]
    assert stats.confidence_interval(shares, within=(0, 1)).high == 1.0


def test_wilson_stays_in_zero_one_and_is_not_empty_at_the_ends():
    none, every = stats.wilson(0, 20), stats.wilson(20, 20)
    assert none.mean == 0 and none.low == 0 and 0.1 < none.high < 0.2
    assert every.high == 1 and 0.8 < every.low < 0.9
    half = stats.wilson(10, 20)
    assert half.low == pytest.approx(1 - half.high)
    with pytest.raises(ValueError, match="n must be >= 1"):
        stats.wilson(0, 0)


def test_the_old_homes_still_answer():
    assert sl.confidence_interval is stats.confidence_interval
    assert experiment.confidence_interval is stats.confidence_interval
    assert experiment.wilson is stats.wilson


def sweep_like() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"rate": rate, "design": design, "seed": seed,
             "latency": rate * (2 if design == "b" else 1) + rng.normal(0, 0.1),
             "cost": 1.0 + rng.normal(0, 0.1)}
            for rate in (1.0, 2.0) for design in ("a", "b") for seed in range(6)]
    return pd.DataFrame(rows)


def test_ci_table_is_the_hand_written_loop_in_one_call():
    table = sweep_like()
    check = stats.ci_table(table[table["design"] == "a"], "rate", "latency",
                           formula=lambda rate: rate)
    for rate, runs in table[table["design"] == "a"].groupby("rate"):
        ci = stats.confidence_interval(runs["latency"])
        assert tuple(check.loc[rate, ["mean", "low", "high"]]) == pytest.approx(ci)
        assert check.loc[rate, "formula"] == rate
        assert check.loc[rate, "inside"] == ci.covers(rate)
    two = stats.ci_table(table, ["rate", "design"], ["latency", "cost"])
    assert list(two.index) == [(1.0, "a"), (1.0, "b"), (2.0, "a"), (2.0, "b")]
    assert two.loc[(2.0, "b"), ("latency", "mean")] == pytest.approx(4.0, abs=0.1)
    assert list(stats.ci_table(table, "rate", "cost", formula={1.0: 1.0, 2.0: 1.0})["inside"])
    with pytest.raises(ValueError, match="formula needs one column"):
        stats.ci_table(table, "rate", ["cost", "latency"], formula=lambda r: 1.0)


def test_formatted_prints_each_interval_as_one_column():
    table = sweep_like()
    text = stats.formatted(stats.ci_table(table, "rate", "latency", formula=lambda r: r),
                           ".2f")
    assert list(text.columns) == ["mean [CI]", "formula", "inside"]
    assert text.loc[1.0, "formula"] == "1.00" and text.loc[1.0, "inside"] in ("yes", "no")
    ci = stats.confidence_interval(table[table["rate"] == 1.0]["latency"])
    assert text.loc[1.0, "mean [CI]"] == f"{ci:.2f}"
    two = stats.formatted(stats.ci_table(table, "design", ["latency", "cost"]), ".1f")
    assert list(two.columns) == ["latency", "cost"] and "[" in two.loc["a", "cost"]


def test_mean_with_ci_is_sorted_chart_points():
    table = sweep_like().sample(frac=1.0, random_state=1)
    points = stats.mean_with_ci(table, "rate", "cost")
    assert list(points.columns) == ["rate", "mean", "low", "high", "runs"]
    assert list(points["rate"]) == [1.0, 2.0] and list(points["runs"]) == [12, 12]


def test_versus_pairs_seed_by_seed():
    table = sweep_like()
    at_two = table[table["rate"] == 2.0]
    paired = stats.versus(at_two, "design", "a", ["latency", "cost"])
    a, b = (at_two[at_two["design"] == d].set_index("seed") for d in "ab")
    expected = stats.difference(b["latency"], a["latency"])
    assert tuple(paired.loc["b", "latency"]) == pytest.approx(expected)
    assert list(paired.index) == ["b"]
    assert expected.covers(2.0)  # b's latency is 2 x rate, a's is rate
    one = stats.versus(at_two, "design", "a", "latency")
    assert list(one.columns) == ["mean", "low", "high"]


def test_pareto_front_keeps_exactly_the_undominated_rows():
    table = pd.DataFrame({"cost": [1.0, 2.0, 3.0, 2.5, 1.0], "p95": [3.0, 2.0, 1.0, 2.5, 3.0],
                          "availability": [0.9, 0.9, 0.9, 0.9, 0.95]},
                         index=list("ABCDE"))
    front = stats.pareto_front(table, lower=("cost", "p95"), higher=("availability",))
    # D is dearer and slower than B; A ties E on cost and p95 but E is more available
    assert list(front[front].index) == ["B", "C", "E"]


def test_a_verdict_table_wraps_its_columns_and_is_a_dataframe():
    table = stats.verdict([("a claim", "holds", "one two three four " * 6, "x"),
                           ("another", "not testable", "y", "z")])
    assert isinstance(table, pd.DataFrame) and list(table.columns) == list(stats.COLUMNS)
    lines = str(table).splitlines()
    assert lines[0].startswith("claim") and set(lines[1]) <= {"-", "+"}
    assert len(lines) == 2 + 3 + 1  # header, rule, a row wrapped on 3 lines, a row on 1
    assert all(len(line) <= sum(stats.WIDTHS) + 3 * 3 for line in lines)
    assert repr(table) == str(table)
    assert "text-align: left" in table._repr_html_() and "another" in table._repr_html_()
    assert type(table.head(1)) is pd.DataFrame


def test_a_verdict_is_one_of_four_words():
    with pytest.raises(ValueError, match="verdict must be one of"):
        stats.verdict([("a claim", "mostly", "y", "z")])
    with pytest.raises(ValueError, match="needs 4 cells"):
        stats.verdict([("a claim", "holds", "y")])


def test_capacity_needs_neither_widgets_nor_plotly():
    code = ("import simlib.capacity, simlib.stats, sys; "
            "assert 'ipywidgets' not in sys.modules and 'plotly' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ci_table_cuts_each_column_to_its_own_range():
    table = pd.DataFrame({"g": ["a"] * 4, "share": [1.0, 1.0, 0.97, 1.0],
                          "count": [0.0, 0.0, 1.0, 0.0], "free": [0.0, 0.0, 1.0, 0.0]})
    out = stats.ci_table(table, "g", ["share", "count", "free"],
                         within={"share": stats.SHARE, "count": stats.COUNT})
    assert out.loc["a", ("share", "high")] == 1.0 and out.loc["a", ("count", "low")] == 0.0
    assert out.loc["a", ("free", "low")] < 0  # a column not named is not cut


def test_crossing_interpolates_the_first_crossing():
    from simlib.stats import crossing
    assert crossing([1, 2, 4], [3.0, 1.0, 0.0], 2.0) == 1.5  # falling through the level
    assert crossing([1, 2, 4], [0.0, 0.5, 1.5], 1.0) == 3.0  # rising, between 2 and 4
    assert crossing([1, 2], [2.0, 5.0], 2.0) == 1.0  # on the level at the first point
    assert crossing([1, 2, 3], [0.0, 0.1, 0.2], 1.0) is None  # never reaches it
    assert crossing([1, 2], [3.0, 5.0], 2.0) is None  # above it throughout: never crosses
    assert crossing([1, 2], [3.0, 5.0], 2.0, already=True) == 1.0  # ... flipped from the start
    assert crossing([1, 2, 4], [0.0, 0.5, 1.5], 1.0, already=True) == 3.0  # as without
