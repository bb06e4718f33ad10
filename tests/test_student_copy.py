"""The student copy (`make student`, tools/student_copy.py), built from the real notebooks/.

Functional: every exercise answer block is gone and replaced by the placeholder, no line that
only an answer holds is left anywhere, every other cell is kept (same ids, types, order, source),
code outputs are cleared, and each copy is still a valid notebook. Expected failures: a
``<details>`` block the script does not recognise stops it instead of leaking into a copy.
And the instructor guide (docs/instructor_guide.md) holds every notebook's answers word for word.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "student_copy.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Written independently of the script's own pattern: the form the notebooks use.
BLOCK = re.compile(r"<details><summary>Answer</summary>(.*?)</details>", re.DOTALL)

spec = importlib.util.spec_from_file_location("student_copy", SCRIPT)
student_copy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student_copy)


def text(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, tuple[dict, dict]]:
    """name -> (original, student copy), the copy built by the command `make student` runs."""
    out = tmp_path_factory.mktemp("student")
    subprocess.run([sys.executable, str(SCRIPT), str(ROOT / "notebooks"), str(out)],
                   check=True, capture_output=True, text=True)
    return {path.name: (json.loads(path.read_text(encoding="utf-8")),
                        json.loads((out / path.name).read_text(encoding="utf-8")))
            for path in NOTEBOOKS}


def test_every_notebook_is_copied(copies):
    assert len(NOTEBOOKS) == 11  # 00 to 10
    assert set(copies) == {path.name for path in NOTEBOOKS}


@pytest.mark.parametrize("name", [path.name for path in NOTEBOOKS])
def test_answer_blocks_are_replaced(copies, name):
    original, student = copies[name]
    answers = sum(len(BLOCK.findall(text(cell))) for cell in original["cells"])
    assert answers >= 3, "each notebook's exercises have their answers in <details>"
    for cell in student["cells"]:
        assert "<details" not in text(cell) and "<summary" not in text(cell)
    placeholders = sum(text(cell).count(student_copy.PLACEHOLDER) for cell in student["cells"])
    assert placeholders == answers


@pytest.mark.parametrize("name", [path.name for path in NOTEBOOKS])
def test_no_answer_text_is_left(copies, name):
    original, student = copies[name]
    whole = "\n".join(text(cell) for cell in original["cells"])
    outside = BLOCK.sub("", whole)  # the questions and prose, which may quote an answer's code
    only_in_answers = {line.strip() for body in BLOCK.findall(whole)
                       for line in body.splitlines()
                       if len(line.strip()) >= 12 and line.strip() not in outside}
    assert len(only_in_answers) >= 10
    left = "\n".join(text(cell) for cell in student["cells"])
    raw = json.dumps(student, ensure_ascii=False)  # outputs and metadata too
    assert [line for line in only_in_answers if line in left or line in raw] == []


@pytest.mark.parametrize("name", [path.name for path in NOTEBOOKS])
def test_every_other_cell_is_kept(copies, name):
    original, student = copies[name]
    assert [(c["id"], c["cell_type"]) for c in student["cells"]] == \
        [(c["id"], c["cell_type"]) for c in original["cells"]]
    for before, after in zip(original["cells"], student["cells"], strict=True):
        if before["cell_type"] == "code":
            assert text(after) == text(before)
            assert after["outputs"] == [] and after["execution_count"] is None
        else:  # the prose around each answer is unchanged, piece by piece
            kept = re.split(r"<details><summary>Answer</summary>.*?</details>", text(before),
                            flags=re.DOTALL)
            assert text(after).split(student_copy.PLACEHOLDER) == kept
    assert student["metadata"] == original["metadata"]
    assert (student["nbformat"], student["nbformat_minor"]) == \
        (original["nbformat"], original["nbformat_minor"])


@pytest.mark.parametrize("name", [path.name for path in NOTEBOOKS])
def test_copies_are_valid_notebooks(copies, name):
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.reads(json.dumps(copies[name][1]), as_version=4))


def test_the_instructor_guide_holds_every_answer():
    guide = " ".join((ROOT / "docs" / "instructor_guide.md").read_text(encoding="utf-8").split())
    missing = [(path.name, body.split()[:8]) for path in NOTEBOOKS
               for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
               for body in BLOCK.findall(text(cell)) if " ".join(body.split()) not in guide]
    assert missing == [], "copy the notebooks' answers into section 6 of the guide"


def test_variants_of_the_answer_block_are_recognised():
    for block in ("<details><summary><b>Answer</b></summary>\n\nx\n</details>",
                  "<details open>\n<summary>Answers</summary>\n\nx\n</details>",
                  "<DETAILS><SUMMARY>answer</SUMMARY>x</DETAILS>"):
        assert student_copy.strip_answers(f"Q?\n\n{block}\n\nnext") == \
            (f"Q?\n\n{student_copy.PLACEHOLDER}\n\nnext", 1)


def test_an_unrecognised_details_block_stops_the_copy():
    notebook = {"cells": [{"cell_type": "markdown", "id": "a", "metadata": {},
                           "source": ["<details><summary>Hint</summary>the answer</details>"]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    with pytest.raises(ValueError, match="details"):
        student_copy.student_notebook(notebook)


def test_the_guide_answers_are_generated_from_the_notebooks():
    """Section 6 is tools/guide_answers.py's output: rerun it after changing an answer."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "guide_answers.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
