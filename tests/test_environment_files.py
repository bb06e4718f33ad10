"""The install files agree: pyproject.toml, environment.yml and constraints.txt.

pyproject.toml is the source of truth for what simlib needs (core dependencies plus the ``lab``
and ``test`` extras, which are what ``make test`` exercises). environment.yml must list the same
packages with the same version ranges for conda and Binder users, and constraints.txt must pin
every package pyproject names to one exact version (``==``) so that a classroom installs what CI
tested.

Only the standard library is needed: pyproject is read with ``tomllib`` (Python 3.11+; ``tomli``
if that is installed on 3.10) and environment.yml with a small line parser, since PyYAML may not
be in a fresh virtual environment. When PyYAML is there, the two YAML readings are compared.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip(
        "tomli", reason="reading pyproject.toml needs tomllib (Python 3.11+) or tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"
CONSTRAINTS = ROOT / "constraints.txt"

# Extras that stand for another distribution: dask[distributed] installs `distributed`, which
# conda-forge ships as its own package.
EXTRA_PACKAGES = {("dask", "distributed"): "distributed"}
IGNORED_CONDA = {"python", "pip"}

REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
    r"(?:\[(?P<extras>[^\]]*)\])?\s*(?P<spec>[^;#]*)")


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def normalise_spec(spec: str) -> str:
    """'>=1.3, <2' and '<2,>=1.3' are the same range."""
    parts = [p.replace(" ", "") for p in spec.split(",") if p.strip()]
    return ",".join(sorted(parts))


def parse_requirement(text: str) -> tuple[str, list[str], str]:
    match = REQUIREMENT.match(text)
    assert match, f"cannot read requirement {text!r}"
    extras = [normalise(e) for e in (match["extras"] or "").split(",") if e.strip()]
    return normalise(match["name"]), extras, normalise_spec(match["spec"])


def add(packages: dict[str, str], name: str, spec: str, where: str) -> None:
    assert name not in packages, f"{name} is listed twice in {where}"
    packages[name] = spec


# -- pyproject.toml -------------------------------------------------------------------------


def load_pyproject() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)


def pyproject_packages(extras: tuple[str, ...] = ("lab", "test")) -> dict[str, str]:
    """name -> normalised specifier for the core dependencies plus ``extras``, with
    self-references such as ``simlib[lab]`` expanded."""
    project = load_pyproject()["project"]
    me = normalise(project["name"])
    optional = project.get("optional-dependencies", {})
    packages: dict[str, str] = {}
    seen: set[str] = set()

    def walk(requirements: list[str], where: str) -> None:
        for text in requirements:
            name, req_extras, spec = parse_requirement(text)
            if name == me:
                for extra in req_extras:
                    assert extra in optional, f"{text!r} in {where}: no extra {extra!r}"
                    if extra not in seen:
                        seen.add(extra)
                        walk(optional[extra], f"[{extra}]")
                continue
            add(packages, name, spec, f"pyproject {where}")
            for extra in req_extras:
                if (name, extra) in EXTRA_PACKAGES:
                    add(packages, EXTRA_PACKAGES[name, extra], spec, f"pyproject {where}")

    walk(project.get("dependencies", []), "dependencies")
    for extra in extras:
        assert extra in optional, f"pyproject.toml has no [{extra}] extra"
        if extra not in seen:
            seen.add(extra)
            walk(optional[extra], f"[{extra}]")
    return packages


# -- environment.yml --------------------------------------------------------------------------


def parse_environment_lines(text: str) -> dict:
    """The few parts of a conda environment file used here, read line by line:
    ``{"name": ..., "channels": [...], "dependencies": [str | {"pip": [...]}, ...]}``."""
    result: dict = {}
    key = None
    pip: list[str] | None = None
    pip_indent = -1
    for raw in text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw).rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if indent == 0 and not stripped.startswith("-"):
            key, _, value = stripped.partition(":")
            value = value.strip()
            result[key] = value if value else []
            pip = None
            continue
        assert stripped.startswith("-"), f"environment.yml: cannot read {raw!r}"
        item = stripped[1:].strip().strip("'\"")
        if pip is not None and indent > pip_indent:
            pip.append(item)
            continue
        pip = None
        if item == "pip:" or item.startswith("pip:"):
            pip = []
            pip_indent = indent
            result[key].append({"pip": pip})
        else:
            result[key].append(item)
    return result


def load_environment() -> dict:
    text = ENVIRONMENT.read_text()
    if importlib.util.find_spec("yaml") is not None:
        import yaml
        return yaml.safe_load(text)
    return parse_environment_lines(text)


def environment_packages() -> dict[str, str]:
    packages: dict[str, str] = {}
    for entry in load_environment()["dependencies"]:
        if isinstance(entry, dict):
            for text in entry.get("pip", []) or []:
                if text.startswith("-"):  # -e ., -r file, options
                    continue
                name, extras, spec = parse_requirement(text)
                add(packages, name, spec, "environment.yml pip section")
                for extra in extras:
                    if (name, extra) in EXTRA_PACKAGES:
                        add(packages, EXTRA_PACKAGES[name, extra], spec, "environment.yml")
            continue
        name, _, spec = parse_requirement(str(entry))
        if name in IGNORED_CONDA:
            continue
        add(packages, name, spec, "environment.yml")
    return packages


# -- the checks -------------------------------------------------------------------------------


def test_requirement_parser():
    assert parse_requirement("dask[distributed]>=2024.1") == ("dask", ["distributed"],
                                                               ">=2024.1")
    assert parse_requirement("Pytest_Xdist >= 3.5, <4") == ("pytest-xdist", [], "<4,>=3.5")
    assert parse_requirement("simlib[lab]") == ("simlib", ["lab"], "")
    assert parse_requirement("numpy; python_version>'3'") == ("numpy", [], "")


def test_line_parser_reads_the_simple_format():
    text = """\
# comment
name: demo
channels:
  - conda-forge
dependencies:
  - python>=3.10
  - numpy>=1.26,<3   # trailing comment
  - pip
  - pip:
      - -e .
      - some_pkg==1.0
"""
    assert parse_environment_lines(text) == {
        "name": "demo", "channels": ["conda-forge"],
        "dependencies": ["python>=3.10", "numpy>=1.26,<3", "pip",
                         {"pip": ["-e .", "some_pkg==1.0"]}]}


def test_line_parser_agrees_with_pyyaml():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed; the line parser is used")
    text = ENVIRONMENT.read_text()
    assert parse_environment_lines(text) == yaml.safe_load(text)


def test_environment_installs_simlib_itself():
    pip_sections = [e["pip"] for e in load_environment()["dependencies"] if isinstance(e, dict)]
    assert any("-e ." in section for section in pip_sections), \
        "environment.yml should install simlib itself with pip: [-e .]"


def test_environment_and_pyproject_name_the_same_packages():
    conda, pyproject = environment_packages(), pyproject_packages()
    assert set(conda) == set(pyproject), (
        f"only in environment.yml: {sorted(set(conda) - set(pyproject))}; "
        f"only in pyproject.toml (core + lab + test): {sorted(set(pyproject) - set(conda))}")


def test_environment_and_pyproject_have_the_same_versions():
    conda, pyproject = environment_packages(), pyproject_packages()
    differ = {name: (conda[name], pyproject[name]) for name in set(conda) & set(pyproject)
              if conda[name] != pyproject[name]}
    assert not differ, f"environment.yml vs pyproject.toml specifiers differ: {differ}"


def test_environment_python_matches_requires_python():
    requires = normalise_spec(load_pyproject()["project"]["requires-python"])
    pythons = [parse_requirement(str(e))[2] for e in load_environment()["dependencies"]
               if not isinstance(e, dict) and parse_requirement(str(e))[0] == "python"]
    assert pythons == [requires]


def test_constraints_pin_every_pyproject_package():
    if not CONSTRAINTS.exists():
        pytest.skip("constraints.txt does not exist yet (the Makefile installs with "
                    "-c constraints.txt)")
    # name -> {environment marker ("" for every Python) -> pin}; a package may be pinned once
    # per marker (e.g. pandas 3 for Python >= 3.11 and pandas 2 for 3.10)
    pins: dict[str, dict[str, str]] = {}
    for raw in CONSTRAINTS.read_text().splitlines():
        line, _, marker = raw.split("#", 1)[0].partition(";")
        line, marker = line.strip(), marker.strip()
        if not line or line.startswith("-"):
            continue
        name, extras, spec = parse_requirement(line)
        assert not extras, f"constraints.txt: pip refuses extras in constraints: {raw!r}"
        assert marker not in pins.setdefault(name, {}), \
            f"constraints.txt pins {name} twice for {marker or 'every Python'}"
        assert "" not in pins[name] and (not marker or len(pins[name]) < 2), \
            f"constraints.txt pins {name} both with and without a marker"
        pins[name][marker] = spec
    optional = load_pyproject()["project"].get("optional-dependencies", {})
    wanted = pyproject_packages(tuple(optional))  # every extra, dev included
    missing = sorted(set(wanted) - set(pins))
    assert not missing, f"constraints.txt does not pin {missing}"
    loose = {n: pin for n in wanted for pin in pins[n].values()
             if not re.fullmatch(r"==[^,=<>!~*]+", pin)}
    assert not loose, f"constraints.txt must pin with == exactly one version: {loose}"

    if importlib.util.find_spec("packaging") is None:
        return
    from packaging.specifiers import SpecifierSet
    outside = {n: (pin, wanted[n]) for n in wanted for pin in pins[n].values()
               if wanted[n] and pin[2:] not in SpecifierSet(wanted[n])}
    assert not outside, f"pins outside pyproject's ranges (pin, range): {outside}"
