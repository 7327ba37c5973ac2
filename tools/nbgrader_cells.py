"""Give an assignment notebook nbgrader's cell metadata (schema 3), from its solution markers.

    python tools/nbgrader_cells.py minirnn/assignments/notebooks/a5_dynamics.ipynb [...]

A code cell holding ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` becomes a solution cell
(unlocked) ending at the END marker; the lines after the marker move to a new locked graded cell
worth one point (the check of that answer), which must follow it. A markdown cell with the
markers is a written answer, graded by hand in nbgrader (one point). Every other cell is locked.
Cell ids are renumbered cell-00, cell-01, ... A notebook that already carries the metadata is
left as it is. tests/test_nbgrader.py checks the result and runs nbgrader on it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

END = "### END SOLUTION"


def _meta(grade_id: str, solution: bool = False, grade: bool = False, points: int = 0
          ) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution,
            "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _answer_name(source: str, k: int) -> str:
    """A name for an answer cell: the first variable its solution assigns, else its index."""
    body = source.split("### BEGIN SOLUTION", 1)[1]
    match = re.search(r"^\s*([A-Za-z_]\w*)\s*=", body, re.MULTILINE)
    return match.group(1) if match else f"{k:02d}"


def with_metadata(nb: dict, prefix: str) -> dict:
    """`nb` with nbgrader metadata on every cell (answer cells split from their checks)."""
    cells, used = [], set()
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "### BEGIN SOLUTION" in source:
            # a written answer: graded by hand in nbgrader (the grader grades its number)
            name = f"written_{len(cells):02d}"
            cells.append({**cell, "metadata": _meta(f"answer_{name}", True, True, 1)})
        elif cell["cell_type"] == "code" and "### BEGIN SOLUTION" in source:
            head, _, rest = source.partition(END)
            name = _answer_name(source, len(cells))
            while name in used:
                name += "_"
            used.add(name)
            answer = {**cell, "source": (head + END).splitlines(keepends=True), "outputs": [],
                      "execution_count": None, "metadata": _meta(f"answer_{name}", True)}
            cells.append(answer)
            check = rest.lstrip("\n")
            if not check.strip():
                raise ValueError(f"{prefix}: the answer cell {name!r} has no check after it")
            cells.append({"cell_type": "code", "execution_count": None, "id": "",
                          "metadata": _meta(f"check_{name}", grade=True, points=1),
                          "outputs": [], "source": check.splitlines(keepends=True)})
        else:
            kind = "description" if cell["cell_type"] == "markdown" else "code"
            cells.append({**cell, "metadata": {**cell.get("metadata", {}),
                                               **_meta(f"{prefix}_{kind}_{len(cells):02d}")}})
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k:02d}"
    return {**nb, "cells": cells}


def main(argv: list[str]) -> int:
    for arg in argv[1:]:
        path = Path(arg)
        nb = json.loads(path.read_text(encoding="utf-8"))
        if all("nbgrader" in c.get("metadata", {}) for c in nb["cells"]):
            continue
        prefix = path.stem.split("_")[0]
        path.write_text(json.dumps(with_metadata(nb, prefix), indent=1, ensure_ascii=False)
                        + "\n", encoding="utf-8")
        print(f"{path}: nbgrader metadata added")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
