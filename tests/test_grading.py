"""The teacher's round trip with nbgrader: build the student version, collect three submissions, grade them.

The reference solution gets full marks, the untouched student notebook zero, and a notebook with one wrong
answer loses exactly that exercise's point. Only notebook 01's exercises are graded here, to stay fast; the
other notebooks' assignments are built and checked for leaked solutions."""
import json
import os
import shutil

import pytest

from ragteach.exercises import all_exercises
from ragteach.exercises import assignments as asg

if os.environ.get("RAGTEACH_STRICT") == "1":  # `make test` installs the [teach] extra: nbgrader must be there
    import nbgrader  # noqa: F401
else:
    pytest.importorskip("nbgrader", reason="the [teach] extra (nbgrader) is not installed")

STEM = "01_gan_basics"


def _code(nb):
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    asg.build(root, [STEM])
    return root


def test_student_version_has_no_solution(course):
    student = json.loads((course / "release" / STEM / f"{STEM}.ipynb").read_text())
    teacher = json.loads((course / "source" / STEM / f"{STEM}.ipynb").read_text())
    assert any("BEGIN SOLUTION" in c for c in _code(teacher))
    assert not any("BEGIN SOLUTION" in c or "torch.log" in c or "cdist" in c for c in _code(student))
    assert sum("raise NotImplementedError()" in c for c in _code(student)) == 3
    assert (course / "gradebook.db").exists()


def test_every_assignment_strips_every_solution(tmp_path):
    for stem in asg.MODULES:
        teacher = asg.source_notebook(stem)
        answers = [c for c in teacher["cells"] if c["metadata"]["nbgrader"].get("solution")]
        assert answers, stem
        for cell in answers:  # everything between the markers goes; only the def line stays
            src = cell["source"]
            assert src.index("### BEGIN SOLUTION") < src.index("### END SOLUTION")
            assert src.split("\n")[0].startswith("def ") and src.count("def ") == 1
    names = {c["metadata"]["nbgrader"]["grade_id"] for s in asg.MODULES for c in asg.source_notebook(s)["cells"]
             if c["metadata"]["nbgrader"].get("solution")}
    assert names == set(all_exercises())


def test_grading_round_trip(course, tmp_path):
    subs = tmp_path / "submissions"
    for student in ("ada", "bob", "cy"):
        (subs / student).mkdir(parents=True)
    shutil.copy(course / "source" / STEM / f"{STEM}.ipynb", subs / "ada" / f"{STEM}.ipynb")  # the reference
    shutil.copy(course / "release" / STEM / f"{STEM}.ipynb", subs / "bob" / f"{STEM}.ipynb")  # untouched
    one_wrong = json.loads((course / "source" / STEM / f"{STEM}.ipynb").read_text())
    for cell in one_wrong["cells"]:  # flip the sign of the generator's loss, leave the rest right
        if cell["metadata"]["nbgrader"]["grade_id"] == "g_loss":
            assert "-torch.log(d_fake).mean()" in cell["source"]
            cell["source"] = cell["source"].replace("-torch.log(d_fake).mean()", "torch.log(d_fake).mean()")
    (subs / "cy" / STEM).mkdir()  # nbgrader's own layout is accepted too
    (subs / "cy" / STEM / f"{STEM}.ipynb").write_text(json.dumps(one_wrong))
    # the same wrong answer, with its graded cell emptied: nbgrader restores the locked cell, the point is still lost
    (subs / "dee").mkdir()
    for cell in one_wrong["cells"]:
        if cell["metadata"]["nbgrader"]["grade_id"] == "test_g_loss":
            cell["source"] = "pass"
    (subs / "dee" / f"{STEM}.ipynb").write_text(json.dumps(one_wrong))

    rows = {r["student"]: r for r in asg.grade(course, subs)}
    assert rows["ada"]["total"] == rows["ada"]["max"] == 3
    assert rows["bob"]["total"] == 0 and rows["bob"]["max"] == 3
    assert rows["cy"]["total"] == 2 and rows["cy"]["g_loss"] == 0
    assert rows["cy"]["d_loss"] == rows["cy"]["count_modes"] == 1
    assert rows["dee"]["total"] == 2 and rows["dee"]["g_loss"] == 0
    text = asg.table(list(rows.values()))
    assert text.splitlines()[0].split() == ["student", "count_modes", "d_loss", "g_loss", "total", "max"]
    assert (course / "grades.csv").read_text().startswith("student,count_modes,d_loss,g_loss,total,max")


def test_a_corrupt_submission_is_reported_and_skipped_and_does_not_break_a_later_run(course, tmp_path, capsys):
    """One broken .ipynb stops only itself; its copy does not stay behind to fail every later run."""
    subs = tmp_path / "class"
    for student in ("eve", "fay"):
        (subs / student).mkdir(parents=True)
    (subs / "eve" / f"{STEM}.ipynb").write_text("{ this is not a notebook")
    shutil.copy(course / "source" / STEM / f"{STEM}.ipynb", subs / "fay" / f"{STEM}.ipynb")
    rows = {r["student"]: r for r in asg.grade(course, subs)}
    assert set(rows) == {"fay"} and rows["fay"]["total"] == 3
    assert f"skipped eve/{STEM}.ipynb" in capsys.readouterr().err
    assert not (course / "submitted" / "eve" / STEM).exists()
    later = tmp_path / "later"
    (later / "fay").mkdir(parents=True)
    shutil.copy(subs / "fay" / f"{STEM}.ipynb", later / "fay" / f"{STEM}.ipynb")
    assert [r["student"] for r in asg.grade(course, later)] == ["fay"]


def test_grading_with_no_matching_notebook_says_so_and_writes_no_grades(course, tmp_path, capsys):
    subs = tmp_path / "wrong_names"
    (subs / "gus").mkdir(parents=True)
    (subs / "gus" / "homework.ipynb").write_text("{}")
    (course / "grades.csv").unlink(missing_ok=True)
    with pytest.raises(SystemExit):
        asg.main(["grade", str(course), str(subs)])
    err = capsys.readouterr().err
    assert "no submitted notebook" in err and STEM in err
    assert not (course / "grades.csv").exists()


def test_building_a_course_onto_a_file_says_so(tmp_path, capsys):
    existing = tmp_path / "course.txt"
    existing.write_text("notes")
    with pytest.raises(SystemExit):
        asg.main(["build", str(existing)])
    assert "is a file, not a folder" in capsys.readouterr().err
    assert existing.read_text() == "notes"
