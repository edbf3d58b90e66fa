"""Knobs: named, typed, range-checked values that a training step reads once per step.

This is validation, not user interface: it lives in the core, and the widget layer only draws knobs.
A knob is set the same way from a slider and from code, so the same validation guards both:

>>> lr = Knob("lr", 2e-4, low=0.0, high=1.0, low_open=True)
>>> lr.validate(1.5)
Traceback (most recent call last):
ValueError: lr must be in (0, 1], got 1.5
"""
from __future__ import annotations

import math
import numbers
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

#: At most this many change records are kept (the oldest are dropped); loss plots thin them further.
MAX_CHANGES = 2_000


def _yield_to_training() -> None:
    """Wait 1 ms after a knob change while training runs (see :class:`Knobs`)."""
    time.sleep(0.001)


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass
class Knob:
    """One tunable value with its allowed range.

    kind: ``"float"``, ``"int"``, ``"bool"`` or ``"choice"`` (then ``choices`` lists the options).
    low/high: inclusive bounds unless ``low_open``/``high_open``; ``None`` means unbounded.
    log: a hint for the widget layer to use a logarithmic slider (learning rates).
    visible_if: ``(other_knob, values)``: the knob only matters (and is only shown) while ``other_knob``
        has one of ``values``, e.g. ``("source", ("beta",))``.
    """

    name: str
    value: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    kind: str = "float"
    choices: tuple = ()
    log: bool = False
    description: str = ""
    visible_if: tuple[str, tuple] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "bool", "choice"):
            raise ValueError(f"kind must be one of float, int, bool, choice; got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"knob {self.name!r} of kind 'choice' needs a non-empty choices tuple")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"knob {self.name!r}: low={self.low:g} is above high={self.high:g}; "
                             f"swap them (low is the smallest allowed value)")
        self.value = self.validate(self.value)

    def range_text(self) -> str:
        """The allowed values in interval notation, e.g. ``(0, 1]`` or ``one of 'a', 'b'``."""
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        left = "(" if (self.low_open or self.low is None) else "["
        right = ")" if (self.high_open or self.high is None) else "]"
        return f"{left}{lo}, {hi}{right}"

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to the knob's type, or raise ``ValueError`` naming the knob."""
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{self.name} must be {self.range_text()}, got {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
                raise ValueError(f"{self.name} must be True or False, got {value!r}")
            return bool(value)
        # a number, not a bool (True is 1 to Python, never a learning rate) and not a string ("0.01")
        # (numpy numbers count: np.float32 and np.int64 are numbers.Real, np.bool_ is a bool)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"{self.name} must be a number in {self.range_text()}, got {value!r} "
                             f"({type(value).__name__})")
        try:
            number = float(value)
        except OverflowError:  # an int like 10**400 has no float
            number = math.inf if value > 0 else -math.inf
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{self.name} must be a finite number in {self.range_text()}, got {value!r}")
        if self.kind == "int":
            if number != int(number):
                raise ValueError(f"{self.name} must be a whole number in {self.range_text()}, got {value!r}")
            number = int(number)
        too_low = self.low is not None and (number < self.low or (self.low_open and number == self.low))
        too_high = self.high is not None and (number > self.high or (self.high_open and number == self.high))
        if too_low or too_high:
            raise ValueError(f"{self.name} must be in {self.range_text()}, got {_fmt(number)}")
        return number


@dataclass
class KnobChange:
    """A record of one accepted change: before which step it took effect, and the values."""

    step: int
    name: str
    old: Any
    new: Any


@dataclass
class Knobs:
    """A thread-safe set of knobs. ``knobs["lam"] = 0.3`` validates; a refused value keeps the old one.

    ``step_of_next_change`` is supplied by the session so that each change is recorded with the
    first step that will use it. ``busy`` is set by the session too: while it returns True (training runs),
    every setter (``set``, ``knobs[name] = v``, ``update``) waits 1 ms after a change, so that a loop setting
    knobs as fast as it can cannot starve the training thread of the interpreter lock (a slider sends a few
    values a second; ``benchmarks/live_overhead.py`` measures it).
    """

    knobs: dict[str, Knob] = field(default_factory=dict)
    changes: deque = field(default_factory=lambda: deque(maxlen=MAX_CHANGES))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._next_step = 0
        self.busy: Callable[[], bool] = lambda: False
        self.changes = deque(self.changes, maxlen=MAX_CHANGES)
        for knob in self.knobs.values():
            if knob.visible_if is not None and knob.visible_if[0] not in self.knobs:
                raise ValueError(f"knob {knob.name!r} is visible_if {knob.visible_if[0]!r}, which is not a knob")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "busy")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock, self.busy = threading.Lock(), lambda: False

    @classmethod
    def of(cls, *knobs: Knob) -> "Knobs":
        names = [k.name for k in knobs]
        if len(set(names)) != len(names):
            raise ValueError(f"knob names must be unique, got {names}")
        return cls({k.name: k for k in knobs})

    def __getitem__(self, name: str) -> Any:
        return self._knob(name).value

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self.knobs

    def __iter__(self) -> Iterator[Knob]:
        return iter(self.knobs.values())

    def _knob(self, name: str) -> Knob:
        if name not in self.knobs:
            raise KeyError(f"no knob named {name!r}; the knobs are {sorted(self.knobs)}")
        return self.knobs[name]

    def set(self, name: str, value: Any) -> None:
        """Validate and set one knob; it takes effect at the next training step.

        Changes before the same step coalesce into one record (a dragged slider sends many values);
        a change back to the value the step would have used removes the record."""
        self._set(name, self._knob(name).validate(value))  # validate raises before anything changes
        if self.busy():
            _yield_to_training()

    def _set(self, name: str, new: Any) -> None:
        knob = self.knobs[name]
        with self._lock:
            old = knob.value
            if new == old:
                return
            knob.value = new
            last = next((c for c in reversed(self.changes) if c.name == name), None)
            if last is not None and last.step == self._next_step:
                if last.old == new:
                    self.changes.remove(last)
                else:
                    last.new = new
            else:
                self.changes.append(KnobChange(self._next_step, name, old, new))

    def visible(self, name: str) -> bool:
        """Whether knob ``name`` matters with the current values (see ``Knob.visible_if``)."""
        cond = self._knob(name).visible_if
        return cond is None or self.knobs[cond[0]].value in cond[1]

    def update(self, **values: Any) -> None:
        """Set several knobs; all are validated first, so either all change or none does."""
        checked = {name: self._knob(name).validate(v) for name, v in values.items()}
        for name, value in checked.items():
            self._set(name, value)
        if checked and self.busy():
            _yield_to_training()

    def snapshot(self, next_step: int | None = None) -> dict[str, Any]:
        """The current values as a plain dict, read atomically (the step reads knobs through this).

        ``next_step``: the step that is about to use these values; later changes are recorded
        as taking effect after it.
        """
        with self._lock:
            if next_step is not None:
                self._next_step = next_step + 1
            return {name: k.value for name, k in self.knobs.items()}

    def set_next_step(self, step: int) -> None:
        """Tell the knobs which step runs next (after a checkpoint load), for the change records."""
        with self._lock:
            self._next_step = step

    def check_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` validated (every knob of this set, each in range), or a ValueError naming the first bad one."""
        missing = sorted(set(self.knobs) - set(values))
        if missing:
            raise ValueError(f"the values lack the knob(s) {missing}")
        return {name: self.knobs[name].validate(values[name]) for name in self.knobs}

    def load_values(self, values: dict[str, Any]) -> None:
        """Restore values (from a checkpoint) without recording them as live changes; all are validated
        first, so a bad value changes nothing."""
        checked = self.check_values(values)
        with self._lock:
            for name, value in checked.items():
                self.knobs[name].value = value
