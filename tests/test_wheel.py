"""A built wheel installs into a clean virtual environment, and the notebooks' imports work there.

The lab is published as ``resilient-agents-lab`` (``simlib`` on PyPI is an unrelated
molecular-dynamics toolkit); the import name stays ``simlib``. This test builds the wheel, installs
it without its dependencies into a new virtual environment (the dependencies come from the
project's ``.venv`` through a path file, so the test needs no network and no second copy of
numpy), and there, outside the checkout, runs every import line of every notebook and reads the
derived tables the notebooks read (the wheel carries ``data/`` into
``<prefix>/share/resilient-agents-lab/data``). It checks that ``simlib`` came from the wheel, not
from the checkout.
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(out: Path) -> Path:
    try:
        import setuptools
        isolated = int(setuptools.__version__.split(".")[0]) < 77
    except ImportError:
        isolated = True
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
               str(ROOT)] + ([] if isolated else ["--no-build-isolation"])
    done = subprocess.run(command, capture_output=True, text=True, cwd=out)
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("resilient_agents_lab-*.whl")
    return wheel


def notebook_imports() -> list[str]:
    lines = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                lines += [line for line in source.splitlines()
                          if line.startswith(("import ", "from "))]
    return sorted(set(lines))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A new virtual environment with the wheel installed; returns (python, wheel)."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(work)
    env = work / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    own_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                               "'purelib'))"], capture_output=True, text=True).stdout.strip()
    (Path(own_site) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--no-deps", "--quiet", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return python, wheel


def test_the_wheel_is_named_for_the_lab_and_carries_the_package_and_data(clean):
    _, wheel = clean
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name.startswith("resilient_agents_lab-")
    assert "simlib/__init__.py" in names and "simlib/panels/own.py" in names
    data = [n for n in names if "/data/share/resilient-agents-lab/data/" in n]
    assert any(n.endswith("example_calls.csv") for n in data)
    assert any(n.endswith("serving_profiles.csv") for n in data)


def test_the_notebooks_imports_work_from_the_wheel(clean, tmp_path):
    python, _ = clean
    imports = notebook_imports()
    assert any("simlib" in line for line in imports)
    script = "\n".join(imports + [
        "import simlib, simlib.traces as t",
        "from simlib.panels import own, replay",
        "print(simlib.__file__)",
        "print(t.DATA)",
        "print(len(own.known().tools), replay.summary().shape[0])",
        "print(simlib.SelfHosted.profile('llama-3-8b_a100-80gb_tp1').replicas)"])
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, data, *_ = done.stdout.splitlines()
    assert str(ROOT) not in where and "site-packages" in where, where
    assert data.endswith("share/resilient-agents-lab/data") and str(ROOT) not in data
