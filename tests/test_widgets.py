"""The interactive layer without a browser: controls, caching, figures, the live registry."""

import pandas as pd
import plotly.graph_objects as go
import pytest

import simlib as sl
from simlib import plots, widgets


def small():
    return sl.presets.mmc(2.0, 1.0, 3, duration=300, warmup=30)


def test_slider_is_bounded_and_not_continuous():
    widget = widgets.slider("rate", 0.5, 2.5, 0.5, 2.0, "workload.arrival_rate").make()
    assert (widget.min, widget.max, widget.value) == (0.5, 2.5, 2.0)
    assert widget.continuous_update is False
    widget.value = 99  # ipywidgets clamps to the bounds: no invalid scenario can be asked for
    assert widget.value == 2.5


def test_moving_a_control_reruns_and_redraws_in_place_and_moving_back_is_cached():
    explorer = widgets.explore(small(), [widgets.slider("rate", 0.5, 2.5, 0.5, 1.0,
                                                        "workload.arrival_rate")],
                               views=["in_system", "latency_cdf"])
    assert explorer in widgets.explorers()
    figure = explorer.figures[0]
    first = explorer.results
    calm = sum(figure.data[0].y)
    explorer.controls["rate"].value = 2.5
    busy = sum(figure.data[0].y)
    assert busy > 1.5 * calm  # more arrivals, more turns in the system
    assert explorer.figures[0] is figure and len(explorer.timings) == 1
    explorer.controls["rate"].value = 1.0
    assert explorer.results is first  # served from the cache
    assert sum(figure.data[0].y) == pytest.approx(calm)


def test_side_by_side_runs_two_designs_on_one_seed():
    sticky = sl.Architecture("stateful", "sync", "monolith")
    explorer = widgets.explore(small(), views=["latency_cdf"], compare=[sticky])
    assert list(explorer.results) == ["stateless/sync/monolith", "stateful/sync/monolith"]
    arrivals = [r.turns["arrival"] for r in explorer.results.values()]
    pd.testing.assert_series_equal(arrivals[0], arrivals[1])
    assert len(explorer.figures[0].data) == 2
    assert list(explorer.summary().index) == list(explorer.results)


def test_fault_controls_add_faults_and_shade_their_window():
    explorer = widgets.explore(small(), [widgets.outage("llm", 100, 50)], views=["in_system"])
    assert explorer.figures[0].layout.shapes == ()
    explorer.controls["llm outage error rate"].value = 1.0
    assert len(explorer.current().faults) == 1
    shape = explorer.figures[0].layout.shapes[0]
    assert (shape.x0, shape.x1) == (100, 150)
    assert explorer.summary().loc["stateless/sync/monolith", "error_rate"] > 0


def test_the_seed_control_changes_the_dice():
    explorer = widgets.explore(small(), views=["latency_cdf"])
    before = list(explorer.figures[0].data[0].x)
    explorer.controls["seed"].value = 1
    assert list(explorer.figures[0].data[0].x) != before


def test_unknown_view_is_refused():
    with pytest.raises(ValueError, match="views must be functions or among"):
        widgets.explore(small(), views=["nope"])


def test_percentile_vs_load_draws_a_band_and_a_line_per_design():
    table = sl.sweep(small(), {"workload.arrival_rate": [1.0, 2.0],
                               "architecture.state": ["stateless", "stateful"]},
                     seeds=range(3), progress=False)
    table["design"] = table["architecture.state"] + "/sync/monolith"
    fig = plots.percentile_vs_load(table, "workload.arrival_rate")
    assert isinstance(fig, go.Figure) and len(fig.data) == 4
    assert fig.data[1].line.color == plots.COLOURS["stateless/sync/monolith"]


def test_close_frees_every_widget_and_forgets_the_explorer():
    explorer = widgets.explore(small(), [widgets.slider("rate", 0.5, 2.5, 0.5, 1.0,
                                                        "workload.arrival_rate")],
                               views=["in_system", "latency_cdf"])
    parts = [*explorer.controls.values(), *explorer.figures, explorer.table, explorer.widget]
    assert all(x.comm is not None for x in parts)
    explorer.close()
    assert all(x.comm is None for x in parts)  # closed: the kernel no longer holds them
    assert explorer not in widgets.explorers()


def test_share_plotly_wraps_the_browser_module_once():
    figure = widgets.share_plotly(go.FigureWidget())
    wrapped = figure._esm
    assert wrapped.startswith(widgets.SHARED) and "globalThis[key] ??= import(" in wrapped
    assert widgets.share_plotly(figure)._esm == wrapped  # not wrapped twice


def test_redrawing_skips_the_template_but_a_shown_chart_keeps_it():
    results = {"x": sl.run(small(), 0)}
    bare = widgets.VIEWS["latency_cdf"](results, small(), styled=False)
    full = widgets.VIEWS["latency_cdf"](results, small())
    assert bare.layout.title.text is None and bare.layout.template.layout.plot_bgcolor != "white"
    assert full.layout.title.text and full.layout.template.layout.plot_bgcolor == "white"
    assert [list(t.y) for t in bare.data] == [list(t.y) for t in full.data]


def test_an_explorer_redraws_its_charts_unstyled():
    seen = []

    def chart(results, scenario, styled=True):
        seen.append(styled)
        return widgets.VIEWS["latency_cdf"](results, scenario, styled)

    def plain(results, scenario):  # a view that knows nothing of styling still works
        return widgets.VIEWS["in_system"](results, scenario)
    explorer = widgets.explore(small(), [widgets.slider("rate", 0.5, 2.5, 0.5, 1.0,
                                                        "workload.arrival_rate")],
                               views=[chart, plain])
    explorer.controls["rate"].value = 2.0
    assert seen == [True, False] and explorer.views == ["chart", "plain"]
    assert explorer.figures[0].layout.title.text == "Latency distribution"  # kept from the first


def test_pick_applies_what_a_name_stands_for_or_a_function():
    breaker = sl.CircuitBreaker()
    named = widgets.pick("breaker", {"off": None, "on": breaker}, "off",
                         "resilience.llm.breaker")
    assert named.make().options == ("off", "on")
    assert named.apply(small(), "on").resilience.llm.breaker == breaker
    both = widgets.pick("servers", [2, 3], 3, lambda s, n: s.with_(**{"workers.count": n,
                                                                       "workers.slots": n}))
    assert both.apply(small(), 2).workers.count == 2 == both.apply(small(), 2).workers.slots
    knob = widgets.slider("budget", 0.0, 1.0, 0.1, 0.5)  # no apply: only compute reads it
    assert knob.apply(small(), 0.9) == small()


def test_an_explorer_from_a_compute_function_caches_what_it_computed():
    calls = []

    def compute(values):
        calls.append(values["n"])
        return {"stateless/sync/monolith": sl.run(small(), values["seed"])}
    explorer = widgets.Explorer([widgets.slider("n", 1, 3, 1, 1, integer=True)],
                                ["latency_cdf"], compute, lambda values: small())
    explorer.controls["n"].value = 2
    explorer.controls["n"].value = 1
    assert calls == [1, 2] and len(explorer.timings) == 2
    assert explorer in widgets.explorers()
    explorer.close()


def test_recall_forgets_what_was_computed_since_memory():
    calls = []

    def compute(values):
        calls.append(values["n"])
        return {"stateless/sync/monolith": sl.run(small(), values["seed"])}
    compute.runs = {}
    explorer = widgets.Explorer([widgets.slider("n", 1, 3, 1, 1, integer=True)],
                                ["latency_cdf"], compute, lambda values: small())
    kept = explorer.memory()
    assert explorer.seen() == {(1, 0)}
    explorer.controls["n"].value = 2
    compute.runs["n=2"] = True
    assert explorer.seen() == {(1, 0), (2, 0)}
    explorer.recall(kept)
    assert explorer.seen() == {(1, 0)} and compute.runs == {}
    explorer.update()  # the same setting again: computed again, not read from the cache
    assert calls == [1, 2, 2]
    explorer.close()
