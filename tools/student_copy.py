"""Write a student copy of the notebooks: exercise answers removed, outputs cleared.

    python3 tools/student_copy.py [SOURCE_DIR] [OUT_DIR]     (default: notebooks student)

`make student` runs it. Two changes, nothing else (every cell is kept, in order, with its id):

- each exercise answer, a ``<details><summary>Answer</summary> ... </details>`` block in a
  markdown cell, becomes the line ``*(Answer: ask your instructor.)*``;
- every code cell loses its outputs and execution count. The stored notebooks show every number
  the cells print, which would answer each "Predict" question before the learner has guessed;
  cleared, learners predict first, then run the cell and see.

Only the standard library (json, re) is used, so it works before `.venv` exists. Existing files
of the same name in OUT_DIR are overwritten; the script stops with an error if a ``<details>``
block it does not recognise would be left in a copy.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ANSWER = re.compile(
    r"<details[^>]*>\s*<summary>\s*(?:<[^>]+>\s*)*Answer.*?</summary>.*?</details>",
    re.DOTALL | re.IGNORECASE)
PLACEHOLDER = "*(Answer: ask your instructor.)*"


def strip_answers(text: str) -> tuple[str, int]:
    """``text`` with every answer block replaced by the placeholder, and how many there were."""
    return ANSWER.subn(PLACEHOLDER, text)


def student_notebook(notebook: dict) -> tuple[dict, int]:
    """A copy of a notebook (as loaded by ``json``) for learners, and the answers removed."""
    copy, removed = json.loads(json.dumps(notebook)), 0
    for cell in copy["cells"]:
        if cell["cell_type"] == "markdown":
            text, n = strip_answers("".join(cell["source"]))
            if n:
                cell["source"], removed = text.splitlines(keepends=True), removed + n
            if re.search(r"</?details", text, re.IGNORECASE):
                raise ValueError(f"cell {cell.get('id')}: a <details> block is left in: {text!r}")
        elif cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    copy["metadata"].pop("widgets", None)  # saved widget state would show the old charts
    return copy, removed


def main(argv: list[str]) -> int:
    source = Path(argv[0] if argv else "notebooks")
    out = Path(argv[1] if len(argv) > 1 else "student")
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks in {source}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        notebook, removed = student_notebook(json.loads(path.read_text(encoding="utf-8")))
        text = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (out / path.name).write_text(text, encoding="utf-8")
        print(f"{out / path.name}: {removed} answers removed, outputs cleared")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
