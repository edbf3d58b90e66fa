"""What every checker shares: run the learner's code safely, compare, explain."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass
class Result:
    """The outcome of a check; prints itself as a short line in the notebook."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return ("✅ pass: " if self.passed else "❌ not yet: ") + self.message


def run_learner(fn: Callable[..., Any], *args: Any) -> tuple[Any, Result | None]:
    """Call ``fn``; an exception becomes a failed Result that names it (no traceback wall)."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, Result(False, "the function still raises NotImplementedError: fill it in.")
    except Exception as exc:  # the learner's bug, reported as a hint
        return None, Result(False, f"calling it raised {type(exc).__name__}: {exc}")


def as_float(value: Any) -> float | None:
    """A Python float from a number or a one-element tensor, or None."""
    if isinstance(value, torch.Tensor):
        return float(value) if value.numel() == 1 else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def close(a: float, b: float, tol: float = 1e-4) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))
