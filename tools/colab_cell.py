"""Write the Colab install cell as the first code cell of every chapter notebook.

Usage: python tools/colab_cell.py [notebooks/03_vanilla_rnn.ipynb ...]

The book's Colab button opens a chapter on a machine without `minirnn`; this cell installs it
there (from the repository named in _config.yml, with its `data` extra) and does nothing anywhere
else, where the reader installs the package once (book/setup.md). Its tags keep nbval from running
it (`nbval-skip`) and the book from showing it (`remove-cell`). Only that cell changes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAGS = ["nbval-skip", "remove-cell"]


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """The `repository: url:` of the book's _config.yml."""
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", config.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{config}: no `repository: url:` entry")
    return match.group(1)


def colab_source(url: str) -> str:
    """The cell's code: install on Colab, do nothing elsewhere."""
    return (
        "# On Colab, install the course's package; anywhere else this cell does nothing\n"
        "# (there, install minirnn[data] yourself, as the book's setup page says).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "minirnn[data] @ git+{url}"'
    )


def first_code_cell(nb: dict) -> dict:
    """The notebook's first code cell (the one that holds the Colab install)."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            return cell
    raise ValueError("the notebook has no code cell")


def update(path: Path, source: str) -> bool:
    """Rewrite the first code cell of `path` to `source` with the tags; True if it changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cell = first_code_cell(nb)
    cell["source"] = source.splitlines(keepends=True)
    tags = cell["metadata"].setdefault("tags", [])
    tags.extend(t for t in TAGS if t not in tags)
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    source = colab_source(repository_url())
    for path in paths:
        print(f"{path}: {'updated' if update(path, source) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
