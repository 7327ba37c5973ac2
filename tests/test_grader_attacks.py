"""Hostile A1 submissions, each built here from the template or the solution, against the grader.

Each scores what the honest work in it earns (0 for the forgeries), and the grader is intact
afterwards. The grader's files are a copy per test (`grader`), so an attack that writes to them
cannot harm the repository. The network, files outside the folder and background processes are
out of reach only in the bubblewrap sandbox: where its probe fails, those attacks are expected
failures, with the reason.
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from minirnn.assignments import build, catalog, grade

A1 = catalog.A1
LIMITS = grade.Limits(time=2.0, startup=8.0, output=4 << 20)  # hangs here burn CPU
RNN, LAYERS = "minirnn/numpy/rnn.py", "minirnn/numpy/layers.py"
RAISE = "\n\ndef {0}(*args, **kwargs):\n    raise RuntimeError('{0}: not done')\n"


@pytest.fixture(scope="module")
def a1(tmp_path_factory):
    """(template folder, solution folder) of A1."""
    out = tmp_path_factory.mktemp("a1")
    template, _ = build.build(A1, out)
    solution, _ = build.build(A1, out, solution=True)
    return template, solution


@pytest.fixture()
def grader(tmp_path):
    """A copy of the grader's checked files (graded tests, child, verdicts) and SHA256SUMS."""
    folder = tmp_path / "grader"
    for name in grade.manifest_files(grade.HERE) + [grade.MANIFEST]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grade.HERE / name, folder / name)
    return folder


def hostile(base: Path, tmp_path: Path, name: str, append: dict | None = None,
            replace: dict | None = None) -> Path:
    """A copy of `base` with code appended to (or replacing) some of its files."""
    folder = tmp_path / name
    shutil.copytree(base, folder, symlinks=True)
    for rel, text in (replace or {}).items():
        (folder / rel).write_text(text)
    for rel, text in (append or {}).items():
        path = folder / rel
        path.write_text(path.read_text() + "\n" + text)
    return folder


def points(folder, grader_dir, assignment=A1, limits=LIMITS, **kwargs):
    result = grade.grade(folder, limits, assignment=assignment, grader_dir=grader_dir, **kwargs)
    return result["earned"], result


@pytest.fixture(scope="module")
def without_step_backward(a1, tmp_path_factory):
    """The points of the solution whose rnn_step_backward raises: what the honest work earns
    when that one function is lost."""
    folder = hostile(a1[1], tmp_path_factory.mktemp("honest"), "honest",
                     append={RNN: RAISE.format("rnn_step_backward")})
    earned, _ = points(folder, grade.HERE)
    assert earned == 70 - 10 - 15 - 5  # the step, BPTT (its loop) and the language model
    return earned


def test_the_grader_gives_0_and_full_points(a1, grader):
    assert points(a1[0], grader)[0] == 0
    earned, result = points(a1[1], grader)
    assert earned == 70 and result["judged_by"].startswith("the grader")


def test_grading_a1_again_and_again_never_hangs(a1, tmp_path):
    """A grader once spun forever: a child was forked while another thread of the grader was
    inside a threaded BLAS call. Five grades of the solution in a row, with four children at a
    time, in a process given a wall-clock limit far above what they take (about 15 s)."""
    import subprocess
    import sys

    script = ("import sys\n"
              "from minirnn.assignments import catalog, grade\n"
              "for _ in range(5):\n"
              "    r = grade.grade(sys.argv[1], grade.Limits(time=2.0, startup=8.0),\n"
              "                    assignment=catalog.A1, jobs=4, sandbox='none')\n"
              "    assert r['earned'] == 70, r['earned']\n"
              "print('graded 5 times')\n")
    done = subprocess.run([sys.executable, "-c", script, str(a1[1])], capture_output=True,
                          text=True, timeout=180, env={**os.environ, "OPENBLAS_NUM_THREADS": "4"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "graded 5 times" in done.stdout


def test_atexit_hook_rewriting_the_results_forges_nothing(a1, grader, tmp_path):
    forge = '''
import atexit, glob, json, os

import numpy as np


def _forge():
    box = os.path.dirname(os.getcwd())
    for path in glob.glob(os.path.join(box, "*.json")):
        if path.endswith("report.json"):
            with open(path, "w") as f:
                json.dump({"status": "passed", "error": None, "message": "", "modules": {},
                           "other_minirnn": None, "returned": {}}, f)
    for path in glob.glob(os.path.join(box, "*.npz")):
        np.savez(path, a0=np.zeros(3))
    os._exit(0)


atexit.register(_forge)
'''
    folder = hostile(a1[0], tmp_path, "atexit", append={RNN: forge,
                                                         "minirnn/__init__.py": forge})
    assert points(folder, grader)[0] == 0


def test_deleting_the_package_gets_no_reference_code(a1, grader, tmp_path):
    folder = hostile(a1[0], tmp_path, "deleted")
    shutil.rmtree(folder / "minirnn" / "numpy")
    earned, result = points(folder, grader)
    assert earned == 0 and result["refused"] == {RNN: "missing", LAYERS: "missing"}


def test_patched_numpy_and_zero_stubs_get_nothing(a1, grader, tmp_path):
    patch = '''
import numpy as np

np.max = lambda *a, **k: 0
np.array_equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True


def rnn_step_forward(x, prev_h, Wx, Wh, b, nonlinearity="tanh"):
    return np.zeros((x.shape[0], Wh.shape[0])), ()


def rnn_step_backward(dnext_h, cache):
    return tuple(np.zeros_like(a) for a in cache[:4]) + (np.zeros(cache[3].shape[0]),)


def rnn_forward(x, h0, Wx, Wh, b, lengths=None):
    return np.zeros(x.shape[:2] + (Wh.shape[0],), dtype=x.dtype), {}
'''
    folder = hostile(a1[0], tmp_path, "patched", append={RNN: patch})
    assert points(folder, grader)[0] == 0


def test_a_patched_gradient_check_earns_only_the_honest_forward_points(a1, grader, tmp_path):
    honest = {RNN: RAISE.format("rnn_step_backward") + RAISE.format("rnn_backward")}
    patch = '''
import numpy as np

import minirnn.numpy.gradcheck as _g


def _zero(f, x, *args, **kwargs):
    return np.zeros_like(x)


_g.eval_numerical_gradient = _g.eval_numerical_gradient_array = _zero


def rnn_step_backward(dnext_h, cache):
    x, h, Wx, Wh = cache[:4]
    return (np.zeros_like(x), np.zeros_like(h), np.zeros_like(Wx), np.zeros_like(Wh),
            np.zeros(Wh.shape[0]))
'''
    want, _ = points(hostile(a1[1], tmp_path, "honest", append=honest), grade.HERE)
    got, _ = points(hostile(a1[1], tmp_path, "gradcheck", append={RNN: honest[RNN] + patch}),
                    grader)
    assert got == want == 70 - 10 - 15 - 5


def test_the_grader_s_own_minirnn_cannot_be_found_or_run(a1, grader, tmp_path):
    steal = '''
import importlib.util, os, sys

for _finder in list(sys.meta_path):
    try:
        _spec = _finder.find_spec("minirnn", None)
    except Exception:
        continue
    if _spec is not None and _spec.origin and "/work/" not in _spec.origin:
        _path = os.path.join(os.path.dirname(_spec.origin), "numpy", "rnn.py")
        exec(open(_path).read(), globals())
        STOLEN = _path
'''
    folder = hostile(a1[0], tmp_path, "meta_path", append={RNN: steal})
    assert points(folder, grader)[0] == 0


def test_a_symbolic_link_to_the_grader_s_copy_is_refused(a1, grader, tmp_path):
    folder = hostile(a1[0], tmp_path, "symlink")
    (folder / RNN).unlink()
    (folder / RNN).symlink_to(build.PACKAGE_ROOT / "numpy" / "rnn.py")
    earned, result = points(folder, grader)
    assert earned == 0 and "symbolic link" in result["refused"][RNN]
    linked = hostile(a1[1], tmp_path, "linked_folder")  # a link higher up counts too
    shutil.rmtree(linked / "minirnn" / "numpy")
    (linked / "minirnn" / "numpy").symlink_to(build.PACKAGE_ROOT / "numpy")
    earned, result = points(linked, grader)
    assert earned == 0 and "symbolic link" in result["refused"][RNN]


@pytest.mark.parametrize("change", ["append", "delete"])
def test_a_changed_grader_refuses_to_grade(a1, grader, tmp_path, change):
    target = grader / "graded" / "test_a1_rnn.py"
    act = (f"open({str(target)!r}, 'a').write('\\ndef test_rnn_forward():\\n    pass\\n')"
           if change == "append" else f"os.remove({str(target)!r})")
    folder = hostile(a1[0], tmp_path, change, append={RNN: f"import os\n{act}\n"})
    assert points(folder, grader)[0] == 0  # the attack itself gains nothing
    if AVAILABLE:  # the sandbox kept the grader out of reach
        grade.verified_files(grader)
    else:  # it changed the grader, which now refuses to grade
        with pytest.raises(grade.GradeError, match="refusing to grade"):
            points(a1[0], grader)
    if change == "append":  # the same change made here: refused, whatever the sandbox
        target.write_text(target.read_text() + "\ndef test_rnn_forward():\n    pass\n")
    else:
        target.unlink(missing_ok=True)
    with pytest.raises(grade.GradeError, match="test_a1_rnn.py was changed|is missing"):
        points(a1[0], grader)
    grade.verified_files(grade.HERE)  # the real grader: untouched


def test_a_hang_at_import_costs_its_questions_and_the_report_is_written(a1, grader, tmp_path):
    two = catalog.Assignment(**{**A1.__dict__, "questions": A1.questions[:2]})
    loop = "while True:\n    try:\n        pass\n    except BaseException:\n        pass\n"
    folder = hostile(a1[1], tmp_path, "hang", append={RNN: loop})
    start = time.perf_counter()
    earned, result = points(folder, grader, assignment=two,
                            limits=grade.Limits(time=1.0, startup=1.0))
    assert earned == 0 and time.perf_counter() - start < 8
    tests = [t for q in result["questions"] for t in q["tests"].values()]
    assert [t["status"] for t in tests] == ["timeout", "timeout"]
    json.dumps(result)  # the report is JSON-ready


@pytest.mark.parametrize("attack, limit", [
    ("while True:\n        try:\n            pass\n        except BaseException:\n"
    "            pass", "CPU time"),
    ("import numpy as np\n    np.ones((10 << 30) // 8)", "memory"),
    ("import sys\n    for _ in range(1024):\n        sys.stdout.write('x' * (1 << 20))",
     "output size"),
    ("import os\n    os._exit(0)", None),
], ids=["endless loop", "10 GiB", "1 GiB of output", "os._exit"])
def test_one_bad_function_costs_only_its_questions(a1, grader, tmp_path, attack, limit,
                                                   without_step_backward):
    text = (a1[1] / RNN).read_text()
    marker = "def rnn_step_backward("
    head, tail = text.split(marker)
    body_start = tail.index('"""', tail.index('"""') + 3) + 3  # after the docstring
    tail = tail[:body_start] + "\n    " + attack + "\n" + tail[body_start:]
    folder = hostile(a1[1], tmp_path, "bad", replace={RNN: head + marker + tail})
    earned, result = points(folder, grader)
    assert earned == without_step_backward
    failed = result["questions"][1]["tests"]["test_rnn_step_backward"]
    assert failed["status"] != "passed"
    assert failed.get("limit") == limit


def test_a_syntax_error_elsewhere_costs_nothing_and_a_missing_function_its_questions(
        a1, grader, tmp_path):
    folder = hostile(a1[1], tmp_path, "syntax", append={"minirnn/numpy/gru.py": "def (:\n"})
    assert points(folder, grader)[0] == 70
    layers = (a1[1] / LAYERS).read_text()
    start = layers.index("def temporal_affine_backward(")
    end = layers.index("\ndef ", start + 10)
    folder = hostile(a1[1], tmp_path, "missing", replace={LAYERS: layers[:start] + layers[end:]})
    earned, result = points(folder, grader)
    assert earned == 70 - 5 - 5  # temporal affine and the language model that uses it
    assert "temporal_affine_backward is missing" in json.dumps(result)


def test_the_assignment_is_never_taken_from_the_folder(a1, grader, tmp_path):
    folder = hostile(a1[1], tmp_path, "claims_a2")
    (folder / "assignment.json").write_text(json.dumps({"name": "a2_gated"}))
    with pytest.raises(grade.GradeError, match="no a2_gated.ipynb"):
        grade.grade(folder, LIMITS, grader_dir=grader)
    result = grade.grade(folder, LIMITS, assignment="a1_rnn", grader_dir=grader)
    assert result["earned"] == 70 and "says 'a2_gated'" in result["named_by"]


def test_the_child_cannot_import_the_grader_s_minirnn_or_torch(tmp_path):
    """Before the student's copy is on its path, the child finds no minirnn at all (the
    editable install's finder is not loaded), and torch does not import for a NumPy
    assignment."""
    box = tmp_path / "box"
    (box / "work").mkdir(parents=True)
    probe = tmp_path / "test_probe.py"
    probe.write_text("import importlib.util\n\ndef test_probe():\n"
                     "    assert importlib.util.find_spec('minirnn') is None\n"
                     "    import torch  # noqa\n")
    spec = {"path": [*grade._stdlib_path(), str(grade._site_links(box, numpy_only=True))],
            "work": str(box / "work"), "block": ["torch"], "mode": "pytest",
            "tests_file": str(probe), "test": "test_probe"}
    source = (grade.HERE / "_child.py").read_text()
    report = grade.run_child(box, spec, LIMITS, source)
    assert report["other_minirnn"] is None
    assert report["error"] == "ImportError" and "torch" in report["message"]
    assert os.path.isdir(build.PACKAGE_ROOT)  # the parent does have one


def test_the_seed_comes_from_the_secret_and_the_submission(a1, grader, tmp_path,
                                                           monkeypatch):
    one = catalog.Assignment(**{**A1.__dict__, "questions": A1.questions[:1]})
    monkeypatch.setenv("MINIRNN_GRADE_SECRET", "one")
    first = points(a1[1], grader, one)[1]
    assert points(a1[1], grader, one)[1]["seed"] == first["seed"]
    changed = hostile(a1[1], tmp_path, "changed", append={RNN: "# another submission"})
    assert points(changed, grader, one)[1]["seed"] != first["seed"]
    monkeypatch.setenv("MINIRNN_GRADE_SECRET", "two")
    assert points(a1[1], grader, one)[1]["seed"] != first["seed"]


def test_the_manifest_is_current():
    """After a deliberate change of the graded tests, _child.py or verdicts.py, run
    ``python -c "from minirnn.assignments import grade; grade.write_manifest()"``."""
    grade.verified_files(grade.HERE)


# -- attacks only a sandbox stops ---------------------------------------------------------------
AVAILABLE, WHY = grade.bwrap_available()
SANDBOX = "bwrap" if AVAILABLE else "none"
needs_sandbox = pytest.mark.xfail(not AVAILABLE, strict=True,
                                  reason=f"no bubblewrap sandbox here, so nothing stops this "
                                         f"attack: {WHY}")


@needs_sandbox
def test_the_network_is_out_of_reach(a1, grader, tmp_path):
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port, reached = listener.getsockname()[1], []

    def accept():
        try:
            while True:
                reached.append(listener.accept()[0])
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    attack = f'''
import _socket, importlib, socket, subprocess
for _connect in (lambda: _socket.socket().connect(("127.0.0.1", {port})),
                 lambda: importlib.reload(socket).create_connection(("127.0.0.1", {port}), 1),
                 lambda: subprocess.run(["curl", "-s", "http://127.0.0.1:{port}/"], timeout=2)):
    try:
        _connect()
    except Exception:
        pass
'''
    try:
        folder = hostile(a1[0], tmp_path, "network", append={RNN: attack})
        earned, _ = points(folder, grader, assignment=catalog.Assignment(
            **{**A1.__dict__, "questions": A1.questions[:1]}), sandbox=SANDBOX)
    finally:
        thread.join()
        listener.close()
    assert earned == 0 and reached == []


@needs_sandbox
def test_files_outside_the_folder_and_the_environment_are_out_of_reach(a1, grader, tmp_path,
                                                                        monkeypatch):
    other = tmp_path / "other_student.json"
    other.write_text('{"earned": 70}')
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret-answer-key")
    monkeypatch.setenv("MINIRNN_TEST_TOKEN", "t0ken-value")
    attack = f'''
import os
open({str(other)!r}, "w").write('{{"earned": 0}}')
raise RuntimeError(open({str(secret)!r}).read() + os.environ.get("MINIRNN_TEST_TOKEN", ""))
'''
    folder = hostile(a1[1], tmp_path, "outside", append={RNN: attack})
    earned, result = points(folder, grader, assignment=catalog.Assignment(
        **{**A1.__dict__, "questions": A1.questions[:1]}), sandbox=SANDBOX)
    text = json.dumps(result)
    assert earned == 0 and "t0ken" not in text
    assert other.read_text() == '{"earned": 70}' and "s3cret" not in text


@needs_sandbox
def test_no_process_outlives_the_grade(a1, grader, tmp_path):
    tag = f"minirnn-attack-{os.getpid()}-{time.time_ns()}"
    attack = f'''
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", {tag!r}],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''
    folder = hostile(a1[0], tmp_path, "background", append={RNN: attack})
    points(folder, grader, assignment=catalog.Assignment(
        **{**A1.__dict__, "questions": A1.questions[:1]}), sandbox=SANDBOX)
    time.sleep(0.3)
    survivors = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and tag.encode() in (proc / "cmdline").read_bytes():
                survivors.append(int(proc.name))
        except OSError:
            continue
    for pid in survivors:  # the processes this test started, by id
        os.kill(pid, 9)
    assert survivors == []


# -- a class at a time --------------------------------------------------------------------------
def test_a_class_of_30_gives_a_correct_gradebook(a1, tmp_path):
    """Honest, partial, forged, zipped and refused submissions; A1's first two questions (the
    whole of A1 takes about nine times as long)."""
    import csv
    import zipfile

    two = catalog.Assignment(**{**A1.__dict__, "questions": A1.questions[:2]})
    subs = tmp_path / "submissions"
    subs.mkdir()
    want = {}
    for k in range(30):
        kind = ("honest", "template", "partial", "forged", "zip")[k % 5]
        name = f"s{k:02d}_{kind}"
        if kind == "honest":
            shutil.copytree(a1[1], subs / name / "a1_rnn")  # nested one level, as unzipped
            want[name] = 15
        elif kind == "template":
            shutil.copytree(a1[0], subs / name)
            want[name] = 0
        elif kind == "partial":  # rnn.py done, layers.py not
            folder = hostile(a1[0], tmp_path, name)
            shutil.copyfile(a1[1] / RNN, folder / RNN)
            shutil.move(folder, subs / name)
            want[name] = 15
        elif kind == "forged":
            folder = hostile(a1[0], tmp_path, name, append={
                RNN: "import numpy as np\nnp.array_equal = lambda *a, **k: True\n"})
            shutil.move(folder, subs / name)
            want[name] = 0
        else:  # a zip of the solution; every other one also holds a link, and is refused
            with zipfile.ZipFile(subs / f"{name}.zip", "w") as zf:
                for path in sorted(a1[1].rglob("*")):
                    if path.is_file():
                        zf.write(path, f"a1_rnn/{path.relative_to(a1[1])}")
                if k % 10 == 4:
                    link = zipfile.ZipInfo("a1_rnn/minirnn/numpy/evil.py")
                    link.external_attr = 0o120777 << 16
                    zf.writestr(link, "/etc/passwd")
            want[name] = 0 if k % 10 == 4 else 15
    start = time.perf_counter()
    summary = grade.grade_class(subs, tmp_path / "out", two, LIMITS, jobs=2)
    seconds = time.perf_counter() - start
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["student"]: int(r["total"]) for r in rows} == want
    assert len(rows) == 30 and list(rows[0])[1] == A1.questions[0].title
    assert summary["not_graded"] == ["s04_zip", "s14_zip", "s24_zip"]
    assert summary["mean_total"] == round(sum(want.values()) / 30, 2)
    assert json.loads((tmp_path / "out" / "s00_honest.json").read_text())["earned"] == 15
    print(f"30 submissions graded in {seconds:.1f} s")


# -- three attacks on each other assignment -------------------------------------------------------
FORGE_AT_EXIT = '''
import atexit, glob, json, os


def _forge():
    for path in glob.glob(os.path.join(os.path.dirname(os.getcwd()), "report.json")):
        with open(path, "w") as f:
            json.dump({"status": "passed", "error": None, "message": "", "modules": {},
                       "other_minirnn": None, "returned": {}}, f)
    os._exit(0)


atexit.register(_forge)
'''


def first_question(name, k=0):
    a = catalog.get(name)
    return catalog.Assignment(**{**a.__dict__, "questions": a.questions[k:k + 1]})


@pytest.fixture(scope="module")
def others(tmp_path_factory):
    """name -> (template, solution) of A2, A3 and A4."""
    out = tmp_path_factory.mktemp("others")
    return {name: (build.build(catalog.get(name), out)[0],
                   build.build(catalog.get(name), out, solution=True)[0])
            for name in ("a2_gated", "a3_captioning", "a4_charlm")}


def test_a2_forged_results_deleted_package_and_a_patched_gradient_check(others, grader,
                                                                        tmp_path):
    template, solution = others["a2_gated"]
    lstm = "minirnn/numpy/lstm.py"
    assert points(hostile(template, tmp_path, "forged", append={lstm: FORGE_AT_EXIT}), grader,
                  catalog.A2)[0] == 0
    deleted = hostile(solution, tmp_path, "deleted")
    shutil.rmtree(deleted / "minirnn" / "numpy")
    assert points(deleted, grader, catalog.A2)[0] == 0
    patch = ("import minirnn.numpy.gradcheck as _g\nimport numpy as np\n"
             "_g.eval_numerical_gradient_array = lambda f, x, *a, **k: np.zeros_like(x)\n"
             + RAISE.format("lstm_step_backward"))
    earned, _ = points(hostile(solution, tmp_path, "gradcheck", append={lstm: patch}), grader,
                       catalog.A2)
    assert earned == 80 - 15 - 10  # lstm_step_backward and lstm_backward (its loop) only


@pytest.mark.parametrize("name, k, module, unused", [
    ("a3_captioning", 0, "minirnn/torch/models/captioning.py", "minirnn/torch/decode.py"),
    ("a4_charlm", 1, "minirnn/torch/decode.py", "minirnn/torch/models/captioning.py"),
])
def test_torch_assignments_refuse_links_deleted_files_forgeries_and_ignore_other_files(
        others, grader, tmp_path, name, k, module, unused):
    template, solution = others[name]
    one = first_question(name, k)
    full = one.points
    slow = grade.Limits(time=10.0, startup=30.0)  # each process imports torch
    broken = hostile(solution, tmp_path, "syntax", append={unused: "def (:\n"})
    earned, result = points(broken, grader, one, limits=slow)
    assert earned == full, result["questions"]  # a file the assignment does not use
    linked = hostile(template, tmp_path, "linked")
    (linked / module).unlink()
    (linked / module).symlink_to(build.PACKAGE_ROOT / module.removeprefix("minirnn/"))
    earned, result = points(linked, grader, one, limits=slow)
    assert earned == 0 and "symbolic link" in result["refused"][module]
    deleted = hostile(solution, tmp_path, "deleted")
    (deleted / module).unlink()
    earned, result = points(deleted, grader, one, limits=slow)
    assert earned == 0 and result["refused"][module] == "missing"
    forged = hostile(template, tmp_path, "forged", append={module: FORGE_AT_EXIT})
    earned, result = points(forged, grader, one, limits=slow)
    assert earned == 0, result["questions"]  # the report rewritten as the child exits


def test_a_backward_pass_by_finite_differences_runs_out_of_time(a1, grader, tmp_path):
    """Gradients by finite differences of the student's own forward pass pass a small check,
    but the grader also asks for a large case, checked along one direction."""
    cheat = '''

def rnn_step_backward(dnext_h, cache):
    x, h, Wx, Wh, next_h = cache[:5]
    b = (np.arctanh(next_h) - x @ Wx - h @ Wh).mean(axis=0)
    inputs = [x.copy(), h.copy(), Wx.copy(), Wh.copy(), b.copy()]
    grads = []
    for a in inputs:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + 1e-5
            plus = np.sum(rnn_step_forward(*inputs)[0] * dnext_h)
            a[i] = old - 1e-5
            minus = np.sum(rnn_step_forward(*inputs)[0] * dnext_h)
            a[i] = old
            g[i] = (plus - minus) / 2e-5
        grads.append(g)
    return tuple(grads)
'''
    two = catalog.Assignment(**{**A1.__dict__, "questions": A1.questions[:2]})
    folder = hostile(a1[1], tmp_path, "finite_differences", append={RNN: cheat})
    earned, result = points(folder, grader, two, limits=grade.Limits(time=2.0, startup=8.0))
    assert earned == 5  # rnn_step_forward only
    assert result["questions"][1]["tests"]["test_rnn_step_backward"]["status"] == "timeout"


# -- A6: a NumPy part and a PyTorch part ----------------------------------------------------------
A6 = catalog.get("a6_bidirectional")
BIDIRECTIONAL, CELLS = "minirnn/numpy/bidirectional.py", "minirnn/torch/cells.py"
SLOW = grade.Limits(time=10.0, startup=30.0)  # the GRU questions import torch


@pytest.fixture(scope="module")
def a6(tmp_path_factory):
    """(template folder, solution folder) of A6."""
    out = tmp_path_factory.mktemp("a6")
    return build.build(A6, out)[0], build.build(A6, out, solution=True)[0]


def only(*tests):
    """A6 with only the questions holding these graded tests."""
    return catalog.Assignment(**{**A6.__dict__, "questions": tuple(
        q for q in A6.questions if any(name in tests for name, _ in q.tests))})


def test_a6_forged_results_score_nothing_on_either_part(a6, grader, tmp_path):
    one = only("test_reverse_index", "test_gru_module_matches_torch")
    forged = hostile(a6[0], tmp_path, "forged", append={BIDIRECTIONAL: FORGE_AT_EXIT,
                                                         CELLS: FORGE_AT_EXIT})
    earned, result = points(forged, grader, one, limits=SLOW)
    assert earned == 0, result["questions"]
    assert points(a6[1], grader, one, limits=SLOW)[0] == one.points  # the check can pass


def test_a6_a_deleted_file_or_a_symbolic_link_earns_nothing(a6, grader, tmp_path):
    one = only("test_bidirectional_forward", "test_gru_module_packed")
    deleted = hostile(a6[1], tmp_path, "deleted")
    (deleted / "minirnn/torch/packing.py").unlink()
    earned, result = points(deleted, grader, one, limits=SLOW)
    assert earned == 15 and result["refused"] == {"minirnn/torch/packing.py": "missing"}
    linked = hostile(a6[0], tmp_path, "linked")
    (linked / BIDIRECTIONAL).unlink()
    (linked / BIDIRECTIONAL).symlink_to(build.PACKAGE_ROOT / "numpy" / "bidirectional.py")
    earned, result = points(linked, grader, one, limits=SLOW)
    assert earned == 0 and "symbolic link" in result["refused"][BIDIRECTIONAL]


def test_a6_numpy_questions_cannot_use_torch_and_the_module_cannot_use_torch_s_gru(
        a6, grader, tmp_path):
    """A backward pass by torch's autograd fails the NumPy question (torch does not import
    there); a gru_step through torch's own GRU cell fails the module's question (refused
    there, and it gives no gates)."""
    autograd = ("\n_reference_backward = bidirectional_backward\n\n\n"
                "def bidirectional_backward(dh, cache):\n"
                "    import torch  # noqa: F401 - e.g. to differentiate the forward pass\n"
                "    return _reference_backward(dh, cache)\n")
    kernel = ("\n_reference_step = gru_step\n\n\n"
              "def gru_step(x, h, w_ih, w_hh, b_ih, b_hh, return_gates=False):\n"
              "    h_next = torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)\n"
              "    if return_gates:\n"
              "        return _reference_step(x, h, w_ih, w_hh, b_ih, b_hh, True)\n"
              "    return h_next\n")
    one = only("test_bidirectional_backward", "test_gru_module_matches_torch")
    cheat = hostile(a6[1], tmp_path, "cheat", append={BIDIRECTIONAL: autograd, CELLS: kernel})
    earned, result = points(cheat, grader, one, limits=SLOW)
    tests = {n: t for q in result["questions"] for n, t in q["tests"].items()}
    assert earned == 0, tests
    assert tests["test_bidirectional_backward"]["error"] == "ImportError"
    assert "cannot be used while grading" in tests["test_gru_module_matches_torch"]["message"]


def test_a8_forged_results_a_deleted_file_and_a_link_to_the_fixed_code_score_nothing(
        grader, tmp_path):
    """A8's handout holds working-looking code: a link to the course's copy of it would hand
    over every fix, a forged report every point."""
    out = tmp_path / "a8"
    template, _ = build.build(catalog.A8, out)
    solution, _ = build.build(catalog.A8, out, solution=True)
    layers, loops = "minirnn/debugging/layers.py", "minirnn/debugging/loops.py"
    slow = grade.Limits(time=10.0, startup=30.0)  # a process may import torch
    embedding, batch_first = first_question("a8_debugging", 0), first_question("a8_debugging", 7)
    earned, result = points(hostile(template, tmp_path, "forged", append={layers: FORGE_AT_EXIT}),
                            grader, embedding, limits=slow)
    assert earned == 0, result["questions"]
    deleted = hostile(solution, tmp_path, "deleted")
    (deleted / layers).unlink()
    earned, result = points(deleted, grader, embedding, limits=slow)
    assert earned == 0 and result["refused"][layers] == "missing"
    linked = hostile(template, tmp_path, "linked")
    (linked / loops).unlink()
    (linked / loops).symlink_to(build.PACKAGE_ROOT / "debugging" / "loops.py")
    earned, result = points(linked, grader, batch_first, limits=slow)
    assert earned == 0 and "symbolic link" in result["refused"][loops]
    earned, _ = points(solution, grader, batch_first, limits=slow)  # the check can fail
    assert earned == batch_first.points
