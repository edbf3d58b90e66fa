"""Exit quizzes: every notebook has one, every teacher's guide shows its notebook's, and grading is right."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragteach.exercises.quiz import QUIZZES, Question, Quiz, exit_quiz, shown

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
GUIDES = ROOT / "book" / "teachers"


def key(quiz: Quiz) -> str:
    return "".join(shown(q)[1] for q in quiz.questions)


def test_every_notebook_has_a_quiz_and_a_guide_that_shows_it():
    assert sorted(QUIZZES) == NOTEBOOKS
    for stem in NOTEBOOKS:
        guide = (GUIDES / f"{stem}.md").read_text(encoding="utf-8")
        assert f'exit_quiz("{stem}")' in guide
        assert f"../notebooks/{stem}.ipynb" in guide
        for heading in ("## Prerequisites", "## Objectives", "## A 90-minute plan", "## Discussion questions",
                        "## Exit quiz"):
            assert heading in guide, (stem, heading)


def test_the_guides_are_in_the_books_table_of_contents():
    toc = (ROOT / "book" / "_toc.yml").read_text(encoding="utf-8")
    assert sorted(re.findall(r"teachers/(\w+)", toc)) == NOTEBOOKS


def test_a_quizs_plan_adds_up_to_90_minutes():
    for stem in NOTEBOOKS:
        guide = (GUIDES / f"{stem}.md").read_text(encoding="utf-8")
        ends = [int(b) for _, b in re.findall(r"^\| (\d+)–(\d+) \|", guide, flags=re.M)]
        assert ends and ends[-1] == 90 and ends == sorted(ends), (stem, ends)


@pytest.mark.parametrize("stem", sorted(QUIZZES))
def test_the_key_scores_full_and_one_wrong_answer_scores_one_less(stem, capsys):
    quiz = exit_quiz(stem)
    right = key(quiz)
    assert quiz.check(right) == len(quiz.questions)
    wrong = ("b" if right[0] == "a" else "a") + right[1:]
    assert quiz.check(" ".join(wrong)) == len(quiz.questions) - 1
    out = capsys.readouterr().out
    assert "❌" in out and quiz.questions[0].why in out
    assert f"Score: {len(quiz.questions) - 1}/{len(quiz.questions)}" in out


def test_the_questions_show_without_their_answers():
    quiz = exit_quiz("01_gan_basics")
    text = quiz._repr_markdown_()
    assert all(q.text in text for q in quiz.questions)
    assert not any(q.why in text for q in quiz.questions)


def test_no_quiz_has_the_same_letter_for_every_answer():
    for stem in QUIZZES:
        assert len(set(key(exit_quiz(stem)))) > 1, stem
    every = "".join(key(exit_quiz(stem)) for stem in QUIZZES)
    assert max(every.count(c) for c in set(every)) <= 0.6 * len(every), every


def test_the_shown_key_points_at_the_right_option():
    for stem in QUIZZES:
        for q in QUIZZES[stem]:
            options, letter = shown(q)
            assert sorted(options) == sorted(q.options)
            assert options["abcdefghijklmnopqrstuvwxyz".index(letter)] == q.options[q.answer]


def test_bad_answers_say_what_to_write():
    quiz = exit_quiz("01_gan_basics")
    with pytest.raises(ValueError, match="one letter per question: 4 letters, got 2"):
        quiz.check("ab")
    with pytest.raises(ValueError, match="question 1: 'z' is not one of its options"):
        quiz.check("zbbb")
    with pytest.raises(TypeError, match="string of letters"):
        quiz.check(["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no exit quiz for '07_x'"):
        exit_quiz("07_x")
    with pytest.raises(ValueError, match="answer index 3"):
        Question("q", ("a", "b"), 3, "why")
