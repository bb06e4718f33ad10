"""The panels' house rules, read from their source with ``ast``: a panel imports the core, never
another panel and never a private name (``from .execution import text_table``, ``plots._layout``
are what this forbids); and the standard views cannot be changed at import time."""

import ast
from pathlib import Path

import pytest

import simlib
from simlib import widgets

PANELS = Path(simlib.__file__).parent / "panels"
MODULES = sorted(p for p in PANELS.glob("*.py") if p.name != "__init__.py")


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def offences(path: Path) -> list[str]:
    tree, found = ast.parse(path.read_text()), []
    modules = set()  # names bound to simlib modules: sl, plots, presets, ...
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            if node.level == 1 or source.startswith("simlib.panels"):
                found.append(f"imports a panel: from {source} import ...")
            for alias in node.names:
                if private(alias.name):
                    found.append(f"imports a private name: {alias.name} from {source}")
                if node.level == 2 and not node.module or source == "simlib":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name.startswith("simlib")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                found.append(f"uses a private name: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_a_panel_imports_only_public_core_names(path):
    assert offences(path) == []


def test_the_rule_catches_what_it_forbids(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .execution import text_table\nfrom .. import plots\n"
                   "from simlib.panels.growth import loads\nplots._layout(1)\n")
    assert len(offences(bad)) == 3


def test_the_standard_views_are_read_only():
    with pytest.raises(TypeError):
        widgets.VIEWS["mine"] = lambda results, scenario: None
