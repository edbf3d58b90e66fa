"""A variational autoencoder (Kingma & Welling 2014) for 8x8 digits.

Encoder q(z|x) = N(μ(x), diag σ²(x)); decoder p(x|z) = Bernoulli(sigmoid(g(z))) on pixels mapped
from [-1, 1] to [0, 1]; prior p(z) = N(0, I). Training maximises the evidence lower bound

    ELBO(x) = E_{q(z|x)}[log p(x|z)] − KL(q(z|x) || p(z)) ≤ log p(x),

i.e. minimises  reconstruction + β·KL  (β = 1 is the true ELBO; β ≠ 1 is the β-VAE of Higgins et al. 2017).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.layers import mlp


@dataclass
class VAEConfig:
    data_dim: int = 64
    latent_dim: int = 2
    hidden: tuple[int, ...] = (256, 128)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = μ + σ·ε with ε ~ N(0, I) and σ = exp(½·log σ²): a sample whose gradient flows into μ and σ."""
    eps = torch.randn(mu.shape, generator=generator).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, I)) = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), per sample: shape (B,). Always ≥ 0."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """−log p(x|z) for pixels x in [-1, 1] read as probabilities (x + 1)/2, summed over pixels: (B,)."""
    target = (x + 1) / 2
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=1)


class VAE(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = mlp([cfg.data_dim, *cfg.hidden, 2 * cfg.latent_dim], "relu")  # → (μ, log σ²)
        self.decoder = mlp([cfg.latent_dim, *reversed(cfg.hidden), cfg.data_dim], "relu")  # → pixel logits

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.cfg.data_dim:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a tensor of shape (B, {self.cfg.data_dim}) (flattened images), got {shape}")
        mu, logvar = self.encoder(x).chunk(2, dim=1)  # (B, L), (B, L)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel values in [-1, 1] (the Bernoulli means, rescaled) for latent codes z (B, L)."""
        if z.ndim != 2 or z.shape[1] != self.cfg.latent_dim:
            raise ValueError(f"z must have shape (B, {self.cfg.latent_dim}), got {tuple(z.shape)}")
        return 2 * torch.sigmoid(self.decoder(z)) - 1

    def loss_terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Per-batch means of reconstruction (−log p(x|z)) and KL; ELBO = −(recon + KL)."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        recon = bernoulli_nll(self.decoder(z), x).mean()
        kl = kl_to_standard_normal(mu, logvar).mean()
        return {"recon": recon, "kl": kl, "elbo": -(recon + kl)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode z ~ N(0, I)."""
        z = torch.randn(n, self.cfg.latent_dim, generator=generator).to(next(self.parameters()).device)
        return self.decode(z)
