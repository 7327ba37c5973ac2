"""Build an assignment: the student folder and a zip that is byte-identical across builds.

    build(assignment, out)  ->  out/<name>/   and   out/<name>.zip

The student folder holds
- minirnn/<package>/: a copy of the package's sources with every ``# BEGIN SOLUTION`` ...
  ``# END SOLUTION`` region replaced by ``raise NotImplementedError("<function>: see chapter N")``
  (indented like the region), so the copy still imports. The paths in NOT_SHIPPED stay out:
  minirnn/numpy/fast/ computes what the student writes, only faster;
- <name>.ipynb: the assignment notebook, solution cells cleared by nbgrader's ClearSolutions and
  ClearHiddenTests preprocessors (used as a library: no database, no course directory);
- tests/<graded file>: the graded tests, to check one's work locally;
- README.md: set-up, what to implement, how to check;
- assignment.json: the assignment's name, so ``grade`` knows which tests to run.

``solution=True`` keeps the solutions (only the marker lines go): the reference folder that the
autograder must give full points.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from minirnn.assignments.catalog import Assignment

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the minirnn package folder
HERE = Path(__file__).resolve().parent
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
# A bug region right after a solution region is what the template holds instead of the stub
# (A8 hands out working-looking code with a planted bug): its lines, unmarked, only there.
BUG_BEGIN, BUG_END = "# BEGIN BUG", "# END BUG"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build clock leaks in
_DEF = re.compile(r"^(\s*)def\s+(\w+)\s*\(")
_CLASS = re.compile(r"^class\s+(\w+)")
_BARE_KEYWORD = re.compile(r"(else|try|finally|except|pass|break|continue|return)\s*:?")
# Package folders and files, relative to minirnn/, that no bundle ships: the BLAS-tuned layers
# give the same numbers as the reference sequence functions the student writes, and the fused
# torch layers compute the GRU module of A6 (nothing the student's copy imports needs them:
# minirnn.numpy imports its fast path only when asked for it, minirnn.torch.rnn falls back on
# its readable loop without fused.py).
NOT_SHIPPED = ("numpy/fast", "torch/fused.py")


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers in a source file."""


def _enclosing(line: str, function: str | None, cls: str | None) -> tuple[str | None, str | None]:
    """(function, class) after reading `line`: a method is named "Class.method"."""
    match = _CLASS.match(line)
    if match:
        return function, match.group(1)
    match = _DEF.match(line)
    if not match:
        return function, cls
    indent, name = match.groups()
    if not indent:  # a top-level def ends any class
        return name, None
    return (f"{cls}.{name}" if cls else name), cls


def solution_regions(text: str, where: str = "source") -> list[tuple[str, list[str]]]:
    """The solution regions of a Python source: (enclosing function, lines inside).

    A function is named by its def ("rnn_forward"), a method by its class too
    ("TBPTTBatcher.next_batch").
    """
    regions: list[tuple[str, list[str]]] = []
    function, cls, inside = None, None, None
    for number, line in enumerate(text.splitlines(), start=1):
        if inside is None:
            function, cls = _enclosing(line, function, cls)
        marker = line.strip()
        if marker == BEGIN:
            if inside is not None:
                raise MarkerError(f"{where}:{number}: {BEGIN} inside another solution region")
            if function is None:
                raise MarkerError(f"{where}:{number}: {BEGIN} outside a function")
            inside = []
        elif marker == END:
            if inside is None:
                raise MarkerError(f"{where}:{number}: {END} without {BEGIN}")
            regions.append((function, inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    if inside is not None:
        raise MarkerError(f"{where}: {BEGIN} of {function} is never closed")
    return regions


def _bug_after(lines: list[str], k: int, where: str) -> tuple[list[str] | None, int]:
    """(the bug region's lines, uncommented, and the index of its END BUG) when the line after
    lines[k] (an END SOLUTION) opens one; (None, k) otherwise."""
    if k + 1 >= len(lines) or lines[k + 1].strip() != BUG_BEGIN:
        return None, k
    for end in range(k + 2, len(lines)):
        marker = lines[end].strip()
        if marker == BUG_END:
            return [_uncomment(line, f"{where}:{j + 1}")
                    for j, line in enumerate(lines[k + 2:end], start=k + 2)], end
        if marker in (BEGIN, END, BUG_BEGIN):
            break
    raise MarkerError(f"{where}:{k + 2}: {BUG_BEGIN} is never closed")


def _uncomment(line: str, where: str) -> str:
    """A bug line as the template holds it: the source comments it out (``# code``), so the
    package itself runs only the fix."""
    body = line.lstrip()
    if not body.startswith("#"):
        raise MarkerError(f"{where}: a bug line must be commented out in the source: {body!r}")
    return line[: len(line) - len(body)] + body[2:] if body.startswith("# ") else ""


def bug_regions(text: str, where: str = "source") -> list[tuple[str, list[str]]]:
    """The bug regions of a source: (enclosing function, the planted lines the template holds)."""
    solution_regions(text, where)
    lines, regions = text.splitlines(), []
    function, cls, inside = None, None, False
    for k, line in enumerate(lines):
        if not inside:
            function, cls = _enclosing(line, function, cls)
        inside = {BEGIN: True, END: False}.get(line.strip(), inside)
        if line.strip() == END:
            bug, _ = _bug_after(lines, k, where)
            if bug is not None:
                regions.append((function, bug))
    return regions


def cut_solutions(text: str, chapters: dict[str, int], solution: bool = False,
                  where: str = "source") -> str:
    """The student version of a Python source (or, with solution=True, the marker-free one).

    Every region becomes one ``raise NotImplementedError("f: see chapter N")`` line at the
    indentation of its BEGIN marker, or, where a ``# BEGIN BUG`` ... ``# END BUG`` region follows
    its END marker directly, the bug region's lines (the solution drops them); `chapters` must
    name every function that holds a region.
    """
    solution_regions(text, where)  # validates the markers before anything is cut
    out: list[str] = []
    lines = text.splitlines()
    function, cls, inside, stub, k = None, None, False, "", 0
    while k < len(lines):
        line = lines[k]
        if not inside:
            function, cls = _enclosing(line, function, cls)
        marker = line.strip()
        if marker == BEGIN:
            inside = True
            if function not in chapters and not solution:
                raise MarkerError(f"{where}: no chapter is given for {function!r} "
                                  f"(add it to the assignment's chapters)")
            indent = line[: len(line) - len(line.lstrip())]
            stub = (f'{indent}raise NotImplementedError("{function}: see chapter '
                    f'{chapters.get(function)}")')
        elif marker == END:
            inside = False
            bug, k = _bug_after(lines, k, where)
            if not solution:
                out += [stub] if bug is None else bug
        elif marker in (BUG_BEGIN, BUG_END):
            raise MarkerError(f"{where}:{k + 1}: {marker} must directly follow {END}")
        elif solution or not inside:
            out.append(line)
        k += 1
    return "\n".join(out) + "\n"


def planted_functions(a: Assignment, root: Path | None = None) -> dict[str, list[str]]:
    """module file ("minirnn/...") -> the functions holding a bug region, for `a`'s modules."""
    root = PACKAGE_ROOT if root is None else root
    out = {}
    for module in a.modules:
        names = sorted({f for f, _ in bug_regions((root / module).read_text(encoding="utf-8"),
                                                  module)})
        if names:
            out[f"minirnn/{module}"] = names
    return out


def _function_dump(source: str, name: str) -> str | None:
    """ast.dump of the function (or "Class.method") called `name` in `source`; None if absent."""
    import ast

    body = ast.parse(source).body
    for part in name.split("."):
        found = [n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                 and n.name == part]
        if not found:
            return None
        body = found[0].body
    return ast.dump(found[0])


def fixed_functions(files: dict[str, bytes], a: Assignment,
                    root: Path | None = None) -> list[str]:
    """The planted functions whose body in `files` (a bundle) is the reference's, compared as
    syntax trees (comments and layout aside): a reordering of lines has no line of its own for
    the leak check to find, but its tree differs from the fix."""
    reference = package_files(a, solution=True, root=root)
    same = []
    for rel, names in planted_functions(a, root).items():
        for name in names:
            want = _function_dump(reference[rel].decode("utf-8"), name)
            if rel in files and _function_dump(files[rel].decode("utf-8"), name) == want:
                same.append(f"{rel}:{name}")
    return same


def shipped_sources(root: Path, package: str) -> list[Path]:
    """Every file of minirnn/<package>/ that a bundle ships, sorted: no caches, no NOT_SHIPPED."""
    paths = []
    for path in sorted((root / package).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if (not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc"
                or any(rel == folder or rel.startswith(folder + "/") for folder in NOT_SHIPPED)):
            continue
        paths.append(path)
    return paths


def all_chapters() -> dict[str, int]:
    """Function -> chapter over every assignment (a bundle cuts every region it ships)."""
    from minirnn.assignments.catalog import ASSIGNMENTS

    merged: dict[str, int] = {}
    for a in ASSIGNMENTS.values():
        merged.update(a.chapters)
    return merged


def clear_notebook(source: str) -> str:
    """The student notebook: nbgrader's ClearSolutions and ClearHiddenTests, no database."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbformat.reads(source, as_version=4)
    resources: dict = {}
    for preprocessor in (ClearSolutions(enforce_metadata=False),
                         ClearHiddenTests(enforce_metadata=False)):
        nb, resources = preprocessor.preprocess(nb, resources)
    for cell in nb.cells:  # nothing executed is handed out
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb) + "\n"


def notebook_solution(source: str) -> str:
    """The reference notebook: only the ``### BEGIN/END SOLUTION`` marker lines removed."""
    import nbformat

    nb = nbformat.reads(source, as_version=4)
    for cell in nb.cells:
        lines = cell.source.split("\n")
        cell.source = "\n".join(
            line for line in lines
            if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION",
                                    "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
    return nbformat.writes(nb) + "\n"


def readme(a: Assignment, root: Path | None = None) -> str:
    """The student README: set-up, what to implement, how to check locally."""
    todo = "\n".join(f"- `minirnn/{m}`" for m in a.modules)
    functions = "\n".join(f"- `{f}` (chapter {c})" for f, c in a.chapters.items())
    questions = "\n".join(f"| {q.title} | {q.points} |" for q in a.questions)
    todo_intro = ('Every function body that reads `raise NotImplementedError("...: see chapter N")`'
                  " in")
    if planted_functions(a, root):  # A8: the bodies are there, each with one planted bug
        todo_intro = ("Each function listed below runs without an error but holds one bug that "
                      "real RNN code has had:\nfind it and fix it, in")
    return f"""# {a.title}

## Set-up
Use the course's environment (`make setup` in the course repository, or
`pip install -r requirements.txt` there). Work inside this folder: its `minirnn/` is your copy
of the course package, and Python imports it instead of the installed one when you start
Python, Jupyter or pytest here.

## What to implement
{todo_intro}

{todo}

The functions of this assignment, with the chapter that explains each:

{functions}

Other functions may also be stubs (they belong to other assignments); this assignment's tests
do not call them. Keep the argument checks at the top of each function: they are not graded but
they catch shape mistakes early. Where a backward function's kept lines unpack its forward
pass's cache, build that cache to match them: the layout of a sequence cache is documented in
its forward function's docstring, and the graded tests build such caches themselves and hand
them to your backward functions.
The notebook `{a.name}.ipynb` walks through the same functions
with small examples; cells marked `# YOUR CODE HERE` are yours.

## Checking your work
    python -m pytest tests -q

runs the graded tests on your code. The grader checks the same things, but on other inputs
than the ones in your copy of the tests (drawn afresh for each submission), each question in
its own process with time and memory limits; only the files listed under "What to implement"
are taken from your folder, so keep your work in them.

| Question | Points |
|---|---|
{questions}
| **Total** | **{a.points}** |
"""


def package_files(a: Assignment, solution: bool = False,
                  root: Path | None = None) -> dict[str, bytes]:
    """The folder's ``minirnn/`` copy: relative path ("minirnn/...") -> bytes.

    `root` is the minirnn package folder the sources are cut from.
    """
    root = PACKAGE_ROOT if root is None else root
    files: dict[str, bytes] = {}
    chapters = {**all_chapters(), **a.chapters}
    cut = set()  # functions whose solution regions were found
    files["minirnn/__init__.py"] = (root / "__init__.py").read_bytes()
    for package in a.packages:
        for path in shipped_sources(root, package):
            rel = "minirnn/" + path.relative_to(root).as_posix()
            data = path.read_bytes()
            if path.suffix == ".py":
                text = data.decode("utf-8")
                cut.update(function for function, _ in solution_regions(text, rel))
                data = cut_solutions(text, chapters, solution, where=rel).encode("utf-8")
            files[rel] = data
    missing = [function for function in a.chapters if function not in cut]
    if missing:  # building anyway would hand the solution out
        raise MarkerError(f"{a.name}: no solution region marked in {', '.join(missing)}")
    return files


def student_files(a: Assignment, solution: bool = False, root: Path | None = None,
                  assets: Path = HERE) -> dict[str, bytes]:
    """Every file of the student folder: relative path -> bytes.

    `root` is the minirnn package folder the sources are cut from, `assets` the folder holding
    notebooks/ and graded/ (tests point both at samples of their own).
    """
    files = package_files(a, solution, root)
    notebook = (assets / "notebooks" / a.notebook).read_text(encoding="utf-8")
    files[a.notebook] = (notebook_solution(notebook) if solution
                         else clear_notebook(notebook)).encode("utf-8")
    files["tests/" + a.graded] = (assets / "graded" / a.graded).read_bytes()
    files["README.md"] = readme(a, root).encode("utf-8")
    files["assignment.json"] = (json.dumps({"name": a.name, "points": a.points}, indent=1)
                                + "\n").encode("utf-8")
    return files


def zip_bytes(files: dict[str, bytes], prefix: str) -> bytes:
    """A zip of `files` under `prefix/`: sorted entries, fixed times and permissions.

    Entries are stored, not deflated: deflate's output depends on the zlib build (zlib-ng
    compresses differently), and the bundles are small.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{prefix}/{rel}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever the building machine
            zf.writestr(info, files[rel])
    return buffer.getvalue()


def build(a: Assignment, out: Path | str, solution: bool = False, root: Path | None = None,
          assets: Path = HERE) -> tuple[Path, Path]:
    """Write out/<name>/ and out/<name>.zip (out/<name>_solution... with solution=True).

    Returns (folder, zip path). A folder left by an earlier build is replaced.
    """
    import shutil

    out = Path(out)
    name = a.name + ("_solution" if solution else "")
    files = student_files(a, solution, root, assets)
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    archive = out / f"{name}.zip"
    archive.write_bytes(zip_bytes(files, name))
    return folder, archive


def solution_lines(a: Assignment, root: Path | None = None, assets: Path = HERE) -> set[str]:
    """Every line inside a solution region of what `a` ships: package sources and notebook.

    Lines are stripped; lines without a letter or digit (a lone bracket) and bare keywords
    (``else:``, ``try:``) carry no solution and are left out, and so are the lines a bug region
    holds as well (a bug that reorders lines shows every line of its fix: `fixed_functions`
    compares those functions' syntax trees instead).
    """
    import nbformat

    root = PACKAGE_ROOT if root is None else root
    lines: list[str] = []
    shown: set[str] = set()  # the planted lines the template holds on purpose
    for package in a.packages:
        for path in (p for p in shipped_sources(root, package) if p.suffix == ".py"):
            text = path.read_text(encoding="utf-8")
            for _, region in solution_regions(text, str(path)):
                lines += region
            shown.update(line.strip() for _, bug in bug_regions(text, str(path)) for line in bug)
    nb = nbformat.read(assets / "notebooks" / a.notebook, as_version=4)
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            marker = line.strip()
            if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                inside = True
            elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
                inside = False
            elif inside:
                lines.append(line)
    return {line.strip() for line in lines
            if any(ch.isalnum() for ch in line) and not _BARE_KEYWORD.fullmatch(line.strip())
            and line.strip() not in shown}


def leaked_lines(files: dict[str, bytes], solutions: set[str]) -> list[tuple[str, str]]:
    """(file, line) for every line of a student bundle that is a solution line."""
    leaks = []
    for rel, data in sorted(files.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # a binary file: search its bytes for each line
            leaks += [(rel, line) for line in sorted(solutions) if line.encode() in data]
            continue
        if rel.endswith(".ipynb"):  # the cells' source lines, as JSON would escape them
            import nbformat

            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        leaks += [(rel, line.strip()) for line in text.splitlines() if line.strip() in solutions]
    return leaks
