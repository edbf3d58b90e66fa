"""Student and teacher versions of the exercises, graded with nbgrader (run offline, no Docker).

``build(course)`` writes an nbgrader course directory: for each notebook NN, a small *source* notebook
``source/NN_name/NN_name.ipynb`` holding that notebook's exercises — the statement, the function with the
reference solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, and a locked, graded test cell that
calls :func:`ragteach.exercises.grade` (random inputs, hints, never the expected value) — then runs
``nbgrader generate_assignment``, which strips the solutions into ``release/`` (what students get) and records
the assignment and its points in ``gradebook.db`` (what the grader needs).

``grade(course, submissions)`` copies a folder of submitted notebooks (``<student>/NN_name.ipynb``, or nbgrader's
own ``<student>/NN_name/NN_name.ipynb``) into ``submitted/``, runs ``nbgrader autograde`` (it re-inserts the
locked test cells, executes each notebook and scores each test cell), and returns a table: one row per student,
one column per exercise, and the total; it also writes ``grades.csv`` (and, from the command line, each student's
HTML feedback in ``feedback/``).

Only the exercises are graded, not the notebooks' training runs, so grading a class takes seconds per student.
Command line: ``python -m ragteach.exercises.assignments build COURSE`` /
``python -m ragteach.exercises.assignments grade COURSE SUBMISSIONS``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ragteach.exercises import MODULES, all_exercises

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
POINTS = 1  # per exercise


def _with_venv_on_path() -> None:
    """nbgrader runs ``alembic`` (its database migrations) from PATH: put this Python's scripts folder first."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def _nbgrader(course: Path, *args: str) -> None:
    """Run an nbgrader command in the course directory; raise with its output when it fails."""
    _with_venv_on_path()
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}", "--log-level=WARN"]
    done = subprocess.run(cmd, cwd=course, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:4])} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def _statement(markdown: str) -> str:
    """The exercise's statement: from its '### Exercise' heading to the end of that part of the cell."""
    at = markdown.rfind("### Exercise")
    text = markdown[at:] if at >= 0 else markdown
    return re.split(r"\n\n(?=\*\*|## )", text)[0].strip()


def _cell(kind: str, source: str, nbgrader: dict[str, Any] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, "task": False, **nbgrader}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def source_notebook(stem: str) -> dict[str, Any]:
    """The teacher's version of notebook ``stem``'s exercises, with solutions and graded test cells."""
    notebook = json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text())
    exercises = all_exercises()
    title = next("".join(c["source"]).split("\n")[0].lstrip("# ") for c in notebook["cells"]
                 if c["cell_type"] == "markdown")
    module = MODULES[stem].rsplit(".", 1)[1]
    cells = [
        _cell("markdown", f"# Exercises · {title}\n\nWrite each function where it says `YOUR CODE HERE` and run every "
                          f"cell. The cell after each function checks it on random inputs and gives a hint when it is "
                          f"not right yet; the same checks grade your work. The notebook `notebooks/{stem}.ipynb` "
                          f"explains everything these exercises use.",
              {"grade": False, "solution": False, "locked": True, "grade_id": "intro"}),
        _cell("code", f"import math\n\nimport torch\nimport torch.nn.functional as F\n\n"
                      f"from ragteach.exercises import grade, {module} as ex",
              {"grade": False, "solution": False, "locked": True, "grade_id": "setup"}),
    ]
    previous_markdown = ""
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            previous_markdown = source
            continue
        name = cell.get("metadata", {}).get("ragteach", {}).get("exercise")
        if name is None:
            continue
        exercise = exercises[name]
        fn = exercise.reference.__name__
        statement = _statement(previous_markdown)
        if cell["metadata"]["ragteach"].get("kind") == "fix":  # the code to repair is part of the question
            buggy = source.split(f"{name} = ex.check_")[0].strip()
            statement += f"\n\nThe code to fix:\n\n```python\n{buggy}\n```"
        cells += [
            _cell("markdown", statement,
                  {"grade": False, "solution": False, "locked": True, "grade_id": f"{name}_statement"}),
            _cell("code", exercise.solution_code(markers=True),
                  {"grade": False, "solution": True, "locked": False, "grade_id": name}),
            _cell("code", f"# Graded ({POINTS} point): your function on random inputs.\ngrade({name!r}, {fn})",
                  {"grade": True, "solution": False, "locked": True, "grade_id": f"test_{name}", "points": POINTS}),
        ]
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                                         "name": "python3"},
                                          "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def build(course: Path, stems: list[str] | None = None) -> list[Path]:
    """Write the nbgrader course ``course``: source/ (teacher), release/ (students), gradebook.db (grader).
    Returns the student notebooks."""
    course = Path(course).resolve()
    if course.exists() and not course.is_dir():
        raise FileExistsError(f"the course {course} is a file, not a folder: give a new or existing folder, "
                              f"e.g. {course.with_suffix('')}_course")
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "# Written by `make assignments` (ragteach.exercises.assignments).\n"
        "c = get_config()  # noqa: F821\n"
        "c.CourseDirectory.course_id = 'ragteach'\n"
        "c.ExecutePreprocessor.timeout = 120\n")
    released = []
    for stem in stems or list(MODULES):
        folder = course / "source" / stem
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.ipynb").write_text(json.dumps(source_notebook(stem), indent=1, ensure_ascii=False) + "\n")
        _nbgrader(course, "generate_assignment", stem, "--force")
        released.append(course / "release" / stem / f"{stem}.ipynb")
    return released


def _collect(course: Path, submissions: Path, stems: list[str]) -> dict[str, list[str]]:
    """Copy ``submissions/<student>/<stem>.ipynb`` (or ``<student>/<stem>/<stem>.ipynb``) into submitted/."""
    graded: dict[str, list[str]] = {}
    students = sorted(p for p in Path(submissions).iterdir() if p.is_dir())
    if not students:
        raise FileNotFoundError(f"no student folders in {submissions}: expected <student>/<assignment>.ipynb")
    for student in students:
        for stem in stems:
            found = [p for p in (student / f"{stem}.ipynb", student / stem / f"{stem}.ipynb") if p.exists()]
            if not found:
                continue
            target = course / "submitted" / student.name / stem
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            shutil.copy(found[0], target / f"{stem}.ipynb")
            graded.setdefault(stem, []).append(student.name)
    if not graded:
        raise FileNotFoundError(f"no submitted notebook in {submissions} matches an assignment of {course}: expected "
                                f"<student>/<assignment>.ipynb with <assignment> one of {stems}")
    return graded


def _autograde_each(course: Path, graded: dict[str, list[str]], feedback: bool) -> dict[str, list[str]]:
    """Autograde each (assignment, student) on its own, so that one broken notebook stops only itself. A failed
    one is reported, left out of the result, and its copies are removed (a later run must not trip on them)."""
    done: dict[str, list[str]] = {}
    for stem, students in graded.items():
        for student in students:
            try:
                _nbgrader(course, "autograde", stem, f"--student={student}", "--create", "--force")
                if feedback:
                    _nbgrader(course, "generate_feedback", stem, f"--student={student}", "--force")
            except RuntimeError as exc:
                print(f"skipped {student}/{stem}.ipynb: it could not be graded (is it a notebook saved by "
                      f"Jupyter?): {str(exc).strip().splitlines()[-1][:200]}", file=sys.stderr)
                for part in ("submitted", "autograded", "feedback"):
                    shutil.rmtree(course / part / student / stem, ignore_errors=True)
                continue
            done.setdefault(stem, []).append(student)
    return done


def grade(course: Path, submissions: Path, feedback: bool = False) -> list[dict[str, Any]]:
    """Autograde every submitted notebook; one row per student: points per exercise, total and maximum.
    With ``feedback``, nbgrader also writes each student's executed notebook as HTML to ``feedback/``."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Path(course).resolve()
    stems = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    graded = _autograde_each(course, _collect(course, Path(submissions), stems), feedback)
    if not graded:
        raise RuntimeError(f"none of the submissions in {submissions} could be graded (see the messages above); "
                           f"grades.csv was not written")
    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in sorted({s for names in graded.values() for s in names}):
            row: dict[str, Any] = {"student": student}
            total = max_total = 0.0
            for stem, names in graded.items():
                if student not in names:
                    continue
                try:
                    nb = gb.find_submission_notebook(stem, stem, student)
                except MissingEntry:
                    continue
                for g in sorted(nb.grades, key=lambda g: g.name):
                    if g.max_score:
                        row[g.name.removeprefix("test_")] = g.score
                total, max_total = total + nb.score, max_total + nb.max_score
            row["total"], row["max"] = total, max_total
            rows.append(row)
    columns = ["student"] + sorted({k for r in rows for k in r} - {"student", "total", "max"}) + ["total", "max"]
    with open(course / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the grades: students down, exercises across."""
    columns = ["student"] + sorted({k for r in rows for k in r} - {"student", "total", "max"}) + ["total", "max"]
    cells = [[str(r.get(c, "")) if not isinstance(r.get(c), float) else f"{r[c]:g}" for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths))  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write source/ (with solutions), release/ (for students) and gradebook.db")
    b.add_argument("course", type=Path)
    g = sub.add_parser("grade", help="autograde a folder of submissions: <student>/<NN_name>.ipynb")
    g.add_argument("course", type=Path)
    g.add_argument("submissions", type=Path)
    g.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback in COURSE/feedback/")
    args = parser.parse_args(argv)
    try:
        _run(parser, args)
    except (FileExistsError, FileNotFoundError, RuntimeError) as exc:
        parser.error(str(exc))


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.command == "build":
        for path in build(args.course):
            print(f"student notebook: {path}")
        print(f"give students the notebooks in {args.course / 'release'}; keep {args.course} (solutions, gradebook)")
    else:
        if not (args.course / "gradebook.db").exists():
            parser.error(f"{args.course} has no gradebook.db: run `make assignments` first")
        if not args.submissions.is_dir():
            parser.error(f"{args.submissions} is not a folder: pass SUBMISSIONS=<folder of student folders>")
        rows = grade(args.course, args.submissions, feedback=not args.no_feedback)
        print(table(rows))
        print(f"written: {args.course / 'grades.csv'}"
              + ("" if args.no_feedback else f"; feedback for each student in {args.course / 'feedback'}/<student>/"))


if __name__ == "__main__":
    main()
