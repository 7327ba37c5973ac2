"""The Gradescope autograder bundle (issue 15, item 5): results.json in Gradescope's schema, a
byte-identical zip, and its run_autograder run end to end in a fake /autograder layout on A1's
solution (full points), its template (0, submitted as a zip) and a submission that is not an
assignment (0, with the reason). No network: setup.sh is checked, not run."""

import getpass
import json
import os
import subprocess
import sys
import zipfile

import pytest

from minirnn.assignments import build, catalog, gradescope
from minirnn.cli import main

A1 = catalog.get("a1_rnn")


def fake_result(a, failing=None):
    """A grade.grade-shaped dict: every test passed except `failing` (name -> entry)."""
    failing = failing or {}
    questions = []
    for q in a.questions:
        tests = {name: failing.get(name, {"status": "passed", "error": None, "message": "",
                                          "seconds": 0.1}) for name, _ in q.tests}
        earned = sum(p for name, p in q.tests if tests[name]["status"] == "passed")
        questions.append({"title": q.title, "points": q.points, "earned": earned,
                          "tests": tests})
    return {"assignment": a.name, "title": a.title, "seed": 7, "sandbox": "none",
            "refused": {}, "questions": questions, "points": a.points, "seconds": 1.25,
            "earned": sum(q["earned"] for q in questions)}


def check_schema(out, a):
    assert set(out) >= {"score", "output", "stdout_visibility", "tests"}
    assert out["stdout_visibility"] in gradescope.VISIBILITIES
    assert [t["name"] for t in out["tests"]] == [q.title for q in a.questions]
    for t in out["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "status", "visibility"}
        assert t["status"] in ("passed", "failed")
        assert t["visibility"] in gradescope.VISIBILITIES
        assert isinstance(t["output"], str) and 0 <= t["score"] <= t["max_score"]
    assert out["score"] == sum(t["score"] for t in out["tests"])  # the points sum
    assert sum(t["max_score"] for t in out["tests"]) == a.points
    json.dumps(out)  # plain JSON


@pytest.mark.parametrize("name", list(catalog.ASSIGNMENTS))
def test_full_marks_convert_to_full_points(name):
    a = catalog.get(name)
    out = gradescope.results_json(fake_result(a), a)
    check_schema(out, a)
    assert out["score"] == a.points and {t["status"] for t in out["tests"]} == {"passed"}
    assert out["extra_data"]["seed"] == 7 and out["execution_time"] == 1


def test_a_failing_test_carries_its_reason():
    out = gradescope.results_json(fake_result(A1, {
        "test_rnn_forward": {"status": "failed", "error": "AssertionError",
                             "message": "hs differ from the reference by 0.3", "seconds": 0.2},
        "test_word_embedding_backward": {"status": "timeout", "limit": "CPU time",
                                         "error": "Timeout", "message": "", "seconds": 20.0},
    }), A1, visibility="after_due_date")
    check_schema(out, A1)
    tests = {t["name"]: t for t in out["tests"]}
    forward = tests["rnn_forward"]
    assert (forward["score"], forward["max_score"], forward["status"]) == (0, 10, "failed")
    assert "AssertionError" in forward["output"] and "by 0.3" in forward["output"]
    embedding = tests["word embedding forward and backward"]  # one of its two tests failed
    assert (embedding["score"], embedding["max_score"]) == (5, 10)
    assert "test_word_embedding_backward: timeout, CPU time limit" in embedding["output"]
    assert out["score"] == A1.points - 15
    assert {t["visibility"] for t in out["tests"]} == {"after_due_date"}


def test_no_result_scores_zero_with_the_reason():
    out = gradescope.results_json(None, A1, "the submission holds no minirnn/ folder")
    check_schema(out, A1)
    assert out["score"] == 0
    assert all("no minirnn/ folder" in t["output"] for t in out["tests"])
    with pytest.raises(ValueError, match="visibility"):
        gradescope.results_json(None, A1, visibility="sometimes")


def test_the_bundle_is_byte_identical_and_holds_what_gradescope_needs(tmp_path):
    assert main(["assignments", "gradescope", "a1_rnn", str(tmp_path)]) == 0
    first = (tmp_path / "a1_rnn_gradescope.zip").read_bytes()
    assert gradescope.bundle(A1) == first
    with zipfile.ZipFile(tmp_path / "a1_rnn_gradescope.zip") as zf:
        infos = {i.filename: i for i in zf.infolist()}
        requirements = zf.read("requirements.txt").decode()
        setup = zf.read("setup.sh").decode()
    for script in ("setup.sh", "run_autograder"):  # at the root, executable
        assert (infos[script].external_attr >> 16) & 0o111
    for needed in ("minirnn/assignments/grade.py", "minirnn/assignments/SHA256SUMS",
                   f"minirnn/assignments/graded/{A1.graded}", "minirnn/numpy/rnn.py",
                   "minirnn/__main__.py"):
        assert needed in infos, needed
    assert not any(n.startswith("minirnn/results/") or "__pycache__" in n for n in infos)
    pins = gradescope.pins()
    assert requirements == f"numpy=={pins['numpy']}\nthreadpoolctl=={pins['threadpoolctl']}\n"
    assert "requirements.txt" in setup and "bubblewrap" in setup
    a4 = gradescope.requirements(catalog.get("a4_charlm"))
    assert f"torch=={pins['torch']}\n" in a4 and "numpy==" in a4
    assert subprocess.run(["bash", "-n", "-c", setup]).returncode == 0


def run_autograder(tmp_path, bundle, submission_files, **env):
    """Lay out a fake /autograder (source unpacked from the bundle, the submission), run
    run_autograder there, return results.json."""
    root = tmp_path / "autograder"
    gradescope.extract(bundle, root / "source")
    script = root / "run_autograder"
    script.write_bytes((root / "source" / "run_autograder").read_bytes())
    script.chmod(0o755)
    for rel, data in submission_files.items():
        path = root / "submission" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "submission").mkdir(exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # a fixed secret: the grade's inputs, hence the grade, reproduce from run to run
    environment.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable,
                       MINIRNN_GRADE_SECRET="test_gradescope", **env)
    done = subprocess.run([str(script)], cwd=root, env=environment, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def bundle_zip(tmp_path_factory):
    return gradescope.write_bundle(A1, tmp_path_factory.mktemp("bundle"), time_limit=20)


def test_run_autograder_gives_the_solution_full_points(tmp_path, bundle_zip):
    out = run_autograder(tmp_path, bundle_zip, build.student_files(A1, solution=True))
    check_schema(out, A1)
    assert out["score"] == A1.points, [t["output"] for t in out["tests"]]
    assert out["extra_data"]["assignment"] == "a1_rnn" and "seed" in out["extra_data"]


def test_run_autograder_gives_the_zipped_template_zero(tmp_path, bundle_zip):
    """The student uploads the zip of the built folder; the grade runs as an unprivileged
    user when one is named (here the current user: the code path, not the protection)."""
    files = build.student_files(A1)
    out = run_autograder(tmp_path, bundle_zip, {"a1_rnn.zip": build.zip_bytes(files, "a1_rnn")},
                         AUTOGRADER_USER=getpass.getuser())
    check_schema(out, A1)
    assert out["score"] == 0
    assert all("NotImplementedError" in t["output"] for t in out["tests"])


def test_run_autograder_without_an_assignment_folder_scores_zero(tmp_path, bundle_zip):
    out = run_autograder(tmp_path, bundle_zip, {"notes.txt": b"I forgot the code"})
    check_schema(out, A1)
    assert out["score"] == 0
    assert all("no minirnn/ folder" in t["output"] for t in out["tests"])


def test_the_wrapper_needs_no_torch_for_a_numpy_assignment():
    """A1's bundle installs no torch: the wrapper must not import it."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from minirnn.assignments import catalog, gradescope\n"
            "a = catalog.get('a1_rnn')\n"
            "gradescope.bundle(a); gradescope.results_json(None, a, 'x')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_a8_s_bundle_installs_torch():
    """A8 ships no minirnn/torch, but its minirnn/debugging/loops.py imports torch."""
    a8 = catalog.get("a8_debugging")
    assert "torch" not in a8.packages and a8.uses_torch
    assert "torch==" in gradescope.requirements(a8) and "--index-url" in gradescope.setup_sh(a8)
