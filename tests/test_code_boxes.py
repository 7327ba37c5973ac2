"""Each chapter's "Code for this chapter" box lists what its notebook imports (tools/code_boxes.py).

When a test here fails after a change of imports, run `python tools/code_boxes.py` and commit
the notebooks and book/api.md it rewrites.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

spec = importlib.util.spec_from_file_location("code_boxes", ROOT / "tools" / "code_boxes.py")
code_boxes = importlib.util.module_from_spec(spec)
sys.modules["code_boxes"] = code_boxes  # its dataclass looks its module up there
spec.loader.exec_module(code_boxes)


def _nb(*sources: str, box: str | None = None) -> dict:
    cells = [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# 3. Title"}]
    if box is not None:
        cells.append({"cell_type": "markdown", "id": code_boxes.CELL_ID, "metadata": {},
                      "source": box})
    cells += [{"cell_type": "code", "metadata": {}, "source": s} for s in sources]
    return {"cells": cells}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_box_lists_the_notebooks_imports(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = code_boxes.box_cell(nb)
    assert cell is not None, f"{path.name} has no box; run python tools/code_boxes.py"
    cells = [c["cell_type"] for c in nb["cells"]]
    assert nb["cells"].index(cell) == cells.index("markdown") + 1, "the box follows the title"
    expected = code_boxes.expected_box(nb, path.stem, code_boxes.documented_modules())
    assert "".join(cell["source"]) == expected, "out of date; run python tools/code_boxes.py"


def test_api_page_documents_every_chapter_module():
    assert not code_boxes.update_api(write=False), "run python tools/code_boxes.py"
    documented = code_boxes.documented_modules()
    folder = ROOT / "minirnn" / "chapters"
    chapters = {f"minirnn.chapters.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
    assert chapters and chapters <= documented


def test_imports_are_read_with_aliases_names_and_submodules(tmp_path):
    nb = _nb(
        'import sys\n\nif "google.colab" in sys.modules:\n    %pip install minirnn\n',
        "import numpy as np\n"
        "import minirnn.chapters.ch01_why_recurrence as toy\n"
        "from minirnn.chapters import ch03_vanilla_rnn as sharing\n"
        "from minirnn.numpy import (rnn_forward,\n    rnn_backward)\n"
        "from minirnn.torch import RNN as MiniRNN\n",
        "def f():\n    from minirnn.numpy import rnn_forward, sigmoid\n    return sigmoid\n",
    )
    found = {e.module: (e.aliases, e.names) for e in code_boxes.notebook_imports(nb)}
    assert found == {
        "minirnn.chapters.ch01_why_recurrence": (["toy"], []),
        "minirnn.chapters.ch03_vanilla_rnn": (["sharing"], []),
        "minirnn.numpy": ([], ["rnn_forward", "rnn_backward", "sigmoid"]),
        "minirnn.torch": ([], ["RNN as MiniRNN"]),
    }
    box = code_boxes.expected_box(nb, "03_vanilla_rnn", {"minirnn.numpy", "minirnn.torch",
                                                         "minirnn.chapters.ch03_vanilla_rnn",
                                                         "minirnn.chapters.ch01_why_recurrence"})
    items = [line for line in box.splitlines() if line.startswith("- ")]
    assert items[0] == "- {py:mod}`minirnn.chapters.ch03_vanilla_rnn`, as `sharing`"
    assert "- {py:mod}`minirnn.torch`: `RNN as MiniRNN`" in items


def test_a_stale_box_is_found_and_rewritten(tmp_path):
    documented = {"minirnn.numpy", "minirnn.data"}
    nb = _nb("from minirnn.numpy import rnn_forward\n", box="stale")
    path = tmp_path / "03_vanilla_rnn.ipynb"
    path.write_text(json.dumps(nb))
    assert code_boxes.update_notebook(path, documented, write=False)
    assert json.loads(path.read_text())["cells"][1]["source"] == "stale"
    assert code_boxes.update_notebook(path, documented)
    assert not code_boxes.update_notebook(path, documented)
    # a new import makes it stale again; a submodule links to its documented package
    nb = json.loads(path.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {},
                        "source": "from minirnn.data.text import load_corpus\n"})
    path.write_text(json.dumps(nb))
    assert code_boxes.update_notebook(path, documented)
    assert "{py:mod}`minirnn.data.text <minirnn.data>`: `load_corpus`" in path.read_text()


def test_a_box_is_inserted_after_the_title_and_an_undocumented_module_is_an_error(tmp_path):
    path = tmp_path / "05_x.ipynb"
    path.write_text(json.dumps(_nb("from minirnn.numpy import rnn_forward\n")))
    code_boxes.update_notebook(path, {"minirnn.numpy"})
    cells = json.loads(path.read_text())["cells"]
    assert cells[1]["id"] == code_boxes.CELL_ID and cells[2]["cell_type"] == "code"
    with pytest.raises(ValueError, match="minirnn.numpy: no entry"):
        code_boxes.update_notebook(path, {"minirnn.torch"})
