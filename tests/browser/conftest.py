"""Fixtures for the real-browser tests: Debian's Chromium driven by Playwright for Python.

These tests start real servers (JupyterLab, Voila) from the project's ``.venv`` on localhost and
open them in headless Chromium. They are slow (a minute or more per notebook) and need
``/usr/bin/chromium``, so ``make test`` leaves them out and ``make test-browser`` runs them (it
installs Chromium with ``apt-get`` when it is missing). Playwright must never download a browser
here: the machines reach PyPI, Debian and npm only, so we pass Debian's binary as
``executable_path``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
#: Where screenshots go: not committed. `UPDATE_SCREENSHOT=1 make test-browser` also copies
#: notebook 00's into docs/explorer_00.png, the README's picture (a plain run leaves it alone).
SHOTS = ROOT / "tests" / "browser" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Without the networking flags Chromium keeps dialling Google's hosts, which this closed network
#: refuses; as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until ``url`` answers (any HTTP status), failing early if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            raise RuntimeError(f"server exited with code {code} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def serve(args: list[str], url: str, log: Path, cwd: Path) -> subprocess.Popen:
    """Start a server (``args`` after the venv's Python) and return it once ``url`` answers."""
    with log.open("w") as out:  # the server writes to its own copy of the file descriptor
        process = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_http(url, process)
    except Exception as err:
        stop(process)
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"{args[:3]} did not start; its log:\n{tail}") from err
    return process


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`serve`."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def plot_data(scope: str = "") -> str:
    """JS returning, for every plotly chart under the CSS selector ``scope`` in page order, the
    x/y arrays of its traces as one JSON string. plotly.js keeps a chart's traces on its div as
    ``gd.data``; numeric arrays may be typed arrays, hence the replacer."""
    return (f"() => [...document.querySelectorAll('{scope} .js-plotly-plot')].map(gd => "
            "JSON.stringify((gd.data || []).map(t => [t.x, t.y]), "
            "(k, v) => ArrayBuffer.isView(v) ? Array.from(v) : v))")


def root_flag() -> list[str]:
    """Jupyter refuses to run as root unless told; CI containers run as root."""
    return ["--allow-root"] if os.geteuid() == 0 else []


@pytest.fixture(scope="session")
def notebook_copy(tmp_path_factory) -> Path:
    """A copy of notebooks/: JupyterLab autosaves, and must not rewrite the committed files."""
    target = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(NOTEBOOKS, target)
    return target


@pytest.fixture(scope="session")
def lab(notebook_copy, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on localhost over the notebook copy: yields (base url, token)."""
    port, token = free_port(), "browser-test-token"
    log = tmp_path_factory.mktemp("logs") / "jupyterlab.log"
    args = ["-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={notebook_copy}", *root_flag()]
    process = serve(args, f"http://127.0.0.1:{port}/api/status?token={token}", log, notebook_copy)
    yield f"http://127.0.0.1:{port}", token
    stop(process)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test-browser`, which installs Debian's "
                    "chromium, or set CHROMIUM to a Chromium binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    """A fresh page (1400x1000) that records console errors and uncaught page errors in
    ``page.console_errors``: (text, url of the source) pairs, url "" for a page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(
        (m.text, (m.location or {}).get("url", ""))))
    pg.on("pageerror", lambda e: pg.console_errors.append((str(e), "")))
    yield pg
    context.close()
