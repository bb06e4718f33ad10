"""The instructor guide's answers are the notebooks' outputs (sections 5 and 7).

Section 5 of docs/instructor_guide.md gives, for each "Predict" pause, the answer an instructor
reads out. Each answer's numbers (every decimal number and every percentage) must appear,
exactly as printed, in the stored outputs of the notebook the pause belongs to: a re-derived
notebook whose numbers moved makes the guide stale, and this test names the row and the number.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "instructor_guide.md"
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+%?|(?<![\w.])\d+%")


def pauses() -> list[tuple[str, str]]:
    """(pause id, answer) for each row of section 5's table."""
    text = GUIDE.read_text()
    section = text.split("## 5. Predict-first pauses", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if re.fullmatch(r"\d\d-[A-Z]", cells[0]):
            rows.append((cells[0], cells[-1]))
    return rows


def outputs(number: str) -> str:
    """Every text output stored in notebook ``number`` (e.g. "03")."""
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text", "")))
            data = out.get("data", {})
            texts += ["".join(data.get(kind, "")) for kind in ("text/plain", "text/html")]
    return "\n".join(texts)


def test_the_guide_has_pauses():
    assert len(pauses()) >= 10


@pytest.mark.parametrize("pause, answer", pauses(), ids=[p for p, _ in pauses()])
def test_every_number_of_an_answer_is_in_its_notebook(pause, answer):
    shown = outputs(pause[:2])
    missing = [n for n in NUMBER.findall(answer) if n not in shown]
    assert not missing, (f"pause {pause}: {missing} are not in notebook {pause[:2]}'s outputs; "
                         "update the answer in docs/instructor_guide.md section 5")


def questions() -> list[tuple[str, str]]:
    """(question, answer) for each entry of section 7, "Questions learners ask"."""
    text = GUIDE.read_text()
    section = text.split("## 7. Questions learners ask", 1)[1].split("\n## ", 1)[0]
    entries = re.findall(r"\*\*(.+?)\*\*\n(.*?)(?=\n\n|\Z)", section, flags=re.DOTALL)
    return [(q, a) for q, a in entries]


def test_the_guide_has_questions():
    assert len(questions()) >= 10


@pytest.mark.parametrize("question, answer", questions(), ids=[q[:40] for q, _ in questions()])
def test_every_number_of_a_learners_answer_is_in_the_notebooks_it_names(question, answer):
    """An answer in section 7 names its notebooks ("notebook 02", "(04)", "03's"); each of its
    numbers must be printed by one of them."""
    named = sorted(set(re.findall(r"(?<![\d.])(0\d|10)(?![\d.])", answer)))
    numbers = NUMBER.findall(answer)
    if not numbers:
        return
    assert named, f"{question!r} quotes {numbers} but names no notebook"
    shown = "\n".join(outputs(n) for n in named)
    missing = [n for n in numbers if n not in shown]
    assert not missing, (f"{question!r}: {missing} are not in the outputs of notebooks {named}; "
                         "update docs/instructor_guide.md section 7")
