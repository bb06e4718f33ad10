"""Charts that survive without a kernel: every figure and explorer stores a PNG beside itself.

Three kinds of test:

* the stored notebooks: each output that holds a plotly figure or a widget also holds an
  ``image/png`` that is a real picture (``make notebooks`` makes them; a notebook executed
  without ``SIMLIB_STATIC_IMAGES=1`` fails here);
* the mechanism without a browser (kaleido's drawing replaced by a fake PNG): the switch off
  adds nothing and starts nothing; on, a figure's and an explorer's bundles gain the picture;
* one real picture drawn by Chromium, skipped when there is no browser.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest

import simlib as sl
from simlib import static, widgets

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
LIVE = ("application/vnd.plotly.v1+json", "application/vnd.jupyter.widget-view+json")
PNG = b"\x89PNG\r\n\x1a\n"


def fake_png(width: int, height: int) -> bytes:
    """A valid white PNG of this size, made without a browser."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    rows = (b"\x00" + b"\xff" * 3 * width) * height
    return PNG + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def a_figure(height: int = 320) -> go.Figure:
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2]), layout={"height": height})


def small_explorer() -> widgets.Explorer:
    return widgets.explore(sl.presets.mmc(2.0, 1.0, 3, duration=100, warmup=10),
                           [widgets.slider("rate", 0.5, 2.5, 0.5, 2.0, "workload.arrival_rate")],
                           views=["latency_cdf", "in_system"])


# -- the stored notebooks ---------------------------------------------------------------------


def live_outputs_without_picture(notebook: Path) -> list[str]:
    """Where a figure or widget output of ``notebook`` has no real PNG beside it."""
    missing = []
    cells = json.loads(notebook.read_text())["cells"]
    for number, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if not any(kind in data for kind in LIVE):
                continue
            where = f"cell {number}: {''.join(cell['source']).splitlines()[-1][:60]!r}"
            if "image/png" not in data:
                missing.append(f"{where}: no image/png")
                continue
            picture = base64.b64decode(data["image/png"])
            if not picture.startswith(PNG) or len(picture) < 5000:
                missing.append(f"{where}: image/png is not a picture ({len(picture)} bytes)")
            elif min(static.size(picture)) < 200:
                missing.append(f"{where}: image/png is only {static.size(picture)} pixels")
    return missing


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_figure_and_explorer_stores_a_picture(notebook):
    missing = live_outputs_without_picture(notebook)
    assert not missing, (f"{notebook.name}: re-execute with pictures "
                         f"(make notebooks, which sets {static.SWITCH}=1): {missing}")


# -- the mechanism, without a browser ---------------------------------------------------------


@pytest.fixture
def no_browser(monkeypatch):
    """kaleido's drawing replaced: any attempt to start a browser fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a browser was started")
    monkeypatch.setattr(static, "_start", refuse)
    monkeypatch.setattr(static, "png", refuse)


@pytest.fixture
def fake_drawing(monkeypatch):
    """kaleido's drawing replaced by fake PNGs as high as the figure; returns the figures drawn."""
    drawn = []

    def draw(figure, width=static.WIDTH):
        drawn.append(go.Figure(figure))
        return fake_png(width, drawn[-1].layout.height or 500)
    monkeypatch.setenv(static.SWITCH, "1")
    monkeypatch.setattr(static, "png", draw)
    return drawn


def test_switch_off_adds_no_picture_and_starts_no_browser(monkeypatch, no_browser):
    monkeypatch.delenv(static.SWITCH, raising=False)
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    static.install()
    assert not static.wanted()
    assert pio.renderers.default == "plotly_mimetype"
    assert static.bundle([a_figure()]) == {}
    explorer = small_explorer()
    assert set(explorer._repr_mimebundle_()) == {"text/plain", *LIVE[1:]}
    explorer.close()


def test_switch_means_exactly_one(monkeypatch):
    for value, wanted in [("1", True), ("0", False), ("", False), ("yes", False)]:
        monkeypatch.setenv(static.SWITCH, value)
        assert static.wanted() is wanted


def test_switch_on_a_shown_figure_carries_its_json_and_its_picture(monkeypatch, fake_drawing):
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    static.install()
    static.install()  # twice changes nothing
    assert pio.renderers.default == f"plotly_mimetype+{static.RENDERER}"
    bundle = pio.renderers._build_mime_bundle(a_figure().to_dict())
    assert set(bundle) == {"application/vnd.plotly.v1+json", "image/png"}
    assert static.size(base64.b64decode(bundle["image/png"])) == (static.WIDTH, 320)


def test_switch_on_an_explorer_carries_its_widget_and_its_charts_stacked(fake_drawing):
    explorer = small_explorer()
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/plain", *LIVE[1:], "image/png"}
    *charts, sheet = fake_drawing
    assert len(charts) == 2 and len(sheet.layout.images) == 2
    caption = sheet.layout.annotations[0].text
    assert "rate 2" in caption and "seed 0" in caption
    top = sheet.layout.height - 2 * 320  # the caption's band
    assert top > 0 and [image.y for image in sheet.layout.images] == \
        pytest.approx([1 - top / sheet.layout.height, 1 - (top + 320) / sheet.layout.height])
    assert static.size(base64.b64decode(bundle["image/png"])) == (static.WIDTH,
                                                                   sheet.layout.height)
    explorer.close()


def test_a_closed_explorer_is_its_text(no_browser):
    explorer = small_explorer()
    explorer.close()
    assert set(explorer._repr_mimebundle_()) == {"text/plain"}


def test_size_reads_a_png_header_and_refuses_anything_else():
    assert static.size(fake_png(30, 20)) == (30, 20)
    with pytest.raises(ValueError, match="not a PNG"):
        static.size(b"GIF89a" + bytes(30))


# -- one real picture --------------------------------------------------------------------------


@pytest.fixture
def chromium():
    pytest.importorskip("kaleido", reason="kaleido is not installed (pip install -e .[test])")
    if static.browser() is None:
        pytest.skip("no Chrome or Chromium found (install chromium or set BROWSER_PATH): "
                    "drawing a real picture needs one")
    yield
    import kaleido
    kaleido.stop_sync_server(silence_warnings=True)


def test_chromium_draws_a_figure_and_a_stack(chromium):
    picture = static.png(a_figure(300))
    assert picture.startswith(PNG) and len(picture) > 5000
    assert static.size(picture) == (static.WIDTH, 300)
    sheet = static.stacked([a_figure(300), a_figure(200)], caption="a caption")
    width, height = static.size(sheet)
    assert width == static.WIDTH and 500 < height < 560
