"""The established ways to make adversarial training "randomized" (article 000's claim, made concrete).

- Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): add Gaussian noise to *both* real
  and generated samples before D sees them, x̃ = x + σ_t·ε, with σ_t annealed to 0. The two
  distributions then overlap, so D cannot separate them perfectly and G keeps a useful gradient.
- One-sided label smoothing (Salimans et al. 2016): D's target for real samples is 1 − α, not 1.
- Label flipping: with probability p a sample's target is swapped (real ↔ fake), a noisy teacher.
"""
from __future__ import annotations

import torch


def annealed_std(std0: float, step: int, anneal_steps: int) -> float:
    """σ_t = σ0 · max(0, 1 − t / T): linear decay to zero over T steps (T = 0: constant σ0)."""
    if std0 < 0:
        raise ValueError(f"std0 must be >= 0, got {std0}")
    if anneal_steps <= 0:
        return std0
    return std0 * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x̃ = x + std·ε with ε ~ N(0, I)."""
    if std == 0:
        return x
    return x + std * torch.randn(x.shape, generator=generator).to(x.device)


def targets(n: int, value: float, flip_prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` targets equal to ``value``, each replaced by ``1 − value`` with probability ``flip_prob``."""
    if not 0.0 <= flip_prob <= 1.0:
        raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
    t = torch.full((n,), float(value))
    if flip_prob > 0:
        flip = torch.rand(n, generator=generator) < flip_prob
        t[flip] = 1.0 - t[flip]
    return t
