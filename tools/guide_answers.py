"""Write section 6 of the instructor guide from the notebooks' folded answers.

Each exercise in a notebook is a paragraph starting with a bold title (``**2. Formulas.**``)
followed by a ``<details><summary>Answer</summary> ... </details>`` block. This script copies
every title and answer, notebook by notebook, between the marker line of section 6 and the next
section of ``docs/instructor_guide.md``, so the guide never drifts from the notebooks.

    python tools/guide_answers.py           # rewrite the section
    python tools/guide_answers.py --check   # exit 1 if the guide is out of step

The standard library only: it runs before ``.venv`` exists.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "instructor_guide.md"
MARKER = "<!-- answers: generated from notebooks/*.ipynb by tools/guide_answers.py -->"
ANSWER = re.compile(r"<details><summary>Answer</summary>\s*(.*?)\s*</details>", re.DOTALL)
TITLE = re.compile(r"\*\*(\d+\.[^*]*)\*\*")


def answers(notebook: Path) -> list[tuple[str, str]]:
    """(title, answer) for each exercise of a notebook, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    found = []
    for cell in cells:
        text = "".join(cell["source"])
        for match in ANSWER.finditer(text):
            titles = TITLE.findall(text[:match.start()])
            if not titles:
                raise ValueError(f"{notebook.name}: an answer with no bold '**N. Title.**' "
                                 f"before it: {match.group(1)[:60]!r}")
            found.append((titles[-1].strip(), match.group(1).strip()))
    return found


def section(notebooks: list[Path]) -> str:
    """Section 6's generated part: one heading per notebook, each exercise's title and answer."""
    parts = [MARKER, ""]
    for notebook in notebooks:
        pairs = answers(notebook)
        if pairs:
            parts += [f"### `notebooks/{notebook.name}`", ""]
            for title, body in pairs:
                parts += [f"**{title}**", "", body, ""]
    return "\n".join(parts)


def rewritten(guide: str, notebooks: list[Path]) -> str:
    """The guide with its generated part replaced (from the marker to the next ``## `` heading)."""
    start = guide.index(MARKER)
    end = guide.index("\n## ", start)
    return guide[:start] + section(notebooks) + guide[end:]


def main(argv: list[str]) -> int:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    guide = GUIDE.read_text(encoding="utf-8")
    new = rewritten(guide, notebooks)
    if "--check" in argv:
        if new != guide:
            print("docs/instructor_guide.md section 6 is out of step: run "
                  "python tools/guide_answers.py", file=sys.stderr)
            return 1
        return 0
    GUIDE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
