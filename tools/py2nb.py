"""Turn a percent-format script into a notebook (authoring aid for chapters).

Usage: python tools/py2nb.py chapter.py notebooks/NN_name.ipynb

Cells start with `# %%` (code) or `# %% [markdown]` (markdown; each line's leading `# ` is
removed). The notebook is written without outputs; run tools/execute_notebooks.py next.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def convert(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    kind, lines = None, []

    def flush() -> None:
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            md = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                           for line in text.splitlines())
            nb.cells.append(nbformat.v4.new_markdown_cell(md))
        elif kind == "code" and text:
            nb.cells.append(nbformat.v4.new_code_cell(text))

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"  # stable ids keep diffs small
    return nb


def main(argv: list[str]) -> int:
    src, dst = Path(argv[1]), Path(argv[2])
    nbformat.write(convert(src.read_text()), dst)
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
