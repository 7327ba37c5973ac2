"""The assignment machinery (minirnn.assignments) on a small sample package the tests write.

The course's own assignments (A1, A2) are checked in test_assignments_catalog.py; here every
piece is exercised on sources small enough to read in the test: cutting solution regions,
marker errors, the leak check, reproducible zips, and the grader (points, time limit, pristine
tests, import errors told apart from unimplemented functions). Attacks on the grader:
test_grader_attacks.py.
"""

import json
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from minirnn.assignments import build, grade
from minirnn.assignments.build import MarkerError, cut_solutions, solution_regions
from minirnn.assignments.catalog import Assignment, Question
from minirnn.cli import main

OPS = '''\
"""Toy operations."""


def double(x):
    """Twice x."""
    if x is None:
        raise TypeError("x: expected a number, got None")
    # BEGIN SOLUTION
    twice = x + x
    return twice
    # END SOLUTION


def square(x):
    # BEGIN SOLUTION
    result = x * x
    return result
    # END SOLUTION


def halve(x):
    return x / 2
'''

GRADED = '''\
from minirnn.toy import double, halve, square


def test_double():
    assert double(3) == 6


def test_square():
    assert square(4) == 16
    assert halve(square(2)) == 2
'''

LIMITS = '''\
from minirnn.toy import square


def test_square_only():
    assert square(3) == 9


def test_forever():
    square(2)
    while True:
        pass
'''


@pytest.fixture()
def sample(tmp_path):
    """(assignment, package root, assets folder) of a toy assignment."""
    root = tmp_path / "src" / "minirnn"
    (root / "toy").mkdir(parents=True)
    (root / "__init__.py").write_text('"""toy minirnn"""\n')
    (root / "toy" / "__init__.py").write_text("from minirnn.toy.ops import double, halve, "
                                              "square\n")
    (root / "toy" / "ops.py").write_text(OPS)
    assets = tmp_path / "assets"
    (assets / "graded").mkdir(parents=True)
    (assets / "notebooks").mkdir()
    (assets / "graded" / "test_t1.py").write_text(GRADED)
    (assets / "graded" / "test_limits.py").write_text(LIMITS)
    nb = new_notebook(cells=[
        new_markdown_cell("# T1"),
        new_code_cell("### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION\nprint(answer)"),
    ])
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"
    nbformat.write(nb, assets / "notebooks" / "t1.ipynb")
    grade.write_manifest(assets)
    a = Assignment(name="t1", title="T1: toy", packages=("toy",), modules=("toy/ops.py",),
                   chapters={"double": 3, "square": 4}, notebook="t1.ipynb",
                   graded="test_t1.py",
                   questions=(Question("double", (("test_double", 4),)),
                              Question("square", (("test_square", 6),))),
                   hours="1 minute")
    return a, root, assets


def test_cut_replaces_each_region_with_a_stub():
    student = cut_solutions(OPS, {"double": 3, "square": 4})
    assert '    raise NotImplementedError("double: see chapter 3")' in student
    assert '    raise NotImplementedError("square: see chapter 4")' in student
    assert "twice" not in student and "result" not in student and "SOLUTION" not in student
    assert 'raise TypeError("x: expected a number, got None")' in student  # checks stay
    assert "return x / 2" in student
    namespace: dict = {}
    exec(student, namespace)
    with pytest.raises(NotImplementedError, match="double: see chapter 3"):
        namespace["double"](1)
    assert namespace["halve"](3) == 1.5


def test_solution_keeps_code_and_drops_markers():
    reference = cut_solutions(OPS, {}, solution=True)
    assert "SOLUTION" not in reference
    assert reference == OPS.replace("    # BEGIN SOLUTION\n", "").replace(
        "    # END SOLUTION\n", "")
    assert solution_regions(OPS) == [("double", ["    twice = x + x", "    return twice"]),
                                     ("square", ["    result = x * x", "    return result"])]


@pytest.mark.parametrize("text, message", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "inside"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "outside a function"),
])
def test_bad_markers_are_errors(text, message):
    with pytest.raises(MarkerError, match=message):
        cut_solutions(text, {"f": 1})


def test_a_region_without_a_chapter_is_an_error():
    with pytest.raises(MarkerError, match="no chapter is given for 'square'"):
        cut_solutions(OPS, {"double": 3})


def test_an_unmarked_function_stops_the_build(sample, tmp_path):
    a, root, assets = sample
    ops = root / "toy" / "ops.py"
    ops.write_text(OPS.replace("    # BEGIN SOLUTION\n    result", "    result").replace(
        "return result\n    # END SOLUTION", "return result"))
    with pytest.raises(MarkerError, match="t1: no solution region marked in square"):
        build.build(a, tmp_path / "out", root=root, assets=assets)


def test_bundle_holds_no_solution_line_and_the_check_can_fail(sample):
    a, root, assets = sample
    solutions = build.solution_lines(a, root, assets)
    assert solutions == {"twice = x + x", "return twice", "result = x * x", "return result",
                         "answer = 6 * 7"}
    student = build.student_files(a, root=root, assets=assets)
    assert build.leaked_lines(student, solutions) == []
    assert sorted(student) == ["README.md", "assignment.json", "minirnn/__init__.py",
                               "minirnn/toy/__init__.py", "minirnn/toy/ops.py",
                               "t1.ipynb", "tests/test_t1.py"]
    notebook = nbformat.reads(student["t1.ipynb"].decode(), as_version=4)
    assert "# YOUR CODE HERE" in notebook.cells[1].source  # nbgrader's ClearSolutions
    assert "raise NotImplementedError()" in notebook.cells[1].source
    reference = build.student_files(a, solution=True, root=root, assets=assets)
    leaks = build.leaked_lines(reference, solutions)
    assert ("t1.ipynb", "answer = 6 * 7") in leaks
    assert ("minirnn/toy/ops.py", "twice = x + x") in leaks


def test_two_builds_give_byte_identical_zips(sample, tmp_path):
    a, root, assets = sample
    _, first = build.build(a, tmp_path / "one", root=root, assets=assets)
    (root / "toy" / "ops.py").touch()  # a newer mtime must not reach the zip
    folder, second = build.build(a, tmp_path / "two", root=root, assets=assets)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(second) as zf:
        names = zf.namelist()
        assert names == sorted(names) and all(n.startswith("t1/") for n in names)
        assert {info.date_time for info in zf.infolist()} == {build.ZIP_TIME}
        assert zf.read("t1/minirnn/toy/ops.py") == (folder / "minirnn/toy/ops.py").read_bytes()
    readme = (folder / "README.md").read_text()
    assert "`double` (chapter 3)" in readme and "| **Total** | **10** |" in readme
    assert json.loads((folder / "assignment.json").read_text()) == {"name": "t1", "points": 10}


def test_grade_gives_zero_on_the_template_and_full_points_on_the_solution(sample, tmp_path):
    a, root, assets = sample
    template, _ = build.build(a, tmp_path, root=root, assets=assets)
    result = grade.grade(template, assignment=a, assets=assets, root=root)
    assert result["earned"] == 0 and result["points"] == 10
    errors = [t["error"] for q in result["questions"] for t in q["tests"].values()]
    assert errors == ["NotImplementedError", "NotImplementedError"]
    solution, _ = build.build(a, tmp_path, solution=True, root=root, assets=assets)
    result = grade.grade(solution, assignment=a, assets=assets, root=root)
    assert result["earned"] == 10
    assert [q["earned"] for q in result["questions"]] == [4, 6]
    assert "square" in grade.report(result) and "10 / 10" in grade.report(result)


def test_partial_work_gets_its_question_points(sample, tmp_path):
    a, root, assets = sample
    folder, _ = build.build(a, tmp_path, root=root, assets=assets)
    ops = folder / "minirnn" / "toy" / "ops.py"
    ops.write_text(ops.read_text().replace(
        'raise NotImplementedError("double: see chapter 3")', "return 2 * x"))
    (folder / "tests" / "test_t1.py").write_text("def test_double():\n    pass\n"
                                                 "def test_square():\n    pass\n")
    # the pristine tests, not these
    result = grade.grade(folder, assignment=a, assets=assets, root=root)
    assert [q["earned"] for q in result["questions"]] == [4, 0]


def test_an_import_error_is_not_taken_for_an_unimplemented_function(sample, tmp_path):
    a, root, assets = sample
    folder, _ = build.build(a, tmp_path, root=root, assets=assets)
    (folder / "minirnn" / "toy" / "ops.py").write_text("def double(x) return\n")
    result = grade.grade(folder, assignment=a, assets=assets, root=root)
    errors = {t["error"] for q in result["questions"] for t in q["tests"].values()}
    assert errors == {"SyntaxError"} and result["earned"] == 0


def test_grading_has_a_time_limit(sample, tmp_path):
    a, root, assets = sample
    limits = Assignment(**{**a.__dict__, "graded": "test_limits.py",
                           "questions": (Question("square", (("test_square_only", 1),)),
                                         Question("forever", (("test_forever", 1),)))})
    folder, _ = build.build(limits, tmp_path, solution=True, root=root, assets=assets)
    tests, _ = grade.run_tests(folder, limits, grade.Limits(time=1.0, startup=2.0),
                               assets=assets, root=root)
    assert tests["test_square_only"]["status"] == "passed"  # the other test's hang costs nothing
    assert tests["test_forever"]["status"] == "timeout"
    assert tests["test_forever"]["limit"] in ("CPU time", "wall time")


def test_grade_refuses_a_folder_that_is_not_an_assignment(tmp_path, capsys):
    assert main(["assignments", "grade", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["assignments", "grade", str(tmp_path)]) == 2
    assert "no assignment.json" in capsys.readouterr().err
    (tmp_path / "assignment.json").write_text('{"name": "a9"}')
    assert main(["assignments", "grade", str(tmp_path)]) == 2
    assert "unknown assignment 'a9'" in capsys.readouterr().err


def test_build_refuses_an_unknown_name(tmp_path, capsys):
    assert main(["assignments", "build", "--out", str(tmp_path), "nope"]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err
    assert not list(Path(tmp_path).iterdir())


def test_stub_text_names_function_and_chapter():
    text = textwrap.dedent('''\
        class Layer:
            def forward(self, x):
                if x:
                    # BEGIN SOLUTION
                    return x
                    # END SOLUTION
                return 0
        ''')
    student = cut_solutions(text, {"Layer.forward": 9})
    assert '            raise NotImplementedError("Layer.forward: see chapter 9")\n' in student
    assert solution_regions(text)[0][0] == "Layer.forward"
    assert "        return 0\n" in student


# -- planted bugs (A8): a bug region replaces the stub in the template ----------------------------
BUGGY = '''\
def total(xs):
    out = 0
    # BEGIN SOLUTION
    for x in xs:
        out += x
    # END SOLUTION
    # BEGIN BUG
    # for x in xs[1:]:
    #     out += x
    # END BUG
    return out


def step(log):
    # BEGIN SOLUTION
    log.append("clip")
    log.append("step")
    # END SOLUTION
    # BEGIN BUG
    # log.append("step")
    # log.append("clip")
    # END BUG
    return log


def keep(xs):
    # BEGIN SOLUTION
    xs = list(xs)
    # END SOLUTION
    # BEGIN BUG
    # END BUG
    return xs
'''


def test_a_bug_region_replaces_the_stub_in_the_template_only():
    chapters = {"total": 1, "step": 2, "keep": 3}
    template = cut_solutions(BUGGY, chapters)
    assert "NotImplementedError" not in template and "BUG" not in template
    assert "    for x in xs[1:]:\n        out += x\n" in template  # uncommented, indent kept
    assert "    for x in xs:\n" not in template and "    xs = list(xs)" not in template
    namespace: dict = {}
    exec(template, namespace)
    assert namespace["total"]([1, 2, 3]) == 5 and namespace["step"]([]) == ["step", "clip"]
    reference = cut_solutions(BUGGY, {}, solution=True)
    assert "xs[1:]" not in reference and "BUG" not in reference and "SOLUTION" not in reference
    exec(reference, namespace)
    assert namespace["total"]([1, 2, 3]) == 6 and namespace["step"]([]) == ["clip", "step"]
    # the source itself runs the fix: the bug lines are comments there
    exec(BUGGY, namespace)
    assert namespace["total"]([1, 2, 3]) == 6
    assert build.bug_regions(BUGGY) == [("total", ["    for x in xs[1:]:", "        out += x"]),
                                        ("step", ['    log.append("step")',
                                                  '    log.append("clip")']),
                                        ("keep", [])]


@pytest.mark.parametrize("text, message", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    # BEGIN BUG\n"
     "    return 2\n    # END BUG\n", "must be commented out"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    # BEGIN BUG\n"
     "    # return 2\n", "never closed"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    x = 1\n"
     "    # BEGIN BUG\n    # return 2\n    # END BUG\n", "must directly follow"),
])
def test_bad_bug_markers_are_errors(text, message):
    with pytest.raises(MarkerError, match=message):
        cut_solutions(text, {"f": 1})


def test_a_reordering_bug_is_caught_by_its_syntax_tree(sample):
    """The leak check cannot see a fix that only reorders the bug's lines (each line is shown);
    comparing the function's syntax tree with the reference's can."""
    a, root, assets = sample
    (root / "toy" / "ops.py").write_text(OPS + "\n\n" + BUGGY)
    a = Assignment(**{**a.__dict__, "chapters": {**a.chapters, "total": 1, "step": 2,
                                                  "keep": 3}})
    solutions = build.solution_lines(a, root, assets)
    assert 'log.append("clip")' not in solutions and "for x in xs:" in solutions
    student = build.student_files(a, root=root, assets=assets)
    assert build.leaked_lines(student, solutions) == []
    assert build.planted_functions(a, root) == {"minirnn/toy/ops.py": ["keep", "step", "total"]}
    assert build.fixed_functions(student, a, root) == []
    fixed = dict(student)
    fixed["minirnn/toy/ops.py"] = student["minirnn/toy/ops.py"].replace(
        b'    log.append("step")\n    log.append("clip")\n',
        b'    log.append("clip")  # moved\n    log.append("step")\n')
    assert build.leaked_lines(fixed, solutions) == []  # no line of its own to find...
    assert build.fixed_functions(fixed, a, root) == ["minirnn/toy/ops.py:step"]  # ...its tree
