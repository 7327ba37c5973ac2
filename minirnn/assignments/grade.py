"""Grade a student folder: each graded question in its own limited, isolated child process.

What the grader trusts, and what it does not:
- The assignment is named by the instructor (``--assignment``) or, when only the folder's
  assignment.json names it, checked against the catalog and the folder's notebook.
- Only the files the assignment asks for (its `modules`) are taken from the student, and only
  regular files inside the folder (no symbolic links); the rest of the scratch ``minirnn/`` is
  the grader's own template, cut from its sources, so a change elsewhere (a syntax error in a
  file the assignment does not use, a patched ``__init__.py`` or ``gradcheck.py``) costs and
  gains nothing.
- Each graded test runs in a new ``python -I -S`` with an explicit sys.path: the standard
  library, a folder of links to the site packages the question needs (NumPy only for a NumPy
  assignment or a NumPy question of a mixed one, so torch cannot be imported), then the
  scratch copy; under rlimits on CPU time,
  address space and file size, a wall-time limit that includes the imports, output to files,
  a minimal environment. A hang, crash, ``os._exit`` or memory kill costs that test only.
- A1 and A2 (see verdicts.py) are judged here: the child only calls the student's functions
  on inputs drawn from a seed derived by HMAC from a secret and the submission, and returns raw
  arrays in an .npz file the grader created; this process decides. A3 and A4 still run their
  graded tests in the child, whose report is believed (see book/teaching.md).
- The grader's own files (the graded tests, the child, the verdicts) are checked against
  SHA256SUMS before each grade: a changed grader refuses to grade.
- ``--sandbox bwrap`` (the default where bubblewrap works) adds no network, no files outside
  the scratch folder and no process left behind; without it the child can read and write what
  the grading user can and reach the network (book/teaching.md: grade in a container).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from minirnn.assignments import build, catalog

HERE = Path(__file__).resolve().parent
TIME_LIMIT = 20.0  # seconds of CPU (and wall, after the start allowance) per graded test
MANIFEST = "SHA256SUMS"
# the grader's files a child or an earlier submission could have changed: the child's script and
# the verdicts (verdicts.py, and verdicts_<assignment>.py for the later assignments)
GRADER_FILES = ("_child.py", "verdicts*.py")
MAX_MODULE_BYTES = 1 << 20


class GradeError(ValueError):
    """The folder is not a student folder, or the grader cannot grade safely."""


@dataclass(frozen=True)
class Limits:
    """Per graded test: CPU seconds; wall seconds on top of them for start and imports;
    address space (bytes, None for no limit: torch maps more than it uses); output bytes."""

    time: float = TIME_LIMIT
    startup: float = 10.0
    memory: int | None = 4 << 30
    output: int = 16 << 20

    @property
    def wall(self) -> float:
        return self.time + self.startup


# -- the grader's own files ----------------------------------------------------------------------
def manifest_files(folder: Path) -> list[str]:
    """The files of `folder` SHA256SUMS covers: graded/*.py, and the grader's own code in HERE."""
    names = sorted(p.relative_to(folder).as_posix() for p in (folder / "graded").glob("*.py"))
    if folder.resolve() == HERE:
        names += sorted(p.name for pattern in GRADER_FILES for p in folder.glob(pattern))
    return names


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(folder: Path = HERE) -> Path:
    """Write folder/SHA256SUMS (after a deliberate change of the graded tests or the child)."""
    lines = [f"{_sha256(folder / name)}  {name}\n" for name in manifest_files(folder)]
    (folder / MANIFEST).write_text("".join(lines), encoding="utf-8")
    return folder / MANIFEST


def verified_files(folder: Path = HERE) -> dict[str, bytes]:
    """name -> bytes of every file SHA256SUMS lists, each checked; a GradeError otherwise."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise GradeError(f"the grader has no {manifest}: refusing to grade")
    files, problems = {}, []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        path = folder / name
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        if data is None:
            problems.append(f"{name} is missing")
        elif hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{name} was changed")
        files[name] = data
    if problems:
        raise GradeError(f"the grader's files in {folder} do not match {MANIFEST} ("
                         + "; ".join(problems) + "): refusing to grade; restore them")
    return files


# -- which assignment, which files -------------------------------------------------------------
def assignment_of(folder: Path, name: str | None = None) -> tuple[catalog.Assignment, str]:
    """(assignment, how it was named): the instructor's `name`, or the folder's assignment.json
    checked against the catalog and the folder's notebook."""
    if not folder.is_dir():
        raise GradeError(f"student folder {str(folder)!r} does not exist")
    meta = folder / "assignment.json"
    claimed = None
    if meta.is_file() and not meta.is_symlink():
        try:
            claimed = json.loads(meta.read_text(encoding="utf-8"))["name"]
        except (ValueError, KeyError, TypeError) as err:
            if name is None:
                raise GradeError(f"{str(meta)!r} is damaged: {err}") from None
    if name is not None:
        try:
            a = catalog.get(name)
        except ValueError as err:
            raise GradeError(str(err)) from None
        if claimed is not None and claimed != name:
            return a, f"the command line (the folder's assignment.json says {claimed!r})"
        return a, "the command line"
    if claimed is None:
        raise GradeError(f"{str(folder)!r} has no assignment.json: is it a built assignment? "
                         f"(or name the assignment: --assignment NAME)")
    try:
        a = catalog.get(claimed)
    except ValueError as err:
        raise GradeError(str(err)) from None
    if not (folder / a.notebook).is_file():
        raise GradeError(f"{str(meta)!r} says {claimed!r}, but the folder has no {a.notebook}: "
                         f"name the assignment with --assignment NAME")
    return a, "assignment.json, checked against the catalog"


def submitted_modules(folder: Path, a: catalog.Assignment) -> tuple[dict[str, bytes], dict]:
    """(rel -> bytes of each module the assignment asks for, rel -> why one was refused).

    Only regular files inside the folder count: no symbolic link anywhere on the way."""
    root = folder.resolve()
    taken, refused = {}, {}
    for module in a.modules:
        rel = f"minirnn/{module}"
        path, reason = folder, None
        for part in rel.split("/"):
            path = path / part
            if path.is_symlink():
                reason = f"{path.relative_to(folder)} is a symbolic link"
                break
        if reason is None:
            if not path.is_file():
                reason = "missing"
            elif not path.resolve().is_relative_to(root):
                reason = "outside the folder"
            elif path.stat().st_size > MAX_MODULE_BYTES:
                reason = f"larger than {MAX_MODULE_BYTES} bytes"
        if reason is None:
            taken[rel] = path.read_bytes()
        else:
            refused[rel] = reason
    return taken, refused


_TEMPLATES: dict[tuple[str, str], dict[str, bytes]] = {}


def _template(a: catalog.Assignment, root: Path | None) -> dict[str, bytes]:
    """The grader's own template of the assignment's minirnn/ (cut once per process)."""
    key = (a.name, str(root))
    if key not in _TEMPLATES:
        _TEMPLATES[key] = build.package_files(a, root=root)
    return _TEMPLATES[key]


def _top_level_names(tree) -> set[str]:
    import ast

    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom)):
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def with_missing_stubs(student: bytes, template: bytes, rel: str) -> bytes:
    """The student's module, plus a stub for each top-level function or class of the template
    it lacks: the package's __init__ still imports, and only the questions that call the
    missing name fail. A module that does not parse is left as it is."""
    import ast

    try:
        have = _top_level_names(ast.parse(student))
        want = [node for node in ast.parse(template).body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    except (SyntaxError, ValueError):
        return student
    stubs = []
    for node in want:
        if node.name in have:
            continue
        message = f"{node.name} is missing from {rel}"
        if isinstance(node, ast.ClassDef):
            stubs.append(f"class {node.name}:\n    def __init__(self, *args, **kwargs):\n"
                         f"        raise NotImplementedError({message!r})\n")
        else:
            stubs.append(f"def {node.name}(*args, **kwargs):\n"
                         f"    raise NotImplementedError({message!r})\n")
    if not stubs:
        return student
    return student + ("\n\n# added by the grader: missing from the submission\n"
                      + "\n\n".join(stubs)).encode()


def submission_seed(secret: bytes, a: catalog.Assignment, taken: dict[str, bytes]) -> int:
    """HMAC-SHA256(secret, the assignment and the submitted files), as a 63-bit seed."""
    message = hashlib.sha256(a.name.encode())
    for rel in sorted(taken):
        message.update(rel.encode() + b"\0" + hashlib.sha256(taken[rel]).digest())
    digest = hmac.new(secret, message.digest(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


_PROCESS_SECRET = os.urandom(32)


def grading_secret() -> bytes:
    """MINIRNN_GRADE_SECRET if set (grades then reproduce across runs), else one per process."""
    secret = os.environ.get("MINIRNN_GRADE_SECRET")
    return secret.encode() if secret else _PROCESS_SECRET


# -- the child ----------------------------------------------------------------------------------
def _site_links(box: Path, numpy_only: bool) -> Path:
    """A folder of links to the site packages a child may import (never minirnn itself)."""
    import sysconfig

    site = box / "site"
    site.mkdir(parents=True)
    folders = {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    for folder in sorted(folders):
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            name = entry.name
            if numpy_only and name not in ("numpy", "numpy.libs"):
                continue
            if (name.startswith(("minirnn", "__editable__", "_virtualenv")) or name.endswith(".pth")
                    or name == "__pycache__" or (site / name).exists()):
                continue
            (site / name).symlink_to(entry)
    return site


def _stdlib_path() -> list[str]:
    """The standard library folders of a ``python -I -S``."""
    out = subprocess.run([sys.executable, "-I", "-S", "-c", "import sys; print(repr(sys.path))"],
                         capture_output=True, text=True, check=True, timeout=60)
    return [p for p in eval(out.stdout) if p]  # noqa: S307 - our own interpreter's repr


_STDLIB: list[str] = []


def _limits_spec(limits: Limits) -> dict:
    """The rlimits the child sets on itself before it imports anything of the student's."""
    return {"cpu": max(1, int(limits.time + 0.999)), "output": limits.output,
            "memory": limits.memory}


SANDBOXES = ("auto", "bwrap", "none")
BWRAP_PROBE = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
_PROBE: list[tuple[bool, str]] = []


def bwrap_available() -> tuple[bool, str]:
    """(whether bubblewrap can sandbox a child here, why not): the probe, run once."""
    if not _PROBE:
        if shutil.which("bwrap") is None:
            _PROBE.append((False, "bwrap is not installed (apt-get install bubblewrap)"))
        else:
            probe = subprocess.run(BWRAP_PROBE, capture_output=True, text=True, timeout=60)
            _PROBE.append((probe.returncode == 0, f"'{' '.join(BWRAP_PROBE)}' failed: "
                           f"{probe.stderr.strip()[:200]}"))
    return _PROBE[0]


def bwrap_command(box: Path, site: Path) -> list[str]:
    """bubblewrap around the child: no network, its own process tree (all of it killed with it),
    an empty root with read-only system, Python and the linked site packages, and the box as
    the only writable folder (the grader's files, other students' and the home are not there)."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    read_only = {Path(sys.base_prefix).resolve(), Path(sys.executable).parent,
                 Path(sys.executable).resolve().parent}
    if (Path(sys.prefix) / "pyvenv.cfg").is_file():
        read_only.add(Path(sys.prefix) / "pyvenv.cfg")
    read_only.update(entry.resolve() for entry in site.iterdir())
    read_only.add(site)
    for path in sorted(read_only, key=lambda p: len(p.parts)):
        args += ["--ro-bind", str(path), str(path)]
    return args + ["--bind", str(box), str(box), "--chdir", str(box / "work"), "--"]


def _tail(path: Path, size: int = 600) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode("utf-8", "replace").strip()


def run_child(box: Path, spec: dict, limits: Limits, child_source: str,
              wrapper: list[str] | None = None) -> dict:
    """Run one child in `box` (its scratch copy in box/work); its report, or why there is none.

    `wrapper` is the sandbox's command line put in front of the child's (bwrap_command).

    The report's "status" is the child's word; "limit" names a limit that ended it."""
    paths = {k: box / f"{k}.{ext}" for k, ext in
             (("spec", "json"), ("report", "json"), ("outputs", "npz"), ("stdout", "txt"),
              ("stderr", "txt"))}
    for key in ("report", "outputs"):
        paths[key].write_bytes(b"")  # the files the child may write its answers to
    spec = {**spec, "report": str(paths["report"]), "outputs": str(paths["outputs"]),
            "limits": _limits_spec(limits)}
    paths["spec"].write_text(json.dumps(spec), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(box), "TMPDIR": str(box), "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    timed_out = False
    with open(paths["stdout"], "wb") as out, open(paths["stderr"], "wb") as err:
        proc = subprocess.Popen([*(wrapper or []), sys.executable, "-I", "-S", "-c",
                                 child_source, str(paths["spec"])], cwd=box / "work", env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        try:
            proc.wait(timeout=limits.wall)
        except subprocess.TimeoutExpired:
            timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started there
        except ProcessLookupError:
            pass
        proc.wait()
    code = proc.returncode
    if wrapper and code > 128:  # bwrap exits with 128 + the signal that killed the child
        code = -(code - 128)
    limit = None
    if timed_out:
        limit = "wall time"
    elif code in (-signal.SIGXCPU, -signal.SIGKILL):
        limit = "CPU time"
    elif code == -signal.SIGXFSZ:
        limit = "output size"
    report = None
    if paths["report"].stat().st_size <= limits.output:
        try:
            report = json.loads(paths["report"].read_text(encoding="utf-8"))
        except ValueError:
            report = None
    if not isinstance(report, dict) or limit is not None:
        messages = {"wall time": f"ran past {limits.wall:g} s of wall time (imports included)",
                    "CPU time": f"used more than {limits.time:g} s of CPU time",
                    "output size": f"wrote more than {limits.output} bytes"}
        why = messages.get(limit) or (f"the process ended (exit code {code}) without a report: "
                                      + _tail(paths["stderr"]).replace("\n", " | ")[-300:])
        return {"status": "timeout" if limit and "time" in limit else "crashed",
                "error": "Limit" if limit else "Crash", "message": why, "limit": limit,
                "seconds": 0.0}
    if report.get("error") == "MemoryError":
        report["limit"] = "memory"
    elif str(report.get("message", "")).startswith("[Errno 27]"):  # EFBIG: Python ignores
        report["limit"] = "output size"  # SIGXFSZ, so the write past RLIMIT_FSIZE fails
    report["outputs_file"] = str(paths["outputs"])
    return report


def _foreign_modules(report: dict, work: Path) -> list[str]:
    """The minirnn modules the child says it imported from anywhere but the scratch copy."""
    out = []
    for name, file in sorted((report.get("modules") or {}).items()):
        if file is None or not Path(str(file)).resolve().is_relative_to(work):
            out.append(f"{name} from {file}")
    return out


def _judge(report: dict, case) -> tuple[str, str, str]:
    """(status, error, message) of a calls-mode test: the grader's check of the raw arrays."""
    import numpy as np

    from minirnn.assignments._child import unflatten

    if report.get("status") != "returned":
        return "failed", str(report.get("error")), str(report.get("message", ""))[:300]
    try:
        path = Path(report["outputs_file"])
        with np.load(path, allow_pickle=False) as data:
            arrays = dict(data)
        out = {call["name"]: unflatten(report["returned"][call["name"]], arrays, np)
               for call in case.calls}
    except Exception as err:  # noqa: BLE001 - anything unreadable is a failure, whatever it is
        return "failed", "BadOutput", f"the returned values cannot be read: {err}"[:300]
    try:
        case.check(out)
    except AssertionError as err:
        return "failed", "AssertionError", str(err)[:300]
    except Exception as err:  # noqa: BLE001 - a malformed answer fails the check
        return "failed", type(err).__name__, f"the returned values are malformed: {err}"[:300]
    return "passed", None, ""


def _verdict(report: dict, work: Path, case) -> dict:
    """The result entry of one graded test from its child's report (judged here when `case`)."""
    entry = {"status": "failed", "error": report.get("error"),
             "message": report.get("message", ""), "seconds": report.get("seconds", 0.0)}
    if report.get("limit"):
        entry["limit"] = report["limit"]
    foreign = _foreign_modules(report, work)
    if report.get("other_minirnn"):
        entry.update(error="Isolation", message="another minirnn was importable: "
                     f"{report['other_minirnn']}")
    elif foreign:
        entry.update(error="ForeignModule", message="not the student's copy: "
                     + ", ".join(foreign)[:250])
    elif entry.get("limit") is not None and report.get("status") is None:
        entry["status"] = report["status"]
    elif case is not None:
        entry["status"], entry["error"], entry["message"] = _judge(report, case)
    elif report.get("status") == "passed":
        entry.update(status="passed", error=None, message="")
    if entry["status"] != "passed" and entry.get("limit") in ("wall time", "CPU time"):
        entry["status"] = "timeout"
    return entry


def _write_copy(work: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_tests(folder: Path, a: catalog.Assignment, limits: Limits | float = TIME_LIMIT,
              assets: Path = HERE, root: Path | None = None, seed: int | None = None,
              jobs: int = 2, grader_dir: Path = HERE, sandbox: str = "auto"
              ) -> tuple[dict, dict]:
    """(name -> result entry of each graded test, facts: seed, refused files, how judged).

    `grader_dir` holds the grader files SHA256SUMS lists (tests point it at a copy);
    `sandbox` is "bwrap", "none", or "auto" (bwrap where its probe passes)."""
    if sandbox not in SANDBOXES:
        raise GradeError(f"sandbox: expected one of {', '.join(SANDBOXES)}, got {sandbox!r}")
    available, why = bwrap_available() if sandbox != "none" else (False, "")
    if sandbox == "bwrap" and not available:
        raise GradeError(f"the bwrap sandbox is not available here: {why}")
    sandbox = "bwrap" if available else "none"
    import numpy as np
    from threadpoolctl import threadpool_limits

    from minirnn.assignments import verdicts

    if isinstance(limits, (int, float)):
        limits = Limits(time=float(limits))
    grader = verified_files(grader_dir)
    tests_source = (grader if assets.resolve() == grader_dir.resolve()
                    else verified_files(assets)).get(
        f"graded/{a.graded}")
    child_source = grader["_child.py"].decode("utf-8")
    if not (folder / "minirnn").is_dir() or (folder / "minirnn").is_symlink():
        raise GradeError(f"{str(folder)!r} has no minirnn/ folder")
    taken, refused = submitted_modules(folder, a)
    template = _template(a, root)
    files = {**template, **{rel: with_missing_stubs(data, template.get(rel, b""), rel)
                            for rel, data in taken.items()}}
    cases = verdicts.JUDGED.get(a.name)
    if seed is None:
        seed = submission_seed(grading_secret(), a, taken)
    numpy_tests = a.numpy_only_tests()  # children that never see torch
    torch_limits = limits if limits.memory is None else Limits(
        limits.time, limits.startup, None, limits.output)  # torch maps more than it uses
    if not _STDLIB:
        _STDLIB.extend(_stdlib_path())
    # Only the main thread touches NumPy, with its BLAS held to one thread: the worker threads
    # below only start children and wait. (A fork while another thread was inside a threaded
    # BLAS call left that call spinning forever.)
    with tempfile.TemporaryDirectory(prefix="minirnn-grade-") as tmp, \
            threadpool_limits(limits=1):
        top = Path(tmp).resolve()
        sites = {numpy_only: _site_links(top / ("numpy" if numpy_only else "all"), numpy_only)
                 for numpy_only in {name in numpy_tests for name in a.tests}}
        boxes: dict[str, tuple[Path, dict, object]] = {}
        for k, name in enumerate(a.tests):
            box = top / f"{k:02d}"
            work = box / "work"
            work.mkdir(parents=True)
            _write_copy(work, files)  # a fresh copy: one test cannot leave anything to the next
            numpy_only = name in numpy_tests
            spec = {"path": [*_STDLIB, str(sites[numpy_only])], "work": str(work),
                    "block": ["torch"] if numpy_only else []}
            case = None
            if cases is not None:
                case = cases[name](np.random.default_rng([seed, k]))
                np.savez(box / "inputs.npz", **case.arrays)
                spec.update(mode="calls", inputs=str(box / "inputs.npz"), calls=case.calls)
            else:
                (box / "tests").mkdir()
                (box / "tests" / a.graded).write_bytes(tests_source)
                spec.update(mode="pytest", tests_file=str(box / "tests" / a.graded), test=name)
            boxes[name] = (box, spec, case)

        def run(name: str) -> tuple[str, dict]:  # no NumPy here: this runs in a worker thread
            box, spec, _ = boxes[name]
            numpy_only = name in numpy_tests
            wrapper = bwrap_command(box, sites[numpy_only]) if sandbox == "bwrap" else None
            return name, run_child(box, spec, limits if numpy_only else torch_limits,
                                   child_source, wrapper)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            reports = dict(pool.map(run, a.tests))
        results = {name: _verdict(reports[name], box / "work", case)
                   for name, (box, _, case) in boxes.items()}
    if refused:
        for q in a.questions:
            for name, _ in q.tests:
                if results[name]["status"] != "passed":
                    results[name]["message"] = ("refused: " + "; ".join(
                        f"{rel} ({why})" for rel, why in refused.items()) + "; "
                        + results[name]["message"])[:300]
    facts = {"seed": seed, "refused": refused, "sandbox": sandbox,
             "judged_by": "the grader (raw arrays from the child)" if cases is not None
             else "the graded tests, run in the child"}  # the latter for a test-only catalog
    return results, facts


def grade(folder: Path | str, limit: Limits | float = TIME_LIMIT,
          assignment: catalog.Assignment | str | None = None, assets: Path = HERE,
          root: Path | None = None, seed: int | None = None, jobs: int = 2,
          grader_dir: Path = HERE, sandbox: str = "auto") -> dict:
    """Points per question and the total for a student folder (a JSON-ready dict).

    `assignment` (an Assignment or its name) is the instructor's word; without it the folder's
    assignment.json is checked against the catalog. `assets` is the folder whose graded/ holds
    the pristine tests and `root` the package the template is cut from (tests point them at
    samples of their own); `seed` reproduces an earlier grade's inputs (it is in the report).
    """
    folder = Path(folder)
    if isinstance(assignment, catalog.Assignment):
        a, named = assignment, "the caller"
        if not folder.is_dir():
            raise GradeError(f"student folder {str(folder)!r} does not exist")
    else:
        a, named = assignment_of(folder, assignment)
    tests, facts = run_tests(folder, a, limit, assets, root, seed, jobs, grader_dir, sandbox)
    questions = []
    for q in a.questions:
        earned = sum(points for name, points in q.tests if tests[name]["status"] == "passed")
        questions.append({"title": q.title, "points": q.points, "earned": earned,
                          "tests": {name: tests[name] for name, _ in q.tests}})
    return {"assignment": a.name, "title": a.title, "named_by": named, **facts,
            "questions": questions, "earned": sum(q["earned"] for q in questions),
            "points": a.points,
            "seconds": round(sum(t["seconds"] or 0.0 for t in tests.values()), 3)}


def report(result: dict) -> str:
    """The grade as a table: one line per question, failing tests under it, then the total."""
    lines = [result["title"]]
    for rel, why in result.get("refused", {}).items():
        lines.append(f"  not graded: {rel} ({why})")
    width = max(len(q["title"]) for q in result["questions"])
    for q in result["questions"]:
        lines.append(f"  {q['title']:<{width}}  {q['earned']:>3} / {q['points']}")
        for name, t in q["tests"].items():
            if t["status"] != "passed":
                why = f"{t['error']}: {t['message']}" if t["error"] else t["status"]
                lines.append(f"      {name}: {t['status']} ({why})"[:160])
    lines.append(f"  {'total':<{width}}  {result['earned']:>3} / {result['points']}"
                 f"   ({result['seconds']:.1f} s of tests, seed {result.get('seed')})")
    return "\n".join(lines)


# -- a class at a time --------------------------------------------------------------------------
MAX_ZIP_BYTES = 64 << 20


def _unzip(archive: Path, into: Path) -> Path:
    """Extract a student's zip safely: no links, no absolute or '..' paths, bounded size."""
    import stat
    import zipfile

    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = info.filename
            if name.startswith("/") or ".." in Path(name).parts:
                raise GradeError(f"{archive.name}: entry {name!r} points outside the folder")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise GradeError(f"{archive.name}: entry {name!r} is a symbolic link")
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise GradeError(f"{archive.name}: more than {MAX_ZIP_BYTES} bytes unpacked")
        zf.extractall(into)
    return into


def _assignment_folder(folder: Path) -> Path:
    """The folder holding minirnn/: the submission itself or its only subfolder that does."""
    if (folder / "minirnn").is_dir():
        return folder
    inner = [d for d in sorted(folder.iterdir()) if d.is_dir() and (d / "minirnn").is_dir()]
    if len(inner) == 1:
        return inner[0]
    raise GradeError(f"{folder.name}: no minirnn/ folder in the submission")


def grade_class(submissions: Path | str, out: Path | str,
                assignment: str | catalog.Assignment,
                limit: Limits | float = TIME_LIMIT, jobs: int = 2, sandbox: str = "auto",
                **kwargs) -> dict:
    """Grade every student of `submissions` (one subfolder or zip each, named after the
    student): out/<student>.json each, out/gradebook.csv, out/summary.json. Students are graded
    one after another, each student's tests `jobs` at a time (child processes, under the same
    limits as a single grade). Returns the summary: mean points per question, how many tests
    hit each limit, failed students."""
    import csv

    submissions, out = Path(submissions), Path(out)
    a = assignment if isinstance(assignment, catalog.Assignment) else catalog.get(assignment)
    out.mkdir(parents=True, exist_ok=True)
    students = sorted(p for p in submissions.iterdir()
                      if (p.is_dir() and not p.is_symlink()) or p.suffix == ".zip")

    def one(path: Path) -> tuple[str, dict]:
        student = path.stem if path.suffix == ".zip" else path.name
        try:
            with tempfile.TemporaryDirectory(prefix="minirnn-student-") as tmp:
                folder = _unzip(path, Path(tmp)) if path.suffix == ".zip" else path
                result = grade(_assignment_folder(folder), limit, assignment=a, jobs=jobs,
                               sandbox=sandbox, **kwargs)
        except GradeError as err:
            result = {"assignment": a.name, "error": str(err), "earned": 0, "points": a.points,
                      "questions": [{"title": q.title, "points": q.points, "earned": 0,
                                     "tests": {}} for q in a.questions]}
        (out / f"{student}.json").write_text(json.dumps(result, indent=1) + "\n",
                                             encoding="utf-8")
        return student, result

    results = dict(one(path) for path in students)
    titles = [q.title for q in a.questions]
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *titles, "total", "failures"])
        for student, r in results.items():
            failures = [f"{name}: {t['status']}" for q in r["questions"]
                        for name, t in q["tests"].items() if t["status"] != "passed"]
            if "error" in r:
                failures = [f"not graded: {r['error']}"]
            writer.writerow([student, *(q["earned"] for q in r["questions"]), r["earned"],
                             "; ".join(failures)])
    limits_hit: dict[str, int] = {}
    for r in results.values():
        for q in r["questions"]:
            for t in q["tests"].values():
                if t.get("limit"):
                    limits_hit[t["limit"]] = limits_hit.get(t["limit"], 0) + 1
    n = max(1, len(results))
    summary = {"assignment": a.name, "students": len(results),
               "mean": {title: round(sum(r["questions"][k]["earned"] for r in results.values())
                                     / n, 2) for k, title in enumerate(titles)},
               "mean_total": round(sum(r["earned"] for r in results.values()) / n, 2),
               "limits_hit": limits_hit,
               "not_graded": sorted(s for s, r in results.items() if "error" in r)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary
