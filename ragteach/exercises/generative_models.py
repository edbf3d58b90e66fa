"""Exercises of notebook 05 (generative models compared): reparameterisation, the KL term, the bugs in a colleague's
VAE loss, a conditional input.

Each ``check_*`` prints a verdict and returns the function to use from then on (see
:mod:`ragteach.exercises.checking`). The reference solutions below are the answer key.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ragteach.exercises.checking import Exercise, Mistake, reveal


# ---- reference solutions (the answer key) ------------------------------------------------------------------------
def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = μ + σ·ε with σ = exp(½·log σ²)."""
    return mu + torch.exp(0.5 * logvar) * eps


def kl_term(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, I)) per sample, shape (B,): −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def negative_elbo(logits: torch.Tensor, x01: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The batch mean of −ELBO = Σ_pixels BCE(logits, x) + KL(q(z|x) || N(0, I)), one number."""
    recon = F.binary_cross_entropy_with_logits(logits, x01, reduction="none").sum(dim=1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
    return (recon + kl).mean()


def conditional_input(z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """[z, one_hot(y)] concatenated along dimension 1: shape (B, z_dim + n_classes)."""
    return torch.cat([z, F.one_hot(y, n_classes).float()], dim=1)


# ---- random test inputs -----------------------------------------------------------------------------------------
def _gauss(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    b, d = int(torch.randint(2, 6, (1,), generator=gen)), int(torch.randint(2, 5, (1,), generator=gen))
    return torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen)


def _gauss2(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return _gauss(gen)[:2]


def _elbo_case(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    b, d = int(torch.randint(2, 6, (1,), generator=gen)), int(torch.randint(2, 5, (1,), generator=gen))
    pixels = int(torch.randint(8, 65, (1,), generator=gen))
    return (torch.randn(b, pixels, generator=gen), torch.rand(b, pixels, generator=gen),
            torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen))


def _bce(logits: torch.Tensor, x01: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, x01, reduction="none")


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def _labels(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
    b, d = int(torch.randint(2, 6, (1,), generator=gen)), int(torch.randint(2, 5, (1,), generator=gen))
    n_classes = int(torch.randint(3, 11, (1,), generator=gen))
    return torch.randn(b, d, generator=gen), torch.randint(n_classes, (b,), generator=gen), n_classes


# ---- the exercises ------------------------------------------------------------------------------------------------
REPARAMETERIZE = Exercise(
    "reparameterize", reparameterize, _gauss,
    success="z = μ + σ·ε: the randomness sits in ε, so gradients flow to μ and σ.",
    mistakes=(
        Mistake(lambda m, lv, e: m + lv.exp() * e, "exp(log σ²) is the variance σ²; scale ε by the standard "
                                                   "deviation σ = exp(½·log σ²)."),
        Mistake(lambda m, lv, e: m + lv * e, "logvar is log σ², not σ: take exp(0.5 * logvar)."),
        Mistake(lambda m, lv, e: m + torch.exp(0.5 * lv), "ε is missing: the noise is what makes z a sample."),
    ))

KL_TERM = Exercise(
    "kl_term", kl_term, _gauss2,
    success="one KL per sample, never negative, zero only when μ = 0 and σ = 1.",
    mistakes=(
        Mistake(lambda m, lv: -0.5 * (1 + lv - m.pow(2) - lv.exp()),
                "sum the KL over the latent dimensions: one number per sample, shape (B,)."),
        Mistake(lambda m, lv: -0.5 * (1 + lv - m.pow(2) - lv.exp()).mean(dim=1),
                "sum over the latent dimensions, do not average them."),
        Mistake(lambda m, lv: -0.5 * (1 + lv - m.pow(2) - lv.exp()).sum(),
                "one number per sample, shape (B,): sum over dimension 1 only."),
    ),
    sign_hint="the sign is flipped: a KL divergence is never negative. KL = −½ Σ(1 + log σ² − μ² − σ²).")

NEGATIVE_ELBO = Exercise(
    "negative_elbo", negative_elbo, _elbo_case,
    success="both bugs found: the reconstruction is summed over pixels, and the KL is added, not subtracted.",
    mistakes=(
        Mistake(lambda lg, x, m, lv: (_bce(lg, x).mean(dim=1) - _kl(m, lv)).mean(),
                "this is the colleague's loss unchanged: it has two bugs. Compare each line with the ELBO above."),
        Mistake(lambda lg, x, m, lv: (_bce(lg, x).mean(dim=1) + _kl(m, lv)).mean(),
                "one bug fixed, one left: the reconstruction averages the pixels, which weighs the KL 64 times "
                "as much as the ELBO does (a β-VAE with β = number of pixels)."),
        Mistake(lambda lg, x, m, lv: (_bce(lg, x).sum(dim=1) - _kl(m, lv)).mean(),
                "one bug fixed, one left: look at the sign of the KL. Minimising −KL pushes q(z|x) away from N(0, I)."),
    ))

CONDITIONAL_INPUT = Exercise(
    "conditional_input", conditional_input, _labels,
    success="G sees z and which class to draw.",
    mistakes=(
        Mistake(lambda z, y, n: torch.cat([F.one_hot(y, n).float(), z], dim=1),
                "right pieces, other order: put z first, then the one-hot label."),
        Mistake(lambda z, y, n: torch.cat([z, y.float().unsqueeze(1)], dim=1),
                "a class number is not a vector of features: encode it one-hot, n_classes wide."),
    ))

EXERCISES = {e.name: e for e in (REPARAMETERIZE, KL_TERM, NEGATIVE_ELBO, CONDITIONAL_INPUT)}
check_reparameterize, check_kl, check_negative_elbo, check_conditional_input = (
    REPARAMETERIZE.check, KL_TERM.check, NEGATIVE_ELBO.check, CONDITIONAL_INPUT.check)


# ---- predict, then run ------------------------------------------------------------------------------------------
def predict_kl_width(prediction: object) -> bool:
    """KL(N(0, σ²) || N(0, 1)) = ½(σ² − 1 − ln σ²) in one dimension, computed for σ = 0.1 ('narrow') and σ = 10
    ('wide'); reveal which costs more."""
    kl = {}
    for name, sigma in (("narrow", 0.1), ("wide", 10.0)):
        logvar = torch.tensor([[2 * math.log(sigma)]])
        kl[name] = float(kl_term(torch.zeros(1, 1), logvar))
        print(f"σ = {sigma}: KL = {kl[name]:.2f} nats")
    return reveal(prediction, max(kl, key=kl.get), choices=list(kl))
