"""Every notebook's core path: one convention, about ten minutes of reading, and the instructor
guide's plans built on it.

The convention (tools/core_path.py): a markdown heading ending in ``*(deeper)*`` takes its
section, subsections included, off the core path; everything else in the markdown cells is on it.
The learning objectives cell names the core sections in a sentence starting ``**Core path**``.

What counts as a word: ``len(text.split())`` over the core path's markdown, after removing the
``<details>...</details>`` answer blocks. Tables and formulas count token by token (they are read,
and more slowly than prose); fenced blocks, the notebooks' ASCII diagrams and three shell commands
in notebook 10, do not (they are looked at, not read). The limit is 1,500 words with no tolerance:
at 238 words a minute that is six and a half minutes of prose, and the rest of the ten minutes
goes to the formulas, tables and charts the count does not weigh.

The guide (docs/instructor_guide.md, section 3) states each notebook's core-path reading time at
the same speed; a notebook whose core path grows or shrinks by a minute makes this test name it.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GUIDE = ROOT / "docs" / "instructor_guide.md"

spec = importlib.util.spec_from_file_location("core_path", ROOT / "tools" / "core_path.py")
core_path = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core_path)

LIMIT = 1500
OFF_PATH = re.compile(r"exercises|what next|further reading|glossary|what changed|first edition",
                      re.IGNORECASE)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "id": "x", "metadata": {}, "source": [text]}


def test_there_are_eleven_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{n:02d}" for n in range(11)]


def test_the_limit_is_the_tools():
    assert core_path.LIMIT == LIMIT and core_path.WPM == 238


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_core_path_is_at_most_1500_words(path):
    words = core_path.core_words(load(path))
    assert 0 < words <= LIMIT, (f"{path.name}: {words} words on the core path; mark a section "
                                "*(deeper)* or tighten its prose")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_core_path_has_a_prediction_and_a_verdict(path):
    notebook = load(path)
    assert "> **Predict.**" in core_path.core_text(notebook), f"{path.name}: no Predict box"
    assert any(t.startswith("Verdict") for t in core_path.core_sections(notebook)), \
        f"{path.name}: no ## Verdict section on the core path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_core_path_sentence_names_the_core_sections(path):
    notebook = load(path)
    sentence = core_path.core_sentence(notebook)
    assert sentence, f"{path.name}: no **Core path** sentence in its opening cells"
    sentence = sentence.lower()
    core = {core_path.key(t) for t in core_path.core_sections(notebook)} - core_path.EXEMPT
    unnamed = sorted(k for k in core if k not in sentence)
    assert not unnamed, f"{path.name}: the Core path sentence does not name {unnamed}"
    deeper = {core_path.key(t) for t in core_path.deeper_sections(notebook)}
    named = sorted(k for k in deeper - core if k in sentence and not any(k in c for c in core))
    assert not named, f"{path.name}: the Core path sentence names deeper sections {named}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_one_convention(path):
    """No other marker of an optional part, and the usual end sections are all off the path."""
    text = "\n".join(core_path.markdown(load(path)))
    assert not re.search(r"\(going further\)|(?<!\*)\(deeper\)(?!\*)|\*\*Going further\*\*", text,
                         re.IGNORECASE), f"{path.name}: an optional part marked another way"
    unmarked = [line for line in text.splitlines() if core_path.HEADING.fullmatch(line)
                and OFF_PATH.search(line) and not line.endswith(core_path.DEEPER)]
    assert not unmarked, f"{path.name}: {unmarked} should end with {core_path.DEEPER}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_further_reading_ends_every_notebook(path):
    last = core_path.markdown(load(path))[-1]
    assert "## Further reading *(deeper)*" in last, f"{path.name}: no Further reading at its end"
    sources = last.split("## Further reading *(deeper)*", 1)[1]
    items = [line for line in sources.splitlines() if re.match(r"[*-] ", line)]
    assert 3 <= len(items) <= 6, f"{path.name}: {len(items)} sources, want 3 to 6"


# -- the counter itself, on a made-up notebook ---------------------------------------------------

MADE_UP = {"cells": [
    markdown_cell("# A title\n\nOne two three.\n\n## Learning objectives\n\n"
                  "**Core path**: the claim and the verdict. The deeper part is later."),
    markdown_cell("## The claim\n\nfour five six seven\n\n"
                  "<details><summary>Answer</summary>\n\nhidden words are never counted\n"
                  "</details>\n\n```\n+--+ a diagram +--+\n```\n\n> **Predict.** Yes or no?"),
    {"cell_type": "code", "id": "c", "metadata": {}, "source": ["# not a heading\nx = 1\n"],
     "outputs": [], "execution_count": None},
    markdown_cell("## The deeper part *(deeper)*\n\nnot counted at all\n\n"
                  "### Its subsection\n\nnot counted either"),
    markdown_cell("## Verdict\n\nback on the path"),
]}


def test_the_counter_leaves_out_deeper_sections_answers_diagrams_and_code():
    # "# A title" 3 + "One two three." 3 + "## Learning objectives" 3 + the sentence 12
    # + "## The claim" 3 + 4 + the Predict line 5 + "## Verdict" 2 + 4
    assert core_path.core_words(MADE_UP) == 3 + 3 + 3 + 12 + 3 + 4 + 5 + 2 + 4
    # "## The deeper part *(deeper)*" 5 + 4 + "### Its subsection" 3 + 3
    assert core_path.deeper_words(MADE_UP) == 5 + 4 + 3 + 3
    assert core_path.core_sections(MADE_UP) == ["Learning objectives", "The claim", "Verdict"]
    assert core_path.deeper_sections(MADE_UP) == ["The deeper part *(deeper)*"]
    assert "> **Predict.**" in core_path.core_text(MADE_UP)
    assert "hidden" not in core_path.core_text(MADE_UP)


def test_a_heading_of_the_same_level_ends_a_deeper_section():
    notebook = {"cells": [markdown_cell("## A *(deeper)*\n\nx\n\n#### B\n\ny\n\n## C\n\nz")]}
    assert [(s.title, s.core) for s in core_path.sections(notebook)[1:]] == \
        [("A *(deeper)*", False), ("B", False), ("C", True)]


def test_the_core_path_sentence_and_section_names():
    assert core_path.core_sentence(MADE_UP) == ": the claim and the verdict"
    assert core_path.key("2. Sticky routing against pooling") == "sticky routing against pooling"
    assert core_path.key("Experiment 3: the storm *(deeper)*") == "experiment 3"
    assert core_path.key("1. How bursty are the traces?") == "how bursty are the traces"
    assert core_path.minutes(1499) == 6 and core_path.minutes(1250) == 5


# -- the instructor guide's plans ----------------------------------------------------------------

def guide_section(number: int) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    return re.split(r"\n## ", text.split(f"\n## {number}. ", 1)[1], maxsplit=1)[0]


def core_table() -> dict[str, list[str]]:
    """Section 3's table of core paths: notebook number -> its cells."""
    rows = {}
    for line in guide_section(3).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.match(r"\d\d ", cells[0]):
            rows[cells[0][:2]] = cells
    return rows


def test_the_guide_states_the_reading_speed_and_its_source():
    plan = guide_section(3)
    assert f"{core_path.WPM} words a minute" in plan
    assert "Brysbaert" in plan and "10.1016/j.jml.2019.104047" in plan


def test_the_guide_has_a_row_for_every_notebook():
    assert sorted(core_table()) == [p.name[:2] for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_guides_reading_minutes_are_the_core_paths(path):
    words = core_path.core_words(load(path))
    stated = int(core_table()[path.name[:2]][1])
    assert stated == core_path.minutes(words), (
        f"{path.name}: the guide says {stated} min of reading; its core path is {words} words, "
        f"{core_path.minutes(words)} min at {core_path.WPM} a minute (python tools/core_path.py)")


@pytest.mark.parametrize("number", sorted(core_table()))
def test_each_slot_holds_reading_running_pauses_and_the_explorer(number):
    """slot >= reading + the run's wall time + 3 min a pause + 5 min for an explorer."""
    _, read, wall, pauses, explorer, slot = core_table()[number][:6]
    count = len(re.findall(r"\d\d-[A-Z]", pauses)) + sum(
        int(n) for n in re.findall(r"(\d+) of its own", pauses))
    seconds = float(re.match(r"[\d.]+", wall).group(0))
    need = int(read) + seconds / 60 + 3 * count + (5 if explorer == "yes" else 0)
    assert int(slot) >= need, f"notebook {number}: a slot of {slot} min holds {need:.1f}"


def test_the_plans_pauses_are_section_5s():
    listed = set(re.findall(r"^\| (\d\d-[A-Z]) \|", guide_section(5), re.MULTILINE))
    used = set(re.findall(r"\b\d\d-[A-Z]\b", guide_section(3) + guide_section(4)))
    assert used and used <= listed, f"pause ids not in section 5: {sorted(used - listed)}"
