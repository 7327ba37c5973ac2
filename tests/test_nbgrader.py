"""nbgrader itself on the assignment notebooks (issue 15, item 5): their cell metadata matches
the solution markers, ``generate_assignment`` releases every notebook, and ``autograde`` gives
the reference solution full points and the untouched template 0, in a temporary course
directory with an sqlite gradebook (no network, no Jupyter server)."""

import json
import os
import sys
from pathlib import Path

import pytest

from minirnn.assignments import build, catalog, nbgrader_course
from minirnn.cli import main

pytest.importorskip("nbgrader")
# nbgrader 0.9.6 with SQLAlchemy 2 warns while it records a submission; the grades are right
pytestmark = pytest.mark.filterwarnings("ignore:Object of type:Warning")
NAMES = list(catalog.ASSIGNMENTS)


def cells(name):
    nb = json.loads((build.HERE / "notebooks" / catalog.get(name).notebook).read_text())
    return nb["cells"]


@pytest.mark.parametrize("name", NAMES)
def test_cell_metadata_matches_the_solution_markers(name):
    all_cells = cells(name)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in all_cells]
    assert len(set(ids)) == len(ids)
    graded = written = 0
    for k, cell in enumerate(all_cells):
        meta = cell["metadata"]["nbgrader"]
        assert meta["schema_version"] == 3
        source = "".join(cell["source"])
        if "### BEGIN SOLUTION" in source and cell["cell_type"] == "markdown":
            # a written answer, graded by hand
            assert meta["solution"] and meta["grade"] and not meta["locked"], meta
            assert meta["points"] > 0
            written += 1
        elif "### BEGIN SOLUTION" in source:
            assert meta["solution"] and not meta["grade"] and not meta["locked"], meta
            assert source.rstrip().endswith("### END SOLUTION")
            check = all_cells[k + 1]["metadata"]["nbgrader"]  # its check follows it
            assert check["grade"] and check["locked"] and not check["solution"], check
            assert check["points"] > 0
        else:
            assert "SOLUTION" not in source
            assert not meta["solution"] and meta["locked"], meta
            graded += bool(meta["grade"])
    assert graded + written == sum("### BEGIN SOLUTION" in "".join(c["source"])
                                   for c in all_cells) >= 1


def test_the_config_keeps_only_the_students_modules():
    text = nbgrader_course.config_text()
    namespace = {"get_config": lambda: Config()}
    from traitlets.config import Config

    exec(compile(text, "nbgrader_config.py", "exec"), namespace)  # noqa: S102 - our own text
    keep = namespace["c"].Autograde.exclude_overwriting
    assert keep == {a.name: [f"minirnn/{m}" for m in a.modules]
                    for a in catalog.ASSIGNMENTS.values()}


def _api(course: Path, monkeypatch):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader runs the `alembic` command of its environment to open the gradebook
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep
                       + os.environ.get("PATH", ""))
    config = PyFileConfigLoader(nbgrader_course.CONFIG, path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.Execute.timeout = 120
    return NbGraderAPI(config=config)


def _check(result):
    assert result["success"], (result.get("error") or "") + result.get("log", "")[-3000:]


def test_generate_assignment_releases_every_notebook(tmp_path, monkeypatch):
    course = tmp_path / "course"
    for name in NAMES:
        assert main(["assignments", "nbgrader", name, str(course)]) == 0
    assert (course / nbgrader_course.CONFIG).read_text() == nbgrader_course.config_text()
    api = _api(course, monkeypatch)
    for name in NAMES:
        a = catalog.get(name)
        _check(api.generate_assignment(name))
        release = course / "release" / name
        released = json.loads((release / a.notebook).read_text())
        sources = ["".join(c["source"]) for c in released["cells"]]
        assert any("# YOUR CODE HERE" in s for s in sources)
        assert all(c["metadata"]["nbgrader"].get("checksum") for c in released["cells"]
                   if c["metadata"]["nbgrader"]["locked"])
        files = {p.relative_to(release).as_posix(): p.read_bytes()
                 for p in release.rglob("*") if p.is_file()}
        assert f"tests/{a.graded}" in files and "minirnn/__init__.py" in files
        assert build.leaked_lines(files, build.solution_lines(a)) == []


def test_autograde_gives_the_solution_full_points_and_the_template_zero(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    a = catalog.get("a1_rnn")
    course = tmp_path / "course"
    nbgrader_course.write_source(a, course)
    api = _api(course, monkeypatch)
    _check(api.generate_assignment(a.name))
    for student, solution in (("solution", True), ("template", False)):
        # a submission is the whole student folder: the notebook and the student's package
        for rel, data in build.student_files(a, solution).items():
            path = course / "submitted" / student / a.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        # the kernel imports the submission's minirnn/, whatever PYTHONPATH the tests run under
        monkeypatch.setenv("PYTHONPATH", str(course / "autograded" / student / a.name))
        _check(api.autograde(a.name, student))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: (gb.find_submission(a.name, s).score, gb.find_submission(a.name, s).max_score)
                  for s in ("solution", "template")}
    points = sum(c["metadata"]["nbgrader"].get("points", 0) for c in cells(a.name))
    assert points >= 2
    assert scores == {"solution": (points, points), "template": (0, points)}
