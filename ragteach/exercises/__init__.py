"""Checkers for the notebooks' exercises: each runs the learner's function on fixed inputs and
prints ``pass`` or a hint. They return True/False so tests (and nbval) can assert on them."""
from ragteach.exercises.checking import Result

__all__ = ["Result"]
