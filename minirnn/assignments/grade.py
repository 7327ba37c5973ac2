"""Grade a student folder: run the assignment's graded tests in a fresh process, score them.

The student's ``minirnn/`` is copied next to a pristine copy of the graded tests (the ones in
this package, not the student's, which may have been edited) in a temporary folder, and a new
Python process runs them there with that folder first on the path, one test at a time, each
with a time limit and no network. A question's points are the points of its passing tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from minirnn.assignments import catalog

HERE = Path(__file__).resolve().parent
TIME_LIMIT = 20.0  # seconds per graded test


class GradeError(ValueError):
    """The folder is not a student folder, or the grading process died."""


def assignment_of(folder: Path) -> catalog.Assignment:
    """The assignment a student folder belongs to (from its assignment.json)."""
    meta = folder / "assignment.json"
    if not folder.is_dir():
        raise GradeError(f"student folder {str(folder)!r} does not exist")
    if not meta.is_file():
        raise GradeError(f"{str(folder)!r} has no assignment.json: is it a built assignment?")
    try:
        name = json.loads(meta.read_text(encoding="utf-8"))["name"]
        return catalog.get(name)
    except (ValueError, KeyError, TypeError) as err:
        raise GradeError(f"{str(meta)!r} is damaged: {err}") from None


def run_tests(folder: Path, a: catalog.Assignment, limit: float, assets: Path = HERE) -> dict:
    """Raw results of the graded tests on the student's code: name -> result entry."""
    if not (folder / "minirnn").is_dir():
        raise GradeError(f"{str(folder)!r} has no minirnn/ folder")
    with tempfile.TemporaryDirectory(prefix="minirnn-grade-") as tmp:
        work = Path(tmp).resolve()
        shutil.copytree(folder / "minirnn", work / "minirnn",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (work / "tests").mkdir()
        tests_file = work / "tests" / a.graded
        shutil.copyfile(assets / "graded" / a.graded, tests_file)
        result_json = work / "result.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(PYTHONPATH=str(work), PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONHASHSEED="0", OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"))
        runner = (HERE / "_runner.py").read_text(encoding="utf-8")
        command = [sys.executable, "-c", runner, str(tests_file), str(limit), str(result_json),
                   *a.tests]
        try:
            proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                                  timeout=limit * len(a.tests) + 60)
        except subprocess.TimeoutExpired:
            raise GradeError("the grading process ran past its total time limit") from None
        if not result_json.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise GradeError("the grading process died before writing results: "
                             + " | ".join(tail))
        raw = json.loads(result_json.read_text(encoding="utf-8"))
        imported = raw["minirnn"]
        if imported is not None and not Path(imported).resolve().is_relative_to(work):
            raise GradeError(f"the tests imported minirnn from {imported}, not the student's "
                             f"copy")
        return raw["tests"]


def grade(folder: Path | str, limit: float = TIME_LIMIT,
          assignment: catalog.Assignment | None = None, assets: Path = HERE) -> dict:
    """Points per question and the total for a student folder (a JSON-ready dict).

    The assignment comes from the folder's assignment.json unless given; `assets` is the
    folder whose graded/ holds the pristine tests (tests point it at samples of their own).
    """
    folder = Path(folder)
    a = assignment if assignment is not None else assignment_of(folder)
    tests = run_tests(folder, a, limit, assets)
    questions = []
    for q in a.questions:
        earned = sum(points for name, points in q.tests if tests[name]["status"] == "passed")
        questions.append({"title": q.title, "points": q.points, "earned": earned,
                          "tests": {name: tests[name] for name, _ in q.tests}})
    return {"assignment": a.name, "title": a.title, "questions": questions,
            "earned": sum(q["earned"] for q in questions), "points": a.points,
            "seconds": round(sum(t["seconds"] for t in tests.values()), 3)}


def report(result: dict) -> str:
    """The grade as a table: one line per question, failing tests under it, then the total."""
    lines = [result["title"]]
    width = max(len(q["title"]) for q in result["questions"])
    for q in result["questions"]:
        lines.append(f"  {q['title']:<{width}}  {q['earned']:>3} / {q['points']}")
        for name, t in q["tests"].items():
            if t["status"] != "passed":
                why = f"{t['error']}: {t['message']}" if t["error"] else t["status"]
                lines.append(f"      {name}: {t['status']} ({why})"[:160])
    lines.append(f"  {'total':<{width}}  {result['earned']:>3} / {result['points']}"
                 f"   ({result['seconds']:.1f} s of tests)")
    return "\n".join(lines)
