"""Notebook 02's digits experiment: every method over many seeds, trained together, judged by intervals.

The protocol, so that no verdict is written before the measurement:

1. **Many seeds for little time.** All runs of one method (seeds × training-set sizes) train in one vectorised
   step (:class:`~ragteach.gan.batched.BatchedGANTrainer`); each run equals the run it would be alone.
2. **Select on other seeds than you judge.** The article's λ is chosen on *selection* seeds; the claims are
   judged on the *judging* seeds only, so the λ that looked best by chance does not also win the verdict
   (and only the chosen λ is trained on the judging seeds).
3. **Diversity that is not noise.** "More diverse" counts the spread among digit-like samples only (the
   judge is confident and the sample lies as near the training set as real digits do,
   :func:`~ragteach.metrics.samples.confident_diversity`), and only if the confident share is not clearly worse.
4. **Intervals, not one seed's ``<``.** Each table cell is mean ± 95 % t-interval over seeds; each verdict
   compares two methods by the 95 % Welch interval of their difference: 'holds' if it excludes 0 on the
   claimed side (and the quality guard is not clearly worse), 'does not hold' if it excludes 0 on the other
   side or the guard is clearly worse, 'inconclusive' otherwise.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ragteach.gan.batched import BatchedGANTrainer
from ragteach.gan.models import GANConfig
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach.knobs import Knobs
from ragteach.live.session import TrainingSession
from ragteach.metrics.samples import (confident_diversity, copying_score, distance_limit, diversity,
                                      score_samples)
from ragteach.runs import Run, train_runs
from ragteach.stats import Difference, Verdict, claim_word, difference, format_interval, interval, rank_auc

D_KEY = "D train vs held-out %"
TABLE_KEYS = ["confident %", "classes", "diversity / real", "digit-like diversity / real", "copying", D_KEY]


# ----------------------------------------------------------------------------- the GAN and the methods
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
    return trainer, TrainingSession(trainer, digits_knobs(lr, lam, pairing))


def digits_knobs(lr: float, lam: float | None, pairing: str) -> Knobs:
    """A digits GAN's knobs: both learning rates ``lr``, and the λ term's (λ up to 1)."""
    return gan_knobs(lr_g=lr, lr_d=lr, lam=lam, pairing=pairing, lam_max=1.0)


@dataclass(frozen=True)
class RealReference:
    """What real digits score: the held-out digits' diversity and digit-like diversity (the denominators of
    the '/ real' columns), and ``max_distance``, how far from the training set a real digit may lie
    (:func:`~ragteach.metrics.samples.distance_limit`): a sample counts as digit-like only if the judge is
    confident *and* it lies within that distance."""

    diversity: float
    confident_diversity: float
    train: torch.Tensor
    max_distance: float


def real_reference(judge: Any, x_train: torch.Tensor, x_held_out: torch.Tensor) -> RealReference:
    limit = distance_limit(x_train, x_held_out)
    return RealReference(diversity(x_held_out), confident_diversity(judge, x_held_out, train=x_train, max_distance=limit),
                         x_train, limit)


def d_memorisation(D: torch.nn.Module, x_train: torch.Tensor, x_held_out: torch.Tensor) -> float:
    """How well D tells its own training digits from unseen real ones, in %: the probability that D scores a
    random training digit above a random held-out digit (:func:`~ragteach.stats.rank_auc` of its logits).
    50: D judges new digits as it judges the ones it trained on; near 100: D knows its training set by heart,
    so G is pushed toward those very images, the small-data failure DiffAugment targets (Zhao et al. 2020,
    Karras et al. 2020). It uses only the order of D's scores, so it reads the same for RaSGAN's critic."""
    with torch.no_grad():
        return 100 * rank_auc(D(x_train).tolist(), D(x_held_out).tolist())


def score_digits(samples: torch.Tensor, judge: Any, x_train: torch.Tensor, x_held_out: torch.Tensor,
                 real: RealReference) -> dict[str, float]:
    """confident % (top p(y|x) ≥ 0.9), classes among confident samples, diversity / real (all samples),
    digit-like diversity / real (only samples the judge is confident about that also lie as close to the full
    training set as real digits do), copying (Meehan et al.'s data-copying test against the whole
    training set, :func:`~ragteach.metrics.samples.copying_score`: higher is more copying).
    :func:`train_digits_batch` adds each run's ``D_KEY`` (:func:`d_memorisation`)."""
    s = score_samples(judge, samples)
    return {"confident %": 100 * s.confident_rate, "classes": float(s.classes_covered),
            "diversity / real": diversity(samples) / real.diversity,
            "digit-like diversity / real": confident_diversity(judge, samples, train=real.train,
                                                                max_distance=real.max_distance) / real.confident_diversity,
            "copying": copying_score(samples, x_train, x_held_out)}


def quality_lost(run: Run) -> float:
    """Confident-% points lost during training: mean over evaluations of max(0, c_{i−1} − c_i).
    Gains are learning and count 0; a run whose samples keep getting worse again scores high."""
    c = run.curve("confident %")
    return statistics.fmean(max(0.0, a - b) for a, b in zip(c[:-1], c[1:])) if len(c) > 1 else 0.0


def train_digits_batch(method: str, train_sets: Sequence[torch.Tensor], judge_seeds: Sequence[int],
                       x_held_out: torch.Tensor, judge: Any, real: RealReference, steps: int,
                       eval_every: int, select_seeds: Sequence[int] = (), lr: float = 2e-3,
                       batch_size: int = 64, n_eval: int = 500, n_final: int = 1000,
                       progress: bool = False) -> list[Run]:
    """Train ``method`` (a key of :func:`digits_methods`) on every training set
    with every judging seed, and on ``train_sets[0]`` with every selection seed, all in one batched
    trainer. Every ``eval_every`` steps each run's confident % on ``n_eval`` samples is recorded; at the
    end ``n_final`` samples are scored with :func:`score_digits`.

    Each run's settings are ``method``, ``train_images``, ``seed`` and ``role``: 'judge' (the verdicts use it)
    or 'select' (only used to choose λ). A stored run keeps its scores and 64 final samples but not its
    trainer, which holds the weights of every run of its batch."""
    methods = digits_methods()
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; choose one of {list(methods)}")
    if not train_sets or not (judge_seeds or select_seeds):
        raise ValueError("give at least one training set and one judging or selection seed")
    if eval_every < 1 or steps < eval_every:
        raise ValueError(f"need 1 <= eval_every <= steps, got eval_every={eval_every}, steps={steps}")
    kw = dict(methods[method])
    lam, pairing = kw.pop("lam", None), kw.pop("pairing", "random")
    plan = [(x, s, "judge") for x in train_sets for s in judge_seeds] + [(train_sets[0], s, "select")
                                                                         for s in select_seeds]
    sets = [x for x, _, _ in plan]
    trainer = BatchedGANTrainer(digits_config(), [tensor_sampler(x) for x in sets], [s for _, s, _ in plan],
                                batch_size=batch_size, distance_data=sets, **kw)

    def confident() -> list[dict[str, float]]:
        return [{"confident %": 100 * score_samples(judge, x).confident_rate} for x in trainer.sample(n_eval)]

    runs = train_runs(trainer, [dict(method=method, train_images=len(x), seed=s, role=role) for x, s, role in plan],
                      steps, eval_every, confident, knobs=digits_knobs(lr, lam, pairing),
                      progress=progress, desc=f"{method}: {len(plan)} runs at once")
    for run, x, (x_train, _, _) in zip(runs, trainer.sample(n_final), plan):
        run.scores = score_digits(x, judge, x_train, x_held_out, real)
        run.scores[D_KEY] = d_memorisation(trainer.discriminator(run.index), x_train, x_held_out)
        run.samples, run.keep_trainer = x[:64].clone(), False
    return runs


# ----------------------------------------------------------------------------- tables
def values(runs: Sequence[Run], method: str, train_images: int, key: str, role: str = "judge") -> list[float]:
    """``key`` ('confident %', ..., or 'quality lost') of every run of one method and set size, one per seed."""
    out = [quality_lost(r) if key == "quality lost" else r.scores[key] for r in runs
           if (r["method"], r["train_images"], r["role"]) == (method, train_images, role)]
    if not out:
        raise ValueError(f"no {role} runs of {method!r} on {train_images} images")
    return out


def seed_rows(runs: Sequence[Run], keys: Sequence[str] = (*TABLE_KEYS, "quality lost"),
              role: str = "judge") -> list[dict[str, Any]]:
    """One row per (method, training images): each key as 'mean ± half-width' of the 95 % t-interval
    over the ``role`` seeds, plus ``<key>_mean`` and ``<key>_ci`` as numbers."""
    groups = dict.fromkeys((r["method"], r["train_images"]) for r in runs if r["role"] == role)
    rows = []
    for method, n in groups:
        row: dict[str, Any] = {"method": method, "train images": n,
                               "seeds": len(values(runs, method, n, keys[0], role))}
        for k in keys:
            vals = values(runs, method, n, k, role)
            row[k], (row[k + "_mean"], row[k + "_ci"]) = format_interval(vals, 2), interval(vals)
        rows.append(row)
    return rows


def select_lambda(runs: Sequence[Run], candidates: Sequence[str], train_images: int,
                  key: str = "digit-like diversity / real") -> tuple[str, dict[str, float]]:
    """The candidate with the highest mean ``key`` on the *selection* seeds (never the judging seeds), and
    each candidate's selection mean."""
    if not candidates:
        raise ValueError("give at least one candidate method")
    means = {m: statistics.fmean(values(runs, m, train_images, key, role="select")) for m in candidates}
    return max(means, key=means.get), means


# ----------------------------------------------------------------------------- verdicts
def _side(d: Difference, more: str, less: str) -> str:
    return more if d.sign > 0 else less if d.sign < 0 else "no clear difference in"


def gated_verdict(claimant: str, baseline: str, gain_key: str, gain: tuple[Sequence[float], Sequence[float]],
                  guard_key: str | None = None, guard: tuple[Sequence[float], Sequence[float]] | None = None,
                  higher_is_better: bool = True) -> Verdict:
    """Is ``claimant`` better than ``baseline`` on ``gain_key`` without being clearly worse on ``guard_key``?

    gain / guard: (claimant's values, baseline's values), one per seed; the guard is higher-is-better.
    The differences are claimant − baseline with 95 % Welch intervals (see :func:`claim_word`)."""
    if (guard_key is None) != (guard is None):
        raise ValueError("give both guard_key and guard, or neither")
    d_gain = difference(gain[1], gain[0])
    oriented = d_gain if higher_is_better else -d_gain
    d_guard = None if guard is None else difference(guard[1], guard[0])
    word = claim_word(oriented, d_guard)
    reason = (f"{claimant} vs {baseline} over {len(gain[0])} and {len(gain[1])} seeds: "
              f"{_side(d_gain, 'higher', 'lower')} {gain_key} ({d_gain})")
    if d_guard is not None:
        reason += f", {_side(d_guard, 'higher', 'lower')} {guard_key} ({d_guard})"
        if d_guard.sign < 0:
            reason += (f"; {guard_key} is clearly lower (worse samples), so "
                       + (f"the {gain_key} gain does not count" if oriented.sign > 0 else "the claim does not hold"))
    return Verdict(word, reason)


def time_verdict(claimant: Sequence[float], baseline: Sequence[float], name: str, baseline_name: str) -> Verdict:
    """Does ``name`` cost more time per step than ``baseline_name``? From the per-chunk seconds per step
    (Welch interval of the difference); the ratio of the means is printed too."""
    d = difference(baseline, claimant)
    ratio = statistics.fmean(claimant) / statistics.fmean(baseline)
    return Verdict(claim_word(d), f"{name} vs {baseline_name}: ×{ratio:.2f} time per step "
                                  f"(difference {1000 * d.mean:+.2f} ± {1000 * d.half:.2f} ms over "
                                  f"{len(claimant)} and {len(baseline)} timed chunks)")
