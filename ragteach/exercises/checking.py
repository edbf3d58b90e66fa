"""What every exercise shares: a hidden reference, random test inputs, typical mistakes, honest hints.

An :class:`Exercise` holds the reference solution (the answer key, like the back of a textbook: a learner can
read this package, and that is fine), a function that draws test arguments from a seeded generator, and the
typical mistakes as wrong functions paired with a hint. Grading a learner's function ``f``:

1. run ``f`` and the reference on ``n_cases`` (≥ 3) random argument tuples (the seed is fixed per exercise);
2. ``f`` passes when ``f(*args) ≈ reference(*args)`` on every case (``rtol = atol = tol``), whatever number type
   it returns (Python, numpy scalar, 0-d or one-element tensor);
3. otherwise the hint names the mistake whose output ``f`` reproduces, or says what is wrong (a constant, a flipped
   sign, a shape), and it never prints the expected value.

:meth:`Exercise.check` is what a notebook cell calls: it prints the verdict and returns the function to use from
then on, the learner's own when it passed, otherwise the reference (saying so), so that "Run All" works from
untouched stubs. Under strict mode (environment ``RAGTEACH_STRICT=1``, set by ``make test``) every ``check``
first tests the checker itself: the reference must pass and every known-wrong answer (a constant, the flipped
sign, each typical mistake) must fail, or it raises :class:`CheckerError`.
"""
from __future__ import annotations

import ast
import copy
import inspect
import textwrap
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ragteach.config import env_flag, site_mode


def strict_mode() -> bool:
    """True when the environment variable ``RAGTEACH_STRICT`` is set to a true value (as every ragteach flag)."""
    return env_flag("RAGTEACH_STRICT")


class CheckerError(AssertionError):
    """A checker that accepts a wrong answer or refuses the reference (raised in strict mode)."""


@dataclass
class Result:
    """The outcome of a check; prints itself as a short line in the notebook."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return ("✅ pass: " if self.passed else "❌ not yet: ") + self.message

    __str__ = __repr__


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer (a function with the exercise's signature) and the hint it deserves."""

    answer: Callable[..., Any]
    hint: str


def as_tensor(value: Any) -> torch.Tensor | None:
    """A float64 tensor from a tensor, numpy array/scalar, Python number or nested list; None if impossible."""
    if value is None or value is Ellipsis or isinstance(value, (str, bytes, dict, set)):
        return None
    try:
        if isinstance(value, torch.Tensor):
            return value.detach().to("cpu", torch.float64)
        return torch.as_tensor(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError, RuntimeError):
        return None


def _same(a: torch.Tensor | None, b: torch.Tensor | None, tol: float) -> bool:
    """Equal shapes (a one-element result matches a scalar) and values within ``tol`` (relative and absolute)."""
    if a is None or b is None:
        return False
    if a.numel() == 1 and b.numel() == 1:
        a, b = a.reshape(()), b.reshape(())
    if a.shape != b.shape or not bool(torch.isfinite(a).all()):
        return False
    return bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _call(fn: Callable[..., Any], args: tuple) -> tuple[Any, str | None]:
    """``fn(*deep-copied args)``; an exception becomes a hint naming it (no traceback wall)."""
    try:
        out = fn(*copy.deepcopy(args))
    except NotImplementedError:
        return None, "the function still raises NotImplementedError: replace that line with your code."
    except Exception as exc:  # the learner's bug, reported as a hint
        return None, f"calling it raised {type(exc).__name__}: {exc}"
    if out is Ellipsis or out is None:
        return None, "the function returns nothing yet (`...` or None): write the code and `return` the result."
    return out, None


def _shape(t: torch.Tensor) -> str:
    return "one number" if t.numel() == 1 else f"shape {tuple(t.shape)}"


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``reference`` is the answer key, ``draw(generator)`` returns one tuple of test arguments.

    ``extra(fn, cases)`` may add a check beyond the values (e.g. a FLOP budget) and returns a hint or None.
    ``success`` is the line printed when the learner's function passes (a takeaway, never the expected values).
    """

    name: str
    reference: Callable[..., Any]
    draw: Callable[[torch.Generator], tuple]
    success: str
    mistakes: tuple[Mistake, ...] = ()
    n_cases: int = 4
    tol: float = 1e-4
    extra: Callable[[Callable[..., Any], list[tuple]], str | None] | None = None
    sign_hint: str = "the sign is flipped."
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.n_cases < 3:
            raise ValueError(f"{self.name}: n_cases={self.n_cases}; use at least 3 random inputs")

    # ---- test inputs -------------------------------------------------------------------------------------------
    def cases(self) -> list[tuple]:
        """``n_cases`` argument tuples drawn with a seed fixed by the exercise's name (the same on every run)."""
        if "cases" not in self._cache:
            gen = torch.Generator().manual_seed(zlib.crc32(self.name.encode()))
            self._cache["cases"] = [self.draw(gen) for _ in range(self.n_cases)]
        return copy.deepcopy(self._cache["cases"])

    def _wants(self) -> list[torch.Tensor]:
        if "wants" not in self._cache:
            wants = []
            for args in self.cases():
                t = as_tensor(self.reference(*args))
                if t is None:
                    raise CheckerError(f"{self.name}: the reference returned something that is not a number/array")
                wants.append(t)
            self._cache["wants"] = wants
        return self._cache["wants"]

    # ---- grading -----------------------------------------------------------------------------------------------
    def grade(self, fn: Callable[..., Any]) -> Result:
        """Compare ``fn`` with the reference on every case; a hint on failure that never shows expected values."""
        if not callable(fn):
            return Result(False, f"pass the function itself (got {type(fn).__name__}), e.g. check(my_function).")
        cases, wants = self.cases(), self._wants()
        gots: list[torch.Tensor | None] = []
        first_bad = None
        for i, (args, want) in enumerate(zip(cases, wants)):
            out, error = _call(fn, args)
            if error is not None:
                return Result(False, error)
            got = as_tensor(out)
            if got is None:
                return Result(False, f"return a number or a tensor; got {type(out).__name__}.")
            gots.append(got)
            if first_bad is None and not _same(got, want, self.tol):
                first_bad = i
        if first_bad is None:
            hint = self.extra(fn, cases) if self.extra is not None else None
            return Result(False, hint) if hint else Result(True, self.success)
        return Result(False, self._hint(cases, wants, gots, first_bad))

    def _hint(self, cases: list[tuple], wants: list[torch.Tensor], gots: list, i: int) -> str:
        got, want, args = gots[i], wants[i], cases[i]
        if len(gots) > 1 and all(_same(g, gots[0], self.tol) for g in gots) and \
                not all(_same(w, wants[0], self.tol) for w in wants):
            return ("your function returns the same value whatever its inputs: compute the result from the "
                    "arguments (it is tested on several random inputs).")
        for mistake in self.mistakes:
            try:
                wrong = as_tensor(mistake.answer(*copy.deepcopy(args)))
            except Exception:  # a mistake that does not apply to these inputs
                continue
            if _same(got, wrong, self.tol) and not _same(wrong, want, self.tol):
                return mistake.hint
        if got.numel() != want.numel() or (got.numel() > 1 and got.shape != want.shape):
            return f"expected {_shape(want)}, got {_shape(got)}."
        if _same(got, -want, self.tol):
            return self.sign_hint
        n_right = sum(_same(g, w, self.tol) for g, w in zip(gots, wants))
        if n_right:
            return (f"right on {n_right} of {len(gots)} random test inputs, wrong on the others: look for a "
                    "special case, a hard-coded size or an index that only works sometimes.")
        return "the result differs from the formula on the random test inputs: re-read it term by term."

    # ---- known wrong answers and self-test -----------------------------------------------------------------------
    def known_wrong(self) -> list[tuple[str, Callable[..., Any]]]:
        """Answers every checker must refuse: a constant (the right value for the first test input, returned
        whatever the input), the reference with its sign flipped, and each typical mistake."""
        const = self.reference(*self.cases()[0])
        wrong: list[tuple[str, Callable[..., Any]]] = [
            ("constant", lambda *a, _c=const: copy.deepcopy(_c)),
            ("sign flip", lambda *a: -as_tensor(self.reference(*a))),
        ]
        wrong += [(f"mistake: {m.hint[:40]}…", m.answer) for m in self.mistakes]
        return wrong

    def self_test(self) -> None:
        """Raise :class:`CheckerError` unless the reference passes and every known-wrong answer fails."""
        if self._cache.get("self_tested"):
            return
        if not self.grade(self.reference):
            raise CheckerError(f"{self.name}: the checker refuses its own reference ({self.grade(self.reference)})")
        for label, wrong in self.known_wrong():
            if self.grade(wrong):
                raise CheckerError(f"{self.name}: the checker accepts a known-wrong answer ({label})")
        self._cache["self_tested"] = True

    # ---- the answer key as code ---------------------------------------------------------------------------------
    def solution_code(self, markers: bool = False) -> str:
        """The reference as a learner would write it: ``def name(params):`` and the body, without annotations or
        docstring; with ``markers`` the body is fenced by nbgrader's ``### BEGIN/END SOLUTION`` lines."""
        source = textwrap.dedent(inspect.getsource(self.reference))
        fn = ast.parse(source).body[0]
        if not isinstance(fn, ast.FunctionDef):
            raise TypeError(f"{self.name}: the reference must be a plain function, got {type(fn).__name__}")
        body = fn.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and len(body) > 1:
            body = body[1:]  # drop the docstring
        code = "\n".join(source.split("\n")[body[0].lineno - 1: body[-1].end_lineno])
        head = f"def {self.reference.__name__}({', '.join(inspect.signature(self.reference).parameters)}):"
        if markers:
            return f"{head}\n    ### BEGIN SOLUTION\n{code}\n    ### END SOLUTION"
        return f"{head}\n{code}"

    # ---- what a notebook cell calls ------------------------------------------------------------------------------
    def check(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Print the verdict; return ``fn`` when it passes, else the reference solution (and say so)."""
        if strict_mode():
            self.self_test()
        result = self.grade(fn)
        if not result.passed and site_mode():
            # a page of the website is read, not run: show the answer key passing, not the learner's empty stub
            print(f"{self.grade(self.reference)} (the reference solution, collapsed below; in the notebook you "
                  "write your own)")
            return self.reference
        print(result)
        if result.passed:
            return fn
        print("↪ for the rest of this notebook the reference solution from ragteach.exercises stands in for "
              "yours, so the notebook still runs; fix your function and re-run this cell to use your own.")
        return self.reference


def reveal(prediction: Any, measured: Any, *, choices: Sequence[str] | None = None,
           rel_tol: float = 0.25, unit: str = "") -> bool:
    """"Predict, then run": compare the learner's prediction with a value measured by the code just run.

    With ``choices`` the prediction is one of them (case-insensitive); otherwise a number counts as right when
    within ``rel_tol`` of the measurement. Prints both and returns whether the prediction was right.
    """
    shown = f"{measured:.4g}{unit}" if isinstance(measured, (int, float)) else str(measured)
    if prediction is Ellipsis or prediction is None:
        print(f"No prediction written. Measured: {shown}. Next time, write your guess first: the surprise is "
              "the lesson.")
        return False
    if choices is not None:
        guess = str(prediction).strip().lower()
        options = [c.lower() for c in choices]
        if guess not in options:
            raise ValueError(f"write one of {list(choices)} as your prediction (got {prediction!r})")
        right = guess == str(measured).strip().lower()
    else:
        value = as_tensor(prediction)
        if value is None or value.numel() != 1:
            raise ValueError(f"write your prediction as one number (got {prediction!r})")
        right = abs(float(value) - float(measured)) <= rel_tol * max(abs(float(measured)), 1e-12)
    print(f"Your prediction: {prediction}. Measured: {shown}. "
          + ("✅ as you predicted." if right else "❌ not what you predicted: what did your reasoning miss?"))
    return right
