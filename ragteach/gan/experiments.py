"""Fixed-seed GAN runs on the 2D mixtures and the recipes notebooks 01 and 06 train with.

Their tables and verdicts are in :mod:`ragteach.gan.verdicts`."""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch

from ragteach.data.toy2d import GaussianMixture2D
from ragteach.gan.models import Discriminator, GANConfig, Generator, toy_config
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.live.session import TrainingSession
from ragteach.metrics.modes import ModeStats, mode_stats
from ragteach.parallel import run_jobs
from ragteach.training import check_positive_int, flush_denormals, without_undo


@dataclass
class ToyRun:
    """One training run: the mode score every ``eval_every`` steps and at the end.

    ``session`` drives this run's trainer; for runs trained together (:func:`train_toy_runs`) it drives a
    :class:`~ragteach.gan.batched.BatchedGANTrainer` and ``index`` says which of its runs this is."""

    method: str
    mixture: str
    seed: int
    steps: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    high_quality: list[float] = field(default_factory=list)
    d_accuracy: list[float] = field(default_factory=list)   # D's accuracy on fresh real and fake samples (0.5: chance)
    seconds: float = 0.0
    session: TrainingSession | None = None
    index: int | None = None
    data: GaussianMixture2D | None = None   # the mixture itself, to score further samples
    kept: float | None = None               # rejection_runs only: share of G's draws that D kept

    @property
    def final(self) -> tuple[int, float]:
        return self.modes[-1], self.high_quality[-1]

    def sample(self, n: int = 2500) -> torch.Tensor:
        """``n`` samples of this run's generator (fixed noise, as ``GANTrainer.sample``)."""
        if self.session is None:
            raise ValueError("this run kept no session (it was built from numbers), so it cannot sample")
        trainer = self.session.step_fn
        return trainer.sample(n) if self.index is None else trainer.sample(n)[self.index]

    def networks(self) -> tuple[Generator, Discriminator]:
        """This run's G and D as plain modules (for a run trained among others, its own slice of them)."""
        if self.session is None:
            raise ValueError("this run kept no session (it was built from numbers), so it has no networks")
        trainer = self.session.step_fn
        if self.index is None:
            return trainer.G, trainer.D
        return trainer.generator(self.index), trainer.discriminator(self.index)


@dataclass(frozen=True)
class Schedule:
    """The toy runs' learning rates: each knob keeps its starting value lr0 until the last ``fraction`` of
    the steps, then falls to ``low``, at once (``decay="step"``) or geometrically (``decay="exp"``:
    lr_t = lr0 · (low/lr0)^((t − t0)/(T − t0)), updated ``updates`` times). A large rate finds the
    modes, a small one puts the samples onto them. ``low=None``: no change."""

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


def _train_chunks(session: TrainingSession, schedule: Schedule, steps: int, eval_every: int, score: Any,
                  progress: bool, desc: str) -> None:
    """Run ``session`` through the schedule, calling ``score()`` after every evaluation stretch."""
    check_positive_int("steps", steps)
    check_positive_int("eval_every", eval_every)
    start = session.knobs.snapshot()
    lr0 = {"lr_g": start["lr_g"], "lr_d": start["lr_d"]}
    for first, length, evaluate in schedule.chunks(steps, eval_every):
        if first >= schedule.start(steps):
            session.knobs.update(**{k: schedule.rate(v, first, steps) for k, v in lr0.items()})
        session.run(length, progress=progress, desc=desc, reraise_interrupt=True)
        if evaluate:
            score()


def _eval_real(mixture: GaussianMixture2D, n: int, seed: int = 4321) -> torch.Tensor:
    """``n`` fresh real samples for scoring D, the same for every run and evaluation (a fixed seed)."""
    return mixture.sample(n, torch.Generator().manual_seed(seed))


def train_toy(mixture: GaussianMixture2D, method: str = "GAN", pack: int = 1, seed: int = 0,
              steps: int = 2000, eval_every: int = 250, batch_size: int = 128, n_eval: int = 2500,
              sharpen_lr: float | None = None, sharpen_fraction: float = 0.25, lr_decay: str = "step",
              progress: bool = False, trainer_kw: dict[str, Any] | None = None, **knob_values: Any) -> ToyRun:
    """Train one 2D GAN for ``steps`` steps and score ``n_eval`` samples every ``eval_every`` steps.

    batch_size: examples D judges per step. With packing (``pack`` = m) each example is m samples side by
        side, so G makes ``batch_size · m`` samples per step, as in the PacGAN code (its D minibatch holds
        the same number of packed examples for every m).
    sharpen_lr: if given, both learning rates fall to this value over the last ``sharpen_fraction`` of
        the steps, at once (``lr_decay="step"``) or geometrically (``"exp"``); see :class:`Schedule`.
    trainer_kw: more GANTrainer arguments (g_loss, objective, distance_data, ...).
    knob_values: initial knob values (lr_g, lr_d, instance_noise, label_smoothing, lam, ...).
    """
    trainer = GANTrainer(toy_config(pack), mixture.sample, batch_size=batch_size * pack, seed=seed,
                         **(trainer_kw or {}))
    session = TrainingSession(trainer, gan_knobs(**knob_values))
    run = ToyRun(method, mixture.name, seed, session=session, data=mixture)
    schedule = Schedule(sharpen_lr, sharpen_fraction, lr_decay)
    n_packed = n_eval - n_eval % pack              # D judges whole packs
    real = _eval_real(mixture, n_packed)           # the same real samples at every evaluation

    def score() -> None:
        fake = trainer.sample(n_eval)
        stats: ModeStats = mode_stats(fake, mixture)
        run.steps.append(session.step)
        run.modes.append(stats.modes_captured)
        run.high_quality.append(stats.high_quality)
        run.d_accuracy.append(trainer.d_accuracy(real, fake[:n_packed]))

    started = time.perf_counter()
    _train_chunks(session, schedule, steps, eval_every, score, progress, f"{method} seed {seed}")
    run.seconds = time.perf_counter() - started
    return run


def train_toy_runs(mixtures: GaussianMixture2D | Sequence[GaussianMixture2D], method: str = "GAN",
                   pack: int = 1, seeds: Sequence[int] = (0, 1, 2, 3, 4), steps: int = 2000, eval_every: int = 250,
                   batch_size: int = 128, n_eval: int = 2500, sharpen_lr: float | None = None,
                   sharpen_fraction: float = 0.25, lr_decay: str = "step", cfg: GANConfig | None = None,
                   betas: tuple[float, float] = (0.5, 0.999), progress: bool = False,
                   **knob_values: Any) -> list[ToyRun]:
    """Every (mixture, seed) pair as one run, all trained together in one vectorised step.

    The same recipe as :func:`train_toy` (same batches, noise and initial weights per seed, up to float
    rounding), but one :class:`~ragteach.gan.batched.BatchedGANTrainer` step trains all
    ``len(mixtures) · len(seeds)`` runs, so a multi-seed table costs little more than one run.
    betas: Adam's (β1, β2) for both players; (0.5, 0.999) is DCGAN's setting, (0.5, 0.9) WGAN-GP's toy one.
    Returns the runs mixture by mixture, seed by seed; ``seconds`` is each run's share of the wall time.
    """
    session, runs = _toy_runs_session(mixtures, method, pack, seeds, batch_size, cfg, knob_values, betas)
    schedule = Schedule(sharpen_lr, sharpen_fraction, lr_decay)
    n_packed = n_eval - n_eval % pack                                     # D judges whole packs
    real = torch.stack([_eval_real(run.data, n_packed) for run in runs])  # the same at every evaluation

    def score() -> None:
        fake = session.step_fn.sample(n_eval)
        accuracy = session.step_fn.d_accuracy(real, fake[:, :n_packed])
        for run, x, acc in zip(runs, fake, accuracy.tolist()):
            stats = mode_stats(x, run.data)
            run.steps.append(session.step)
            run.modes.append(stats.modes_captured)
            run.high_quality.append(stats.high_quality)
            run.d_accuracy.append(acc)

    started = time.perf_counter()
    with flush_denormals(), without_undo(session.step_fn):
        _train_chunks(session, schedule, steps, eval_every, score, progress, f"{method}: {len(runs)} runs at once")
    for run in runs:
        run.seconds = (time.perf_counter() - started) / len(runs)
    return runs


def _toy_runs_session(mixtures: GaussianMixture2D | Sequence[GaussianMixture2D], method: str, pack: int,
                      seeds: Sequence[int], batch_size: int, cfg: GANConfig | None,
                      knob_values: dict[str, Any],
                      betas: tuple[float, float] = (0.5, 0.999)) -> tuple[TrainingSession, list[ToyRun]]:
    """The untrained session of :func:`train_toy_runs` and its empty runs, mixture by mixture, seed by seed."""
    from ragteach.gan.batched import BatchedGANTrainer

    mixtures = [mixtures] if isinstance(mixtures, GaussianMixture2D) else list(mixtures)
    pairs = [(m, s) for m in mixtures for s in seeds]
    if not pairs:
        raise ValueError("give at least one mixture and one seed")
    cfg = cfg or toy_config(pack)
    if cfg.pack != pack:
        raise ValueError(f"cfg.pack={cfg.pack} but pack={pack}: give the same packing once")
    trainer = BatchedGANTrainer(cfg, [m.sample for m, _ in pairs], [s for _, s in pairs],
                                batch_size=batch_size * pack, betas=betas)
    session = TrainingSession(trainer, gan_knobs(**knob_values))
    return session, [ToyRun(method, m.name, s, session=session, index=i, data=m) for i, (m, s) in enumerate(pairs)]


def train_toy_runs_side_by_side(jobs: Mapping[str, dict[str, Any]], workers: int = 1, progress: bool = False,
                                done: dict[str, Any] | None = None) -> dict[str, list[ToyRun]]:
    """Several independent :func:`train_toy_runs` calls, ``name -> its keyword arguments``, ``workers`` processes
    at a time (:func:`ragteach.parallel.run_jobs`, which also explains ``done``). Every job's runs are exactly
    those ``train_toy_runs(**kwargs)`` gives here (same seeds, same draws), ready to sample."""
    for name, kwargs in jobs.items():
        try:
            inspect.signature(train_toy_runs).bind(**kwargs)
        except TypeError as exc:
            raise ValueError(f"job {name!r} does not fit train_toy_runs: {exc}") from None
    here = workers == 1
    return run_jobs(train_toy_runs, {name: {**kw, "progress": progress and here} for name, kw in jobs.items()},
                    workers, done=done, progress=progress and not here)


#: Notebook 01's recipe for the toy GAN, also notebook 06's (chosen on tuning seeds by benchmarks/toy_gan_recipes.py,
#: row "notebook 01"): lr 1e-3, falling geometrically to 1e-5 over the last 25 % of 5,000 steps; Adam betas (0.5, 0.9);
#: D judges 128 examples per step (notebook 01 trains the ring a fifth longer). Pass it to train_toy_runs with
#: ``cfg=toy_config(pack, TOY_D_HIDDEN)``.
TOY_RECIPE: dict[str, Any] = dict(steps=5000, batch_size=128, lr_g=1e-3, lr_d=1e-3, sharpen_lr=1e-5,
                                  sharpen_fraction=0.25, lr_decay="exp", betas=(0.5, 0.9))
TOY_D_HIDDEN = (256, 256)   # D's hidden layers in that recipe (G keeps three of 128)
#: The same recipe with a small D (one hidden layer of 128) and DCGAN's Adam betas (0.5, 0.999): it collapses on
#: the ring (benchmarks/toy_gan_recipes.py, row "collapse"). Pass ``cfg=toy_config(1, COLLAPSE_D_HIDDEN)``.
COLLAPSE_D_HIDDEN = (128,)
COLLAPSE_RECIPE: dict[str, Any] = {**TOY_RECIPE, "betas": (0.5, 0.999)}
