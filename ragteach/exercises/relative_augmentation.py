"""Exercises of notebook 02 (relative augmentation): the distance term, its λ → ∞ limit, RaSGAN's D loss.

Each ``check_*`` prints a verdict and returns the function to use from then on (see
:mod:`ragteach.exercises.checking`). The reference solutions below are the answer key.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ragteach.data.toy2d import ring
from ragteach.exercises.checking import Exercise, Mistake, reveal


# ---- reference solutions (the answer key) ------------------------------------------------------------------------
def distance_term(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E_z ||G(z) − x||²: each sample's squared distance summed over its D coordinates, averaged over the batch."""
    return (fake - real).pow(2).sum(dim=1).mean()


def limit_point(x: torch.Tensor) -> torch.Tensor:
    """argmin_g (1/N) Σ_i ||g − x_i||²: the gradient 2·mean_i (g − x_i) vanishes at the mean of the rows."""
    return x.mean(dim=0)


def rasgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN: −E log σ(C(x) − E C(G(z))) − E log σ(−(C(G(z)) − E C(x)))."""
    return (-F.logsigmoid(real_logits - fake_logits.mean()).mean()
            - F.logsigmoid(-(fake_logits - real_logits.mean())).mean())


# ---- random test inputs -----------------------------------------------------------------------------------------
def _batches(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    b, d = int(torch.randint(2, 7, (1,), generator=gen)), int(torch.randint(2, 6, (1,), generator=gen))
    return torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen)


def _points(gen: torch.Generator) -> tuple[torch.Tensor]:
    n = int(torch.randint(3, 8, (1,), generator=gen))
    return (3 * torch.randn(n, 2, generator=gen) + torch.randn(2, generator=gen),)


def _logits(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n, m = (int(v) for v in torch.randint(2, 7, (2,), generator=gen))
    return 2 * torch.randn(n, generator=gen) + 1, 2 * torch.randn(m, generator=gen) - 1


# ---- the exercises ------------------------------------------------------------------------------------------------
DISTANCE_TERM = Exercise(
    "distance_term", distance_term, _batches,
    success="the squared distance per sample, averaged over the batch: a penalty added to G's loss.",
    mistakes=(
        Mistake(lambda f, r: (f - r).pow(2).mean(), "you averaged over the coordinates too: sum the squares over "
                                                    "each sample's coordinates, then average over the batch."),
        Mistake(lambda f, r: (f - r).norm(dim=1).mean(), "that is the distance, not its square."),
        Mistake(lambda f, r: (f - r).pow(2).sum(), "you summed over the batch: average over the samples."),
    ),
    sign_hint="the sign is flipped: the term is a penalty, added to G's loss.")

LIMIT_POINT = Exercise(
    "limit_point", limit_point, _points,
    success="the mean: with random pairing, a large λ pulls every sample there (on a ring, the empty centre).",
    mistakes=(
        Mistake(lambda x: x.median(dim=0).values, "the median minimises the sum of |g − x_i| (absolute values), "
                                                  "not of squares."),
        Mistake(lambda x: x[0], "that is one of the points: g must balance all of them."),
        Mistake(lambda x: x.sum(dim=0), "set the gradient of (1/N) Σ_i ||g − x_i||² to zero and solve for g: "
                                        "mind the 1/N."),
    ))

RASGAN_D_LOSS = Exercise(
    "rasgan_d_loss", rasgan_d_loss, _logits,
    success="D now asks 'is the real sample more real than the average fake?' instead of 'is it real?'.",
    mistakes=(
        Mistake(lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean(),
                "that is the standard GAN loss: subtract the *other* side's mean logit inside σ."),
        Mistake(lambda r, f: -F.logsigmoid(r - f.mean()).mean(), "only the real half is there: add the term for "
                                                                 "the generated samples."),
    ))

EXERCISES = {e.name: e for e in (DISTANCE_TERM, LIMIT_POINT, RASGAN_D_LOSS)}
check_distance_term, check_limit_point, check_rasgan_d_loss = (
    DISTANCE_TERM.check, LIMIT_POINT.check, RASGAN_D_LOSS.check)


# ---- predict, then run ------------------------------------------------------------------------------------------
def predict_pull(prediction: object, n: int = 4000, seed: int = 0) -> bool:
    """Measure the random-pairing distance term E_x ||g − x||² on ring samples for g at the ring's centre and g on
    a mode, and reveal where it is smaller ('centre' or 'mode'): that is where a large λ pulls the samples."""
    mix = ring()
    x = mix.sample(n, generator=torch.Generator().manual_seed(seed))
    at = {"centre": torch.zeros(2), "mode": mix.centers[0]}
    values = {k: float((x - g).pow(2).sum(dim=1).mean()) for k, g in at.items()}
    for k, v in values.items():
        print(f"E||g − x||² with g at the {k}: {v:.3f}")
    return reveal(prediction, min(values, key=values.get), choices=list(values))
