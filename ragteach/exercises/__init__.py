"""The notebooks' exercises: hidden reference solutions, checkers on random inputs, "predict, then run".

A notebook cell calls ``ex.check_<name>(my_function)``: it prints a verdict (a hint on failure, never the expected
value) and returns the function to use from then on — the learner's when it passes, otherwise the reference
solution, saying so. :func:`all_exercises` lists every exercise by name (for tests, the website and grading).
"""
from __future__ import annotations

from importlib import import_module

from ragteach.exercises.checking import CheckerError, Exercise, Mistake, Result, reveal, strict_mode

#: notebook stem → the module holding its exercises
MODULES = {
    "01_gan_basics": "ragteach.exercises.gan_basics",
    "02_relative_augmentation": "ragteach.exercises.relative_augmentation",
    "03_random_activations": "ragteach.exercises.random_activations",
    "04_retrieval_generation": "ragteach.exercises.retrieval",
    "05_generative_models_compared": "ragteach.exercises.generative_models",
}


def all_exercises() -> dict[str, Exercise]:
    """Every exercise of every notebook, by its unique name (imports the five modules)."""
    found: dict[str, Exercise] = {}
    for module in MODULES.values():
        for name, exercise in import_module(module).EXERCISES.items():
            if name in found:
                raise RuntimeError(f"two exercises are named {name!r}")
            found[name] = exercise
    return found


def grade(name: str, fn: object) -> Result:
    """Grade ``fn`` against exercise ``name``; raise AssertionError with the hint when it fails (for autograders)."""
    exercises = all_exercises()
    if name not in exercises:
        raise KeyError(f"no exercise named {name!r}; known: {sorted(exercises)}")
    result = exercises[name].grade(fn)  # type: ignore[arg-type]
    if not result:
        raise AssertionError(result.message)
    return result


__all__ = ["CheckerError", "Exercise", "Mistake", "MODULES", "Result", "all_exercises", "grade", "reveal",
           "strict_mode"]
