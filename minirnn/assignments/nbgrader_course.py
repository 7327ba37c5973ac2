"""An nbgrader course directory for the assignments: ``source/<name>/`` and its config.

    write_source(assignment, course)  ->  course/source/<name>/  and  course/nbgrader_config.py

The assignment notebooks carry nbgrader's cell metadata (schema 3): each ``### BEGIN/END
SOLUTION`` region sits in a solution cell (``solution: true``), the check after it in a locked
graded cell (``grade: true``, ``points``), every other cell is locked (read-only). So nbgrader
grades the notebook's own exercises; the functions of the package are graded by
``python -m minirnn assignments grade`` (or its Gradescope bundle).

``source/<name>/`` is the student folder of ``build`` with the notebook as written (markers and
metadata in it): ``nbgrader generate_assignment <name>`` releases the cleared notebook together
with the template package, the graded tests and the README. ``nbgrader autograde`` copies the
source folder's files over each submission before it runs the notebook; the config written here
keeps the student's own modules (``exclude_overwriting``), and only those.
"""

from __future__ import annotations

from pathlib import Path

from minirnn.assignments import build, catalog

CONFIG = "nbgrader_config.py"


def source_files(a: catalog.Assignment) -> dict[str, bytes]:
    """The files of source/<name>/: the student folder, the notebook with its solutions."""
    files = build.student_files(a)
    files[a.notebook] = (build.HERE / "notebooks" / a.notebook).read_bytes()
    return files


def config_text(course_id: str = "minirnn") -> str:
    """nbgrader_config.py for a course holding every assignment of the catalog."""
    keep = {a.name: [f"minirnn/{m}" for m in a.modules] for a in catalog.ASSIGNMENTS.values()}
    lines = ["# written by python -m minirnn assignments nbgrader",
             "c = get_config()  # noqa: F821 - nbgrader's config loader defines it",
             f"c.CourseDirectory.course_id = {course_id!r}",
             "# the student's own modules are not overwritten with the template's by autograde",
             "c.Autograde.exclude_overwriting = {"]
    lines += [f"    {name!r}: {files!r}," for name, files in keep.items()]
    return "\n".join([*lines, "}", ""])


def write_source(a: catalog.Assignment, course: Path | str, course_id: str = "minirnn") -> Path:
    """Write course/source/<name>/ (replacing an earlier one) and, unless the course already
    has one, course/nbgrader_config.py. Returns the source folder."""
    import shutil

    course = Path(course)
    folder = course / "source" / a.name
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in source_files(a).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    config = course / CONFIG
    if not config.exists():
        config.write_text(config_text(course_id), encoding="utf-8")
    return folder
