"""The experiment core: one record per training run, and one loop that trains runs and measures them.

Every lesson's experiment has one shape: build a trainer for some runs (one run, or K side by side in a
batched trainer), train it, measure each run every ``evaluate_every`` steps, score the runs at the end. The
loop is written once, here (:func:`train_runs`); a lesson says only what to build and what to measure.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from ragteach.live.session import TrainingSession
from ragteach.training import Trainer, check_positive_int, without_undo


@dataclass
class Run:
    """One training run.

    settings: what sets it apart (method, seed, training data, p, ...); ``run["seed"]`` reads one.
    history: one row per evaluation, ``{"step": t, "s/step": ..., name: value}``; ``run.curve(name)`` is a column.
    scores: the final measurements. seconds: its training time (its share, when runs train side by side).
    trainer / index: the trainer that holds it and which of its runs it is (``None``: the trainer's only run).
    samples: a few final samples, kept in place of the trainer by a stored run whose trainer is not kept.
    """

    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    trainer: Trainer | None = None
    index: int | None = None
    samples: torch.Tensor | None = None
    keep_trainer: bool = True   # False: a stored copy (ragteach.results) keeps ``samples``, not the trainer

    def __getitem__(self, name: str) -> Any:
        return self.settings[name]

    def curve(self, name: str) -> list[Any]:
        """The measurement ``name`` at every evaluation that has it."""
        return [row[name] for row in self.history if name in row]

    def sample(self, n: int, **options: Any) -> torch.Tensor:
        """``n`` samples of this run: drawn by its trainer, or the kept ones of a stored run."""
        if self.trainer is not None:
            out = self.trainer.sample(n, **options)
            return out if self.index is None else out[self.index]
        if self.samples is None or n > len(self.samples):
            kept = 0 if self.samples is None else len(self.samples)
            raise ValueError(f"this run kept no trainer, only {kept} samples: ask for at most {kept}")
        return self.samples[:n]

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ if self.keep_trainer else {**self.__dict__, "trainer": None}


@dataclass(frozen=True)
class Schedule:
    """Learning rates over a run: every knob named ``lr...`` keeps its starting value lr0 until the last
    ``fraction`` of the steps, then falls to ``low``, at once (``decay="step"``) or geometrically
    (``decay="exp"``: lr_t = lr0 · (low/lr0)^((t − t0)/(T − t0)), updated ``updates`` times). A large rate
    finds the modes, a small one puts the samples onto them. ``low=None``: no change."""

    low: float | None = None
    fraction: float = 0.25
    decay: str = "step"
    updates: int = 50

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"sharpen_fraction must be in [0, 1], got {self.fraction}")
        if self.decay not in ("step", "exp"):
            raise ValueError(f"lr_decay must be 'step' or 'exp', got {self.decay!r}")
        if self.low is not None and not self.low > 0:
            raise ValueError(f"sharpen_lr must be > 0, got {self.low}")

    def start(self, steps: int) -> int:
        """The step at which the rates start to fall."""
        return steps - int(self.fraction * steps) if self.low is not None else steps

    def rate(self, lr0: float, step: int, steps: int) -> float:
        t0 = self.start(steps)
        if self.low is None or step < t0:
            return lr0
        if self.decay == "step":
            return self.low
        return lr0 * (self.low / lr0) ** ((step - t0) / max(1, steps - t0))

    def chunks(self, steps: int, eval_every: int) -> list[tuple[int, int, bool]]:
        """(first step, length, evaluate after?) for every stretch of constant rates."""
        evals = set(range(eval_every, steps, eval_every)) | {steps}
        cuts = set(evals)
        t0 = self.start(steps)
        if 0 < t0 < steps:
            cuts.add(t0)
            if self.decay == "exp":
                cuts |= set(range(t0, steps, max(1, (steps - t0) // self.updates)))
        out, done = [], 0
        for end in sorted(cuts):
            out.append((done, end - done, end in evals))
            done = end
        return out


def train_runs(trainer: Trainer, settings: Sequence[dict[str, Any]], steps: int, evaluate_every: int,
               evaluate: Callable[[], Sequence[dict[str, Any]]] | None = None, *, knobs: Any = None,
               schedule: Schedule | None = None, progress: bool = False, desc: str = "") -> list[Run]:
    """Train the runs ``trainer`` holds for ``steps`` steps; measure them every ``evaluate_every`` steps and at the end.

    settings: one dict per run of the trainer (one, or K for a batched trainer), copied into its :class:`Run`.
    evaluate(): one row of measurements per run, added to its history with the step and the seconds per
        training step of the stretch just trained (``None``: no measurements along the way).
    knobs: the session's knobs (default: the trainer's); schedule: how the learning rates fall (:class:`Schedule`).
    A failed step ends the call with its error: the trainer keeps no undo copy, and no run is returned.
    """
    check_positive_int("steps", steps)
    check_positive_int("evaluate_every", evaluate_every)
    batched = trainer.n_runs is not None
    if len(settings) != (trainer.n_runs if batched else 1):
        raise ValueError(f"give one settings dict per run of the trainer, got {len(settings)}")
    runs = [Run(dict(s), trainer=trainer, index=i if batched else None) for i, s in enumerate(settings)]
    session = TrainingSession(trainer, knobs)
    schedule = schedule or Schedule()
    lr0 = {k: v for k, v in session.knobs.snapshot().items() if k.startswith("lr")}
    trained, stretch, stretch_steps = 0.0, 0.0, 0
    with without_undo(trainer):
        for first, length, measure in schedule.chunks(steps, evaluate_every):
            if first >= schedule.start(steps):
                session.knobs.update(**{k: schedule.rate(v, first, steps) for k, v in lr0.items()})
            started = time.perf_counter()
            session.run(length, progress=progress, desc=desc, reraise_interrupt=True)
            stretch, stretch_steps = stretch + time.perf_counter() - started, stretch_steps + length
            if measure:
                trained += stretch
                for run, row in zip(runs, evaluate() if evaluate else [{}] * len(runs)):
                    run.history.append({"step": session.step, "s/step": stretch / stretch_steps, **row})
                stretch, stretch_steps = 0.0, 0
    for run in runs:
        run.seconds = trained / len(runs)
    return runs
