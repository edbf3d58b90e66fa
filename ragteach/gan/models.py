"""Generator G(z; θ) = f_θ(z) and discriminator D(x; φ) = g_φ(x) as small MLPs.

D returns a *logit* s; the probability "x is real" is D(x) = sigmoid(s). Keeping the logit lets the
losses use the numerically stable ``log sigmoid`` instead of ``log`` of a rounded probability.

Packing (PacGAN, Lin et al. 2018): D judges ``pack`` samples at once, concatenated into one
vector. A batch that is all one mode looks unlike ``pack`` real samples, so D can punish collapse.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ragteach.layers import mlp


@dataclass
class GANConfig:
    z_dim: int = 2
    data_dim: int = 2
    g_hidden: tuple[int, ...] = (128, 128, 128)
    d_hidden: tuple[int, ...] = (128, 128, 128)
    g_out: str | None = None  # "tanh" when the data lies in [-1, 1]
    pack: int = 1
    g_activation: str = "relu"


def check_batch(name: str, x: torch.Tensor, width: int) -> None:
    """A clear error instead of a matrix-shape error deep inside torch: ``x`` must be (B, width)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != width:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of shape (B, {width}), got {shape}")


class Generator(nn.Module):
    """G: z (B, z_dim) -> x (B, data_dim)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.z_dim = cfg.z_dim
        self.net = mlp([cfg.z_dim, *cfg.g_hidden, cfg.data_dim], cfg.g_activation, cfg.g_out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_batch("z (G's input)", z, self.z_dim)
        return self.net(z)  # (B, data_dim)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw z ~ N(0, I) and return G(z) without tracking gradients."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.z_dim, generator=generator).to(device)
        with torch.no_grad():
            return self(z)


class Discriminator(nn.Module):
    """D: x (B, data_dim) -> logits (B // pack,). Samples i*pack .. i*pack+pack-1 form one pack."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        if isinstance(cfg.pack, bool) or not isinstance(cfg.pack, int) or cfg.pack < 1:
            raise ValueError(f"pack must be a whole number >= 1, got {cfg.pack}")
        self.pack, self.data_dim = cfg.pack, cfg.data_dim
        self.net = mlp([cfg.data_dim * cfg.pack, *cfg.d_hidden, 1], "leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_batch("x (D's input)", x, self.data_dim)
        B, C = x.shape
        if B % self.pack:
            raise ValueError(f"batch size must be a multiple of pack={self.pack}, got {B}")
        x = x.reshape(B // self.pack, self.pack * C)  # (B/m, m*C): m samples side by side
        return self.net(x).squeeze(-1)  # (B/m,)


def toy_config(pack: int = 1, d_hidden: tuple[int, ...] = (128, 128, 128)) -> GANConfig:
    """The 2D mixture GAN: 2-dim noise, three hidden layers of 128 units in G, ``d_hidden`` in D
    (notebook 01's table uses a wider D: two layers of 256)."""
    return GANConfig(z_dim=2, data_dim=2, d_hidden=tuple(d_hidden), pack=pack)


def article_digits_config(pack: int = 1) -> GANConfig:
    """Article 000's MLP GAN, scaled from 784-pixel to 64-pixel images.

    The article: G 100→128→256→512→1024→784 (ReLU, sigmoid out), D 784→512→256→128→1. Here G keeps the
    doubling hidden layers up to 512 and outputs 64 pixels through tanh (data in [-1, 1]); D keeps its
    hidden sizes but uses LeakyReLU(0.2) inside instead of the article's sigmoids, which saturate.
    """
    return GANConfig(z_dim=100, data_dim=64, g_hidden=(128, 256, 512), d_hidden=(512, 256, 128),
                     g_out="tanh", pack=pack)


def article_mnist_config() -> GANConfig:
    """Article 003's MNIST GAN scaled to 8x8 digits: G 100→128→256→64 (LeakyReLU 0.2, tanh out),
    D 64→512→256→1 (LeakyReLU; the sigmoid is in the loss)."""
    return GANConfig(z_dim=100, data_dim=64, g_hidden=(128, 256), d_hidden=(512, 256), g_out="tanh",
                     g_activation="leaky_relu")
