"""A Gradescope autograder for an assignment, built from the same grader as ``grade``.

    bundle(assignment)                ->  the zip's bytes (byte-identical across builds)
    python -m minirnn assignments gradescope NAME OUT

The zip holds, at its root (Gradescope unpacks it into /autograder/source):

- ``setup.sh``: run once by Gradescope when it builds the image: a virtual environment with the
  pinned minimum the grader needs for the assignment (the bundle's requirements.txt, with the
  course's pins), bubblewrap, and an unprivileged user the grade runs as;
- ``run_autograder``: run for every submission: ``python -m minirnn assignments grade
  <submission> --assignment NAME --json ...`` in a child process, then ``results.json`` in
  Gradescope's schema (``results_json``) written to /autograder/results/, whatever happened;
- ``minirnn/``: the course package (the grader, its graded tests and SHA256SUMS, the sources
  the template is cut from), put on PYTHONPATH; not the shipped results.

Paths come from environment variables so that the tests run ``run_autograder`` in a fake
layout: AUTOGRADER_ROOT (default /autograder), AUTOGRADER_SOURCE (ROOT/source),
AUTOGRADER_PYTHON (ROOT/venv/bin/python, made by setup.sh), AUTOGRADER_USER (the user the grade
runs as; default: setup.sh's unprivileged user when run_autograder runs as root).

The schema (gradescope-autograders.readthedocs.io, "Autograder Specifications"): a top-level
``score``, ``output``, ``stdout_visibility``, ``execution_time``, ``extra_data`` and ``tests``,
each test with ``name``, ``score``, ``max_score``, ``status`` ("passed"/"failed"), ``output``
and ``visibility`` ("visible", "hidden", "after_due_date" or "after_published").
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from minirnn.assignments import build, catalog

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
GRADER_USER = "minirnn-grader"  # setup.sh creates it; run_autograder grades as it when root
REQUIREMENTS = build.PACKAGE_ROOT.parent / "requirements.txt"
# package folders, relative to minirnn/, the grader never reads (the trained results are large)
NOT_BUNDLED = ("results",)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
OUTPUT_LIMIT = 100_000  # characters of the grader's own output kept in results.json


# -- results.json --------------------------------------------------------------------------------
def _reason(name: str, entry: dict) -> str:
    """One line: why a graded test failed."""
    why = entry.get("status", "failed")
    if entry.get("limit"):
        why += f", {entry['limit']} limit"
    if entry.get("error"):
        why += f": {entry['error']}"
    if entry.get("message"):
        why += f": {entry['message']}"
    return f"{name}: {why}"


def results_json(result: dict | None, a: catalog.Assignment, error: str = "",
                 visibility: str = "visible") -> dict:
    """Gradescope's results.json for a grade (``grade.grade``'s dict), one test per graded
    question; with `result` None (the grader could not grade), every question scores 0 and
    `error` says why."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility: expected one of {', '.join(VISIBILITIES)}, "
                         f"got {visibility!r}")
    graded = {q["title"]: q for q in (result or {}).get("questions", [])}
    tests = []
    for number, q in enumerate(a.questions, start=1):
        got = graded.get(q.title)
        if got is None:
            earned, lines = 0, [f"not graded: {error or 'no result for this question'}"]
        else:
            earned = got["earned"]
            lines = [_reason(name, got["tests"].get(name, {"status": "not run"}))
                     for name, _ in q.tests
                     if got["tests"].get(name, {}).get("status") != "passed"]
            if result.get("refused") and lines:
                lines.append("not taken from the submission: " + "; ".join(
                    f"{rel} ({why})" for rel, why in result["refused"].items()))
        tests.append({"name": q.title, "number": str(number), "score": earned,
                      "max_score": q.points, "status": "passed" if earned == q.points
                      else "failed", "output": "\n".join(lines) or "passed",
                      "visibility": visibility})
    score = sum(t["score"] for t in tests)
    head = f"{a.title}: {score} / {a.points}"
    out = {"score": score, "output": head if result is not None else f"{head}\n{error}",
           "stdout_visibility": "hidden", "visibility": visibility, "tests": tests,
           "extra_data": {"assignment": a.name}}
    if result is not None:
        out["execution_time"] = round(float(result.get("seconds") or 0.0))  # seconds
        out["extra_data"].update({k: result[k] for k in ("seed", "sandbox", "judged_by")
                                  if k in result})
    return out


# -- grading one submission ---------------------------------------------------------------------
def submission_folder(submission: Path, scratch: Path) -> Path:
    """The folder to grade: the submission if it holds minirnn/, else its only subfolder that
    does, else its only zip, unpacked safely into `scratch`."""
    from minirnn.assignments import grade

    if (submission / "minirnn").is_dir():
        return submission
    inner = [d for d in sorted(submission.iterdir())
             if d.is_dir() and not d.is_symlink() and (d / "minirnn").is_dir()]
    if len(inner) == 1:
        return inner[0]
    zips = sorted(p for p in submission.iterdir() if p.suffix == ".zip" and p.is_file())
    if not inner and len(zips) == 1:
        unpacked = grade._unzip(zips[0], scratch / "unzipped")
        return submission_folder(unpacked, scratch / "inner")
    raise grade.GradeError("the submission holds no minirnn/ folder (upload the assignment "
                           "folder, or its minirnn/ folder with the files you changed)")


def _as_user(path: Path, user: str | None) -> None:
    if user is not None:
        for p in [path, *path.rglob("*")]:
            shutil.chown(p, user, user)


def grade_submission(name: str, root: Path, time_limit: float | None = None,
                     sandbox: str = "auto", user: str | None = None,
                     visibility: str = "visible", timeout: float = 1200.0) -> dict:
    """Grade root/submission with ``python -m minirnn assignments grade`` in a child process
    (as `user` when given: the submission is copied to a folder it owns); write and return
    root/results/results.json. Whatever goes wrong, results.json is written."""
    a = catalog.get(name)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    result, error = None, ""
    with tempfile.TemporaryDirectory(prefix="minirnn-gradescope-") as tmp:
        tmp = Path(tmp)
        try:
            shutil.copytree(root / "submission", tmp / "submission", symlinks=True)
            folder = submission_folder(tmp / "submission", tmp)
            report = tmp / "out" / "grade.json"
            report.parent.mkdir()
            _as_user(tmp, user)
            command = [sys.executable, "-m", "minirnn", "assignments", "grade", str(folder),
                       "--assignment", a.name, "--json", str(report), "--sandbox", sandbox]
            if time_limit is not None:
                command += ["--time-limit", str(time_limit)]
            env = dict(os.environ, HOME=str(tmp)) if user is not None else None
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  cwd=tmp, user=user, env=env, errors="replace")
            print(done.stdout[-OUTPUT_LIMIT:], done.stderr[-OUTPUT_LIMIT:], sep="\n")
            if report.is_file():
                result = json.loads(report.read_text(encoding="utf-8"))
            else:
                error = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
                         )[-1][:500]
        except subprocess.TimeoutExpired:
            error = f"the grader took more than {timeout:.0f} s"
        except Exception as err:  # noqa: BLE001 - any failure still writes a results.json
            error = f"{type(err).__name__}: {err}"[:500]
    out = results_json(result, a, error, visibility)
    (results / "results.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return out


# -- the bundle ---------------------------------------------------------------------------------
def pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """name -> version of every ``name==version`` line of requirements.txt."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#;]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def needed(a: catalog.Assignment) -> list[str]:
    """The Python distributions the grader needs for `a` (not minirnn: it is in the bundle)."""
    from minirnn.assignments import verdicts

    names = ["numpy", "threadpoolctl"]
    if a.uses_torch:
        names.append("torch")
    if a.name not in getattr(verdicts, "JUDGED", {}):  # its graded tests run under pytest
        names.append("pytest")
    return names


def requirements(a: catalog.Assignment, path: Path = REQUIREMENTS) -> str:
    """The bundle's requirements.txt: the course's pin of each distribution `a` needs."""
    if not path.is_file():
        raise ValueError(f"{path} is missing: build the bundle from a checkout of the course")
    pinned = pins(path)
    missing = [n for n in needed(a) if n not in pinned]
    if missing:
        raise ValueError(f"{path} pins no version of {', '.join(missing)}")
    return "".join(f"{n}=={pinned[n]}\n" for n in needed(a))


def setup_sh(a: catalog.Assignment) -> str:
    torch = ""
    if a.uses_torch:
        torch = (f'"$VENV/bin/python" -m pip install --no-cache-dir --index-url {TORCH_INDEX} '
                 f'"$(grep \'^torch==\' "$SOURCE/requirements.txt")"\n')
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image for {a.name}.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
VENV="$ROOT/venv"
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -c 'import sys; assert sys.version_info >= (3, 11), "minirnn needs Python 3.11 or \\
later: choose an Ubuntu 24.04 base image"'
python3 -m venv "$VENV"
{torch}"$VENV/bin/python" -m pip install --no-cache-dir -r "$SOURCE/requirements.txt"
# the grade runs as this user: it cannot write the results or the grader's files
id -u {GRADER_USER} >/dev/null 2>&1 || useradd --system --no-create-home {GRADER_USER}
chmod -R a+rX "$SOURCE" "$VENV"
"""


def run_autograder(a: catalog.Assignment, time_limit: float | None = None,
                   visibility: str = "visible") -> str:
    options = f" --visibility {visibility}"
    if time_limit is not None:
        options += f" --time-limit {time_limit:g}"
    return f"""#!/usr/bin/env bash
# Gradescope runs this for every submission of {a.name}, in /autograder: it grades
# $ROOT/submission and writes $ROOT/results/results.json.
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="${{AUTOGRADER_SOURCE:-$ROOT/source}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
export PYTHONPATH="$SOURCE"
# grade as an unprivileged user: setup.sh's, or AUTOGRADER_USER
USER_OPTION=""
if [ -n "${{AUTOGRADER_USER:-}}" ]; then
    USER_OPTION="--user $AUTOGRADER_USER"
elif [ "$(id -u)" = 0 ] && id -u {GRADER_USER} >/dev/null 2>&1; then
    USER_OPTION="--user {GRADER_USER}"
fi
exec "$PYTHON" -m minirnn.assignments.gradescope run {a.name} --root "$ROOT"{options} $USER_OPTION
"""


def package_copy(root: Path = build.PACKAGE_ROOT) -> dict[str, bytes]:
    """minirnn/... -> bytes: the package as the grader reads it (no caches, no results)."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if (not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc"
                or any(rel == f or rel.startswith(f + "/") for f in NOT_BUNDLED)):
            continue
        files[f"minirnn/{rel}"] = path.read_bytes()
    return files


def bundle_files(a: catalog.Assignment, time_limit: float | None = None,
                 visibility: str = "visible") -> dict[str, bytes]:
    files = package_copy()
    files["setup.sh"] = setup_sh(a).encode()
    files["run_autograder"] = run_autograder(a, time_limit, visibility).encode()
    files["requirements.txt"] = requirements(a).encode()
    return files


EXECUTABLE = ("setup.sh", "run_autograder")


def bundle(a: catalog.Assignment, time_limit: float | None = None,
           visibility: str = "visible") -> bytes:
    """The autograder zip: files at its root, sorted, fixed times and permissions, stored."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility: expected one of {', '.join(VISIBILITIES)}")
    files = bundle_files(a, time_limit, visibility)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(rel, date_time=build.ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = (0o755 if rel in EXECUTABLE else 0o644) << 16
            info.create_system = 3
            zf.writestr(info, files[rel])
    return buffer.getvalue()


def write_bundle(a: catalog.Assignment, out: Path | str, time_limit: float | None = None,
                 visibility: str = "visible") -> Path:
    """Write the zip to `out` (a .zip path, or a folder: out/<name>_gradescope.zip)."""
    out = Path(out)
    path = out if out.suffix == ".zip" else out / f"{a.name}_gradescope.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bundle(a, time_limit, visibility))
    return path


def extract(archive: Path, into: Path) -> None:
    """Unpack a bundle as Gradescope does, keeping the executable bits."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            zf.extract(info, into)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(into / info.filename, mode)


def main(argv: list[str] | None = None) -> int:
    """``python -m minirnn.assignments.gradescope run NAME``: what run_autograder calls."""
    import argparse

    parser = argparse.ArgumentParser(prog="minirnn.assignments.gradescope")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="grade ROOT/submission into ROOT/results")
    run.add_argument("name", choices=list(catalog.ASSIGNMENTS))
    run.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    run.add_argument("--time-limit", type=float)
    run.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto")
    run.add_argument("--visibility", choices=VISIBILITIES, default="visible")
    run.add_argument("--user", help="grade as this user (the submission is copied for it)")
    args = parser.parse_args(argv)
    out = grade_submission(args.name, Path(args.root), args.time_limit, args.sandbox,
                           args.user, args.visibility)
    print(out["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
