"""Fixed-seed GAN runs on the 2D mixtures and the recipes notebooks 01 and 06 train with.

Their tables and verdicts are in :mod:`ragteach.lessons.gan_basics`."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, Sequence

import torch

from ragteach.data.toy2d import GaussianMixture2D
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.gan.models import Discriminator, GANConfig, Generator, toy_config
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.metrics.modes import mode_stats
from ragteach.parallel import run_jobs
from ragteach.runs import Run, Schedule, train_runs
from ragteach.training import flush_denormals


def final(run: Run) -> tuple[int, float]:
    """A toy run's last (modes captured, share of high-quality samples)."""
    return run.curve("modes")[-1], run.curve("high_quality")[-1]


def networks(run: Run) -> tuple[Generator, Discriminator]:
    """A toy run's G and D as plain modules (for a run trained among others, its own slice of them)."""
    if run.trainer is None:
        raise ValueError("this run kept no trainer, so it has no networks")
    if run.index is None:
        return run.trainer.G, run.trainer.D
    return run.trainer.generator(run.index), run.trainer.discriminator(run.index)


def _eval_real(mixture: GaussianMixture2D, n: int, seed: int = 4321) -> torch.Tensor:
    """``n`` fresh real samples for scoring D, the same for every run and evaluation (a fixed seed)."""
    return mixture.sample(n, torch.Generator().manual_seed(seed))


def toy_scores(trainer: GANTrainer, mixtures: Sequence[GaussianMixture2D], n_eval: int) -> Callable[[], list[dict]]:
    """What a toy run is measured by, for each run of ``trainer`` (one mixture per run): modes captured and
    the share of high-quality samples among ``n_eval`` fixed-noise samples, and D's accuracy on them against
    as many fixed real samples (0.5: chance), packed as in training."""
    n_packed = n_eval - n_eval % trainer.cfg.pack          # D judges whole packs
    real = [_eval_real(m, n_packed) for m in mixtures]     # the same real samples at every evaluation

    def evaluate() -> list[dict[str, float]]:
        fake = trainer.sample(n_eval)
        if trainer.n_runs is not None:
            accuracy = trainer.d_accuracy(torch.stack(real), fake[:, :n_packed]).tolist()
        else:
            fake, accuracy = fake[None], [trainer.d_accuracy(real[0], fake[:n_packed])]
        rows = []
        for x, mixture, acc in zip(fake, mixtures, accuracy):
            stats = mode_stats(x, mixture)
            rows.append({"modes": stats.modes_captured, "high_quality": stats.high_quality, "d_accuracy": acc})
        return rows

    return evaluate


def train_toy(mixture: GaussianMixture2D, method: str = "GAN", pack: int = 1, seed: int = 0,
              steps: int = 2000, eval_every: int = 250, batch_size: int = 128, n_eval: int = 2500,
              sharpen_lr: float | None = None, sharpen_fraction: float = 0.25, lr_decay: str = "step",
              progress: bool = False, trainer_kw: dict[str, Any] | None = None, **knob_values: Any) -> Run:
    """Train one 2D GAN for ``steps`` steps and score ``n_eval`` samples every ``eval_every`` steps (:func:`toy_scores`).

    batch_size: examples D judges per step. With packing (``pack`` = m) each example is m samples side by
        side, so G makes ``batch_size · m`` samples per step, as in the PacGAN code (its D minibatch holds
        the same number of packed examples for every m).
    sharpen_lr: if given, both learning rates fall to this value over the last ``sharpen_fraction`` of
        the steps, at once (``lr_decay="step"``) or geometrically (``"exp"``); see :class:`~ragteach.runs.Schedule`.
    trainer_kw: more GANTrainer arguments (g_loss, objective, distance_data, ...).
    knob_values: initial knob values (lr_g, lr_d, instance_noise, label_smoothing, lam, ...).
    """
    trainer = GANTrainer(toy_config(pack), mixture.sample, batch_size=batch_size * pack, seed=seed,
                         **(trainer_kw or {}))
    return train_runs(trainer, [dict(method=method, mixture=mixture.name, seed=seed, data=mixture)], steps,
                      eval_every, toy_scores(trainer, [mixture], n_eval), knobs=gan_knobs(**knob_values),
                      schedule=Schedule(sharpen_lr, sharpen_fraction, lr_decay), progress=progress,
                      desc=f"{method} seed {seed}")[0]


def train_toy_runs(mixtures: GaussianMixture2D | Sequence[GaussianMixture2D], method: str = "GAN",
                   pack: int = 1, seeds: Sequence[int] = (0, 1, 2, 3, 4), steps: int = 2000, eval_every: int = 250,
                   batch_size: int = 128, n_eval: int = 2500, sharpen_lr: float | None = None,
                   sharpen_fraction: float = 0.25, lr_decay: str = "step", cfg: GANConfig | None = None,
                   betas: tuple[float, float] = (0.5, 0.999), progress: bool = False,
                   **knob_values: Any) -> list[Run]:
    """Every (mixture, seed) pair as one run, all trained together in one vectorised step.

    The same recipe as :func:`train_toy` (same batches, noise and initial weights per seed, up to float
    rounding), but one :class:`~ragteach.gan.batched.BatchedGANTrainer` step trains all
    ``len(mixtures) · len(seeds)`` runs, so a multi-seed table costs little more than one run.
    betas: Adam's (β1, β2) for both players; (0.5, 0.999) is DCGAN's setting, (0.5, 0.9) WGAN-GP's toy one.
    Returns the runs mixture by mixture, seed by seed; ``seconds`` is each run's share of the training time.
    """
    mixtures = [mixtures] if isinstance(mixtures, GaussianMixture2D) else list(mixtures)
    pairs = [(m, s) for m in mixtures for s in seeds]
    if not pairs:
        raise ValueError("give at least one mixture and one seed")
    cfg = cfg or toy_config(pack)
    if cfg.pack != pack:
        raise ValueError(f"cfg.pack={cfg.pack} but pack={pack}: give the same packing once")
    trainer = BatchedGANTrainer(cfg, [m.sample for m, _ in pairs], [s for _, s in pairs],
                                batch_size=batch_size * pack, betas=betas)
    with flush_denormals():
        return train_runs(trainer, [dict(method=method, mixture=m.name, seed=s, data=m) for m, s in pairs], steps,
                          eval_every, toy_scores(trainer, [m for m, _ in pairs], n_eval),
                          knobs=gan_knobs(**knob_values), schedule=Schedule(sharpen_lr, sharpen_fraction, lr_decay),
                          progress=progress, desc=f"{method}: {len(pairs)} runs at once")


def train_toy_runs_side_by_side(jobs: Mapping[str, dict[str, Any]], workers: int = 1, progress: bool = False,
                                done: dict[str, Any] | None = None) -> dict[str, list[Run]]:
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
