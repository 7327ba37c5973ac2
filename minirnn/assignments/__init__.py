"""Assignments cut from the course's own sources, and their autograder.

- catalog.py: the assignments (modules, notebook, graded tests, points per question).
- build.py: the student folder and a reproducible zip, solution regions cut out.
- grade.py: runs the graded tests on a student folder in a fresh process, prints points.
- gradescope.py: a Gradescope autograder zip built on grade, and results.json in its schema.
- nbgrader_course.py: an nbgrader course's source folder and config for an assignment.

Solution regions are marked in the package with ``# BEGIN SOLUTION`` / ``# END SOLUTION``
comments and in notebook cells with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader's
convention); the package runs unchanged with the markers in it.
"""
