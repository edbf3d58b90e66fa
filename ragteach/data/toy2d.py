"""2D Gaussian mixtures for watching mode collapse, following the PacGAN paper's protocol.

- ring: 8 Gaussians evenly spaced on a circle of radius 1, each with standard deviation 0.01;
- grid: 25 Gaussians centred on {-4, -2, 0, 2, 4}^2, each with standard deviation 0.05.

A sample is ``x = c_k + std * eps`` with ``k`` uniform over the modes and ``eps ~ N(0, I)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GaussianMixture2D:
    """Equal-weight mixture of isotropic 2D Gaussians."""

    name: str
    centers: torch.Tensor  # (K, 2)
    std: float

    @property
    def n_modes(self) -> int:
        return self.centers.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` points, shape (n, 2)."""
        if n <= 0:
            raise ValueError(f"n must be a positive whole number, got {n}")
        k = torch.randint(self.n_modes, (n,), generator=generator)
        eps = torch.randn(n, 2, generator=generator)
        return self.centers[k] + self.std * eps


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """``n_modes`` Gaussians on a circle: c_k = radius * (cos 2πk/K, sin 2πk/K)."""
    angles = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture2D("ring", centers, std)


def grid(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0), std: float = 0.05) -> GaussianMixture2D:
    """Gaussians on the grid ``values x values`` (25 modes by default)."""
    v = torch.tensor(values, dtype=torch.float32)
    centers = torch.cartesian_prod(v, v)
    return GaussianMixture2D("grid", centers, std)
