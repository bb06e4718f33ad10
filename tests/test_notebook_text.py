"""What a learner with only this repository can follow: no notebook sends them to the
developers' design notes or reviews (``DESIGN.md``, ``../shared``), which a clone does not have,
and every relative link in a notebook's prose points to a file that exists."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OUTSIDE = re.compile(r"DESIGN\.md|\.\./shared|shared/reviews", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)#\s]+)")


def cells(path: Path) -> list[tuple[str, str]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in notebook["cells"]]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 11, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_cites_what_a_clone_lacks(path):
    found = [OUTSIDE.search(text).group(0) for _, text in cells(path) if OUTSIDE.search(text)]
    assert not found, f"{path.name} cites {found}: learners have only the repository"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_relative_links_point_to_files(path):
    links = [m.group(1) for kind, text in cells(path) if kind == "markdown"
             for m in LINK.finditer(text) if not m.group(1).startswith(("http:", "https:"))]
    missing = [link for link in links if not (path.parent / link).exists()]
    assert not missing, f"{path.name} links to missing files: {missing}"


def test_the_check_finds_a_citation():
    assert OUTSIDE.search("as DESIGN.md section 2 says") and not OUTSIDE.search("the design")
