"""Judging generated digits with a classifier trained on real digits.

A *discriminative* model p(y | x) becomes a judge of a *generative* one: if a generated image is a
convincing digit, a classifier trained on real digits labels it confidently. We report

- confident rate: the share of samples whose top class probability is at least ``threshold``;
- the class histogram of confident samples, and how many of the 10 classes appear (mode coverage).

A caveat worth teaching: a classifier can be confident on images no person would call a digit,
so look at the samples too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from ragteach.stats import rank_auc


class DigitJudge:
    """A small MLP classifier (scikit-learn, one hidden layer of 128) trained on real 8x8 digits.

    On the held-out real digits it is about 98 % accurate and labels about 95 % of them with
    probability ≥ 0.9: that is the ceiling a generator's samples can be compared with.
    """

    def __init__(self, x_train: torch.Tensor, y_train: torch.Tensor, seed: int = 0) -> None:
        from sklearn.neural_network import MLPClassifier

        self.model = MLPClassifier((128,), alpha=1e-3, max_iter=500, random_state=seed)
        self.model.fit(np.asarray(x_train), np.asarray(y_train))

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float(self.model.score(np.asarray(x), np.asarray(y)))

    def proba(self, x: torch.Tensor) -> np.ndarray:
        """p(y | x) for each image, shape (N, 10)."""
        return self.model.predict_proba(np.asarray(x.detach().cpu(), dtype=np.float64))


@dataclass(frozen=True)
class SampleScore:
    confident_rate: float
    class_counts: np.ndarray  # (10,) confident samples per class
    classes_covered: int
    n: int                    # samples scored

    @property
    def balanced_rate(self) -> float:
        """Quality with coverage: Σ_c min(n_c, n/10) / n, the confident share counting at most a tenth of the
        samples per class. A generator collapsed onto k classes scores at most k/10, however confident."""
        return float(np.minimum(self.class_counts, self.n / 10).sum() / self.n)

    def collapsed(self, real: "SampleScore") -> bool:
        """Mode collapse: the confident samples cover at most half the classes that ``real`` digits cover."""
        return self.classes_covered <= real.classes_covered / 2

    def __str__(self) -> str:
        return (f"{100 * self.confident_rate:.1f}% confident, {self.classes_covered}/10 classes, "
                f"counts {self.class_counts.tolist()}")


def score_samples(judge: DigitJudge, samples: torch.Tensor, threshold: float = 0.9) -> SampleScore:
    """Confident rate and class histogram of ``samples`` (N, 64) under ``judge``."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    p = judge.proba(samples)
    confident = p.max(axis=1) >= threshold
    counts = np.bincount(p.argmax(axis=1)[confident], minlength=10)
    return SampleScore(float(confident.mean()), counts, int((counts > 0).sum()), len(p))


def nearest_distance(samples: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """For each sample, the Euclidean distance to its nearest image in ``reference``: (N,).

    Small means "looks like some real image"; compared against held-out images it also
    tells copying (memorisation) from generalising.
    """
    if samples.ndim != 2 or reference.ndim != 2 or samples.shape[1] != reference.shape[1]:
        raise ValueError(f"samples and reference must be (N, D) and (M, D) with the same D, got "
                         f"{tuple(samples.shape)} and {tuple(reference.shape)}")
    return torch.cdist(samples.float(), reference.float()).min(dim=1).values


def diversity(samples: torch.Tensor, max_n: int = 1000) -> float:
    """Mean pairwise Euclidean distance between samples (first ``max_n``). Compare it with the same
    number for real images: far lower means the generator repeats itself (mode collapse)."""
    x = samples[:max_n].float()
    if len(x) < 2:
        raise ValueError(f"diversity needs at least 2 samples, got {len(x)}")
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def distance_limit(train: torch.Tensor, held_out: torch.Tensor, quantile: float = 0.99) -> float:
    """How far a real digit may lie from its nearest training digit: the ``quantile`` of the held-out
    digits' nearest-training distances. A sample farther than this from every training digit looks like
    no real digit (uniform noise on 8x8 digits lies about twice as far)."""
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    return float(torch.quantile(nearest_distance(held_out, train), quantile))


def digit_like(judge: DigitJudge, samples: torch.Tensor, threshold: float = 0.9,
               train: torch.Tensor | None = None, max_distance: float | None = None) -> torch.Tensor:
    """Boolean mask (N,): the judge's top p(y | x) ≥ ``threshold`` and, if ``train``/``max_distance`` are
    given, the nearest training digit within ``max_distance`` (see :func:`distance_limit`). The judge alone is
    fooled by noise: it labels about one in eight uniform-noise images with p ≥ 0.9."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if (train is None) != (max_distance is None):
        raise ValueError("give both train and max_distance, or neither")
    keep = torch.as_tensor(judge.proba(samples).max(axis=1) >= threshold)
    if train is not None:
        keep &= nearest_distance(samples, train) <= max_distance
    return keep


def confident_diversity(judge: DigitJudge, samples: torch.Tensor, threshold: float = 0.9,
                        train: torch.Tensor | None = None, max_distance: float | None = None,
                        max_n: int = 1000) -> float:
    """Diversity counted only among digit-like samples (:func:`digit_like`).

    Plain :func:`diversity` rewards noise: random pixels are far apart, so a generator that outputs
    garbage looks "diverse". Restricting the mean pairwise distance to samples that look like some digit
    makes the score measure variety among digits. Returns 0.0 if fewer than 2 samples are digit-like
    (no digits, no variety among them)."""
    x = samples[:max_n]
    kept = x[digit_like(judge, x, threshold, train, max_distance)]
    return diversity(kept) if len(kept) >= 2 else 0.0


def copying_score(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> float:
    """Meehan et al. (2020)'s data-copying test over the whole space, signed so that higher means more copying.

    With a = d(held-out image, nearest training image) for the m held-out images and b = d(sample, nearest
    training image) for the n samples (both against the *whole* training set), the Mann-Whitney statistic
    U = #{(i, j): b_j > a_i} has mean mn/2 and variance mn(m + n + 1)/12 when samples are as far from the
    training set as unseen real images are. The paper's Z_U = (U − mn/2) / √(mn(m + n + 1)/12); we return
    −Z_U: about 0 (within ±2) for fresh images, ≫ 0 when samples sit closer to training images than unseen
    images do (copying), ≪ 0 when they lie farther (underfitting, noise). It grows with √n, so compare scores
    of equally many samples.
    """
    a, b = nearest_distance(held_out, train), nearest_distance(samples, train)
    m, n = len(a), len(b)
    u = rank_auc(b.tolist(), a.tolist()) * m * n
    return -(u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)
