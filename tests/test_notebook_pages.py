"""Book-wide rules of the chapter pages, read from the notebooks' sources.

The page is for readers: checks and figure code are hidden by cell tags (nbval still runs them),
outputs that vary across CPUs are marked by a tag rather than a comment that would show on the
page, the prose does not talk about the project's own machinery, and every chapter ends with a
Summary and Exercises whose solutions are there to read."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HIDDEN = {"remove-cell", "remove-input", "hide-input"}
# words that belong to the project's machinery, not to a reader's page
MACHINERY = re.compile(r"\bnbval\b|\bNBVAL_|\btests?/|\btest_\w+\.py|\bthe (issue|note)\b|"
                       r"\bissue \d+", re.IGNORECASE)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def problems(nb_cells: list[dict]) -> list[str]:
    """What breaks the rules in a notebook's cells (empty when none)."""
    found = []
    for k, cell in enumerate(nb_cells):
        text = source(cell)
        if cell["cell_type"] == "code":
            if "NBVAL_" in text:
                found.append(f"cell {k}: an NBVAL comment shows on the page (use the "
                             f"nbval-ignore-output tag)")
            hidden = bool(tags(cell) & HIDDEN)
            if re.search(r"^assert\b", text, re.MULTILINE) and not hidden:
                found.append(f"cell {k}: an assertion cell is shown")
            if "plt.show()" in text and not hidden:
                found.append(f"cell {k}: a plotting cell's code is shown")
        elif cell["cell_type"] == "markdown":
            for match in MACHINERY.finditer(text):
                found.append(f"cell {k}: the prose says {match.group(0)!r}")
    markdown = "\n".join(source(c) for c in nb_cells if c["cell_type"] == "markdown")
    for heading in ("Summary", "Exercises"):
        if not re.search(rf"^## {heading}\b", markdown, re.MULTILINE):
            found.append(f"no '## {heading}' section")
    exercises = markdown.split("## Exercises", 1)[-1]
    asked = len(re.findall(r"^\d+\. ", exercises, re.MULTILINE))
    answered = len(re.findall(r"(?:dropdown|admonition)[^\n]*Solution", exercises,
                              re.IGNORECASE))
    if answered < asked:
        found.append(f"{asked} exercises but {answered} solutions")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_page_is_for_readers(path):
    assert problems(cells(path)) == []


def test_the_rules_can_fail():
    """Each rule, broken once in a copy of a chapter, is reported."""
    good = cells(ROOT / "notebooks" / "03_vanilla_rnn.ipynb")
    assert problems(good) == []

    def code(text, cell_tags=()):
        return {"cell_type": "code", "source": [text], "metadata": {"tags": list(cell_tags)}}

    def markdown(text):
        return {"cell_type": "markdown", "source": [text], "metadata": {}}

    broken = {
        "NBVAL comment": [code("# NBVAL_IGNORE_OUTPUT\nprint(1)")],
        "assertion shown": [code("x = 1\nassert x == 1")],
        "plot shown": [code("plt.plot([1])\nplt.show()")],
        "prose about tests": [markdown("This is checked by tests/test_ch03_claims.py.")],
        "prose about nbval": [markdown("nbval runs this cell.")],
        "an unanswered exercise": [markdown("## Exercises\n\n9. **More.** Do more.\n")],
    }
    for label, extra in broken.items():
        if label == "an unanswered exercise":
            changed = [c for c in good if "## Exercises" not in source(c)] + extra
            changed.insert(0, markdown("## Summary\n"))
        else:
            changed = good + extra
        assert problems(changed), label
    assert problems(code_only := [c for c in good if c["cell_type"] == "code"])
    assert any("Summary" in p for p in problems(code_only))
