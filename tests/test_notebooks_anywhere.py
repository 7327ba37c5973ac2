"""Chapter notebooks run wherever `minirnn` is installed, with no repository beside them.

The book's download and Colab buttons hand a reader one .ipynb and nothing else. Three checks
stand in for that reader:
- the wheel holds everything a chapter loads (shipped results, the corpus) and the assignments;
- no notebook's code names a file outside the package (a static scan of every code cell);
- the notebooks that load shipped results run under nbval from the wheel, installed in a fresh
  virtual environment outside the repository, in an empty folder holding only their copies.
  These notebooks are listed in the Makefile's ANYWHERE_NOTEBOOKS, which its nbval target skips,
  so `make test` executes every notebook once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import time
import types
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def anywhere_notebooks(makefile: Path = ROOT / "Makefile") -> list[str]:
    """The notebook names of the Makefile's `ANYWHERE_NOTEBOOKS := ...` line."""
    match = re.search(r"^ANYWHERE_NOTEBOOKS\s*:=(.*)$", makefile.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{makefile}: no ANYWHERE_NOTEBOOKS line")
    return match.group(1).split()


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(cell index, line) for every non-comment line of the notebook's code cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, line) for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines()
            if not line.lstrip().startswith("#")]


# ---------------------------------------------------------------------------------------------
# The first code cell installs the package on Colab and does nothing anywhere else.

def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab_cell = _load_tool("colab_cell")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_first_code_cell_is_the_colab_install_skipped_by_nbval_and_hidden(path):
    cell = colab_cell.first_code_cell(json.loads(path.read_text(encoding="utf-8")))
    source = colab_cell.colab_source(colab_cell.repository_url())
    assert "".join(cell["source"]) == source, "run python tools/colab_cell.py"
    assert {"nbval-skip", "remove-cell"} <= set(cell["metadata"].get("tags", []))


def _run_cell(source: str, on_colab: bool, monkeypatch) -> list[tuple[str, str]]:
    """Run the cell's code as IPython would; returns the magics it called."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls = []

    class Shell:
        def run_line_magic(self, name, line):
            calls.append((name, line))

    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(TransformerManager().transform_cell(source), {"get_ipython": Shell})
    return calls


def test_colab_cell_installs_on_colab_only(monkeypatch):
    source = colab_cell.colab_source("https://github.com/minirnn/minirnn")
    assert _run_cell(source, on_colab=False, monkeypatch=monkeypatch) == []
    ((name, line),) = _run_cell(source, on_colab=True, monkeypatch=monkeypatch)
    assert name == "pip" and line.startswith("install")
    assert '"minirnn[data] @ git+https://github.com/minirnn/minirnn"' in line


# ---------------------------------------------------------------------------------------------
# No notebook reads a path outside the package.

OUTSIDE = [
    (re.compile(r"""Path\(\s*[rbf]*["']"""), "a path built from a string"),
    (re.compile(r"""["'](\.\.?/|\.\.["'])"""), "a path relative to the notebook's folder"),
    (re.compile(r"\bexperiments\b"), "the repository's experiments/ folder"),
    (re.compile(r"""\b(open|load|loadtxt|genfromtxt|read_csv|imread|read_text|read_bytes)"""
                r"""\(\s*[rbf]*["']"""), "a file named by a string"),
    (re.compile(r"\b(os\.chdir|sys\.path|__file__)"), "a path reached through the working folder"),
]


def outside_reads(path: Path) -> list[str]:
    """What in the notebook's code names a file outside the installed package."""
    found = []
    for i, line in code_lines(path):
        why = next((why for pattern, why in OUTSIDE if pattern.search(line)), None)
        if why is not None:
            found.append(f"{path.name} cell {i}: {why}: {line.strip()}")
    return found


def _notebook(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "source": s} for s in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    return path


def test_outside_reads_catches_every_kind_of_path_outside_the_package(tmp_path):
    planted = [
        'RESULTS = Path("..") / "minirnn" / "results"',
        "x = np.load('../data/x.npy')",
        'state = torch.load("weights.pt")',
        'runs = json.loads(Path("experiments/results/runs.json").read_text())',
        'with open("corpus.txt") as f:',
        "df = pd.read_csv(f'./{name}.csv')",
        'sys.path.insert(0, "..")',
        "os.chdir(root)",
    ]
    path = _notebook(tmp_path, *planted)
    found = outside_reads(path)
    for line in planted:
        assert any(f.endswith(line) for f in found), line


def test_outside_reads_accepts_shipped_results_and_comments(tmp_path):
    path = _notebook(
        tmp_path,
        "from minirnn.results import load_json, results_path\n"
        '# regenerated by experiments/lstm_adding.py\n'
        'state = torch.load(results_path("lstm_adding", "lstm_T50_seed0.pt"), weights_only=True)\n'
        'summary = load_json("long_range", "summary.json")\n'
        'print("steps 10..20:", "...", "." + name, \'(".")\')',
    )
    assert outside_reads(path) == []


def test_no_notebook_reads_a_path_outside_the_package():
    found = [f for nb in sorted(NOTEBOOKS.glob("*.ipynb")) for f in outside_reads(nb)]
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------------------------------
# The wheel holds what the chapters and the assignments load.

def build_wheel(out: Path) -> Path:
    """The package's wheel, built offline into `out` from a copy of the sources.

    A copy, so that setuptools' build/ and .egg-info stay out of the repository and no stale
    build/lib file (a module deleted since the last build) can slip into the wheel.
    """
    src = out / "src"
    shutil.copytree(ROOT / "minirnn", src / "minirnn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--disable-pip-version-check", "-w", str(out),
                    str(src)], check=True)
    (found,) = out.glob("minirnn-*.whl")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def package_files() -> set[str]:
    """Every file of the package's folder in the repository, as a wheel names it."""
    skip = {"__pycache__"}
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "minirnn").rglob("*")
            if p.is_file() and not skip & set(p.parts) and p.suffix != ".pyc"
            and p.name != "README.md"}  # data/README.md documents the folder for contributors


def test_wheel_holds_results_corpus_and_assignments(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(package_files() - names)
    assert not missing, f"{wheel.name} lacks {missing}"
    for kind, pattern in [
        ("shipped weights", r"minirnn/results/\w+/.+\.pt"),
        ("shipped results", r"minirnn/results/\w+/.+\.json"),
        ("the corpus", r"minirnn/data/.+\.txt\.gz"),
        ("graded tests", r"minirnn/assignments/graded/test_\w+\.py"),
        ("assignment notebooks", r"minirnn/assignments/notebooks/\w+\.ipynb"),
    ]:
        assert any(re.fullmatch(pattern, n) for n in names), f"{wheel.name}: no {kind}"


# ---------------------------------------------------------------------------------------------
# Notebooks that load shipped results run from the wheel, in a fresh environment.

def fresh_env(root: Path, wheel: Path) -> Path:
    """A virtual environment in `root` with the wheel installed; returns its python.

    torch and the other dependencies are not downloaded again: a .pth file appends the
    project environment's site-packages to the new one's path. Only plain directory lines go
    into it, so the .pth files there (the editable install's finder among them) stay unread and
    `import minirnn` finds the wheel's copy, installed before the .pth file exists so that pip
    does not take the project's minirnn for an installed one.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
                   check=True)
    ask = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run([python, "-c", ask], check=True, capture_output=True,
                             text=True).stdout.strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    Path(purelib, "minirnn_project_env.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


def run_anywhere(names: list[str], wheel: Path, tmp: Path) -> subprocess.CompletedProcess:
    """nbval over copies of notebooks `names` in an empty folder, from a fresh environment."""
    python = fresh_env(tmp / "venv", wheel)
    folder = tmp / "reader"
    folder.mkdir()
    for name in names:
        shutil.copy(NOTEBOOKS / f"{name}.ipynb", folder)
    shutil.copy(ROOT / "tests" / "nbval_sanitize.cfg", folder)
    (folder / "pytest.ini").write_text("[pytest]\n")  # no configuration from folders above
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "MPLBACKEND"}}
    env["PYTHONHASHSEED"] = "0"
    where = subprocess.run([python, "-c", "import minirnn; print(minirnn.__file__)"], cwd=folder,
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).resolve().is_relative_to((tmp / "venv").resolve()), where
    return subprocess.run(
        [python, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
         "nbval_sanitize.cfg", "-q", "-p", "no:cacheprovider", *[f"{n}.ipynb" for n in names]],
        cwd=folder, env=env, capture_output=True, text=True)


def test_makefile_skips_exactly_the_anywhere_notebooks_in_its_nbval_run():
    names = anywhere_notebooks()
    assert names and all((NOTEBOOKS / f"{n}.ipynb").exists() for n in names), names
    nbval = re.search(r"^nbval:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert "$(ANYWHERE_NOTEBOOKS:%=--ignore=notebooks/%.ipynb)" in nbval.group(1)


def modules_loading_results() -> set[str]:
    """Modules of the package that import minirnn.results (besides minirnn.results itself)."""
    found = set()
    for path in (ROOT / "minirnn").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if not name.startswith("minirnn.results") and re.search(
                r"^\s*(from|import) minirnn\.results\b", path.read_text(), re.MULTILINE):
            found.add(name)
    return found


def test_notebooks_that_load_shipped_results_are_run_anywhere():
    # directly, or through a package module that loads them (a chapter's load_runs, say)
    loaders = modules_loading_results() | {"minirnn.results"}
    assert "minirnn.chapters.appendix_long_range" in loaders
    patterns = [re.compile(rf"\b{re.escape(m)}\b|from {re.escape(m.rpartition('.')[0])} "
                           rf"import .*\b{re.escape(m.rpartition('.')[2])}\b") for m in loaders]
    loading = [nb.stem for nb in sorted(NOTEBOOKS.glob("*.ipynb"))
               if any(p.search(line) for _, line in code_lines(nb) for p in patterns)]
    assert "A_appendix_long_range" in loading
    assert set(loading) <= set(anywhere_notebooks())


def test_notebooks_run_from_the_wheel_in_a_fresh_environment(wheel, tmp_path):
    start = time.perf_counter()
    result = run_anywhere(anywhere_notebooks(), wheel, tmp_path)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    print(f"fresh environment and nbval: {elapsed:.0f} s")
