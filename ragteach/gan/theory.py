"""The GAN game solved on paper (Goodfellow et al. 2014, Proposition 1 and Theorem 1), checked in 1D.

For a fixed generator with density p_g, the discriminator that maximises

    V(G, D) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 − D(x))]

is, point by point,  D*(x) = p_data(x) / (p_data(x) + p_g(x)).  Putting D* back into V gives

    V(G, D*) = −log 4 + 2·JS(p_data ‖ p_g),   JS(p ‖ q) = ½·KL(p ‖ m) + ½·KL(q ‖ m),  m = (p + q) / 2,

so a generator that plays against the best discriminator minimises the Jensen–Shannon divergence, which is
0 exactly when p_g = p_data (then D* = ½ everywhere) and at most log 2 (disjoint supports, where its gradient
vanishes — one reason the original loss stalls).

Everything here works on densities tabulated on a 1D grid (``x``, spacing ``dx``), so each identity can be
checked numerically, and :func:`fit_discriminator` trains a real discriminator on samples to compare with D*.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ragteach.layers import mlp
from ragteach.training import seeded

LOG2 = math.log(2.0)


def gaussian_pdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """N(x; mean, std²)."""
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def mixture_pdf(x: torch.Tensor, means: list[float], std: float) -> torch.Tensor:
    """An equal-weight mixture of Gaussians with the given means and a shared std."""
    return sum(gaussian_pdf(x, m, std) for m in means) / len(means)


def _check_densities(p: torch.Tensor, q: torch.Tensor) -> None:
    if p.shape != q.shape:
        raise ValueError(f"the two densities must be tabulated on the same grid, got shapes {tuple(p.shape)} "
                         f"and {tuple(q.shape)}")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("densities must be >= 0 everywhere")


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)); ½ where neither density puts mass."""
    _check_densities(p_data, p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def _xlogy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x·log y with 0·log 0 = 0."""
    return torch.where(x > 0, x * torch.log(y.clamp_min(1e-300)), torch.zeros_like(x))


def kl_divergence(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """KL(p ‖ q) = ∫ p log(p / q) dx on the grid."""
    _check_densities(p, q)
    return float(((_xlogy(p, p) - _xlogy(p, q)) * dx).sum())


def js_divergence(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """JS(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2; in [0, log 2] (nats)."""
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, dx) + 0.5 * kl_divergence(q, m, dx)


def value_function(d: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor, dx: float) -> float:
    """V(G, D) = ∫ p_data(x) log D(x) + p_g(x) log(1 − D(x)) dx for a discriminator tabulated as ``d``."""
    _check_densities(p_data, p_g)
    return float(((_xlogy(p_data, d) + _xlogy(p_g, 1 - d)) * dx).sum())


def fit_discriminator(real: torch.Tensor, fake: torch.Tensor, steps: int = 2000, lr: float = 3e-3,
                      seed: int = 0) -> torch.nn.Module:
    """Train a small MLP discriminator D(x) = sigmoid(f(x)) on 1D samples by minimising the binary
    cross-entropy −E_real[log D] − E_fake[log(1 − D)] (i.e. maximising V), full batch with Adam.
    Returns the network (logits); with enough samples and steps sigmoid(f) approaches D*."""
    if real.ndim != 1 or fake.ndim != 1 or len(real) == 0 or len(fake) == 0:
        raise ValueError("real and fake must be non-empty 1D tensors of samples")
    with seeded(seed):
        f = mlp([1, 64, 64, 1], "leaky_relu")
    opt = torch.optim.Adam(f.parameters(), lr=lr)
    xr, xf = real[:, None], fake[:, None]
    for _ in range(steps):
        loss = F.softplus(-f(xr)).mean() + F.softplus(f(xf)).mean()  # −log σ(s) and −log(1 − σ(s))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return f
