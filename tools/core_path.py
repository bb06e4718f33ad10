"""Each notebook's core path: what a learner reads in about ten minutes, counted.

The convention, the same in every notebook:

* a markdown heading whose text ends with `` *(deeper)*`` starts a section **off the core path**;
  the section runs to the next heading of the same or a higher level, so its subsections are off
  the path too (they need no marker of their own);
* everything else in the markdown cells is the **core path**: the claim, a prediction, the
  explorer, the verdict, and what a learner needs to read them;
* the learning objectives cell has a sentence starting ``**Core path**`` that names every core
  section (every ``##`` heading on the path but "Learning objectives"), before its first full
  stop; sections named after it are for later.

Counting: a core path's words are ``len(text.split())`` over its markdown, after removing the
``<details>...</details>`` answer blocks (the exercises' folded answers). Tables and formulas
count token by token like prose: they are read, and more slowly than their token count
suggests. Fenced blocks (```) do not count: in these notebooks they are ASCII diagrams (and, in
notebook 10, three shell commands), which are looked at rather than read, and whose box-drawing
would count as dozens of "words". Code cells and outputs do not count either.

Reading time is words / ``WPM``: 238 words a minute, the mean silent reading rate of English
non-fiction by adults in Brysbaert's meta-analysis ("How many words do we read per minute? A
review and meta-analysis of reading rate", Journal of Memory and Language 109, 2019, 104047).

    python tools/core_path.py        # per notebook: core words, reading minutes, deeper words

The standard library only, like the other tools: it runs before ``.venv`` exists.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEEPER = "*(deeper)*"
WPM = 238
"""Words a minute: Brysbaert (2019), silent reading of English non-fiction."""
LIMIT = 1500
"""Words a core path may hold: about ten minutes with its formulas, tables and pauses."""
ANSWER = re.compile(r"<details>.*?</details>", re.DOTALL | re.IGNORECASE)
HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*$")
CORE_SENTENCE = re.compile(r"\*\*Core path\*\*(.*?)(?:\.\s|\.$|\n\n|$)", re.DOTALL)
EXEMPT = {"learning objectives"}
"""Core sections the Core path sentence need not name (it sits in this one)."""


class Section:
    """One heading's stretch of markdown, up to the next heading of any level: its level (0 for
    the text before the first heading), title, whether it is on the core path, its words and its
    markdown (heading included, fenced blocks left out)."""

    def __init__(self, level: int, title: str, core: bool) -> None:
        self.level, self.title, self.core = level, title, core
        self.words, self.text = 0, ""

    def __repr__(self) -> str:
        return f"Section({self.level}, {self.title!r}, core={self.core}, words={self.words})"


def markdown(notebook: dict) -> list[str]:
    """The text of each markdown cell, answer blocks removed."""
    return [ANSWER.sub("", "".join(cell["source"])) for cell in notebook["cells"]
            if cell["cell_type"] == "markdown"]


def sections(notebook: dict) -> list[Section]:
    """The notebook's sections in order, each marked core or deeper by the convention."""
    found = [Section(0, "", True)]
    deeper_from = None  # the level of the enclosing section marked deeper, if any
    for text in markdown(notebook):
        fenced = False
        for line in text.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if fenced:
                continue
            match = HEADING.fullmatch(line)
            if match:
                level, title = len(match.group(1)), match.group(2)
                if deeper_from is not None and level <= deeper_from:
                    deeper_from = None
                if deeper_from is None and title.endswith(DEEPER):
                    deeper_from = level
                found.append(Section(level, title, deeper_from is None))
            found[-1].words += len(line.split())
            found[-1].text += line + "\n"
    return found


def core_words(notebook: dict) -> int:
    """Words on the core path."""
    return sum(s.words for s in sections(notebook) if s.core)


def core_text(notebook: dict) -> str:
    """The markdown on the core path (answer blocks and fenced blocks left out)."""
    return "".join(s.text for s in sections(notebook) if s.core)


def deeper_words(notebook: dict) -> int:
    """Words in the sections marked deeper."""
    return sum(s.words for s in sections(notebook) if not s.core)


def minutes(words: int, wpm: int = WPM) -> int:
    """Reading minutes for ``words`` at ``wpm``, rounded to the nearest minute (halves up)."""
    return int(words / wpm + 0.5)


def key(title: str) -> str:
    """How the Core path sentence names a section: its title without the marker, a leading
    number ("2. "), anything after a colon or a comma, or a question mark; lower case."""
    title = title.removesuffix(DEEPER).strip()
    title = re.sub(r"^\d+\.\s*", "", title)
    return re.split(r"[:,]", title)[0].strip().rstrip("?").strip().lower()


def core_sentence(notebook: dict) -> str | None:
    """The ``**Core path**`` sentence of the opening cells, up to its first full stop."""
    for text in markdown(notebook)[:2]:
        match = CORE_SENTENCE.search(text)
        if match:
            return " ".join(match.group(1).split())
    return None


def core_sections(notebook: dict) -> list[str]:
    """The titles of the ``##`` sections on the core path."""
    return [s.title for s in sections(notebook) if s.level == 2 and s.core]


def deeper_sections(notebook: dict) -> list[str]:
    """The titles of the ``##`` sections marked deeper."""
    return [s.title for s in sections(notebook) if s.level == 2 and not s.core]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def table(folder: Path = NOTEBOOKS) -> list[tuple[str, int, int, int]]:
    """(notebook number, core words, reading minutes, deeper words) per notebook."""
    rows = []
    for path in sorted(folder.glob("*.ipynb")):
        notebook = load(path)
        words = core_words(notebook)
        rows.append((path.name[:2], words, minutes(words), deeper_words(notebook)))
    return rows


def main(argv: list[str]) -> int:
    print(f"{'notebook':>8} {'core words':>10} {f'minutes at {WPM}/min':>18} {'deeper words':>12}")
    for number, words, read, deeper in table():
        flag = "" if words <= LIMIT else f"  over {LIMIT}"
        print(f"{number:>8} {words:>10} {read:>18} {deeper:>12}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
