"""Write each chapter's "Code for this chapter" box from the notebook's `minirnn` imports.

Usage: python tools/code_boxes.py [--check] [notebooks/03_vanilla_rnn.ipynb ...]

The box is a markdown cell right after the chapter's title cell: a MyST admonition listing every
`minirnn` module the notebook imports (the chapter's own module first, then the others in the
order the notebook first imports them) and what it takes from each, each module linked to its
entry on the API page (book/api.md), where every function links to its source. A module without
an entry of its own links to the nearest package above it that has one.

The tool also rewrites the list of chapter modules on the API page (between the two `% chapter
modules` lines) from the files in minirnn/chapters/, so that every box has a target.

With --check nothing is written; the exit status is 1 if any box or the API page's list is out
of date (tests/test_code_boxes.py runs the same comparison).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "book" / "api.md"
TITLE = "Code for this chapter"
CELL_ID = "code-for-this-chapter"
BEGIN = "% chapter modules: written by tools/code_boxes.py from minirnn/chapters/"
END = "% end of chapter modules"


@dataclass
class Imported:
    """One `minirnn` module a notebook imports: under which names, and what from it."""

    module: str
    aliases: list[str] = field(default_factory=list)  # `import m as a`, `from p import m as a`
    names: list[str] = field(default_factory=list)  # `from m import name [as other]`


def is_module(name: str, root: Path = ROOT) -> bool:
    """Whether dotted `name` is a module or package of the source tree (not a function)."""
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _code(source: str) -> str:
    """Cell source with IPython magics and shell lines made `pass`, so that ast can parse it."""
    return "\n".join(line[:len(line) - len(line.lstrip())] + "pass"
                     if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def notebook_imports(nb: dict, root: Path = ROOT) -> list[Imported]:
    """Every `minirnn` module the notebook's code cells import, in order of first import."""
    found: dict[str, Imported] = {}

    def add(module: str) -> Imported:
        return found.setdefault(module, Imported(module))

    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(_code("".join(cell["source"])))
        nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)),
                       key=lambda n: (n.lineno, n.col_offset))
        for node in nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "minirnn":
                        entry = add(a.name)
                        if a.asname and a.asname not in entry.aliases:
                            entry.aliases.append(a.asname)
            elif node.module and node.module.split(".")[0] == "minirnn" and node.level == 0:
                for a in node.names:
                    if is_module(f"{node.module}.{a.name}", root):  # from package import module
                        entry = add(f"{node.module}.{a.name}")
                        alias = a.asname or a.name
                        if alias not in entry.aliases:
                            entry.aliases.append(alias)
                    else:
                        entry = add(node.module)
                        name = a.name if a.asname is None else f"{a.name} as {a.asname}"
                        if name not in entry.names:
                            entry.names.append(name)
    return list(found.values())


def documented_modules(api: Path = API) -> set[str]:
    """The modules with an `automodule` entry on the API page."""
    return set(re.findall(r"^\.\. automodule:: (\S+)\s*$", api.read_text(), re.MULTILINE))


def link(module: str, documented: set[str]) -> str:
    """A MyST cross-reference to the module's API entry, or its nearest documented package."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        target = ".".join(parts[:i])
        if target in documented:
            shown = module if target == module else f"{module} <{target}>"
            return f"{{py:mod}}`{shown}`"
    raise ValueError(f"{module}: no entry for it or a package above it on {API.name}; "
                     f"add an `automodule` for it there")


def box(imported: list[Imported], documented: set[str]) -> str:
    """The markdown source of the box."""
    lines = [f"```{{admonition}} {TITLE}", ":class: tip", "",
             "This chapter runs code from the `minirnn` package. Each module below opens its "
             "entry in the {doc}`API reference </book/api>`, where every function and class "
             "links to its source.", ""]
    for entry in imported:
        item = f"- {link(entry.module, documented)}"
        if entry.aliases:
            item += ", as " + ", ".join(f"`{a}`" for a in entry.aliases)
        if entry.names:
            item += ": " + ", ".join(f"`{n}`" for n in entry.names)
        lines.append(item)
    lines.append("```")
    return "\n".join(lines)


def box_cell(nb: dict) -> dict | None:
    """The notebook's box cell, if it has one."""
    return next((c for c in nb["cells"] if c.get("id") == CELL_ID), None)


def own_first(imported: list[Imported], notebook: str) -> list[Imported]:
    """The chapter's own module first (notebooks/03_vanilla_rnn: ch03_vanilla_rnn), then the
    rest in order of first import."""
    number, _, topic = notebook.partition("_")
    own = {f"ch{number}_{topic}", topic}  # A_appendix_long_range: appendix_long_range
    return sorted(imported, key=lambda e: e.module.rsplit(".", 1)[-1] not in own)


def expected_box(nb: dict, notebook: str, documented: set[str], root: Path = ROOT) -> str:
    """The box that notebook `notebook` (its file name without .ipynb) should hold."""
    return box(own_first(notebook_imports(nb, root), notebook), documented)


def update_notebook(path: Path, documented: set[str], write: bool = True) -> bool:
    """Bring the notebook's box up to date; True if it was (or, without `write`, is) stale."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    source = expected_box(nb, path.stem, documented).splitlines(keepends=True)
    cell = box_cell(nb)
    if cell is None:
        cell = {"cell_type": "markdown", "id": CELL_ID, "metadata": {}, "source": []}
        first_markdown = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")
        nb["cells"].insert(first_markdown + 1, cell)
    cell["source"] = source
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if write and new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def chapter_modules(root: Path = ROOT) -> list[str]:
    """Every chapter module in minirnn/chapters/, in chapter order (the appendix last)."""
    names = [p.stem for p in (root / "minirnn" / "chapters").glob("*.py") if p.stem != "__init__"]
    names.sort(key=lambda n: (not n.startswith("ch"), n))
    return [f"minirnn.chapters.{n}" for n in names]


def api_chapter_list(modules: list[str]) -> str:
    """The API page's block of chapter modules, between BEGIN and END."""
    entries = "\n\n".join(f".. automodule:: {m}\n   :members:" for m in modules)
    return f"{BEGIN}\n```{{eval-rst}}\n{entries}\n```\n{END}"


def update_api(api: Path = API, write: bool = True) -> bool:
    """Bring the API page's chapter list up to date; True if it was stale."""
    text = api.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text) is None:
        raise ValueError(f"{api}: no block between {BEGIN!r} and {END!r}")
    new = pattern.sub(lambda _: api_chapter_list(chapter_modules()), text)
    if write and new != text:
        api.write_text(new)
    return new != text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv[1:] if a != "--check"]
    paths = paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    stale = []
    if update_api(write=not check):
        stale.append(str(API))
    documented = documented_modules()
    stale += [str(p) for p in paths if update_notebook(p, documented, write=not check)]
    for name in stale:
        print(f"{name}: {'out of date' if check else 'updated'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
