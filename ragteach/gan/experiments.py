"""Fixed-seed GAN experiments on the 2D mixtures, the way the notebooks run and tabulate them."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from ragteach.data.toy2d import GaussianMixture2D
from ragteach.gan.models import GANConfig, toy_config
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach.live.session import TrainingSession
from ragteach.metrics.modes import ModeStats, mode_stats


@dataclass
class ToyRun:
    """One training run: the mode score every ``eval_every`` steps and at the end."""

    method: str
    mixture: str
    seed: int
    steps: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    high_quality: list[float] = field(default_factory=list)
    seconds: float = 0.0
    session: TrainingSession | None = None

    @property
    def final(self) -> tuple[int, float]:
        return self.modes[-1], self.high_quality[-1]


def train_toy(mixture: GaussianMixture2D, method: str = "GAN", pack: int = 1, seed: int = 0,
              steps: int = 2000, eval_every: int = 250, batch_size: int = 128, n_eval: int = 2500,
              sharpen_lr: float | None = None, sharpen_fraction: float = 0.25, progress: bool = False,
              trainer_kw: dict[str, Any] | None = None, **knob_values: Any) -> ToyRun:
    """Train a 2D GAN for ``steps`` steps and score ``n_eval`` samples every ``eval_every`` steps.

    sharpen_lr: if given, both learning rates drop to this value for the last ``sharpen_fraction``
        of the steps (a large rate finds the modes, a small one puts the samples onto them).
    trainer_kw: more GANTrainer arguments (g_loss, objective, distance_data, ...).
    knob_values: initial knob values (lr_g, lr_d, instance_noise, label_smoothing, lam, ...).
    """
    trainer = GANTrainer(toy_config(pack), mixture.sample, batch_size=batch_size, seed=seed, **(trainer_kw or {}))
    session = TrainingSession(trainer, gan_knobs(**knob_values), state={"gan": trainer})
    run = ToyRun(method, mixture.name, seed, session=session)
    sharpen_at = steps - int(sharpen_fraction * steps) if sharpen_lr is not None else steps
    started = time.perf_counter()
    while session.step < steps:
        if session.step >= sharpen_at:
            session.knobs.update(lr_g=sharpen_lr, lr_d=sharpen_lr)
        chunk = min(eval_every, steps - session.step)
        if session.step < sharpen_at:
            chunk = min(chunk, sharpen_at - session.step)
        session.run(chunk, progress=progress, desc=f"{method} seed {seed}")
        stats: ModeStats = mode_stats(trainer.sample(n_eval), mixture)
        run.steps.append(session.step)
        run.modes.append(stats.modes_captured)
        run.high_quality.append(stats.high_quality)
    run.seconds = time.perf_counter() - started
    return run


def _mean_std(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def summary_rows(runs: Sequence[ToyRun]) -> list[dict[str, Any]]:
    """One row per (method, mixture): mean ± std over seeds of final modes and high-quality %."""
    groups: dict[tuple[str, str], list[ToyRun]] = {}
    for r in runs:
        groups.setdefault((r.method, r.mixture), []).append(r)
    rows = []
    for (method, mixture), rs in groups.items():
        modes = [r.final[0] for r in rs]
        hq = [100 * r.final[1] for r in rs]
        rows.append({"method": method, "mixture": mixture, "runs": len(rs), "modes": _mean_std(modes),
                     "high quality %": _mean_std(hq), "modes_mean": statistics.mean(modes),
                     "hq_mean": statistics.mean(hq),
                     "modes_std": statistics.stdev(modes) if len(modes) > 1 else 0.0,
                     "seconds/run": f"{statistics.mean(r.seconds for r in rs):.1f}"})
    return rows


def wobble(run: ToyRun) -> float:
    """Mean absolute change of modes captured between consecutive evaluations: how much coverage
    jumps around during training (0 = it only ever grew or stayed)."""
    m = run.modes
    return statistics.mean(abs(a - b) for a, b in zip(m[1:], m[:-1])) if len(m) > 1 else 0.0


def stability_rows(runs: Sequence[ToyRun]) -> list[dict[str, Any]]:
    """Per method: final modes and HQ (mean ± std over seeds) and the mean wobble."""
    rows = summary_rows(runs)
    for row in rows:
        rs = [r for r in runs if r.method == row["method"] and r.mixture == row["mixture"]]
        row["wobble"] = statistics.mean(wobble(r) for r in rs)
    return rows


def stability_verdict(plain: dict[str, Any], randomized: dict[str, Any]) -> str:
    """'holds' only if randomized training wobbles less, varies less across seeds, and covers no
    fewer modes on average; 'mixed' if some but not all of these hold; otherwise 'does not hold'."""
    checks = [randomized["wobble"] < plain["wobble"], randomized["modes_std"] < plain["modes_std"],
              randomized["modes_mean"] >= plain["modes_mean"]]
    return "holds" if all(checks) else "mixed" if any(checks) else "does not hold"


# PacGAN paper (Lin et al. 2018), Table 1: mean over 10 runs, 400 epochs of 100,000 points each.
PUBLISHED = [
    {"method": "GAN (PacGAN paper)", "mixture": "ring", "modes": "6.3", "high quality %": "98.2"},
    {"method": "PacGAN4 (PacGAN paper)", "mixture": "ring", "modes": "7.8", "high quality %": "95.9"},
    {"method": "GAN (PacGAN paper)", "mixture": "grid", "modes": "17.3", "high quality %": "94.8"},
    {"method": "PacGAN4 (PacGAN paper)", "mixture": "grid", "modes": "24.8", "high quality %": "93.6"},
]


# ----------------------------------------------------------------------------- digits (notebook 02)
def digits_config() -> GANConfig:
    """A small MLP GAN for 8x8 digits (32-dim noise; G 128-256, D 256-128): about 3x cheaper per step
    than the article's sizes, so that many fixed-seed runs fit in a few CPU minutes."""
    return GANConfig(z_dim=32, data_dim=64, g_hidden=(128, 256), d_hidden=(256, 128), g_out="tanh")


def digits_methods() -> dict[str, dict[str, Any]]:
    """The methods compared in notebook 02: GANTrainer arguments plus initial knob values."""
    from ragteach.gan import augment

    def diffaug(x, g):
        return augment.diff_augment(x, generator=g)

    def article_prep(x, g):
        return augment.article_preparation(x, generator=g)

    return {
        "GAN (non-saturating)": {},
        "article's loss, λ=0": {"g_loss": "article", "lam": 0.0},
        "article's loss, λ=0.01, random x": {"g_loss": "article", "lam": 0.01},
        "article's loss, λ=0.1, random x": {"g_loss": "article", "lam": 0.1},
        "article's loss, λ=0.1, nearest x": {"g_loss": "article", "lam": 0.1, "pairing": "nearest"},
        "RaSGAN": {"objective": "relativistic"},
        "DiffAugment": {"augment": diffaug},
        "article's real-only augmentation": {"real_transform": article_prep},
    }


def digits_gan(x_train: torch.Tensor, seed: int = 0, lr: float = 1e-3, batch_size: int = 64,
               lam: float | None = None, pairing: str = "random", **trainer_kw: Any) -> tuple[GANTrainer, TrainingSession]:
    """A digits GAN and its session; ``lam``/``pairing`` add article 001's distance term (with x_train)."""
    trainer = GANTrainer(digits_config(), tensor_sampler(x_train), batch_size=batch_size, seed=seed,
                         distance_data=x_train, **trainer_kw)
    session = TrainingSession(trainer, gan_knobs(lr_g=lr, lr_d=lr, lam=lam, pairing=pairing, lam_max=1.0),
                              state={"gan": trainer})
    return trainer, session


def digit_scores(samples: torch.Tensor, judge: Any, x_train: torch.Tensor, x_held_out: torch.Tensor,
                 real_diversity: float) -> dict[str, float]:
    """Confident rate, classes covered, diversity relative to real digits, memorisation ratio."""
    from ragteach.metrics.samples import diversity, memorisation_ratio, score_samples

    s = score_samples(judge, samples)
    return {"confident %": 100 * s.confident_rate, "classes": float(s.classes_covered),
            "diversity / real": diversity(samples) / real_diversity,
            "memorisation": memorisation_ratio(samples, x_train, x_held_out)}


def run_digits(method: str, x_train: torch.Tensor, x_held_out: torch.Tensor, judge: Any, steps: int,
               seed: int = 0, real_diversity: float = 1.0,
               progress: bool = False) -> tuple[dict[str, Any], GANTrainer]:
    """Train one method of :func:`digits_methods` for ``steps`` steps; score 1,000 samples.
    Returns the table row and the trained trainer."""
    kw = dict(digits_methods()[method])
    trainer, session = digits_gan(x_train, seed=seed, **kw)
    started = time.perf_counter()
    session.run(steps, progress=progress, desc=method)
    seconds = time.perf_counter() - started
    scores = digit_scores(trainer.sample(1000), judge, x_train, x_held_out, real_diversity)
    row = {"method": method, "train images": len(x_train), "seed": seed, **scores, "seconds": seconds}
    return row, trainer


def mean_rows(rows: Sequence[dict[str, Any]], keys: Sequence[str], by: Sequence[str]) -> list[dict[str, Any]]:
    """Average ``keys`` over rows that share the ``by`` columns (e.g. over seeds), as 'mean ± std'."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[b] for b in by), []).append(r)
    out = []
    for key, rs in groups.items():
        row = dict(zip(by, key))
        for k in keys:
            vals = [r[k] for r in rs]
            row[k] = (f"{statistics.mean(vals):.2f} ± {statistics.stdev(vals):.2f}" if len(vals) > 1
                      else f"{vals[0]:.2f}")
            row[k + "_mean"] = statistics.mean(vals)
            row[k + "_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        out.append(row)
    return out
