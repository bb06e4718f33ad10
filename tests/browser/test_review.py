"""The design review's HTML report opens in a real browser, offline, with its chart drawn.

An engineer attaches ``review.html`` to a design document and a reader opens it from disk, often
without a network: the report carries plotly.js inline. This test writes a small review (three
designs, short runs) and opens the file in headless Chromium with every network request refused,
then checks that plotly drew one marker per ranked design, that the dashed SLO and budget lines
are there, and that the table lists every design reviewed.
"""

from __future__ import annotations

import json

import pytest

import simlib as sl
from simlib import files, review
from simlib.panels import own


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    scenario = files.load(own.EXAMPLE_SCENARIO).with_(duration=600.0, warmup=60.0)
    designs = [sl.presets.SIMPLE, sl.presets.ASYNC, sl.DESIGNS[4]]
    done = review.review(scenario, slo=20.0, budget=20.0, width=0.15, designs=designs,
                         sensitivity=False)
    _, page = done.write(tmp_path_factory.mktemp("review"))
    return done, page


CHART = """() => {
  const div = document.getElementById('review-chart');
  if (!div || !div.data) return null;
  return JSON.stringify({traces: div.data.map(t => t.x.length),
                         points: div.querySelectorAll('.scatterlayer .point').length,
                         shapes: (div.layout.shapes || []).length});
}"""


def test_the_review_report_draws_its_chart_offline(report, page):
    done, path = report
    requests = []
    page.route("**/*", lambda route: (requests.append(route.request.url),
                                       route.continue_() if route.request.url.startswith("file:")
                                       else route.abort()))
    page.goto(path.as_uri())
    page.wait_for_function(f"({CHART})() !== null", timeout=30_000)
    drawn = json.loads(page.evaluate(CHART))
    ranked = (done.table["verdict"] != sl.stats.UNSTABLE).sum()
    assert ranked >= 1, "the review ranked no design: the chart would be empty"
    assert drawn["traces"] == [1] * ranked and drawn["points"] == ranked
    assert drawn["shapes"] == 2, "the SLO and budget lines are missing"
    assert all(url.startswith("file:") for url in requests), \
        f"the report fetched from the network: {requests}"
    rows = page.locator("table").first.locator("tbody tr").count()
    assert rows == len(done.table)
    assert not page.console_errors, page.console_errors
